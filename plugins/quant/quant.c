/* quant.c — quantization of checkpoints, CPU variants: ggml's Q8_0 and Q4_0 (quantize, dequantize) and
 * per-row int8 (int8_rows, row_absmax, int8_dequantize). The ops, their params and the dtype rules are in
 * quant_ops.h, shared with the GPU companion; the numbers are plugins/common/numerics.h's, also shared.
 *
 * Speed: the CPU is the device most peers have, so Q8_0 and Q4_0 have an SSE2 path (every x86-64 has
 * SSE2) that computes the reference's bytes another way. It takes a block only when the block holds no
 * NaN and no infinity; any other block, and every block on other machines, goes through the scalar
 * reference. Both are built with -ffp-contract=off (the Makefile's plugin flags), as ggml requires. */
#include "common/numerics.h"
#include "quant_ops.h"

#include <float.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ---- Sizes and loads ----------------------------------------------------------------------------- */

/* Bytes of n elements of a plain (non-block) dtype whose bits fill whole bytes, or 0 with *ok = 0. */
static uint64_t qt_plain_bytes(swarm_dtype dt, uint64_t n, int *ok)
{
    uint64_t bits = (uint64_t)dt.bits * dt.lanes;
    *ok = bits && (n * bits) % 8 == 0;
    return n * bits / 8;
}

static const uint8_t *qt_in(const swarm_tensor *t)
{
    return (const uint8_t *)t->data + t->byte_offset;
}

static uint8_t *qt_out(const swarm_tensor *t)
{
    return (uint8_t *)t->data + t->byte_offset;
}

/* Loads n elements of a float kind (32, 16, 17 = bf16) starting at element i, widened exactly to f32
 * (bf16 eight at a time with SSE2: its bits become the high half of f32's). */
static void qt_load(float *dst, const uint8_t *src, int kind, uint64_t i, size_t n)
{
    size_t k = 0;
    if (kind == 32) {
        memcpy(dst, src + 4 * i, 4 * n);
        return;
    }
#ifdef __SSE2__
    for (; kind == 17 && k + 8 <= n; k += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(src + 2 * (i + k)));
        _mm_storeu_ps(dst + k, _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), h)));
        _mm_storeu_ps(dst + k + 4, _mm_castsi128_ps(_mm_unpackhi_epi16(_mm_setzero_si128(), h)));
    }
#endif
    for (; k < n; k++) {
        uint16_t h;
        memcpy(&h, src + 2 * (i + k), 2);
        dst[k] = sw_num_float(kind == 16 ? sw_num_f32_of_f16(h) : (uint32_t)h << 16);
    }
}

/* Rows along the last dimension (the product of the others, so a [3, 0] tensor has 3 empty rows): a
 * scalar is one row of one element. */
static void qt_rows(const swarm_tensor *t, uint64_t *rows, uint64_t *cols)
{
    *cols = t->ndim ? (uint64_t)t->shape[t->ndim - 1] : 1;
    *rows = 1;
    for (int32_t d = 0; d + 1 < t->ndim; d++)
        *rows *= (uint64_t)t->shape[d];
}

/* ---- Q8_0 / Q4_0 blocks, SSE2 ------------------------------------------------------------------ */

#ifdef __SSE2__
/* Loads a block's 32 floats; returns the largest |x| as a vector max, or -1 when the block holds a NaN or
 * an infinity (the caller then uses the scalar reference, which defines those cases). Without NaNs the
 * order of a max does not matter, so the tree gives the reference's amax. */
