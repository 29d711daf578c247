/* quant_hip.cpp — the GPU companion of the quant plugin: build/plugins/quant.hip.so adds a GPU variant to
 * each of org.swarm.quant's ops (quantize, dequantize, int8_rows, row_absmax, int8_dequantize), with the
 * ops, versions, numerics tag and dtype rules of plugins/quant/quant_ops.h, which the CPU plugin
 * (plugins/quant/quant.c) shares. Built with hipcc for AMD GPUs or nvcc for NVIDIA ones (compat.h); the
 * kernels are quant_kernels.h's. The infers and the checks of the inputs are quant_ops.h's, the CPU
 * variant's own, so the two accept and refuse the same; this variant adds that the inputs are staged on
 * its device. */
#include "companion.h"
#include "quant_kernels.h"
#include "quant/quant_ops.h"

/* ---- Checks: quant_ops.h's, shared with the CPU variant, and the device's ------------------------------ */

/* Input i staged for this variant (on its device, aligned to align bytes). */
static int qg_staged(const swarm_host *host, swarm_call *call, const swarm_value *inputs, size_t n, uintptr_t align)
{
    int rc = SWARM_OK;
    for (size_t i = 0; i < n && !rc; i++)
        rc = sw_gpu_check(host, call, &inputs[i].u.tensor, i ? "s" : "x", align);
    return rc;
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

/* Rows along the last dimension (a scalar is one row of one element), counted from the shape so that
 * rows of 0 elements still get their scale. */
static void qg_rows(const swarm_tensor *t, uint64_t *rows, uint64_t *cols)
{
    uint64_t r = 1;
    for (int32_t d = 0; d + 1 < t->ndim; d++)
        r *= (uint64_t)t->shape[d];
    *cols = t->ndim ? (uint64_t)t->shape[t->ndim - 1] : 1;
    *rows = r;
}

/* The element size of a float kind (32, 16, 17). */
static uintptr_t qg_size(int kind)
{
    return kind == SW_QK_F32 ? 4 : 2;
}

/* ---- The infers: quant_ops.h's, on inputs staged for this variant ------------------------------------- */

#define QG_INFER(NAME, NIN)                                                                                        static int NAME##_gpu_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,                                    const swarm_value *inputs, swarm_value *outputs)                                   {                                                                                                                  int rc = qg_staged(host, call, inputs, NIN, 1);                                                                return rc ? rc : quant_##NAME##_infer(host, call, params, inputs, outputs);                                }

QG_INFER(quantize, 1)
QG_INFER(dequantize, 1)
QG_INFER(int8_rows, 1)
QG_INFER(row_absmax, 1)
QG_INFER(int8_dequantize, 2)

/* ---- The runs ------------------------------------------------------------------------------------------ */

/* Blocks of x (f16/bf16 widened exactly) into Q8_0/Q4_0, other floats to f32, the rest copied. */
static int quantize_gpu_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                            const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor, *y = &outputs[0].u.tensor;
    int kind = quant_float_kind(x->dtype);
    uint64_t elems = 0;
    if (!kind && y->dtype.bits != x->dtype.bits) /* f64 to f32 */
        return host->set_error(call, SWARM_E_UNSUPPORTED, "f64 to f32 is left to the CPU variant");
    int rc = qg_staged(host, call, inputs, 1, kind ? qg_size(kind) : 1);
    (void)params;
    if (rc || (rc = quant_check(host, call, x, &elems)))
        return rc;
    if (!kind)
        return qg_copy(host, call, x, y, elems);
    if (quant_is_block(y->dtype))
        return sw_gpu_finish(host, call, sw_gpu_quantize(sw_gpu_out(y), sw_gpu_in(x), elems / SW_QK, kind,
                                                         y->dtype.code == SWARM_DTYPE_Q4_0));
    if ((rc = sw_gpu_check(host, call, y, "y", 4)))
        return rc;
    int from = kind == SW_QK_F32 ? CV_F32 : kind == SW_QK_F16 ? CV_F16 : CV_BF16;
    return sw_gpu_finish(host, call, sw_gpu_cast(sw_gpu_out(y), sw_gpu_in(x), elems, from, CV_F32));
}

static int dequantize_gpu_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                              const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor, *y = &outputs[0].u.tensor;
    uint64_t elems = 0;
    int block = quant_is_block(x->dtype), rc = qg_staged(host, call, inputs, 1, 1);
    (void)params;
    if (!rc)
        rc = block ? quant_check_blocks(host, call, x, &elems) : quant_check(host, call, x, &elems);
    if (rc)
        return rc;
    if (!block)
        return qg_copy(host, call, x, y, elems);
    if ((rc = sw_gpu_check(host, call, y, "y", 4)))
        return rc;
    return sw_gpu_finish(host, call, sw_gpu_dequantize(sw_gpu_out(y), sw_gpu_in(x), elems / SW_QK,
                                                       x->dtype.code == SWARM_DTYPE_Q4_0));
}

/* int8_rows (q) or row_absmax (s): x checked and staged, then the rows' kernel. */
static int qg_rows_run(const swarm_host *host, swarm_call *call, const swarm_value *inputs, int8_t *q, float *s,
                       const swarm_tensor *out)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    uint64_t elems = 0, rows, cols;
    int rc = quant_check_float(host, call, x, &elems);
    if (!rc)
        rc = qg_staged(host, call, inputs, 1, qg_size(quant_float_kind(x->dtype)));
    if (!rc)
        rc = sw_gpu_check(host, call, out, q ? "q" : "s", q ? 1 : 4);
    if (rc)
        return rc;
    qg_rows(x, &rows, &cols);
    return sw_gpu_finish(host, call, sw_gpu_int8_rows(q, s, sw_gpu_in(x), rows, cols, quant_float_kind(x->dtype)));
}

static int int8_rows_gpu_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                             const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *q = &outputs[0].u.tensor;
    (void)params;
    return qg_rows_run(host, call, inputs, (int8_t *)sw_gpu_out(q), NULL, q);
}

static int row_absmax_gpu_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                              const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *s = &outputs[0].u.tensor;
    (void)params;
    return qg_rows_run(host, call, inputs, NULL, (float *)sw_gpu_out(s), s);
}

static int int8_dequantize_gpu_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                                   const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *q = &inputs[0].u.tensor, *s = &inputs[1].u.tensor, *y = &outputs[0].u.tensor;
    uint64_t elems = 0, rows, cols;
    int rc = quant_check_int8_pair(host, call, q, s, &elems);
    (void)params;
    if (!rc)
        rc = qg_staged(host, call, inputs, 2, 4);
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
                                    SWARM_PLUGIN_COMPANION, NULL, 0};

/* The one exported symbol: it only hands swarm the descriptor above. */
extern "C" SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
