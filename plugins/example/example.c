/* example.c — the smallest complete swarm plugin: one op, `scale`, that multiplies a float32 tensor by
 * the param `factor`, with one CPU variant. Copy this folder to start a plugin: `make` builds
 * the .c files of plugins/NAME/ into build/plugins/NAME.so; by hand it is
 *     cc -shared -fPIC -fvisibility=hidden -I<swarm>/plugins example.c -o example.so */
#include "swarm_plugin.h"

/* The param schema. A param's index here is its index in the params that infer and run receive. */
static const swarm_param scale_params[] = {
    {"factor", SWARM_PARAM_FLOAT, "1.0", "what every element is multiplied by", NULL},
};

static const swarm_port scale_inputs[] = {{"x", SWARM_KIND_TENSOR, "a float32 tensor of any shape"}};
static const swarm_port scale_outputs[] = {{"y", SWARM_KIND_TENSOR, "x * factor, same shape"}};

/* Runs once when swarm loads the plugin. The CPU can always run this; a GPU variant would check here
 * for a device and the architectures it was compiled for, and return 0 when it cannot run. */
static int scale_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    (void)host;
    (void)call;
    (void)device_id;
    return 100;
}

/* Describes the output before any buffer exists: the input's shape and dtype. Refusing bad input here
 * gives the user a clear error naming the op. */
static int scale_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                       const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    swarm_tensor *y = &outputs[0].u.tensor;
    (void)params;
    if (x->dtype.code != SWARM_DTYPE_FLOAT || x->dtype.bits != 32 || x->dtype.lanes != 1)
        return host->set_error(call, SWARM_E_BAD_INPUT, "x must be float32");
    if (x->strides)
        return host->set_error(call, SWARM_E_UNSUPPORTED, "x must be compact row-major");
    y->ndim = x->ndim;
    y->dtype = x->dtype;
    for (int32_t d = 0; d < x->ndim; d++)
        y->shape[d] = x->shape[d];
    return SWARM_OK;
}

/* Fills the output the host allocated as infer described. Inputs are read-only. */
static int scale_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                     const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    const float *in = (const float *)((const char *)x->data + x->byte_offset);
    float *out = (float *)outputs[0].u.tensor.data;
    float factor = (float)params[0].f;
    int64_t n = 1;
    (void)host;
    (void)call;
    for (int32_t d = 0; d < x->ndim; d++)
        n *= x->shape[d];
    for (int64_t i = 0; i < n; i++)
        out[i] = in[i] * factor;
    return SWARM_OK;
}

static const swarm_variant scale_cpu = {
    .struct_size = sizeof(swarm_variant),
    .device_type = SWARM_DEVICE_CPU,
    .numerics = "ref-f32", /* a GPU variant giving these exact bytes would carry the same tag */
    .probe = scale_probe,
    .infer = scale_infer,
    .run = scale_run,
};
static const swarm_variant *const scale_variants[] = {&scale_cpu};

static const swarm_op scale = {
    .struct_size = sizeof(swarm_op),
    .name = "scale",
    .op_version = 1, /* bump it whenever the output for the same input and factor may change */
    .flags = SWARM_OP_DETERMINISTIC,
    .doc = "Multiplies every element of a float32 tensor by factor.",
    .params = scale_params,
    .n_params = sizeof scale_params / sizeof *scale_params,
    .inputs = scale_inputs,
    .n_inputs = 1,
    .outputs = scale_outputs,
    .n_outputs = 1,
    .variants = scale_variants,
    .n_variants = 1,
};
static const swarm_op *const ops[] = {&scale};

static const swarm_plugin plugin = {
    .abi_version = SWARM_PLUGIN_ABI_VERSION, /* the header this was built with: swarm checks it first */
    .struct_size = sizeof(swarm_plugin),
    .id = "org.swarm.example", /* reverse-DNS and stable forever: results are cached under it */
    .version = "0.1.0",
    .ops = ops,
    .n_ops = 1,
};

/* The one exported symbol: it only hands swarm the descriptor above. */
SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
