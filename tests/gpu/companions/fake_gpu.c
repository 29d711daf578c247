/* fake_gpu.c — a test companion of org.swarm.convert whose `cast` variant claims a ROCm GPU (probe 90)
 * and computes on "device" buffers with plugins/common/numerics.h. Under the fake HIP runtime
 * (tests/gpu/fake_hip.c, whose device memory is host memory) it shows the host staging a GPU variant's
 * call end to end; under no runtime, or one that fails, it shows the host falling back to the CPU. */
#include "common/numerics.h"
#include "convert/convert_ops.h"

#include <string.h>

static int fake_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    (void)host;
    (void)call;
    (void)device_id;
    return 90;
}

/* Refuses what the host must never hand a GPU variant: a buffer not staged on the device. */
static int fake_staged(const swarm_host *host, swarm_call *call, const swarm_tensor *t)
{
    if (t->device.device_type != SWARM_DEVICE_ROCM || t->device.device_id != 0 || t->byte_offset || t->strides)
        return host->set_error(call, SWARM_E_INTERNAL, "the host did not stage a buffer on ROCm device 0");
    return SWARM_OK;
}

static int fake_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                      const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    swarm_tensor *y = &outputs[0].u.tensor;
    uint64_t elems, bytes;
    const char *why;
    int rc = fake_staged(host, call, x);
    if (rc)
        return rc;
    if ((why = convert_size(x, &elems, &bytes)))
        return host->set_error(call, SWARM_E_BAD_INPUT, "%s", why);
    y->ndim = x->ndim;
    y->dtype = convert_cast_dtype(x->dtype, params[0].i);
    for (int32_t d = 0; d < x->ndim; d++)
        y->shape[d] = x->shape[d];
    return SWARM_OK;
}

/* One element at a time, through f32, as the GPU kernels do; the same dtype is a copy, as on the CPU. */
static int fake_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                    const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_tensor *x = &inputs[0].u.tensor, *y = &outputs[0].u.tensor;
    const uint8_t *in = (const uint8_t *)x->data;
    uint8_t *out = (uint8_t *)y->data;
    uint64_t elems = 0, bytes = 0;
    int from = convert_kind(x->dtype), to = CV_F32 + (int)params[0].i;
    int rc = fake_staged(host, call, x);
    if (!rc)
        rc = fake_staged(host, call, y);
    if (rc)
        return rc;
    convert_size(x, &elems, &bytes);
    if (from == CV_OTHER || from == to) {
        memcpy(out, in, (size_t)bytes);
        return SWARM_OK;
    }
    for (uint64_t i = 0; i < elems; i++) {
        uint32_t u = 0, f, r;
        uint16_t h = 0;
        if (from == CV_F32)
            memcpy(&u, in + 4 * i, 4);
        else
            memcpy(&h, in + 2 * i, 2);
        f = from == CV_F32 ? u : from == CV_F16 ? sw_num_f32_of_f16(h) : (uint32_t)h << 16;
        r = to == CV_F32 ? f : to == CV_F16 ? sw_num_f16_of_f32(f) : sw_num_bf16_of_f32(f);
        if (to == CV_F32) {
            memcpy(out + 4 * i, &r, 4);
        } else {
            h = (uint16_t)r;
            memcpy(out + 2 * i, &h, 2);
        }
    }
    return SWARM_OK;
}

static const swarm_variant cast_fake = {sizeof(swarm_variant), SWARM_DEVICE_ROCM, CONVERT_NUMERICS, fake_probe,
                                        fake_infer, fake_run};
static const swarm_variant *const cast_variants[] = {&cast_fake};
static const swarm_op cast = CONVERT_CAST_OP(cast_variants);
static const swarm_op *const ops[] = {&cast};

static const swarm_plugin plugin = {SWARM_PLUGIN_ABI_VERSION, sizeof(swarm_plugin), CONVERT_PLUGIN_ID,
                                    CONVERT_VERSION, "test", ops, 1, NULL, 0, SWARM_PLUGIN_COMPANION, NULL, 0};

SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
