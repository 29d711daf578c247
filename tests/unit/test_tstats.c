/* test_tstats.c — streaming tensor statistics (core/pipeline/tstats.c): known values, NaN and Inf excluded and
 * counted, FORMATS.md's f16/bf16 vectors and Q8_0/Q4_0 blocks against statistics computed here from the
 * bytes, integer extremes, float8, determinism over random call splits, accuracy against a long double
 * reference, and refusals (bad byte counts, unsupported dtypes) that leave the state unchanged. */
#include "base/error.h"
#include "tap.h"
#include "pipeline/tstats.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const swarm_dtype DT_F16 = {SWARM_DTYPE_FLOAT, 16, 1}, DT_F32 = {SWARM_DTYPE_FLOAT, 32, 1},
                         DT_F64 = {SWARM_DTYPE_FLOAT, 64, 1}, DT_BF16 = {SWARM_DTYPE_BFLOAT, 16, 1},
                         DT_I8 = {SWARM_DTYPE_INT, 8, 1}, DT_I16 = {SWARM_DTYPE_INT, 16, 1},
                         DT_I32 = {SWARM_DTYPE_INT, 32, 1}, DT_I64 = {SWARM_DTYPE_INT, 64, 1},
                         DT_U8 = {SWARM_DTYPE_UINT, 8, 1}, DT_U16 = {SWARM_DTYPE_UINT, 16, 1},
                         DT_U32 = {SWARM_DTYPE_UINT, 32, 1}, DT_U64 = {SWARM_DTYPE_UINT, 64, 1},
                         DT_BOOL = {SWARM_DTYPE_BOOL, 8, 1}, DT_Q8 = {SWARM_DTYPE_Q8_0, 0, 1},
                         DT_Q4 = {SWARM_DTYPE_Q4_0, 0, 1};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ---- A reference: long double, one element at a time, two passes ---------------------------------- */

typedef struct {
    uint64_t count, nan, inf, finite;
    double min, max, mean, std;
} ref_stats;

static ref_stats reference(const double *v, size_t k)
{
    ref_stats r = {k, 0, 0, 0, 0.0, 0.0, 0.0, 0.0};
    long double sum = 0.0L;
    for (size_t i = 0; i < k; i++) {
        if (isnan(v[i])) {
            r.nan++;
        } else if (isinf(v[i])) {
            r.inf++;
        } else {
            if (!r.finite || v[i] < r.min)
                r.min = v[i];
            if (!r.finite || v[i] > r.max)
                r.max = v[i];
            r.finite++;
            sum += v[i];
        }
    }
    if (!r.finite)
        return r;
    long double mean = sum / (long double)r.finite, m2 = 0.0L;
    for (size_t i = 0; i < k; i++)
        if (isfinite(v[i]))
            m2 += ((long double)v[i] - mean) * ((long double)v[i] - mean);
    r.mean = (double)mean;
    r.std = (double)sqrtl(m2 / (long double)r.finite);
    return r;
}

/* |got - want| within rel of the largest of |want|, |lo|, |hi| and 1 (a sum of doubles errs relative to
 * its largest terms, not to its result). */
static int close_to(double got, double want, double lo, double hi, double rel)
{
    if (got == want)
        return 1;
    double scale = fmax(fmax(fabs(want), 1.0), fmax(fabs(lo), fabs(hi)));
    return fabs(got - want) <= rel * scale;
}

/* Checks s against the reference of v: counts and min/max exactly, mean within rel of the largest
 * magnitude, std within rel of itself (or of 1). */
static void check(const char *what, const sw_tstats *s, const double *v, size_t k, double rel)
{
    ref_stats r = reference(v, k);
    ok(s->count == r.count && s->nan == r.nan && s->inf == r.inf && s->finite == r.finite,
       "%s: count %llu nan %llu inf %llu finite %llu", what, (unsigned long long)s->count,
       (unsigned long long)s->nan, (unsigned long long)s->inf, (unsigned long long)s->finite);
    ok(s->min == r.min && s->max == r.max, "%s: min %.17g max %.17g (want %.17g, %.17g)", what, s->min, s->max,
       r.min, r.max);
    double std = sw_tstats_std(s);
    ok(close_to(s->mean, r.mean, r.min, r.max, rel) && close_to(std, r.std, 0.0, 0.0, rel), "%s: mean %.17g std %.17g (want %.17g, %.17g)",
       what, s->mean, std, r.mean, r.std);
}

