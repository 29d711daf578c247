/* test_gguf.c — the gguf format plugin (org.swarm.gguf): typed key-values, ggml's dimension order,
 * alignment, round trips, and every refusal of ggml's reader, truncations at every length included;
 * loaded from the build tree and called through swarm's host (plugin_host.h). */
#include "base/error.h"
#include "base/util.h"
#include "plugin_host.h"
#include "tap.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const sw_plugin *ggp;
static const swarm_format *ggf;

static const swarm_dtype DT_F32 = {SWARM_DTYPE_FLOAT, 32, 1}, DT_F16 = {SWARM_DTYPE_FLOAT, 16, 1},
                         DT_I64 = {SWARM_DTYPE_INT, 64, 1}, DT_Q8 = {SWARM_DTYPE_Q8_0, 0, 1};

/* ---- GGUF ---------------------------------------------------------------------------------------- */

static swarm_tensor_entry entry(const char *name, swarm_dtype dt, int ndim, const int64_t *shape)
{
    swarm_tensor_entry e;
    memset(&e, 0, sizeof e);
    e.name = name;
    e.dtype = dt;
    e.ndim = ndim;
    memcpy(e.shape, shape, sizeof(int64_t) * (size_t)ndim);
    sw_tensor_nbytes(&e.nbytes, dt, ndim, shape);
    return e;
}

/* Lays out tensors and metadata as GGUF and builds the whole file (tensor bytes i*31+k); NULL on error. */
static uint8_t *gguf_file(size_t *size, swarm_tensor_entry *t, size_t n, const swarm_meta *meta, size_t nmeta)
{
    uint8_t *header = NULL;
    size_t hlen;
    uint64_t total;
    if (sw_format_layout(&header, &hlen, &total, ggp, ggf, t, n, meta, nmeta, -1)) {
        printf("#   layout: %s\n", sw_error_last());
        return NULL;
    }
    uint8_t *f = calloc(1, (size_t)total + 1);
    memcpy(f, header, hlen);
    free(header);
    for (size_t i = 0; i < n; i++)
        for (uint64_t k = 0; k < t[i].nbytes; k++)
            f[t[i].offset + k] = (uint8_t)(i * 31 + k);
    *size = (size_t)total;
    return f;
}

static int gguf_read(sw_tindex *ix, const uint8_t *f, size_t size)
{
    memset(ix, 0, sizeof *ix);
    return sw_format_read(ix, ggp, ggf, NULL, NULL, f, size, -1);
}

static const char *meta_get(const sw_tindex *ix, const char *key)
{
    for (size_t i = 0; i < ix->nmeta; i++)
        if (!strcmp(ix->meta[i].key, key))
            return ix->meta[i].value;
    return NULL;
}

