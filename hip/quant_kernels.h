/* quant_kernels.h — the GPU kernels of the quant plugin's ops, HIP and CUDA alike (compat.h): ggml's Q8_0
 * and Q4_0 (quantize, dequantize) and per-row int8 (int8_rows, row_absmax, int8_dequantize). Every block
 * and element goes through plugins/common/numerics.h's functions, the CPU plugin's own, so the bytes are
 * the CPU's by construction. Included by hip/quant_hip.cpp (the companion) and by tests/gpu/.
 *
 * Q8_0 / Q4_0: one thread per 32-element block, so each block's max is taken in ggml's order (which
 * decides what a NaN does). A CUDA block of SW_GPU_THREADS threads works on a tile of that many blocks.
 * Quantize: each thread reads its own block's floats with 16-byte loads, converts it into shared memory,
 * and the tile's output goes out with coalesced 16-byte stores. Dequantize: the tile's input comes into
 * shared memory with coalesced 16-byte loads, each thread converts its block there, and the tile's
 * floats go out coalesced. Float rows in shared memory are padded by 16 bytes so that the threads'
 * 16-byte accesses to their own rows hit distinct banks.
 *
 * Per-row int8: the row's absmax skips NaNs (sw_num_absmax_step), so any order of reduction gives the same
 * s. Long rows take one CUDA block each (a grid-stride loop over rows, 16-byte loads, a shared-memory tree
 * that needs no wave size), short rows one thread each.
 *
 * Launchers are asynchronous and return the launch's error; buffers are device memory aligned to their
 * element size (the companion's run checks). */
#ifndef SW_GPU_QUANT_KERNELS_H
#define SW_GPU_QUANT_KERNELS_H

#include "compat.h"
#include "common/numerics.h"
#include "convert_kernels.h"

/* Float kinds, as quant_float_kind names them: 32 (f32), 16 (f16), 17 (bf16). */
enum { SW_QK_F32 = 32, SW_QK_F16 = 16, SW_QK_BF16 = 17 };

/* One element of a float kind at index i, widened exactly to f32. */
template <int KIND> __device__ __forceinline__ float sw_qk_load(const uint8_t *in, uint64_t i)
{
    if constexpr (KIND == SW_QK_F32) {
        return ((const float *)in)[i];
    } else {
        uint16_t h = ((const uint16_t *)in)[i];
        return sw_num_float(KIND == SW_QK_F16 ? sw_num_f32_of_f16(h) : (uint32_t)h << 16);
    }
}

/* ---- Tiles: coalesced copies between global and shared memory --------------------------------------- */

/* Where byte o of a tile of rows of ROW bytes lies in shared memory whose rows are SROW bytes apart. */
template <int ROW, int SROW> __device__ __forceinline__ uint32_t sw_tile_at(uint32_t o)
{
    return ROW == SROW ? o : o / ROW * SROW + o % ROW;
}

/* Copies the bytes rows of ROW bytes at src (global) into sh (shared, rows SROW apart), with 16-byte
 * loads when vec (src 16-byte aligned; a 16-byte piece never straddles two padded rows because a padded
 * ROW is a multiple of 16). */
template <int ROW, int SROW>
__device__ __forceinline__ void sw_tile_load(uint8_t *sh, const uint8_t *src, uint32_t bytes, int vec)
{
    uint32_t whole = vec ? bytes / 16 * 16 : 0;
    for (uint32_t o = threadIdx.x * 16; o < whole; o += blockDim.x * 16)
        *(uint4 *)(sh + sw_tile_at<ROW, SROW>(o)) = *(const uint4 *)(src + o);
    for (uint32_t o = whole + threadIdx.x; o < bytes; o += blockDim.x)
        sh[sw_tile_at<ROW, SROW>(o)] = src[o];
}

