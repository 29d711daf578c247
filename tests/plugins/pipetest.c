/* pipetest.c — a valid plugin for pipeline tests and benchmarks:
 *   copy   tensor → the same tensor. `note` changes nothing in the output (early cutoff tests);
 *          `fail_rank` makes the call fail on tensors of that many dimensions (a failure halfway).
 *   upper  records → each record in ASCII upper case; `fail_on` fails the batch holding that record.
 *   hold   the whole stream of records (SWARM_OP_WHOLE) → the same records, after sleeping `sleep_ms`
 *          (a slow whole-dataset stage, for its progress line).
 *   pass   tensor → tensors of rank `rank` passed through (SWARM_OP_PASS: run aborts if the host calls
 *          it for one), every other byte-inverted by run; `lie` passes through while declaring u8. */
#define _POSIX_C_SOURCE 200809L
#include "swarm_plugin.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static int ok_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    (void)host;
    (void)call;
    (void)device_id;
    return 100;
}

static int copy_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                      const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    swarm_tensor *y = &outputs[0].u.tensor;
    if (params[1].i == x->ndim)
        return host->set_error(call, SWARM_E_BAD_INPUT, "fail_rank: refusing a tensor of rank %d", (int)x->ndim);
    y->ndim = x->ndim;
    y->dtype = x->dtype;
    for (int32_t d = 0; d < x->ndim; d++)
        y->shape[d] = x->shape[d];
    return SWARM_OK;
}

static int copy_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                    const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    uint64_t n = (uint64_t)x->dtype.bits * x->dtype.lanes / 8;
    (void)host;
    (void)call;
    (void)params;
    for (int32_t d = 0; d < x->ndim; d++)
        n *= (uint64_t)x->shape[d];
    memcpy(outputs[0].u.tensor.data, (const char *)x->data + x->byte_offset, (size_t)n);
    return SWARM_OK;
}

static int upper_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                       const swarm_value *inputs, swarm_value *outputs)
{
    (void)host;
    (void)call;
    (void)params;
    outputs[0].u.records.count = inputs[0].u.records.count;
    outputs[0].u.records.nbytes = inputs[0].u.records.nbytes;
    return SWARM_OK;
}

static int upper_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                     const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *x = &inputs[0].u.records;
    swarm_records *y = &outputs[0].u.records;
    size_t fl = strlen(params[0].s);
    for (uint64_t i = 0; i < x->count; i++) {
        uint64_t a = x->offsets[i], b = x->offsets[i + 1];
        if (fl && b - a == fl && !memcmp(x->bytes + a, params[0].s, fl))
            return host->set_error(call, SWARM_E_BAD_INPUT, "fail_on: met the record '%s'", params[0].s);
        for (uint64_t k = a; k < b; k++) {
            uint8_t c = x->bytes[k];
            y->bytes[k] = c >= 'a' && c <= 'z' ? (uint8_t)(c - 32) : c;
        }
        y->offsets[i + 1] = b;
    }
    return SWARM_OK;
}

static const swarm_variant copy_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, "exact", ok_probe, copy_infer,
                                       copy_run};
static int hold_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                    const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *x = &inputs[0].u.records;
    swarm_records *y = &outputs[0].u.records;
    struct timespec ts = {(time_t)(params[0].i / 1000), (long)(params[0].i % 1000) * 1000000L};
    (void)host;
    (void)call;
    nanosleep(&ts, NULL);
    memcpy(y->bytes, x->bytes, (size_t)x->nbytes);
    memcpy(y->offsets, x->offsets, (size_t)(x->count + 1) * sizeof *x->offsets);
    return SWARM_OK;
}