static void test_gguf_roundtrip(void)
{
    int64_t s_w[2] = {4, 64}, s_b[1] = {3}, s_e[3] = {2, 3, 5}, s_s[1] = {1};
    swarm_tensor_entry t[4] = {entry("blk.0.w", DT_Q8, 2, s_w), entry("bias", DT_F32, 1, s_b),
                               entry("emb", DT_F16, 3, s_e), entry("ids", DT_I64, 1, s_s)};
    swarm_meta meta[] = {
        {"general.architecture", "llama"},
        {"general.alignment:u32", "64"},
        {"llama.rope.freq_base:f32", "10000"},
        {"flag:bool", "true"},
        {"neg:i8", "-128"},
        {"big:u64", "18446744073709551615"},
        {"tokenizer.ggml.tokens:[string]", "[\"a\",\"\\u00e9\\n\",\"<|endoftext|>\"]"},
        {"tokenizer.ggml.scores:[f32]", "[0.5,-1.25]"},
        {"ints:[i32]", "[1,-2,3]"},
    };
    size_t nmeta = sizeof meta / sizeof *meta, size;
    uint8_t *f = gguf_file(&size, t, 4, meta, nmeta);
    ok(f != NULL, "layout of 4 tensors (Q8_0, f32, f16, i64) and 9 typed key-values");
    if (!f)
        return;
    /* Independent checks of the bytes: header, the first tensor info's dims in ggml's order. */
    uint32_t version;
    uint64_t nt, nkv;
    memcpy(&version, f + 4, 4);
    memcpy(&nt, f + 8, 8);
    memcpy(&nkv, f + 16, 8);
    ok(!memcmp(f, "GGUF", 4) && version == 3 && nt == 4 && nkv == nmeta + 2,
       "header: GGUF, version 3, 4 tensors, 11 key-values (quantization_version and file_type added)");
    int padded = t[0].offset % 64 == 0;
    for (int i = 1; i < 4; i++)
        padded &= t[i].offset == t[i - 1].offset + (t[i - 1].nbytes + 63) / 64 * 64;
    padded &= size == t[3].offset + (t[3].nbytes + 63) / 64 * 64 && t[3].nbytes % 64;
    ok(padded, "offsets padded to general.alignment = 64, and the file after the last tensor too");
    sw_tindex ix;
    int rc = gguf_read(&ix, f, size);
    ok(rc == 0 && ix.ntensors == 4, "swarm reads its own file back");
    if (rc)
        printf("#   %s\n", sw_error_last());
    int same = rc == 0;
    for (size_t i = 0; same && i < 4; i++) {
        const swarm_tensor_entry *a = &ix.tensors[i], *b = &t[i];
        same = !strcmp(a->name, b->name) && a->dtype.code == b->dtype.code && a->dtype.bits == b->dtype.bits &&
               a->ndim == b->ndim && a->offset == b->offset && a->nbytes == b->nbytes &&
               !memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim);
    }
    ok(same, "tensors back field by field: names, dtypes, shapes (outermost first), offsets, sizes");
    ok(rc == 0 && ix.nmeta == nmeta + 2, "every key-value back");
    const char *v;
    ok(rc == 0 && (v = meta_get(&ix, "general.file_type:u32")) && !strcmp(v, "7"),
       "general.file_type = 7 (MOSTLY_Q8_0, u32), added from the tensors' types");
    ok(rc == 0 && meta_get(&ix, "general.architecture") && !strcmp(meta_get(&ix, "general.architecture"), "llama"),
       "strings back as they are");
    ok(rc == 0 && (v = meta_get(&ix, "general.quantization_version:u32")) && !strcmp(v, "2"),
       "general.quantization_version = 2 (u32), added because a tensor is quantized");
    ok(rc == 0 && (v = meta_get(&ix, "llama.rope.freq_base:f32")) && !strcmp(v, "10000") &&
           (v = meta_get(&ix, "flag:bool")) && !strcmp(v, "true") && (v = meta_get(&ix, "neg:i8")) &&
           !strcmp(v, "-128") && (v = meta_get(&ix, "big:u64")) && !strcmp(v, "18446744073709551615"),
       "scalars back typed: f32, bool, i8, u64 max");
    ok(rc == 0 && (v = meta_get(&ix, "tokenizer.ggml.tokens:[string]")) &&
           !strcmp(v, "[\"a\",\"\xc3\xa9\\n\",\"<|endoftext|>\"]") &&
           (v = meta_get(&ix, "tokenizer.ggml.scores:[f32]")) && !strcmp(v, "[0.5,-1.25]") &&
           (v = meta_get(&ix, "ints:[i32]")) && !strcmp(v, "[1,-2,3]"),
       "arrays back as JSON: strings (UTF-8, escapes), f32, i32");
    /* Written again from what was read: the same bytes. */
    swarm_tensor_entry t2[4];
    memcpy(t2, ix.tensors, sizeof t2);
    size_t size2;
    uint8_t *f2 = rc == 0 ? gguf_file(&size2, t2, 4, ix.meta, ix.nmeta) : NULL;
    ok(f2 && size2 == size && !memcmp(f, f2, size), "read then written again: the same bytes");
    free(f2);
    /* ne order in the bytes: find "blk.0.w" and read n_dims, ne[0], ne[1]. */
    uint8_t *p = memmem(f, size, "blk.0.w", 7);
    uint32_t nd = 0;
    uint64_t ne0 = 0, ne1 = 0;
    if (p) {
        memcpy(&nd, p + 7, 4);
        memcpy(&ne0, p + 11, 8);
        memcpy(&ne1, p + 19, 8);
    }
    ok(p && nd == 2 && ne0 == 64 && ne1 == 4, "shape [4, 64] is written as ne = [64, 4] (ggml's order)");

    /* Every truncation is refused cleanly. */
    int all = 1;
    size_t data_start = (size_t)t[0].offset, data_end = (size_t)(t[3].offset + t[3].nbytes);
    for (size_t len = 0; len < data_end; len += len < data_start + 8 ? 1 : 97) { /* the end's padding may go */
        sw_tindex tx;
        if (gguf_read(&tx, f, len) != SW_EINVALID) {
            all = 0;
            printf("#   a file cut at %zu bytes was accepted\n", len);
        }
        sw_tindex_free(&tx);
    }
    ok(all, "the file cut at every length of its header (and every 97th of its data) is refused");
    sw_tindex_free(&ix);
    free(f);
}

