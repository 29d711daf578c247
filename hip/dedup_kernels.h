/* dedup_kernels.h — the GPU kernel of the dedup plugin's `minhash` op, HIP and CUDA alike (compat.h): each
 * document's MinHash signature exactly as the CPU's near and minhash compute it (FORMATS.md "Near dedup";
 * plugins/dedup/normalize.c, shingle.c, minhash.h). Every rule goes through the plugin's own headers,
 * compiled for the device (SW_NUM_FN): the normalization's byte table and functions (norm_rules.h), XXH64
 * (xxh64.h), the permutations and the reduction mod 2^61 - 1 without division (minhash.h, dd_permute). The
 * permutations (a, b) are drawn on the host by dd_draw_permutations, the CPU's own function. Included by
 * hip/dedup_hip.cpp (the companion) and by tests/gpu/.
 *
 * One CUDA block of SW_GPU_THREADS threads per document (a grid-stride loop over documents), in three
 * phases, with barriers between them and nothing that depends on the wave size:
 *   1. Normalize. The document's bytes come into shared memory in chunks of SW_DD_CHUNK (with 4 bytes of
 *      context either side); each thread decides for its 8 consecutive bytes whether each survives
 *      (dd_norm_kept: a function of the bytes j-2 .. j+2 alone) and where words start, a block-wide scan
 *      of (kept bytes, word starts) per thread places them, and each thread writes its bytes, mapped by
 *      dd_norm_byte, with one space before each word but the first, into the normalized text (global
 *      scratch, at the document's own offset: it is never longer) and each word's start into the word
 *      array (global scratch, 32-bit positions in the document).
 *   2. Hash. The shingles of the words, in tiles of SW_GPU_THREADS: thread i hashes shingle i of the tile
 *      (XXH64, seed 0, of the bytes from its first word's start to its last word's end, spaces included)
 *      into a shared-memory tile of hashes. A document of fewer words than the shingle (one at least) is one
 *      shingle, all of it; an empty one has none, so its signature stays all UINT64_MAX, as on the CPU.
 *   3. Fold. Each thread owns permutations (one when K <= SW_GPU_THREADS, up to SW_DD_MAX_PPT otherwise)
 *      and keeps their running minimum in registers over the tile's hashes; when K is small enough that
 *      several threads share a permutation (G = SW_GPU_THREADS / K groups, each taking every G-th hash of
 *      the tile), the groups' minima meet in shared memory at the end. No atomics: a minimum does not
 *      depend on the order, so any split gives the CPU's values.
 * Documents must be shorter than 4 GiB (32-bit positions; the companion leaves longer ones to the CPU).
 * Launchers are asynchronous and return the launch's error. */
#ifndef SW_GPU_DEDUP_KERNELS_H
#define SW_GPU_DEDUP_KERNELS_H

#include "compat.h"
#include "dedup/minhash.h"
#include "dedup/norm_rules.h"
#include "dedup/xxh64.h"

/* The most permutations a signature has (dedup_ops.h's DD_MAX_PERMUTATIONS, which the companion checks). */
#define SW_DD_MAX_K 1024
/* Bytes each thread classifies per chunk, the chunk, and the context kept either side of it. */
#define SW_DD_ITEMS 8
#define SW_DD_CHUNK (SW_GPU_THREADS * SW_DD_ITEMS)
#define SW_DD_HALO 4
/* The most permutations one thread owns. */
#define SW_DD_MAX_PPT ((SW_DD_MAX_K + SW_GPU_THREADS - 1) / SW_GPU_THREADS)

/* The normalization's byte kinds (norm_rules.h's table), copied into shared memory by each block. */
static __constant__ uint8_t sw_dd_kind_table[256] = DD_KIND_TABLE;

/* Scratch the kernel needs for a batch of count documents in nbytes: the normalized texts (nbytes,
 * rounded up to 8), the word starts (4 x (nbytes / 2 + count): a document of n bytes has at most
 * n / 2 + 1 words, stored from index offsets[i] / 2 + i), the permutations (16 x SW_DD_MAX_K). */
