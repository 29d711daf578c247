/* gguf.c — the GGUF v3 file format (ggml's docs/gguf.md; the reader's rules are ggml's src/gguf.cpp):
 * a header of typed key-values and tensor infos, then the tensor data, each tensor at an offset padded to
 * the alignment. One format, `gguf`, no ops.
 *
 * Tensors: GGUF lists ne[0] (the contiguous dimension) first; swarm's shapes are outermost first, so
 * shapes are reversed both ways. A scalar is written as one element of shape [1]. Dtypes: F32, F16, BF16,
 * F64, I8..I64 and the block types Q8_0 and Q4_0; other ggml types (Q4_1, K-quants, ...) are refused by
 * name, since their sizes are not swarm's to compute.
 *
 * Key-values become the collection's string metadata, typed by a suffix on the key (GGUF keys are
 * lower_snake_case words joined by dots and never hold ':'):
 *   "general.name"                    = "tiny"           a string: the value as is
 *   "general.alignment:u32"           = "32"             a scalar: u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool
 *   "tokenizer.ggml.tokens:[string]"  = "[\"a\",\"b\"]"  an array: JSON, elements of the bracketed type
 * Floats are printed so that they read back to the same bits (%.9g, %.17g); bools are true/false. The
 * writer reads the same forms, so a file read and written again keeps every key-value. Metadata from
 * other formats (safetensors' strings) is written as strings. The writer requires general.architecture
 * (a string) and adds general.quantization_version = 2 when a tensor is quantized and the key is absent,
 * and general.file_type (u32, llama.cpp's llama_ftype) from the tensors' types when absent;
 * general.alignment (u32, a power of two) sets the alignment, else 32. Every tensor, the last one
 * included, is padded with zeros to the alignment, as ggml writes and its full-read mode expects. */
#include "swarm_plugin.h"
#include "common/utf8.h"

#include <jansson.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GGUF value types. */
enum {
    GG_U8 = 0, GG_I8, GG_U16, GG_I16, GG_U32, GG_I32, GG_F32, GG_BOOL, GG_STRING, GG_ARRAY, GG_U64, GG_I64, GG_F64,
    GG_NTYPES
};
static const char *const gg_type_names[GG_NTYPES] = {"u8",  "i8",     "u16",   "i16", "u32", "i32", "f32",
                                                     "bool", "string", "array", "u64", "i64", "f64"};
static const uint8_t gg_type_size[GG_NTYPES] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

#define GG_MAX_DIMS 4
#define GG_MAX_NAME 64 /* ggml's GGML_MAX_NAME: names must be shorter */
#define GG_DEFAULT_ALIGNMENT 32

/* ggml tensor types swarm reads and writes: id, swarm dtype, elements per block, bytes per block. */
static const struct {
    uint32_t id;
    swarm_dtype dt;
    uint32_t block, bytes;
} gg_dtypes[] = {
    {0, {SWARM_DTYPE_FLOAT, 32, 1}, 1, 4},      {1, {SWARM_DTYPE_FLOAT, 16, 1}, 1, 2},
    {2, {SWARM_DTYPE_Q4_0, 0, 1}, 32, 18},      {8, {SWARM_DTYPE_Q8_0, 0, 1}, 32, 34},
    {24, {SWARM_DTYPE_INT, 8, 1}, 1, 1},        {25, {SWARM_DTYPE_INT, 16, 1}, 1, 2},
    {26, {SWARM_DTYPE_INT, 32, 1}, 1, 4},       {27, {SWARM_DTYPE_INT, 64, 1}, 1, 8},
    {28, {SWARM_DTYPE_FLOAT, 64, 1}, 1, 8},     {30, {SWARM_DTYPE_BFLOAT, 16, 1}, 1, 2},
};
#define GG_NDTYPES (sizeof gg_dtypes / sizeof *gg_dtypes)

/* ggml's names for the types it has and swarm does not, for a clear refusal. */
static const char *gg_other_type(uint32_t id)
{
    static const char *const names[] = {"F32",  "F16",  "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1",
                                        "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K",
                                        "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S",
                                        "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M", "BF16"};
    return id < sizeof names / sizeof *names ? names[id] : NULL;
}

