/* compress.h — the compression of records files: a reader that gives a file's bytes decompressed when its
 * name ends in .gz, .zst, .xz or .bz2 (by name, not by magic: a raw token file may well start with
 * gzip's magic bytes) and as they are otherwise, and a writer that compresses with gzip or zstd into an
 * sw_fwriter. Reading checks integrity (gzip's CRC-32 and length, zstd's and xz's checksums), refuses
 * data compressed twice, and never runs an external program.
 *
 * Written bytes are reproducible for a given libarchive and compressor build: gzip stores no timestamp
 * and no file name; zstd uses its default level. Errors are negative SW_E* codes with sw_error set. */
#ifndef SW_COMPRESS_H
#define SW_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/records.h"

typedef enum { SW_COMPRESS_NONE = 0, SW_COMPRESS_GZIP, SW_COMPRESS_ZSTD } sw_compress;

/* "none", "gz" or "zst"; SW_EINVALID otherwise. */
int sw_compress_parse(sw_compress *out, const char *name);
const char *sw_compress_name(sw_compress c);
/* The compression a file name's suffix asks for: ".gz" or ".zst", else none. */
sw_compress sw_compress_of_name(const char *name);

/* Reader over the n bytes at p (which must outlive it) of a file named name. */
typedef struct sw_unpack sw_unpack;
int sw_unpack_open(sw_unpack **out, const uint8_t *p, size_t n, const char *name);
/* Up to cap bytes into buf: how many, 0 at the end, or SW_EINVALID (corrupt or truncated data). */
int64_t sw_unpack_read(sw_unpack *u, void *buf, size_t cap);
void sw_unpack_free(sw_unpack *u);

/* Compressing writer into w (which must outlive it); with SW_COMPRESS_NONE it writes through. */
typedef struct sw_pack sw_pack;
int sw_pack_open(sw_pack **out, sw_compress c, sw_fwriter *w);
int sw_pack_put(sw_pack *pk, const void *data, size_t len);
/* Flushes what the compressor holds into w and frees the writer. */
int sw_pack_finish(sw_pack *pk);
/* Frees the writer without flushing (after a failure). */
void sw_pack_abort(sw_pack *pk);

#endif
