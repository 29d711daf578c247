/* test_convert.c — the convert plugin's cast op (org.swarm.convert): rounding vectors, NaN rules,
 * exhaustive f16/bf16 checks, pass-through, odd lengths, the vector kernels against scalar references, an
 * allocation failure; loaded from the build tree and called through swarm's host (plugin_host.h). */
#include "base/error.h"
#include "base/util.h"
#include "plugin_host.h"
#include "tap.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const sw_plugin *cvp;
static size_t cv_variant;

static const swarm_dtype DT_F32 = {SWARM_DTYPE_FLOAT, 32, 1}, DT_F16 = {SWARM_DTYPE_FLOAT, 16, 1},
                         DT_BF16 = {SWARM_DTYPE_BFLOAT, 16, 1};

/* Casts n elements (a 1-D tensor, data at in + offset) to dtype `to`; the output's bytes go to out. */
static int cast(void *out, swarm_dtype *outdt, const void *in, size_t offset, swarm_dtype dt, int64_t n, const char *to)
{
    const swarm_op *op = cvp->desc->ops[0];
    swarm_param_value pv;
    if (sw_param_parse(&pv, &op->params[0], to))
        return SW_EINVALID;
    int64_t shape[1] = {n};
    swarm_value x;
    memset(&x, 0, sizeof x);
    x.kind = SWARM_KIND_TENSOR;
    x.u.tensor.data = (void *)in;
    x.u.tensor.device = (swarm_device){SWARM_DEVICE_CPU, 0};
    x.u.tensor.ndim = 1;
    x.u.tensor.dtype = dt;
    x.u.tensor.shape = shape;
    x.u.tensor.byte_offset = offset;
    sw_op_outputs o;
    sw_op_outputs_init(&o, op);
    int rc = sw_op_call(&o, cvp, 0, cv_variant, &pv, &x, &sw_heap_allocator, -1);
    if (!rc) {
        const swarm_tensor *y = &o.v[0].u.tensor;
        uint64_t bytes = 0;
        sw_tensor_nbytes(&bytes, y->dtype, y->ndim, y->shape);
        if (y->ndim != 1 || y->shape[0] != n)
            rc = 999;
        else
            memcpy(out, y->data, (size_t)bytes);
        if (outdt)
            *outdt = y->dtype;
    }
    sw_op_outputs_free(&o, &sw_heap_allocator);
    return rc;
}

static uint16_t ref_bf16(uint32_t u)
{
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* fp32 -> fp16 by arithmetic in double (exact: scaling by powers of two; nearbyint rounds to even). */
static uint16_t ref_f16(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    if (isnan(f))
        return (uint16_t)(sign | 0x7e00u | ((u >> 13) & 0x3ffu));
    double a = fabs((double)f);
    if (a >= 65520.0)
        return sign | 0x7c00u;
    if (a < ldexp(1.0, -14))
        return (uint16_t)(sign | (uint16_t)nearbyint(ldexp(a, 24)));
    int e;
    frexp(a, &e); /* a = m * 2^e, m in [0.5, 1) */
    double q = nearbyint(ldexp(a, 11 - e));
    int E = e - 1 + 15;
    if (q == 2048.0) {
        q = 1024.0;
        E++;
    }
    if (E >= 31)
        return sign | 0x7c00u;
    return (uint16_t)(sign | E << 10 | ((int)q - 1024));
}

/* fp16 -> fp32 by arithmetic (NaN: the payload moved into place). */
static uint32_t ref_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 31)
        return sign | 0x7f800000u | (uint32_t)m << 13;
    float f = e ? (float)ldexp(1024 + m, e - 25) : (float)ldexp(m, -24);
    uint32_t u;
    memcpy(&u, &f, 4);
    return sign | u;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* One f32 -> 16-bit vector, through the tail (1 element) and inside a block (64 copies). */