static int gg_dtype_index(uint32_t id)
{
    for (size_t i = 0; i < GG_NDTYPES; i++)
        if (gg_dtypes[i].id == id)
            return (int)i;
    return -1;
}

static int gg_dtype_of(swarm_dtype dt)
{
    for (size_t i = 0; i < GG_NDTYPES; i++)
        if (gg_dtypes[i].dt.code == dt.code && gg_dtypes[i].dt.bits == dt.bits && dt.lanes == 1)
            return (int)i;
    return -1;
}

/* ---- Reading ------------------------------------------------------------------------------------- */

typedef struct {
    const swarm_host *host;
    swarm_call *call;
    const uint8_t *p;
    uint64_t n, pos;
} gg_reader;

static int gg_fail(gg_reader *r, const char *what)
{
    return r->host->set_error(r->call, SWARM_E_BAD_INPUT, "%s (at byte %" PRIu64 ")", what, r->pos);
}

/* Reads len bytes; 0 when the file ends first. */
static int gg_take(gg_reader *r, void *out, uint64_t len)
{
    if (len > r->n - r->pos)
        return 0;
    memcpy(out, r->p + r->pos, (size_t)len);
    r->pos += len;
    return 1;
}

static int gg_u32(gg_reader *r, uint32_t *v)
{
    return gg_take(r, v, 4);
}

static int gg_u64(gg_reader *r, uint64_t *v)
{
    return gg_take(r, v, 8);
}

/* A GGUF string: u64 length then bytes, which must be UTF-8 without NUL (it becomes C text; ggml does not
 * check, but gguf.md says UTF-8). Points *s
 * into the file; *len is its length. */
static int gg_string(gg_reader *r, const char **s, uint64_t *len, const char *what)
{
    char msg[96];
    if (!gg_u64(r, len) || *len > r->n - r->pos) {
        snprintf(msg, sizeof msg, "the file ends inside %s", what);
        return gg_fail(r, msg);
    }
    *s = (const char *)r->p + r->pos;
    if (memchr(*s, 0, (size_t)*len) || !sw_utf8_valid((const uint8_t *)*s, (size_t)*len)) {
        snprintf(msg, sizeof msg, "%s is not UTF-8 text without NUL", what);
        return gg_fail(r, msg);
    }
    r->pos += *len;
    return SWARM_OK;
}

/* The text of n bytes as a NUL-terminated copy in call scratch memory, or NULL. */
static char *gg_text(gg_reader *r, const char *s, uint64_t n)
{
    char *t = r->host->alloc_scratch(r->call, (size_t)n + 1);
    if (t) {
        memcpy(t, s, (size_t)n);
        t[n] = 0;
    }
    return t;
}

/* The text of a scalar of type t stored at p (integers in decimal, floats so that they read back to the
 * same bits, bools as true/false), in buf. */
static void gg_scalar_text(char *buf, size_t cap, int t, const uint8_t *p)
{
    uint64_t u = 0;
    memcpy(&u, p, gg_type_size[t]);
    switch (t) {
    case GG_U8: case GG_U16: case GG_U32: case GG_U64: snprintf(buf, cap, "%" PRIu64, u); break;
    case GG_I8: snprintf(buf, cap, "%d", (int)(int8_t)u); break;
    case GG_I16: snprintf(buf, cap, "%d", (int)(int16_t)u); break;
    case GG_I32: snprintf(buf, cap, "%" PRId32, (int32_t)u); break;
    case GG_I64: snprintf(buf, cap, "%" PRId64, (int64_t)u); break;
    case GG_BOOL: snprintf(buf, cap, "%s", u ? "true" : "false"); break;
    case GG_F32: {
        float f;
        memcpy(&f, p, 4);
        snprintf(buf, cap, "%.9g", (double)f);
        break;
    }
    default: {
        double d;
        memcpy(&d, p, 8);
        snprintf(buf, cap, "%.17g", d);
    }
    }
}

