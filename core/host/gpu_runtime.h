/* gpu_runtime.h — swarm's own use of a GPU runtime, loaded at run time (dlopen), never linked: the HIP
 * runtime (libamdhip64) for SWARM_DEVICE_ROCM, the CUDA runtime (libcudart) for SWARM_DEVICE_CUDA. The
 * host uses it to stage a GPU variant's buffers (opcall.c): allocate on device 0, copy in, copy out, free.
 * Kernels never come through here: they live in the GPU companions (hip/NAME_hip.cpp).
 *
 * A runtime already in the process (the companion that links it was loaded first) is used before any
 * other, so that swarm and the companion share one runtime. $SWARM_HIP_RUNTIME or $SWARM_CUDA_RUNTIME,
 * when set, names the library to load instead (tests use a fake one).
 *
 * The loaded runtimes are module state, set once under a lock and never unloaded. Every function returns
 * 0 or SW_ERETRY with sw_error set ("no HIP runtime: ...", "out of device memory ..."): the host then
 * tries the op's next variant. */
#ifndef SW_GPU_RUNTIME_H
#define SW_GPU_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

typedef struct sw_gpu_rt sw_gpu_rt;

/* The runtime for a device type (SWARM_DEVICE_ROCM or SWARM_DEVICE_CUDA), loaded on first use. */
int sw_gpu_runtime(const sw_gpu_rt **out, int32_t device_type);

/* Device memory of size bytes (at least 1) on device 0; freed with sw_gpu_free (NULL is ignored). */
int sw_gpu_alloc(const sw_gpu_rt *rt, void **out, size_t size);
void sw_gpu_free(const sw_gpu_rt *rt, void *p);

/* Copies n bytes host to device, or device to host; both wait until the copy is done. */
int sw_gpu_to_device(const sw_gpu_rt *rt, void *dst, const void *src, size_t n);
int sw_gpu_to_host(const sw_gpu_rt *rt, void *dst, const void *src, size_t n);

#endif
