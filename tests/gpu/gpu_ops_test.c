/* gpu_ops_test.c — make gpu-test, the host's half: swarm's own loader and op calls (core/host/plugin.c,
 * core/host/opcall.c, core/host/gpu_runtime.c, core/host/gpu_stage.c) on a machine with a GPU. It loads the CPU plugins and
 * their GPU companions from the build folder the Makefile names, checks that each companion merged and
 * that its variants' probes found the device, then runs every op with a GPU variant twice through
 * sw_op_call — the CPU variant, then the GPU one (inputs staged from host buffers that start at odd byte
 * offsets, outputs copied back) — and compares dtype, shape and bytes (for records: count, offsets and
 * bytes). TAP; exit 1 on any difference. org.swarm.dedup's minhash is compared when dedup.so is built (it
 * needs jansson and libxxhash, which a bare GPU machine may lack; gpu_test compares its kernel with the
 * plugin's own code either way). */
#include "base/error.h"
#include "host/gpu_stage.h"
#include "host/opcall.h"
#include "host/plugin.h"
#include "base/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tests, failed;

static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %d - ", ok ? "ok" : "not ok", ++tests);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    failed += !ok;
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

/* f32 bits: mostly ordinary values, some NaNs, infinities, zeros and subnormals. */
static uint32_t rnd_f32(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    uint32_t u = (uint32_t)(rng >> 16);
    static const uint32_t odd[] = {0x7fc00000u, 0xff800000u, 0x7f800000u, 0u, 0x80000000u, 0x00000101u};
    return u % 16 == 0 ? odd[u / 16 % 6] : (u & 0x807fffffu) | ((110u + u % 36u) << 23);
}

/* A host tensor whose data start one byte into a buffer (as a tensor in a file may): n elements of
 * elem bytes, from gen (f32 bits narrowed to the element size) or from src. */
typedef struct {
    uint8_t *buf;
    int64_t shape[SWARM_MAX_NDIM];
    swarm_value v;
} host_tensor;

static void host_tensor_init(host_tensor *t, swarm_dtype dt, int ndim, const int64_t *shape, const void *src)
{
    uint64_t bytes = 0;
    memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    sw_tensor_nbytes(&bytes, dt, ndim, t->shape);
    t->buf = sw_malloc(bytes + 1);
    for (uint64_t i = 0; i < bytes; i += 4) {
        uint32_t u = rnd_f32();
        if (dt.bits == 16)
            u = u >> 16 | (u & 0xffffu) << 16;
        memcpy(t->buf + 1 + i, &u, bytes - i < 4 ? bytes - i : 4);
    }
    if (src)
        memcpy(t->buf + 1, src, bytes);
    t->v.kind = SWARM_KIND_TENSOR;
    t->v.u.tensor = (swarm_tensor){t->buf, {SWARM_DEVICE_CPU, 0}, ndim, dt, t->shape, NULL, 1};
}

static const swarm_dtype F32 = {SWARM_DTYPE_FLOAT, 32, 1}, F16 = {SWARM_DTYPE_FLOAT, 16, 1},
                         BF16 = {SWARM_DTYPE_BFLOAT, 16, 1}, I32 = {SWARM_DTYPE_INT, 32, 1};

/* The first variant of op on a CPU (gpu = 0) or a GPU that can run, or -1. */
static int variant_of(const sw_plugin *p, size_t op, int gpu)
{
    const swarm_op *o = p->desc->ops[op];
    for (size_t k = 0; k < o->n_variants; k++)
        if (sw_gpu_is_gpu(o->variants[k]->device_type) == gpu && p->probes[op][k].score > 0)
            return (int)k;
    return -1;
}

/* Runs op_name on its CPU variant (into *a, return in *ra) and on its first runnable GPU variant (*b, *rb);
 * a GPU failure is printed unless quiet_gpu. Returns 0, or -1 (a failed check) when the plugin lacks
 * either variant; a and b are then not initialized. */
