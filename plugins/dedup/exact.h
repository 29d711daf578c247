/* exact.h — exact dedup: a 128-bit hash of each document's normalized text, and the first occurrence of
 * each hash (the rules are in exact.c). */
#ifndef SW_DEDUP_EXACT_H
#define SW_DEDUP_EXACT_H

#include "dd.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t lo, hi;
} dd_hash128;

/* XXH3_128bits of normalized text t[0..n). */
dd_hash128 dd_exact_hash(const uint8_t *t, size_t n);

/* Writes parent[0..n): the index of the first document whose hash equals document i's (i itself for a
 * first occurrence, which is kept). Returns 0, or -1 when memory runs out. */
int dd_exact_cluster(uint64_t n, const dd_hash128 *h, uint64_t *parent, const dd_alloc *alloc);

#endif
