/* orphan.c — a test companion of a plugin that is not installed (org.swarm.test.nosuch): the host must
 * skip it with a one-line reason. */
#include "swarm_plugin.h"

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

static const swarm_port in[] = {{"x", SWARM_KIND_TENSOR, ""}};
static const swarm_port out[] = {{"y", SWARM_KIND_TENSOR, ""}};
static const swarm_variant gpu = {sizeof(swarm_variant), SWARM_DEVICE_ROCM, "ref", no_probe, never, never};
static const swarm_variant *const variants[] = {&gpu};
static const swarm_op op = {sizeof(swarm_op), "op", 1, SWARM_OP_DETERMINISTIC, "", NULL, 0, in, 1, out, 1,
                            variants, 1};
static const swarm_op *const ops[] = {&op};

static const swarm_plugin plugin = {SWARM_PLUGIN_ABI_VERSION, sizeof(swarm_plugin), "org.swarm.test.nosuch",
                                    "0.0.1", NULL, ops, 1, NULL, 0, SWARM_PLUGIN_COMPANION, NULL, 0};

SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
