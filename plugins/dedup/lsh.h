/* lsh.h — clustering documents by their MinHash signatures: locality-sensitive hashing over bands and
 * union-find (the rules are in lsh.c), and the union-find the exact op shares. */
#ifndef SW_DEDUP_LSH_H
#define SW_DEDUP_LSH_H

#include "dd.h"

#include <stdint.h>

/* Union-find over document indexes where a set's representative is always its smallest index, so that
 * parent[i] <= i everywhere. dd_uf_find compresses the path it walks. */
uint64_t dd_uf_find(uint64_t *parent, uint64_t i);
void dd_uf_union(uint64_t *parent, uint64_t i, uint64_t j);
/* Points every parent[i] straight at its representative (one ascending pass, as parent[i] <= i). */
void dd_uf_flatten(uint64_t *parent, uint64_t n);

/* Clusters n documents whose signatures (k = bands * rows entries each) lie back to back in sig; empty[i]
 * marks a document without shingles. threshold 0 unions every candidate pair; above 0, only those whose
 * estimated Jaccard similarity reaches it. Writes parent[0..n), flattened: parent[i] is the smallest
 * index of i's cluster (i itself for a document to keep). Returns 0, or -1 when memory runs out. */
int dd_lsh_cluster(uint64_t n, int bands, int rows, const uint64_t *sig, const uint8_t *empty, double threshold,
                   uint64_t *parent, const dd_alloc *alloc);
/* dd_lsh_cluster over signatures that start every stride entries (stride >= bands * rows): the records
 * of the sign op, each a hash and then a signature. */
int dd_lsh_cluster_strided(uint64_t n, int bands, int rows, const uint64_t *sig, uint64_t stride, const uint8_t *empty,
                           double threshold, uint64_t *parent, const dd_alloc *alloc);

/* The estimated Jaccard similarity of two signatures of k entries: the fraction of equal entries. */
double dd_estimated_jaccard(const uint64_t *x, const uint64_t *y, int k);

#endif
