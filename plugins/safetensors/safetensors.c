/* safetensors.c — the safetensors checkpoint format (Hugging Face; reference reader safetensors/src/tensor.rs):
 * `u64 N` | N bytes of UTF-8 JSON header | data buffer. One format, no ops.
 *
 * The header grammar is small (an object of tensor objects and an optional "__metadata__" object of
 * strings), so the plugin carries its own strict JSON reader rather than linking a JSON library: it
 * needs exact control that general libraries do not give together — u64 offsets up to 2^64 - 1,
 * duplicate keys refused at every level, integers only (no 1.0, 1e3 or -0), NUL refused in strings
 * (names are C strings), lone surrogates refused — and a plugin stays a single self-contained C99 file.
 *
 * Decisions where the reference is silent or loose:
 * - A tensor object has exactly the keys dtype, shape and data_offsets; any other key is refused (as
 *   serde's deny_unknown_fields would). "__metadata__" must be an object of strings (null is refused).
 * - Dimensions must fit int64_t and there are at most SWARM_MAX_NDIM (16) of them.
 * - Strings may not contain U+0000 (a \u0000 escape): names and metadata cross the ABI as C strings.
 * - Tensors are reported in data order; empty tensors sharing an offset keep their header order. */
#include "swarm_plugin.h"
#include "common/utf8.h"

#include <stdlib.h>
#include <string.h>

#define ST_MAX_HEADER 100000000u

/* ---- Dtypes -------------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    uint8_t code, bits;
} st_dtype;

static const st_dtype st_dtypes[] = {
    {"BOOL", SWARM_DTYPE_BOOL, 8},
    {"U8", SWARM_DTYPE_UINT, 8},
    {"U16", SWARM_DTYPE_UINT, 16},
    {"U32", SWARM_DTYPE_UINT, 32},
    {"U64", SWARM_DTYPE_UINT, 64},
    {"I8", SWARM_DTYPE_INT, 8},
    {"I16", SWARM_DTYPE_INT, 16},
    {"I32", SWARM_DTYPE_INT, 32},
    {"I64", SWARM_DTYPE_INT, 64},
    {"F16", SWARM_DTYPE_FLOAT, 16},
    {"F32", SWARM_DTYPE_FLOAT, 32},
    {"F64", SWARM_DTYPE_FLOAT, 64},
    {"BF16", SWARM_DTYPE_BFLOAT, 16},
    {"C64", SWARM_DTYPE_COMPLEX, 64},
    {"F8_E4M3", SWARM_DTYPE_FLOAT8_E4M3FN, 8},
    {"F8_E5M2", SWARM_DTYPE_FLOAT8_E5M2, 8},
    {"F8_E8M0", SWARM_DTYPE_FLOAT8_E8M0FNU, 8},
    {"F8_E4M3FNUZ", SWARM_DTYPE_FLOAT8_E4M3FNUZ, 8},
    {"F8_E5M2FNUZ", SWARM_DTYPE_FLOAT8_E5M2FNUZ, 8},
    {"F6_E2M3", SWARM_DTYPE_FLOAT6_E2M3FN, 6},
    {"F6_E3M2", SWARM_DTYPE_FLOAT6_E3M2FN, 6},
    {"F4", SWARM_DTYPE_FLOAT4_E2M1FN, 4},
};
#define ST_NDTYPES (sizeof st_dtypes / sizeof *st_dtypes)

static const st_dtype *st_dtype_by_name(const char *name)
{
    for (size_t i = 0; i < ST_NDTYPES; i++)
        if (!strcmp(st_dtypes[i].name, name))
            return &st_dtypes[i];
    return NULL;
}

static const st_dtype *st_dtype_by_code(swarm_dtype dt)
{
    if (dt.lanes != 1)
        return NULL;
    for (size_t i = 0; i < ST_NDTYPES; i++)
        if (st_dtypes[i].code == dt.code && st_dtypes[i].bits == dt.bits)
            return &st_dtypes[i];
    return NULL;
}

/* Bytes of a tensor as the reference computes them: the element count folded left to right with
 * overflow checks, times bits, which must make whole bytes. Returns 0, or an error message. */
static const char *st_nbytes(uint64_t *out, const uint64_t *shape, int ndim, unsigned bits)
{
    uint64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] && n > UINT64_MAX / shape[d])
            return "its element count overflows";
        n *= shape[d];
    }
    if (n > UINT64_MAX / bits)
        return "its size in bits overflows";
    if (n * bits % 8)
        return "its elements do not fill whole bytes";
    *out = n * bits / 8;
    return NULL;
}

