/* minhash.h — the arithmetic of MinHash signatures (FORMATS.md, "Near dedup, MinHash + LSH"): drawing the
 * permutations, applying one to a shingle's 64-bit base hash, the reduction mod P = 2^61 - 1, and folding
 * a shingle into a signature. Header-only with SW_NUM_FN (plugins/common/numerics.h), so a GPU kernel
 * compiles the same functions for the device and gives the CPU's values; integer arithmetic only, so
 * there is nothing for a compiler or a device to round differently. The base hash of a shingle is
 * xxh64.h's, the normalization's byte rules norm_rules.h's (both SW_NUM_FN too); the CPU's shingling is
 * shingle.c, the GPU's hip/dedup_kernels.h. */
#ifndef SW_DEDUP_MINHASH_H
#define SW_DEDUP_MINHASH_H

#include "common/numerics.h"

#include <stdint.h>

/* The Mersenne prime 2^61 - 1: every permuted hash lies in [0, P). */
#define DD_P ((uint64_t)0x1fffffffffffffffULL)

/* x mod P, exact for every 64-bit x: write x = hi * 2^61 + lo with lo = x & P and hi = x >> 61 (0 to 7);
 * since 2^61 = 1 (mod P), x = hi + lo (mod P), and hi + lo <= P + 7, so one conditional subtraction
 * finishes it. No division, no 128-bit product: the form FORMATS.md prescribes for GPUs. */
SW_NUM_FN uint64_t dd_mod_p(uint64_t x)
{
    uint64_t r = (x & DD_P) + (x >> 61);
    if (r >= DD_P)
        r -= DD_P;
    return r;
}

/* Permutation (a, b) applied to base hash h: (a * h + b) with the multiply and the add wrapping at 64 bits
 * (unsigned arithmetic, as datatrove's numpy uint64), then reduced mod P. */
SW_NUM_FN uint64_t dd_permute(uint64_t h, uint64_t a, uint64_t b)
{
    return dd_mod_p(a * h + b);
}

/* Folds one shingle's base hash h into a signature of k entries: sig[i] = min(sig[i], permutation i of h).
 * A signature starts with every entry UINT64_MAX (above any permuted value). */
SW_NUM_FN void dd_minhash_fold(uint64_t *sig, const uint64_t *a, const uint64_t *b, int k, uint64_t h)
{
    for (int i = 0; i < k; i++) {
        uint64_t v = dd_permute(h, a[i], b[i]);
        sig[i] = v < sig[i] ? v : sig[i];
    }
}

/* Folds m base hashes h[0..m) into a signature of k entries: the same as dd_minhash_fold of each in turn
 * (a minimum does not depend on the order), but one permutation at a time over all m hashes, which keeps
 * a, b and the running minimum in registers. */
SW_NUM_FN void dd_minhash_fold_block(uint64_t *sig, const uint64_t *a, const uint64_t *b, int k, const uint64_t *h,
                                     int m)
{
    for (int i = 0; i < k; i++) {
        uint64_t ai = a[i], bi = b[i], m0 = sig[i], m1 = m0;
        int j = 0;
        for (; j + 2 <= m; j += 2) {
            uint64_t v0 = dd_permute(h[j], ai, bi), v1 = dd_permute(h[j + 1], ai, bi);
            m0 = v0 < m0 ? v0 : m0;
            m1 = v1 < m1 ? v1 : m1;
        }
        if (j < m) {
            uint64_t v = dd_permute(h[j], ai, bi);
            m0 = v < m0 ? v : m0;
        }
        sig[i] = m1 < m0 ? m1 : m0;
    }
}

/* splitmix64 (Steele, Lea, Flood 2014; the seeding generator of xoshiro): adds the golden gamma to the
 * state and returns the mixed state. */
SW_NUM_FN uint64_t dd_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The k permutations of seed: splitmix64 starts from state = seed (the INT param, as uint64) and, for
 * i = 0 .. k-1 in order, draws a[i] = x % (P - 1) + 1 (in [1, P)) from one output x, then b[i] = y % P (in
 * [0, P)) from the next output y. (The modulo bias is below 2^-60 and is part of the definition.) */
SW_NUM_FN void dd_draw_permutations(uint64_t seed, int k, uint64_t *a, uint64_t *b)
{
    uint64_t state = seed;
    for (int i = 0; i < k; i++) {
        a[i] = dd_splitmix64(&state) % (DD_P - 1) + 1;
        b[i] = dd_splitmix64(&state) % DD_P;
    }
}

#endif
