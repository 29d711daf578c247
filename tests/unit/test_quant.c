/* test_quant.c — the quant plugin (org.swarm.quant): Q8_0 and Q4_0 against FORMATS.md's vectors and a
 * literal transcription of ggml's reference code, the vector path against the scalar one on hostile
 * blocks, ggml's error bound, per-row int8, the dtype rule; loaded from the build tree and called through
 * swarm's host (plugin_host.h). */
#include "common/numerics.h"
#include "base/error.h"
#include "base/util.h"
#include "plugin_host.h"
#include "tap.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const sw_plugin *qp;

static const swarm_dtype DT_F32 = {SWARM_DTYPE_FLOAT, 32, 1}, DT_F16 = {SWARM_DTYPE_FLOAT, 16, 1},
                         DT_I64 = {SWARM_DTYPE_INT, 64, 1}, DT_Q8 = {SWARM_DTYPE_Q8_0, 0, 1},
                         DT_Q4 = {SWARM_DTYPE_Q4_0, 0, 1}, DT_I8 = {SWARM_DTYPE_INT, 8, 1};

/* ---- Calling ops --------------------------------------------------------------------------------- */

static size_t op_index(const char *name)
{
    for (size_t i = 0; i < qp->desc->n_ops; i++)
        if (!strcmp(qp->desc->ops[i]->name, name))
            return i;
    return 0;
}

static swarm_value tensor(const void *data, swarm_dtype dt, int ndim, int64_t *shape)
{
    swarm_value v;
    memset(&v, 0, sizeof v);
    v.kind = SWARM_KIND_TENSOR;
    v.u.tensor.data = (void *)data;
    v.u.tensor.device = (swarm_device){SWARM_DEVICE_CPU, 0};
    v.u.tensor.ndim = ndim;
    v.u.tensor.dtype = dt;
    v.u.tensor.shape = shape;
    return v;
}

/* Calls op name on n inputs with param text (NULL: none); copies the output's bytes to a malloc'd buffer.
 * Returns the call's code; *dt and *nbytes describe the output. */
static int call(const char *name, const char *param, const swarm_value *in, uint8_t **out, swarm_dtype *dt,
                uint64_t *nbytes, int64_t *shape0)
{
    size_t i = op_index(name);
    const swarm_op *op = qp->desc->ops[i];
    swarm_param_value pv[1];
    if (param && sw_param_parse(&pv[0], &op->params[0], param))
        return SW_EINVALID;
    size_t cpu = 0; /* the CPU variant: a GPU companion may have added others */
    while (cpu + 1 < op->n_variants && op->variants[cpu]->device_type != SWARM_DEVICE_CPU)
        cpu++;
    sw_op_outputs o;
    sw_op_outputs_init(&o, op);
    int rc = sw_op_call(&o, qp, i, cpu, pv, in, &sw_heap_allocator, -1);
    if (!rc) {
        const swarm_tensor *y = &o.v[0].u.tensor;
        sw_tensor_nbytes(nbytes, y->dtype, y->ndim, y->shape);
        *out = malloc(*nbytes + 1);
        memcpy(*out, y->data, (size_t)*nbytes);
        *dt = y->dtype;
        if (shape0)
            *shape0 = y->ndim ? y->shape[0] : -1;
    }
    sw_op_outputs_free(&o, &sw_heap_allocator);
    return rc;
}

/* Quantizes rows x cols f32 values with type; returns the blocks (malloc'd) or NULL. */
static uint8_t *quantize(const float *x, int64_t rows, int64_t cols, const char *type)
{
    int64_t shape[2] = {rows, cols};
    swarm_value in = tensor(x, DT_F32, 2, shape);
    uint8_t *out = NULL;
    swarm_dtype dt;
    uint64_t nb;
    if (call("quantize", type, &in, &out, &dt, &nb, NULL))
        printf("#   %s\n", sw_error_last());
    return out;
}

/* ---- ggml's reference, transcribed literally (ggml-quants.c), with libm's roundf and fabsf and the
 * compiler's _Float16 for GGML_FP32_TO_FP16. Valid for finite inputs, where ggml's casts are defined. */

#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