/* ---- UTF-8 --------------------------------------------------------------------------------------- */


/* ---- Reading ------------------------------------------------------------------------------------- */

/* One tensor of the header; idx is its position in the header, to keep the sort stable. */
typedef struct {
    swarm_tensor_entry e;
    uint64_t begin, end;
    size_t idx;
    unsigned seen; /* bits of the keys met so far while the object is read: 1 dtype, 2 shape, 4 data_offsets */
} st_tensor;

typedef struct {
    const swarm_host *host;
    swarm_call *call;
    const uint8_t *start, *p, *end; /* the header */
    char *strs;                      /* decoded strings, back to back; never more than the header */
    size_t nstrs;
    st_tensor *t; /* tensors, in header order */
    size_t n, cap;
    swarm_meta *meta; /* metadata, in header order */
    size_t nmeta, mcap;
    int have_meta;
} st_reader;

/* Copies a name into buf for a one-line message: at most 64 bytes, and the host turns control
 * characters into spaces. */
static const char *st_shown(char *buf, size_t size, const char *s)
{
    size_t n = strlen(s);
    if (n > size - 4) {
        n = size - 4;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) /* do not cut a character */
            n--;
        memcpy(buf, s, n);
        memcpy(buf + n, "...", 4);
    } else {
        memcpy(buf, s, n + 1);
    }
    return buf;
}

static int st_fail(st_reader *r, const char *what)
{
    return r->host->set_error(r->call, SWARM_E_BAD_INPUT, "header byte %lu: %s", (unsigned long)(r->p - r->start),
                              what);
}

static void st_ws(st_reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

/* Expects character c (after whitespace). */
static int st_expect(st_reader *r, char c, const char *what)
{
    st_ws(r);
    if (r->p >= r->end || *r->p != (uint8_t)c)
        return st_fail(r, r->p >= r->end ? "the header ends too early (truncated JSON)" : what);
    r->p++;
    return SWARM_OK;
}

static int st_hex4(const uint8_t *p, const uint8_t *end, uint32_t *out)
{
    uint32_t v = 0;
    if (end - p < 4)
        return 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* Reads a JSON string (after whitespace) into the string buffer and points *out at it. The header was
 * checked to be UTF-8 as a whole, so raw bytes are copied as they are; escapes are decoded, \uXXXX
 * surrogate pairs included. */
static int st_string(st_reader *r, const char **out)
{
    st_ws(r);
    if (r->p >= r->end)
        return st_fail(r, "the header ends too early (truncated JSON)");
    if (*r->p != '"')
        return st_fail(r, "expected a string");
    r->p++;
    char *o = r->strs + r->nstrs;
    char *w = o;
    for (;;) {
        if (r->p >= r->end)
            return st_fail(r, "the header ends inside a string");
        uint8_t c = *r->p;
        if (c == '"') {
            r->p++;
            break;
        }
        if (c < 0x20)
            return st_fail(r, "a control character inside a string");
        if (c != '\\') {
            *w++ = (char)c;
            r->p++;
            continue;
        }
        if (r->end - r->p < 2)
            return st_fail(r, "the header ends inside a string");
        c = r->p[1];
        r->p += 2;
        switch (c) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '/': *w++ = '/'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (!st_hex4(r->p, r->end, &cp))
                return st_fail(r, "a bad \\u escape");
            r->p += 4;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return st_fail(r, "a lone low surrogate in a \\u escape");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || !st_hex4(r->p + 2, r->end, &lo) ||
                    lo < 0xdc00 || lo > 0xdfff)
                    return st_fail(r, "a high surrogate not followed by a low one in a \\u escape");
                r->p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (cp == 0)
                return st_fail(r, "a string holding U+0000 (\\u0000)");
            if (cp < 0x80) {
                *w++ = (char)cp;
            } else if (cp < 0x800) {
                *w++ = (char)(0xc0 | cp >> 6);
                *w++ = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                *w++ = (char)(0xe0 | cp >> 12);
                *w++ = (char)(0x80 | (cp >> 6 & 0x3f));
                *w++ = (char)(0x80 | (cp & 0x3f));
            } else {
                *w++ = (char)(0xf0 | cp >> 18);
                *w++ = (char)(0x80 | (cp >> 12 & 0x3f));
                *w++ = (char)(0x80 | (cp >> 6 & 0x3f));
                *w++ = (char)(0x80 | (cp & 0x3f));
            }
            break;
        }
        default:
            return st_fail(r, "an unknown escape in a string");
        }
    }
    /* Decoded text never outgrows its JSON form (quotes included), so the buffer, as large as the
     * header plus one byte, always has room. */
    *w++ = '\0';
    r->nstrs += (size_t)(w - o);
    *out = o;
    return SWARM_OK;
}