/* A hand-built file: header fields, then body bytes. */
typedef struct {
    uint8_t b[4096];
    size_t n;
} buf;

static void put(buf *w, const void *p, size_t n)
{
    memcpy(w->b + w->n, p, n);
    w->n += n;
}
static void put32(buf *w, uint32_t v)
{
    put(w, &v, 4);
}
static void put64(buf *w, uint64_t v)
{
    put(w, &v, 8);
}
static void putstr(buf *w, const char *s)
{
    put64(w, strlen(s));
    put(w, s, strlen(s));
}

static void head(buf *w, uint32_t version, uint64_t nt, uint64_t nkv)
{
    w->n = 0;
    put(w, "GGUF", 4);
    put32(w, version);
    put64(w, nt);
    put64(w, nkv);
}

static void info(buf *w, const char *name, uint32_t nd, const uint64_t *ne, uint32_t type, uint64_t off)
{
    putstr(w, name);
    put32(w, nd);
    for (uint32_t d = 0; d < nd; d++)
        put64(w, ne[d]);
    put32(w, type);
    put64(w, off);
}

/* Pads to 32 and appends n data bytes. */
static void data(buf *w, size_t n)
{
    while (w->n % 32)
        w->b[w->n++] = 0;
    memset(w->b + w->n, 0, n);
    w->n += n;
}

static void refuse(buf *w, const char *what, const char *needle)
{
    sw_tindex ix;
    int rc = gguf_read(&ix, w->b, w->n);
    const char *msg = sw_error_last();
    ok(rc == SW_EINVALID && (!needle || strstr(msg, needle)), "refused: %s", what);
    printf("#   %s\n", rc ? msg : "accepted");
    sw_tindex_free(&ix);
}

