/* convert.c — dtype conversion of tensors: one op, `cast`, that converts floating-point tensors (f32,
 * f16, bf16) to the dtype asked for and passes every other tensor through unchanged, as PyTorch's
 * Module.to(dtype) casts only floating-point parameters. One CPU variant; its GPU variant is in the
 * companion hip/convert_hip.cpp (build/plugins/convert.hip.so), which shares convert_ops.h.
 *
 * Rounding (FORMATS.md, as ggml does it):
 * - f32 -> bf16: round to nearest even; NaN becomes (u >> 16) | 0x40: quiet, sign and the top payload
 *   bits kept. Overflow rounds to infinity; subnormals are kept.
 * - f32 -> f16: round to nearest even, overflow to infinity, subnormals kept. NaN keeps its sign, gets
 *   the quiet bit and the top 9 bits of its payload (truncated), as x86's F16C does.
 * - bf16 -> f32 is u << 16 and f16 -> f32 is exact (subnormals, infinities; a NaN's sign and payload are
 *   moved into place bit for bit, so a signaling NaN stays signaling). f16 <-> bf16 goes through f32,
 *   whose widening is exact, so there is one rounding (and the narrowing's NaN rule applies).
 * Integer bit operations only, so neither the rounding mode nor flush-to-zero can change a result.
 * Values are little-endian, as on every machine swarm runs on. */
#include "convert_ops.h"
#include "common/numerics.h"

#include <string.h>

/* ---- The same as selects, for vector code ------------------------------------------------------- */

/* These agree with the scalar versions except where the result (f32 -> f16) or the input (f16 -> f32)
 * is an f16 subnormal, which needs a per-element shift that SSE2 lacks. They report such elements in
 * *odd, and the kernels redo the blocks holding any with the scalar versions: subnormals are rare in
 * real tensors, and results stay identical. */
static inline uint16_t cv_f16_of_f32_v(uint32_t u, uint32_t *odd)
{
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    uint32_t normal = (a + 0xfffu + ((a >> 13) & 1u) - 0x38000000u) >> 13;
    uint32_t nan = 0x7e00u | ((a >> 13) & 0x3ffu);
    uint32_t h = a >= 0x38800000u ? normal : 0u;
    h = a >= 0x477ff000u ? 0x7c00u : h;
    h = a > 0x7f800000u ? nan : h;
    *odd |= a - 0x33000001u < 0x38800000u - 0x33000001u;
    return (uint16_t)(sign | h);
}

static inline uint32_t cv_f32_of_f16_v(uint16_t x, uint32_t *odd)
{
    uint32_t sign = (uint32_t)(x & 0x8000u) << 16;
    uint32_t a = x & 0x7fffu;
    uint32_t v = (a << 13) + 0x38000000u;
    v = a >= 0x7c00u ? v + 0x38000000u : v;
    v = a < 0x400u ? 0u : v;
    *odd |= a - 1u < 0x3ffu;
    return sign | v;
}

/* ---- Kernels ------------------------------------------------------------------------------------- */

/* Each kernel converts whole blocks of CV_BLOCK elements (a fixed trip count the compiler vectorizes even
 * at -O2; out and in never overlap: the host allocates outputs), then the tail one element at a time.
 * Elements are loaded and stored with memcpy: buffers need not be aligned. The f16 kernels redo a block
 * with the scalar conversion when it holds an f16 subnormal. */
#define CV_BLOCK 32

static inline uint32_t cv_load32(const uint8_t *p)
{
    uint32_t u;
    memcpy(&u, p, 4);
    return u;
}

static inline uint16_t cv_load16(const uint8_t *p)
{
    uint16_t u;
    memcpy(&u, p, 2);
    return u;
}

static inline void cv_store32(uint8_t *p, uint32_t u)
{
    memcpy(p, &u, 4);
}

static inline void cv_store16(uint8_t *p, uint16_t u)
{
    memcpy(p, &u, 2);
}

static void cv_f32_to_bf16(uint8_t *restrict out, const uint8_t *restrict in, size_t n)
{
    size_t i = 0;
    for (; n - i >= CV_BLOCK; i += CV_BLOCK) {
        const uint8_t *p = in + 4 * i;
        uint8_t *o = out + 2 * i;
        for (int k = 0; k < CV_BLOCK; k++)
            cv_store16(o + 2 * k, sw_num_bf16_of_f32(cv_load32(p + 4 * k)));
    }
    for (; i < n; i++)
        cv_store16(out + 2 * i, sw_num_bf16_of_f32(cv_load32(in + 4 * i)));
}

static void cv_bf16_to_f32(uint8_t *restrict out, const uint8_t *restrict in, size_t n)
{
    size_t i = 0;
    for (; n - i >= CV_BLOCK; i += CV_BLOCK) {
        const uint8_t *p = in + 2 * i;
        uint8_t *o = out + 4 * i;
        for (int k = 0; k < CV_BLOCK; k++)
            cv_store32(o + 4 * k, (uint32_t)cv_load16(p + 2 * k) << 16);
    }
    for (; i < n; i++)
        cv_store32(out + 4 * i, (uint32_t)cv_load16(in + 2 * i) << 16);
}

static void cv_f32_to_f16(uint8_t *restrict out, const uint8_t *restrict in, size_t n)
{
    size_t i = 0;
    for (; n - i >= CV_BLOCK; i += CV_BLOCK) {
        const uint8_t *p = in + 4 * i;
        uint8_t *o = out + 2 * i;
        uint32_t odd = 0;
        for (int k = 0; k < CV_BLOCK; k++)
            cv_store16(o + 2 * k, cv_f16_of_f32_v(cv_load32(p + 4 * k), &odd));
        if (odd)
            for (int k = 0; k < CV_BLOCK; k++)
                cv_store16(o + 2 * k, sw_num_f16_of_f32(cv_load32(p + 4 * k)));
    }
    for (; i < n; i++)
        cv_store16(out + 2 * i, sw_num_f16_of_f32(cv_load32(in + 4 * i)));
}

