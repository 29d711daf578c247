/* gpu_test.cpp — make gpu-test: every GPU kernel (hip/convert_kernels.h, hip/quant_kernels.h,
 * hip/dedup_kernels.h) against the CPU, byte for byte, on the GPU at hand (HIP or CUDA, compat.h). The CPU
 * side is twice over: plugins/common/numerics.h's functions in plain loops, and the CPU plugins themselves
 * (convert.so, quant.so from the directory given, called through their ABI), whose vector paths must agree
 * too. For MinHash the first is the dedup plugin's own per-document code, compiled in here (normalize.c,
 * shingle.c, minhash.h, xxh64.h: what its near and minhash ops run for each document, and nothing of
 * jansson or libxxhash, so this test stays standalone); the second, dedup.so, is used when the directory
 * has it (it needs jansson and libxxhash, which a bare GPU machine may lack). Sizes: empty, odd, not
 * multiples of 32 or of 256 threads, and large; values: random bits, NaNs with payloads, infinities,
 * subnormals, zero blocks, rounding ties; for MinHash, documents empty, of separators only, shorter than a
 * shingle, of 100,000 words, in several scripts and with invalid UTF-8, and batches past the grid's cap.
 * Every case runs twice: with the launchers' grid, and with a grid of 7 blocks so that each grid-stride
 * loop goes round many times. TAP output; exit 1 when any case differs. */
#include "../tools/plugin_load.h"
#include "convert_kernels.h"
#include "dedup_kernels.h"
#include "quant_kernels.h"

#include "quant/quant_ops.h"

/* The dedup plugin's per-document code, the CPU reference of the MinHash kernel. */
#include "dedup/normalize.c"
#include "dedup/shingle.c"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <string>
#include <vector>

static int tests, failed;

static void check(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %d - ", ok ? "ok" : "not ok", ++tests);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    failed += !ok;
}

#define GPU_OK(call)                                                                                           \
    do {                                                                                                       \
        sw_gpuError_t e_ = (call);                                                                             \
        if (e_ != sw_gpuSuccess) {                                                                             \
            printf("Bail out! %s: %s (%s:%d)\n", #call, sw_gpuGetErrorString(e_), __FILE__, __LINE__);       \
            exit(1);                                                                                           \
        }                                                                                                      \
    } while (0)

/* ---- Inputs ------------------------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* f32 bits worth testing: NaNs (quiet, signaling, with payloads), infinities, zeros, subnormals of f32
 * and of f16, f16's edges (65504, 65520), bf16 and f16 rounding ties, and plain values. */
static const uint32_t specials[] = {
    0x7fc00000u, 0xffc00001u, 0x7f800001u, 0xff812345u, 0x7fffffffu, 0x7f800000u, 0xff800000u, 0x00000000u,
    0x80000000u, 0x00000001u, 0x807fffffu, 0x00400000u, 0x33000000u, 0x33000001u, 0x387fc000u, 0x38800000u,
    0x477fe000u, 0x477ff000u, 0x477fefffu, 0x7f7fffffu, 0x3f808000u, 0x3f818000u, 0x3f80c000u, 0x00008000u,
    0x00018000u, 0x3f800000u, 0xc0000000u, 0x3c00ffffu, 0x3a801000u, 0x37800000u,
};

/* One f32 value of a mix: random bits, moderate values, specials, small and subnormal ones. */
static uint32_t rnd_f32(void)
{
    uint32_t r = rnd(), u = rnd();
    switch (r % 10) {
    case 0:
        return specials[u % (sizeof specials / sizeof *specials)];
    case 1:
        return (u & 0x807fffffu) | ((96u + rnd() % 24u) << 23); /* f16 subnormal range and below */
    case 2:
        return u & 0x80ffffffu; /* f32 subnormals and tiny normals */
    case 3:
    case 4:
        return u; /* any bits */
    default:
        return (u & 0x807fffffu) | ((112u + rnd() % 32u) << 23); /* about 2^-15 to 2^16 */
    }
}

/* n f32 values; blocks of 32 now and then all zero, all subnormal, ggml's public vector, or a NaN or
 * infinity among ordinary values, so the block ops meet each case. */
static std::vector<uint32_t> make_f32(uint64_t n)
{
    std::vector<uint32_t> v(n);
    for (uint64_t i = 0; i < n; i++)
        v[i] = rnd_f32();
    for (uint64_t b = 0; b + 32 <= n; b += 32) {
        uint32_t kind = rnd() % 16;
        for (int j = 0; j < 32 && kind < 5; j++) {
            float f = (float)(j - 16) / 16.0f;
            v[b + j] = kind == 0   ? 0u
                       : kind == 1 ? (rnd() & 0x807fffffu)
                       : kind == 2 ? sw_num_bits(f)
                                   : (uint32_t)((rnd() & 0x80ffffffu) | 0x3e000000u);
        }
        if (kind == 3)
            v[b + rnd() % 32] = specials[rnd() % 5]; /* a NaN or an infinity in a block */
        if (kind == 4)
            v[b + rnd() % 32] = 0x7fc00000u, v[b + rnd() % 32] = 0xff800000u;
    }
    return v;
}

/* n 16-bit values, any bits (every NaN, subnormal and infinity of f16 and bf16 turns up). */
static std::vector<uint16_t> make_u16(uint64_t n)
{
    std::vector<uint16_t> v(n);
    for (uint64_t i = 0; i < n; i++)
        v[i] = (uint16_t)rnd();
    return v;
}

/* ---- Device helpers ---------------------------------------------------------------------------------- */

static void *dev_copy(const void *src, size_t n)
{
    void *d = NULL;
    GPU_OK(sw_gpuMalloc(&d, n ? n : 1));
    if (n)
        GPU_OK(sw_gpuMemcpy(d, src, n, sw_gpuMemcpyHostToDevice));
    return d;
}

/* A device buffer of n bytes filled with 0xA5, so that a byte the kernel forgets shows up. */
static void *dev_dirty(size_t n)
{
    void *d = NULL;
    GPU_OK(sw_gpuMalloc(&d, n ? n : 1));
    GPU_OK(sw_gpuMemset(d, 0xa5, n ? n : 1));
    return d;
}

static std::vector<uint8_t> dev_fetch(const void *d, size_t n)
{
    std::vector<uint8_t> v(n);
    GPU_OK(sw_gpuDeviceSynchronize());
    if (n)
        GPU_OK(sw_gpuMemcpy(v.data(), d, n, sw_gpuMemcpyDeviceToHost));
    return v;
}

/* Where two byte strings first differ, or -1. */
static long long first_diff(const std::vector<uint8_t> &a, const std::vector<uint8_t> &b)
{
    if (a.size() != b.size())
        return 0;
    for (size_t i = 0; i < a.size(); i++)
        if (a[i] != b[i])
            return (long long)i;
    return -1;
}

static void same(const std::vector<uint8_t> &gpu, const std::vector<uint8_t> &ref, const char *what, const char *name)
{
    long long d = first_diff(gpu, ref);
    if (d < 0)
        check(true, "%s", name);
    else
        check(false, "%s: the GPU differs from %s at byte %lld (%02x, want %02x)", name, what, d,
              (size_t)d < gpu.size() ? gpu[d] : 0, (size_t)d < ref.size() ? ref[d] : 0);
}

/* ---- The CPU plugins, called through the ABI --------------------------------------------------------- */

struct swarm_call {
    char msg[512];
};

static int host_set_error(swarm_call *call, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->msg, sizeof call->msg, fmt, ap);
    va_end(ap);
    return code;
}