static void test_gguf_refusals(void)
{
    buf w;
    uint64_t ne4[1] = {4}, ne32[1] = {32}, ne5[5] = {1, 1, 1, 1, 1};
    head(&w, 3, 0, 0);
    w.b[0] = 'X';
    refuse(&w, "no GGUF magic", "magic");
    head(&w, 1, 0, 0);
    refuse(&w, "version 1", "version 1");
    head(&w, 3, 0, 2);
    putstr(&w, "a");
    put32(&w, 4);
    put32(&w, 1);
    putstr(&w, "a");
    put32(&w, 4);
    put32(&w, 2);
    refuse(&w, "a duplicate key", "two metadata keys");
    head(&w, 3, 0, 1);
    putstr(&w, "a");
    put32(&w, 9);
    put32(&w, 9);
    put64(&w, 1);
    refuse(&w, "a nested array", "nested");
    head(&w, 3, 0, 1);
    putstr(&w, "a");
    put32(&w, 13);
    refuse(&w, "a value of unknown type 13", "unknown type");
    head(&w, 3, 0, 1);
    putstr(&w, "a");
    put32(&w, 9);
    put32(&w, 4);
    put64(&w, UINT64_MAX / 2);
    refuse(&w, "an array count beyond the file", "longer than the file");
    head(&w, 3, 0, 1);
    put64(&w, UINT64_MAX - 3);
    refuse(&w, "a key length beyond the file", "ends inside a key");
    head(&w, 3, 0, 1);
    putstr(&w, "general.alignment");
    put32(&w, 4);
    put32(&w, 48);
    refuse(&w, "general.alignment 48 (not a power of two)", "power of two");
    head(&w, 3, UINT64_MAX, 0);
    refuse(&w, "2^64 - 1 tensors", "more key-values or tensors");
    head(&w, 3, 2, 0);
    info(&w, "x", 1, ne4, 0, 0);
    info(&w, "x", 1, ne4, 0, 32);
    data(&w, 48);
    refuse(&w, "a duplicate tensor name", "two tensors named");
    head(&w, 3, 1, 0);
    info(&w, "0123456789012345678901234567890123456789012345678901234567890123", 1, ne4, 0, 0);
    data(&w, 16);
    refuse(&w, "a 64-byte tensor name", "64 bytes");
    head(&w, 3, 1, 0);
    info(&w, "x", 5, ne5, 0, 0);
    data(&w, 4);
    refuse(&w, "n_dims 5", "n_dims");
    head(&w, 3, 1, 0);
    info(&w, "x", 1, ne32, 3, 0);
    data(&w, 20);
    refuse(&w, "ggml type Q4_1 (named in the error)", "Q4_1");
    head(&w, 3, 1, 0);
    info(&w, "x", 1, ne32, 99, 0);
    data(&w, 64);
    refuse(&w, "an unknown ggml type 99", "(99)");
    head(&w, 3, 1, 0);
    info(&w, "x", 1, ne4, 8, 0);
    data(&w, 64);
    refuse(&w, "Q8_0 with ne[0] = 4 (not a whole block)", "block");
    head(&w, 3, 2, 0);
    info(&w, "x", 1, ne4, 0, 0);
    info(&w, "y", 1, ne4, 0, 16);
    data(&w, 64);
    refuse(&w, "a tensor offset that is not the padded running size", "not 32");
    head(&w, 3, 1, 0);
    info(&w, "x", 1, ne32, 0, 0);
    data(&w, 64);
    refuse(&w, "tensor data beyond the end of the file", "outside the file");
    uint64_t huge[2] = {UINT64_MAX / 2, 4};
    head(&w, 3, 1, 0);
    info(&w, "x", 2, huge, 0, 0);
    data(&w, 4);
    refuse(&w, "a shape whose size overflows", "overflows");
    head(&w, 3, 0, 1);
    putstr(&w, "a");
    put32(&w, 7);
    w.b[w.n++] = 2;
    refuse(&w, "a bool of 2", "bool");
    head(&w, 3, 0, 1);
    putstr(&w, "a");
    put32(&w, 8);
    put64(&w, 2);
    put(&w, "\xff\xfe", 2);
    sw_tindex ix;
    int rc = gguf_read(&ix, w.b, w.n);
    ok(rc == SW_EINVALID, "refused: a string value that is not UTF-8");
    printf("#   %s\n", rc ? sw_error_last() : "accepted");
    sw_tindex_free(&ix);

    /* The writer's refusals. */
    int64_t s[1] = {4};
    swarm_tensor_entry t = entry("x", DT_F32, 1, s);
    swarm_meta none[1] = {{"general.name", "n"}};
    size_t size;
    uint8_t *f = gguf_file(&size, &t, 1, none, 1);
    ok(!f && strstr(sw_error_last(), "general.architecture"), "the writer requires general.architecture");
    free(f);
    swarm_meta badtype[2] = {{"general.architecture", "llama"}, {"n:u8", "256"}};
    f = gguf_file(&size, &t, 1, badtype, 2);
    ok(!f && strstr(sw_error_last(), "is not a u8"), "the writer refuses 256 as a u8");
    free(f);
    swarm_meta badkey[2] = {{"general.architecture", "llama"}, {"n:complex", "1"}};
    f = gguf_file(&size, &t, 1, badkey, 2);
    ok(!f && strstr(sw_error_last(), "no GGUF type"), "the writer refuses an unknown type suffix");
    free(f);
    int64_t s5[5] = {1, 1, 1, 1, 2};
    swarm_tensor_entry t5 = entry("x", DT_F32, 5, s5);
    f = gguf_file(&size, &t5, 1, badtype, 1);
    ok(!f && strstr(sw_error_last(), "4"), "the writer refuses a 5-D tensor");
    free(f);
}

int main(void)
{
    sw_plugins *ps = test_plugins_load();
    ok(ps != NULL, "plugins load from the build tree");
    ggp = ps ? sw_plugins_find(ps, "org.swarm.gguf") : NULL;
    const sw_plugin *p = NULL;
    const swarm_records_format *rf = NULL;
    ok(ps && sw_format_find(&p, &ggf, &rf, ps, "gguf") == 0 && p == ggp && !rf, "the format gguf is loaded");
    if (ggp && ggf) {
        test_gguf_roundtrip();
        test_gguf_refusals();
    }
    sw_plugins_free(ps);
    return tap_done();
}
