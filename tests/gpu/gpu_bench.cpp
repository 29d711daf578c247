/* gpu_bench.cpp — make bench-gpu: each GPU kernel's throughput on 1 GiB of input, against a
 * device-to-device copy of 1 GiB measured in the same run (the memory-bound ceiling). GB/s counts the
 * bytes a kernel must move, input plus output (a copy of 1 GiB moves 2 GiB); the ratio is the kernel's GB/s
 * over the copy's. Each figure is the median of 10 timed runs (GPU events) after 2 untimed ones. The
 * kernels are memory-bound: the target is a ratio of 0.85 or more.
 *
 * MinHash (hip/dedup_kernels.h) is compute-bound instead, and measured in documents per second against the
 * CPU on the same input: 100,000 generated documents of about 200 words, 14 x 8 permutations, shingles of 5.
 * The CPU figure is the dedup plugin's own per-document work (dd_normalize, dd_signature with the fastest
 * fold, dd_fold_best, on dd_threads' threads through dd_parallel: what its minhash op runs for plain-text
 * records, compiled in here so that this benchmark needs neither jansson nor libxxhash), the median of 3
 * runs; and, when a plugin directory holding dedup.so is given as the first argument, the op itself
 * through its ABI. The GPU figure is the kernel alone (the input already on the device, the permutations'
 * copy included), the median of 10 runs after 2. The target is 20 x the CPU. Prints no pass or
 * fail, but says whether the GPU's signatures equal the CPU's. */
#include "../tools/plugin_load.h"
#include "convert_kernels.h"
#include "dedup_kernels.h"
#include "quant_kernels.h"

/* The dedup plugin's per-document code and its threads, the CPU side of the MinHash comparison. */
#include "dedup/fold.c"
#include "dedup/normalize.c"
#include "dedup/parallel.c"
#include "dedup/shingle.c"

#include <algorithm>
#include <chrono>
#include <dlfcn.h>
#include <functional>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <string>
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


/* ---- MinHash: documents per second, GPU against CPU ------------------------------------------------------ */

struct mh_cpu_job {
    const uint64_t *offsets;
    const uint8_t *bytes;
    uint64_t *sig;
    const uint64_t *a, *b;
    int k;
    uint64_t s;
    dd_fold_fn fold;
    std::vector<std::vector<uint8_t>> buf;
    std::vector<std::vector<size_t>> ring;
};

/* One slice of documents, as the plugin's pass does it for a plain-text record: normalize, sign. */
static void mh_cpu_slice(void *ctx, int t, uint64_t lo, uint64_t hi)
{
    mh_cpu_job *j = (mh_cpu_job *)ctx;
    for (uint64_t i = lo; i < hi; i++) {
        size_t len = (size_t)(j->offsets[i + 1] - j->offsets[i]);
        size_t n = dd_normalize(j->bytes + j->offsets[i], len, j->buf[t].data());
        dd_signature(j->buf[t].data(), n, j->s, j->k, j->a, j->b, j->sig + i * j->k, j->ring[t].data(), j->fold);
    }
}