static std::vector<void *> scratch;

static void *host_alloc_scratch(swarm_call *call, size_t size)
{
    (void)call;
    scratch.push_back(malloc(size));
    return scratch.back();
}

static void host_log(swarm_call *call, int level, const char *msg)
{
    (void)call;
    (void)level;
    (void)msg;
}

static const swarm_host host = {SWARM_PLUGIN_ABI_VERSION, sizeof(swarm_host), host_set_error, host_alloc_scratch,
                                host_log, NULL, NULL, NULL, NULL, NULL, NULL,
                                NULL, NULL, NULL, NULL, NULL, NULL, NULL};

static const swarm_plugin *convert_cpu, *quant_cpu, *dedup_cpu;

static const swarm_plugin *load_plugin(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.so", dir, name);
    const swarm_plugin *p = tool_load_plugin(path);
    if (!p)
        printf("# no CPU plugin %s (%s): comparing with numerics.h only\n", path, dlerror());
    return p;
}

/* Runs op (its CPU variant, the first) of plugin p on inputs and returns output 0's bytes. The input
 * tensors' data start one byte into their buffers, as a tensor in a file may. */
static std::vector<uint8_t> cpu_op(const swarm_plugin *p, const char *op_name, const swarm_tensor *in, size_t nin,
                                   const std::vector<uint8_t> *bytes, int64_t param)
{
    const swarm_op *op = tool_find_op(p, op_name);
    swarm_value v[2], out;
    std::vector<uint8_t> held[2];
    for (size_t i = 0; i < nin; i++) {
        held[i].assign(bytes[i].size() + 1, 0);
        memcpy(held[i].data() + 1, bytes[i].data(), bytes[i].size());
        v[i].kind = SWARM_KIND_TENSOR;
        v[i].u.tensor = in[i];
        v[i].u.tensor.data = held[i].data();
        v[i].u.tensor.byte_offset = 1;
    }
    int64_t shape[SWARM_MAX_NDIM];
    memset(&out, 0, sizeof out);
    out.kind = SWARM_KIND_TENSOR;
    out.u.tensor.shape = shape;
    swarm_param_value pv;
    pv.i = param;
    swarm_call call = {{0}};
    const swarm_variant *var = op->variants[0];
    std::vector<uint8_t> y;
    if (var->infer(&host, &call, &pv, v, &out)) {
        printf("# %s infer: %s\n", op_name, call.msg);
        return y;
    }
    uint64_t n = 1;
    for (int d = 0; d < out.u.tensor.ndim; d++)
        n *= (uint64_t)shape[d];
    swarm_dtype dt = out.u.tensor.dtype;
    uint64_t size = dt.code == SWARM_DTYPE_Q8_0   ? n / 32 * 34
                    : dt.code == SWARM_DTYPE_Q4_0 ? n / 32 * 18
                                                  : n * dt.bits / 8;
    y.assign(size + 1, 0);
    out.u.tensor.data = y.data();
    if (var->run(&host, &call, &pv, v, &out))
        printf("# %s run: %s\n", op_name, call.msg);
    for (void *s : scratch)
        free(s);
    scratch.clear();
    y.resize(size);
    return y;
}

