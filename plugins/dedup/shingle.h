/* shingle.h — a document's MinHash signature: its word shingles, their XXH64 base hashes, folded through
 * the permutations of minhash.h (host side; the rules are in shingle.c). */
#ifndef SW_DEDUP_SHINGLE_H
#define SW_DEDUP_SHINGLE_H

#include "fold.h"

#include <stddef.h>
#include <stdint.h>

/* Entries of a ring of word starts that serve every text of up to max_len bytes for shingles of s words. */
size_t dd_ring_len(size_t max_len, uint64_t s);

/* The signature of normalized text t[0..n) (dd_normalize's output) with shingles of s words and k
 * permutations (a, b): sig[i] = the least permutation i of the base hash of any shingle, each entry
 * UINT64_MAX when the text has no shingle. ring holds dd_ring_len(>= n, s) entries; fold is any of
 * fold.h's (they give the same signature). Returns the number of shingles (0 only for an empty text). */
uint64_t dd_signature(const uint8_t *t, size_t n, uint64_t s, int k, const uint64_t *a, const uint64_t *b,
                      uint64_t *sig, size_t *ring, dd_fold_fn fold);

#endif
