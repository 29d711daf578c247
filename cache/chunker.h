/* chunker.h — content-defined chunking (FastCDC with normalized chunking, format "fastcdc-1").
 *
 * A cut depends only on the 64 bytes before it, so boundaries survive insertions and deletions
 * elsewhere: after a change the chunker falls back into step within a chunk or two. That is what lets a
 * peer find held bytes at new offsets. Sizes were chosen by measurement (README, "Chunk sizes"):
 * no chunk is shorter than SW_CHUNK_MIN (except a file's last one) or longer than SW_CHUNK_MAX. The
 * boundaries are part of the manifest format: every constant here, and the gear table, is fixed. */
#ifndef SW_CHUNKER_H
#define SW_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#include "cache/hash.h"

#define SW_CHUNKER_FORMAT "fastcdc-1"
#define SW_CHUNK_MIN (16u * 1024)
#define SW_CHUNK_AVG (64u * 1024)
#define SW_CHUNK_MAX (256u * 1024)

/* The state of a scan across buffers: the length of the chunk so far and the rolling fingerprint. */
/* One chunk of an object: where it lies and the SHA-256 of its bytes. */
typedef struct {
    uint64_t offset;
    uint32_t length;
    sw_hash hash;
} sw_chunk;

typedef struct {
    uint64_t fp;
    uint32_t len;
} sw_chunker;

void sw_chunker_init(sw_chunker *c);

/* Scans p[0..n) as the continuation of the current chunk. Returns how many bytes belong to it; if a cut
 * falls there, *cut is set to 1 and the state restarts for the next chunk, otherwise all n bytes are
 * consumed and *cut is 0. A stream's final chunk is whatever remains at its end (c->len bytes). */
size_t sw_chunker_scan(sw_chunker *c, const uint8_t *p, size_t n, int *cut);

#endif
