/* tstats.h — streaming statistics of one tensor's elements: count, NaN and ±Inf counts, and min, max,
 * mean and standard deviation over the finite elements. The pipeline runner's built-in "stats" writer
 * feeds a tensor's bytes through sw_tstats_add, in order and in chunks of any size.
 *
 * Deterministic: the same bytes give the same doubles however they are split into calls. Elements are
 * converted exactly to double (int64/uint64 beyond 2^53 round to the nearest double) and summarized in
 * fixed blocks of SW_TSTATS_BLOCK elements, aligned to the element index (not to call boundaries): each
 * whole block by a two-pass mean and sum of squared deviations (with the usual correction term), blocks
 * combined in order by Chan et al.'s pairwise update. The last, partial block is buffered in the struct
 * and merged into the public fields at the end of every call, so they are always current; that makes
 * one call cost O(SW_TSTATS_BLOCK) at least: feed chunks of thousands of elements, not single ones.
 *
 * Doubles bound the range: f64 elements beyond about 1e154 in magnitude may make m2 infinite or NaN, and
 * beyond about 1e304 the mean too; min, max and the counts stay right. No other dtype comes near.
 *
 * The struct holds that buffer (about 32 KiB): fine on a thread's stack, not in large arrays. It owns
 * no memory; there is nothing to free. */
#ifndef SW_TSTATS_H
#define SW_TSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "swarm_plugin.h"

#define SW_TSTATS_BLOCK 4096 /* elements per block; a multiple of Q8_0/Q4_0's 32 */

/* Private: the summary of a run of elements. */
typedef struct {
    uint64_t finite, nan, inf;
    double min, max, mean, m2;
} sw_tstats_part;

typedef struct {
    /* Public, current after every call. */
    uint64_t count;        /* elements seen */
    uint64_t nan, inf;     /* NaN and ±Inf elements (floats only) */
    uint64_t finite;       /* elements in min/max/mean/std */
    double min, max;       /* over finite elements; 0 when finite == 0 */
    double mean, m2;       /* mean and sum of squared deviations from it, over finite elements; 0 when
                              finite == 0 */
    /* Private. */
    sw_tstats_part done_;  /* the whole blocks so far */
    uint32_t npend_;       /* elements of the current block buffered in pend_ (count % SW_TSTATS_BLOCK) */
    double pend_[SW_TSTATS_BLOCK];
} sw_tstats;

void sw_tstats_init(sw_tstats *s);

/* Adds the n bytes at p (any alignment; p may be NULL when n is 0): whole elements of dtype dt, or whole
 * 32-element blocks for Q8_0/Q4_0 (dequantized exactly as plugins/common/numerics.h does), in order.
 * Supported: f16/f32/f64, bf16, i8..i64, u8..u64, bool (0 or 1: any nonzero byte counts as 1), the five
 * float8 formats (f8_e4m3fn, f8_e4m3fnuz, f8_e5m2, f8_e5m2fnuz, f8_e8m0fnu), q8_0 and q4_0. Returns 0, or
 * SW_EINVALID (with sw_error; s unchanged) for another dtype (complex, float6/float4, lanes != 1) or a byte
 * count that is not whole elements or blocks. */
int sw_tstats_add(sw_tstats *s, swarm_dtype dt, const uint8_t *p, size_t n);

/* Population standard deviation over the finite elements: sqrt(m2 / finite); 0 when finite == 0. */
double sw_tstats_std(const sw_tstats *s);

#endif