/* An array value as JSON text: strings as JSON strings, numbers and bools as their text. Returns the
 * text (malloc'd, caller frees) or NULL after set_error. */
static char *gg_array_text(gg_reader *r, int et, uint64_t count)
{
    json_t *a = json_array();
    char num[64];
    for (uint64_t i = 0; a && i < count; i++) {
        json_t *v;
        if (et == GG_STRING) {
            const char *s;
            uint64_t len;
            if (gg_string(r, &s, &len, "an array's string"))
                goto fail;
            v = json_stringn(s, (size_t)len);
            if (!v) {
                gg_fail(r, "an array's string is not valid UTF-8");
                goto fail;
            }
        } else {
            if (gg_type_size[et] > r->n - r->pos) {
                gg_fail(r, "the file ends inside an array");
                goto fail;
            }
            gg_scalar_text(num, sizeof num, et, r->p + r->pos);
            r->pos += gg_type_size[et];
            v = json_loads(num, JSON_DECODE_ANY, NULL);
            if (!v) /* nan, inf and u64 above INT64_MAX have no JSON number: keep them as text */
                v = json_string(num);
        }
        if (json_array_append_new(a, v)) {
            r->host->set_error(r->call, SWARM_E_INTERNAL, "out of memory");
            goto fail;
        }
    }
    char *text = a ? json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(a);
    if (!text)
        r->host->set_error(r->call, SWARM_E_INTERNAL, "out of memory");
    return text;
fail:
    json_decref(a);
    return NULL;
}

/* Reads one key-value and reports it with add_meta. Returns the alignment when it is general.alignment
 * in *alignment. */
static int gg_read_kv(gg_reader *r, uint32_t *alignment)
{
    const char *k;
    uint64_t klen;
    uint32_t t;
    int rc = gg_string(r, &k, &klen, "a key");
    if (rc)
        return rc;
    if (!klen || memchr(k, ':', (size_t)klen))
        return gg_fail(r, "an empty key or one holding ':'");
    if (!gg_u32(r, &t))
        return gg_fail(r, "the file ends inside a key-value");
    if (t >= GG_NTYPES)
        return gg_fail(r, "a key-value of unknown type");
    char *key = gg_text(r, k, klen), *keyt, *val = NULL;
    if (!key)
        return r->host->set_error(r->call, SWARM_E_INTERNAL, "out of memory");
    if (t == GG_STRING) {
        const char *s;
        uint64_t len;
        if ((rc = gg_string(r, &s, &len, "a string value")))
            return rc;
        if (!(val = gg_text(r, s, len)))
            return r->host->set_error(r->call, SWARM_E_INTERNAL, "out of memory");
        if (!strcmp(key, "general.alignment"))
            return gg_fail(r, "general.alignment is not a u32");
        return r->host->add_meta(r->call, key, val);
    }
    keyt = r->host->alloc_scratch(r->call, strlen(key) + 16);
    if (!keyt)
        return r->host->set_error(r->call, SWARM_E_INTERNAL, "out of memory");
    if (t == GG_ARRAY) {
        uint32_t et;
        uint64_t count;
        if (!gg_u32(r, &et) || !gg_u64(r, &count))
            return gg_fail(r, "the file ends inside an array");
        if (et == GG_ARRAY)
            return gg_fail(r, "a nested array");
        if (et >= GG_NTYPES)
            return gg_fail(r, "an array of unknown type");
        if (et != GG_STRING && count > (r->n - r->pos) / gg_type_size[et])
            return gg_fail(r, "an array longer than the file");
        if (et == GG_STRING && count > (r->n - r->pos) / 8)
            return gg_fail(r, "an array longer than the file");
        if (!strcmp(key, "general.alignment"))
            return gg_fail(r, "general.alignment is not a u32");
        char *text = gg_array_text(r, (int)et, count);
        if (!text)
            return SWARM_E_BAD_INPUT;
        sprintf(keyt, "%s:[%s]", key, gg_type_names[et]);
        rc = r->host->add_meta(r->call, keyt, text);
        free(text);
        return rc;
    }
    char num[64];
    if (gg_type_size[t] > r->n - r->pos)
        return gg_fail(r, "the file ends inside a key-value");
    if (!strcmp(key, "general.alignment")) {
        uint32_t a = 0;
        if (t == GG_U32) /* only then are 4 bytes known to be there */
            memcpy(&a, r->p + r->pos, 4);
        if (a == 0 || (a & (a - 1)))
            return gg_fail(r, "general.alignment is not a u32 power of two");
        *alignment = a;
    }
    if (t == GG_BOOL && r->p[r->pos] > 1)
        return gg_fail(r, "a bool that is neither 0 nor 1");
    gg_scalar_text(num, sizeof num, (int)t, r->p + r->pos);
    r->pos += gg_type_size[t];
    sprintf(keyt, "%s:%s", key, gg_type_names[t]);
    return r->host->add_meta(r->call, keyt, num);
}

