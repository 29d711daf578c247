/* dedup_hip.cpp — the GPU companion of the dedup plugin: build/plugins/dedup.hip.so adds a GPU variant to
 * org.swarm.dedup's `minhash` (the op, version, params, ports and numerics tag of plugins/dedup/dedup_ops.h,
 * which the CPU plugin, plugins/dedup/dedup.c, shares). Built with hipcc for AMD GPUs or nvcc for NVIDIA
 * ones (compat.h); the kernel is dedup_kernels.h's. The infer and the param checks are dedup_ops.h's, the
 * CPU variant's own, so the two accept and refuse the same; this variant adds that
 *   - with param field set (JSON records) it is SWARM_E_UNSUPPORTED: parsing JSON stays on the CPU, and the
 *     host runs the CPU variant instead;
 *   - a document of 4 GiB or more is SWARM_E_UNSUPPORTED too (the kernel's positions are 32-bit);
 *   - the batch's offsets are copied back to the host once, to check them as the CPU does (the same
 *     messages) before the kernel trusts them;
 *   - its scratch (normalized text and word starts, about 3 x the batch's bytes) is device memory of its
 *     own, allocated and freed in the call: failing that is SWARM_E_DEVICE_FAILED (out of device memory),
 *     and the host falls back to the CPU. */
#include "companion.h"
#include "dedup_kernels.h"
#include "dedup/dedup_ops.h"

/* What this variant leaves to the CPU: JSON records. */
static int minhash_gpu_supported(const swarm_host *host, swarm_call *call, const swarm_param_value *params)
{
    const char *field = params[DD_P_FIELD].s;
    if (field && *field)
        return host->set_error(call, SWARM_E_UNSUPPORTED, "field \"%s\": JSON records are parsed on the CPU", field);
    return SWARM_OK;
}

static int minhash_gpu_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                             const swarm_value *inputs, swarm_value *outputs)
{
    int rc = dd_minhash_infer(host, call, params, inputs, outputs);
    return rc ? rc : minhash_gpu_supported(host, call, params);
}

static int minhash_gpu_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                           const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *in = &inputs[0].u.records;
    swarm_records *out = &outputs[0].u.records;
    swarm_records checked = *in;
    uint64_t max_len = 0, *offsets;
    char msg[256];
    void *scratch = NULL;
    int k, rc = dd_minhash_check(host, call, params);
    if (!rc)
        rc = minhash_gpu_supported(host, call, params);
    if (rc)
        return rc;
    k = dd_permutations(params);
    if (out->count < in->count || in->count > out->nbytes / 8 / (uint64_t)k)
        return host->set_error(call, SWARM_E_INTERNAL, "the output is smaller than infer asked");
    if (!sw_gpu_aligned(out->bytes, 8))
        return host->set_error(call, SWARM_E_UNSUPPORTED, "out is not aligned to 8 bytes");
    if (in->count > SIZE_MAX / 8 - 1 || !(offsets = (uint64_t *)host->alloc_scratch(call, (size_t)(in->count + 1) * 8)))
        return host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    sw_gpuError_t e = sw_gpuMemcpy(offsets, in->offsets, (size_t)(in->count + 1) * 8, sw_gpuMemcpyDeviceToHost);
    if (e != sw_gpuSuccess)
        return host->set_error(call, SWARM_E_DEVICE_FAILED, "%s: %s", SW_GPU_API, sw_gpuGetErrorString(e));
    checked.offsets = offsets;
    if (dd_check_records(&checked, &max_len, msg, sizeof msg))
        return host->set_error(call, SWARM_E_BAD_INPUT, "%s", msg);
    if (max_len >> 32)
        return host->set_error(call, SWARM_E_UNSUPPORTED, "a document of %llu bytes (4 GiB or more)",
                               (unsigned long long)max_len);
    uint64_t need = sw_gpu_minhash_scratch(in->count, in->nbytes);
    if (need > SIZE_MAX / 2 || (e = sw_gpuMalloc(&scratch, (size_t)need)) != sw_gpuSuccess) {
        (void)sw_gpuGetLastError(); /* clear the allocation's error */
        return host->set_error(call, SWARM_E_DEVICE_FAILED,
                               "out of device memory: cannot allocate %llu bytes of scratch", (unsigned long long)need);
    }
    e = sw_gpu_minhash((uint64_t *)(void *)out->bytes, out->offsets, in->offsets, in->bytes, in->count, in->nbytes,
                       (uint64_t)params[DD_P_SHINGLE].i, k, (uint64_t)params[DD_P_SEED].i, scratch);
    rc = sw_gpu_finish(host, call, e);
    (void)sw_gpuFree(scratch);
    if (rc)
        return rc;
    out->count = in->count;
    return SWARM_OK;
}

/* ---- The companion ----------------------------------------------------------------------------------- */

static const swarm_variant minhash_gpu = {sizeof(swarm_variant), SW_GPU_DEVICE_TYPE, DD_NUMERICS, sw_gpu_probe,
                                          minhash_gpu_infer, minhash_gpu_run};
static const swarm_variant *const minhash_variants[] = {&minhash_gpu};
static const swarm_op minhash = DD_MINHASH_OP(minhash_variants);
static const swarm_op *const ops[] = {&minhash};

static const swarm_plugin plugin = {SWARM_PLUGIN_ABI_VERSION, sizeof(swarm_plugin), DD_PLUGIN_ID, DD_VERSION,
                                    SW_GPU_API " " SW_GPU_TARGETS, ops, 1, NULL, 0, SWARM_PLUGIN_COMPANION, NULL, 0};

/* The one exported symbol: it only hands swarm the descriptor above. */
extern "C" SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
