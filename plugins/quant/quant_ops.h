/* quant_ops.h — what the quantization ops are (names, versions, params, ports, numerics tags, the rule
 * that decides each output's dtype, the infers and the input checks), shared by the CPU plugin (quant.c) and its GPU companion
 * (hip/quant_hip.cpp), so the two describe the same ops and the host can check that they do. */
#ifndef SW_QUANT_OPS_H
#define SW_QUANT_OPS_H

#include "swarm_plugin.h"

#define QUANT_PLUGIN_ID "org.swarm.quant"
#define QUANT_VERSION "0.1.0"

/* Variants with this tag give the bytes of plugins/common/numerics.h (ggml's reference functions). */
#define QUANT_NUMERICS "ggml-ref-1"

/* The quantize op's target types: param `type`, in this order. */
enum { QUANT_Q8_0 = 0, QUANT_Q4_0 = 1 };

static const char *const quant_type_choices[] = {"q8_0", "q4_0", NULL};
static const swarm_param quant_quantize_params[] = {
    {"type", SWARM_PARAM_ENUM, "q8_0", "the block type of 2-D tensors whose rows hold a multiple of 32 elements",
     quant_type_choices},
};
static const swarm_port quant_x_in[] = {{"x", SWARM_KIND_TENSOR, "a tensor of any dtype and shape"}};
static const swarm_port quant_quantize_out[] = {
    {"y", SWARM_KIND_TENSOR, "x as type, as f32 (other floating tensors) or unchanged"}};
static const swarm_port quant_dequantize_out[] = {{"y", SWARM_KIND_TENSOR, "x as f32, or unchanged"}};
static const swarm_port quant_int8_out[] = {{"q", SWARM_KIND_TENSOR, "i8, x's shape"}};
static const swarm_port quant_absmax_out[] = {{"s", SWARM_KIND_TENSOR, "f32, one per row"}};
static const swarm_port quant_int8_deq_in[] = {{"q", SWARM_KIND_TENSOR, "i8 from int8_rows"},
                                               {"s", SWARM_KIND_TENSOR, "f32 from row_absmax"}};
static const swarm_port quant_int8_deq_out[] = {{"y", SWARM_KIND_TENSOR, "f32, q's shape"}};

#define QUANT_QUANTIZE_DOC                                                                                      \
    "Quantizes a checkpoint for llama.cpp as ggml does: a 2-D f32/f16/bf16 tensor whose last dimension is a "  \
    "multiple of 32 becomes type (Q8_0 or Q4_0, bit-exact with ggml's reference quantize_row_*_ref); any "    \
    "other f32/f16/bf16 tensor, and every f64 tensor (rounded to nearest), becomes f32; other tensors pass "    \
    "through unchanged."
#define QUANT_DEQUANTIZE_DOC "Q8_0 and Q4_0 tensors to f32 (q x d, as ggml); other tensors pass through unchanged."
#define QUANT_INT8_ROWS_DOC                                                                                     \
    "Per-row int8 (bitsandbytes' vector-wise) of an f32/f16/bf16 tensor, rows along the last dimension: "     \
    "q = round_half_even(x x 127 / s) with s the row's largest |x| (NaNs skipped), 0 when s is 0."
#define QUANT_ROW_ABSMAX_DOC "The largest |x| of each row (last dimension) of an f32/f16/bf16 tensor, NaNs skipped: the s of int8_rows."
#define QUANT_INT8_DEQ_DOC "Per-row int8 back to f32: q x s / 127."

/* Builds the swarm_op of one of these ops around a variants array (a macro, so each side's static
 * descriptor is a constant expression). */
#define QUANT_OP(NAME, VERSION, DOC, PARAMS, NPARAMS, IN, NIN, OUT, VARIANTS)                                  \
    {sizeof(swarm_op), NAME, VERSION, SWARM_OP_DETERMINISTIC, DOC, PARAMS, NPARAMS, IN, NIN, OUT, 1, VARIANTS,      \
     sizeof VARIANTS / sizeof *VARIANTS}