static void ggml_q8_0(uint8_t *y, const float *x)
{
    float amax = 0.0f;
    for (int j = 0; j < 32; j++)
        amax = MAX(amax, fabsf(x[j]));
    const float d = amax / ((1 << 7) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    _Float16 h = (_Float16)d;
    memcpy(y, &h, 2);
    for (int j = 0; j < 32; ++j)
        y[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
}

static void ggml_q4_0(uint8_t *y, const float *x)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; j++) {
        const float v = x[j];
        if (amax < fabsf(v)) {
            amax = fabsf(v);
            max = v;
        }
    }
    const float d = max / -8;
    const float id = d ? 1.0f / d : 0.0f;
    _Float16 h = (_Float16)d;
    memcpy(y, &h, 2);
    for (int j = 0; j < 16; ++j) {
        const float x0 = x[j] * id, x1 = x[16 + j] * id;
        const uint8_t xi0 = (uint8_t)MIN(15, (int8_t)(x0 + 8.5f));
        const uint8_t xi1 = (uint8_t)MIN(15, (int8_t)(x1 + 8.5f));
        y[2 + j] = (uint8_t)(xi0 | (xi1 << 4));
    }
}

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint32_t rnd32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* A random finite float: uniform in [-s, s] with s a random power of ten, or a tie-making multiple. */
static float rnd_float(int kind)
{
    float u = (float)(rnd32() & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
    static const float scales[] = {1e-30f, 1e-6f, 0.01f, 1.0f, 3.0f, 1000.0f, 1e30f};
    if (kind == 1) /* halves: x * id lands on .5 often when amax is 127 */
        return (float)((int)(rnd32() % 255) - 127) / 2.0f;
    return u * scales[rnd32() % (sizeof scales / sizeof *scales)];
}

static void hex(char *buf, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(buf + 3 * i, "%02x ", b[i]);
}

/* ---- Quantization tests -------------------------------------------------------------------------- */

static void test_vectors(void)
{
    float x[32];
    for (int i = 0; i < 32; i++)
        x[i] = (float)(i - 16) / 16.0f;
    static const uint8_t q8[34] = {0x08, 0x20, 0x81, 0x89, 0x91, 0x99, 0xa1, 0xa9, 0xb1, 0xb9, 0xc0, 0xc8,
                                   0xd0, 0xd8, 0xe0, 0xe8, 0xf0, 0xf8, 0x00, 0x08, 0x10, 0x18, 0x20, 0x28,
                                   0x30, 0x38, 0x40, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77};
    static const uint8_t q4[18] = {0x00, 0x30, 0x80, 0x91, 0x91, 0xa2, 0xa2, 0xb3, 0xb3,
                                   0xc4, 0xc4, 0xd5, 0xd5, 0xe6, 0xe6, 0xf7, 0xf7, 0xf8};
    uint8_t *a = quantize(x, 1, 32, "q8_0"), *b = quantize(x, 1, 32, "q4_0");
    char buf[128];
    ok(a && !memcmp(a, q8, 34), "Q8_0 of (i-16)/16 is FORMATS.md's block");
    if (a && memcmp(a, q8, 34))
        hex(buf, a, 34), printf("#   got %s\n", buf);
    ok(b && !memcmp(b, q4, 18), "Q4_0 of (i-16)/16 is FORMATS.md's block");
    if (b && memcmp(b, q4, 18))
        hex(buf, b, 18), printf("#   got %s\n", buf);
    uint8_t ref[34];
    sw_num_q8_0_block(ref, x);
    ok(!memcmp(ref, q8, 34), "numerics.h's scalar Q8_0 gives the same block");
    sw_num_q4_0_block(ref, x);
    ok(!memcmp(ref, q4, 18), "numerics.h's scalar Q4_0 gives the same block");
    free(a);
    free(b);

    float z[64] = {0};
    z[5] = -0.0f;
    a = quantize(z, 1, 64, "q8_0");
    b = quantize(z, 1, 64, "q4_0");
    int zero8 = a != NULL, zero4 = b != NULL;
    for (int k = 0; a && k < 2 * 34; k++)
        zero8 &= a[k] == 0;
    for (int k = 0; b && k < 2 * 18; k++)
        zero4 &= b[k] == ((k % 18) == 0 ? 0 : (k % 18) == 1 ? 0x80 : 0x88);
    ok(zero8, "all-zero Q8_0 blocks: d = +0, every q 0 (a -0 input included)");
    ok(zero4, "all-zero Q4_0 blocks: d = -0 (8000: ggml's 0.0f / -8), every nibble 8");
    free(a);
    free(b);
}

/* Random blocks, quantized by the op (its SSE2 path on x86-64) and by ggml's code: identical bytes. */
static void test_against_ggml(void)
{
    enum { ROWS = 64, COLS = 256 };
    float *x = malloc(sizeof(float) * ROWS * COLS);
    int same8 = 1, same4 = 1;
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < ROWS * COLS; i++)
            x[i] = rnd_float(round % 3 == 1);
        uint8_t *a = quantize(x, ROWS, COLS, "q8_0"), *b = quantize(x, ROWS, COLS, "q4_0");
        uint8_t r8[34], r4[18];
        for (int blk = 0; blk < ROWS * COLS / 32; blk++) {
            ggml_q8_0(r8, x + 32 * blk);
            ggml_q4_0(r4, x + 32 * blk);
            if (same8 && (!a || memcmp(a + 34 * blk, r8, 34))) {
                same8 = 0;
                printf("#   Q8_0 differs in round %d block %d\n", round, blk);
            }
            if (same4 && (!b || memcmp(b + 18 * blk, r4, 18))) {
                same4 = 0;
                printf("#   Q4_0 differs in round %d block %d\n", round, blk);
            }
        }
        free(a);
        free(b);
    }
    ok(same8, "Q8_0: 40 x 512 random blocks (ties, 1e-30 to 1e30) equal ggml's reference bytes");
    ok(same4, "Q4_0: 40 x 512 random blocks equal ggml's reference bytes");
    free(x);
}