static swarm_tensor tensor(swarm_dtype dt, int ndim, int64_t *shape)
{
    swarm_tensor t;
    memset(&t, 0, sizeof t);
    t.device.device_type = SWARM_DEVICE_CPU;
    t.ndim = ndim;
    t.dtype = dt;
    t.shape = shape;
    return t;
}

static const swarm_dtype F32 = {SWARM_DTYPE_FLOAT, 32, 1}, F16 = {SWARM_DTYPE_FLOAT, 16, 1},
                         BF16 = {SWARM_DTYPE_BFLOAT, 16, 1}, I8 = {SWARM_DTYPE_INT, 8, 1},
                         Q8 = {SWARM_DTYPE_Q8_0, 0, 1}, Q4 = {SWARM_DTYPE_Q4_0, 0, 1};

/* ---- cast -------------------------------------------------------------------------------------------- */

static const char *const kind_names[] = {"other", "f32", "f16", "bf16"};

/* Element i of kind from, converted to kind to by numerics.h. */
static uint32_t ref_cast(const uint8_t *in, uint64_t i, int from, int to)
{
    uint32_t u;
    uint16_t h;
    if (from == CV_F32) {
        memcpy(&u, in + 4 * i, 4);
    } else {
        memcpy(&h, in + 2 * i, 2);
        u = from == CV_F16 ? sw_num_f32_of_f16(h) : (uint32_t)h << 16;
    }
    return to == CV_F32 ? u : to == CV_F16 ? sw_num_f16_of_f32(u) : sw_num_bf16_of_f32(u);
}

static void test_cast(uint64_t n, int from, int to)
{
    int ib = from == CV_F32 ? 4 : 2, ob = to == CV_F32 ? 4 : 2;
    std::vector<uint8_t> in(n * ib), ref(n * ob);
    if (from == CV_F32) {
        std::vector<uint32_t> v = make_f32(n);
        memcpy(in.data(), v.data(), in.size());
    } else {
        std::vector<uint16_t> v = make_u16(n);
        memcpy(in.data(), v.data(), in.size());
    }
    for (uint64_t i = 0; i < n; i++) {
        uint32_t r = ref_cast(in.data(), i, from, to);
        memcpy(ref.data() + ob * i, &r, ob);
    }
    void *din = dev_copy(in.data(), in.size()), *dout = dev_dirty(ref.size());
    char name[128];
    snprintf(name, sizeof name, "cast %s -> %s, %llu elements, grid cap %u", kind_names[from], kind_names[to],
             (unsigned long long)n, sw_gpu_max_blocks);
    GPU_OK(sw_gpu_cast((uint8_t *)dout, (const uint8_t *)din, n, from, to));
    std::vector<uint8_t> got = dev_fetch(dout, ref.size());
    same(got, ref, "numerics.h", name);
    if (convert_cpu && n < (1u << 22)) {
        int64_t shape[1] = {(int64_t)n};
        swarm_tensor x = tensor(from == CV_F32 ? F32 : from == CV_F16 ? F16 : BF16, 1, shape);
        same(got, cpu_op(convert_cpu, "cast", &x, 1, &in, to - CV_F32), "convert.so", name);
    }
    GPU_OK(sw_gpuFree(din));
    GPU_OK(sw_gpuFree(dout));
}

/* ---- Q8_0 / Q4_0 ------------------------------------------------------------------------------------- */