/* Reads a JSON number (after whitespace) that must be a non-negative integer of at most 2^64 - 1. */
static int st_uint(st_reader *r, uint64_t *out)
{
    uint64_t v = 0;
    st_ws(r);
    if (r->p >= r->end)
        return st_fail(r, "the header ends too early (truncated JSON)");
    if (*r->p == '-')
        return st_fail(r, "a negative number where a size or offset belongs");
    if (*r->p < '0' || *r->p > '9')
        return st_fail(r, "expected a non-negative integer");
    const uint8_t *first = r->p;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
        unsigned d = (unsigned)(*r->p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return st_fail(r, "an integer above 2^64 - 1");
        v = v * 10 + d;
        r->p++;
    }
    if (*first == '0' && r->p - first > 1)
        return st_fail(r, "a number with a leading zero");
    if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E'))
        return st_fail(r, "a number that is not an integer");
    *out = v;
    return SWARM_OK;
}

/* Reads an array of at most max non-negative integers; *n is how many. */
static int st_uints(st_reader *r, uint64_t *v, int max, int *n, const char *too_many)
{
    int rc;
    *n = 0;
    if ((rc = st_expect(r, '[', "expected an array")))
        return rc;
    st_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return SWARM_OK;
    }
    for (;;) {
        if (*n == max)
            return st_fail(r, too_many);
        if ((rc = st_uint(r, &v[(*n)++])))
            return rc;
        st_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        return st_expect(r, ']', "expected ',' or ']' in an array");
    }
}

/* Reads the members of an object after its '{', calling member for each key. */
static int st_members(st_reader *r, int (*member)(st_reader *, const char *, void *), void *ctx)
{
    int rc;
    st_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return SWARM_OK;
    }
    for (;;) {
        const char *key;
        if ((rc = st_string(r, &key)) || (rc = st_expect(r, ':', "expected ':' after a key")) ||
            (rc = member(r, key, ctx)))
            return rc;
        st_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        return st_expect(r, '}', "expected ',' or '}' in an object");
    }
}

/* Grows an array kept in scratch memory (the host frees the old blocks when the call returns). */
static int st_grow(st_reader *r, void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return SWARM_OK;
    size_t ncap = *cap ? *cap * 2 : 64;
    if (ncap > (size_t)-1 / size)
        return r->host->set_error(r->call, SWARM_E_INTERNAL, "out of memory");
    void *p = r->host->alloc_scratch(r->call, ncap * size);
    if (!p)
        return r->host->set_error(r->call, SWARM_E_INTERNAL, "out of memory");
    if (n)
        memcpy(p, *arr, n * size);
    *arr = p;
    *cap = ncap;
    return SWARM_OK;
}

/* A "__metadata__" member: its value must be a string. */
static int st_meta_member(st_reader *r, const char *key, void *ctx)
{
    const char *value;
    int rc;
    (void)ctx;
    st_ws(r);
    if (r->p < r->end && *r->p != '"') {
        char shown[80];
        return r->host->set_error(r->call, SWARM_E_BAD_INPUT, "header byte %lu: metadata value of '%s' is not a string",
                                  (unsigned long)(r->p - r->start), st_shown(shown, sizeof shown, key));
    }
    if ((rc = st_string(r, &value)) || (rc = st_grow(r, (void **)&r->meta, &r->mcap, r->nmeta, sizeof *r->meta)))
        return rc;
    r->meta[r->nmeta].key = key;
    r->meta[r->nmeta].value = value;
    r->nmeta++;
    return SWARM_OK;
}

