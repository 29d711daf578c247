/* numerics.h — the scalar reference of every number format swarm's plugins write: f32 <-> bf16/f16, and
 * ggml's Q8_0 and Q4_0 blocks (FORMATS.md). One definition serves the CPU plugins (C99) and the GPU
 * kernels (HIP or CUDA, which compile these functions for the device too), so the two cannot drift apart:
 * a GPU variant that calls these functions gives the CPU's bytes. Vector CPU code may compute the same
 * results another way, but must agree with these bit for bit (tests/unit/test_quant.c checks it).
 *
 * Rules that keep CPU and GPU equal:
 * - Build with -ffp-contract=off everywhere (nvcc: --fmad=false), so a*b+c is never fused into an FMA.
 * - Division and conversions are IEEE-exact on both sides (nvcc's default -prec-div=true; hipcc's
 *   correctly rounded fp32 division); subnormals are not flushed (-ftz=false; no -ffast-math).
 * - Integer bit operations for f16/bf16 (and one exact product), so neither rounding mode nor
 *   flush-to-zero can matter.
 * - Where ggml's C is undefined (a NaN or out-of-range float converted to an integer), these functions
 *   define a result: sw_num_trunc_i8 and sw_num_round_i8 map NaN to 0 and clamp to [-128, 127].
 * - IEEE 754 leaves the bits of a NaN result open, and machines differ: x86 passes a NaN operand through
 *   (made quiet) and makes 0xffc00000 for 0 x infinity, NVIDIA GPUs give 0x7fffffff for both. Every
 *   product or quotient whose bits are stored goes through sw_num_mul / sw_num_div, which define the NaN
 *   as x86 gives it, so each machine, ggml's x86 results included, stores the same bits.
 * Values are little-endian, as on every machine swarm runs on. */
#ifndef SW_NUMERICS_H
#define SW_NUMERICS_H

#include <stdint.h>
#include <string.h>

#if defined(__HIPCC__) || defined(__CUDACC__)
#define SW_NUM_FN static __host__ __device__ inline
#else
#define SW_NUM_FN static inline
#endif

/* Elements per Q8_0 / Q4_0 block, and bytes per block (an fp16 scale, then the quants). */
#define SW_QK 32
#define SW_Q8_0_BYTES 34
#define SW_Q4_0_BYTES 18

SW_NUM_FN uint32_t sw_num_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

SW_NUM_FN float sw_num_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* a * b and a / b, with a NaN result defined as x86's SSE gives it: a NaN operand comes out made quiet
 * (a's when both are NaNs), and an invalid operation (0 x infinity, 0 / 0, infinity / infinity) gives
 * the "default NaN" 0xffc00000. Other results are the IEEE ones, the same everywhere. */
SW_NUM_FN float sw_num_nan_of(float r, float a, float b)
{
    if (r == r)
        return r;
    return sw_num_float(a != a ? sw_num_bits(a) | 0x00400000u : b != b ? sw_num_bits(b) | 0x00400000u : 0xffc00000u);
}

SW_NUM_FN float sw_num_mul(float a, float b)
{
    return sw_num_nan_of(a * b, a, b);
}

SW_NUM_FN float sw_num_div(float a, float b)
{
    return sw_num_nan_of(a / b, a, b);
}

/* fabsf without libm: the sign bit cleared (so -0 gives +0, as ggml's fabsf does). */
SW_NUM_FN float sw_num_abs(float x)
{
    return sw_num_float(sw_num_bits(x) & 0x7fffffffu);
}

/* f32 bits to bf16 bits, round to nearest even; a NaN becomes quiet, sign and top payload bits kept. */
SW_NUM_FN uint16_t sw_num_bf16_of_f32(uint32_t u)
{
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t quiet = (u >> 16) | 0x40u;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? quiet : rounded);
}