/* Blocks the vector path must hand to the scalar reference (NaN, infinities) or get right on its own
 * (subnormals, ties of |x|, a negative maximum): the op's bytes equal numerics.h's. */
static void test_hostile_blocks(void)
{
    float b[8][32];
    for (int k = 0; k < 8; k++)
        for (int j = 0; j < 32; j++)
            b[k][j] = (float)(j % 7) - 3.0f;
    b[0][3] = NAN;
    b[1][0] = NAN;
    b[2][9] = INFINITY;
    b[3][31] = -INFINITY;
    for (int j = 0; j < 32; j++)
        b[4][j] = (j & 1 ? -1.0f : 1.0f) * 1e-40f * (float)j; /* subnormals */
    for (int j = 0; j < 32; j++)
        b[5][j] = j == 7 ? -5.0f : j == 20 ? 5.0f : 1.0f; /* |x| tie: the first, negative, wins */
    b[6][0] = -1e38f;
    b[6][1] = 3.4028235e38f;
    for (int j = 0; j < 32; j++)
        b[7][j] = sw_num_float(0x00000001u + (uint32_t)j); /* the smallest subnormals: id overflows */
    uint8_t *a = quantize(&b[0][0], 8, 32, "q8_0"), *c = quantize(&b[0][0], 8, 32, "q4_0");
    int same8 = a != NULL, same4 = c != NULL;
    for (int k = 0; k < 8; k++) {
        uint8_t r[34];
        sw_num_q8_0_block(r, b[k]);
        if (a && memcmp(a + 34 * k, r, 34))
            same8 = 0, printf("#   Q8_0 block %d differs\n", k);
        sw_num_q4_0_block(r, b[k]);
        if (c && memcmp(c + 18 * k, r, 18))
            same4 = 0, printf("#   Q4_0 block %d differs\n", k);
    }
    ok(same8, "Q8_0 with NaN, infinities, subnormals, extremes: the op equals the scalar reference");
    ok(same4, "Q4_0 with NaN, infinities, subnormals, |x| ties: the op equals the scalar reference");
    /* The defined cases: an infinity makes d infinite and every q 0 (ggml leaves NaN * 0 to int undefined). */
    int inf_ok = a && a[34 * 2] == 0x00 && a[34 * 2 + 1] == 0x7c;
    for (int j = 0; a && j < 32; j++)
        inf_ok &= a[34 * 2 + 2 + j] == 0;
    ok(inf_ok, "Q8_0 block with +inf: d = inf (7c00), every q 0");
    ok(c && c[18 * 5] == 0x00 && c[18 * 5 + 1] == 0x39, "Q4_0 |x| tie: the first (-5) is max, d = 0.625 (3900)");
    free(a);
    free(c);
}