/* One tensor info as ggml checks it: name shorter than 64 bytes, 1 to 4 dimensions, known type, ne[0] a
 * whole number of blocks, sizes without overflow. Fills e (offset relative to the data section). */
static int gg_read_info(gg_reader *r, swarm_tensor_entry *e)
{
    const char *s;
    uint64_t len, ne[GG_MAX_DIMS], rel;
    uint32_t nd, type;
    int rc = gg_string(r, &s, &len, "a tensor name");
    if (rc)
        return rc;
    if (len >= GG_MAX_NAME)
        return gg_fail(r, "a tensor name of 64 bytes or more");
    if (!(e->name = gg_text(r, s, len)))
        return r->host->set_error(r->call, SWARM_E_INTERNAL, "out of memory");
    if (!gg_u32(r, &nd))
        return gg_fail(r, "the file ends inside a tensor info");
    if (nd < 1 || nd > GG_MAX_DIMS)
        return gg_fail(r, "a tensor with n_dims outside 1..4");
    for (uint32_t d = 0; d < nd; d++)
        if (!gg_u64(r, &ne[d]))
            return gg_fail(r, "the file ends inside a tensor info");
    if (!gg_u32(r, &type) || !gg_u64(r, &rel))
        return gg_fail(r, "the file ends inside a tensor info");
    int di = gg_dtype_index(type);
    if (di < 0) {
        char msg[160];
        const char *name = gg_other_type(type);
        snprintf(msg, sizeof msg, "tensor '%.63s': ggml type %s%s(%u) is not supported", e->name, name ? name : "",
                 name ? " " : "", (unsigned)type);
        return gg_fail(r, msg);
    }
    uint64_t elems = 1;
    for (uint32_t d = 0; d < nd; d++) {
        if (ne[d] > (uint64_t)INT64_MAX || (ne[d] && elems > (uint64_t)INT64_MAX / ne[d]))
            return gg_fail(r, "a tensor's size overflows");
        elems *= ne[d];
        e->shape[nd - 1 - d] = (int64_t)ne[d];
    }
    if (ne[0] % gg_dtypes[di].block)
        return gg_fail(r, "a tensor's ne[0] is not a multiple of its type's block");
    e->ndim = (int32_t)nd;
    e->dtype = gg_dtypes[di].dt;
    e->nbytes = elems / gg_dtypes[di].block * gg_dtypes[di].bytes;
    e->offset = rel;
    return SWARM_OK;
}

static uint64_t gg_pad(uint64_t x, uint64_t a)
{
    return (x + a - 1) / a * a;
}

/* Reads a GGUF file: header, key-values (reported as metadata), tensor infos; then checks that each
 * tensor's offset is where ggml expects it (the padded sizes of those before it) and that the data fits
 * in the file, and reports the tensors in the order of their data. */