/* Raw input bytes of n elements of kind (f32 from make_f32; f16/bf16 as the 16-bit form of such values). */
static std::vector<uint8_t> make_float_bytes(uint64_t n, int kind)
{
    std::vector<uint32_t> v = make_f32(n);
    std::vector<uint8_t> b(n * (kind == SW_QK_F32 ? 4 : 2));
    for (uint64_t i = 0; i < n; i++) {
        if (kind == SW_QK_F32) {
            memcpy(b.data() + 4 * i, &v[i], 4);
        } else {
            uint16_t h = kind == SW_QK_F16 ? sw_num_f16_of_f32(v[i]) : sw_num_bf16_of_f32(v[i]);
            memcpy(b.data() + 2 * i, &h, 2);
        }
    }
    return b;
}

static float widen(const uint8_t *in, uint64_t i, int kind)
{
    uint32_t u;
    uint16_t h;
    if (kind == SW_QK_F32) {
        memcpy(&u, in + 4 * i, 4);
        return sw_num_float(u);
    }
    memcpy(&h, in + 2 * i, 2);
    return sw_num_float(kind == SW_QK_F16 ? sw_num_f32_of_f16(h) : (uint32_t)h << 16);
}

static const char *kind_name(int kind)
{
    return kind == SW_QK_F32 ? "f32" : kind == SW_QK_F16 ? "f16" : "bf16";
}

/* Quantizes rows x cols (cols a multiple of 32), then dequantizes the result, each against the CPU. */
static void test_blocks(uint64_t rows, uint64_t cols, int kind, int q4)
{
    uint64_t n = rows * cols, nb = n / 32, bb = q4 ? SW_Q4_0_BYTES : SW_Q8_0_BYTES;
    std::vector<uint8_t> in = make_float_bytes(n, kind), ref(nb * bb), dref(n * 4);
    for (uint64_t b = 0; b < nb; b++) {
        float x[32];
        for (int j = 0; j < 32; j++)
            x[j] = widen(in.data(), b * 32 + j, kind);
        (q4 ? sw_num_q4_0_block : sw_num_q8_0_block)(ref.data() + b * bb, x);
        (q4 ? sw_num_dq4_0_block : sw_num_dq8_0_block)(x, ref.data() + b * bb);
        memcpy(dref.data() + b * 128, x, 128);
    }
    void *din = dev_copy(in.data(), in.size()), *dq = dev_dirty(ref.size()), *dy = dev_dirty(dref.size());
    char name[160];
    snprintf(name, sizeof name, "quantize %s -> %s, %llux%llu, grid cap %u%s", kind_name(kind), q4 ? "q4_0" : "q8_0",
             (unsigned long long)rows, (unsigned long long)cols, sw_gpu_max_blocks,
             sw_quantize_direct ? "" : ", input via shared memory");
    GPU_OK(sw_gpu_quantize((uint8_t *)dq, (const uint8_t *)din, nb, kind, q4));
    std::vector<uint8_t> got = dev_fetch(dq, ref.size());
    same(got, ref, "numerics.h", name);
    int64_t shape[2] = {(int64_t)rows, (int64_t)cols};
    if (quant_cpu && n < (1u << 22)) {
        swarm_tensor x = tensor(kind == SW_QK_F32 ? F32 : kind == SW_QK_F16 ? F16 : BF16, 2, shape);
        same(got, cpu_op(quant_cpu, "quantize", &x, 1, &in, q4 ? QUANT_Q4_0 : QUANT_Q8_0), "quant.so", name);
    }
    snprintf(name, sizeof name, "dequantize %s, %llux%llu, grid cap %u", q4 ? "q4_0" : "q8_0",
             (unsigned long long)rows, (unsigned long long)cols, sw_gpu_max_blocks);
    GPU_OK(sw_gpu_dequantize((uint8_t *)dy, (const uint8_t *)dq, nb, q4));
    std::vector<uint8_t> y = dev_fetch(dy, dref.size());
    same(y, dref, "numerics.h", name);
    if (quant_cpu && n < (1u << 22)) {
        swarm_tensor x = tensor(q4 ? Q4 : Q8, 2, shape);
        same(y, cpu_op(quant_cpu, "dequantize", &x, 1, &ref, 0), "quant.so", name);
    }
    GPU_OK(sw_gpuFree(din));
    GPU_OK(sw_gpuFree(dq));
    GPU_OK(sw_gpuFree(dy));
}

/* ---- Per-row int8 ------------------------------------------------------------------------------------ */

/* int8_rows, row_absmax and int8_dequantize of a tensor of shape (ndim 0 to 2), against the CPU. Some rows
 * are all NaN, all zero, or hold an infinity. */