static inline uint64_t sw_gpu_minhash_scratch(uint64_t count, uint64_t nbytes)
{
    return (nbytes + 7) / 8 * 8 + (nbytes / 2 + count + 1) * 4 + 16 * SW_DD_MAX_K + 16;
}

/* A block-wide exclusive scan of v (every thread of the block calls it): returns the sum of the values of
 * the threads below this one and the block's total in *total. s holds blockDim.x entries; the caller
 * waits at a barrier before the next call writes s again. */
__device__ __forceinline__ uint32_t sw_dd_block_scan(uint32_t *s, uint32_t v, uint32_t *total)
{
    unsigned t = threadIdx.x;
    s[t] = v;
    __syncthreads();
    for (unsigned off = 1; off < blockDim.x; off <<= 1) {
        uint32_t x = t >= off ? s[t - off] : 0;
        __syncthreads();
        s[t] += x;
        __syncthreads();
    }
    *total = s[blockDim.x - 1];
    return s[t] - v;
}

/* Whether byte j of the document (n bytes; its chunk starting at byte base is in raw, after SW_DD_HALO
 * bytes of context) survives normalization: dd_norm_kept on a window of raw from byte j - 2 (or the
 * document's start). */
__device__ __forceinline__ int sw_dd_kept(const uint8_t *kind, const uint8_t *raw, uint64_t base, uint64_t n,
                                          uint64_t j)
{
    int64_t lead = j < 2 ? (int64_t)j : 2, at = SW_DD_HALO + (int64_t)j - (int64_t)base - lead; /* >= 1 */
    return dd_norm_kept(kind, raw + at, (size_t)(n - j + (uint64_t)lead), (size_t)lead);
}

/* Signs documents blockIdx.x, + gridDim.x, ... of count (offsets and bytes as a record batch) into sig
 * (K = k entries each), with shingles of s words and permutations ab (a[0..k), then b[0..k)). norm and
 * words are scratch (sw_gpu_minhash_scratch). PPT: permutations per thread. */
