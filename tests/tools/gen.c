/* gen.c — deterministic test data, fast enough for gigabytes.
 *
 *   gen bytes SEED SIZE OUT        SIZE pseudo-random bytes (xoshiro256**) from SEED
 *   gen checkpoint SEED SIZE OUT   a safetensors file of float32 tensors, about SIZE bytes, with values
 *                                  drawn like trained weights (roughly normal, std 0.02)
 * SIZE takes a K, M or G suffix (binary). The same arguments always give the same bytes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t s[4];

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next(void)
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

static void seed(uint64_t x)
{
    for (int i = 0; i < 4; i++) { /* splitmix64 */
        uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        s[i] = z ^ (z >> 31);
    }
}

static uint64_t parse_size(const char *a)
{
    char *end;
    uint64_t v = strtoull(a, &end, 10);
    switch (*end) {
    case 'G': v <<= 10; /* fall through */
    case 'M': v <<= 10; /* fall through */
    case 'K': v <<= 10;
    }
    return v;
}

static int bytes(FILE *f, uint64_t size)
{
    static uint64_t buf[1 << 17];
    while (size) {
        for (size_t i = 0; i < sizeof buf / 8; i++)
            buf[i] = next();
        size_t n = size < sizeof buf ? (size_t)size : sizeof buf;
        if (fwrite(buf, 1, n, f) != n)
            return 1;
        size -= n;
    }
    return 0;
}

/* Sum of four uniforms: cheap, roughly normal. */
static float weight(void)
{
    uint64_t r = next();
    float u = (float)((r & 0xffff) + ((r >> 16) & 0xffff) + ((r >> 32) & 0xffff) + (r >> 48)) / 65536.0f - 2.0f;
    return u * 0.02f * 1.732f;
}

static int checkpoint(FILE *f, uint64_t size)
{
    /* Square-ish 2-D tensors of 4 Mi floats (16 MiB), plus a 1-D norm weight per layer. */
    uint64_t rows = 2048, cols = 2048, per = rows * cols * 4, n = size / per ? size / per : 1;
    char *hdr = malloc(256 * (n + 1) + 64), *p = hdr;
    uint64_t off = 0;
    p += sprintf(p, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (uint64_t i = 0; i < n; i++) {
        p += sprintf(p, ",\"layers.%llu.weight\":{\"dtype\":\"F32\",\"shape\":[%llu,%llu],\"data_offsets\":[%llu,%llu]}",
                     (unsigned long long)i, (unsigned long long)rows, (unsigned long long)cols,
                     (unsigned long long)off, (unsigned long long)(off + per));
        off += per;
    }
    p += sprintf(p, "}");
    size_t len = (size_t)(p - hdr);
    while (len % 8)
        hdr[len++] = ' ';
    uint64_t n8 = len;
    if (fwrite(&n8, 8, 1, f) != 1 || fwrite(hdr, 1, len, f) != len)
        return 1;
    free(hdr);
    static float buf[1 << 16];
    for (uint64_t left = off / 4; left;) {
        size_t k = left < (1 << 16) ? (size_t)left : (1 << 16);
        for (size_t i = 0; i < k; i++)
            buf[i] = weight();
        if (fwrite(buf, 4, k, f) != k)
            return 1;
        left -= k;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: gen bytes|checkpoint SEED SIZE OUT\n");
        return 2;
    }
    seed(strtoull(argv[2], NULL, 10));
    uint64_t size = parse_size(argv[3]);
    FILE *f = strcmp(argv[4], "-") ? fopen(argv[4], "wb") : stdout;
    if (!f) {
        perror(argv[4]);
        return 1;
    }
    int r = !strcmp(argv[1], "bytes") ? bytes(f, size) : !strcmp(argv[1], "checkpoint") ? checkpoint(f, size) : 2;
    if (fclose(f) != 0)
        r = 1;
    if (r)
        fprintf(stderr, "gen: failed\n");
    return r;
}