static int gg_read(const swarm_host *host, swarm_call *call, const uint8_t *file, uint64_t size)
{
    gg_reader r = {host, call, file, size, 0};
    uint8_t magic[4];
    uint32_t version, alignment = GG_DEFAULT_ALIGNMENT;
    uint64_t nt, nkv;
    if (!gg_take(&r, magic, 4) || memcmp(magic, "GGUF", 4))
        return gg_fail(&r, "not a GGUF file (no GGUF magic)");
    if (!gg_u32(&r, &version) || !gg_u64(&r, &nt) || !gg_u64(&r, &nkv))
        return gg_fail(&r, "the file ends inside the header");
    if (version != 2 && version != 3)
        return host->set_error(call, SWARM_E_BAD_INPUT, "GGUF version %u is not supported (2 or 3)", (unsigned)version);
    /* Each key-value takes at least 12 bytes and each tensor info at least 24: bound the counts by the
     * file before allocating anything for them. */
    if (nkv > size / 12 || nt > size / 24)
        return gg_fail(&r, "more key-values or tensors than the file can hold");
    for (uint64_t i = 0; i < nkv; i++) {
        int rc = gg_read_kv(&r, &alignment);
        if (rc)
            return rc;
    }
    swarm_tensor_entry *e = nt ? host->alloc_scratch(call, (size_t)nt * sizeof *e) : NULL;
    if (nt && !e)
        return host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    for (uint64_t i = 0; i < nt; i++) {
        memset(&e[i], 0, sizeof e[i]);
        int rc = gg_read_info(&r, &e[i]);
        if (rc)
            return rc;
    }
    uint64_t data = gg_pad(r.pos, alignment), expect = 0;
    for (uint64_t i = 0; i < nt; i++) {
        if (e[i].offset != expect)
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s' is at offset %" PRIu64 ", not %" PRIu64,
                                   e[i].name, e[i].offset, expect);
        if (e[i].nbytes > size || expect > size - e[i].nbytes)
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s' lies outside the file", e[i].name);
        expect = gg_pad(expect + e[i].nbytes, alignment);
        if (data > size || e[i].offset + e[i].nbytes > size - data)
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s' lies outside the file", e[i].name);
        e[i].offset += data;
        int rc = host->add_tensor(call, &e[i]);
        if (rc)
            return rc;
    }
    return SWARM_OK;
}

/* ---- Writing ------------------------------------------------------------------------------------- */

/* The header being emitted, and its length so far. */
typedef struct {
    const swarm_host *host;
    swarm_call *call;
    uint64_t len;
} gg_writer;

static int gg_emit(gg_writer *w, const void *p, size_t n)
{
    w->len += n;
    return w->host->emit(w->call, p, n);
}

static int gg_emit_u32(gg_writer *w, uint32_t v)
{
    return gg_emit(w, &v, 4);
}

static int gg_emit_u64(gg_writer *w, uint64_t v)
{
    return gg_emit(w, &v, 8);
}

static int gg_emit_str(gg_writer *w, const char *s, size_t n)
{
    int rc = gg_emit_u64(w, n);
    return rc ? rc : gg_emit(w, s, n);
}

/* The type named by a key's suffix ("u32", "[string]"), or -1. *array is set for "[T]". */
static int gg_type_named(const char *s, size_t n, int *array)
{
    *array = n > 2 && s[0] == '[' && s[n - 1] == ']';
    if (*array)
        s++, n -= 2;
    for (int t = 0; t < GG_NTYPES; t++)
        if (t != GG_ARRAY && strlen(gg_type_names[t]) == n && !memcmp(gg_type_names[t], s, n))
            return t;
    return -1;
}

/* Encodes one scalar of type t from text into buf (gg_type_size[t] bytes). Numbers must be whole and in
 * range for integers; floats are read with strtod (nan and inf included). */