/* The reverse: bytes from sh (rows SROW apart) to dst (global, rows ROW apart). */
template <int ROW, int SROW>
__device__ __forceinline__ void sw_tile_store(uint8_t *dst, const uint8_t *sh, uint32_t bytes, int vec)
{
    uint32_t whole = vec ? bytes / 16 * 16 : 0;
    for (uint32_t o = threadIdx.x * 16; o < whole; o += blockDim.x * 16)
        *(uint4 *)(dst + o) = *(const uint4 *)(sh + sw_tile_at<ROW, SROW>(o));
    for (uint32_t o = whole + threadIdx.x; o < bytes; o += blockDim.x)
        dst[o] = sh[sw_tile_at<ROW, SROW>(o)];
}

/* Bytes of one 32-element block of a float kind, and of its padded row in shared memory. */
template <int KIND> struct sw_qk_row {
    static const int bytes = KIND == SW_QK_F32 ? 4 * SW_QK : 2 * SW_QK;
    static const int padded = bytes + 16;
};

/* The 32 floats of a block from its padded shared row, with 16-byte reads. */
template <int KIND> __device__ __forceinline__ void sw_qk_row_load(float x[SW_QK], const uint8_t *row)
{
    const uint4 *p = (const uint4 *)row;
    if constexpr (KIND == SW_QK_F32) {
        for (int k = 0; k < SW_QK / 4; k++) {
            uint4 v = p[k];
            x[4 * k] = sw_num_float(v.x), x[4 * k + 1] = sw_num_float(v.y);
            x[4 * k + 2] = sw_num_float(v.z), x[4 * k + 3] = sw_num_float(v.w);
        }
    } else {
        for (int k = 0; k < SW_QK / 8; k++) {
            uint4 v = p[k];
            uint32_t w[4] = {v.x, v.y, v.z, v.w};
            for (int j = 0; j < 4; j++) {
                uint16_t lo = (uint16_t)(w[j] & 0xffffu), hi = (uint16_t)(w[j] >> 16);
                x[8 * k + 2 * j] = sw_num_float(KIND == SW_QK_F16 ? sw_num_f32_of_f16(lo) : (uint32_t)lo << 16);
                x[8 * k + 2 * j + 1] = sw_num_float(KIND == SW_QK_F16 ? sw_num_f32_of_f16(hi) : (uint32_t)hi << 16);
            }
        }
    }
}

/* ---- Q8_0 / Q4_0 ------------------------------------------------------------------------------------- */

/* How quantize reads its input: each thread its own block straight from global memory, 16 bytes at a
 * time (1, the default: no barrier between loading and computing, so memory and arithmetic overlap), or
 * the tile through shared memory first (0). Both give the same bytes; bench-gpu times both. */
static int sw_quantize_direct = 1;

/* Quantizes nblocks blocks of a float kind into Q8_0 (Q4 = 0) or Q4_0 (Q4 = 1), a tile of blocks per
 * CUDA block; the output goes out through shared memory in coalesced 16-byte stores. */
template <int KIND, int Q4, int DIRECT>
__global__ void __launch_bounds__(SW_GPU_THREADS) sw_quantize_kernel(uint8_t *out, const uint8_t *in,
                                                                     uint64_t nblocks, int vec)
{
    const int IN = sw_qk_row<KIND>::bytes, SIN = DIRECT ? 16 : sw_qk_row<KIND>::padded;
    const int OUT = Q4 ? SW_Q4_0_BYTES : SW_Q8_0_BYTES;
    __shared__ __align__(16) uint8_t sin[DIRECT ? 16 : SW_GPU_THREADS * SIN];
    __shared__ __align__(16) uint8_t sout[SW_GPU_THREADS * OUT];
    uint64_t ntiles = (nblocks + SW_GPU_THREADS - 1) / SW_GPU_THREADS;
    for (uint64_t tile = blockIdx.x; tile < ntiles; tile += gridDim.x) {
        uint64_t first = tile * SW_GPU_THREADS;
        uint32_t nb = nblocks - first < SW_GPU_THREADS ? (uint32_t)(nblocks - first) : SW_GPU_THREADS;
        if (!DIRECT) {
            sw_tile_load<IN, SIN>(sin, in + first * IN, nb * IN, vec);
            __syncthreads();
        }
        if (threadIdx.x < nb) {
            float x[SW_QK];
            const uint8_t *row = in + (first + threadIdx.x) * IN;
            if (!DIRECT)
                sw_qk_row_load<KIND>(x, sin + threadIdx.x * SIN);
            else if (vec)
                sw_qk_row_load<KIND>(x, row); /* a row of 128 or 64 bytes: 16-byte aligned */
            else
                for (int j = 0; j < SW_QK; j++)
                    x[j] = sw_qk_load<KIND>(row, j);
            if (Q4)
                sw_num_q4_0_block(sout + threadIdx.x * OUT, x);
            else
                sw_num_q8_0_block(sout + threadIdx.x * OUT, x);
        }
        __syncthreads();
        sw_tile_store<OUT, OUT>(out + first * OUT, sout, nb * OUT, vec);
        __syncthreads();
    }
}

