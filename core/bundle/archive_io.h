/* archive_io.h — archives in and out of the store, through libarchive.
 * Import reads .tar, .tar.gz, .tar.zst, .zip (any filter libarchive knows) member by member, streaming
 * each regular file into the store; links, devices and unsafe paths are refused. Export writes a
 * version as a reproducible pax tar compressed with zstd: files in path order, mtime = the version's
 * time, uid/gid 0, no user names, so the same version always gives the same bytes. */
#ifndef SW_ARCHIVE_IO_H
#define SW_ARCHIVE_IO_H

#include "bundle/manifest.h"
#include "cache/store.h"

/* Caps on what one archive may unpack to (a compression bomb guard): by default at most
 * SW_UNPACK_RATIO times the archive's size or SW_UNPACK_FLOOR, whichever is larger, and never more than
 * SW_UNPACK_TOTAL; `add --unpack-max SIZE` replaces all three with SIZE. */
#define SW_UNPACK_RATIO 100u
#define SW_UNPACK_FLOOR (64ull << 20)
#define SW_UNPACK_TOTAL (1ull << 40)

/* The default cap on the bytes an archive of archive_bytes may unpack to (rules above). */
uint64_t sw_archive_unpack_limit(uint64_t archive_bytes);

/* Adds every regular file of the archive at path to the store and to m, and the bytes newly stored to
 * *added. max_unpacked caps the bytes of all its members together (0: sw_archive_unpack_limit of the
 * archive's size); beyond it the import fails with SW_EINVALID. On failure m may hold some of the files
 * (the caller discards it) and stored objects stay as unreferenced garbage for gc. */
int sw_archive_import(sw_manifest *m, sw_store *st, const char *path, uint64_t max_unpacked, uint64_t *added,
                      sw_progress_fn prog, void *pctx);
/* Writes the version m (every object must be held) to out, atomically (temp file, then rename). */
int sw_archive_export(sw_store *st, const sw_manifest *m, const char *out, sw_progress_fn prog, void *pctx);

#endif
