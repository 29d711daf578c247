/* convert_kernels.h — the GPU kernels of convert's `cast` (f32 <-> f16 / bf16), HIP and CUDA alike
 * (compat.h). Every element goes through plugins/common/numerics.h's functions, the ones the CPU plugin
 * uses, so the bytes are the CPU's by construction. Included by hip/convert_hip.cpp (the companion) and
 * by tests/gpu/ (equality tests and benchmarks), which call the launcher directly.
 *
 * Layout: a grid-stride loop over units of 4 or 8 elements, loaded and stored as 16- or 8-byte vectors
 * when both buffers are 16-byte aligned (device allocations are), several units in flight per thread,
 * then the elements past the last whole unit one at a time, as they are also done when a buffer is not
 * aligned. Buffers must be aligned to their element
 * size (the launcher's caller checks). */
#ifndef SW_GPU_CONVERT_KERNELS_H
#define SW_GPU_CONVERT_KERNELS_H

#include "compat.h"
#include "common/numerics.h"
#include "convert/convert_ops.h"

/* An element of kind FROM (its bits in the low half for 16-bit kinds) widened exactly to f32 bits. */
template <int FROM> __device__ __forceinline__ uint32_t sw_cv_widen(uint32_t u)
{
    return FROM == CV_F32 ? u : FROM == CV_F16 ? sw_num_f32_of_f16((uint16_t)u) : u << 16;
}

/* f32 bits rounded to kind TO (nearest even), as the CPU plugin rounds. */
template <int TO> __device__ __forceinline__ uint32_t sw_cv_narrow(uint32_t f)
{
    return TO == CV_F32 ? f : TO == CV_F16 ? sw_num_f16_of_f32(f) : sw_num_bf16_of_f32(f);
}

template <int FROM, int TO> __device__ __forceinline__ uint32_t sw_cv_elem(uint32_t u)
{
    return sw_cv_narrow<TO>(sw_cv_widen<FROM>(u));
}

/* A unit of work: the elements of 16 bytes of the wider side (4 when one side is f32, else 8), so that
 * each load and store of a warp or wave is one contiguous run: 16 or 8 bytes per thread. */
template <int FROM, int TO> struct sw_cv_unit {
    static const int in = FROM == CV_F32 ? 4 : 2, out = TO == CV_F32 ? 4 : 2;
    static const int n = in == 2 && out == 2 ? 8 : 4;
};

/* Loads unit k of n elements of b bytes each (16 or 8 bytes, aligned) as one element per word. */
template <int B, int N> __device__ __forceinline__ void sw_cv_load(uint32_t *e, const uint8_t *base, uint64_t k)
{
    if constexpr (N * B == 16) {
        uint4 v = ((const uint4 *)base)[k];
        uint32_t w[4] = {v.x, v.y, v.z, v.w};
        for (int j = 0; j < 4; j++) {
            if constexpr (B == 4) {
                e[j] = w[j];
            } else {
                e[2 * j] = w[j] & 0xffffu;
                e[2 * j + 1] = w[j] >> 16;
            }
        }
    } else {
        uint2 v = ((const uint2 *)base)[k]; /* 4 elements of 2 bytes */
        e[0] = v.x & 0xffffu, e[1] = v.x >> 16, e[2] = v.y & 0xffffu, e[3] = v.y >> 16;
    }
}

template <int B, int N> __device__ __forceinline__ void sw_cv_store(uint8_t *base, uint64_t k, const uint32_t *e)
{
    if constexpr (N * B == 16 && B == 4)
        ((uint4 *)base)[k] = make_uint4(e[0], e[1], e[2], e[3]);
    else if constexpr (N * B == 16)
        ((uint4 *)base)[k] = make_uint4(e[0] | e[1] << 16, e[2] | e[3] << 16, e[4] | e[5] << 16, e[6] | e[7] << 16);
    else
        ((uint2 *)base)[k] = make_uint2(e[0] | e[1] << 16, e[2] | e[3] << 16);
}

