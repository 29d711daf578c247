/* test_chunker.c — the content-defined chunker: agreement with a byte-at-a-time reference, size bounds,
 * stability under insertion, and a golden value that pins the chunk format. */
#include "cache/chunker.h"
#include "cache/hash.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache/chunker_gear.h"

static uint64_t rng = 0x1234567;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    rng = seed;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(next() >> 24);
}

/* The FastCDC rule written plainly: the specification the optimized scanner must match. */
static size_t reference_cuts(const uint8_t *p, size_t n, size_t *cuts)
{
    size_t nc = 0, start = 0;
    while (start < n) {
        uint64_t fp = 0;
        size_t len = 0, end = n;
        for (size_t i = start; i < n; i++) {
            len++;
            if (len > SW_CHUNK_MIN - 64)
                fp = (fp << 1) + sw_gear[p[i]];
            if (len > SW_CHUNK_MIN && len <= SW_CHUNK_AVG && !(fp & (~0ULL << 46))) {
                end = i + 1;
                break;
            }
            if (len > SW_CHUNK_AVG && !(fp & (~0ULL << 50))) {
                end = i + 1;
                break;
            }
            if (len == SW_CHUNK_MAX) {
                end = i + 1;
                break;
            }
        }
        cuts[nc++] = end;
        start = end;
    }
    return nc;
}

/* Cuts by the real scanner, fed in pieces of pseudo-random size to exercise state across buffers. */
static size_t scanner_cuts(const uint8_t *p, size_t n, size_t *cuts, int pieces)
{
    sw_chunker c;
    sw_chunker_init(&c);
    size_t nc = 0, off = 0;
    while (off < n) {
        size_t take = pieces ? 1 + next() % 300000 : n - off;
        if (take > n - off)
            take = n - off;
        size_t end = off + take;
        while (off < end) {
            int cut;
            off += sw_chunker_scan(&c, p + off, end - off, &cut);
            if (cut)
                cuts[nc++] = off;
        }
    }
    if (c.len)
        cuts[nc++] = n;
    return nc;
}

static int has_hash(const sw_hash *set, size_t n, const sw_hash *h)
{
    for (size_t i = 0; i < n; i++)
        if (sw_hash_eq(&set[i], h))
            return 1;
    return 0;
}

static size_t chunk_hashes(const uint8_t *p, size_t n, sw_hash *out)
{
    size_t *cuts = malloc((n / SW_CHUNK_MIN + 2) * sizeof *cuts);
    size_t nc = scanner_cuts(p, n, cuts, 0), start = 0;
    for (size_t i = 0; i < nc; i++) {
        sw_sha256_buf(&out[i], p + start, cuts[i] - start);
        start = cuts[i];
    }
    free(cuts);
    return nc;
}

int main(void)
{
    enum { N = 16 << 20 };
    uint8_t *buf = malloc(N + 200);
    size_t *ref = malloc((N / SW_CHUNK_MIN + 2) * sizeof *ref), *got = malloc((N / SW_CHUNK_MIN + 2) * sizeof *got);
    fill(buf, N, 42);

    size_t nr = reference_cuts(buf, N, ref);
    size_t ng = scanner_cuts(buf, N, got, 0);
    ok(nr == ng && !memcmp(ref, got, nr * sizeof *ref), "scanner matches the reference on 16 MiB (%zu chunks)", nr);
    rng = 7;
    ng = scanner_cuts(buf, N, got, 1);
    ok(nr == ng && !memcmp(ref, got, nr * sizeof *ref), "same cuts when fed in random-sized pieces");

    int bounds = 1;
    for (size_t i = 0, start = 0; i < nr; start = ref[i++]) {
        size_t len = ref[i] - start;
        if (len > SW_CHUNK_MAX || (len < SW_CHUNK_MIN && i + 1 < nr))
            bounds = 0;
    }
    ok(bounds, "every chunk but the last is within [min, max]");
    double avg = (double)N / (double)nr;
    ok(avg > 48 * 1024 && avg < 96 * 1024, "average chunk size %.0f is near 64 KiB", avg);

    /* Low-entropy data still cuts at the maximum size. */
    memset(buf, 0, N);
    nr = reference_cuts(buf, N, ref);
    ok(nr == N / SW_CHUNK_MAX, "zeros cut at the maximum size (%zu chunks)", nr);

    /* Insert 100 bytes near the start: most chunks keep their hashes. */
    fill(buf, N, 99);
    sw_hash *a = malloc((N / SW_CHUNK_MIN + 2) * sizeof *a), *b = malloc((N / SW_CHUNK_MIN + 2) * sizeof *b);
    size_t na = chunk_hashes(buf, N, a);
    memmove(buf + 1100, buf + 1000, N - 1000);
    memset(buf + 1000, 0xAB, 100);
    size_t nb = chunk_hashes(buf, N + 100, b), kept = 0;
    for (size_t i = 0; i < nb; i++)
        kept += has_hash(a, na, &b[i]);
    ok(kept + 2 >= na, "after a 100-byte insertion %zu of %zu chunks keep their hashes", kept, nb);

    /* Golden: the format is fixed forever. The boundaries of this input, hashed, must never change. */
    fill(buf, 4 << 20, 2024);
    nr = reference_cuts(buf, 4 << 20, ref);
    uint64_t le[256];
    for (size_t i = 0; i < nr; i++)
        le[i] = ref[i];
    sw_hash h;
    char hex[SW_HEX_LEN + 1];
    sw_sha256_buf(&h, le, nr * sizeof *le);
    sw_hash_hex(hex, &h);
    ok(!strcmp(hex, "410dd7fea13cfba83194a933c23cc40dafb8dab96201af66bdce6c3018d52045"), "chunk boundaries of the golden input are unchanged (%s)", hex);

    free(buf);
    free(ref);
    free(got);
    free(a);
    free(b);
    return tap_done();
}
