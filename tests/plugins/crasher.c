/* crasher.c — a test-only plugin whose op crashes: crasher/crash takes a tensor and, when it runs,
 * writes into a page it mapped without access (SIGSEGV inside plugin code, on a worker thread; not a
 * null pointer, which the sanitizer build would catch before the fault). */
#define _DEFAULT_SOURCE
#include "swarm_plugin.h"

#include <sys/mman.h>

static int crash_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    (void)host;
    (void)call;
    (void)device_id;
    return 100;
}

static int crash_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                       const swarm_value *inputs, swarm_value *outputs)
{
    (void)host;
    (void)call;
    (void)params;
    outputs[0].u.tensor = inputs[0].u.tensor;
    return SWARM_OK;
}

static int crash_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                     const swarm_value *inputs, swarm_value *outputs)
{
    (void)params;
    (void)inputs;
    (void)outputs;
    void *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page != MAP_FAILED)
        *(volatile int *)page = 1;
    return host->set_error(call, SWARM_E_INTERNAL, "crasher: could not map a page to crash on");
}

static const swarm_variant crash_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, "test", crash_probe, crash_infer,
                                        crash_run};
static const swarm_variant *const crash_variants[] = {&crash_cpu};
static const swarm_port crash_inputs[] = {{"x", SWARM_KIND_TENSOR, "any tensor"}};
static const swarm_port crash_outputs[] = {{"y", SWARM_KIND_TENSOR, "never made"}};
static const swarm_op crash_op = {sizeof(swarm_op), "crash", 1, SWARM_OP_DETERMINISTIC, "crashes", NULL, 0,
                                  crash_inputs, 1, crash_outputs, 1, crash_variants, 1};
static const swarm_op *const crash_ops[] = {&crash_op};
static const swarm_plugin crash_plugin = {SWARM_PLUGIN_ABI_VERSION, sizeof(swarm_plugin), "org.swarm.crasher", "0.0.1",
                                          NULL, crash_ops, 1, NULL, 0, 0, NULL, 0};

SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &crash_plugin;
}