template <int PPT>
__global__ void __launch_bounds__(SW_GPU_THREADS)
    sw_dd_minhash_kernel(uint64_t *sig, const uint64_t *offsets, const uint8_t *bytes, uint64_t count, uint8_t *norm,
                         uint32_t *words, const uint64_t *ab, int k, uint64_t s)
{
    __shared__ uint8_t kind[256];
    __shared__ uint8_t raw[SW_DD_CHUNK + 2 * SW_DD_HALO];
    __shared__ uint32_t scan[SW_GPU_THREADS];
    __shared__ uint64_t hs[SW_GPU_THREADS];   /* a tile of shingle hashes */
    __shared__ uint64_t part[SW_GPU_THREADS]; /* the groups' minima, when several threads share a permutation */
    const unsigned tid = threadIdx.x, nt = SW_GPU_THREADS;
    const unsigned kk = (unsigned)k, groups = kk <= nt ? nt / kk : 1;
    const bool active = tid < groups * kk; /* all when K > SW_GPU_THREADS */
    const unsigned g = kk <= nt ? tid / kk : 0, p0 = tid % kk;
    uint64_t a[PPT], b[PPT];
    for (unsigned i = tid; i < 256; i += nt)
        kind[i] = sw_dd_kind_table[i];
#pragma unroll
    for (int r = 0; r < PPT; r++) {
        unsigned p = p0 + (unsigned)r * nt;
        a[r] = p < kk ? ab[p] : 0;
        b[r] = p < kk ? ab[kk + p] : 0;
    }
    __syncthreads();
    for (uint64_t doc = blockIdx.x; doc < count; doc += gridDim.x) {
        const uint64_t beg = offsets[doc], n = offsets[doc + 1] - beg;
        const uint8_t *t = bytes + beg;
        uint8_t *text = norm + beg;
        uint32_t *ws = words + beg / 2 + doc;
        uint32_t kept_total = 0, words_total = 0;

        /* 1. Normalize, a chunk at a time. */
        for (uint64_t base = 0; base < n; base += SW_DD_CHUNK) {
            __syncthreads(); /* the previous chunk's raw and scan are no longer read */
            for (unsigned i = tid; i < SW_DD_CHUNK + 2 * SW_DD_HALO; i += nt) {
                uint64_t at = base + i - SW_DD_HALO; /* wraps below 0: then >= n */
                raw[i] = at < n ? t[at] : 0;
            }
            __syncthreads();
            const uint64_t first = base + (uint64_t)tid * SW_DD_ITEMS;
            unsigned keep = 0, start = 0, nk = 0, nw = 0;
            if (first < n) {
                int prev = first > 0 ? sw_dd_kept(kind, raw, base, n, first - 1) : 0;
                for (unsigned q = 0; q < SW_DD_ITEMS && first + q < n; q++) {
                    int kq = sw_dd_kept(kind, raw, base, n, first + q);
                    keep |= (unsigned)kq << q;
                    start |= (unsigned)(kq && !prev) << q;
                    prev = kq;
                }
                nk = __popc(keep);
                nw = __popc(start);
            }
            uint32_t total;
            uint32_t below = sw_dd_block_scan(scan, nk << 16 | nw, &total);
            uint32_t kb = kept_total + (below >> 16), wb = words_total + (below & 0xffffu);
            for (unsigned q = 0; q < SW_DD_ITEMS; q++) {
                if (!(keep >> q & 1))
                    continue;
                int st = start >> q & 1;
                wb += st;
                uint32_t at = kb + wb - 1; /* kept bytes before it, plus a space before each word but the first */
                if (st) {
                    if (wb >= 2)
                        text[at - 1] = ' ';
                    ws[wb - 1] = at;
                }
                text[at] = dd_norm_byte(raw[SW_DD_HALO + (first - base) + q]);
                kb++;
            }
            kept_total += total >> 16;
            words_total += total & 0xffffu;
        }
        const uint64_t nwords = words_total, len = nwords ? (uint64_t)kept_total + nwords - 1 : 0;
        const uint64_t nsh = nwords == 0 ? 0 : nwords >= s ? nwords - s + 1 : 1;
        __syncthreads(); /* the text and the word starts, written to global memory, are seen by the block */

        /* 2 and 3. Hash a tile of shingles, fold it into the running minima. */
        uint64_t mn[PPT];
#pragma unroll
        for (int r = 0; r < PPT; r++)
            mn[r] = UINT64_MAX;
        for (uint64_t tile = 0; tile < nsh; tile += nt) {
            const unsigned m = nsh - tile < nt ? (unsigned)(nsh - tile) : nt;
            if (tid < m) {
                uint64_t w = tile + tid, from = nwords >= s ? ws[w] : 0;
                uint64_t to = w + s < nwords ? (uint64_t)ws[w + s] - 1 : len;
                hs[tid] = dd_xxh64(text + from, (size_t)(to - from), 0);
            }
            __syncthreads();
            if (active) {
#pragma unroll
                for (int r = 0; r < PPT; r++) {
                    uint64_t m0 = mn[r], m1 = UINT64_MAX;
                    unsigned j = g;
                    for (; j + groups < m; j += 2 * groups) {
                        uint64_t v0 = dd_permute(hs[j], a[r], b[r]), v1 = dd_permute(hs[j + groups], a[r], b[r]);
                        m0 = v0 < m0 ? v0 : m0;
                        m1 = v1 < m1 ? v1 : m1;
                    }
                    if (j < m) {
                        uint64_t v = dd_permute(hs[j], a[r], b[r]);
                        m0 = v < m0 ? v : m0;
                    }
                    mn[r] = m1 < m0 ? m1 : m0;
                }
            }
            __syncthreads(); /* the tile is folded before the next one is hashed */
        }
        uint64_t *out = sig + doc * kk;
        if (groups > 1) {
            if (active)
                part[tid] = mn[0]; /* tid = g * K + p0 */
            __syncthreads();
            if (tid < kk) {
                uint64_t v = part[tid];
                for (unsigned gg = 1; gg < groups; gg++)
                    v = part[gg * kk + tid] < v ? part[gg * kk + tid] : v;
                out[tid] = v;
            }
            __syncthreads(); /* part is read before the next document writes it */
        } else if (active) {
#pragma unroll
            for (int r = 0; r < PPT; r++) {
                unsigned p = p0 + (unsigned)r * nt;
                if (p < kk)
                    out[p] = mn[r];
            }
        }
    }
}