static const swarm_variant *const copy_variants[] = {&copy_cpu};
static const swarm_param copy_params[] = {
    {"note", SWARM_PARAM_STRING, "", "ignored: the output never depends on it", NULL},
    {"fail_rank", SWARM_PARAM_INT, "-1", "fail on tensors of this many dimensions", NULL},
};
static const swarm_port tensor_in[] = {{"x", SWARM_KIND_TENSOR, ""}};
static const swarm_port tensor_out[] = {{"y", SWARM_KIND_TENSOR, ""}};
static const swarm_op copy_op = {sizeof(swarm_op), "copy", 1, SWARM_OP_DETERMINISTIC, "copies a tensor",
                                 copy_params, 2, tensor_in, 1, tensor_out, 1, copy_variants, 1};

static const swarm_variant upper_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, "exact", ok_probe, upper_infer,
                                        upper_run};
static const swarm_variant *const upper_variants[] = {&upper_cpu};
static const swarm_param upper_params[] = {
    {"fail_on", SWARM_PARAM_STRING, "", "fail on a record equal to this (empty: never)", NULL},
};
static const swarm_port records_in[] = {{"x", SWARM_KIND_RECORDS, ""}};
static const swarm_port records_out[] = {{"y", SWARM_KIND_RECORDS, ""}};
static const swarm_op upper_op = {sizeof(swarm_op), "upper", 1, SWARM_OP_DETERMINISTIC, "upper-cases records",
                                  upper_params, 1, records_in, 1, records_out, 1, upper_variants, 1};

static const swarm_variant hold_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, "exact", ok_probe, upper_infer,
                                       hold_run};
static const swarm_variant *const hold_variants[] = {&hold_cpu};
static const swarm_param hold_params[] = {
    {"sleep_ms", SWARM_PARAM_INT, "0", "milliseconds to sleep before copying", NULL},
};
static const swarm_op hold_op = {sizeof(swarm_op), "hold", 1, SWARM_OP_DETERMINISTIC | SWARM_OP_WHOLE,
                                 "the whole stream of records, unchanged", hold_params, 1, records_in, 1,
                                 records_out, 1, hold_variants, 1};

static int pass_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                      const swarm_value *inputs, swarm_value *outputs)
{
    int rc = copy_infer(host, call, (const swarm_param_value[]){{.s = ""}, {.i = -1}}, inputs, outputs);
    if (!rc && params[0].i == inputs[0].u.tensor.ndim) {
        if (params[1].i)
            outputs[0].u.tensor.dtype = (swarm_dtype){SWARM_DTYPE_UINT, 8, 1};
        host->pass_through(call, 0);
    }
    return rc;
}

static int pass_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                    const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    uint64_t n = (uint64_t)x->dtype.bits * x->dtype.lanes / 8;
    if (params[0].i == x->ndim)
        abort(); /* the host took the pass: run is never called for this tensor */
    for (int32_t d = 0; d < x->ndim; d++)
        n *= (uint64_t)x->shape[d];
    (void)host, (void)call;
    for (uint64_t i = 0; i < n; i++)
        ((unsigned char *)outputs[0].u.tensor.data)[i] = (unsigned char)~((const unsigned char *)x->data)[x->byte_offset + i];
    return SWARM_OK;
}

static const swarm_variant pass_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, "exact", ok_probe, pass_infer,
                                       pass_run};
static const swarm_variant *const pass_variants[] = {&pass_cpu};
static const swarm_param pass_params[] = {
    {"rank", SWARM_PARAM_INT, "1", "tensors of this rank pass through", NULL},
    {"lie", SWARM_PARAM_BOOL, "false", "pass through while declaring another dtype", NULL},
};
static const swarm_op pass_op = {sizeof(swarm_op), "pass", 1, SWARM_OP_DETERMINISTIC | SWARM_OP_PASS,
                                 "passes tensors of one rank through, inverts the bytes of the others",
                                 pass_params, 2, tensor_in, 1, tensor_out, 1, pass_variants, 1};

static const swarm_op *const ops[] = {&copy_op, &upper_op, &hold_op, &pass_op};
static const swarm_plugin plugin = {SWARM_PLUGIN_ABI_VERSION, sizeof(swarm_plugin), "org.swarm.pipetest", "1.0",
                                    NULL, ops, 4, NULL, 0, 0, NULL, 0};

SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