static float qt_sse_amax(__m128 v[8], const float *x)
{
    const __m128 mask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    const __m128 inf = _mm_set1_ps(sw_num_float(0x7f800000u));
    __m128 m = _mm_setzero_ps(), bad = _mm_setzero_ps();
    for (int k = 0; k < 8; k++) {
        v[k] = _mm_loadu_ps(x + 4 * k);
        __m128 a = _mm_and_ps(v[k], mask);
        bad = _mm_or_ps(bad, _mm_cmpnlt_ps(a, inf)); /* NaN or infinity: not (a < inf) */
        m = _mm_max_ps(m, a);
    }
    if (_mm_movemask_ps(bad))
        return -1.0f;
    m = _mm_max_ps(m, _mm_shuffle_ps(m, m, _MM_SHUFFLE(1, 0, 3, 2)));
    m = _mm_max_ps(m, _mm_shuffle_ps(m, m, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtss_f32(m);
}

/* Truncates toward zero, as (int)p for |p| < 2^31. */
static __m128i qt_sse_trunc(__m128 p)
{
    return _mm_cvttps_epi32(p);
}

/* roundf(p) for finite |p| < 2^31: truncate, then step away from zero when the exact remainder is >= 0.5. */
static __m128i qt_sse_round(__m128 p)
{
    __m128i i = _mm_cvttps_epi32(p);
    __m128 frac = _mm_sub_ps(p, _mm_cvtepi32_ps(i));
    __m128i up = _mm_castps_si128(_mm_cmpge_ps(frac, _mm_set1_ps(0.5f)));    /* -1 where true */
    __m128i down = _mm_castps_si128(_mm_cmple_ps(frac, _mm_set1_ps(-0.5f))); /* -1 where true */
    return _mm_add_epi32(_mm_sub_epi32(i, up), down);
}

static void qt_store_scale(uint8_t *out, float d)
{
    uint16_t h = sw_num_f16_of_f32(sw_num_bits(d));
    out[0] = (uint8_t)h;
    out[1] = (uint8_t)(h >> 8);
}

/* One Q8_0 block; 0 when done, -1 when the block needs the scalar reference. */
static int qt_sse_q8_0(uint8_t *out, const float *x)
{
    __m128 v[8];
    float amax = qt_sse_amax(v, x);
    if (amax < 0)
        return -1;
    float d = amax / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    if (id > FLT_MAX)
        return -1; /* amax is subnormal: 1/d overflows and the reference clamps the infinities */
    qt_store_scale(out, d);
    __m128 vid = _mm_set1_ps(id);
    for (int k = 0; k < 2; k++) {
        __m128i a = qt_sse_round(_mm_mul_ps(v[4 * k], vid)), b = qt_sse_round(_mm_mul_ps(v[4 * k + 1], vid));
        __m128i c = qt_sse_round(_mm_mul_ps(v[4 * k + 2], vid)), e = qt_sse_round(_mm_mul_ps(v[4 * k + 3], vid));
        __m128i q = _mm_packs_epi16(_mm_packs_epi32(a, b), _mm_packs_epi32(c, e));
        _mm_storeu_si128((__m128i *)(out + 2 + 16 * k), q);
    }
    return 0;
}

/* One Q4_0 block; 0 when done, -1 when the block needs the scalar reference. max is the first element
 * whose |x| is amax, with its sign; when amax is 0 the reference keeps its initial 0.0f (not a -0). */
static int qt_sse_q4_0(uint8_t *out, const float *x)
{
    __m128 v[8];
    float amax = qt_sse_amax(v, x), max = 0.0f;
    if (amax < 0)
        return -1;
    for (int j = 0; amax > 0.0f && j < SW_QK; j++)
        if (sw_num_abs(x[j]) == amax) {
            max = x[j];
            break;
        }
    float d = max / -8.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    if (id > FLT_MAX || id < -FLT_MAX)
        return -1; /* max is subnormal: see qt_sse_q8_0 */
    qt_store_scale(out, d);
    __m128 vid = _mm_set1_ps(id), half = _mm_set1_ps(8.5f);
    __m128i q[8];
    for (int k = 0; k < 8; k++)
        q[k] = qt_sse_trunc(_mm_add_ps(_mm_mul_ps(v[k], vid), half));
    const __m128i fifteen = _mm_set1_epi16(15);
    __m128i lo0 = _mm_min_epi16(_mm_packs_epi32(q[0], q[1]), fifteen);
    __m128i lo1 = _mm_min_epi16(_mm_packs_epi32(q[2], q[3]), fifteen);
    __m128i hi0 = _mm_min_epi16(_mm_packs_epi32(q[4], q[5]), fifteen);
    __m128i hi1 = _mm_min_epi16(_mm_packs_epi32(q[6], q[7]), fifteen);
    __m128i b0 = _mm_or_si128(lo0, _mm_slli_epi16(hi0, 4)), b1 = _mm_or_si128(lo1, _mm_slli_epi16(hi1, 4));
    _mm_storeu_si128((__m128i *)(out + 2), _mm_packus_epi16(b0, b1));
    return 0;
}
#endif

/* Quantizes one block of 32 floats to Q8_0 or Q4_0 at o: the SSE2 path, else the reference. */
static void qt_block(uint8_t *o, const float *x, int q4)
{
#ifdef __SSE2__
    if ((q4 ? qt_sse_q4_0(o, x) : qt_sse_q8_0(o, x)) == 0)
        return;
#endif
    (q4 ? sw_num_q4_0_block : sw_num_q8_0_block)(o, x);
}

/* Quantizes nblocks blocks of f32 (any alignment) to Q8_0 or Q4_0. */
static void qt_quantize_f32(uint8_t *out, const uint8_t *in, uint64_t nblocks, int q4)
{
    size_t bb = q4 ? SW_Q4_0_BYTES : SW_Q8_0_BYTES;
    for (uint64_t b = 0; b < nblocks; b++) {
        float x[SW_QK];
        memcpy(x, in + b * 4 * SW_QK, sizeof x);
        qt_block(out + b * bb, x, q4);
    }
}

/* ---- quantize ------------------------------------------------------------------------------------ */

/* Every run starts here: the shared checks of quant_ops.h, then that x is in CPU memory. */
static int qt_cpu(const swarm_host *host, swarm_call *call, const swarm_tensor *x)
{
    if (x->device.device_type != SWARM_DEVICE_CPU)
        return host->set_error(call, SWARM_E_UNSUPPORTED, "x must be in CPU memory");
    return SWARM_OK;
}

static int qt_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    (void)host;
    (void)call;
    (void)device_id;
    return 100;
}

/* Copies x into y when it passes through, else converts it: blocks (f16/bf16 widened exactly 32 at a
 * time) or f32 (f64 rounded to nearest). */
static int quantize_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                        const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    const swarm_tensor *y = &outputs[0].u.tensor;
    const uint8_t *in = qt_in(x);
    uint8_t *out = qt_out(y);
    uint64_t elems = 0;
    int ok, rc = qt_cpu(host, call, x) ? SWARM_E_UNSUPPORTED : quant_check(host, call, x, &elems), kind = quant_float_kind(x->dtype);
    (void)params;
    if (rc)
        return rc;
    if (!kind && x->dtype.bits == 64 && y->dtype.code == SWARM_DTYPE_FLOAT && y->dtype.bits == 32) {
        for (uint64_t i = 0; i < elems; i++) { /* f64 to f32, rounded to nearest */
            double d;
            float f;
            memcpy(&d, in + 8 * i, 8);
            f = (float)d;
            memcpy(out + 4 * i, &f, 4);
        }
        return SWARM_OK;
    }
    if (!kind) {
        uint64_t n = qt_plain_bytes(x->dtype, elems, &ok);
        if (!ok)
            return host->set_error(call, SWARM_E_BAD_INPUT, "x's elements do not fill whole bytes");
        if (n)
            memcpy(out, in, (size_t)n);
        return SWARM_OK;
    }
    if (y->dtype.code == SWARM_DTYPE_Q8_0 || y->dtype.code == SWARM_DTYPE_Q4_0) {
        int q4 = y->dtype.code == SWARM_DTYPE_Q4_0;
        size_t bb = q4 ? SW_Q4_0_BYTES : SW_Q8_0_BYTES;
        if (kind == 32) {
            qt_quantize_f32(out, in, elems / SW_QK, q4);
            return SWARM_OK;
        }
        for (uint64_t b = 0; b < elems / SW_QK; b++) { /* f16/bf16 widen exactly: f32's bytes */
            float v[SW_QK];
            qt_load(v, in, kind, b * SW_QK, SW_QK);
            qt_block(out + b * bb, v, q4);
        }
        return SWARM_OK;
    }
    for (uint64_t i = 0; i < elems; i += 256) { /* to f32, 256 at a time */
        float v[256];
        size_t n = elems - i < 256 ? (size_t)(elems - i) : 256;
        qt_load(v, in, kind, i, n);
        memcpy(out + 4 * i, v, 4 * n);
    }
    return SWARM_OK;
}

