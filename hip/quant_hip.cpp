/* quant_hip.cpp — the GPU companion of the quant plugin: build/plugins/quant.hip.so adds a GPU variant to
 * each of org.swarm.quant's ops (quantize, dequantize, int8_rows, row_absmax, int8_dequantize), with the
 * ops, versions, numerics tag and dtype rules of plugins/quant/quant_ops.h, which the CPU plugin
 * (plugins/quant/quant.c) shares. Built with hipcc for AMD GPUs or nvcc for NVIDIA ones (compat.h); the
 * kernels are quant_kernels.h's. Each infer and run accepts and refuses what the CPU variant does. */
#include "companion.h"
#include "quant_kernels.h"
#include "quant/quant_ops.h"

/* ---- Checks, as the CPU variant makes them ----------------------------------------------------------- */

/* x's elements (overflow checked as on the CPU), or SWARM_E_BAD_INPUT; x must be staged for this variant. */
static int qg_check(const swarm_host *host, swarm_call *call, const swarm_tensor *x, const char *name,
                    uint64_t *elems)
{
    uint64_t n = 1;
    int rc = sw_gpu_check(host, call, x, name, 1);
    if (rc)
        return rc;
    if (x->ndim < 0 || x->ndim > SWARM_MAX_NDIM)
        return host->set_error(call, SWARM_E_BAD_INPUT, "x has a bad number of dimensions");
    for (int32_t d = 0; d < x->ndim; d++) {
        if (x->shape[d] < 0)
            return host->set_error(call, SWARM_E_BAD_INPUT, "x has a negative dimension");
        if (x->shape[d] && n > UINT64_MAX / 64 / (uint64_t)x->shape[d])
            return host->set_error(call, SWARM_E_BAD_INPUT, "x's size overflows");
        n *= (uint64_t)x->shape[d];
    }
    *elems = n;
    return SWARM_OK;
}

static int qg_is_block(swarm_dtype dt)
{
    return dt.code == SWARM_DTYPE_Q8_0 || dt.code == SWARM_DTYPE_Q4_0;
}

/* Bytes of a plain tensor passed through unchanged, or SWARM_E_BAD_INPUT when its elements do not fill
 * whole bytes. */
static int qg_plain_bytes(const swarm_host *host, swarm_call *call, swarm_dtype dt, uint64_t elems, uint64_t *bytes)
{
    uint64_t bits = (uint64_t)dt.bits * dt.lanes;
    if (!bits || (elems * bits) % 8)
        return host->set_error(call, SWARM_E_BAD_INPUT, "x's elements do not fill whole bytes");
    *bytes = elems * bits / 8;
    return SWARM_OK;
}

/* A device copy of a tensor passed through, then the wait for the device. */
static int qg_copy(const swarm_host *host, swarm_call *call, const swarm_tensor *x, const swarm_tensor *y,
                   uint64_t elems)
{
    uint64_t bytes = 0;
    int rc = qg_plain_bytes(host, call, x->dtype, elems, &bytes);
    if (rc)
        return rc;
    return sw_gpu_finish(host, call, bytes ? sw_gpuMemcpy(sw_gpu_out(y), sw_gpu_in(x), bytes,
                                                          sw_gpuMemcpyDeviceToDevice)
                                           : sw_gpuSuccess);
}

static void qg_copy_shape(swarm_tensor *y, const swarm_tensor *x)
{
    y->ndim = x->ndim;
    for (int32_t d = 0; d < x->ndim; d++)
        y->shape[d] = x->shape[d];
}

static swarm_dtype qg_dtype(uint8_t code, uint8_t bits)
{
    swarm_dtype dt;
    dt.code = code;
    dt.bits = bits;
    dt.lanes = 1;
    return dt;
}

/* Rows along the last dimension (a scalar is one row of one element), counted from the shape so that
 * rows of 0 elements still have their scale. */
static void qg_rows(const swarm_tensor *t, uint64_t *rows, uint64_t *cols)
{
    uint64_t r = 1;
    for (int32_t d = 0; d + 1 < t->ndim; d++)
        r *= (uint64_t)t->shape[d];
    *cols = t->ndim ? (uint64_t)t->shape[t->ndim - 1] : 1;
    *rows = r;
}

/* ---- quantize ---------------------------------------------------------------------------------------- */

static int quantize_gpu_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                              const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    swarm_tensor *y = &outputs[0].u.tensor;
    uint64_t elems;
    int rc = qg_check(host, call, x, "x", &elems);
    if (rc)
        return rc;
    qg_copy_shape(y, x);
    y->dtype = quant_quantize_dtype(x->dtype, x->ndim, x->shape, params[0].i);
    return SWARM_OK;
}