/* A member of a tensor object: dtype, shape or data_offsets, each once. */
static int st_tensor_member(st_reader *r, const char *key, void *ctx)
{
    st_tensor *t = ctx;
    char shown[80];
    int rc, n;
    unsigned bit = !strcmp(key, "dtype") ? 1u : !strcmp(key, "shape") ? 2u : !strcmp(key, "data_offsets") ? 4u : 0u;
    if (!bit)
        return r->host->set_error(r->call, SWARM_E_BAD_INPUT, "tensor '%s' has an unknown key '%.32s'",
                                  st_shown(shown, sizeof shown, t->e.name), key);
    if (t->seen & bit)
        return r->host->set_error(r->call, SWARM_E_BAD_INPUT, "tensor '%s' has the key '%s' twice",
                                  st_shown(shown, sizeof shown, t->e.name), key);
    t->seen |= bit;
    if (bit == 1) {
        const char *name;
        const st_dtype *dt;
        st_ws(r);
        if (r->p < r->end && *r->p != '"')
            return st_fail(r, "dtype is not a string");
        if ((rc = st_string(r, &name)))
            return rc;
        if (!(dt = st_dtype_by_name(name)))
            return r->host->set_error(r->call, SWARM_E_BAD_INPUT, "tensor '%s' has an unknown dtype '%.32s'",
                                      st_shown(shown, sizeof shown, t->e.name), name);
        t->e.dtype.code = dt->code;
        t->e.dtype.bits = dt->bits;
        t->e.dtype.lanes = 1;
    } else if (bit == 2) {
        uint64_t dims[SWARM_MAX_NDIM];
        if ((rc = st_uints(r, dims, SWARM_MAX_NDIM, &n, "a shape of more than 16 dimensions")))
            return rc;
        for (int d = 0; d < n; d++) {
            if (dims[d] > (uint64_t)INT64_MAX)
                return r->host->set_error(r->call, SWARM_E_BAD_INPUT, "tensor '%s' has a dimension above 2^63 - 1",
                                          st_shown(shown, sizeof shown, t->e.name));
            t->e.shape[d] = (int64_t)dims[d];
        }
        t->e.ndim = n;
    } else {
        uint64_t off[2];
        if ((rc = st_uints(r, off, 2, &n, "data_offsets has more than two numbers")))
            return rc;
        if (n != 2)
            return r->host->set_error(r->call, SWARM_E_BAD_INPUT, "tensor '%s': data_offsets is not [begin, end]",
                                      st_shown(shown, sizeof shown, t->e.name));
        t->begin = off[0];
        t->end = off[1];
    }
    return SWARM_OK;
}

/* A top-level member: "__metadata__" or a tensor. */
static int st_top_member(st_reader *r, const char *key, void *ctx)
{
    int rc;
    (void)ctx;
    if (!strcmp(key, "__metadata__")) {
        if (r->have_meta)
            return st_fail(r, "\"__metadata__\" appears twice");
        r->have_meta = 1;
        st_ws(r);
        if (r->p < r->end && *r->p != '{')
            return st_fail(r, "\"__metadata__\" is not an object");
        if ((rc = st_expect(r, '{', "expected an object")))
            return rc;
        return st_members(r, st_meta_member, NULL);
    }
    if ((rc = st_grow(r, (void **)&r->t, &r->cap, r->n, sizeof *r->t)))
        return rc;
    st_tensor *t = &r->t[r->n];
    char shown[80];
    memset(t, 0, sizeof *t);
    t->e.name = key;
    st_ws(r);
    if (r->p < r->end && *r->p != '{')
        return r->host->set_error(r->call, SWARM_E_BAD_INPUT, "header byte %lu: tensor '%s' is not an object",
                                  (unsigned long)(r->p - r->start), st_shown(shown, sizeof shown, key));
    if ((rc = st_expect(r, '{', "expected an object")) || (rc = st_members(r, st_tensor_member, t)))
        return rc;
    if (t->seen != 7u)
        return r->host->set_error(r->call, SWARM_E_BAD_INPUT, "tensor '%s' lacks %s", st_shown(shown, sizeof shown, key),
                                  !(t->seen & 1u) ? "dtype" : !(t->seen & 2u) ? "shape" : "data_offsets");
    t->idx = r->n++;
    return SWARM_OK;
}

static int st_by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Finds a string given twice among n (sorting the array); NULL when all differ. */
static const char *st_duplicate(const char **s, size_t n)
{
    if (n > 1)
        qsort(s, n, sizeof *s, st_by_name);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(s[i - 1], s[i]))
            return s[i];
    return NULL;
}

