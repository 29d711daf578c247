/* compat.h — the small common subset of HIP and CUDA that swarm's GPU kernels use, so that one source
 * builds with hipcc (AMD, ROCm) and with nvcc (NVIDIA). Kernels use only what both have under the same
 * name (__global__, __shared__, __syncthreads, blockIdx/blockDim/threadIdx/gridDim, uint4, <<<>>>
 * launches); runtime calls go through the sw_gpu* names below. Nothing here assumes a wave or warp of
 * 32 lanes: AMD's CDNA waves are 64. */
#ifndef SW_GPU_COMPAT_H
#define SW_GPU_COMPAT_H

#include "swarm_plugin.h"

#if defined(__HIPCC__)
#include <hip/hip_runtime.h>

#define SW_GPU_DEVICE_TYPE SWARM_DEVICE_ROCM
#define SW_GPU_API "HIP"
typedef hipError_t sw_gpuError_t;
typedef hipDeviceProp_t sw_gpuDeviceProp;
typedef hipEvent_t sw_gpuEvent_t;
#define sw_gpuSuccess hipSuccess
#define sw_gpuErrorInvalidValue hipErrorInvalidValue
#define sw_gpuGetDeviceCount hipGetDeviceCount
#define sw_gpuGetDeviceProperties hipGetDeviceProperties
#define sw_gpuGetErrorString hipGetErrorString
#define sw_gpuGetLastError hipGetLastError
#define sw_gpuDeviceSynchronize hipDeviceSynchronize
#define sw_gpuMalloc hipMalloc
#define sw_gpuFree hipFree
#define sw_gpuMemcpy hipMemcpy
#define sw_gpuMemset hipMemset
#define sw_gpuMemcpyHostToDevice hipMemcpyHostToDevice
#define sw_gpuMemcpyDeviceToHost hipMemcpyDeviceToHost
#define sw_gpuMemcpyDeviceToDevice hipMemcpyDeviceToDevice
#define sw_gpuEventCreate hipEventCreate
#define sw_gpuEventDestroy hipEventDestroy
#define sw_gpuEventRecord hipEventRecord
#define sw_gpuEventSynchronize hipEventSynchronize
#define sw_gpuEventElapsedTime hipEventElapsedTime

#elif defined(__CUDACC__)
#include <cuda_runtime.h>

#define SW_GPU_DEVICE_TYPE SWARM_DEVICE_CUDA
#define SW_GPU_API "CUDA"
typedef cudaError_t sw_gpuError_t;
typedef cudaDeviceProp sw_gpuDeviceProp;
typedef cudaEvent_t sw_gpuEvent_t;
#define sw_gpuSuccess cudaSuccess
#define sw_gpuErrorInvalidValue cudaErrorInvalidValue
#define sw_gpuGetDeviceCount cudaGetDeviceCount
#define sw_gpuGetDeviceProperties cudaGetDeviceProperties
#define sw_gpuGetErrorString cudaGetErrorString
#define sw_gpuGetLastError cudaGetLastError
#define sw_gpuDeviceSynchronize cudaDeviceSynchronize
#define sw_gpuMalloc cudaMalloc
#define sw_gpuFree cudaFree
#define sw_gpuMemcpy cudaMemcpy
#define sw_gpuMemset cudaMemset
#define sw_gpuMemcpyHostToDevice cudaMemcpyHostToDevice
#define sw_gpuMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define sw_gpuMemcpyDeviceToDevice cudaMemcpyDeviceToDevice
#define sw_gpuEventCreate cudaEventCreate
#define sw_gpuEventDestroy cudaEventDestroy
#define sw_gpuEventRecord cudaEventRecord
#define sw_gpuEventSynchronize cudaEventSynchronize
#define sw_gpuEventElapsedTime cudaEventElapsedTime

#else
#error "hip/compat.h is for hipcc or nvcc"
#endif

/* Threads per block of every kernel: a multiple of 64 and of 32, so it is whole waves on AMD and whole
 * warps on NVIDIA, but no code depends on the wave size. */
#define SW_GPU_THREADS 256

/* The most blocks a launch asks for; grid-stride loops cover the rest. Tests lower sw_gpu_max_blocks
 * (this file's copy: each program or companion has its own) to run every loop many times round. */
#define SW_GPU_MAX_BLOCKS 65535u
static unsigned sw_gpu_max_blocks = SW_GPU_MAX_BLOCKS;

/* Blocks for n work items of one thread each, at least 1, at most sw_gpu_max_blocks. */
static inline unsigned sw_gpu_blocks(uint64_t n)
{
    uint64_t b = (n + SW_GPU_THREADS - 1) / SW_GPU_THREADS;
    return b == 0 ? 1u : b > sw_gpu_max_blocks ? sw_gpu_max_blocks : (unsigned)b;
}

/* Whether a device pointer is aligned to a bytes (a power of two). */
static inline bool sw_gpu_aligned(const void *p, uintptr_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

#endif