/* Dequantizes nblocks Q8_0 (Q4 = 0) or Q4_0 blocks to f32, a tile per CUDA block. */
template <int Q4>
__global__ void __launch_bounds__(SW_GPU_THREADS) sw_dequantize_kernel(uint8_t *out, const uint8_t *in,
                                                                       uint64_t nblocks, int vec)
{
    const int IN = Q4 ? SW_Q4_0_BYTES : SW_Q8_0_BYTES;
    const int OUT = 4 * SW_QK, SOUT = OUT + 16;
    __shared__ __align__(16) uint8_t sin[SW_GPU_THREADS * IN];
    __shared__ __align__(16) uint8_t sout[SW_GPU_THREADS * SOUT];
    uint64_t ntiles = (nblocks + SW_GPU_THREADS - 1) / SW_GPU_THREADS;
    for (uint64_t tile = blockIdx.x; tile < ntiles; tile += gridDim.x) {
        uint64_t first = tile * SW_GPU_THREADS;
        uint32_t nb = nblocks - first < SW_GPU_THREADS ? (uint32_t)(nblocks - first) : SW_GPU_THREADS;
        sw_tile_load<IN, IN>(sin, in + first * IN, nb * IN, vec);
        __syncthreads();
        if (threadIdx.x < nb) {
            float y[SW_QK];
            if (Q4)
                sw_num_dq4_0_block(y, sin + threadIdx.x * IN);
            else
                sw_num_dq8_0_block(y, sin + threadIdx.x * IN);
            uint4 *row = (uint4 *)(sout + threadIdx.x * SOUT);
            for (int k = 0; k < SW_QK / 4; k++)
                row[k] = make_uint4(sw_num_bits(y[4 * k]), sw_num_bits(y[4 * k + 1]), sw_num_bits(y[4 * k + 2]),
                                    sw_num_bits(y[4 * k + 3]));
        }
        __syncthreads();
        sw_tile_store<OUT, SOUT>(out + first * OUT, sout, nb * OUT, vec);
        __syncthreads();
    }
}

template <int KIND, int Q4> static void sw_quantize_launch(uint8_t *out, const uint8_t *in, uint64_t nblocks, int vec)
{
    unsigned grid = sw_gpu_blocks(nblocks);
    if (sw_quantize_direct)
        sw_quantize_kernel<KIND, Q4, 1><<<grid, SW_GPU_THREADS>>>(out, in, nblocks, vec);
    else
        sw_quantize_kernel<KIND, Q4, 0><<<grid, SW_GPU_THREADS>>>(out, in, nblocks, vec);
}

