/* lsh.c — from signatures to clusters (FORMATS.md, "Near dedup, MinHash + LSH"; datatrove's FineWeb
 * setup: 14 bands of 8 rows).
 *
 * Band j of a signature is its entries j * rows .. j * rows + rows - 1. Two documents are candidates when
 * some band of theirs is equal, entry for entry (band values are bucketed by XXH64 of their rows * 8
 * bytes, little-endian uint64s, and a bucket match is confirmed by comparing the entries, so a 64-bit
 * collision never makes a candidate). With threshold 0 every candidate pair is an edge; with threshold
 * t > 0 only a pair whose estimated Jaccard similarity (the fraction of equal signature entries) is at
 * least t (datatrove does not verify; t = 0 is its setup). Clusters are the connected components of the
 * edges (union-find); each keeps its smallest document index and drops the rest. A document without
 * shingles is in no band bucket: it is alone in its cluster and kept.
 *
 * The result depends only on the edges, never on the order in which they are found, so it is the same
 * whatever computed the signatures. Work: documents with identical signatures are candidates of each
 * other (similarity 1) with the same other candidates, so one pass first unions each with the first
 * document of its signature and leaves it out of the bands; then, per band, one table of the band values
 * seen so far. Without a threshold each document is unioned with the first document of its bucket (the
 * components are those of all pairs); with one, it is compared with every earlier member of its bucket
 * not already in its cluster, which costs the square of a bucket's distinct signatures. */
#include "lsh.h"

#include <string.h>
#include <xxhash.h>

/* Walks up to the representative, then points every node of the path at it. */
uint64_t dd_uf_find(uint64_t *parent, uint64_t i)
{
    uint64_t r = i;
    while (parent[r] != r)
        r = parent[r];
    while (parent[i] != r) {
        uint64_t next = parent[i];
        parent[i] = r;
        i = next;
    }
    return r;
}

/* Union by index: the larger representative goes under the smaller, so a set's representative is its
 * smallest member. */
void dd_uf_union(uint64_t *parent, uint64_t i, uint64_t j)
{
    uint64_t ri = dd_uf_find(parent, i), rj = dd_uf_find(parent, j);
    if (ri < rj)
        parent[rj] = ri;
    else if (rj < ri)
        parent[ri] = rj;
}

void dd_uf_flatten(uint64_t *parent, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        parent[i] = parent[parent[i]];
}

double dd_estimated_jaccard(const uint64_t *x, const uint64_t *y, int k)
{
    int eq = 0;
    for (int i = 0; i < k; i++)
        eq += x[i] == y[i];
    return k ? (double)eq / (double)k : 0.0;
}

/* An open-addressing table from a run of len uint64s (a whole signature or a band) to the last document
 * inserted with that run; doc holds index + 1, 0 for a free slot. */
typedef struct {
    uint64_t *key, *doc, mask;
} dd_table;

/* The slot for the len entries of document i's signature that start at entry off (key: their XXH64):
 * the slot of an earlier document with the same entries there, or the free slot where i's go. */
static uint64_t dd_table_slot(const dd_table *t, const uint64_t *sig, uint64_t stride, uint64_t off, int len,
                              uint64_t i, uint64_t key)
{
    const uint64_t *v = sig + i * stride + off;
    uint64_t s = key & t->mask;
    while (t->doc[s]) {
        if (t->key[s] == key && !memcmp(sig + (t->doc[s] - 1) * stride + off, v, (size_t)len * 8))
            return s;
        s = (s + 1) & t->mask;
    }
    return s;
}

/* Identical signatures: each non-empty document that repeats an earlier one's signature is unioned with
 * it and marked in skip, as is each empty document; the rest go on to the bands. */
static void dd_collapse_twins(uint64_t n, int k, uint64_t stride, const uint64_t *sig, const uint8_t *empty,
                              uint64_t *parent, uint8_t *skip, dd_table *t)
{
    memset(t->doc, 0, (size_t)(t->mask + 1) * 8);
    for (uint64_t i = 0; i < n; i++) {
        skip[i] = 1;
        if (empty[i])
            continue;
        uint64_t key = XXH64(sig + i * stride, (size_t)k * 8, 0);
        uint64_t s = dd_table_slot(t, sig, stride, 0, k, i, key);
        if (t->doc[s]) {
            dd_uf_union(parent, t->doc[s] - 1, i);
        } else {
            t->key[s] = key;
            t->doc[s] = i + 1;
            skip[i] = 0;
        }
    }
}

/* Band j: each document is an edge with the earlier members of its bucket. Without a threshold one edge
 * to the bucket's first member is enough; with one, prev links each bucket's members from the newest
 * (the slot's document) back, and every earlier member outside i's cluster is tested. */
static void dd_band(uint64_t n, int k, uint64_t stride, int rows, int j, const uint64_t *sig, const uint8_t *skip,
                    double threshold, uint64_t *parent, uint64_t *prev, dd_table *t)
{
    uint64_t off = (uint64_t)j * (uint64_t)rows;
    memset(t->doc, 0, (size_t)(t->mask + 1) * 8);
    for (uint64_t i = 0; i < n; i++) {
        if (skip[i])
            continue;
        uint64_t key = XXH64(sig + i * stride + off, (size_t)rows * 8, 0);
        uint64_t s = dd_table_slot(t, sig, stride, off, rows, i, key);
        if (!t->doc[s]) {
            t->key[s] = key;
            t->doc[s] = i + 1;
            if (prev)
                prev[i] = UINT64_MAX;
            continue;
        }
        if (!prev) {
            dd_uf_union(parent, t->doc[s] - 1, i);
            continue;
        }
        for (uint64_t e = t->doc[s] - 1; e != UINT64_MAX; e = prev[e])
            if (dd_uf_find(parent, e) != dd_uf_find(parent, i) &&
                dd_estimated_jaccard(sig + e * stride, sig + i * stride, k) >= threshold)
                dd_uf_union(parent, e, i);
        prev[i] = t->doc[s] - 1;
        t->doc[s] = i + 1;
    }
}

int dd_lsh_cluster(uint64_t n, int bands, int rows, const uint64_t *sig, const uint8_t *empty, double threshold,
                   uint64_t *parent, const dd_alloc *alloc)
{
    return dd_lsh_cluster_strided(n, bands, rows, sig, (uint64_t)(bands * rows), empty, threshold, parent, alloc);
}

int dd_lsh_cluster_strided(uint64_t n, int bands, int rows, const uint64_t *sig, uint64_t stride, const uint8_t *empty,
                           double threshold, uint64_t *parent, const dd_alloc *alloc)
{
    int k = bands * rows;
    uint64_t cap = dd_table_cap(n);
    dd_table t;
    uint8_t *skip;
    uint64_t *prev = NULL;
    for (uint64_t i = 0; i < n; i++)
        parent[i] = i;
    if (!cap)
        return -1;
    t.mask = cap - 1;
    t.key = dd_alloc_array(alloc, cap, 8);
    t.doc = dd_alloc_array(alloc, cap, 8);
    skip = dd_alloc_array(alloc, n, 1);
    if (threshold > 0)
        prev = dd_alloc_array(alloc, n, 8);
    if (!t.key || !t.doc || !skip || (threshold > 0 && !prev))
        return -1;
    dd_collapse_twins(n, k, stride, sig, empty, parent, skip, &t);
    for (int j = 0; j < bands; j++)
        dd_band(n, k, stride, rows, j, sig, skip, threshold, parent, prev, &t);
    dd_uf_flatten(parent, n);
    return 0;
}