/* Blocks of x (f16/bf16 widened exactly) into Q8_0/Q4_0, other floats to f32, the rest copied. */
static int quantize_gpu_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                            const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor, *y = &outputs[0].u.tensor;
    int kind = quant_float_kind(x->dtype);
    uint64_t elems;
    int rc = qg_check(host, call, x, "x", &elems);
    (void)params;
    if (rc)
        return rc;
    if (!kind)
        return qg_copy(host, call, x, y, elems);
    if ((rc = sw_gpu_check(host, call, x, "x", kind == SW_QK_F32 ? 4 : 2)))
        return rc;
    if (qg_is_block(y->dtype))
        return sw_gpu_finish(host, call, sw_gpu_quantize(sw_gpu_out(y), sw_gpu_in(x), elems / SW_QK, kind,
                                                         y->dtype.code == SWARM_DTYPE_Q4_0));
    if ((rc = sw_gpu_check(host, call, y, "y", 4)))
        return rc;
    int from = kind == SW_QK_F32 ? CV_F32 : kind == SW_QK_F16 ? CV_F16 : CV_BF16;
    return sw_gpu_finish(host, call, sw_gpu_cast(sw_gpu_out(y), sw_gpu_in(x), elems, from, CV_F32));
}

/* ---- dequantize -------------------------------------------------------------------------------------- */

/* x's elements; a block tensor's last dimension must be a whole number of blocks. */
static int qg_check_any(const swarm_host *host, swarm_call *call, const swarm_tensor *x, uint64_t *elems)
{
    int rc = qg_check(host, call, x, "x", elems);
    if (rc || !qg_is_block(x->dtype))
        return rc;
    if (x->ndim < 1 || x->shape[x->ndim - 1] % SW_QK)
        return host->set_error(call, SWARM_E_BAD_INPUT, "a block tensor's last dimension must be a multiple of 32");
    return SWARM_OK;
}

static int dequantize_gpu_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                                const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    swarm_tensor *y = &outputs[0].u.tensor;
    uint64_t elems;
    int rc = qg_check_any(host, call, x, &elems);
    (void)params;
    if (rc)
        return rc;
    qg_copy_shape(y, x);
    y->dtype = qg_is_block(x->dtype) ? qg_dtype(SWARM_DTYPE_FLOAT, 32) : x->dtype;
    return SWARM_OK;
}

static int dequantize_gpu_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                              const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor, *y = &outputs[0].u.tensor;
    uint64_t elems;
    int rc = qg_check_any(host, call, x, &elems);
    (void)params;
    if (rc)
        return rc;
    if (!qg_is_block(x->dtype))
        return qg_copy(host, call, x, y, elems);
    if ((rc = sw_gpu_check(host, call, y, "y", 4)))
        return rc;
    return sw_gpu_finish(host, call, sw_gpu_dequantize(sw_gpu_out(y), sw_gpu_in(x), elems / SW_QK,
                                                       x->dtype.code == SWARM_DTYPE_Q4_0));
}

/* ---- Per-row int8 ------------------------------------------------------------------------------------ */

/* A floating tensor (f32, f16, bf16), aligned to its element size. */
static int qg_check_float(const swarm_host *host, swarm_call *call, const swarm_tensor *x, uint64_t *elems)
{
    int rc = qg_check(host, call, x, "x", elems), kind = quant_float_kind(x->dtype);
    if (rc)
        return rc;
    if (!kind)
        return host->set_error(call, SWARM_E_BAD_INPUT, "x must be f32, f16 or bf16");
    return sw_gpu_check(host, call, x, "x", kind == SW_QK_F32 ? 4 : 2);
}

static int int8_rows_gpu_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                               const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    swarm_tensor *y = &outputs[0].u.tensor;
    uint64_t elems;
    int rc = qg_check_float(host, call, x, &elems);
    (void)params;
    if (rc)
        return rc;
    qg_copy_shape(y, x);
    y->dtype = qg_dtype(SWARM_DTYPE_INT, 8);
    return SWARM_OK;
}

static int int8_rows_gpu_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                             const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    uint64_t elems, rows, cols;
    int rc = qg_check_float(host, call, x, &elems);
    (void)params;
    if (!rc)
        rc = sw_gpu_check(host, call, &outputs[0].u.tensor, "q", 1);
    if (rc)
        return rc;
    qg_rows(x, &rows, &cols);
    return sw_gpu_finish(host, call, sw_gpu_int8_rows((int8_t *)sw_gpu_out(&outputs[0].u.tensor), NULL,
                                                      sw_gpu_in(x), rows, cols, quant_float_kind(x->dtype)));
}

static int row_absmax_gpu_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                                const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    swarm_tensor *y = &outputs[0].u.tensor;
    uint64_t elems;
    int rc = qg_check_float(host, call, x, &elems);
    (void)params;
    if (rc)
        return rc;
    y->ndim = x->ndim ? x->ndim - 1 : 0;
    for (int32_t d = 0; d < y->ndim; d++)
        y->shape[d] = x->shape[d];
    y->dtype = qg_dtype(SWARM_DTYPE_FLOAT, 32);
    return SWARM_OK;
}