#define QUANT_OPS(QV, DQV, I8V, AMV, I8DV)                                                                      \
    QUANT_OP("quantize", 2, QUANT_QUANTIZE_DOC, quant_quantize_params, 1, quant_x_in, 1, quant_quantize_out, QV),  \
    QUANT_OP("dequantize", 1, QUANT_DEQUANTIZE_DOC, NULL, 0, quant_x_in, 1, quant_dequantize_out, DQV),            \
    QUANT_OP("int8_rows", 1, QUANT_INT8_ROWS_DOC, NULL, 0, quant_x_in, 1, quant_int8_out, I8V),                    \
    QUANT_OP("row_absmax", 1, QUANT_ROW_ABSMAX_DOC, NULL, 0, quant_x_in, 1, quant_absmax_out, AMV),                \
    QUANT_OP("int8_dequantize", 1, QUANT_INT8_DEQ_DOC, NULL, 0, quant_int8_deq_in, 2, quant_int8_deq_out, I8DV)

/* 32, 16 or 17 (bf16) for the floating dtypes the ops read, else 0. */
static inline int quant_float_kind(swarm_dtype dt)
{
    if (dt.lanes != 1)
        return 0;
    if (dt.code == SWARM_DTYPE_FLOAT && (dt.bits == 32 || dt.bits == 16))
        return dt.bits;
    if (dt.code == SWARM_DTYPE_BFLOAT && dt.bits == 16)
        return 17; /* bf16 */
    return 0;
}

/* The dtype quantize gives x: the rule of QUANT_QUANTIZE_DOC, the same on every device. */
static inline swarm_dtype quant_quantize_dtype(swarm_dtype x, int32_t ndim, const int64_t *shape, int64_t type)
{
    swarm_dtype f32 = {SWARM_DTYPE_FLOAT, 32, 1};
    swarm_dtype q = {(uint8_t)(type == QUANT_Q4_0 ? SWARM_DTYPE_Q4_0 : SWARM_DTYPE_Q8_0), 0, 1};
    if (x.code == SWARM_DTYPE_FLOAT && x.bits == 64 && x.lanes == 1)
        return f32; /* op_version 2: f64 was passed through */
    if (!quant_float_kind(x))
        return x;
    if (ndim == 2 && shape[1] > 0 && shape[1] % 32 == 0)
        return q;
    return f32;
}

/* ---- Infer and the checks every variant's run shares (device-independent) ------------------------- */

static inline swarm_dtype quant_dt(uint8_t code, uint8_t bits)
{
    swarm_dtype dt;
    dt.code = code;
    dt.bits = bits;
    dt.lanes = 1;
    return dt;
}

static inline int quant_is_block(swarm_dtype dt)
{
    return dt.code == SWARM_DTYPE_Q8_0 || dt.code == SWARM_DTYPE_Q4_0;
}

/* A compact tensor's elements (overflow checked, with room for 64 bits each), or an error through
 * set_error. */
static inline int quant_check(const swarm_host *host, swarm_call *call, const swarm_tensor *t, uint64_t *elems)
{
    uint64_t n = 1;
    if (t->strides)
        return host->set_error(call, SWARM_E_UNSUPPORTED, "x must be compact row-major (no strides)");
    if (t->ndim < 0 || t->ndim > SWARM_MAX_NDIM)
        return host->set_error(call, SWARM_E_BAD_INPUT, "x has a bad number of dimensions");
    for (int32_t d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0)
            return host->set_error(call, SWARM_E_BAD_INPUT, "x has a negative dimension");
        if (t->shape[d] && n > UINT64_MAX / 64 / (uint64_t)t->shape[d])
            return host->set_error(call, SWARM_E_BAD_INPUT, "x's size overflows");
        n *= (uint64_t)t->shape[d];
    }
    *elems = n;
    return SWARM_OK;
}

/* A block tensor: its last dimension must be a whole number of blocks. */
static inline int quant_check_blocks(const swarm_host *host, swarm_call *call, const swarm_tensor *x, uint64_t *elems)
{
    int rc = quant_check(host, call, x, elems);
    if (rc)
        return rc;
    if (x->ndim < 1 || x->shape[x->ndim - 1] % 32)
        return host->set_error(call, SWARM_E_BAD_INPUT, "a block tensor's last dimension must be a multiple of 32");
    return SWARM_OK;
}

/* A floating tensor (f32, f16, bf16), for the per-row ops. */
static inline int quant_check_float(const swarm_host *host, swarm_call *call, const swarm_tensor *x, uint64_t *elems)
{
    int rc = quant_check(host, call, x, elems);
    if (rc)
        return rc;
    if (!quant_float_kind(x->dtype))
        return host->set_error(call, SWARM_E_BAD_INPUT, "x must be f32, f16 or bf16");
    return SWARM_OK;
}

