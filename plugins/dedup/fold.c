/* fold.c — the hot loop of near dedup: permuting every shingle hash of a document k times and keeping
 * each permutation's minimum (112 times per shingle by default). The scalar form is minhash.h's; on
 * x86-64 with AVX2 (checked at run time, as the plugin is built for baseline x86-64) four hashes go
 * through one permutation at a time. AVX2 has no 64-bit multiply, so the wrapping product a * h is built
 * from three 32 x 32 -> 64-bit products: a_lo h_lo + ((a_lo h_hi + a_hi h_lo) << 32), which is exact mod
 * 2^64. The reduction mod P and the minimum follow minhash.h step for step; every value being an exact
 * integer, the results are the scalar ones bit for bit (tests/unit/test_dedup.c compares them). */
#include "fold.h"

#include "minhash.h"

void dd_fold_scalar(uint64_t *sig, const uint64_t *a, const uint64_t *b, int k, const uint64_t *h, int m)
{
    dd_minhash_fold_block(sig, a, b, k, h, m);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* Four hashes at a time per permutation; the hashes' high halves are shifted down once per block. Lanes
 * compare as signed 64-bit integers, which is exact here: every value compared is below 2^63 (reduced
 * values below P, partial sums below P + 8, and the running minimum starts at P). The tail of fewer than
 * four hashes goes through the scalar fold. */
__attribute__((target("avx2"))) static void dd_fold_avx2_impl(uint64_t *sig, const uint64_t *a, const uint64_t *b,
                                                              int k, const uint64_t *h, int m)
{
    __m256i hl[64], hh[64];
    int m4 = m / 4 < 64 ? m / 4 : 64;
    const __m256i p = _mm256_set1_epi64x((long long)DD_P), pm1 = _mm256_set1_epi64x((long long)(DD_P - 1));
    for (int j = 0; j < m4; j++) {
        hl[j] = _mm256_loadu_si256((const __m256i *)(h + 4 * j));
        hh[j] = _mm256_srli_epi64(hl[j], 32);
    }
    for (int i = 0; i < k; i++) {
        const __m256i al = _mm256_set1_epi64x((long long)a[i]), ah = _mm256_set1_epi64x((long long)(a[i] >> 32));
        const __m256i bb = _mm256_set1_epi64x((long long)b[i]);
        __m256i mn = p;
        for (int j = 0; j < m4; j++) {
            __m256i lo = _mm256_mul_epu32(al, hl[j]);
            __m256i mid = _mm256_add_epi64(_mm256_mul_epu32(al, hh[j]), _mm256_mul_epu32(ah, hl[j]));
            __m256i x = _mm256_add_epi64(_mm256_add_epi64(lo, _mm256_slli_epi64(mid, 32)), bb);
            __m256i r = _mm256_add_epi64(_mm256_and_si256(x, p), _mm256_srli_epi64(x, 61));
            r = _mm256_sub_epi64(r, _mm256_and_si256(_mm256_cmpgt_epi64(r, pm1), p));
            mn = _mm256_blendv_epi8(mn, r, _mm256_cmpgt_epi64(mn, r));
        }
        uint64_t v[4], best = sig[i];
        _mm256_storeu_si256((__m256i *)v, mn);
        for (int l = 0; l < 4; l++)
            best = v[l] < best ? v[l] : best;
        sig[i] = best;
    }
    if (4 * m4 < m)
        dd_minhash_fold_block(sig, a, b, k, h + 4 * m4, m - 4 * m4);
}

/* AVX2 for blocks of any length: 256 hashes at a time. */
static void dd_fold_avx2_blocks(uint64_t *sig, const uint64_t *a, const uint64_t *b, int k, const uint64_t *h, int m)
{
    for (int j = 0; j < m; j += 256)
        dd_fold_avx2_impl(sig, a, b, k, h + j, m - j < 256 ? m - j : 256);
}

dd_fold_fn dd_fold_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? dd_fold_avx2_blocks : (dd_fold_fn)0;
}
#else
dd_fold_fn dd_fold_avx2(void)
{
    return (dd_fold_fn)0;
}
#endif

dd_fold_fn dd_fold_best(void)
{
    dd_fold_fn f = dd_fold_avx2();
    return f ? f : dd_fold_scalar;
}