/* Quantizes nblocks blocks of kind (SW_QK_F32/F16/BF16) to Q8_0 or Q4_0 (q4). */
static sw_gpuError_t sw_gpu_quantize(uint8_t *out, const uint8_t *in, uint64_t nblocks, int kind, int q4)
{
    if (!nblocks)
        return sw_gpuSuccess;
    int vec = sw_gpu_aligned(out, 16) && sw_gpu_aligned(in, 16);
    if (kind == SW_QK_F32)
        q4 ? sw_quantize_launch<SW_QK_F32, 1>(out, in, nblocks, vec) : sw_quantize_launch<SW_QK_F32, 0>(out, in, nblocks, vec);
    else if (kind == SW_QK_F16)
        q4 ? sw_quantize_launch<SW_QK_F16, 1>(out, in, nblocks, vec) : sw_quantize_launch<SW_QK_F16, 0>(out, in, nblocks, vec);
    else
        q4 ? sw_quantize_launch<SW_QK_BF16, 1>(out, in, nblocks, vec)
           : sw_quantize_launch<SW_QK_BF16, 0>(out, in, nblocks, vec);
    return sw_gpuGetLastError();
}

/* Dequantizes nblocks Q8_0 or Q4_0 (q4) blocks to f32. */
static sw_gpuError_t sw_gpu_dequantize(uint8_t *out, const uint8_t *in, uint64_t nblocks, int q4)
{
    if (!nblocks)
        return sw_gpuSuccess;
    unsigned grid = sw_gpu_blocks(nblocks);
    int vec = sw_gpu_aligned(out, 16) && sw_gpu_aligned(in, 16);
    if (q4)
        sw_dequantize_kernel<1><<<grid, SW_GPU_THREADS>>>(out, in, nblocks, vec);
    else
        sw_dequantize_kernel<0><<<grid, SW_GPU_THREADS>>>(out, in, nblocks, vec);
    return sw_gpuGetLastError();
}

/* ---- Per-row int8 ------------------------------------------------------------------------------------ */

/* Rows at least this long take a CUDA block each; shorter ones a thread each. */
#define SW_ROW_BLOCK_MIN 64

/* Elements of a float kind in 16 bytes, and those 16 bytes widened exactly to f32. */
template <int KIND> struct sw_qk_vec {
    static const int n = KIND == SW_QK_F32 ? 4 : 8;
};

template <int KIND> __device__ __forceinline__ void sw_qk_unpack(float *x, uint4 v)
{
    uint32_t w[4] = {v.x, v.y, v.z, v.w};
    for (int k = 0; k < 4; k++) {
        if constexpr (KIND == SW_QK_F32) {
            x[k] = sw_num_float(w[k]);
        } else {
            uint16_t lo = (uint16_t)(w[k] & 0xffffu), hi = (uint16_t)(w[k] >> 16);
            x[2 * k] = sw_num_float(KIND == SW_QK_F16 ? sw_num_f32_of_f16(lo) : (uint32_t)lo << 16);
            x[2 * k + 1] = sw_num_float(KIND == SW_QK_F16 ? sw_num_f32_of_f16(hi) : (uint32_t)hi << 16);
        }
    }
}

/* 16-byte loads each thread keeps in flight in a row's loops. */
#define SW_ROW_UNROLL 4

/* Loads the SW_ROW_UNROLL vectors j, j + blockDim.x, ... of a row of nv vectors (zeros past its end,
 * which leave an absmax unchanged). */
__device__ __forceinline__ void sw_row_loads(uint4 v[SW_ROW_UNROLL], const uint4 *p, uint64_t j, uint64_t nv)
{
    for (int u = 0; u < SW_ROW_UNROLL; u++) {
        uint64_t k = j + (uint64_t)u * blockDim.x;
        v[u] = k < nv ? p[k] : make_uint4(0, 0, 0, 0);
    }
}

/* Quantizes the V elements of vector k of a row with scale sc into q (V int8 in one 4- or 8-byte store). */
template <int KIND> __device__ __forceinline__ void sw_row_store_q(int8_t *q, uint64_t k, uint4 v, float sc)
{
    const int V = sw_qk_vec<KIND>::n;
    float x[V];
    uint32_t b[2] = {0, 0};
    sw_qk_unpack<KIND>(x, v);
    for (int e = 0; e < V; e++)
        b[e / 4] |= (uint32_t)(uint8_t)sw_num_int8_row(x[e], sc) << (8 * (e % 4));
    if constexpr (V == 4)
        ((uint32_t *)q)[k] = b[0];
    else
        ((uint2 *)q)[k] = make_uint2(b[0], b[1]);
}