/* offsets[i] = i x rec for i = 0 .. count: the output's record offsets. */
__global__ void sw_dd_offsets_kernel(uint64_t *offsets, uint64_t count, uint64_t rec)
{
    uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i <= count; i += stride)
        offsets[i] = i * rec;
}

/* The signatures of count documents (offsets: count + 1, bytes: the batch's, both in device memory) into
 * sig (count x k uint64, device memory aligned to 8) and, when out_offsets is not NULL, the output's
 * offsets (records of 8 k bytes). k is 1 to SW_DD_MAX_K, s >= 1; seed draws the permutations (on the
 * host: dd_draw_permutations); scratch holds sw_gpu_minhash_scratch(count, nbytes) bytes of device
 * memory, aligned to 8. Every document must be shorter than 4 GiB. The permutations are copied to the
 * device synchronously; the kernels run asynchronously. */
static sw_gpuError_t sw_gpu_minhash(uint64_t *sig, uint64_t *out_offsets, const uint64_t *offsets,
                                    const uint8_t *bytes, uint64_t count, uint64_t nbytes, uint64_t s, int k,
                                    uint64_t seed, void *scratch)
{
    static_assert(SW_DD_MAX_PPT == 4, "the launch below covers 1 to 4 permutations per thread");
    uint64_t ab[2 * SW_DD_MAX_K];
    uint8_t *norm = (uint8_t *)scratch;
    uint32_t *words = (uint32_t *)(norm + (nbytes + 7) / 8 * 8);
    uint64_t *dab = (uint64_t *)(void *)((uint8_t *)words + ((nbytes / 2 + count + 1) * 4 + 7) / 8 * 8);
    sw_gpuError_t e;
    if (k < 1 || k > SW_DD_MAX_K || s < 1)
        return sw_gpuErrorInvalidValue;
    if (out_offsets)
        sw_dd_offsets_kernel<<<sw_gpu_blocks(count + 1), SW_GPU_THREADS>>>(out_offsets, count, 8 * (uint64_t)k);
    if (!count)
        return sw_gpuGetLastError();
    dd_draw_permutations(seed, k, ab, ab + k);
    if ((e = sw_gpuMemcpy(dab, ab, (size_t)k * 16, sw_gpuMemcpyHostToDevice)) != sw_gpuSuccess)
        return e;
    unsigned grid = count < sw_gpu_max_blocks ? (unsigned)count : sw_gpu_max_blocks;
    int ppt = (k + SW_GPU_THREADS - 1) / SW_GPU_THREADS;
    if (ppt == 1)
        sw_dd_minhash_kernel<1><<<grid, SW_GPU_THREADS>>>(sig, offsets, bytes, count, norm, words, dab, k, s);
    else if (ppt == 2)
        sw_dd_minhash_kernel<2><<<grid, SW_GPU_THREADS>>>(sig, offsets, bytes, count, norm, words, dab, k, s);
    else if (ppt == 3)
        sw_dd_minhash_kernel<3><<<grid, SW_GPU_THREADS>>>(sig, offsets, bytes, count, norm, words, dab, k, s);
    else
        sw_dd_minhash_kernel<4><<<grid, SW_GPU_THREADS>>>(sig, offsets, bytes, count, norm, words, dab, k, s);
    return sw_gpuGetLastError();
}

#endif
