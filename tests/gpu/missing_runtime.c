/* missing_runtime.c — two builds (the Makefile's): with SW_GONE_RUNTIME, a stand-in for a GPU runtime
 * library (libswarm_gone_runtime.so, left where the loader does not look); without, a companion of
 * org.swarm.convert linked against it, as a HIP companion links libamdhip64. On a machine without that
 * library the companion's dlopen fails: swarm must skip it with the loader's reason and keep the CPU
 * plugin working. */
#ifdef SW_GONE_RUNTIME
int swarm_gone_runtime_devices(void);
int swarm_gone_runtime_devices(void)
{
    return 1;
}
#else
#include "convert/convert_ops.h"

int swarm_gone_runtime_devices(void);

static int gone_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    (void)host;
    (void)call;
    (void)device_id;
    return swarm_gone_runtime_devices() > 0 ? 90 : 0;
}

static int never(const swarm_host *host, swarm_call *call, const swarm_param_value *params, const swarm_value *inputs,
                 swarm_value *outputs)
{
    (void)params;
    (void)inputs;
    (void)outputs;
    return host->set_error(call, SWARM_E_INTERNAL, "a companion that cannot load ran");
}

static const swarm_variant gpu = {sizeof(swarm_variant), SWARM_DEVICE_ROCM, CONVERT_NUMERICS, gone_probe, never,
                                  never};
static const swarm_variant *const variants[] = {&gpu};
static const swarm_op cast = CONVERT_CAST_OP(variants);
static const swarm_op *const ops[] = {&cast};

static const swarm_plugin plugin = {SWARM_PLUGIN_ABI_VERSION, sizeof(swarm_plugin), CONVERT_PLUGIN_ID,
                                    CONVERT_VERSION, NULL, ops, 1, NULL, 0, SWARM_PLUGIN_COMPANION, NULL, 0};

SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
#endif