/* The absmax of each row of cols elements (one CUDA block per row): s[row] when s, and the row quantized
 * into q when q. vec: rows are whole 16-byte vectors, aligned (q's rows too); each thread then keeps
 * SW_ROW_UNROLL 16-byte loads in flight. The tree halves a shared array: it needs SW_GPU_THREADS to be
 * a power of two, not a wave size. */
template <int KIND>
__global__ void __launch_bounds__(SW_GPU_THREADS) sw_rows_block_kernel(int8_t *q, float *s, const uint8_t *in,
                                                                       uint64_t rows, uint64_t cols, int vec)
{
    const int V = sw_qk_vec<KIND>::n, EB = KIND == SW_QK_F32 ? 4 : 2;
    __shared__ float red[SW_GPU_THREADS];
    const uint64_t nv = vec ? cols / V : 0, step = (uint64_t)blockDim.x * SW_ROW_UNROLL;
    for (uint64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const uint64_t base = r * cols;
        const uint4 *p = (const uint4 *)(in + base * EB);
        float m = 0.0f;
        uint4 v[SW_ROW_UNROLL] = {};
        for (uint64_t j = threadIdx.x; j < nv; j += step) {
            sw_row_loads(v, p, j, nv);
            for (int u = 0; u < SW_ROW_UNROLL; u++) {
                float x[V];
                sw_qk_unpack<KIND>(x, v[u]);
                for (int e = 0; e < V; e++)
                    m = sw_num_absmax_step(m, x[e]);
            }
        }
        for (uint64_t j = nv * V + threadIdx.x; j < cols; j += blockDim.x)
            m = sw_num_absmax_step(m, sw_qk_load<KIND>(in, base + j));
        red[threadIdx.x] = m;
        __syncthreads();
        for (unsigned half = SW_GPU_THREADS / 2; half > 0; half /= 2) {
            if (threadIdx.x < half)
                red[threadIdx.x] = sw_num_absmax_step(red[threadIdx.x], red[threadIdx.x + half]);
            __syncthreads();
        }
        float sc = red[0];
        if (s && threadIdx.x == 0)
            s[r] = sc;
        if (q) {
            /* A row of one round (up to 16 KiB) is still in v: quantized from registers, not read again. */
            for (uint64_t j = threadIdx.x; j < nv; j += step) {
                if (nv > step)
                    sw_row_loads(v, p, j, nv);
                for (int u = 0; u < SW_ROW_UNROLL; u++)
                    if (j + (uint64_t)u * blockDim.x < nv)
                        sw_row_store_q<KIND>(q + base, j + (uint64_t)u * blockDim.x, v[u], sc);
            }
            for (uint64_t j = nv * V + threadIdx.x; j < cols; j += blockDim.x)
                q[base + j] = sw_num_int8_row(sw_qk_load<KIND>(in, base + j), sc);
        }
        __syncthreads(); /* red[0] is read above before the next row overwrites it */
    }
}

/* The same for short rows, one thread per row, in the CPU's order. */
template <int KIND>
__global__ void sw_rows_thread_kernel(int8_t *q, float *s, const uint8_t *in, uint64_t rows, uint64_t cols)
{
    uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
    for (uint64_t r = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; r < rows; r += stride) {
        const uint64_t base = r * cols;
        float m = 0.0f;
        for (uint64_t j = 0; j < cols; j++)
            m = sw_num_absmax_step(m, sw_qk_load<KIND>(in, base + j));
        if (s)
            s[r] = m;
        if (q)
            for (uint64_t j = 0; j < cols; j++)
                q[base + j] = sw_num_int8_row(sw_qk_load<KIND>(in, base + j), m);
    }
}