static int st_by_offsets(const void *a, const void *b)
{
    const st_tensor *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Reads a safetensors file: checks the length prefix, that the header is UTF-8 JSON of the expected
 * shape, that names and metadata keys are unique, and that the tensors, sorted by offset, tile the data
 * buffer exactly with the sizes their shapes and dtypes need; then reports them in data order. */
static int st_read(const swarm_host *host, swarm_call *call, const uint8_t *file, uint64_t size)
{
    st_reader r;
    char shown[80];
    uint64_t n = 0;
    int rc;
    memset(&r, 0, sizeof r);
    r.host = host;
    r.call = call;
    if (size < 8)
        return host->set_error(call, SWARM_E_BAD_INPUT, "a file of %llu bytes is too short for safetensors",
                               (unsigned long long)size);
    for (int i = 7; i >= 0; i--)
        n = n << 8 | file[i];
    if (n > ST_MAX_HEADER)
        return host->set_error(call, SWARM_E_BAD_INPUT, "the header length %llu is over the limit of 100000000",
                               (unsigned long long)n);
    if (n > size - 8)
        return host->set_error(call, SWARM_E_BAD_INPUT, "the header (%llu bytes) runs past the end of the file",
                               (unsigned long long)n);
    if (!sw_utf8_valid(file + 8, (size_t)n))
        return host->set_error(call, SWARM_E_BAD_INPUT, "the header is not valid UTF-8");
    r.start = r.p = file + 8;
    r.end = file + 8 + n;
    if (!(r.strs = host->alloc_scratch(call, (size_t)n + 1)))
        return host->set_error(call, SWARM_E_INTERNAL, "out of memory");

    st_ws(&r);
    if (r.p == r.end)
        return host->set_error(call, SWARM_E_BAD_INPUT, "the header is empty");
    if (*r.p != '{')
        return st_fail(&r, "the header is not a JSON object");
    r.p++;
    if ((rc = st_members(&r, st_top_member, NULL)))
        return rc;
    st_ws(&r);
    if (r.p != r.end)
        return st_fail(&r, "characters after the header's JSON object");

    /* Unique tensor names and metadata keys. */
    size_t most = r.n > r.nmeta ? r.n : r.nmeta;
    const char **names = host->alloc_scratch(call, (most ? most : 1) * sizeof *names);
    const char *dup;
    if (!names)
        return host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < r.n; i++)
        names[i] = r.t[i].e.name;
    if ((dup = st_duplicate(names, r.n)))
        return host->set_error(call, SWARM_E_BAD_INPUT, "two tensors named '%s'", st_shown(shown, sizeof shown, dup));
    for (size_t i = 0; i < r.nmeta; i++)
        names[i] = r.meta[i].key;
    if ((dup = st_duplicate(names, r.nmeta)))
        return host->set_error(call, SWARM_E_BAD_INPUT, "the metadata key '%s' appears twice",
                               st_shown(shown, sizeof shown, dup));

    /* The tensors, by offset, tile the data buffer exactly. */
    uint64_t buffer = size - 8 - n, at = 0;
    if (r.n > 1)
        qsort(r.t, r.n, sizeof *r.t, st_by_offsets);
    for (size_t i = 0; i < r.n; i++) {
        st_tensor *t = &r.t[i];
        uint64_t dims[SWARM_MAX_NDIM], need = 0;
        const char *why;
        st_shown(shown, sizeof shown, t->e.name);
        if (t->end < t->begin)
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s' ends (%llu) before it begins (%llu)", shown,
                                   (unsigned long long)t->end, (unsigned long long)t->begin);
        if (t->begin > at)
            return host->set_error(call, SWARM_E_BAD_INPUT, "a hole in the data buffer: bytes %llu to %llu before "
                                   "tensor '%s' belong to no tensor", (unsigned long long)at,
                                   (unsigned long long)t->begin, shown);
        if (t->begin < at)
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s' overlaps the tensor before it", shown);
        for (int d = 0; d < t->e.ndim; d++)
            dims[d] = (uint64_t)t->e.shape[d];
        if ((why = st_nbytes(&need, dims, t->e.ndim, t->e.dtype.bits)))
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s': %s", shown, why);
        if (t->end - t->begin != need)
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s' has %llu bytes but its shape and dtype "
                                   "need %llu", shown, (unsigned long long)(t->end - t->begin),
                                   (unsigned long long)need);
        at = t->end;
    }
    if (at < buffer)
        return host->set_error(call, SWARM_E_BAD_INPUT, "%llu bytes after the last tensor belong to no tensor",
                               (unsigned long long)(buffer - at));
    if (at > buffer)
        return host->set_error(call, SWARM_E_BAD_INPUT, "the tensors need %llu bytes of data but the file has %llu",
                               (unsigned long long)at, (unsigned long long)buffer);

    for (size_t i = 0; i < r.n; i++) {
        r.t[i].e.offset = 8 + n + r.t[i].begin;
        r.t[i].e.nbytes = r.t[i].end - r.t[i].begin;
        if ((rc = host->add_tensor(call, &r.t[i].e)))
            return rc;
    }
    for (size_t i = 0; i < r.nmeta; i++)
        if ((rc = host->add_meta(call, r.meta[i].key, r.meta[i].value)))
            return rc;
    return SWARM_OK;
}