static void test_rows(int ndim, uint64_t rows, uint64_t cols, int kind)
{
    uint64_t n = rows * cols;
    std::vector<uint8_t> in = make_float_bytes(n, kind);
    int eb = kind == SW_QK_F32 ? 4 : 2;
    for (uint64_t r = 0; r < rows && cols; r += 5) {
        uint32_t pick = rnd() % 3;
        for (uint64_t j = 0; j < cols; j++) {
            uint32_t u = pick == 0 ? 0x7fc00000u : pick == 1 ? 0u : (j == cols / 2 ? 0xff800000u : rnd_f32());
            uint16_t h = kind == SW_QK_F16 ? sw_num_f16_of_f32(u) : sw_num_bf16_of_f32(u);
            memcpy(in.data() + eb * (r * cols + j), kind == SW_QK_F32 ? (void *)&u : (void *)&h, eb);
        }
    }
    std::vector<uint8_t> qref(n), sref(rows * 4), yref(n * 4);
    for (uint64_t r = 0; r < rows; r++) {
        float s = 0.0f;
        for (uint64_t j = 0; j < cols; j++)
            s = sw_num_absmax_step(s, widen(in.data(), r * cols + j, kind));
        memcpy(sref.data() + 4 * r, &s, 4);
        for (uint64_t j = 0; j < cols; j++) {
            int8_t q = sw_num_int8_row(widen(in.data(), r * cols + j, kind), s);
            float y = sw_num_int8_row_value(q, s);
            qref[r * cols + j] = (uint8_t)q;
            memcpy(yref.data() + 4 * (r * cols + j), &y, 4);
        }
    }
    void *din = dev_copy(in.data(), in.size()), *dq = dev_dirty(n), *ds = dev_dirty(rows * 4), *dy = dev_dirty(n * 4);
    char name[160];
    snprintf(name, sizeof name, "%s, %s %llux%llu (ndim %d), grid cap %u", "%s", kind_name(kind),
             (unsigned long long)rows, (unsigned long long)cols, ndim, sw_gpu_max_blocks);
    char full[200];
    GPU_OK(sw_gpu_int8_rows((int8_t *)dq, NULL, (const uint8_t *)din, rows, cols, kind));
    std::vector<uint8_t> q = dev_fetch(dq, n);
    snprintf(full, sizeof full, name, "int8_rows");
    same(q, qref, "numerics.h", full);
    GPU_OK(sw_gpu_int8_rows(NULL, (float *)ds, (const uint8_t *)din, rows, cols, kind));
    std::vector<uint8_t> s = dev_fetch(ds, rows * 4);
    snprintf(full, sizeof full, name, "row_absmax");
    same(s, sref, "numerics.h", full);
    GPU_OK(sw_gpu_int8_dequantize((float *)dy, (const int8_t *)dq, (const float *)ds, rows, cols));
    std::vector<uint8_t> y = dev_fetch(dy, n * 4);
    snprintf(full, sizeof full, name, "int8_dequantize");
    same(y, yref, "numerics.h", full);
    if (n) { /* the 64-bit index form, which only inputs of 4 Gi elements reach through the launcher */
        GPU_OK(sw_gpuMemset(dy, 0xa5, n * 4));
        sw_int8_dequantize_kernel<uint64_t><<<sw_gpu_blocks(n), SW_GPU_THREADS>>>(
            (float *)dy, (const int8_t *)dq, (const float *)ds, n, cols, cols % 4 == 0);
        GPU_OK(sw_gpuGetLastError());
        snprintf(full, sizeof full, name, "int8_dequantize, 64-bit indexes");
        same(dev_fetch(dy, n * 4), yref, "numerics.h", full);
    }
    if (quant_cpu && n < (1u << 22)) {
        int64_t shape[2] = {(int64_t)rows, (int64_t)cols}, *sh = ndim == 2 ? shape : shape + 1;
        swarm_tensor x = tensor(kind == SW_QK_F32 ? F32 : kind == SW_QK_F16 ? F16 : BF16, ndim, sh);
        snprintf(full, sizeof full, name, "int8_rows");
        same(q, cpu_op(quant_cpu, "int8_rows", &x, 1, &in, 0), "quant.so", full);
        snprintf(full, sizeof full, name, "row_absmax");
        same(s, cpu_op(quant_cpu, "row_absmax", &x, 1, &in, 0), "quant.so", full);
        swarm_tensor pair[2] = {tensor(I8, ndim, sh), tensor(F32, ndim ? ndim - 1 : 0, shape)};
        std::vector<uint8_t> both[2] = {qref, sref};
        snprintf(full, sizeof full, name, "int8_dequantize");
        same(y, cpu_op(quant_cpu, "int8_dequantize", pair, 2, both, 0), "quant.so", full);
    }
    GPU_OK(sw_gpuFree(din));
    GPU_OK(sw_gpuFree(dq));
    GPU_OK(sw_gpuFree(ds));
    GPU_OK(sw_gpuFree(dy));
}


/* ---- MinHash ----------------------------------------------------------------------------------------- */

/* A batch of documents as a record batch: offsets (count + 1) and bytes. */
struct doc_batch {
    std::vector<uint64_t> offsets;
    std::vector<uint8_t> bytes;
};

