/* xxh64.h — XXH64 (Yann Collet's xxHash, 64-bit), the base hash of a near-dedup shingle, header-only with
 * SW_NUM_FN (plugins/common/numerics.h) so that the CPU plugin and the GPU kernels compile the same
 * function. The algorithm is xxHash's reference XXH64 (xxhash.h 0.8, XXH64 / XXH64_round /
 * XXH64_mergeRound / XXH64_finalize / XXH64_avalanche) on little-endian input reads, written out here
 * because libxxhash cannot be called from device code. Integer arithmetic only, wrapping at 64 bits:
 * every machine gives the same value. tests/unit/test_dedup.c checks it against libxxhash's XXH64 for
 * every length from 0 to 300 and random ones, many seeds and misaligned inputs. */
#ifndef SW_DEDUP_XXH64_H
#define SW_DEDUP_XXH64_H

#include "common/numerics.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DD_XXH_P1 0x9E3779B185EBCA87ULL
#define DD_XXH_P2 0xC2B2AE3D27D4EB4FULL
#define DD_XXH_P3 0x165667B19E3779F9ULL
#define DD_XXH_P4 0x85EBCA77C2B2AE63ULL
#define DD_XXH_P5 0x27D4EB2F165667C5ULL

SW_NUM_FN uint64_t dd_xxh_rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* Little-endian loads at any alignment (every machine swarm runs on is little-endian). */
SW_NUM_FN uint64_t dd_xxh_read64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

SW_NUM_FN uint32_t dd_xxh_read32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

SW_NUM_FN uint64_t dd_xxh_round(uint64_t acc, uint64_t input)
{
    acc += input * DD_XXH_P2;
    acc = dd_xxh_rotl(acc, 31);
    return acc * DD_XXH_P1;
}

SW_NUM_FN uint64_t dd_xxh_merge(uint64_t acc, uint64_t val)
{
    acc ^= dd_xxh_round(0, val);
    return acc * DD_XXH_P1 + DD_XXH_P4;
}

/* XXH64 of p[0..len) with seed: libxxhash's XXH64(p, len, seed). */
SW_NUM_FN uint64_t dd_xxh64(const uint8_t *p, size_t len, uint64_t seed)
{
    uint64_t h;
    if (len >= 32) {
        const uint8_t *limit = p + (len - 32);
        uint64_t v1 = seed + DD_XXH_P1 + DD_XXH_P2, v2 = seed + DD_XXH_P2, v3 = seed, v4 = seed - DD_XXH_P1;
        do {
            v1 = dd_xxh_round(v1, dd_xxh_read64(p));
            v2 = dd_xxh_round(v2, dd_xxh_read64(p + 8));
            v3 = dd_xxh_round(v3, dd_xxh_read64(p + 16));
            v4 = dd_xxh_round(v4, dd_xxh_read64(p + 24));
            p += 32;
        } while (p <= limit);
        h = dd_xxh_rotl(v1, 1) + dd_xxh_rotl(v2, 7) + dd_xxh_rotl(v3, 12) + dd_xxh_rotl(v4, 18);
        h = dd_xxh_merge(h, v1);
        h = dd_xxh_merge(h, v2);
        h = dd_xxh_merge(h, v3);
        h = dd_xxh_merge(h, v4);
    } else {
        h = seed + DD_XXH_P5;
    }
    h += (uint64_t)len;
    /* the last len % 32 bytes: 8, then 4, then 1 at a time */
    len &= 31;
    while (len >= 8) {
        h ^= dd_xxh_round(0, dd_xxh_read64(p));
        h = dd_xxh_rotl(h, 27) * DD_XXH_P1 + DD_XXH_P4;
        p += 8;
        len -= 8;
    }
    if (len >= 4) {
        h ^= (uint64_t)dd_xxh_read32(p) * DD_XXH_P1;
        h = dd_xxh_rotl(h, 23) * DD_XXH_P2 + DD_XXH_P3;
        p += 4;
        len -= 4;
    }
    while (len > 0) {
        h ^= (uint64_t)(*p++) * DD_XXH_P5;
        h = dd_xxh_rotl(h, 11) * DD_XXH_P1;
        len--;
    }
    /* the avalanche */
    h ^= h >> 33;
    h *= DD_XXH_P2;
    h ^= h >> 29;
    h *= DD_XXH_P3;
    h ^= h >> 32;
    return h;
}

#endif