static int row_absmax_gpu_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                              const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    uint64_t elems, rows, cols;
    int rc = qg_check_float(host, call, x, &elems);
    (void)params;
    if (!rc)
        rc = sw_gpu_check(host, call, &outputs[0].u.tensor, "s", 4);
    if (rc)
        return rc;
    qg_rows(x, &rows, &cols);
    return sw_gpu_finish(host, call, sw_gpu_int8_rows(NULL, (float *)sw_gpu_out(&outputs[0].u.tensor),
                                                      sw_gpu_in(x), rows, cols, quant_float_kind(x->dtype)));
}

/* q (i8) and s (f32, one per row of q) must agree: s's shape is q's without its last dimension. */
static int qg_check_pair(const swarm_host *host, swarm_call *call, const swarm_tensor *q, const swarm_tensor *s,
                         uint64_t *elems)
{
    uint64_t ns;
    int rc = qg_check(host, call, q, "q", elems);
    if (!rc)
        rc = qg_check(host, call, s, "s", &ns);
    if (rc)
        return rc;
    if (q->dtype.code != SWARM_DTYPE_INT || q->dtype.bits != 8 || q->dtype.lanes != 1)
        return host->set_error(call, SWARM_E_BAD_INPUT, "q must be i8");
    if (s->dtype.code != SWARM_DTYPE_FLOAT || s->dtype.bits != 32 || s->dtype.lanes != 1)
        return host->set_error(call, SWARM_E_BAD_INPUT, "s must be f32");
    int32_t want = q->ndim ? q->ndim - 1 : 0;
    bool same = s->ndim == want;
    for (int32_t d = 0; same && d < want; d++)
        same = s->shape[d] == q->shape[d];
    if (!same)
        return host->set_error(call, SWARM_E_BAD_INPUT, "s must hold one scale per row of q");
    return sw_gpu_check(host, call, s, "s", 4);
}

static int int8_dequantize_gpu_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                                     const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *q = &inputs[0].u.tensor;
    swarm_tensor *y = &outputs[0].u.tensor;
    uint64_t elems;
    int rc = qg_check_pair(host, call, q, &inputs[1].u.tensor, &elems);
    (void)params;
    if (rc)
        return rc;
    qg_copy_shape(y, q);
    y->dtype = qg_dtype(SWARM_DTYPE_FLOAT, 32);
    return SWARM_OK;
}

static int int8_dequantize_gpu_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                                   const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *q = &inputs[0].u.tensor, *s = &inputs[1].u.tensor, *y = &outputs[0].u.tensor;
    uint64_t elems, rows, cols;
    int rc = qg_check_pair(host, call, q, s, &elems);
    (void)params;
    if (!rc)
        rc = sw_gpu_check(host, call, y, "y", 4);
    if (rc)
        return rc;
    qg_rows(q, &rows, &cols);
    return sw_gpu_finish(host, call, sw_gpu_int8_dequantize((float *)sw_gpu_out(y), (const int8_t *)sw_gpu_in(q),
                                                            (const float *)sw_gpu_in(s), rows, cols));
}

/* ---- The companion ----------------------------------------------------------------------------------- */

#define QG_VARIANT(NAME)                                                                                       \
    static const swarm_variant NAME##_gpu = {sizeof(swarm_variant), SW_GPU_DEVICE_TYPE, QUANT_NUMERICS,        \
                                             sw_gpu_probe, NAME##_gpu_infer, NAME##_gpu_run};                  \
    static const swarm_variant *const NAME##_variants[] = {&NAME##_gpu};

QG_VARIANT(quantize)
QG_VARIANT(dequantize)
QG_VARIANT(int8_rows)
QG_VARIANT(row_absmax)
QG_VARIANT(int8_dequantize)

static const swarm_op quant_ops[] = {QUANT_OPS(quantize_variants, dequantize_variants, int8_rows_variants,
                                               row_absmax_variants, int8_dequantize_variants)};
static const swarm_op *const ops[] = {&quant_ops[0], &quant_ops[1], &quant_ops[2], &quant_ops[3], &quant_ops[4]};

static const swarm_plugin plugin = {SWARM_PLUGIN_ABI_VERSION, sizeof(swarm_plugin), QUANT_PLUGIN_ID, QUANT_VERSION,
                                    SW_GPU_API " " SW_GPU_TARGETS, ops, sizeof ops / sizeof *ops, NULL, 0,
                                    SWARM_PLUGIN_COMPANION};

/* The one exported symbol: it only hands swarm the descriptor above. */
extern "C" SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