static int run_both(sw_op_outputs *a, int *ra, sw_op_outputs *b, int *rb, const sw_plugin *p, const char *op_name,
                    const swarm_param_value *pv, const swarm_value *in, int quiet_gpu)
{
    size_t op = 0;
    while (op < p->desc->n_ops && strcmp(p->desc->ops[op]->name, op_name))
        op++;
    int kc = op < p->desc->n_ops ? variant_of(p, op, 0) : -1, kg = kc >= 0 ? variant_of(p, op, 1) : -1;
    if (kc < 0 || kg < 0) {
        check(0, "%s %s: no CPU or no runnable GPU variant", p->desc->id, op_name);
        return -1;
    }
    sw_op_outputs_init(a, p->desc->ops[op]);
    sw_op_outputs_init(b, p->desc->ops[op]);
    *ra = sw_op_call(a, p, op, (size_t)kc, pv, in, &sw_heap_allocator, 0);
    if (*ra)
        printf("# cpu: %s\n", sw_error_last());
    *rb = sw_op_call(b, p, op, (size_t)kg, pv, in, &sw_heap_allocator, 0);
    if (*rb && !quiet_gpu)
        printf("# gpu: %s\n", sw_error_last());
    return 0;
}

/* Runs op on both variants and compares output 0. Returns the CPU output's bytes (caller frees) so a case
 * can feed the next op. */
static uint8_t *compare(const sw_plugin *p, const char *op_name, int64_t param, host_tensor *in, size_t nin,
                        const char *label, sw_op_outputs *keep)
{
    swarm_value v[2];
    for (size_t i = 0; i < nin; i++)
        v[i] = in[i].v;
    swarm_param_value pv[1] = {{.i = param}};
    sw_op_outputs a, b;
    int ra, rb;
    if (run_both(&a, &ra, &b, &rb, p, op_name, pv, v, 0))
        return NULL;
    const swarm_tensor *x = &a.v[0].u.tensor, *y = &b.v[0].u.tensor;
    uint64_t nx = 0, ny = 0;
    int ok = !ra && !rb && x->ndim == y->ndim && !memcmp(&x->dtype, &y->dtype, sizeof x->dtype);
    for (int d = 0; ok && d < x->ndim; d++)
        ok = x->shape[d] == y->shape[d];
    ok = ok && !sw_tensor_nbytes(&nx, x->dtype, x->ndim, x->shape) && !sw_tensor_nbytes(&ny, y->dtype, y->ndim, y->shape) &&
         nx == ny && !memcmp(x->data, y->data, (size_t)nx);
    check(ok, "%s %s %s: the GPU variant gives the CPU variant's dtype, shape and %llu bytes", p->desc->id, op_name,
          label, (unsigned long long)nx);
    uint8_t *copy = NULL;
    if (!ra) {
        copy = sw_malloc(nx + 1);
        memcpy(copy, x->data, (size_t)nx);
    }
    sw_op_outputs_free(&b, &sw_heap_allocator);
    if (keep)
        *keep = a;
    else
        sw_op_outputs_free(&a, &sw_heap_allocator);
    return copy;
}

static void host_tensor_free(host_tensor *t)
{
    free(t->buf);
}

static void test_convert(const sw_plugin *p)
{
    static const int64_t shape[2] = {3, 1001};
    const swarm_dtype dts[] = {F32, F16, BF16, I32};
    for (size_t i = 0; i < 4; i++)
        for (int64_t to = 0; to < 3; to++) {
            host_tensor x;
            char label[64];
            host_tensor_init(&x, dts[i], 2, shape, NULL);
            snprintf(label, sizeof label, "%s -> %s", i == 0 ? "f32" : i == 1 ? "f16" : i == 2 ? "bf16" : "i32",
                     to == 0 ? "f32" : to == 1 ? "f16" : "bf16");
            free(compare(p, "cast", to, &x, 1, label, NULL));
            host_tensor_free(&x);
        }
}