static int vec16(uint32_t in, uint16_t want, const char *to)
{
    uint32_t many[64];
    uint16_t out[64];
    for (int i = 0; i < 64; i++)
        many[i] = in;
    if (cast(out, NULL, &in, 0, DT_F32, 1, to) || out[0] != want)
        return 0;
    if (cast(out, NULL, many, 0, DT_F32, 64, to))
        return 0;
    for (int i = 0; i < 64; i++)
        if (out[i] != want)
            return 0;
    return 1;
}

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static void test_convert(void)
{
    const swarm_op *op = cvp->desc->ops[0];
    size_t order[8], nv = 0;
    ok(cvp->desc->n_ops == 1 && !strcmp(op->name, "cast") && op->op_version == 1 &&
           (op->flags & SWARM_OP_DETERMINISTIC),
       "convert has the op cast, version 1, deterministic");
    ok(sw_op_variants(order, &nv, cvp, 0, SW_DEVICE_CPU, 0) == 0 && nv == 1 &&
           !strcmp(op->variants[order[0]]->numerics, "rne-1"),
       "one CPU variant, numerics rne-1");
    cv_variant = nv ? order[0] : 0;
    swarm_param_value pv;
    ok(op->n_params == 1 && sw_param_parse(&pv, &op->params[0], op->params[0].default_value) == 0 && pv.i == 2,
       "dtype defaults to bf16");
    ok(sw_param_parse(&pv, &op->params[0], "f64") == SW_EINVALID, "dtype f64 is refused");

    /* bf16 vectors. */
    static const uint32_t bin[] = {0x3F808000, 0x3F818000, 0x3F80C000, 0x7F7FFFFF, 0x00008000, 0x00018000,
                                   0x7FC00000, 0xFF800001, 0x7F800001, 0xFF800000, 0x80000000, 0xFFFFFFFF};
    static const uint16_t bout[] = {0x3F80, 0x3F82, 0x3F81, 0x7F80, 0x0000, 0x0002,
                                    0x7FC0, 0xFFC0, 0x7FC0, 0xFF80, 0x8000, 0xFFFF};
    for (size_t i = 0; i < sizeof bin / sizeof *bin; i++)
        ok(vec16(bin[i], bout[i], "bf16"), "bf16(%08X) = %04X", (unsigned)bin[i], (unsigned)bout[i]);

    /* fp16 vectors. */
    static const float fin[] = {1.0f, -2.0f, 65504.0f, 65520.0f, 6.1035156e-05f, 5.9604645e-08f};
    static const uint16_t fout[] = {0x3C00, 0xC000, 0x7BFF, 0x7C00, 0x0400, 0x0001};
    for (size_t i = 0; i < sizeof fin / sizeof *fin; i++)
        ok(vec16(fbits(fin[i]), fout[i], "f16"), "f16(%.9g) = %04X", (double)fin[i], (unsigned)fout[i]);
    ok(vec16(0x7FC00000, 0x7E00, "f16") && vec16(0xFF800001, 0xFE00, "f16") && vec16(0x7F800001, 0x7E00, "f16") &&
           vec16(0x7FFFFFFF, 0x7FFF, "f16") && vec16(0xFFA00000, 0xFF00 | 0x7E00, "f16"),
       "f16 NaN: sign kept, quiet bit set, top payload bits kept");
    ok(vec16(0x33000000, 0x0000, "f16") && vec16(0x33000001, 0x0001, "f16") && vec16(0xB3000000, 0x8000, "f16") &&
           vec16(0x387FFFFF, 0x0400, "f16") && vec16(0x477FEFFF, 0x7BFF, "f16") && vec16(0x7F800000, 0x7C00, "f16") &&
           vec16(0x00000001, 0x0000, "f16"),
       "f16 edges: 2^-25 ties to 0, just above rounds up, subnormal to normal, below 65520, infinity");

    /* f16 -> f32 -> f16 round-trips every non-NaN pattern; f16 -> f32 is exact; bf16 -> f32 is u << 16. */
    {
        size_t n = 65536;
        uint16_t *h = malloc(n * 2), *back = malloc(n * 2);
        uint32_t *f = malloc(n * 4);
        for (size_t i = 0; i < n; i++)
            h[i] = (uint16_t)i;
        swarm_dtype dt;
        int rc = cast(f, &dt, h, 0, DT_F16, (int64_t)n, "f32");
        ok(rc == 0 && dt.code == SWARM_DTYPE_FLOAT && dt.bits == 32 && dt.lanes == 1, "f16 -> f32 gives float32");
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += f[i] != ref_f32((uint16_t)i);
        ok(rc == 0 && bad == 0, "f16 -> f32 is exact for all 65536 patterns (%zu differ)", bad);
        rc = cast(back, NULL, f, 0, DT_F32, (int64_t)n, "f16");
        bad = 0;
        for (size_t i = 0; i < n; i++) {
            int nan = (i & 0x7c00) == 0x7c00 && (i & 0x3ff);
            if (nan ? back[i] != (i | 0x200) : back[i] != i)
                bad++;
        }
        ok(rc == 0 && bad == 0, "f16 -> f32 -> f16 round-trips every pattern (NaNs come back quiet; %zu differ)", bad);

        rc = cast(f, &dt, h, 0, DT_BF16, (int64_t)n, "f32");
        bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += f[i] != (uint32_t)i << 16;
        ok(rc == 0 && dt.code == SWARM_DTYPE_FLOAT && bad == 0, "bf16 -> f32 is u << 16 for all patterns");

        rc = cast(back, &dt, h, 0, DT_F16, (int64_t)n, "bf16");
        bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += back[i] != ref_bf16(ref_f32((uint16_t)i));
        ok(rc == 0 && dt.code == SWARM_DTYPE_BFLOAT && bad == 0, "f16 -> bf16 for all patterns (%zu differ)", bad);
        rc = cast(back, &dt, h, 0, DT_BF16, (int64_t)n, "f16");
        bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += back[i] != ref_f16((uint32_t)i << 16);
        ok(rc == 0 && dt.code == SWARM_DTYPE_FLOAT && dt.bits == 16 && bad == 0,
           "bf16 -> f16 for all patterns (%zu differ)", bad);
        rc = cast(back, &dt, h, 0, DT_BF16, (int64_t)n, "bf16");
        ok(rc == 0 && !memcmp(back, h, n * 2), "bf16 -> bf16 copies");
        free(h);
        free(back);
        free(f);
    }

    /* Other dtypes pass through. */
    {
        int32_t iv[5] = {1, -2, 3, 0x7fffffff, -0x7fffffff - 1}, io[5];
        swarm_dtype dt;
        swarm_dtype i32 = {SWARM_DTYPE_INT, 32, 1};
        ok(cast(io, &dt, iv, 0, i32, 5, "bf16") == 0 && dt.code == SWARM_DTYPE_INT && dt.bits == 32 &&
               !memcmp(io, iv, sizeof iv),
           "an int32 tensor passes through unchanged");
        double dv[3] = {1.5, -0.1, 1e300}, dout[3];
        swarm_dtype f64 = {SWARM_DTYPE_FLOAT, 64, 1};
        ok(cast(dout, &dt, dv, 0, f64, 3, "f16") == 0 && dt.code == SWARM_DTYPE_FLOAT && dt.bits == 64 &&
               !memcmp(dout, dv, sizeof dv),
           "an f64 tensor passes through unchanged");
        uint8_t f4[3] = {0x12, 0x34, 0x56}, f4o[3];
        swarm_dtype fp4 = {SWARM_DTYPE_FLOAT4_E2M1FN, 4, 1};
        ok(cast(f4o, &dt, f4, 0, fp4, 6, "f32") == 0 && dt.code == SWARM_DTYPE_FLOAT4_E2M1FN && !memcmp(f4o, f4, 3),
           "an fp4 tensor passes through unchanged");
        uint32_t one = 0x3f800000, o1;
        ok(cast(&o1, &dt, &one, 0, DT_F32, 1, "f32") == 0 && o1 == one && dt.bits == 32, "f32 -> f32 copies");
        ok(cast(&o1, NULL, &one, 0, DT_F32, 0, "bf16") == 0, "an empty tensor converts");
        ok(cast(f4o, NULL, f4, 0, fp4, 3, "f32") == SW_EINVALID, "an fp4 tensor of a partial byte is refused");
    }

    /* Strides are refused (the variant cannot do them). */
    {
        const swarm_op *cop = cvp->desc->ops[0];
        int64_t shape[1] = {2}, strides[1] = {2};
        float in[4] = {1, 2, 3, 4};
        swarm_value x;
        memset(&x, 0, sizeof x);
        x.kind = SWARM_KIND_TENSOR;
        x.u.tensor.data = in;
        x.u.tensor.device = (swarm_device){SWARM_DEVICE_CPU, 0};
        x.u.tensor.ndim = 1;
        x.u.tensor.dtype = DT_F32;
        x.u.tensor.shape = shape;
        x.u.tensor.strides = strides;
        swarm_param_value p = {.i = 2};
        sw_op_outputs o;
        sw_op_outputs_init(&o, cop);
        int rc = sw_op_call(&o, cvp, 0, cv_variant, &p, &x, &sw_heap_allocator, -1);
        ok(rc == SW_ERETRY && strstr(sw_error_last(), "strides"), "a strided tensor is refused as unsupported (another variant may)");
        sw_op_outputs_free(&o, &sw_heap_allocator);
    }

    /* Odd lengths, unaligned data, and the vector kernels against the scalar references. */
    {
        static const int64_t lens[] = {1, 7, 31, 33, 1000003};
        for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
            size_t n = (size_t)lens[li];
            uint8_t *in = malloc(n * 4 + 1);
            uint16_t *out = malloc(n * 2 + 2);
            for (size_t i = 0; i < n; i++) {
                uint32_t u = rnd32();
                memcpy(in + 1 + 4 * i, &u, 4);
            }
            size_t bad = 0;
            int rc = cast(out, NULL, in, 1, DT_F32, (int64_t)n, "bf16");
            for (size_t i = 0; i < n && !rc; i++) {
                uint32_t u;
                memcpy(&u, in + 1 + 4 * i, 4);
                bad += out[i] != ref_bf16(u);
            }
            ok(rc == 0 && bad == 0, "f32 -> bf16 of %zu elements, unaligned (%zu differ)", n, bad);
            free(in);
            free(out);
        }

        size_t n = 4u << 20;
        uint32_t *in = malloc(n * 4);
        uint16_t *out = malloc(n * 2);
        uint32_t *wide = malloc(n * 4);
        for (size_t i = 0; i < n; i++) {
            uint32_t u = rnd32();
            /* A quarter near and below fp16's subnormal range, so that blocks with subnormals are common. */
            if (i % 4 == 1)
                u = (u & 0x807fffffu) | (uint32_t)(98 + (u >> 8) % 20) << 23;
            in[i] = u;
        }
        size_t bad = 0;
        int rc = cast(out, NULL, in, 0, DT_F32, (int64_t)n, "bf16");
        for (size_t i = 0; i < n && !rc; i++)
            bad += out[i] != ref_bf16(in[i]);
        ok(rc == 0 && bad == 0, "f32 -> bf16 of %zu random patterns matches the scalar reference (%zu differ)", n, bad);
        bad = 0;
        rc = cast(out, NULL, in, 0, DT_F32, (int64_t)n, "f16");
        for (size_t i = 0; i < n && !rc; i++)
            bad += out[i] != ref_f16(in[i]);
        ok(rc == 0 && bad == 0, "f32 -> f16 of %zu random patterns matches the double reference (%zu differ)", n, bad);
        bad = 0;
        rc = cast(wide, NULL, out, 0, DT_F16, (int64_t)n, "f32");
        for (size_t i = 0; i < n && !rc; i++)
            bad += wide[i] != ref_f32(out[i]);
        ok(rc == 0 && bad == 0, "f16 -> f32 of %zu values with subnormals mixed in (%zu differ)", n, bad);
        free(in);
        free(out);
        free(wide);
    }
}

