/* companion.h — what every GPU companion (hip/NAME_hip.cpp) shares: its probe, the checks its run makes on
 * the buffers the host staged on the device, and turning a device error into SWARM_E_DEVICE_FAILED.
 *
 * The architectures a build holds come from the Makefile: SW_GPU_TARGETS, a space-separated list of AMD
 * targets ("gfx906 gfx90a ...") for hipcc. For nvcc the probe asks the runtime whether a kernel has an
 * image for the device instead (machine code or PTX the driver can compile). */
#ifndef SW_GPU_COMPANION_H
#define SW_GPU_COMPANION_H

#include "compat.h"

#include <stdio.h>
#include <string.h>

#ifndef SW_GPU_TARGETS
#define SW_GPU_TARGETS ""
#endif

/* The score of a GPU variant on a device that can run it. */
#define SW_GPU_SCORE 90

#if defined(__HIPCC__)
/* Whether word (up to its first ':' — gfx90a:sramecc+:xnack- is gfx90a) is one of the space-separated
 * targets in list. */
static bool sw_gpu_target_listed(const char *list, const char *word)
{
    size_t n = strcspn(word, ":");
    while (*list) {
        size_t len = strcspn(list, " ");
        if (len == n && n && !strncmp(list, word, n))
            return true;
        list += len;
        while (*list == ' ')
            list++;
    }
    return false;
}
#else
/* A kernel to ask the runtime about: does the build hold an image for the device? */
__global__ void sw_gpu_probe_kernel(void) {}
#endif

/* [discovery] 0 with "no device" when the runtime finds none (or fails), 0 when the device's architecture
 * is not compiled in, else SW_GPU_SCORE. Allocates no device memory. */
static int sw_gpu_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    int count = 0;
    sw_gpuDeviceProp prop;
    sw_gpuError_t e = sw_gpuGetDeviceCount(&count);
    if (e != sw_gpuSuccess || count <= device_id) {
        if (e == sw_gpuSuccess || count == 0)
            host->set_error(call, SWARM_E_UNSUPPORTED, "no device");
        else
            host->set_error(call, SWARM_E_UNSUPPORTED, "no device (%s)", sw_gpuGetErrorString(e));
        return 0;
    }
    if ((e = sw_gpuGetDeviceProperties(&prop, device_id)) != sw_gpuSuccess) {
        host->set_error(call, SWARM_E_UNSUPPORTED, "no device (%s)", sw_gpuGetErrorString(e));
        return 0;
    }
#if defined(__HIPCC__)
    if (!sw_gpu_target_listed(SW_GPU_TARGETS, prop.gcnArchName)) {
        host->set_error(call, SWARM_E_UNSUPPORTED, "architecture %.*s not compiled in (built for %s)",
                        (int)strcspn(prop.gcnArchName, ":"), prop.gcnArchName, SW_GPU_TARGETS);
        return 0;
    }
#else
    cudaFuncAttributes attr;
    if (cudaFuncGetAttributes(&attr, sw_gpu_probe_kernel) != cudaSuccess) {
        cudaGetLastError(); /* clear the sticky-free error this leaves */
        host->set_error(call, SWARM_E_UNSUPPORTED, "architecture sm_%d%d not compiled in", prop.major, prop.minor);
        return 0;
    }
#endif
    return SW_GPU_SCORE;
}

/* Refuses a tensor the host did not stage as this variant expects: on this kind of device, compact, and
 * aligned to align bytes. SWARM_E_UNSUPPORTED lets the host try the next variant. */
static inline int sw_gpu_check(const swarm_host *host, swarm_call *call, const swarm_tensor *t, const char *name,
                               uintptr_t align)
{
    if (t->device.device_type != SW_GPU_DEVICE_TYPE)
        return host->set_error(call, SWARM_E_UNSUPPORTED, "%s must be in %s device memory", name, SW_GPU_API);
    if (t->strides)
        return host->set_error(call, SWARM_E_UNSUPPORTED, "%s must be compact row-major (no strides)", name);
    if (!sw_gpu_aligned((const uint8_t *)t->data + t->byte_offset, align))
        return host->set_error(call, SWARM_E_UNSUPPORTED, "%s is not aligned to %u bytes", name, (unsigned)align);
    return SWARM_OK;
}

/* After launching with error e: waits for the device and reports a failure as SWARM_E_DEVICE_FAILED
 * (the host then tries the next variant). */
static int sw_gpu_finish(const swarm_host *host, swarm_call *call, sw_gpuError_t e)
{
    if (e == sw_gpuSuccess)
        e = sw_gpuDeviceSynchronize();
    if (e != sw_gpuSuccess)
        return host->set_error(call, SWARM_E_DEVICE_FAILED, "%s: %s", SW_GPU_API, sw_gpuGetErrorString(e));
    return SWARM_OK;
}

static inline const uint8_t *sw_gpu_in(const swarm_tensor *t)
{
    return (const uint8_t *)t->data + t->byte_offset;
}

static inline uint8_t *sw_gpu_out(const swarm_tensor *t)
{
    return (uint8_t *)t->data + t->byte_offset;
}

#endif