/* f32 bits to f16 bits, round to nearest even. Normal results rebias the exponent and round at bit 13
 * (a carry may reach the exponent, up to infinity from 65520 on); subnormal results shift the whole
 * significand right by 126 - e and round there. A NaN keeps its sign, gets the quiet bit and the top 9
 * bits of its payload (truncated), as x86's F16C does. (A form computing every case and selecting one ran
 * slower on an H200, so the branches stay: compilers predicate them.) */
SW_NUM_FN uint16_t sw_num_f16_of_f32(uint32_t u)
{
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    uint32_t h;
    if (a > 0x7f800000u) {
        h = 0x7e00u | ((a >> 13) & 0x3ffu);
    } else if (a >= 0x477ff000u) {
        h = 0x7c00u; /* 65520 and up, infinity included */
    } else if (a >= 0x38800000u) {
        h = (a + 0xfffu + ((a >> 13) & 1u) - 0x38000000u) >> 13; /* 2^-14 and up */
    } else if (a > 0x33000000u) {
        uint32_t sh = 126u - (a >> 23); /* 14 to 24 */
        uint32_t m = (a & 0x7fffffu) | 0x800000u;
        h = (m + (1u << (sh - 1)) - 1u + ((m >> sh) & 1u)) >> sh;
    } else {
        h = 0; /* 2^-25 and below: 2^-25 itself ties to even, 0 */
    }
    return (uint16_t)(sign | h);
}

/* f16 bits to f32 bits, exactly: a subnormal m x 2^-24 is that product in f32 (exact, and a normal f32,
 * so neither rounding mode nor flush-to-zero touches it), a NaN's payload moves into place unchanged.
 * No branch and no loop (checked equal, for all 2^16 inputs, to the normalizing loop it replaced). */
SW_NUM_FN uint32_t sw_num_f32_of_f16(uint16_t x)
{
    uint32_t sign = (uint32_t)(x & 0x8000u) << 16;
    uint32_t e = (uint32_t)(x >> 10) & 0x1fu, m = x & 0x3ffu;
    uint32_t normal = (e + 112u) << 23 | m << 13;
    uint32_t special = 0x7f800000u | m << 13;
    uint32_t sub = sw_num_bits((float)m * 0x1p-24f);
    return sign | (e == 31 ? special : e ? normal : sub);
}

/* C's (int8_t)x for x in range (truncation toward zero), defined everywhere: NaN is 0, the rest clamps. */
SW_NUM_FN int sw_num_trunc_i8(float x)
{
    if (!(x > -129.0f && x < 128.0f))
        return x != x ? 0 : x < 0 ? -128 : 127;
    return (int)x;
}

/* (int8_t)roundf(x): halves away from zero. Exact without roundf: x - trunc(x) is exact in float. */
SW_NUM_FN int sw_num_round_i8(float x)
{
    if (!(x > -129.0f && x < 128.0f))
        return x != x ? 0 : x < 0 ? -128 : 127;
    int i = (int)x;
    float frac = x - (float)i;
    i += frac >= 0.5f ? 1 : frac <= -0.5f ? -1 : 0;
    return i < -128 ? -128 : i > 127 ? 127 : i;
}

/* Round half to even, for per-row int8: x - trunc(x) is exact; a tie goes to the even neighbour. */
SW_NUM_FN int sw_num_rne_i8(float x)
{
    if (!(x > -129.0f && x < 128.0f))
        return x != x ? 0 : x < 0 ? -128 : 127;
    int i = (int)x;
    float frac = x - (float)i;
    if (frac > 0.5f || (frac == 0.5f && (i & 1)))
        i++;
    else if (frac < -0.5f || (frac == -0.5f && (i & 1)))
        i--;
    return i < -128 ? -128 : i > 127 ? 127 : i;
}

/* ggml's quantize_row_q8_0_ref for one block: amax by ggml's MAX(a, b) = a > b ? a : b, in order (so a NaN
 * behaves as there), d = amax / 127 stored as fp16, quants from the fp32 1/d. */