static void test_quant(const sw_plugin *p)
{
    static const int64_t shape[2] = {37, 96}, odd[1] = {7}, rows[2] = {13, 300}, small[2] = {4, 5};
    const swarm_dtype fl[] = {F32, F16, BF16};
    for (size_t i = 0; i < 3; i++)
        for (int64_t type = 0; type < 2; type++) {
            host_tensor x, q;
            sw_op_outputs out;
            char label[64];
            host_tensor_init(&x, fl[i], 2, shape, NULL);
            snprintf(label, sizeof label, "%s 37x96 to %s", i == 0 ? "f32" : i == 1 ? "f16" : "bf16", type ? "q4_0" : "q8_0");
            free(compare(p, "quantize", type, &x, 1, label, &out));
            host_tensor_init(&q, out.v[0].u.tensor.dtype, 2, shape, out.v[0].u.tensor.data);
            free(compare(p, "dequantize", 0, &q, 1, label + strlen(label) - 4, NULL));
            sw_op_outputs_free(&out, &sw_heap_allocator);
            host_tensor_free(&x);
            host_tensor_free(&q);
        }
    host_tensor x, i32;
    host_tensor_init(&x, F16, 1, odd, NULL);
    free(compare(p, "quantize", 0, &x, 1, "of a 1-D f16 (to f32)", NULL));
    host_tensor_free(&x);
    host_tensor_init(&i32, I32, 2, shape, NULL);
    free(compare(p, "quantize", 0, &i32, 1, "of i32 (copied)", NULL));
    free(compare(p, "dequantize", 0, &i32, 1, "of i32 (copied)", NULL));
    host_tensor_free(&i32);
    for (int k = 0; k < 2; k++) {
        host_tensor pair[2];
        const int64_t *sh = k ? small : rows;
        host_tensor_init(&x, k ? F16 : F32, 2, sh, NULL);
        uint8_t *q = compare(p, "int8_rows", 0, &x, 1, k ? "f16 4x5" : "f32 13x300", NULL);
        uint8_t *s = compare(p, "row_absmax", 0, &x, 1, k ? "f16 4x5" : "f32 13x300", NULL);
        if (q && s) {
            host_tensor_init(&pair[0], (swarm_dtype){SWARM_DTYPE_INT, 8, 1}, 2, sh, q);
            host_tensor_init(&pair[1], F32, 1, sh, s);
            free(compare(p, "int8_dequantize", 0, pair, 2, k ? "4x5" : "13x300", NULL));
            host_tensor_free(&pair[0]);
            host_tensor_free(&pair[1]);
        }
        free(q);
        free(s);
        host_tensor_free(&x);
    }
}


/* ---- Records: dedup's minhash ------------------------------------------------------------------------- */

/* A host record batch whose bytes start one byte into their buffer. */
typedef struct {
    uint64_t *offsets;
    uint8_t *buf;
    swarm_value v;
} host_records;

static void host_records_init(host_records *r, const char *const *docs, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(docs[i]);
    r->offsets = sw_malloc((n + 1) * sizeof(uint64_t));
    r->buf = sw_malloc(total + 2);
    r->offsets[0] = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(r->buf + 1 + r->offsets[i], docs[i], strlen(docs[i]));
        r->offsets[i + 1] = r->offsets[i] + strlen(docs[i]);
    }
    r->v.kind = SWARM_KIND_RECORDS;
    r->v.u.records = (swarm_records){n, r->offsets, r->buf + 1, total};
}

static void host_records_free(host_records *r)
{
    free(r->offsets);
    free(r->buf);
}

/* Runs a records op on both variants with params pv and compares output 0's count, offsets and bytes.
 * gpu_rc: what the GPU variant's call must return (0, or SW_ERETRY when it leaves the call to the CPU). */
static void compare_records(const sw_plugin *p, const char *op_name, const swarm_param_value *pv, const swarm_value *in,
                            const char *label, int gpu_rc)
{
    sw_op_outputs a, b;
    int ra, rb;
    if (run_both(&a, &ra, &b, &rb, p, op_name, pv, in, gpu_rc != 0))
        return;
    const swarm_records *x = &a.v[0].u.records, *y = &b.v[0].u.records;
    if (gpu_rc) {
        check(!ra && rb == gpu_rc, "%s %s %s: the GPU variant leaves it to the CPU (%s)", p->desc->id, op_name, label,
              rb ? sw_error_last() : "it ran");
    } else {
        int ok = !ra && !rb && x->count == y->count &&
                 !memcmp(x->offsets, y->offsets, (size_t)(x->count + 1) * sizeof(uint64_t)) &&
                 !memcmp(x->bytes, y->bytes, (size_t)x->offsets[x->count]);
        check(ok, "%s %s %s: the GPU variant gives the CPU variant's %llu records, %llu bytes", p->desc->id, op_name,
              label, (unsigned long long)x->count, (unsigned long long)(ra ? 0 : x->offsets[x->count]));
    }
    sw_op_outputs_free(&a, &sw_heap_allocator);
    sw_op_outputs_free(&b, &sw_heap_allocator);
}

