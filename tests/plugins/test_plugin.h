/* test_plugin.h — the body of most test-only plugins: one op "op" with one CPU variant that does
 * nothing. A test plugin defines what it breaks, then includes this:
 *     TEST_ABI         the descriptor's abi_version (default: this header's)
 *     TEST_ID          the plugin id (required)
 *     TEST_OP_VERSION  the op's op_version (default 1)
 *     TEST_PARAMS      the op's param schema, swarm_param initializers (default: one valid int param)
 *     TEST_RFORMAT_PARAMS  when defined, the plugin also has a records format "fmt" with this param schema */
#include "swarm_plugin.h"

#ifndef TEST_ABI
#define TEST_ABI SWARM_PLUGIN_ABI_VERSION
#endif
#ifndef TEST_OP_VERSION
#define TEST_OP_VERSION 1
#endif
#ifndef TEST_PARAMS
#define TEST_PARAMS {"n", SWARM_PARAM_INT, "1", "a count", NULL}
#endif

static int test_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    (void)host;
    (void)call;
    (void)device_id;
    return 100;
}

static int test_nothing(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                        const swarm_value *inputs, swarm_value *outputs)
{
    (void)params;
    (void)inputs;
    (void)outputs;
    return host->set_error(call, SWARM_E_INTERNAL, "a test plugin cannot run");
}

static const swarm_variant test_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, "test", test_probe, test_nothing,
                                       test_nothing};
static const swarm_variant *const test_variants[] = {&test_cpu};
static const swarm_param test_params[] = {TEST_PARAMS};
static const swarm_port test_outputs[] = {{"y", SWARM_KIND_TENSOR, ""}};
static const swarm_op test_op = {sizeof(swarm_op), "op", TEST_OP_VERSION, 0, "", test_params,
                                 sizeof test_params / sizeof *test_params, NULL, 0, test_outputs, 1,
                                 test_variants, 1};
static const swarm_op *const test_ops[] = {&test_op};
#ifdef TEST_RFORMAT_PARAMS
static int test_rformat_io(const swarm_host *host, swarm_call *call, const swarm_param_value *params)
{
    (void)params;
    return host->set_error(call, SWARM_E_INTERNAL, "a test plugin cannot read or write");
}
static const swarm_param test_rformat_params[] = {TEST_RFORMAT_PARAMS};
static const swarm_records_format test_rformat = {sizeof(swarm_records_format), "fmt", 1, "", "fmt",
                                                  test_rformat_params,
                                                  sizeof test_rformat_params / sizeof *test_rformat_params,
                                                  test_rformat_io, test_rformat_io};
static const swarm_records_format *const test_rformats[] = {&test_rformat};
#define TEST_RFORMATS test_rformats, 1
#else
#define TEST_RFORMATS NULL, 0
#endif
static const swarm_plugin test_plugin = {TEST_ABI, sizeof(swarm_plugin), TEST_ID, "0.0.1", NULL, test_ops, 1, NULL, 0, 0,
                                         TEST_RFORMATS};

SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &test_plugin;
}