static doc_batch make_batch(const std::vector<std::string> &docs)
{
    doc_batch b;
    b.offsets.push_back(0);
    for (const std::string &d : docs) {
        b.bytes.insert(b.bytes.end(), d.begin(), d.end());
        b.offsets.push_back(b.bytes.size());
    }
    return b;
}

/* Runs dedup.so's minhash op (its CPU variant) on a batch through the ABI: the output's bytes, or nothing
 * when it fails. Each record must be 8 k bytes at offset i x 8 k. */
static std::vector<uint8_t> cpu_minhash_op(const doc_batch &b, uint64_t s, int64_t bands, int64_t rows, uint64_t seed)
{
    const swarm_op *op = NULL;
    for (size_t i = 0; i < dedup_cpu->n_ops; i++)
        if (!strcmp(dedup_cpu->ops[i]->name, "minhash"))
            op = dedup_cpu->ops[i];
    std::vector<uint8_t> y;
    if (!op) {
        printf("# dedup.so has no op minhash\n");
        return y;
    }
    uint64_t count = b.offsets.size() - 1;
    std::vector<uint8_t> bytes(b.bytes.size() + 1);
    memcpy(bytes.data(), b.bytes.data(), b.bytes.size());
    swarm_value in, out;
    memset(&in, 0, sizeof in);
    memset(&out, 0, sizeof out);
    in.kind = out.kind = SWARM_KIND_RECORDS;
    in.u.records.count = count;
    in.u.records.offsets = (uint64_t *)b.offsets.data();
    in.u.records.bytes = bytes.data();
    in.u.records.nbytes = b.bytes.size();
    swarm_param_value pv[5];
    pv[0].s = "";
    pv[1].i = (int64_t)s;
    pv[2].i = bands;
    pv[3].i = rows;
    pv[4].i = (int64_t)seed;
    swarm_call call = {{0}};
    const swarm_variant *var = op->variants[0];
    if (var->infer(&host, &call, pv, &in, &out)) {
        printf("# minhash infer: %s\n", call.msg);
        return y;
    }
    std::vector<uint64_t> offs(out.u.records.count + 1);
    y.assign(out.u.records.nbytes + 1, 0);
    out.u.records.offsets = offs.data();
    out.u.records.bytes = y.data();
    int rc = var->run(&host, &call, pv, &in, &out);
    for (void *p : scratch)
        free(p);
    scratch.clear();
    bool sound = !rc && out.u.records.count == count;
    for (uint64_t i = 0; sound && i <= count; i++)
        sound = offs[i] == i * 8 * (uint64_t)(bands * rows);
    if (!sound) {
        printf("# minhash run: %s\n", rc ? call.msg : "records of the wrong size");
        y.clear();
        return y;
    }
    y.resize(count * 8 * (uint64_t)(bands * rows));
    return y;
}

/* The signatures of a batch (k = bands x rows permutations of seed, shingles of s words) on the GPU,
 * against the plugin's per-document code (dd_normalize, dd_signature), and against dd_signature through
 * dedup.so's minhash op when it is loaded; the output's offsets too. */
static void test_minhash(const std::vector<std::string> &docs, const char *what, uint64_t s, int64_t bands,
                         int64_t rows, uint64_t seed)
{
    int k = (int)(bands * rows);
    doc_batch b = make_batch(docs);
    uint64_t count = docs.size(), nbytes = b.bytes.size();
    std::vector<uint64_t> a(k), bb(k), ref(count * k);
    dd_draw_permutations(seed, k, a.data(), bb.data());
    for (uint64_t i = 0; i < count; i++) {
        size_t len = docs[i].size();
        std::vector<uint8_t> t(len + 1);
        std::vector<size_t> ring(dd_ring_len(len, s) + 1);
        size_t n = dd_normalize((const uint8_t *)docs[i].data(), len, t.data());
        dd_signature(t.data(), n, s, k, a.data(), bb.data(), ref.data() + i * k, ring.data(), dd_minhash_fold_block);
    }
    std::vector<uint8_t> want(count * k * 8);
    memcpy(want.data(), ref.data(), want.size());
    void *doff = dev_copy(b.offsets.data(), b.offsets.size() * 8), *dbytes = dev_copy(b.bytes.data(), nbytes);
    void *dsig = dev_dirty(want.size()), *dout = dev_dirty((count + 1) * 8);
    void *dscratch = dev_dirty(sw_gpu_minhash_scratch(count, nbytes));
    char name[200];
    snprintf(name, sizeof name,
             "minhash %s: %llu documents, %llu bytes, shingle %llu, %lld x %lld, seed %llu, grid cap %u", what,
             (unsigned long long)count, (unsigned long long)nbytes, (unsigned long long)s, (long long)bands,
             (long long)rows, (unsigned long long)seed, sw_gpu_max_blocks);
    GPU_OK(sw_gpu_minhash((uint64_t *)dsig, (uint64_t *)dout, (const uint64_t *)doff, (const uint8_t *)dbytes, count,
                          nbytes, s, k, seed, dscratch));
    std::vector<uint8_t> got = dev_fetch(dsig, want.size()), offs = dev_fetch(dout, (count + 1) * 8);
    same(got, want, "normalize.c + shingle.c", name);
    bool offsets_ok = true;
    for (uint64_t i = 0; i <= count; i++) {
        uint64_t o;
        memcpy(&o, offs.data() + 8 * i, 8);
        offsets_ok = offsets_ok && o == i * 8 * (uint64_t)k;
    }
    check(offsets_ok, "%s: the output's offsets are i x %d", name, 8 * k);
    if (dedup_cpu && nbytes < (64u << 20))
        same(got, cpu_minhash_op(b, s, bands, rows, seed), "dedup.so's minhash", name);
    GPU_OK(sw_gpuFree(doff));
    GPU_OK(sw_gpuFree(dbytes));
    GPU_OK(sw_gpuFree(dsig));
    GPU_OK(sw_gpuFree(dout));
    GPU_OK(sw_gpuFree(dscratch));
}