/* ---- Writing ------------------------------------------------------------------------------------- */

/* Writes into buf when it is set, and always counts, so one routine both measures and writes. */
typedef struct {
    uint8_t *buf;
    size_t len;
} st_writer;

static void st_put(st_writer *w, const char *s, size_t n)
{
    if (w->buf)
        memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void st_puts(st_writer *w, const char *s)
{
    st_put(w, s, strlen(s));
}

static void st_putu(st_writer *w, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    st_put(w, tmp + i, sizeof tmp - i);
}

/* A JSON string as serde_json writes it: '"' and '\' escaped, \b \f \n \r \t, other control characters
 * as \u00xx (lowercase hex), everything else (UTF-8 included) as is. */
static void st_putstr(st_writer *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    st_put(w, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char e[6] = {'\\', 0, '0', '0', 0, 0};
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        default:
            if (c >= 0x20) {
                st_put(w, s, 1);
                continue;
            }
            e[1] = 'u';
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            st_put(w, e, 6);
            continue;
        }
        st_put(w, e, 2);
    }
    st_put(w, "\"", 1);
}

/* The header JSON: __metadata__ first (when there is any), then the tensors in the given order. */
static void st_write_header(st_writer *w, const swarm_tensor_entry *t, const uint64_t *begin, size_t n,
                            const swarm_meta *meta, size_t nmeta)
{
    st_puts(w, "{");
    if (nmeta) {
        st_puts(w, "\"__metadata__\":{");
        for (size_t i = 0; i < nmeta; i++) {
            if (i)
                st_puts(w, ",");
            st_putstr(w, meta[i].key);
            st_puts(w, ":");
            st_putstr(w, meta[i].value);
        }
        st_puts(w, "}");
    }
    for (size_t i = 0; i < n; i++) {
        if (i || nmeta)
            st_puts(w, ",");
        st_putstr(w, t[i].name);
        st_puts(w, ":{\"dtype\":");
        st_putstr(w, st_dtype_by_code(t[i].dtype)->name);
        st_puts(w, ",\"shape\":[");
        for (int32_t d = 0; d < t[i].ndim; d++) {
            if (d)
                st_puts(w, ",");
            st_putu(w, (uint64_t)t[i].shape[d]);
        }
        st_puts(w, "],\"data_offsets\":[");
        st_putu(w, begin[i]);
        st_puts(w, ",");
        st_putu(w, begin[i] + t[i].nbytes);
        st_puts(w, "]}");
    }
    st_puts(w, "}");
}

/* Lays out a file of these tensors in the given order (the host keeps the source's order of data):
 * offsets contiguous from 0, compact JSON, the header padded with spaces to a multiple of 8 bytes as
 * the reference writer does. Refuses what safetensors cannot hold or what would not read back. */
