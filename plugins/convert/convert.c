/* convert.c — dtype conversion of tensors: one op, `cast`, that converts floating-point tensors (f32,
 * f16, bf16) to the dtype asked for and passes every other tensor through unchanged, as PyTorch's
 * Module.to(dtype) casts only floating-point parameters. One CPU variant.
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
#include "swarm_plugin.h"

#include <string.h>

/* Which conversion a dtype takes part in. */
enum { CV_OTHER = 0, CV_F32, CV_F16, CV_BF16 };

static const char *const cast_choices[] = {"f32", "f16", "bf16", NULL};
static const swarm_param cast_params[] = {
    {"dtype", SWARM_PARAM_ENUM, "bf16", "what floating-point tensors become: f32, f16 or bf16", cast_choices},
};
static const swarm_port cast_inputs[] = {{"x", SWARM_KIND_TENSOR, "a tensor of any dtype and shape"}};
static const swarm_port cast_outputs[] = {
    {"y", SWARM_KIND_TENSOR, "x converted to dtype when x is f32, f16 or bf16; otherwise x unchanged"}};

/* The conversion kind of a dtype; CV_OTHER passes through. */
static int cv_kind(swarm_dtype dt)
{
    if (dt.lanes == 1 && dt.code == SWARM_DTYPE_FLOAT && dt.bits == 32)
        return CV_F32;
    if (dt.lanes == 1 && dt.code == SWARM_DTYPE_FLOAT && dt.bits == 16)
        return CV_F16;
    if (dt.lanes == 1 && dt.code == SWARM_DTYPE_BFLOAT && dt.bits == 16)
        return CV_BF16;
    return CV_OTHER;
}

static swarm_dtype cv_dtype(int kind)
{
    swarm_dtype dt;
    dt.code = kind == CV_BF16 ? SWARM_DTYPE_BFLOAT : SWARM_DTYPE_FLOAT;
    dt.bits = kind == CV_F32 ? 32 : 16;
    dt.lanes = 1;
    return dt;
}

/* Elements and bytes of a compact tensor, with overflow checks; 0 or an error message. */
static const char *cv_size(const swarm_tensor *t, uint64_t *elems, uint64_t *bytes)
{
    uint64_t n = 1, bits = (uint64_t)t->dtype.bits * t->dtype.lanes;
    if (t->ndim < 0 || t->ndim > SWARM_MAX_NDIM)
        return "x has a bad number of dimensions";
    for (int32_t d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0)
            return "x has a negative dimension";
        if (t->shape[d] && n > UINT64_MAX / (uint64_t)t->shape[d])
            return "x's size overflows";
        n *= (uint64_t)t->shape[d];
    }
    if (!bits || (n && n > UINT64_MAX / bits))
        return "x's size overflows";
    if (n * bits % 8)
        return "x's elements do not fill whole bytes";
    if (n * bits / 8 > (uint64_t)(size_t)-1)
        return "x is too large for this machine";
    *elems = n;
    *bytes = n * bits / 8;
    return NULL;
}

/* ---- Scalar conversions: the reference for every element ----------------------------------------- */

static inline uint16_t cv_bf16_of_f32(uint32_t u)
{
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t quiet = (u >> 16) | 0x40u;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? quiet : rounded);
}

/* f32 bits to f16 bits, round to nearest even. Normal results rebias the exponent and round at bit 13
 * (a carry may reach the exponent, up to infinity from 65520 on); subnormal results shift the whole
 * significand right by 126 - e and round there. */
static uint16_t cv_f16_of_f32(uint32_t u)
{
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    uint32_t h;
    if (a > 0x7f800000u) {
        h = 0x7e00u | ((a >> 13) & 0x3ffu); /* NaN: quiet bit set, top 9 payload bits kept */
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

/* f16 bits to f32 bits, exactly: subnormals are normalized, a NaN's payload moves into place unchanged. */
static uint32_t cv_f32_of_f16(uint16_t x)
{
    uint32_t sign = (uint32_t)(x & 0x8000u) << 16;
    uint32_t e = (uint32_t)(x >> 10) & 0x1fu, m = x & 0x3ffu;
    if (e == 31)
        return sign | 0x7f800000u | m << 13;
    if (e)
        return sign | (e + 112u) << 23 | m << 13;
    if (!m)
        return sign;
    for (e = 113; !(m & 0x400u); e--)
        m <<= 1;
    return sign | e << 23 | (m & 0x3ffu) << 13;
}

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
            cv_store16(o + 2 * k, cv_bf16_of_f32(cv_load32(p + 4 * k)));
    }
    for (; i < n; i++)
        cv_store16(out + 2 * i, cv_bf16_of_f32(cv_load32(in + 4 * i)));
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
                cv_store16(o + 2 * k, cv_f16_of_f32(cv_load32(p + 4 * k)));
    }
    for (; i < n; i++)
        cv_store16(out + 2 * i, cv_f16_of_f32(cv_load32(in + 4 * i)));
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
                cv_store32(o + 4 * k, cv_f32_of_f16(cv_load16(p + 2 * k)));
    }
    for (; i < n; i++)
        cv_store32(out + 4 * i, cv_f32_of_f16(cv_load16(in + 2 * i)));
}