/* A word of 1 to 12 bytes: mostly ASCII letters, sometimes capitals, digits, or a non-ASCII character
 * (Latin-1 letters, CJK, Cyrillic, an emoji), rarely a stray byte of invalid UTF-8. */
static std::string rnd_word(void)
{
    static const char *const odd[] = {"\xc3\xa9",         "\xc3\x89",     "\xc3\x9f",     "\xe6\x97\xa5",
                                      "\xe6\x9c\xac",     "\xd0\xbf",     "\xf0\x9f\x98\x80", "\xe2\x81\xb0",
                                      "\xe2\x82\xac",     "\xc2\xa1",     "\xff",         "\xe2\x80"};
    std::string w;
    int n = 1 + (int)(rnd() % 12);
    for (int i = 0; i < n; i++) {
        uint32_t r = rnd() % 40;
        if (r < 30)
            w += (char)('a' + rnd() % 26);
        else if (r < 33)
            w += (char)('A' + rnd() % 26);
        else if (r < 35)
            w += (char)('0' + rnd() % 10);
        else
            w += odd[rnd() % (sizeof odd / sizeof *odd)];
    }
    return w;
}

/* What goes between words: mostly one space, sometimes punctuation, runs of whitespace, U+00A0, or a
 * General Punctuation character (U+2014, U+201C, U+2026, U+206F). */
static std::string rnd_gap(void)
{
    static const char *const gaps[] = {", ", ". ", "  ", "\t", "\n\n", " - ", "!", "\xc2\xa0", "\xe2\x80\x94",
                                       " \xe2\x80\x9c", "\xe2\x80\xa6 ", "\xe2\x81\xaf", "\"", "(", ") "};
    return rnd() % 4 ? std::string(" ") : std::string(gaps[rnd() % (sizeof gaps / sizeof *gaps)]);
}

/* A document of n words (and punctuation around them now and then). */
static std::string rnd_doc(uint64_t n)
{
    std::string d = rnd() % 8 ? "" : rnd_gap();
    for (uint64_t i = 0; i < n; i++) {
        if (i)
            d += rnd_gap();
        d += rnd_word();
    }
    if (rnd() % 8 == 0)
        d += rnd_gap();
    return d;
}

static void run_minhash(void)
{
    /* short documents of every kind, an odd count */
    std::vector<std::string> docs = {"", "   ", "!!! ... \xe2\x80\x94 \xc2\xa0", "x", "Two words", "one two three four",
                                     "Five words are exactly here", "Six words: one more than five",
                                     "\xc3\x89" "cole \xc3\x9c" "BER stra\xc3\x9f"
                                     "e \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
                                     "\xd0\xbf\xd1\x80\xd0\xb8 \xe2\x80\x9cquoted\xe2\x80\x9d 1999 \xf0\x9f\x98\x80",
                                     "a\xe2\x80\x94" "b\xe2\x80" "c\xe2\x81\xaf" "d\xc2" "e \xff\xfe broken \xe2\x81",
                                     std::string("nul\0inside text", 15)};
    for (int i = 0; i < 290; i++)
        docs.push_back(rnd_doc(rnd() % (i % 10 ? 300 : 3000)));
    docs.push_back("");
    static const struct {
        uint64_t s;
        int64_t bands, rows;
        uint64_t seed;
    } params[] = {{5, 14, 8, 1}, {5, 14, 8, 2}, {5, 14, 8, 0xdeadbeefcafef00dull}, {1, 64, 1, 7},  {3, 9, 13, 5},
                  {40, 1, 1, 0}, {2, 16, 16, 3}, {5, 257, 1, 4}, {4, 32, 32, 11}, {1000000, 3, 5, 9},
                  {5, 129, 1, 6}};
    for (auto &p : params)
        test_minhash(docs, "mixed", p.s, p.bands, p.rows, p.seed);
    std::vector<std::string> one = {docs[8]}, none, empties = {"", "", " "};
    test_minhash(one, "one document", 5, 14, 8, 1);
    test_minhash(none, "no documents", 5, 14, 8, 1);
    test_minhash(empties, "empty documents", 5, 14, 8, 1);
}