SW_NUM_FN void sw_num_q8_0_block(uint8_t *out, const float *x)
{
    float amax = 0.0f;
    for (int j = 0; j < SW_QK; j++) {
        float a = sw_num_abs(x[j]);
        amax = amax > a ? amax : a;
    }
    float d = sw_num_div(amax, 127.0f); /* a NaN when the last element is one: its bits are stored */
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint16_t h = sw_num_f16_of_f32(sw_num_bits(d));
    out[0] = (uint8_t)h;
    out[1] = (uint8_t)(h >> 8);
    for (int j = 0; j < SW_QK; j++)
        out[2 + j] = (uint8_t)(int8_t)sw_num_round_i8(x[j] * id);
}

/* ggml's quantize_row_q4_0_ref for one block: the first element of largest |x| (strict comparison, so a
 * NaN never wins) with its sign is max; d = max / -8; nibble j is min(15, (int8)(x*id + 8.5)); byte j
 * holds element j low and element j + 16 high. */
SW_NUM_FN void sw_num_q4_0_block(uint8_t *out, const float *x)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < SW_QK; j++) {
        float a = sw_num_abs(x[j]);
        if (amax < a) {
            amax = a;
            max = x[j];
        }
    }
    float d = sw_num_div(max, -8.0f);
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint16_t h = sw_num_f16_of_f32(sw_num_bits(d));
    out[0] = (uint8_t)h;
    out[1] = (uint8_t)(h >> 8);
    for (int j = 0; j < SW_QK / 2; j++) {
        float x0 = x[j] * id, x1 = x[j + SW_QK / 2] * id;
        int q0 = sw_num_trunc_i8(x0 + 8.5f), q1 = sw_num_trunc_i8(x1 + 8.5f);
        q0 = q0 < 15 ? q0 : 15;
        q1 = q1 < 15 ? q1 : 15;
        out[2 + j] = (uint8_t)((q0 & 0xf) | (q1 & 0xf) << 4);
    }
}

/* The fp16 scale of a block, as f32. */
SW_NUM_FN float sw_num_block_scale(const uint8_t *in)
{
    return sw_num_float(sw_num_f32_of_f16((uint16_t)(in[0] | in[1] << 8)));
}

/* Dequantize one Q8_0 block: q * d. */
SW_NUM_FN void sw_num_dq8_0_block(float *y, const uint8_t *in)
{
    float d = sw_num_block_scale(in);
    for (int j = 0; j < SW_QK; j++)
        y[j] = sw_num_mul((float)(int8_t)in[2 + j], d);
}

/* Dequantize one Q4_0 block: (nibble - 8) * d. */
SW_NUM_FN void sw_num_dq4_0_block(float *y, const uint8_t *in)
{
    float d = sw_num_block_scale(in);
    for (int j = 0; j < SW_QK / 2; j++) {
        y[j] = sw_num_mul((float)((in[2 + j] & 0xf) - 8), d);
        y[j + SW_QK / 2] = sw_num_mul((float)((in[2 + j] >> 4) - 8), d);
    }
}

/* Per-row int8 (bitsandbytes' vector-wise): s is the largest |x| of the row that is not a NaN (the
 * comparison skips NaNs, so any order of reduction gives the same s: a GPU may reduce in a tree). */
SW_NUM_FN float sw_num_absmax_step(float amax, float x)
{
    float a = sw_num_abs(x);
    return a > amax ? a : amax;
}

/* One element of a per-row int8 row with absmax s: round_half_even(x * 127 / s), 0 when s is 0 (and for
 * a NaN). */
SW_NUM_FN int8_t sw_num_int8_row(float x, float s)
{
    return (int8_t)(s != 0.0f ? sw_num_rne_i8(x * 127.0f / s) : 0);
}

/* Dequantize one per-row int8 element: q * s / 127 (0 times an infinite s is the default NaN). */
SW_NUM_FN float sw_num_int8_row_value(int8_t q, float s)
{
    return sw_num_div(sw_num_mul((float)q, s), 127.0f);
}

#endif
