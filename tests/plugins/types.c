/* types.c — a valid plugin using what example.c does not: every param type, a required param, record
 * batches, a serial op, a HIP variant that cannot run here, a probe that uses scratch memory and logs,
 * and a probe answering out of range. */
#include "swarm_plugin.h"

#include <string.h>

/* Scratch memory and a log line, to show the host functions work during discovery. */
static int cpu_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    char *buf = (char *)host->alloc_scratch(call, 64);
    (void)device_id;
    if (!buf)
        return 0;
    strcpy(buf, "cpu probe ran");
    host->log(call, SWARM_LOG_INFO, buf);
    return 50;
}

static int hip_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    host->set_error(call, SWARM_E_UNSUPPORTED, "no ROCm device %d", (int)device_id);
    return 0;
}

static int odd_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    (void)host;
    (void)call;
    (void)device_id;
    return 150;
}

static int nothing(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                   const swarm_value *inputs, swarm_value *outputs)
{
    (void)params;
    (void)inputs;
    (void)outputs;
    return host->set_error(call, SWARM_E_INTERNAL, "a test plugin cannot run");
}

static const char *const modes[] = {"fast", "exact", NULL};
static const swarm_param params[] = {
    {"flag", SWARM_PARAM_BOOL, "false", "a switch", NULL},
    {"count", SWARM_PARAM_INT, "-3", "a count", NULL},
    {"rate", SWARM_PARAM_FLOAT, "5e-1", "a rate", NULL},
    {"label", SWARM_PARAM_STRING, NULL, "a required label\nover two lines", NULL},
    {"mode", SWARM_PARAM_ENUM, "exact", "how", modes},
};
static const swarm_port inputs[] = {{"text", SWARM_KIND_RECORDS, "lines"}, {"x", SWARM_KIND_TENSOR, ""}};
static const swarm_port outputs[] = {{"out", SWARM_KIND_RECORDS, "labelled lines"}};

static const swarm_variant cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, "ref", cpu_probe, nothing, nothing};
static const swarm_variant hip = {sizeof(swarm_variant), SWARM_DEVICE_ROCM, "ref", hip_probe, nothing, nothing};
static const swarm_variant odd = {sizeof(swarm_variant), SWARM_DEVICE_CPU, "odd", odd_probe, nothing, nothing};
static const swarm_variant *const every_variants[] = {&hip, &cpu};
static const swarm_variant *const odd_variants[] = {&odd};

static const swarm_op every = {sizeof(swarm_op), "every_type", 3, SWARM_OP_SERIAL, "Takes one param of each type.",
                               params, 5, inputs, 2, outputs, 1, every_variants, 2};
static const swarm_op odd_op = {sizeof(swarm_op), "odd_probe", 1, SWARM_OP_DETERMINISTIC, "", NULL, 0, NULL, 0,
                                outputs, 1, odd_variants, 1};
static const swarm_op *const ops[] = {&every, &odd_op};
static const swarm_plugin plugin = {SWARM_PLUGIN_ABI_VERSION, sizeof(swarm_plugin), "org.swarm.test.types", "2.1",
                                    "test-build", ops, 2, NULL, 0, 0, NULL, 0};

SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
