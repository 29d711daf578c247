/* convert_hip.cpp — the GPU companion of the convert plugin: build/plugins/convert.hip.so adds a GPU variant
 * to org.swarm.convert's `cast` (the same op, version and numerics tag as plugins/convert/convert.c, from
 * the shared plugins/convert/convert_ops.h). Built with hipcc for AMD GPUs, or with nvcc for NVIDIA ones
 * (compat.h); the kernels are convert_kernels.h's. swarm and the CPU plugin never link a GPU runtime:
 * only this file does. */
#include "companion.h"
#include "convert_kernels.h"

/* Converts x into y on the device, or copies it when there is nothing to convert. */
static int cast_gpu_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                        const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor, *y = &outputs[0].u.tensor;
    uint64_t elems, bytes;
    const char *why;
    int from = convert_kind(x->dtype), to = CV_F32 + (int)params[0].i;
    int rc = sw_gpu_check(host, call, x, "x", from == CV_OTHER ? 1 : from == CV_F32 ? 4 : 2);
    if (!rc)
        rc = sw_gpu_check(host, call, y, "y", from == CV_OTHER ? 1 : to == CV_F32 ? 4 : 2);
    if (rc)
        return rc;
    if ((why = convert_size(x, &elems, &bytes)))
        return host->set_error(call, SWARM_E_BAD_INPUT, "%s", why);
    if (from == CV_OTHER)
        return sw_gpu_finish(host, call, bytes ? sw_gpuMemcpy(sw_gpu_out(y), sw_gpu_in(x), bytes,
                                                              sw_gpuMemcpyDeviceToDevice)
                                               : sw_gpuSuccess);
    return sw_gpu_finish(host, call, sw_gpu_cast(sw_gpu_out(y), sw_gpu_in(x), elems, from, to));
}

static const swarm_variant cast_gpu = {sizeof(swarm_variant), SW_GPU_DEVICE_TYPE, CONVERT_NUMERICS, sw_gpu_probe,
                                       convert_cast_infer, cast_gpu_run};
static const swarm_variant *const cast_variants[] = {&cast_gpu};
static const swarm_op cast = CONVERT_CAST_OP(cast_variants);
static const swarm_op *const ops[] = {&cast};

static const swarm_plugin plugin = {SWARM_PLUGIN_ABI_VERSION, sizeof(swarm_plugin), CONVERT_PLUGIN_ID,
                                    CONVERT_VERSION, SW_GPU_API " " SW_GPU_TARGETS, ops, 1, NULL, 0,
                                    SWARM_PLUGIN_COMPANION, NULL, 0};

/* The one exported symbol: it only hands swarm the descriptor above. */
extern "C" SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
