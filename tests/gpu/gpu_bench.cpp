/* gpu_bench.cpp — make bench-gpu: each GPU kernel's throughput on 1 GiB of input, against a
 * device-to-device copy of 1 GiB measured in the same run (the memory-bound ceiling). GB/s counts the
 * bytes a kernel must move, input plus output (a copy of 1 GiB moves 2 GiB); the ratio is the kernel's GB/s
 * over the copy's. Each figure is the median of 10 timed runs (GPU events) after 2 untimed ones. The
 * kernels are memory-bound: the target is a ratio of 0.85 or more. Prints no pass or fail. */
#include "convert_kernels.h"
#include "quant_kernels.h"

#include <algorithm>
#include <functional>
#include <stdio.h>
#include <stdlib.h>
#include <vector>

#define GPU_OK(call)                                                                                           \
    do {                                                                                                       \
        sw_gpuError_t e_ = (call);                                                                             \
        if (e_ != sw_gpuSuccess) {                                                                             \
            fprintf(stderr, "gpu_bench: %s: %s (%s:%d)\n", #call, sw_gpuGetErrorString(e_), __FILE__, __LINE__); \
            exit(1);                                                                                           \
        }                                                                                                      \
    } while (0)

static const uint64_t GiB = 1ull << 30;

/* Fills n f32 with ordinary values (about 2^-15 to 2^16, both signs) from a hash of the index. */
__global__ void fill_f32(uint32_t *x, uint64_t n)
{
    uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        uint32_t h = (uint32_t)(i * 0x9e3779b97f4a7c15ull >> 32) ^ (uint32_t)i * 0x85ebca6bu;
        h ^= h >> 15;
        h *= 0x2c1b3c6du;
        h ^= h >> 12;
        x[i] = (h & 0x807fffffu) | ((112u + (h >> 23) % 32u) << 23);
    }
}

/* Times fn: the median of 10 runs after 2 warm-ups, in milliseconds. */
static float time_ms(const std::function<void()> &fn)
{
    sw_gpuEvent_t a, b;
    GPU_OK(sw_gpuEventCreate(&a));
    GPU_OK(sw_gpuEventCreate(&b));
    std::vector<float> t;
    for (int i = 0; i < 12; i++) {
        GPU_OK(sw_gpuEventRecord(a, 0));
        fn();
        GPU_OK(sw_gpuGetLastError());
        GPU_OK(sw_gpuEventRecord(b, 0));
        GPU_OK(sw_gpuEventSynchronize(b));
        float ms = 0;
        GPU_OK(sw_gpuEventElapsedTime(&ms, a, b));
        if (i >= 2)
            t.push_back(ms);
    }
    GPU_OK(sw_gpuEventDestroy(a));
    GPU_OK(sw_gpuEventDestroy(b));
    std::sort(t.begin(), t.end());
    return (t[4] + t[5]) / 2;
}

static double copy_gbs;

static void report(const char *name, uint64_t in, uint64_t out, float ms)
{
    double gbs = (double)(in + out) / (ms * 1e-3) / 1e9;
    if (!copy_gbs)
        copy_gbs = gbs;
    printf("%-32s %8.3f GiB %8.3f GiB %9.3f ms %8.1f GB/s %6.2f\n", name, in / (double)GiB, out / (double)GiB, ms,
           gbs, gbs / copy_gbs);
}

static void *dev_alloc(uint64_t n)
{
    void *p = NULL;
    GPU_OK(sw_gpuMalloc(&p, n));
    return p;
}