/* ---- dequantize ---------------------------------------------------------------------------------- */

static int dequantize_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                          const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    uint8_t *out = qt_out(&outputs[0].u.tensor);
    const uint8_t *in = qt_in(x);
    uint64_t elems = 0;
    int ok;
    (void)params;
    if (!quant_is_block(x->dtype)) {
        int rc = qt_cpu(host, call, x) ? SWARM_E_UNSUPPORTED : quant_check(host, call, x, &elems);
        uint64_t n = rc ? 0 : qt_plain_bytes(x->dtype, elems, &ok);
        if (rc)
            return rc;
        if (!ok)
            return host->set_error(call, SWARM_E_BAD_INPUT, "x's elements do not fill whole bytes");
        if (n)
            memcpy(out, in, (size_t)n);
        return SWARM_OK;
    }
    int rc = qt_cpu(host, call, x) ? SWARM_E_UNSUPPORTED : quant_check_blocks(host, call, x, &elems);
    if (rc)
        return rc;
    int q4 = x->dtype.code == SWARM_DTYPE_Q4_0;
    size_t bb = q4 ? SW_Q4_0_BYTES : SW_Q8_0_BYTES;
    for (uint64_t b = 0; b < elems / SW_QK; b++) {
        float v[SW_QK];
        (q4 ? sw_num_dq4_0_block : sw_num_dq8_0_block)(v, in + b * bb);
        memcpy(out + b * 4 * SW_QK, v, sizeof v);
    }
    return SWARM_OK;
}

