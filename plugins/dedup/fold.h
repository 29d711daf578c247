/* fold.h — folding a block of shingle hashes into a signature as fast as this CPU allows: minhash.h's
 * dd_minhash_fold_block, or the same integers computed with AVX2 (x86-64, chosen at run time). */
#ifndef SW_DEDUP_FOLD_H
#define SW_DEDUP_FOLD_H

#include <stdint.h>

/* Folds m base hashes h[0..m) into sig (k entries) with permutations (a, b), as dd_minhash_fold_block. */
typedef void (*dd_fold_fn)(uint64_t *sig, const uint64_t *a, const uint64_t *b, int k, const uint64_t *h, int m);

/* The reference: dd_minhash_fold_block. */
void dd_fold_scalar(uint64_t *sig, const uint64_t *a, const uint64_t *b, int k, const uint64_t *h, int m);
/* AVX2, or NULL where it cannot run (another architecture, or a CPU without AVX2). */
dd_fold_fn dd_fold_avx2(void);
/* The fastest that runs here. */
dd_fold_fn dd_fold_best(void);

#endif