/* ggml's test-quantize-fns: data 0.1 + 2 cos(i + offset), error sqrt(sum of squares) / n below 0.002. */
static void test_error_bound(void)
{
    enum { N = 4096 };
    float *x = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++)
        x[i] = 0.1f + 2.0f * cosf((float)i + 0.0f);
    const char *types[2] = {"q8_0", "q4_0"};
    for (int t = 0; t < 2; t++) {
        uint8_t *q = quantize(x, 1, N, types[t]), *out = NULL;
        int64_t shape[2] = {1, N};
        swarm_value in = tensor(q, t ? DT_Q4 : DT_Q8, 2, shape);
        swarm_dtype dt;
        uint64_t nb;
        int rc = q ? call("dequantize", NULL, &in, &out, &dt, &nb, NULL) : -1;
        double sum = 0;
        for (int i = 0; !rc && i < N; i++) {
            float v;
            memcpy(&v, out + 4 * i, 4);
            sum += (double)(v - x[i]) * (v - x[i]);
        }
        double err = sqrt(sum) / N;
        ok(!rc && dt.code == SWARM_DTYPE_FLOAT && nb == 4 * N && err < 0.002, "%s round trip error %.6f < 0.002",
           types[t], err);
        free(q);
        free(out);
    }
    free(x);
}

static void test_dequantize_and_rule(void)
{
    float x[32];
    for (int i = 0; i < 32; i++)
        x[i] = (float)(i - 16) / 16.0f;
    uint8_t *q = quantize(x, 1, 32, "q8_0"), *out = NULL;
    int64_t shape[2] = {1, 32};
    swarm_value in = tensor(q, DT_Q8, 2, shape);
    swarm_dtype dt;
    uint64_t nb;
    int good = q && !call("dequantize", NULL, &in, &out, &dt, &nb, NULL);
    float d = sw_num_float(sw_num_f32_of_f16(0x2008));
    for (int j = 0; good && j < 32; j++) {
        float v, want = (float)(int8_t)q[2 + j] * d;
        memcpy(&v, out + 4 * j, 4);
        good = v == want;
    }
    ok(good, "dequantize Q8_0: q x float(d16)");
    free(q);
    free(out);

    /* The dtype rule: 2-D with rows of a multiple of 32 → blocks; other floats → f32; the rest as is. */
    int64_t s2[2] = {2, 33}, s1[1] = {3};
    float f[66] = {1.5f};
    in = tensor(f, DT_F32, 2, s2);
    good = !call("quantize", "q8_0", &in, &out, &dt, &nb, NULL) && dt.code == SWARM_DTYPE_FLOAT && dt.bits == 32 &&
           nb == 66 * 4 && !memcmp(out, f, nb);
    ok(good, "quantize: a [2, 33] f32 tensor stays f32, bytes unchanged");
    free(out);
    uint16_t h[3] = {0x3c00, 0xc000, 0x0001};
    in = tensor(h, DT_F16, 1, s1);
    good = !call("quantize", "q4_0", &in, &out, &dt, &nb, NULL) && dt.code == SWARM_DTYPE_FLOAT && dt.bits == 32;
    float w[3];
    if (good)
        memcpy(w, out, 12);
    ok(good && w[0] == 1.0f && w[1] == -2.0f && w[2] == ldexpf(1.0f, -24), "quantize: a 1-D f16 tensor becomes exact f32");
    free(out);
    int64_t ids[3] = {7, -8, 9};
    in = tensor(ids, DT_I64, 1, s1);
    good = !call("quantize", "q8_0", &in, &out, &dt, &nb, NULL) && dt.code == SWARM_DTYPE_INT && nb == 24 &&
           !memcmp(out, ids, 24);
    ok(good, "quantize: an i64 tensor passes through unchanged");
    free(out);
    uint16_t hb[64];
    float fb[64];
    for (int i = 0; i < 64; i++) {
        fb[i] = (float)(i * 37 % 64 - 31) / 8.0f;
        hb[i] = sw_num_f16_of_f32(sw_num_bits(fb[i])); /* exact: eighths */
    }
    int64_t s3[2] = {2, 32};
    in = tensor(hb, DT_F16, 2, s3);
    uint8_t *fromh = NULL, *fromf = quantize(fb, 2, 32, "q8_0");
    good = !call("quantize", "q8_0", &in, &fromh, &dt, &nb, NULL) && dt.code == SWARM_DTYPE_Q8_0 && nb == 68 && fromf &&
           !memcmp(fromh, fromf, 68);
    ok(good, "quantize: f16 rows are widened exactly, then give the f32 blocks");
    free(fromh);
    free(fromf);
}