static int gg_parse_scalar(uint8_t *buf, int t, const char *text)
{
    char *end;
    if (t == GG_BOOL) {
        if (strcmp(text, "true") && strcmp(text, "false"))
            return -1;
        buf[0] = !strcmp(text, "true");
        return 0;
    }
    if (t == GG_F32 || t == GG_F64) {
        double d = strtod(text, &end);
        if (end == text || *end)
            return -1;
        if (t == GG_F64) {
            memcpy(buf, &d, 8);
        } else {
            float f = (float)d;
            memcpy(buf, &f, 4);
        }
        return 0;
    }
    int neg = t == GG_I8 || t == GG_I16 || t == GG_I32 || t == GG_I64;
    uint64_t u;
    if (!*text || (!neg && *text == '-'))
        return -1;
    if (neg) {
        long long v = strtoll(text, &end, 10);
        int bits = 8 * gg_type_size[t];
        if (*end || (bits < 64 && (v < -(1LL << (bits - 1)) || v >= (1LL << (bits - 1)))))
            return -1;
        u = (uint64_t)v;
    } else {
        unsigned long long v = strtoull(text, &end, 10);
        int bits = 8 * gg_type_size[t];
        if (*end || (bits < 64 && v >> bits))
            return -1;
        u = v;
    }
    memcpy(buf, &u, gg_type_size[t]);
    return 0;
}

/* Emits an array value from its JSON text: elements of type t. */
static int gg_emit_array(gg_writer *w, const char *key, int t, const char *text)
{
    const swarm_host *host = w->host;
    swarm_call *call = w->call;
    json_error_t err;
    json_t *a = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    int rc = SWARM_OK;
    if (!json_is_array(a)) {
        json_decref(a);
        return host->set_error(call, SWARM_E_BAD_INPUT, "metadata '%s' is not a JSON array", key);
    }
    size_t n = json_array_size(a);
    if ((rc = gg_emit_u32(w, GG_ARRAY)) || (rc = gg_emit_u32(w, (uint32_t)t)) || (rc = gg_emit_u64(w, n)))
        goto done;
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *v = json_array_get(a, i);
        char num[64];
        uint8_t buf[8];
        if (t == GG_STRING) {
            if (!json_is_string(v)) {
                rc = host->set_error(call, SWARM_E_BAD_INPUT, "metadata '%s': element %zu is not a string", key, i);
                break;
            }
            rc = gg_emit_str(w, json_string_value(v), json_string_length(v));
            continue;
        }
        if (json_is_integer(v))
            snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_real(v))
            snprintf(num, sizeof num, "%.17g", json_real_value(v));
        else if (json_is_boolean(v))
            snprintf(num, sizeof num, "%s", json_is_true(v) ? "true" : "false");
        else if (json_is_string(v))
            snprintf(num, sizeof num, "%s", json_string_value(v));
        else
            num[0] = 0;
        if (gg_parse_scalar(buf, t, num))
            rc = host->set_error(call, SWARM_E_BAD_INPUT, "metadata '%s': element %zu is not a %s", key, i,
                                 gg_type_names[t]);
        else
            rc = gg_emit(w, buf, gg_type_size[t]);
    }
done:
    json_decref(a);
    return rc;
}

/* Emits one key-value from a metadata pair, typed by the key's suffix (a string when there is none). */
static int gg_emit_kv(gg_writer *w, const swarm_meta *m)
{
    const swarm_host *host = w->host;
    swarm_call *call = w->call;
    const char *colon = strchr(m->key, ':');
    size_t klen = colon ? (size_t)(colon - m->key) : strlen(m->key);
    int array = 0, t = colon ? gg_type_named(colon + 1, strlen(colon + 1), &array) : GG_STRING, rc;
    uint8_t buf[8];
    if (!klen || t < 0)
        return host->set_error(call, SWARM_E_BAD_INPUT, "metadata key '%s' has no GGUF type", m->key);
    if ((rc = gg_emit_str(w, m->key, klen)))
        return rc;
    if (colon && array)
        return gg_emit_array(w, m->key, t, m->value);
    if ((rc = gg_emit_u32(w, (uint32_t)t)))
        return rc;
    if (t == GG_STRING)
        return gg_emit_str(w, m->value, strlen(m->value));
    if (gg_parse_scalar(buf, t, m->value))
        return host->set_error(call, SWARM_E_BAD_INPUT, "metadata '%s': '%s' is not a %s", m->key, m->value,
                               gg_type_names[t]);
    return gg_emit(w, buf, gg_type_size[t]);
}

