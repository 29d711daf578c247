/* mismatch.c — a test companion of org.swarm.convert whose `cast` claims op_version 2 (the plugin's is
 * 1): the host must skip it, naming the difference, and keep the CPU plugin as it is. */
#include "convert/convert_ops.h"

static int no_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    (void)device_id;
    host->set_error(call, SWARM_E_UNSUPPORTED, "never probed");
    return 0;
}

static int never(const swarm_host *host, swarm_call *call, const swarm_param_value *params, const swarm_value *inputs,
                 swarm_value *outputs)
{
    (void)params;
    (void)inputs;
    (void)outputs;
    return host->set_error(call, SWARM_E_INTERNAL, "a skipped companion ran");
}

static const swarm_variant gpu = {sizeof(swarm_variant), SWARM_DEVICE_ROCM, CONVERT_NUMERICS, no_probe, never, never};
static const swarm_variant *const variants[] = {&gpu};
static const swarm_op cast = {sizeof(swarm_op), "cast", 2, SWARM_OP_DETERMINISTIC, CONVERT_CAST_DOC,
                              convert_cast_params, 1, convert_cast_inputs, 1, convert_cast_outputs, 1, variants, 1};
static const swarm_op *const ops[] = {&cast};

static const swarm_plugin plugin = {SWARM_PLUGIN_ABI_VERSION, sizeof(swarm_plugin), CONVERT_PLUGIN_ID,
                                    CONVERT_VERSION, NULL, ops, 1, NULL, 0, SWARM_PLUGIN_COMPANION, NULL, 0};

SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