template <int KIND> static void sw_rows_launch(int8_t *q, float *s, const uint8_t *in, uint64_t rows, uint64_t cols)
{
    const int V = sw_qk_vec<KIND>::n;
    int vec = cols % V == 0 && sw_gpu_aligned(in, 16) && (!q || sw_gpu_aligned(q, V));
    if (cols >= SW_ROW_BLOCK_MIN)
        sw_rows_block_kernel<KIND><<<rows < sw_gpu_max_blocks ? (unsigned)rows : sw_gpu_max_blocks, SW_GPU_THREADS>>>(
            q, s, in, rows, cols, vec);
    else
        sw_rows_thread_kernel<KIND><<<sw_gpu_blocks(rows), SW_GPU_THREADS>>>(q, s, in, rows, cols);
}

/* Per-row int8 of rows x cols elements of kind: q (rows x cols i8) and/or s (rows f32) may be NULL.
 * Rows of 0 elements have s = 0 (the fold's start). */
static sw_gpuError_t sw_gpu_int8_rows(int8_t *q, float *s, const uint8_t *in, uint64_t rows, uint64_t cols, int kind)
{
    if (!rows)
        return sw_gpuSuccess;
    if (!cols)
        return s ? sw_gpuMemset(s, 0, rows * sizeof(float)) : sw_gpuSuccess; /* +0.0f is all zero bits */
    if (kind == SW_QK_F32)
        sw_rows_launch<SW_QK_F32>(q, s, in, rows, cols);
    else if (kind == SW_QK_F16)
        sw_rows_launch<SW_QK_F16>(q, s, in, rows, cols);
    else
        sw_rows_launch<SW_QK_BF16>(q, s, in, rows, cols);
    return sw_gpuGetLastError();
}

/* y = q * s[row] / 127 for n = rows x cols elements, 4 at a time when vec (cols a multiple of 4, buffers
 * 16-byte aligned). I is the index type: 32 bits when n allows (a 64-bit division per group costs more
 * than the group's memory traffic). */
template <typename I>
__global__ void sw_int8_dequantize_kernel(float *y, const int8_t *q, const float *s, I n, I cols, int vec)
{
    I tid = (I)blockIdx.x * blockDim.x + threadIdx.x;
    I stride = (I)gridDim.x * blockDim.x;
    I groups = vec ? n / 4 : 0;
    for (I g = tid; g < groups; g += stride) {
        uint32_t w = ((const uint32_t *)q)[g];
        float sc = s[g * 4 / cols];
        ((uint4 *)y)[g] = make_uint4(sw_num_bits(sw_num_int8_row_value((int8_t)(w & 0xff), sc)),
                                     sw_num_bits(sw_num_int8_row_value((int8_t)(w >> 8 & 0xff), sc)),
                                     sw_num_bits(sw_num_int8_row_value((int8_t)(w >> 16 & 0xff), sc)),
                                     sw_num_bits(sw_num_int8_row_value((int8_t)(w >> 24), sc)));
    }
    for (I i = groups * 4 + tid; i < n; i += stride)
        y[i] = sw_num_int8_row_value(q[i], s[i / cols]);
}

static sw_gpuError_t sw_gpu_int8_dequantize(float *y, const int8_t *q, const float *s, uint64_t rows, uint64_t cols)
{
    uint64_t n = rows * cols;
    if (!n)
        return sw_gpuSuccess;
    int vec = cols % 4 == 0 && sw_gpu_aligned(y, 16) && sw_gpu_aligned(q, 4);
    unsigned grid = sw_gpu_blocks(vec ? n / 4 : n);
    /* 32-bit indexes when every index the kernel forms (up to n plus a round of the grid) fits. */
    if (n + 2ull * grid * SW_GPU_THREADS < UINT32_MAX)
        sw_int8_dequantize_kernel<uint32_t><<<grid, SW_GPU_THREADS>>>(y, q, s, (uint32_t)n, (uint32_t)cols, vec);
    else
        sw_int8_dequantize_kernel<uint64_t><<<grid, SW_GPU_THREADS>>>(y, q, s, n, cols, vec);
    return sw_gpuGetLastError();
}

#endif