/* An allocator that fails once its budget of calls is spent, and counts what is still live. */
typedef struct {
    int budget, live;
} failing;

static void *failing_alloc(void *ctx, size_t size)
{
    failing *f = ctx;
    if (f->budget-- <= 0)
        return NULL;
    f->live++;
    return malloc(size ? size : 1);
}

static void failing_free(void *ctx, void *ptr, size_t size)
{
    failing *f = ctx;
    (void)size;
    f->live--;
    free(ptr);
}

/* Allocation-failure injection through the host's allocator: the op's output cannot be allocated. */
static void test_alloc_failure(void)
{
    const swarm_op *op = cvp->desc->ops[0];
    float in[4] = {1, 2, 3, 4};
    int64_t shape[1] = {4};
    swarm_param_value pv;
    sw_param_parse(&pv, &op->params[0], "bf16");
    swarm_value x;
    memset(&x, 0, sizeof x);
    x.kind = SWARM_KIND_TENSOR;
    x.u.tensor = (swarm_tensor){in, {SWARM_DEVICE_CPU, 0}, 1, DT_F32, shape, NULL, 0};
    for (int budget = 0; budget <= 1; budget++) {
        failing f = {budget, 0};
        sw_allocator a = {failing_alloc, failing_free, &f};
        sw_op_outputs o;
        sw_op_outputs_init(&o, op);
        int rc = sw_op_call(&o, cvp, 0, cv_variant, &pv, &x, &a, -1);
        int live = f.live;
        sw_op_outputs_free(&o, &a);
        if (budget == 0)
            ok(rc == SW_ERROR && strstr(sw_error_last(), "cannot allocate") && live == 0,
               "an output that cannot be allocated is an error, nothing left allocated: %s", sw_error_last());
        else
            ok(rc == 0 && live == 1 && f.live == 0, "with memory, the same call succeeds and frees");
    }
}

int main(void)
{
    sw_plugins *ps = test_plugins_load();
    ok(ps != NULL, "plugins load from the build tree");
    cvp = ps ? sw_plugins_find(ps, "org.swarm.convert") : NULL;
    ok(cvp != NULL, "org.swarm.convert is loaded");
    if (cvp) {
        test_convert();
        test_alloc_failure();
    }
    sw_plugins_free(ps);
    return tap_done();
}