/* One element i, loaded and stored at its own (element-aligned) address. */
template <int FROM, int TO> __device__ __forceinline__ void sw_cv_one(uint8_t *out, const uint8_t *in, uint64_t i)
{
    uint32_t u = FROM == CV_F32 ? ((const uint32_t *)in)[i] : ((const uint16_t *)in)[i];
    uint32_t r = sw_cv_elem<FROM, TO>(u);
    if constexpr (TO == CV_F32)
        ((uint32_t *)out)[i] = r;
    else
        ((uint16_t *)out)[i] = (uint16_t)r;
}

/* Units each thread loads before it converts any (loads in flight), by conversion: measured on an H200
 * (make bench-gpu), 4 for those from or to f32, 1 between f16 and bf16, whose arithmetic is the limit. */
template <int FROM, int TO> struct sw_cv_unroll {
    static const int n = FROM == CV_F32 || TO == CV_F32 ? 4 : 1;
};

/* Converts n elements: UNROLL units per thread at a time, the units of a round one contiguous run per
 * thread index; vec says both buffers are 16-byte aligned. */
template <int FROM, int TO, int UNROLL>
__global__ void sw_cast_kernel(uint8_t *out, const uint8_t *in, uint64_t n, int vec)
{
    typedef sw_cv_unit<FROM, TO> U;
    uint64_t tid = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
    uint64_t units = vec ? n / U::n : 0;
    for (uint64_t k = tid; k < units; k += stride * UNROLL) {
        uint32_t e[UNROLL][U::n];
        for (int u = 0; u < UNROLL; u++)
            if (k + u * stride < units)
                sw_cv_load<U::in, U::n>(e[u], in, k + u * stride);
        for (int u = 0; u < UNROLL; u++) {
            if (k + u * stride >= units)
                break;
            for (int j = 0; j < U::n; j++)
                e[u][j] = sw_cv_elem<FROM, TO>(e[u][j]);
            sw_cv_store<U::out, U::n>(out, k + u * stride, e[u]);
        }
    }
    for (uint64_t i = units * U::n + tid; i < n; i += stride)
        sw_cv_one<FROM, TO>(out, in, i);
}

template <int FROM, int TO, int UNROLL = sw_cv_unroll<FROM, TO>::n>
static void sw_cast_launch(uint8_t *out, const uint8_t *in, uint64_t n)
{
    const uint64_t per = (uint64_t)sw_cv_unit<FROM, TO>::n * UNROLL;
    int vec = sw_gpu_aligned(out, 16) && sw_gpu_aligned(in, 16);
    sw_cast_kernel<FROM, TO, UNROLL><<<sw_gpu_blocks(vec ? (n + per - 1) / per : n), SW_GPU_THREADS>>>(out, in, n, vec);
}

/* Converts n elements of kind from (CV_F32, CV_F16, CV_BF16) to kind to on the device, as the CPU plugin
 * does; the same kind (or n = 0) is a device copy. Buffers are device memory aligned to their element
 * size. Asynchronous: returns the launch's error; the caller synchronizes. */
static sw_gpuError_t sw_gpu_cast(uint8_t *out, const uint8_t *in, uint64_t n, int from, int to)
{
    if (from == to || !n)
        return n ? sw_gpuMemcpy(out, in, n * (from == CV_F32 ? 4 : 2), sw_gpuMemcpyDeviceToDevice) : sw_gpuSuccess;
    if (from == CV_F32)
        to == CV_F16 ? sw_cast_launch<CV_F32, CV_F16>(out, in, n) : sw_cast_launch<CV_F32, CV_BF16>(out, in, n);
    else if (from == CV_F16)
        to == CV_F32 ? sw_cast_launch<CV_F16, CV_F32>(out, in, n) : sw_cast_launch<CV_F16, CV_BF16>(out, in, n);
    else
        to == CV_F32 ? sw_cast_launch<CV_BF16, CV_F32>(out, in, n) : sw_cast_launch<CV_BF16, CV_F16>(out, in, n);
    return sw_gpuGetLastError();
}

#endif