static void test_int8_rows(void)
{
    float x[8] = {1.0f, -2.0f, 0.5f, 4.0f, 0.0f, 0.0f, -0.0f, 0.0f};
    int64_t shape[2] = {2, 4};
    swarm_value in = tensor(x, DT_F32, 2, shape);
    uint8_t *q = NULL, *s = NULL, *y = NULL;
    swarm_dtype dt, dts;
    uint64_t nb, nbs;
    int64_t s0;
    int good = !call("int8_rows", NULL, &in, &q, &dt, &nb, NULL) && dt.code == SWARM_DTYPE_INT && dt.bits == 8 && nb == 8;
    /* 1 x 127/4 = 31.75 → 32; -2 x 127/4 = -63.5 → -64 (tie to even); 0.5 → 15.875 → 16; 4 → 127. */
    static const int8_t want[8] = {32, -64, 16, 127, 0, 0, 0, 0};
    ok(good && !memcmp(q, want, 8), "int8_rows: round half to even of x x 127 / absmax; a zero row is 0");
    good = !call("row_absmax", NULL, &in, &s, &dts, &nbs, &s0) && nbs == 8 && s0 == 2;
    float sv[2];
    if (good)
        memcpy(sv, s, 8);
    ok(good && sv[0] == 4.0f && sv[1] == 0.0f, "row_absmax: one f32 per row");
    int64_t qs[2] = {2, 4}, ss[1] = {2};
    swarm_value pair[2] = {tensor(q, DT_I8, 2, qs), tensor(s, DT_F32, 1, ss)};
    good = q && s && !call("int8_dequantize", NULL, pair, &y, &dt, &nb, NULL) && nb == 32;
    float back[8];
    if (good)
        memcpy(back, y, 32);
    ok(good && back[0] == 32.0f * 4.0f / 127.0f && back[3] == 4.0f && back[4] == 0.0f,
       "int8_dequantize: q x s / 127");
    free(y);
    int64_t bad[1] = {3};
    pair[1] = tensor(s, DT_F32, 1, bad);
    ok(call("int8_dequantize", NULL, pair, &y, &dt, &nb, NULL) == SW_EINVALID &&
           strstr(sw_error_last(), "one scale per row"),
       "int8_dequantize refuses scales that do not match the rows");
    x[1] = NAN;
    free(q);
    q = NULL;
    good = !call("int8_rows", NULL, &in, &q, &dt, &nb, NULL) && (int8_t)q[1] == 0 && (int8_t)q[3] == 127;
    ok(good, "int8_rows: a NaN is skipped by absmax and quantizes to 0");
    free(q);
    free(s);
}

int main(void)
{
    sw_plugins *ps = test_plugins_load();
    ok(ps != NULL, "plugins load from the build tree");
    qp = ps ? sw_plugins_find(ps, "org.swarm.quant") : NULL;
    ok(qp != NULL, "org.swarm.quant is loaded");
    if (qp) {
        test_vectors();
        test_against_ggml();
        test_hostile_blocks();
        test_error_bound();
        test_dequantize_and_rule();
        test_int8_rows();
    }
    sw_plugins_free(ps);
    return tap_done();
}
