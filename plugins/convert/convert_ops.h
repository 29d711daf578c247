/* convert_ops.h — what the `cast` op is (name, version, params, ports, numerics tag, and the rules that
 * decide its output's dtype and check its input's size), shared by the CPU plugin (convert.c) and its GPU
 * companion (hip/convert_hip.cpp), so the two describe the same op and the host can check that they do.
 * C99 and C++: no designated initializers, no compound literals. */
#ifndef SW_CONVERT_OPS_H
#define SW_CONVERT_OPS_H

#include "swarm_plugin.h"

#define CONVERT_PLUGIN_ID "org.swarm.convert"
#define CONVERT_VERSION "0.1.0"

/* Variants with this tag round to nearest even with the NaN rules of plugins/common/numerics.h. */
#define CONVERT_NUMERICS "rne-1"

/* Which conversion a dtype takes part in; CV_F32 + the dtype param's index is the target. */
enum { CV_OTHER = 0, CV_F32, CV_F16, CV_BF16 };

static const char *const convert_cast_choices[] = {"f32", "f16", "bf16", NULL};
static const swarm_param convert_cast_params[] = {
    {"dtype", SWARM_PARAM_ENUM, "bf16", "what floating-point tensors become: f32, f16 or bf16", convert_cast_choices},
};
static const swarm_port convert_cast_inputs[] = {{"x", SWARM_KIND_TENSOR, "a tensor of any dtype and shape"}};
static const swarm_port convert_cast_outputs[] = {
    {"y", SWARM_KIND_TENSOR, "x converted to dtype when x is f32, f16 or bf16; otherwise x unchanged"}};

#define CONVERT_CAST_DOC                                                                                        \
    "Converts a floating-point tensor (f32, f16, bf16) to dtype, rounding to nearest even (overflow to "        \
    "infinity, subnormals kept, NaN stays a quiet NaN with its sign); any other tensor (integers, bool, "       \
    "f64, fp8, ...) passes through unchanged, as PyTorch's Module.to(dtype) casts only floating-point "        \
    "parameters."

/* The swarm_op of cast around a variants array (a macro, so each side's static descriptor is a constant
 * expression). op_version: bump it whenever the output for the same input and dtype may change. */
#define CONVERT_CAST_OP(VARIANTS)                                                                               \
    {sizeof(swarm_op), "cast", 1, SWARM_OP_DETERMINISTIC, CONVERT_CAST_DOC, convert_cast_params, 1,           \
     convert_cast_inputs, 1, convert_cast_outputs, 1, VARIANTS, sizeof VARIANTS / sizeof *VARIANTS}

/* The conversion kind of a dtype; CV_OTHER passes through. */
static inline int convert_kind(swarm_dtype dt)
{
    if (dt.lanes == 1 && dt.code == SWARM_DTYPE_FLOAT && dt.bits == 32)
        return CV_F32;
    if (dt.lanes == 1 && dt.code == SWARM_DTYPE_FLOAT && dt.bits == 16)
        return CV_F16;
    if (dt.lanes == 1 && dt.code == SWARM_DTYPE_BFLOAT && dt.bits == 16)
        return CV_BF16;
    return CV_OTHER;
}

/* The dtype of a conversion kind (CV_F32, CV_F16 or CV_BF16). */
static inline swarm_dtype convert_dtype(int kind)
{
    swarm_dtype dt;
    dt.code = kind == CV_BF16 ? SWARM_DTYPE_BFLOAT : SWARM_DTYPE_FLOAT;
    dt.bits = kind == CV_F32 ? 32 : 16;
    dt.lanes = 1;
    return dt;
}

/* The dtype cast gives x for the param's index (0 f32, 1 f16, 2 bf16): the same on every device. */
static inline swarm_dtype convert_cast_dtype(swarm_dtype x, int64_t param)
{
    return convert_kind(x) == CV_OTHER ? x : convert_dtype(CV_F32 + (int)param);
}

/* Elements and bytes of a compact tensor, with overflow checks; NULL, or why the tensor is refused. */
static inline const char *convert_size(const swarm_tensor *t, uint64_t *elems, uint64_t *bytes)
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

/* Infer for every variant: y has x's shape and the dtype convert_cast_dtype gives. Where x lives is each
 * run's to check. */
static inline int convert_cast_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                                     const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    swarm_tensor *y = &outputs[0].u.tensor;
    uint64_t elems, bytes;
    const char *why;
    if (x->strides)
        return host->set_error(call, SWARM_E_UNSUPPORTED, "x must be compact row-major (no strides)");
    if ((why = convert_size(x, &elems, &bytes)))
        return host->set_error(call, SWARM_E_BAD_INPUT, "%s", why);
    if (params[0].i < 0 || params[0].i > 2)
        return host->set_error(call, SWARM_E_BAD_INPUT, "dtype must be f32, f16 or bf16");
    y->ndim = x->ndim;
    y->dtype = convert_cast_dtype(x->dtype, params[0].i);
    for (int32_t d = 0; d < x->ndim; d++)
        y->shape[d] = x->shape[d];
    return SWARM_OK;
}

#endif