/* The bare key of a metadata pair (up to ':') equals name. */
static int gg_key_is(const swarm_meta *m, const char *name)
{
    size_t n = strlen(name);
    return !strncmp(m->key, name, n) && (m->key[n] == 0 || m->key[n] == ':');
}

/* Checks the key-values the writer needs, and finds the alignment and whether quantization_version must
 * be added. */
static int gg_check_meta(const swarm_host *host, swarm_call *call, const swarm_meta *meta, size_t nmeta,
                         uint32_t *alignment, int *has_qv)
{
    int arch = 0;
    *has_qv = 0;
    *alignment = GG_DEFAULT_ALIGNMENT;
    for (size_t i = 0; i < nmeta; i++) {
        for (size_t j = 0; j < i; j++) {
            const char *a = meta[i].key, *b = meta[j].key;
            size_t la = strcspn(a, ":"), lb = strcspn(b, ":");
            if (la == lb && !memcmp(a, b, la))
                return host->set_error(call, SWARM_E_BAD_INPUT, "metadata key '%.*s' appears twice", (int)la, a);
        }
        if (gg_key_is(&meta[i], "general.architecture")) {
            if (strchr(meta[i].key, ':') && strcmp(meta[i].key, "general.architecture:string"))
                return host->set_error(call, SWARM_E_BAD_INPUT, "general.architecture must be a string");
            arch = 1;
        }
        if (gg_key_is(&meta[i], "general.quantization_version"))
            *has_qv = 1;
        if (gg_key_is(&meta[i], "general.alignment")) {
            uint8_t buf[8];
            uint32_t a;
            if (strcmp(meta[i].key, "general.alignment:u32") || gg_parse_scalar(buf, GG_U32, meta[i].value))
                return host->set_error(call, SWARM_E_BAD_INPUT, "general.alignment must be a u32");
            memcpy(&a, buf, 4);
            if (!a || (a & (a - 1)))
                return host->set_error(call, SWARM_E_BAD_INPUT, "general.alignment %u is not a power of two",
                                       (unsigned)a);
            *alignment = a;
        }
    }
    if (!arch)
        return host->set_error(call, SWARM_E_BAD_INPUT,
                               "GGUF needs general.architecture (swarm.write's meta = {[\"general.architecture\"] = ...})");
    return SWARM_OK;
}

/* general.file_type as llama.cpp's converter and quantizer write it (llama_ftype), from the tensors' types:
 * MOSTLY_Q4_0 (2) when a tensor is Q4_0, else MOSTLY_Q8_0 (7) for Q8_0, MOSTLY_BF16 (32) for BF16,
 * MOSTLY_F16 (1) for F16, else ALL_F32 (0). */
static const char *gg_file_type(const swarm_tensor_entry *t, size_t n)
{
    static const struct {
        swarm_dtype dt;
        const char *ftype;
    } order[] = {{{SWARM_DTYPE_Q4_0, 0, 1}, "2"}, {{SWARM_DTYPE_Q8_0, 0, 1}, "7"},
                 {{SWARM_DTYPE_BFLOAT, 16, 1}, "32"}, {{SWARM_DTYPE_FLOAT, 16, 1}, "1"}};
    for (size_t k = 0; k < sizeof order / sizeof *order; k++)
        for (size_t i = 0; i < n; i++)
            if (t[i].dtype.code == order[k].dt.code && t[i].dtype.bits == order[k].dt.bits)
                return order[k].ftype;
    return "0";
}

/* Whether a metadata key (bare, before any ':') is among the pairs. */
static int gg_has_key(const swarm_meta *meta, size_t nmeta, const char *name)
{
    for (size_t i = 0; i < nmeta; i++)
        if (gg_key_is(&meta[i], name))
            return 1;
    return 0;
}

/* Lays out a GGUF v3 file: header, key-values (general.quantization_version and general.file_type added
 * when absent), tensor infos (shapes reversed to ggml's order), padding to the alignment, then the tensors
 * in the given order, each at an offset padded to the alignment, the last one too: ggml's reader in
 * full-read mode reads the padded size of every tensor. */