int main(void)
{
    int count = 0;
    sw_gpuDeviceProp prop;
    if (sw_gpuGetDeviceCount(&count) != sw_gpuSuccess || count < 1) {
        printf("gpu_bench: no %s device\n", SW_GPU_API);
        return 0;
    }
    GPU_OK(sw_gpuGetDeviceProperties(&prop, 0));
    printf("%s device 0: %s; inputs of 1 GiB; GB/s = (input + output bytes) / time; ratio to the copy\n",
           SW_GPU_API, prop.name);
    printf("%-32s %12s %12s %12s %13s %6s\n", "kernel", "input", "output", "median", "throughput", "ratio");
    /* The largest buffers: 1 GiB of Q4_0 dequantizes to 7.1 GiB of f32. */
    uint8_t *in = (uint8_t *)dev_alloc(GiB), *out = (uint8_t *)dev_alloc(8 * GiB), *tmp = (uint8_t *)dev_alloc(GiB);
    fill_f32<<<4096, SW_GPU_THREADS>>>((uint32_t *)in, GiB / 4);
    GPU_OK(sw_gpuMemset(out, 0, 8 * GiB)); /* every page touched before anything is timed */
    GPU_OK(sw_gpuMemset(tmp, 0, GiB));
    GPU_OK(sw_gpuDeviceSynchronize());

    report("copy (device to device)", GiB, GiB,
           time_ms([&] { GPU_OK(sw_gpuMemcpy(out, in, GiB, sw_gpuMemcpyDeviceToDevice)); }));

    static const struct {
        const char *name;
        int from, to;
    } casts[] = {{"cast f32 -> bf16", CV_F32, CV_BF16}, {"cast f32 -> f16", CV_F32, CV_F16},
                 {"cast bf16 -> f32", CV_BF16, CV_F32}, {"cast f16 -> f32", CV_F16, CV_F32},
                 {"cast f16 -> bf16", CV_F16, CV_BF16}, {"cast bf16 -> f16", CV_BF16, CV_F16}};
    for (auto &c : casts) {
        uint64_t n = GiB / (c.from == CV_F32 ? 4 : 2), ob = n * (c.to == CV_F32 ? 4 : 2);
        report(c.name, GiB, ob, time_ms([&] { GPU_OK(sw_gpu_cast(out, in, n, c.from, c.to)); }));
    }
    /* How many units a thread keeps in flight (sw_cv_unroll), for the record. */
    uint64_t n16 = GiB / 2, n32 = GiB / 4;
    report("  f16 -> bf16, unroll 1", GiB, GiB, time_ms([&] { sw_cast_launch<CV_F16, CV_BF16, 1>(out, in, n16); }));
    report("  f16 -> bf16, unroll 2", GiB, GiB, time_ms([&] { sw_cast_launch<CV_F16, CV_BF16, 2>(out, in, n16); }));
    report("  f16 -> bf16, unroll 4", GiB, GiB, time_ms([&] { sw_cast_launch<CV_F16, CV_BF16, 4>(out, in, n16); }));
    report("  bf16 -> f16, unroll 1", GiB, GiB, time_ms([&] { sw_cast_launch<CV_BF16, CV_F16, 1>(out, in, n16); }));
    report("  bf16 -> f16, unroll 2", GiB, GiB, time_ms([&] { sw_cast_launch<CV_BF16, CV_F16, 2>(out, in, n16); }));
    report("  f32 -> f16, unroll 1", GiB, GiB / 2, time_ms([&] { sw_cast_launch<CV_F32, CV_F16, 1>(out, in, n32); }));
    report("  f16 -> f32, unroll 1", GiB, 2 * GiB, time_ms([&] { sw_cast_launch<CV_F16, CV_F32, 1>(out, in, n16); }));

    uint64_t nb32 = GiB / 128; /* f32 blocks in 1 GiB */
    report("quantize f32 -> q8_0", GiB, nb32 * SW_Q8_0_BYTES,
           time_ms([&] { GPU_OK(sw_gpu_quantize(out, in, nb32, SW_QK_F32, 0)); }));
    report("quantize f32 -> q4_0", GiB, nb32 * SW_Q4_0_BYTES,
           time_ms([&] { GPU_OK(sw_gpu_quantize(out, in, nb32, SW_QK_F32, 1)); }));
    report("quantize bf16 -> q8_0", GiB, 2 * nb32 * SW_Q8_0_BYTES,
           time_ms([&] { GPU_OK(sw_gpu_quantize(out, in, 2 * nb32, SW_QK_BF16, 0)); }));
    sw_quantize_direct = 0; /* the other way to read quantize's input, for comparison */
    report("  same, input via shared tile", GiB, 2 * nb32 * SW_Q8_0_BYTES,
           time_ms([&] { GPU_OK(sw_gpu_quantize(out, in, 2 * nb32, SW_QK_BF16, 0)); }));
    report("quantize f32 -> q8_0, shared tile", GiB, nb32 * SW_Q8_0_BYTES,
           time_ms([&] { GPU_OK(sw_gpu_quantize(out, in, nb32, SW_QK_F32, 0)); }));
    sw_quantize_direct = 1;

    /* 1 GiB of Q8_0 / Q4_0: quantize enough f32 (the input repeated) into tmp first. */
    for (int q4 = 0; q4 < 2; q4++) {
        uint64_t bb = q4 ? SW_Q4_0_BYTES : SW_Q8_0_BYTES, nb = GiB / bb;
        for (uint64_t done = 0; done < nb; done += nb32)
            GPU_OK(sw_gpu_quantize(tmp + done * bb, in, std::min(nb32, nb - done), SW_QK_F32, q4));
        GPU_OK(sw_gpuDeviceSynchronize());
        report(q4 ? "dequantize q4_0 -> f32" : "dequantize q8_0 -> f32", nb * bb, nb * 128,
               time_ms([&] { GPU_OK(sw_gpu_dequantize(out, tmp, nb, q4)); }));
    }

    uint64_t cols = 4096, rows = GiB / 4 / cols;
    report("int8_rows f32 [65536, 4096]", GiB, rows * cols,
           time_ms([&] { GPU_OK(sw_gpu_int8_rows((int8_t *)out, NULL, in, rows, cols, SW_QK_F32)); }));
    report("row_absmax f32 [65536, 4096]", GiB, rows * 4,
           time_ms([&] { GPU_OK(sw_gpu_int8_rows(NULL, (float *)out, in, rows, cols, SW_QK_F32)); }));
    uint64_t qrows = GiB / cols;
    GPU_OK(sw_gpuMemcpy(tmp, in, qrows * 4, sw_gpuMemcpyDeviceToDevice)); /* scales: any f32; q: the bytes of in */
    report("int8_dequantize [262144, 4096]", GiB + qrows * 4, GiB * 4,
           time_ms([&] { GPU_OK(sw_gpu_int8_dequantize((float *)out, (const int8_t *)in, (const float *)tmp, qrows, cols)); }));
    report("copy (device to device), again", GiB, GiB,
           time_ms([&] { GPU_OK(sw_gpuMemcpy(out, in, GiB, sw_gpuMemcpyDeviceToDevice)); }));
    GPU_OK(sw_gpuFree(in));
    GPU_OK(sw_gpuFree(out));
    GPU_OK(sw_gpuFree(tmp));
    return 0;
}