static int add(sw_tstats *s, swarm_dtype dt, const void *p, size_t n)
{
    int rc = sw_tstats_add(s, dt, (const uint8_t *)p, n);
    if (rc)
        printf("#   %s\n", sw_error_last());
    return rc;
}

/* The public fields, bit for bit. */
static int same_public(const sw_tstats *a, const sw_tstats *b)
{
    return !memcmp(a, b, offsetof(sw_tstats, done_));
}

static double f16_value(uint16_t h) /* decoded here by the definition, not by numerics.h */
{
    int e = (h >> 10) & 31, m = h & 1023;
    double sign = h & 0x8000 ? -1.0 : 1.0;
    if (e == 31)
        return m ? NAN : sign * INFINITY;
    return sign * (e ? ldexp(1024 + m, e - 25) : ldexp(m, -24));
}

static double bf16_value(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- Tests --------------------------------------------------------------------------------------- */

static void test_known(void)
{
    sw_tstats s;
    sw_tstats_init(&s);
    ok(s.count == 0 && s.finite == 0 && sw_tstats_std(&s) == 0.0, "fresh: nothing seen, std 0");
    ok(sw_tstats_add(&s, DT_F32, NULL, 0) == 0 && s.count == 0, "zero bytes (NULL) add nothing");

    float x[4] = {1, 2, 3, 4};
    ok(add(&s, DT_F32, x, sizeof x) == 0, "f32 [1,2,3,4] added");
    ok(s.count == 4 && s.finite == 4 && s.nan == 0 && s.inf == 0, "f32 [1,2,3,4]: 4 finite elements");
    ok(s.min == 1.0 && s.max == 4.0 && s.mean == 2.5 && s.m2 == 5.0, "f32 [1,2,3,4]: min 1 max 4 mean 2.5 m2 5");
    ok(sw_tstats_std(&s) == sqrt(1.25), "f32 [1,2,3,4]: std sqrt(1.25) = %.17g", sw_tstats_std(&s));

    sw_tstats_init(&s);
    double one = 7.25;
    add(&s, DT_F64, &one, 8);
    ok(s.finite == 1 && s.min == 7.25 && s.max == 7.25 && s.mean == 7.25 && sw_tstats_std(&s) == 0.0,
       "f64 one element: min = max = mean, std 0");

    float y[6] = {1, NAN, INFINITY, 3, -INFINITY, -NAN};
    sw_tstats_init(&s);
    add(&s, DT_F32, y, sizeof y);
    ok(s.count == 6 && s.nan == 2 && s.inf == 2 && s.finite == 2, "f32 with NaNs and Infs: 2 NaN, 2 Inf, 2 finite");
    ok(s.min == 1.0 && s.max == 3.0 && s.mean == 2.0 && sw_tstats_std(&s) == 1.0,
       "f32 with NaNs and Infs: they are excluded (min 1 max 3 mean 2 std 1)");

    double z[3] = {NAN, INFINITY, NAN};
    sw_tstats_init(&s);
    add(&s, DT_F64, z, sizeof z);
    ok(s.count == 3 && s.nan == 2 && s.inf == 1 && s.finite == 0 && s.min == 0.0 && s.max == 0.0 && s.mean == 0.0 &&
           sw_tstats_std(&s) == 0.0,
       "f64 with no finite element: counts, and 0 for the rest");

    /* Finite elements whose sum overflows in one lane (0 and 4): the masked path, counting none bad. */
    double big[6] = {1e308, 0.0, 0.0, 0.0, 1e308, -5.0};
    sw_tstats_init(&s);
    add(&s, DT_F64, big, sizeof big);
    ok(s.count == 6 && s.finite == 6 && s.nan == 0 && s.inf == 0 && s.min == -5.0 && s.max == 1e308,
       "f64 whose sum overflows: 6 finite, min -5, max 1e308 (mean %g)", s.mean);

    /* Large offset, small spread: a naive sum of squares would lose it all. */
    enum { N = 10000 };
    double *w = malloc(N * sizeof *w);
    for (int i = 0; i < N; i++)
        w[i] = 1e9 + (double)(i % 7);
    sw_tstats_init(&s);
    add(&s, DT_F64, w, N * sizeof *w);
    check("f64 1e9 + (i mod 7)", &s, w, N, 1e-12);
    free(w);
}

static void test_half(void)
{
    /* FORMATS.md's f16 results: 1.0, -2, 65504, 65520 (infinity), 2^-14, 2^-24; and a NaN. */
    uint16_t h[7] = {0x3C00, 0xC000, 0x7BFF, 0x7C00, 0x0400, 0x0001, 0x7E00};
    double v[7];
    for (int i = 0; i < 7; i++)
        v[i] = f16_value(h[i]);
    ok(v[2] == 65504.0 && v[4] == 6.103515625e-05 && v[5] == 5.9604644775390625e-08, "f16 decoded here by definition");
    sw_tstats s;
    sw_tstats_init(&s);
    add(&s, DT_F16, h, sizeof h);
    check("f16 FORMATS.md vector", &s, v, 7, 1e-15);
    ok(s.min == -2.0 && s.max == 65504.0 && s.inf == 1 && s.nan == 1, "f16: min -2, max 65504, one Inf, one NaN");

    /* FORMATS.md's bf16 results: 3F80, 3F82, 3F81, 7F80 (infinity), 0000, 0002 (a subnormal); a NaN, -1. */
    uint16_t b[8] = {0x3F80, 0x3F82, 0x3F81, 0x7F80, 0x0000, 0x0002, 0x7FC0, 0xBF80};
    double u[8];
    for (int i = 0; i < 8; i++)
        u[i] = bf16_value(b[i]);
    ok(u[1] == 1.015625 && u[2] == 1.0078125 && u[5] == ldexp(1.0, -132), "bf16 decoded here by definition");
    sw_tstats_init(&s);
    add(&s, DT_BF16, b, sizeof b);
    check("bf16 FORMATS.md vector", &s, u, 8, 1e-15);
    ok(s.min == -1.0 && s.max == 1.015625 && s.inf == 1 && s.nan == 1, "bf16: min -1, max 1.015625, one Inf, one NaN");

    /* Unaligned data. */
    uint8_t raw[1 + sizeof h];
    memcpy(raw + 1, h, sizeof h);
    sw_tstats t;
    sw_tstats_init(&t);
    sw_tstats_init(&s);
    add(&s, DT_F16, h, sizeof h);
    add(&t, DT_F16, raw + 1, sizeof h);
    ok(same_public(&s, &t), "f16 at an odd address: the same");
}

static void test_ints(void)
{
    sw_tstats s;
    int8_t i8[5] = {-128, -1, 0, 5, 127};
    double v8[5] = {-128, -1, 0, 5, 127};
    sw_tstats_init(&s);
    add(&s, DT_I8, i8, sizeof i8);
    check("i8 with negatives", &s, v8, 5, 1e-15);
    ok(s.min == -128.0 && s.max == 127.0 && s.mean == 0.6, "i8: min -128 max 127 mean 0.6");

    int16_t i16[3] = {INT16_MIN, 0, INT16_MAX};
    double v16[3] = {INT16_MIN, 0, INT16_MAX};
    sw_tstats_init(&s);
    add(&s, DT_I16, i16, sizeof i16);
    check("i16 extremes", &s, v16, 3, 1e-15);

    int32_t i32[4] = {INT32_MIN, -7, 9, INT32_MAX};
    double v32[4] = {(double)INT32_MIN, -7, 9, (double)INT32_MAX};
    sw_tstats_init(&s);
    add(&s, DT_I32, i32, sizeof i32);
    check("i32 extremes", &s, v32, 4, 1e-15);

    int64_t i64[3] = {INT64_MIN, -3, INT64_MAX};
    double v64[3] = {(double)INT64_MIN, -3, (double)INT64_MAX};
    sw_tstats_init(&s);
    add(&s, DT_I64, i64, sizeof i64);
    check("i64 extremes", &s, v64, 3, 1e-15);
    ok(s.min == -9223372036854775808.0 && s.max == 9223372036854775808.0, "i64: min -2^63, max rounds to 2^63");

    uint8_t u8[3] = {0, 200, 255};
    double w8[3] = {0, 200, 255};
    sw_tstats_init(&s);
    add(&s, DT_U8, u8, sizeof u8);
    check("u8", &s, w8, 3, 1e-15);

    uint16_t u16[2] = {1, UINT16_MAX};
    double w16[2] = {1, UINT16_MAX};
    sw_tstats_init(&s);
    add(&s, DT_U16, u16, sizeof u16);
    check("u16", &s, w16, 2, 1e-15);

    uint32_t u32[2] = {UINT32_MAX, 3};
    double w32[2] = {UINT32_MAX, 3};
    sw_tstats_init(&s);
    add(&s, DT_U32, u32, sizeof u32);
    check("u32", &s, w32, 2, 1e-15);

    uint64_t u64[2] = {0, UINT64_MAX};
    double w64[2] = {0, (double)UINT64_MAX};
    sw_tstats_init(&s);
    add(&s, DT_U64, u64, sizeof u64);
    check("u64 max", &s, w64, 2, 1e-15);
    ok(s.max == 18446744073709551616.0 && s.mean == 9223372036854775808.0 && s.nan == 0 && s.inf == 0,
       "u64 max: 2^64 as a double, mean 2^63, no NaN or Inf");

    uint8_t bo[6] = {0, 1, 1, 0, 1, 2};
    double wb[6] = {0, 1, 1, 0, 1, 1};
    sw_tstats_init(&s);
    add(&s, DT_BOOL, bo, sizeof bo);
    check("bool (a nonzero byte is 1)", &s, wb, 6, 1e-15);
    ok(s.min == 0.0 && s.max == 1.0, "bool: min 0 max 1");
}

static void test_float8(void)
{
    static const struct {
        uint8_t code;
        const char *name;
        uint8_t b[5];
        double v[5];
    } cases[] = {
        {SWARM_DTYPE_FLOAT8_E4M3FN, "f8_e4m3fn", {0x38, 0x7e, 0x7f, 0x01, 0xb8}, {1.0, 448.0, NAN, 0x1p-9, -1.0}},
        {SWARM_DTYPE_FLOAT8_E4M3FNUZ, "f8_e4m3fnuz", {0x40, 0x7f, 0x80, 0x01, 0xc0}, {1.0, 240.0, NAN, 0x1p-10, -1.0}},
        {SWARM_DTYPE_FLOAT8_E5M2, "f8_e5m2", {0x3c, 0x7b, 0x7c, 0x7d, 0x01}, {1.0, 57344.0, INFINITY, NAN, 0x1p-16}},
        {SWARM_DTYPE_FLOAT8_E5M2FNUZ, "f8_e5m2fnuz", {0x40, 0x7f, 0x80, 0x01, 0xc0}, {1.0, 57344.0, NAN, 0x1p-17, -1.0}},
        {SWARM_DTYPE_FLOAT8_E8M0FNU, "f8_e8m0fnu", {0x7f, 0x80, 0xff, 0x00, 0xfe}, {1.0, 2.0, NAN, 0x1p-127, 0x1p127}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        sw_tstats s;
        sw_tstats_init(&s);
        swarm_dtype dt = {cases[c].code, 8, 1};
        ok(add(&s, dt, cases[c].b, 5) == 0, "%s added", cases[c].name);
        check(cases[c].name, &s, cases[c].v, 5, 1e-15);
    }
    /* All 256 bytes of e4m3fn: 2 NaNs, no Inf, max 448, min -448. */
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    sw_tstats s;
    sw_tstats_init(&s);
    add(&s, (swarm_dtype){SWARM_DTYPE_FLOAT8_E4M3FN, 8, 1}, all, 256);
    ok(s.nan == 2 && s.inf == 0 && s.min == -448.0 && s.max == 448.0 && s.mean == 0.0,
       "f8_e4m3fn all bytes: 2 NaN, range ±448, mean 0");
    sw_tstats_init(&s);
    add(&s, (swarm_dtype){SWARM_DTYPE_FLOAT8_E5M2, 8, 1}, all, 256);
    ok(s.nan == 6 && s.inf == 2 && s.min == -57344.0 && s.max == 57344.0 && s.mean == 0.0,
       "f8_e5m2 all bytes: 6 NaN, 2 Inf, range ±57344, mean 0");
}

/* FORMATS.md's public vector: x[i] = (i - 16) / 16 quantized. */
static const uint8_t Q8_VEC[34] = {0x08, 0x20, 0x81, 0x89, 0x91, 0x99, 0xa1, 0xa9, 0xb1, 0xb9, 0xc0, 0xc8,
                                   0xd0, 0xd8, 0xe0, 0xe8, 0xf0, 0xf8, 0x00, 0x08, 0x10, 0x18, 0x20, 0x28,
                                   0x30, 0x38, 0x40, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77};
static const uint8_t Q4_VEC[18] = {0x00, 0x30, 0x80, 0x91, 0x91, 0xa2, 0xa2, 0xb3, 0xb3,
                                   0xc4, 0xc4, 0xd5, 0xd5, 0xe6, 0xe6, 0xf7, 0xf7, 0xf8};

static void q8_values(double *v, const uint8_t *blk)
{
    double d = f16_value((uint16_t)(blk[0] | blk[1] << 8));
    for (int j = 0; j < 32; j++)
        v[j] = (double)(int8_t)blk[2 + j] * d;
}

static void q4_values(double *v, const uint8_t *blk)
{
    double d = f16_value((uint16_t)(blk[0] | blk[1] << 8));
    for (int j = 0; j < 16; j++) {
        v[j] = (double)((blk[2 + j] & 15) - 8) * d;
        v[j + 16] = (double)((blk[2 + j] >> 4) - 8) * d;
    }
}

static void test_quant(void)
{
    double v[64];
    sw_tstats s;

    q8_values(v, Q8_VEC);
    ok(f16_value(0x2008) == 0.00787353515625, "Q8_0 vector: d = fp16 0x2008 = 0.00787353515625");
    sw_tstats_init(&s);
    ok(add(&s, DT_Q8, Q8_VEC, 34) == 0, "Q8_0 FORMATS.md block added");
    check("Q8_0 FORMATS.md block", &s, v, 32, 1e-15);
    ok(s.min == -127 * 0.00787353515625 && s.max == 119 * 0.00787353515625, "Q8_0: min -127 d, max 119 d");
    ok(fabs(s.mean - -1.0 / 32) < 0.004 && fabs(sw_tstats_std(&s) - sqrt(85.25) / 16) < 0.004,
       "Q8_0: close to the stats of x[i] = (i - 16) / 16 (mean -1/32)");

    /* Two blocks: the vector and an all-zero block. */
    uint8_t two[68];
    memcpy(two, Q8_VEC, 34);
    memset(two + 34, 0, 34);
    q8_values(v + 32, two + 34);
    sw_tstats_init(&s);
    add(&s, DT_Q8, two, 68);
    check("Q8_0 vector + zero block", &s, v, 64, 1e-15);

    q4_values(v, Q4_VEC);
    sw_tstats_init(&s);
    ok(add(&s, DT_Q4, Q4_VEC, 18) == 0, "Q4_0 FORMATS.md block added");
    check("Q4_0 FORMATS.md block", &s, v, 32, 1e-15);
    ok(s.min == -1.0 && s.max == 0.875, "Q4_0: min -8 d = -1, max 7 d = 0.875 (d = 0.125)");

    /* A block whose scale is NaN, and one whose scale is Inf: q x NaN are NaNs; 0 x Inf is a NaN too. */
    uint8_t bad[68];
    memcpy(bad, Q8_VEC, 34);
    bad[0] = 0x00, bad[1] = 0x7e;
    memcpy(bad + 34, Q8_VEC, 34);
    bad[34] = 0x00, bad[35] = 0x7c;
    sw_tstats_init(&s);
    add(&s, DT_Q8, bad, 68);
    ok(s.count == 64 && s.nan == 33 && s.inf == 31 && s.finite == 0, "Q8_0 NaN/Inf scales: 33 NaN (one 0 x Inf), 31 Inf");
}

/* The same bytes in random pieces (multiples of unit) give the same public fields, bit for bit. */
static void split_check(const char *what, swarm_dtype dt, const uint8_t *p, size_t n, size_t unit, int rounds)
{
    sw_tstats *one = malloc(sizeof *one), *parts = malloc(sizeof *parts);
    sw_tstats_init(one);
    add(one, dt, p, n);
    int same = 1;
    for (int r = 0; r < rounds; r++) {
        sw_tstats_init(parts);
        size_t off = 0;
        while (off < n) {
            size_t units = (n - off) / unit, k;
            uint64_t pick = rnd64();
            /* mostly small pieces, sometimes empty, sometimes many blocks */
            k = pick % 4 == 0 ? 0 : pick % 4 == 1 ? 1 + (pick >> 8) % 7 : (pick >> 8) % (units + 1);
            k = k < units ? k : units;
            if (add(parts, dt, p + off, k * unit))
                same = 0;
            off += k * unit;
        }
        same = same && same_public(one, parts);
    }
    ok(same, "%s: %d random splits give the one call's result bit for bit", what, rounds);
    free(one);
    free(parts);
}

static void test_splits(void)
{
    enum { N = 3 * SW_TSTATS_BLOCK + 777 };
    float *f = malloc(N * sizeof *f);
    double *v = malloc(N * sizeof *v);
    for (size_t i = 0; i < N; i++) {
        uint64_t r = rnd64();
        f[i] = (float)((double)(r >> 11) * 0x1p-53 * 200.0 - 37.0);
        if (r % 97 == 0)
            f[i] = NAN;
        else if (r % 89 == 0)
            f[i] = r & 1 ? INFINITY : -INFINITY;
        v[i] = f[i];
    }
    sw_tstats *s = malloc(sizeof *s);
    sw_tstats_init(s);
    add(s, DT_F32, f, N * sizeof *f);
    check("f32 random, 3 blocks and a part", s, v, N, 1e-13);
    split_check("f32 random", DT_F32, (const uint8_t *)f, N * sizeof *f, 4, 20);

    /* One element per call (every call publishes a partial block). */
    sw_tstats *t = malloc(sizeof *t);
    sw_tstats_init(t);
    for (size_t i = 0; i < N; i++)
        add(t, DT_F32, f + i, 4);
    ok(same_public(s, t), "f32 random: one element per call gives the same bits");

    uint8_t *b = (uint8_t *)f;
    split_check("f16 random bytes", DT_F16, b, (N * 4) & ~(size_t)1, 2, 10);
    split_check("bf16 random bytes", DT_BF16, b, (N * 4) & ~(size_t)1, 2, 10);
    split_check("i8 random bytes", DT_I8, b, N * 4, 1, 10);
    split_check("u64 random bytes", DT_U64, b, (N * 4) & ~(size_t)7, 8, 10);
    split_check("f8_e4m3fn random bytes", (swarm_dtype){SWARM_DTYPE_FLOAT8_E4M3FN, 8, 1}, b, N * 4, 1, 10);

    /* Q8_0 and Q4_0 of random bytes with sane scales: pieces are whole blocks. */
    enum { NB = 3 * SW_TSTATS_BLOCK / 32 + 5 };
    uint8_t *q = malloc(NB * 34);
    double *qv = malloc(2 * NB * 32 * sizeof *qv); /* room for the Q4_0 view too */
    for (size_t i = 0; i < NB * 34; i++)
        q[i] = (uint8_t)rnd64();
    for (size_t i = 0; i < NB; i++) {
        q[i * 34] = (uint8_t)rnd64(), q[i * 34 + 1] = (uint8_t)(0x20 + rnd64() % 16); /* d in [2^-7, 2^-3) */
        q8_values(qv + i * 32, q + i * 34);
    }
    sw_tstats_init(s);
    add(s, DT_Q8, q, NB * 34);
    check("Q8_0 random blocks", s, qv, NB * 32, 1e-13);
    split_check("Q8_0 random blocks", DT_Q8, q, NB * 34, 34, 10);
    size_t nq4 = (NB * 34) / 18; /* the same bytes as Q4_0 blocks, with sane scales again */
    for (size_t i = 0; i < nq4; i++) {
        q[i * 18 + 1] = (uint8_t)(0x20 + i % 16);
        q4_values(qv + i * 32, q + i * 18);
    }
    sw_tstats_init(s);
    add(s, DT_Q4, q, nq4 * 18);
    check("Q4_0 random blocks", s, qv, nq4 * 32, 1e-13);
    split_check("Q4_0 random blocks", DT_Q4, q, nq4 * 18, 18, 10);

    /* A bigger f64 stream: accuracy against the long double reference. */
    enum { M = 1000003 };
    double *big = malloc(M * sizeof *big);
    for (size_t i = 0; i < M; i++)
        big[i] = 1000.0 + (double)(rnd64() >> 11) * 0x1p-53 - 0.5;
    sw_tstats_init(s);
    add(s, DT_F64, big, M * sizeof *big);
    check("f64 1e6 values around 1000", s, big, M, 1e-12);
    free(big);

    free(q);
    free(qv);
    free(s);
    free(t);
    free(f);
    free(v);
}

static void test_refusals(void)
{
    sw_tstats s;
    sw_tstats_init(&s);
    float x[2] = {1, 2};
    add(&s, DT_F32, x, sizeof x);
    sw_tstats before = s;
    uint8_t buf[64] = {0};

    int rc = sw_tstats_add(&s, DT_F32, buf, 6);
    ok(rc == SW_EINVALID && strstr(sw_error_last(), "f32") && strstr(sw_error_last(), "6 bytes"),
       "f32, 6 bytes: refused (%s)", sw_error_last());
    ok(sw_tstats_add(&s, DT_F64, buf, 12) == SW_EINVALID, "f64, 12 bytes: refused");
    ok(sw_tstats_add(&s, DT_BF16, buf, 1) == SW_EINVALID, "bf16, 1 byte: refused");
    rc = sw_tstats_add(&s, DT_Q8, buf, 33);
    ok(rc == SW_EINVALID && strstr(sw_error_last(), "q8_0") && strstr(sw_error_last(), "blocks"),
       "q8_0, 33 bytes: refused (%s)", sw_error_last());
    ok(sw_tstats_add(&s, DT_Q4, buf, 32) == SW_EINVALID, "q4_0, 32 bytes: refused");

    static const struct {
        swarm_dtype dt;
        const char *name;
    } no[] = {
        {{SWARM_DTYPE_COMPLEX, 64, 1}, "c64"},
        {{SWARM_DTYPE_COMPLEX, 128, 1}, "c128"},
        {{SWARM_DTYPE_FLOAT6_E2M3FN, 6, 1}, "f6_e2m3fn"},
        {{SWARM_DTYPE_FLOAT6_E3M2FN, 6, 1}, "f6_e3m2fn"},
        {{SWARM_DTYPE_FLOAT4_E2M1FN, 4, 1}, "f4_e2m1fn"},
        {{SWARM_DTYPE_FLOAT, 8, 1}, "dtype(2,8,1)"},
        {{SWARM_DTYPE_FLOAT, 32, 4}, "dtype(2,32,4)"},
        {{SWARM_DTYPE_INT, 128, 1}, "dtype(0,128,1)"},
        {{SWARM_DTYPE_Q8_0, 8, 1}, "dtype(128,8,1)"},
        {{SWARM_DTYPE_FLOAT8_E5M2, 16, 1}, "dtype(12,16,1)"},
        {{99, 8, 1}, "dtype(99,8,1)"},
    };
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        rc = sw_tstats_add(&s, no[i].dt, buf, 32);
        ok(rc == SW_EINVALID && strstr(sw_error_last(), no[i].name), "%s refused: %s", no[i].name, sw_error_last());
    }
    ok(sw_tstats_add(&s, no[0].dt, NULL, 0) == SW_EINVALID, "c64 refused even with no bytes");
    ok(!memcmp(&s, &before, sizeof s), "refusals leave the state unchanged");
}

int main(void)
{
    test_known();
    test_half();
    test_ints();
    test_float8();
    test_quant();
    test_splits();
    test_refusals();
    return tap_done();
}