static double wall_ms(const std::function<void()> &fn)
{
    auto t0 = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

static double median3(const std::function<void()> &fn)
{
    double t[3];
    for (double &x : t)
        x = wall_ms(fn);
    std::sort(t, t + 3);
    return t[1];
}

/* Runs the CPU variant of dedup.so's minhash (from dir) on the batch: its time in ms (median of 3), or a
 * negative number when it is not there or fails. */
static std::vector<void *> mh_scratch;
static void *mh_alloc(swarm_call *, size_t n)
{
    mh_scratch.push_back(malloc(n ? n : 1));
    return mh_scratch.back();
}
static int mh_set_error(swarm_call *, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gpu_bench: dedup.so minhash: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}
static void mh_log(swarm_call *, int, const char *) {}

static double mh_op_ms(const char *dir, const std::vector<uint64_t> &offsets, std::vector<uint8_t> &bytes,
                       const std::vector<uint64_t> &want)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/dedup.so", dir);
    const swarm_plugin *p = tool_load_plugin(path);
    const swarm_op *op = tool_find_op(p, "minhash");
    if (!op) {
        printf("  (no minhash op in %s: %s)\n", path, p ? "not in the plugin" : dlerror());
        return -1;
    }
    static const swarm_host host = {SWARM_PLUGIN_ABI_VERSION, sizeof(swarm_host), mh_set_error, mh_alloc, mh_log,
                                    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    swarm_param_value pv[5];
    pv[0].s = "";
    pv[1].i = 5;
    pv[2].i = 14;
    pv[3].i = 8;
    pv[4].i = 1;
    swarm_value in, out;
    memset(&in, 0, sizeof in);
    memset(&out, 0, sizeof out);
    in.kind = out.kind = SWARM_KIND_RECORDS;
    in.u.records = {offsets.size() - 1, (uint64_t *)offsets.data(), bytes.data(), bytes.size()};
    int rc = op->variants[0]->infer(&host, NULL, pv, &in, &out);
    std::vector<uint64_t> offs(out.u.records.count + 1), sig(out.u.records.nbytes / 8 + 1);
    out.u.records.offsets = offs.data();
    out.u.records.bytes = (uint8_t *)sig.data();
    double ms = median3([&] {
        if (!rc)
            rc = op->variants[0]->run(&host, NULL, pv, &in, &out);
        for (void *x : mh_scratch)
            free(x);
        mh_scratch.clear();
    });
    if (rc)
        return -1;
    printf("  dedup.so's minhash op gives the same signatures: %s\n",
           !memcmp(sig.data(), want.data(), want.size() * 8) ? "yes" : "NO");
    return ms;
}

/* A generated corpus: n documents of 150 to 250 words from a vocabulary of 50,000 (3 to 10 letters,
 * capitalized now and then), with commas and periods; then the GPU's and the CPU's documents per second. */
static void bench_minhash(const char *plugin_dir)
{
    const uint64_t n = 100000, s = 5;
    const int k = 14 * 8;
    uint64_t st = 1;
    std::vector<std::string> vocab(50000);
    for (std::string &w : vocab)
        for (int i = 0, len = 3 + (int)(dd_splitmix64(&st) % 8); i < len; i++)
            w += (char)('a' + dd_splitmix64(&st) % 26);
    std::vector<uint64_t> offsets(1, 0);
    std::vector<uint8_t> bytes;
    bytes.reserve(n * 1400);
    for (uint64_t d = 0; d < n; d++) {
        uint64_t words = 150 + dd_splitmix64(&st) % 101;
        for (uint64_t i = 0; i < words; i++) {
            const std::string &w = vocab[dd_splitmix64(&st) % vocab.size()];
            uint64_t r = dd_splitmix64(&st) % 100;
            if (i)
                bytes.push_back(' ');
            bytes.push_back(r < 8 ? (uint8_t)(w[0] - 32) : (uint8_t)w[0]);
            bytes.insert(bytes.end(), w.begin() + 1, w.end());
            if (r >= 90)
                bytes.push_back(r >= 97 ? '.' : ',');
        }
        offsets.push_back(bytes.size());
    }
    uint64_t nbytes = bytes.size();
    printf("\nminhash: %llu documents of 150 to 250 words (%.1f MiB), shingles of %llu, %d permutations\n",
           (unsigned long long)n, nbytes / 1048576.0, (unsigned long long)s, k);

    /* The GPU. */
    uint64_t *doff = (uint64_t *)dev_alloc((n + 1) * 8), *dsig = (uint64_t *)dev_alloc(n * k * 8);
    uint64_t *dout = (uint64_t *)dev_alloc((n + 1) * 8);
    uint8_t *dbytes = (uint8_t *)dev_alloc(nbytes);
    void *scratch = dev_alloc(sw_gpu_minhash_scratch(n, nbytes));
    GPU_OK(sw_gpuMemcpy(doff, offsets.data(), (n + 1) * 8, sw_gpuMemcpyHostToDevice));
    GPU_OK(sw_gpuMemcpy(dbytes, bytes.data(), nbytes, sw_gpuMemcpyHostToDevice));
    float gpu_ms = time_ms([&] { GPU_OK(sw_gpu_minhash(dsig, dout, doff, dbytes, n, nbytes, s, k, 1, scratch)); });
    std::vector<uint64_t> gpu_sig(n * k);
    GPU_OK(sw_gpuMemcpy(gpu_sig.data(), dsig, n * k * 8, sw_gpuMemcpyDeviceToHost));

    /* The CPU: the plugin's per-document work on its threads. */
    std::vector<uint64_t> a(k), b(k), cpu_sig(n * k);
    dd_draw_permutations(1, k, a.data(), b.data());
    int nthreads = dd_threads(n);
    uint64_t longest = 0;
    for (uint64_t d = 0; d < n; d++)
        longest = std::max(longest, offsets[d + 1] - offsets[d]);
    mh_cpu_job job;
    job.offsets = offsets.data();
    job.bytes = bytes.data();
    job.sig = cpu_sig.data();
    job.a = a.data();
    job.b = b.data();
    job.k = k;
    job.s = s;
    job.fold = dd_fold_best();
    job.buf.assign(nthreads, std::vector<uint8_t>(longest + 1));
    job.ring.assign(nthreads, std::vector<size_t>(dd_ring_len(longest, s) + 1));
    double cpu_ms = median3([&] { dd_parallel(nthreads, n, mh_cpu_slice, &job); });

    bool same = !memcmp(gpu_sig.data(), cpu_sig.data(), n * k * 8);
    printf("  GPU: %9.3f ms  %12.0f documents/s  %7.2f GB/s of text\n", gpu_ms, n / (gpu_ms * 1e-3),
           nbytes / (gpu_ms * 1e-3) / 1e9);
    printf("  CPU: %9.3f ms  %12.0f documents/s  (%d threads, fold %s)\n", cpu_ms, n / (cpu_ms * 1e-3), nthreads,
           job.fold == dd_fold_scalar ? "scalar" : "AVX2");
    printf("  GPU / CPU: %.1f x (target 20 x); the same signatures: %s\n", cpu_ms / gpu_ms, same ? "yes" : "NO");
    if (plugin_dir) {
        double op_ms = mh_op_ms(plugin_dir, offsets, bytes, cpu_sig);
        if (op_ms > 0)
            printf("  CPU, dedup.so's minhash op: %9.3f ms  %12.0f documents/s; GPU / op: %.1f x\n", op_ms,
                   n / (op_ms * 1e-3), op_ms / gpu_ms);
    }
    GPU_OK(sw_gpuFree(doff));
    GPU_OK(sw_gpuFree(dsig));
    GPU_OK(sw_gpuFree(dout));
    GPU_OK(sw_gpuFree(dbytes));
    GPU_OK(sw_gpuFree(scratch));
}

int main(int argc, char **argv)
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
    bench_minhash(argc > 1 ? argv[1] : NULL);
    return 0;
}