/* Long documents: 100k words each (many chunks of the normalization, many tiles of shingles), beside short
 * ones; and many documents, past the grid's cap. */
static void run_minhash_large(void)
{
    std::vector<std::string> docs;
    for (int i = 0; i < 5; i++)
        docs.push_back(rnd_doc(i == 2 ? 7 : 100000));
    test_minhash(docs, "long", 5, 14, 8, 1);
    test_minhash(docs, "long", 3, 32, 32, 77);
    std::vector<std::string> many;
    for (int i = 0; i < 70001; i++)
        many.push_back(rnd_doc(rnd() % 60));
    test_minhash(many, "many", 5, 14, 8, 1);
}

/* ---- main -------------------------------------------------------------------------------------------- */

static void run_all(void)
{
    static const uint64_t cast_sizes[] = {0, 1, 7, 8, 9, 31, 33, 255, 256, 257, 1000, 2049, 65536 + 13, 1000003};
    for (int from = CV_F32; from <= CV_BF16; from++)
        for (int to = CV_F32; to <= CV_BF16; to++)
            for (uint64_t n : cast_sizes)
                if (from != to)
                    test_cast(n, from, to);
    static const uint64_t block_shapes[][2] = {{1, 32}, {1, 64}, {3, 96}, {255, 32}, {1, 256 * 32}, {257, 32},
                                               {7, 4096 + 32}, {1000, 320}, {4099, 96}};
    for (int direct = 1; direct >= 0; direct--)
        for (int kind : {SW_QK_F32, SW_QK_F16, SW_QK_BF16})
            for (int q4 = 0; q4 < 2; q4++)
                for (auto &sh : block_shapes) {
                    sw_quantize_direct = direct;
                    test_blocks(sh[0], sh[1], kind, q4);
                }
    sw_quantize_direct = 1;
    static const uint64_t row_shapes[][2] = {{1, 1},  {3, 0},    {5, 1},     {7, 5},    {1000, 63},
                                             {9, 64}, {33, 257}, {300, 1000}, {2, 70001}, {4099, 3}};
    for (int kind : {SW_QK_F32, SW_QK_F16, SW_QK_BF16}) {
        test_rows(0, 1, 1, kind);
        test_rows(1, 1, 300, kind);
        for (auto &sh : row_shapes)
            test_rows(2, sh[0], sh[1], kind);
    }
    run_minhash();
}

int main(int argc, char **argv)
{
    int count = 0;
    sw_gpuDeviceProp prop;
    sw_gpuError_t e = sw_gpuGetDeviceCount(&count);
    if (e != sw_gpuSuccess || count < 1) {
        printf("1..0 # skip no %s device (%s)\n", SW_GPU_API, e != sw_gpuSuccess ? sw_gpuGetErrorString(e) : "none");
        return 0;
    }
    GPU_OK(sw_gpuGetDeviceProperties(&prop, 0));
    printf("# %s device 0: %s\n", SW_GPU_API, prop.name);
    if (argc > 1) {
        convert_cpu = load_plugin(argv[1], "convert");
        quant_cpu = load_plugin(argv[1], "quant");
        dedup_cpu = load_plugin(argv[1], "dedup");
    }
    run_all();
    sw_gpu_max_blocks = 7;
    run_all();
    sw_gpu_max_blocks = SW_GPU_MAX_BLOCKS;
    /* Large: past the default grid, so the launchers' own grid-stride loops go round. */
    test_cast((uint64_t)SW_GPU_MAX_BLOCKS * SW_GPU_THREADS * 8 + 12345, CV_F32, CV_BF16);
    test_cast((uint64_t)SW_GPU_MAX_BLOCKS * SW_GPU_THREADS * 8 + 77, CV_F16, CV_F32);
    test_blocks(1 << 14, 4096 + 64, SW_QK_F32, 0);
    test_blocks(1 << 14, 4096 + 64, SW_QK_BF16, 1);
    test_rows(2, 70000, 1000, SW_QK_F32);
    test_rows(2, 1 << 20, 7, SW_QK_BF16);
    run_minhash_large();
    printf("1..%d\n", tests);
    if (failed)
        printf("# %d of %d failed\n", failed, tests);
    return failed ? 1 : 0;
}