/* q (i8) and s (f32, one per row of q) must agree: s's shape is q's without its last dimension. */
static inline int quant_check_int8_pair(const swarm_host *host, swarm_call *call, const swarm_tensor *q,
                                        const swarm_tensor *s, uint64_t *elems)
{
    uint64_t ns;
    int rc = quant_check(host, call, q, elems);
    if (!rc)
        rc = quant_check(host, call, s, &ns);
    if (rc)
        return rc;
    if (q->dtype.code != SWARM_DTYPE_INT || q->dtype.bits != 8 || q->dtype.lanes != 1)
        return host->set_error(call, SWARM_E_BAD_INPUT, "q must be i8");
    if (s->dtype.code != SWARM_DTYPE_FLOAT || s->dtype.bits != 32 || s->dtype.lanes != 1)
        return host->set_error(call, SWARM_E_BAD_INPUT, "s must be f32");
    int32_t want = q->ndim ? q->ndim - 1 : 0;
    int same = s->ndim == want;
    for (int32_t d = 0; same && d < want; d++)
        same = s->shape[d] == q->shape[d];
    if (!same)
        return host->set_error(call, SWARM_E_BAD_INPUT, "s must hold one scale per row of q");
    return SWARM_OK;
}

static inline void quant_copy_shape(swarm_tensor *y, const swarm_tensor *x)
{
    y->ndim = x->ndim;
    for (int32_t d = 0; d < x->ndim; d++)
        y->shape[d] = x->shape[d];
}

/* The infers: the same function serves every variant of an op. */
static inline int quant_quantize_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                                       const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    swarm_tensor *y = &outputs[0].u.tensor;
    uint64_t elems;
    int rc = quant_check(host, call, x, &elems);
    if (rc)
        return rc;
    quant_copy_shape(y, x);
    y->dtype = quant_quantize_dtype(x->dtype, x->ndim, x->shape, params[0].i);
    return SWARM_OK;
}

static inline int quant_dequantize_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                                         const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    swarm_tensor *y = &outputs[0].u.tensor;
    uint64_t elems;
    int rc = quant_is_block(x->dtype) ? quant_check_blocks(host, call, x, &elems) : quant_check(host, call, x, &elems);
    (void)params;
    if (rc)
        return rc;
    quant_copy_shape(y, x);
    y->dtype = quant_is_block(x->dtype) ? quant_dt(SWARM_DTYPE_FLOAT, 32) : x->dtype;
    return SWARM_OK;
}

static inline int quant_int8_rows_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                                        const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    swarm_tensor *y = &outputs[0].u.tensor;
    uint64_t elems;
    int rc = quant_check_float(host, call, x, &elems);
    (void)params;
    if (rc)
        return rc;
    quant_copy_shape(y, x);
    y->dtype = quant_dt(SWARM_DTYPE_INT, 8);
    return SWARM_OK;
}

static inline int quant_row_absmax_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                                         const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    swarm_tensor *y = &outputs[0].u.tensor;
    uint64_t elems;
    int rc = quant_check_float(host, call, x, &elems);
    (void)params;
    if (rc)
        return rc;
    y->ndim = x->ndim ? x->ndim - 1 : 0;
    for (int32_t d = 0; d < y->ndim; d++)
        y->shape[d] = x->shape[d];
    y->dtype = quant_dt(SWARM_DTYPE_FLOAT, 32);
    return SWARM_OK;
}

static inline int quant_int8_dequantize_infer(const swarm_host *host, swarm_call *call,
                                              const swarm_param_value *params, const swarm_value *inputs,
                                              swarm_value *outputs)
{
    const swarm_tensor *q = &inputs[0].u.tensor;
    swarm_tensor *y = &outputs[0].u.tensor;
    uint64_t elems;
    int rc = quant_check_int8_pair(host, call, q, &inputs[1].u.tensor, &elems);
    (void)params;
    if (rc)
        return rc;
    quant_copy_shape(y, q);
    y->dtype = quant_dt(SWARM_DTYPE_FLOAT, 32);
    return SWARM_OK;
}

#endif