static int gg_layout(const swarm_host *host, swarm_call *call, swarm_tensor_entry *t, size_t n,
                     const swarm_meta *meta, size_t nmeta)
{
    gg_writer w = {host, call, 0};
    uint32_t alignment;
    int has_qv, quantized = 0, rc;
    uint64_t rel = 0;
    if ((rc = gg_check_meta(host, call, meta, nmeta, &alignment, &has_qv)))
        return rc;
    int has_ft = gg_has_key(meta, nmeta, "general.file_type");
    for (size_t i = 0; i < n; i++) {
        int di = gg_dtype_of(t[i].dtype);
        if (di < 0)
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s': GGUF has no type for its dtype", t[i].name);
        if (t[i].ndim > GG_MAX_DIMS)
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s' has %d dimensions; GGUF allows 4", t[i].name,
                                   (int)t[i].ndim);
        if (strlen(t[i].name) >= GG_MAX_NAME)
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor name '%.40s...' is 64 bytes or more", t[i].name);
        quantized |= gg_dtypes[di].block > 1;
    }
    if ((rc = gg_emit(&w, "GGUF", 4)) || (rc = gg_emit_u32(&w, 3)) || (rc = gg_emit_u64(&w, n)) ||
        (rc = gg_emit_u64(&w, nmeta + (quantized && !has_qv) + !has_ft)))
        return rc;
    for (size_t i = 0; i < nmeta && !rc; i++)
        rc = gg_emit_kv(&w, &meta[i]);
    if (!rc && quantized && !has_qv) {
        swarm_meta qv = {"general.quantization_version:u32", "2"};
        rc = gg_emit_kv(&w, &qv);
    }
    if (!rc && !has_ft) {
        swarm_meta ft = {"general.file_type:u32", gg_file_type(t, n)};
        rc = gg_emit_kv(&w, &ft);
    }
    for (size_t i = 0; i < n && !rc; i++) {
        int di = gg_dtype_of(t[i].dtype);
        uint32_t nd = t[i].ndim ? (uint32_t)t[i].ndim : 1;
        if ((rc = gg_emit_str(&w, t[i].name, strlen(t[i].name))) || (rc = gg_emit_u32(&w, nd)))
            break;
        for (uint32_t d = 0; d < nd && !rc; d++)
            rc = gg_emit_u64(&w, t[i].ndim ? (uint64_t)t[i].shape[t[i].ndim - 1 - d] : 1);
        if (!rc && !(rc = gg_emit_u32(&w, gg_dtypes[di].id)))
            rc = gg_emit_u64(&w, rel);
        t[i].offset = rel;
        rel = gg_pad(rel + t[i].nbytes, alignment);
    }
    if (rc)
        return rc;
    uint64_t data = gg_pad(w.len, alignment); /* the host writes zeros up to each tensor's offset */
    for (size_t i = 0; i < n; i++)
        t[i].offset += data;
    return host->set_file_size(call, data + rel); /* and after the last one, up to the alignment */
}

static const swarm_format gguf = {
    .struct_size = sizeof(swarm_format),
    .name = "gguf",
    .format_version = 2, /* bump it whenever layout may write other bytes for the same collection (2: the
                            last tensor padded, general.file_type added) */
    .doc = "GGUF v3 (llama.cpp, ggml): typed key-values as metadata (\"key:type\" for non-strings), "
           "tensors in ggml's dimension order, F32/F16/BF16/F64/I8-I64/Q8_0/Q4_0",
    .read = gg_read,
    .layout = gg_layout,
};
static const swarm_format *const formats[] = {&gguf};

static const swarm_plugin plugin = {
    .abi_version = SWARM_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(swarm_plugin),
    .id = "org.swarm.gguf",
    .version = "0.1.0",
    .formats = formats,
    .n_formats = 1,
};

/* The one exported symbol: it only hands swarm the descriptor above. */
SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