static void test_dedup(const sw_plugin *p)
{
    static const char *const docs[] = {
        "", "Hello, World! Hello again, world: the same words twice over.", "x", "two words", "!!! \xe2\x80\x94 ...",
        "\xc3\x89" "cole \xc3\x9c" "BER stra\xc3\x9f"
        "e \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xe2\x80\x9cquoted\xe2\x80\x9d 1999",
        "a\xe2\x80\x94" "b\xe2\x80" "c\xe2\x81\xaf" "d\xc2" "e \xff\xfe broken",
        "The quick brown fox jumps over the lazy dog",
        "the QUICK brown fox jumped over the lazy dog.", ""};
    static const char *const json[] = {"{\"text\":\"Hello world, again and again\"}", "{\"id\":2,\"text\":\"\"}"};
    host_records r, j;
    host_records_init(&r, docs, sizeof docs / sizeof *docs);
    host_records_init(&j, json, 2);
    static const int64_t cases[][4] = {{5, 14, 8, 1}, {5, 14, 8, 2}, {1, 64, 1, 3}, {2, 20, 40, 4}, {3, 1024, 1, 5}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        swarm_param_value pv[5] = {
            {.s = ""}, {.i = cases[i][0]}, {.i = cases[i][1]}, {.i = cases[i][2]}, {.i = cases[i][3]}};
        char label[96];
        snprintf(label, sizeof label, "of %zu documents, shingle %lld, %lld x %lld, seed %lld",
                 sizeof docs / sizeof *docs, (long long)cases[i][0], (long long)cases[i][1], (long long)cases[i][2],
                 (long long)cases[i][3]);
        compare_records(p, "minhash", pv, &r.v, label, 0);
    }
    swarm_param_value pf[5] = {{.s = "text"}, {.i = 5}, {.i = 14}, {.i = 8}, {.i = 1}};
    compare_records(p, "minhash", pf, &j.v, "with field text (JSON)", SW_ERETRY);
    host_records_free(&r);
    host_records_free(&j);
}

int main(void)
{
    sw_plugins *ps = sw_plugins_load(NULL, 0, 0, 0);
    const sw_plugin_skip *sk;
    for (size_t i = 0; (sk = sw_plugins_skipped(ps, i)); i++)
        printf("# skipped %s: %s\n", sk->path, sk->reason);
    const sw_plugin *cv = sw_plugins_find(ps, "org.swarm.convert"), *qt = sw_plugins_find(ps, "org.swarm.quant");
    check(cv && cv->ncompanions == 1, "org.swarm.convert loaded with its companion");
    check(qt && qt->ncompanions == 1, "org.swarm.quant loaded with its companion");
    const sw_plugin *dd = sw_plugins_find(ps, "org.swarm.dedup");
    if (dd)
        check(dd->ncompanions == 1, "org.swarm.dedup loaded with its companion");
    else
        printf("# org.swarm.dedup is not built here (dedup.so needs jansson and libxxhash): its minhash is compared "
               "by gpu_test alone\n");
    if (cv && cv->ncompanions) {
        const sw_plugin_probe *pr = &cv->probes[0][cv->desc->ops[0]->n_variants - 1];
        if (!pr->score) {
            printf("# the GPU variant cannot run here (%s): no op to compare\n", pr->note ? pr->note : "score 0");
            sw_plugins_free(ps);
            printf("1..%d\n", tests);
            return failed ? 1 : 0;
        }
        check(pr->score == 90, "the GPU variant's probe found the device (score %d)", pr->score);
        test_convert(cv);
    }
    if (qt && qt->ncompanions)
        test_quant(qt);
    if (dd && dd->ncompanions)
        test_dedup(dd);
    sw_plugins_free(ps);
    printf("1..%d\n", tests);
    return failed ? 1 : 0;
}
