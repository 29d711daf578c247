/* getcheck.h — checks the files of a download while it runs, then admits them to the store.
 *
 * swarm get must check every fetched file against its manifest (SHA-256 of the whole file, and of each
 * chunk the manifest lists, which become index rows) before it becomes an object. Done after the
 * transfer, that is a second pass over a whole version while the network sits idle. Here a thread
 * follows the download instead: the caller reports how many bytes from the start of the torrent's data
 * (the version's files end to end, in manifest order) libtorrent has verified, and the thread hashes
 * each file's bytes as soon as they are covered, starting their writeback to disk as it goes, so that
 * once the transfer ends little is left but the renames. With pieces arriving in random order the
 * covered prefix grows only at the end and the thread does its work then, as before.
 *
 * Ownership: sw_getcheck_start returns a checker freed with sw_getcheck_free (NULL is fine); it keeps
 * pointers to m and root, which must outlive it. */
#ifndef SW_GETCHECK_H
#define SW_GETCHECK_H

#include "base/util.h"
#include "bundle/manifest.h"
#include "cache/store.h"

#include <stdint.h>

typedef struct sw_getcheck sw_getcheck;

/* Whether path is one of only (NULL: every path is): the files a fetch of part of a version wants. */
int sw_fetch_wants(const sw_strlist *only, const char *path);
/* Starts the thread over the files of m under root/<name>/ that st does not hold yet, those in only
 * (NULL: all). */
int sw_getcheck_start(sw_getcheck **out, const sw_manifest *m, const char *root, const sw_store *st,
                      const sw_strlist *only);
/* The first `bytes` bytes of the torrent's data are verified and will not change. Never decreases. */
void sw_getcheck_advance(sw_getcheck *g, uint64_t bytes);
/* After the download finished (every byte is there): waits for the thread, then admits each file whose
 * bytes match the manifest; a file that does not is deleted. Returns the first failure. */
int sw_getcheck_finish(sw_getcheck *g, sw_store *st);
/* Stops the thread without admitting anything. */
void sw_getcheck_free(sw_getcheck *g);

#endif