static void cv_f16_to_f32(uint8_t *restrict out, const uint8_t *restrict in, size_t n)
{
    size_t i = 0;
    for (; n - i >= CV_BLOCK; i += CV_BLOCK) {
        const uint8_t *p = in + 2 * i;
        uint8_t *o = out + 4 * i;
        uint32_t odd = 0;
        for (int k = 0; k < CV_BLOCK; k++)
            cv_store32(o + 4 * k, cv_f32_of_f16_v(cv_load16(p + 2 * k), &odd));
        if (odd)
            for (int k = 0; k < CV_BLOCK; k++)
                cv_store32(o + 4 * k, sw_num_f32_of_f16(cv_load16(p + 2 * k)));
    }
    for (; i < n; i++)
        cv_store32(out + 4 * i, sw_num_f32_of_f16(cv_load16(in + 2 * i)));
}

static void cv_f16_to_bf16(uint8_t *restrict out, const uint8_t *restrict in, size_t n)
{
    size_t i = 0;
    for (; n - i >= CV_BLOCK; i += CV_BLOCK) {
        const uint8_t *p = in + 2 * i;
        uint8_t *o = out + 2 * i;
        uint32_t odd = 0;
        for (int k = 0; k < CV_BLOCK; k++)
            cv_store16(o + 2 * k, sw_num_bf16_of_f32(cv_f32_of_f16_v(cv_load16(p + 2 * k), &odd)));
        if (odd)
            for (int k = 0; k < CV_BLOCK; k++)
                cv_store16(o + 2 * k, sw_num_bf16_of_f32(sw_num_f32_of_f16(cv_load16(p + 2 * k))));
    }
    for (; i < n; i++)
        cv_store16(out + 2 * i, sw_num_bf16_of_f32(sw_num_f32_of_f16(cv_load16(in + 2 * i))));
}

static void cv_bf16_to_f16(uint8_t *restrict out, const uint8_t *restrict in, size_t n)
{
    size_t i = 0;
    for (; n - i >= CV_BLOCK; i += CV_BLOCK) {
        const uint8_t *p = in + 2 * i;
        uint8_t *o = out + 2 * i;
        uint32_t odd = 0;
        for (int k = 0; k < CV_BLOCK; k++)
            cv_store16(o + 2 * k, cv_f16_of_f32_v((uint32_t)cv_load16(p + 2 * k) << 16, &odd));
        if (odd)
            for (int k = 0; k < CV_BLOCK; k++)
                cv_store16(o + 2 * k, sw_num_f16_of_f32((uint32_t)cv_load16(p + 2 * k) << 16));
    }
    for (; i < n; i++)
        cv_store16(out + 2 * i, sw_num_f16_of_f32((uint32_t)cv_load16(in + 2 * i) << 16));
}

/* ---- The op -------------------------------------------------------------------------------------- */

static int cast_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    (void)host;
    (void)call;
    (void)device_id;
    return 100;
}

/* Converts x into y (the host allocated y as infer described), or copies it when there is nothing to
 * convert. */
static int cast_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                    const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    const swarm_tensor *y = &outputs[0].u.tensor;
    const uint8_t *in = (const uint8_t *)x->data + x->byte_offset;
    uint8_t *out = (uint8_t *)y->data + y->byte_offset;
    uint64_t elems, bytes;
    const char *why;
    int from = convert_kind(x->dtype), to = CV_F32 + (int)params[0].i;
    if (x->strides)
        return host->set_error(call, SWARM_E_UNSUPPORTED, "x must be compact row-major (no strides)");
    if (x->device.device_type != SWARM_DEVICE_CPU)
        return host->set_error(call, SWARM_E_UNSUPPORTED, "x must be in CPU memory");
    if ((why = convert_size(x, &elems, &bytes)))
        return host->set_error(call, SWARM_E_BAD_INPUT, "%s", why);
    if (from == CV_OTHER || from == to) {
        if (bytes)
            memcpy(out, in, (size_t)bytes);
        return SWARM_OK;
    }
    size_t n = (size_t)elems;
    if (from == CV_F32)
        (to == CV_BF16 ? cv_f32_to_bf16 : cv_f32_to_f16)(out, in, n);
    else if (from == CV_F16)
        (to == CV_F32 ? cv_f16_to_f32 : cv_f16_to_bf16)(out, in, n);
    else
        (to == CV_F32 ? cv_bf16_to_f32 : cv_bf16_to_f16)(out, in, n);
    return SWARM_OK;
}

static const swarm_variant cast_cpu = {
    .struct_size = sizeof(swarm_variant),
    .device_type = SWARM_DEVICE_CPU,
    .numerics = CONVERT_NUMERICS, /* a GPU variant (hip/convert_hip.cpp) gives these bytes too */
    .probe = cast_probe,
    .infer = convert_cast_infer,
    .run = cast_run,
};
static const swarm_variant *const cast_variants[] = {&cast_cpu};

static const swarm_op cast = CONVERT_CAST_OP(cast_variants);
static const swarm_op *const ops[] = {&cast};

static const swarm_plugin plugin = {
    .abi_version = SWARM_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(swarm_plugin),
    .id = CONVERT_PLUGIN_ID,
    .version = CONVERT_VERSION,
    .ops = ops,
    .n_ops = 1,
};

/* The one exported symbol: it only hands swarm the descriptor above. */
SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
