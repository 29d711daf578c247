/* shingle.c — shingling and the signature of one document (FORMATS.md, "Near dedup, MinHash + LSH",
 * after datatrove's FineWeb setup).
 *
 * Words are the normalized text split at its spaces (normalize.c leaves exactly one between words and
 * none at the ends). The shingles of a text of w words are its w - s + 1 runs of s consecutive words,
 * joined by single spaces: as the normalized text already joins them so, a shingle is simply the bytes
 * from its first word's start to its last word's end, hashed in place. A text of fewer than s words (one
 * at least) has one shingle, all of it; an empty text has none, so its signature stays all UINT64_MAX
 * and the LSH step (lsh.c) never lets it match anything: it is always kept. Repeated shingles count once
 * (a minimum does not see repeats). The base hash of a shingle is XXH64 of its bytes with seed 0 (xxh64.h,
 * the GPU kernel's own function; equal to libxxhash's). */
#include "shingle.h"

#include "xxh64.h"

/* A text of m bytes has at most m / 2 + 1 words, so a ring of min(s, max_len / 2 + 1) starts holds the
 * last s word starts of any text of up to max_len bytes (below s words, indexes j % s = j stay below the
 * word count). */
size_t dd_ring_len(size_t max_len, uint64_t s)
{
    uint64_t w = (uint64_t)(max_len / 2) + 1;
    return (size_t)(s < w ? s : w);
}

/* Base hashes are folded into the signature this many at a time. */
#define DD_HASH_BLOCK 256

/* Walks the words once, keeping the starts of the last s in ring; from the s-th word on, each word ends a
 * shingle whose base hash goes into a block, folded into sig when full and at the end. A text that never
 * reaches s words is one shingle. */
uint64_t dd_signature(const uint8_t *t, size_t n, uint64_t s, int k, const uint64_t *a, const uint64_t *b,
                      uint64_t *sig, size_t *ring, dd_fold_fn fold)
{
    uint64_t words = 0, shingles = 0, slot = 0, block[DD_HASH_BLOCK];
    size_t pos = 0;
    int nb = 0;
    for (int i = 0; i < k; i++)
        sig[i] = UINT64_MAX;
    if (!n)
        return 0;
    while (pos < n) {
        size_t start = pos;
        while (pos < n && t[pos] != ' ')
            pos++;
        ring[slot] = start; /* slot = words % s */
        slot = slot + 1 == s ? 0 : slot + 1;
        words++;
        if (words >= s) {
            size_t first = ring[slot]; /* (words - s) % s, the same slot once s words are in */
            block[nb++] = dd_xxh64(t + first, pos - first, 0);
            shingles++;
            if (nb == DD_HASH_BLOCK) {
                fold(sig, a, b, k, block, nb);
                nb = 0;
            }
        }
        pos++; /* the space after the word, or past the end */
    }
    if (!shingles) {
        block[nb++] = dd_xxh64(t, n, 0);
        shingles = 1;
    }
    if (nb)
        fold(sig, a, b, k, block, nb);
    return shingles;
}