static int st_layout(const swarm_host *host, swarm_call *call, swarm_tensor_entry *tensors, size_t n,
                     const swarm_meta *meta, size_t nmeta)
{
    char shown[80];
    const char *dup;
    uint64_t at = 0;
    size_t most = n > nmeta ? n : nmeta;
    uint64_t *begin = host->alloc_scratch(call, (n ? n : 1) * sizeof *begin);
    const char **names = host->alloc_scratch(call, (most ? most : 1) * sizeof *names);
    if (!begin || !names)
        return host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const swarm_tensor_entry *t = &tensors[i];
        uint64_t dims[SWARM_MAX_NDIM], need = 0;
        const char *why;
        if (!t->name || !sw_utf8_valid((const uint8_t *)t->name, strlen(t->name)))
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor %lu has no name or one that is not UTF-8",
                                   (unsigned long)i);
        st_shown(shown, sizeof shown, t->name);
        if (!strcmp(t->name, "__metadata__"))
            return host->set_error(call, SWARM_E_BAD_INPUT, "a tensor may not be named __metadata__");
        if (!st_dtype_by_code(t->dtype))
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s': safetensors has no dtype for code %u, "
                                   "%u bits, %u lanes", shown, (unsigned)t->dtype.code, (unsigned)t->dtype.bits,
                                   (unsigned)t->dtype.lanes);
        if (t->ndim < 0 || t->ndim > SWARM_MAX_NDIM)
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s' has %d dimensions", shown, (int)t->ndim);
        for (int32_t d = 0; d < t->ndim; d++) {
            if (t->shape[d] < 0)
                return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s' has a negative dimension", shown);
            dims[d] = (uint64_t)t->shape[d];
        }
        if ((why = st_nbytes(&need, dims, t->ndim, t->dtype.bits)))
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s': %s", shown, why);
        if (need != t->nbytes)
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s' has %llu bytes but its shape and dtype "
                                   "need %llu", shown, (unsigned long long)t->nbytes, (unsigned long long)need);
        if (at > UINT64_MAX - need)
            return host->set_error(call, SWARM_E_BAD_INPUT, "the tensors' sizes overflow");
        begin[i] = at;
        at += need;
        names[i] = t->name;
    }
    if ((dup = st_duplicate(names, n)))
        return host->set_error(call, SWARM_E_BAD_INPUT, "two tensors named '%s'", st_shown(shown, sizeof shown, dup));
    for (size_t i = 0; i < nmeta; i++) {
        if (!meta[i].key || !meta[i].value || !sw_utf8_valid((const uint8_t *)meta[i].key, strlen(meta[i].key)) ||
            !sw_utf8_valid((const uint8_t *)meta[i].value, strlen(meta[i].value)))
            return host->set_error(call, SWARM_E_BAD_INPUT, "metadata pair %lu is missing or not UTF-8",
                                   (unsigned long)i);
        names[i] = meta[i].key;
    }
    if ((dup = st_duplicate(names, nmeta)))
        return host->set_error(call, SWARM_E_BAD_INPUT, "the metadata key '%s' appears twice",
                               st_shown(shown, sizeof shown, dup));

    st_writer w = {NULL, 8};
    st_write_header(&w, tensors, begin, n, meta, nmeta);
    size_t hlen = w.len - 8, padded = hlen + (8 - hlen % 8) % 8;
    if (padded > ST_MAX_HEADER)
        return host->set_error(call, SWARM_E_BAD_INPUT, "the header would be %lu bytes, over the limit of 100000000",
                               (unsigned long)padded);
    if (at > UINT64_MAX - 8 - padded)
        return host->set_error(call, SWARM_E_BAD_INPUT, "the tensors' sizes overflow");
    if (!(w.buf = host->alloc_scratch(call, 8 + padded)))
        return host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    for (int i = 0; i < 8; i++)
        w.buf[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    w.len = 8;
    st_write_header(&w, tensors, begin, n, meta, nmeta);
    memset(w.buf + w.len, ' ', padded - hlen);
    for (size_t i = 0; i < n; i++)
        tensors[i].offset = 8 + padded + begin[i];
    return host->emit(call, w.buf, 8 + padded);
}

/* ---- The descriptor ------------------------------------------------------------------------------ */

static const swarm_format safetensors = {
    .struct_size = sizeof(swarm_format),
    .name = "safetensors",
    .format_version = 1, /* bump it whenever layout may write other bytes for the same tensors */
    .doc = "Hugging Face safetensors: a u64 header length, a JSON header, then the tensors' bytes. Reads every "
           "dtype of the reference (BOOL, U8-U64, I8-I64, F16, BF16, F32, F64, C64, F8_*, F6_*, F4) and refuses "
           "a header it would refuse; writes tensors in the given order with compact JSON padded to 8 bytes.",
    .read = st_read,
    .layout = st_layout,
};
static const swarm_format *const formats[] = {&safetensors};

static const swarm_plugin plugin = {
    .abi_version = SWARM_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(swarm_plugin),
    .id = "org.swarm.safetensors",
    .version = "0.1.0",
    .ops = NULL,
    .n_ops = 0,
    .formats = formats,
    .n_formats = 1,
};

/* The one exported symbol: it only hands swarm the descriptor above. */
SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