static void cv_f16_to_bf16(uint8_t *restrict out, const uint8_t *restrict in, size_t n)
{
    size_t i = 0;
    for (; n - i >= CV_BLOCK; i += CV_BLOCK) {
        const uint8_t *p = in + 2 * i;
        uint8_t *o = out + 2 * i;
        uint32_t odd = 0;
        for (int k = 0; k < CV_BLOCK; k++)
            cv_store16(o + 2 * k, cv_bf16_of_f32(cv_f32_of_f16_v(cv_load16(p + 2 * k), &odd)));
        if (odd)
            for (int k = 0; k < CV_BLOCK; k++)
                cv_store16(o + 2 * k, cv_bf16_of_f32(cv_f32_of_f16(cv_load16(p + 2 * k))));
    }
    for (; i < n; i++)
        cv_store16(out + 2 * i, cv_bf16_of_f32(cv_f32_of_f16(cv_load16(in + 2 * i))));
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
                cv_store16(o + 2 * k, cv_f16_of_f32((uint32_t)cv_load16(p + 2 * k) << 16));
    }
    for (; i < n; i++)
        cv_store16(out + 2 * i, cv_f16_of_f32((uint32_t)cv_load16(in + 2 * i) << 16));
}

/* ---- The op -------------------------------------------------------------------------------------- */

static int cast_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    (void)host;
    (void)call;
    (void)device_id;
    return 100;
}

/* y has x's shape; its dtype is the param's when x is f32, f16 or bf16, else x's own. */
static int cast_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                      const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    swarm_tensor *y = &outputs[0].u.tensor;
    uint64_t elems, bytes;
    const char *why;
    if (x->strides)
        return host->set_error(call, SWARM_E_UNSUPPORTED, "x must be compact row-major (no strides)");
    if (x->device.device_type != SWARM_DEVICE_CPU)
        return host->set_error(call, SWARM_E_UNSUPPORTED, "x must be in CPU memory");
    if ((why = cv_size(x, &elems, &bytes)))
        return host->set_error(call, SWARM_E_BAD_INPUT, "%s", why);
    if (params[0].i < 0 || params[0].i > 2)
        return host->set_error(call, SWARM_E_BAD_INPUT, "dtype must be f32, f16 or bf16");
    y->ndim = x->ndim;
    y->dtype = cv_kind(x->dtype) == CV_OTHER ? x->dtype : cv_dtype(CV_F32 + (int)params[0].i);
    for (int32_t d = 0; d < x->ndim; d++)
        y->shape[d] = x->shape[d];
    return SWARM_OK;
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
    int from = cv_kind(x->dtype), to = CV_F32 + (int)params[0].i;
    if (x->strides)
        return host->set_error(call, SWARM_E_UNSUPPORTED, "x must be compact row-major (no strides)");
    if ((why = cv_size(x, &elems, &bytes)))
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
    .numerics = "rne-1", /* round to nearest even, NaN rules above; a GPU variant must match these bytes */
    .probe = cast_probe,
    .infer = cast_infer,
    .run = cast_run,
};
static const swarm_variant *const cast_variants[] = {&cast_cpu};

static const swarm_op cast = {
    .struct_size = sizeof(swarm_op),
    .name = "cast",
    .op_version = 1, /* bump it whenever the output for the same input and dtype may change */
    .flags = SWARM_OP_DETERMINISTIC,
    .doc = "Converts a floating-point tensor (f32, f16, bf16) to dtype, rounding to nearest even (overflow to "
           "infinity, subnormals kept, NaN stays a quiet NaN with its sign); any other tensor (integers, bool, "
           "f64, fp8, ...) passes through unchanged, as PyTorch's Module.to(dtype) casts only floating-point "
           "parameters.",
    .params = cast_params,
    .n_params = sizeof cast_params / sizeof *cast_params,
    .inputs = cast_inputs,
    .n_inputs = 1,
    .outputs = cast_outputs,
    .n_outputs = 1,
    .variants = cast_variants,
    .n_variants = 1,
};
static const swarm_op *const ops[] = {&cast};

static const swarm_plugin plugin = {
    .abi_version = SWARM_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(swarm_plugin),
    .id = "org.swarm.convert",
    .version = "0.1.0",
    .ops = ops,
    .n_ops = 1,
};

/* The one exported symbol: it only hands swarm the descriptor above. */
SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