/* ---- Per-row int8 -------------------------------------------------------------------------------- */

/* The absmax of one row of cols elements starting at element i. */
static float qt_row_absmax(const uint8_t *in, int kind, uint64_t i, uint64_t cols)
{
    float s = 0.0f, v[256];
    for (uint64_t j = 0; j < cols; j += 256) {
        size_t n = cols - j < 256 ? (size_t)(cols - j) : 256;
        qt_load(v, in, kind, i + j, n);
        for (size_t k = 0; k < n; k++)
            s = sw_num_absmax_step(s, v[k]);
    }
    return s;
}

static int int8_rows_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                         const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    const uint8_t *in = qt_in(x);
    uint8_t *out = qt_out(&outputs[0].u.tensor);
    uint64_t elems = 0, rows, cols;
    int rc = qt_cpu(host, call, x) ? SWARM_E_UNSUPPORTED : quant_check_float(host, call, x, &elems), kind = quant_float_kind(x->dtype);
    (void)params;
    if (rc)
        return rc;
    qt_rows(x, &rows, &cols);
    for (uint64_t r = 0; r < rows; r++) {
        float s = qt_row_absmax(in, kind, r * cols, cols), v[256];
        for (uint64_t j = 0; j < cols; j += 256) {
            size_t n = cols - j < 256 ? (size_t)(cols - j) : 256;
            qt_load(v, in, kind, r * cols + j, n);
            for (size_t k = 0; k < n; k++)
                out[r * cols + j + k] = (uint8_t)sw_num_int8_row(v[k], s);
        }
    }
    return SWARM_OK;
}

static int row_absmax_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                          const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    uint8_t *out = qt_out(&outputs[0].u.tensor);
    uint64_t elems = 0, rows, cols;
    int rc = qt_cpu(host, call, x) ? SWARM_E_UNSUPPORTED : quant_check_float(host, call, x, &elems), kind = quant_float_kind(x->dtype);
    (void)params;
    if (rc)
        return rc;
    qt_rows(x, &rows, &cols);
    for (uint64_t r = 0; r < rows; r++) {
        float s = qt_row_absmax(qt_in(x), kind, r * cols, cols);
        memcpy(out + 4 * r, &s, 4);
    }
    return SWARM_OK;
}

static int int8_dequantize_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                               const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *q = &inputs[0].u.tensor, *s = &inputs[1].u.tensor;
    uint8_t *out = qt_out(&outputs[0].u.tensor);
    uint64_t elems = 0, rows, cols;
    int rc = qt_cpu(host, call, q) || qt_cpu(host, call, s) ? SWARM_E_UNSUPPORTED
                                                                   : quant_check_int8_pair(host, call, q, s, &elems);
    (void)params;
    if (rc)
        return rc;
    qt_rows(q, &rows, &cols);
    for (uint64_t r = 0; r < rows; r++) {
        float sc;
        memcpy(&sc, qt_in(s) + 4 * r, 4);
        for (uint64_t j = 0; j < cols; j++) {
            float v = sw_num_int8_row_value((int8_t)qt_in(q)[r * cols + j], sc);
            memcpy(out + 4 * (r * cols + j), &v, 4);
        }
    }
    return SWARM_OK;
}

/* ---- The plugin ---------------------------------------------------------------------------------- */

#define QT_CPU(NAME, TAG)                                                                                      \
    static const swarm_variant NAME##_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, TAG, qt_probe,          \
                                             quant_##NAME##_infer, NAME##_run};                                        \
    static const swarm_variant *const NAME##_variants[] = {&NAME##_cpu};

QT_CPU(quantize, QUANT_NUMERICS)
QT_CPU(dequantize, QUANT_NUMERICS)
QT_CPU(int8_rows, QUANT_NUMERICS)
QT_CPU(row_absmax, QUANT_NUMERICS)
QT_CPU(int8_dequantize, QUANT_NUMERICS)

static const swarm_op quant_ops[] = {
    QUANT_OPS(quantize_variants, dequantize_variants, int8_rows_variants, row_absmax_variants,
              int8_dequantize_variants)};
static const swarm_op *const ops[] = {&quant_ops[0], &quant_ops[1], &quant_ops[2], &quant_ops[3], &quant_ops[4]};

static const swarm_plugin plugin = {
    .abi_version = SWARM_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(swarm_plugin),
    .id = QUANT_PLUGIN_ID,
    .version = QUANT_VERSION,
    .ops = ops,
    .n_ops = sizeof ops / sizeof *ops,
};

/* The one exported symbol: it only hands swarm the descriptor above. */
SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
