/* test_formats.c — the safetensors format plugin (every vector and rule of FORMATS.md, malformed headers,
 * byte-exact layout, round trips) and the convert plugin's cast op (rounding vectors, NaN rules, exhaustive
 * f16/bf16 checks, pass-through, odd lengths, the vector kernels against scalar references), both loaded
 * from the build tree through the host API of core/host/opcall.h. */
#include "base/error.h"
#include "host/opcall.h"
#include "host/plugin.h"
#include "tap.h"
#include "base/util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const sw_plugin *stp;
static const swarm_format *stf;

/* ---- safetensors helpers ------------------------------------------------------------------------- */

/* A file: the 8-byte length of header (hlen bytes), the header, then data bytes 0, 1, 2, ... */
static uint8_t *mkfile(size_t *size, const char *header, size_t hlen, size_t data)
{
    uint8_t *f = malloc(8 + hlen + data + 1);
    for (int i = 0; i < 8; i++)
        f[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(f + 8, header, hlen);
    for (size_t i = 0; i < data; i++)
        f[8 + hlen + i] = (uint8_t)i;
    *size = 8 + hlen + data;
    return f;
}

static int read_file(sw_tindex *ix, const uint8_t *file, size_t size)
{
    memset(ix, 0, sizeof *ix);
    return sw_format_read(ix, stp, stf, file, size, -1);
}

/* Reads a file made of header and data bytes; returns the read's code. */
static int read_header(sw_tindex *ix, const char *header, size_t data)
{
    size_t size;
    uint8_t *f = mkfile(&size, header, strlen(header), data);
    int rc = read_file(ix, f, size);
    free(f);
    return rc;
}

/* A header that must be refused: SW_EINVALID with a message naming the plugin. */
static void refuse(const char *header, size_t data, const char *what)
{
    sw_tindex ix;
    int rc = read_header(&ix, header, data);
    const char *msg = sw_error_last();
    ok(rc == SW_EINVALID && strstr(msg, "org.swarm.safetensors format safetensors: "), "refused: %s", what);
    if (rc == SW_EINVALID)
        printf("#   %s\n", msg);
    else
        printf("#   rc %d\n", rc);
    sw_tindex_free(&ix);
}

/* A header that must be accepted with n tensors. */
static void accept(const char *header, size_t data, size_t n, const char *what)
{
    sw_tindex ix;
    int rc = read_header(&ix, header, data);
    ok(rc == 0 && ix.ntensors == n, "accepted: %s", what);
    if (rc)
        printf("#   %s\n", sw_error_last());
    sw_tindex_free(&ix);
}

static swarm_tensor_entry entry(const char *name, uint8_t code, uint8_t bits, int ndim, const int64_t *shape)
{
    swarm_tensor_entry e;
    memset(&e, 0, sizeof e);
    e.name = name;
    e.dtype = (swarm_dtype){code, bits, 1};
    e.ndim = ndim;
    uint64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        e.shape[d] = shape[d];
        n *= (uint64_t)shape[d];
    }
    e.nbytes = n * bits / 8;
    return e;
}

static int same_entry(const swarm_tensor_entry *a, const swarm_tensor_entry *b)
{
    if (strcmp(a->name, b->name) || a->dtype.code != b->dtype.code || a->dtype.bits != b->dtype.bits ||
        a->dtype.lanes != b->dtype.lanes || a->ndim != b->ndim || a->offset != b->offset || a->nbytes != b->nbytes)
        return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d])
            return 0;
    return 1;
}

/* Lays tensors out, builds the file (header, then each tensor's bytes where layout put them), reads it
 * back and checks that the same entries and metadata come out, in the same order. */
static int roundtrip(swarm_tensor_entry *t, size_t n, const swarm_meta *meta, size_t nmeta, uint8_t **hdr, size_t *hl)
{
    uint8_t *header = NULL;
    size_t hlen = 0;
    uint64_t total = 0;
    int good = 1;
    if (sw_format_layout(&header, &hlen, &total, stp, stf, t, n, meta, nmeta, -1)) {
        printf("#   layout: %s\n", sw_error_last());
        return 0;
    }
    uint8_t *file = calloc(1, (size_t)total + 1);
    memcpy(file, header, hlen);
    for (size_t i = 0; i < n; i++)
        for (uint64_t k = 0; k < t[i].nbytes; k++)
            file[t[i].offset + k] = (uint8_t)(i * 31 + k);
    sw_tindex ix;
    if (read_file(&ix, file, (size_t)total)) {
        printf("#   read: %s\n", sw_error_last());
        good = 0;
    } else {
        good = ix.ntensors == n && ix.nmeta == nmeta;
        for (size_t i = 0; good && i < n; i++)
            good = same_entry(&ix.tensors[i], &t[i]);
        for (size_t i = 0; good && i < nmeta; i++)
            good = !strcmp(ix.meta[i].key, meta[i].key) && !strcmp(ix.meta[i].value, meta[i].value);
    }
    sw_tindex_free(&ix);
    free(file);
    if (hdr) {
        *hdr = header;
        *hl = hlen;
    } else {
        free(header);
    }
    return good;
}

static int layout_rc(swarm_tensor_entry *t, size_t n, const swarm_meta *meta, size_t nmeta)
{
    uint8_t *header = NULL;
    size_t hlen;
    uint64_t total;
    int rc = sw_format_layout(&header, &hlen, &total, stp, stf, t, n, meta, nmeta, -1);
    if (rc)
        printf("#   %s\n", sw_error_last());
    free(header);
    return rc;
}

static void test_safetensors(void)
{
    /* The public vector: 96 bytes. */
    static const char vec_header[] = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
    uint8_t vec[96];
    memset(vec, 0, sizeof vec);
    vec[0] = 0x40;
    memcpy(vec + 8, vec_header, 64);
    for (int i = 0; i < 6; i++) {
        float f = (float)i;
        memcpy(vec + 72 + 4 * i, &f, 4);
    }
    ok(strlen(vec_header) == 64, "the public header is 64 bytes");
    sw_tindex ix;
    int rc = read_file(&ix, vec, sizeof vec);
    ok(rc == 0 && ix.ntensors == 1 && ix.nmeta == 0, "the public vector reads");
    if (rc == 0 && ix.ntensors == 1) {
        const swarm_tensor_entry *t = &ix.tensors[0];
        ok(!strcmp(t->name, "attn.0") && t->dtype.code == SWARM_DTYPE_FLOAT && t->dtype.bits == 32 &&
               t->dtype.lanes == 1, "attn.0 is F32");
        ok(t->ndim == 3 && t->shape[0] == 1 && t->shape[1] == 2 && t->shape[2] == 3, "shape [1,2,3]");
        ok(t->offset == 72 && t->nbytes == 24, "absolute offset 72, 24 bytes");
    }
    sw_tindex_free(&ix);

    /* The must-fail vectors. */
    {
        uint8_t longer[97];
        memcpy(longer, vec, 96);
        longer[96] = 0;
        ok(read_file(&ix, longer, 97) == SW_EINVALID, "refused: a trailing byte after the last tensor");
        printf("#   %s\n", sw_error_last());
        sw_tindex_free(&ix);
        ok(read_file(&ix, vec, 95) == SW_EINVALID, "refused: a missing byte");
        printf("#   %s\n", sw_error_last());
        sw_tindex_free(&ix);
        uint8_t huge[96];
        memcpy(huge, vec, 96);
        uint64_t n = 0xFFFFFF000000003CULL;
        for (int i = 0; i < 8; i++)
            huge[i] = (uint8_t)(n >> (8 * i));
        ok(read_file(&ix, huge, 96) == SW_EINVALID, "refused: N = 0xFFFFFF000000003C");
        printf("#   %s\n", sw_error_last());
        sw_tindex_free(&ix);
        ok(read_file(&ix, vec, 8) == SW_EINVALID, "refused: an 8-byte file (N = 64)");
        sw_tindex_free(&ix);
        uint8_t eight[8] = {0};
        ok(read_file(&ix, eight, 8) == SW_EINVALID, "refused: an 8-byte file (N = 0)");
        printf("#   %s\n", sw_error_last());
        sw_tindex_free(&ix);
        ok(read_file(&ix, vec, 7) == SW_EINVALID, "refused: a 7-byte file");
        sw_tindex_free(&ix);
        ok(read_file(&ix, vec, 0) == SW_EINVALID, "refused: an empty file");
        sw_tindex_free(&ix);
    }
    refuse("{", 0, "header {");
    refuse("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,4]}}", 4, "I32 [2,2] with offsets [0,4]");
    refuse("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,4]}}", 16, "I32 [2,2] [0,4], 16 bytes");
    accept("\t\n{}\r \t\n", 0, 0, "header \\t\\n{}\\r \\t\\n gives 0 tensors");
    accept("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16, 1, "I32 [2,2] [0,16]");

    /* Malformed headers. */
    refuse("", 0, "an empty header");
    refuse("   ", 0, "a header of spaces");
    refuse("[]", 0, "a header that is an array");
    refuse("{} x", 0, "characters after the object");
    refuse("{}{}", 0, "two objects");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
           "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "duplicate tensor names");
    refuse("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
           "a duplicate key in a tensor object");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "shape twice");
    refuse("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ twice");
    refuse("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, "a duplicate metadata key");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
           "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, "a hole between tensors");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "a hole before the first tensor");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
           "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "overlapping tensors");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
           "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "two tensors at one offset");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
           "\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 4, "begin > end");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", 0, "begin > end, alone");
    refuse("{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,2],\"data_offsets\":[0,0]}}", 0,
           "a shape whose element count overflows");
    refuse("{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,0],\"data_offsets\":[0,0]}}", 0,
           "an element count overflowing before a 0 (as the reference folds it)");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[2305843009213693952],\"data_offsets\":[0,0]}}", 0,
           "a size in bits that overflows");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808,0],\"data_offsets\":[0,0]}}", 0,
           "a dimension above 2^63 - 1");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551616]}}", 4,
           "an offset above 2^64 - 1");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551615]}}", 4,
           "an offset of 2^64 - 1");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551615,3]}}", 4,
           "a begin of 2^64 - 1");
    {
        char h[64];
        size_t size;
        uint8_t *f = mkfile(&size, "{}", 2, 0);
        uint64_t n = 100000001;
        for (int i = 0; i < 8; i++)
            f[i] = (uint8_t)(n >> (8 * i));
        ok(read_file(&ix, f, size) == SW_EINVALID, "refused: N = 100000001");
        printf("#   %s\n", sw_error_last());
        sw_tindex_free(&ix);
        free(f);
        snprintf(h, sizeof h, "{}");
        f = mkfile(&size, h, 2, 0);
        f[0] = 3; /* N = 3 in a file of 10 bytes */
        ok(read_file(&ix, f, size) == SW_EINVALID, "refused: a header running past the end of the file");
        sw_tindex_free(&ix);
        free(f);
    }
    refuse("{\"__metadata__\":{\"a\":1}}", 0, "a metadata value that is a number");
    refuse("{\"__metadata__\":{\"a\":{\"b\":\"c\"}}}", 0, "a metadata value that is an object");
    refuse("{\"__metadata__\":{\"a\":null}}", 0, "a metadata value that is null");
    refuse("{\"__metadata__\":null}", 0, "__metadata__ null");
    refuse("{\"__metadata__\":[\"a\"]}", 0, "__metadata__ an array");
    refuse("{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "bad UTF-8 (0xff) in a name");
    refuse("{\"a\xc0\xaf\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "an overlong UTF-8 form");
    refuse("{\"a\xed\xa0\x80\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "a UTF-8 surrogate");
    refuse("{\"a\xe2\x82\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "a cut UTF-8 sequence");
    refuse("{\"a\xf4\x90\x80\x80\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "UTF-8 above U+10FFFF");
    refuse("{\"a\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,16]}}", 16, "an unknown dtype");
    refuse("{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "a lowercase dtype");
    refuse("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "a dtype that is a number");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "a negative dimension");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[-0],\"data_offsets\":[0,4]}}", 4, "a dimension -0");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4, "a dimension 1.0");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,4]}}", 4, "a dimension 1e0");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4, "a dimension \"1\"");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", 4, "a leading zero");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[true],\"data_offsets\":[0,4]}}", 4, "a dimension true");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 4, "a shape that is a number");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,],\"data_offsets\":[0,4]}}", 4, "a trailing comma in an array");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],}}", 4, "a trailing comma in an object");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4, "truncated JSON (no final brace)");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offs", 4, "truncated JSON (in a key)");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1", 4, "truncated JSON (in an array)");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "data_offsets of one number");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4, "data_offsets of three numbers");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "a tensor without data_offsets");
    refuse("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "a tensor without dtype");
    refuse("{\"a\":{}}", 0, "an empty tensor object");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", 4, "an unknown key");
    refuse("{\"a\":[0,4]}", 4, "a tensor that is an array");
    refuse("{\"a\":null}", 0, "a tensor that is null");
    refuse("{\"a\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "a lone high surrogate");
    refuse("{\"a\\udc00\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "a lone low surrogate");
    refuse("{\"a\\ud800\\u0041\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
           "a high surrogate before a non-surrogate");
    refuse("{\"a\\u0000\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "U+0000 in a name");
    refuse("{\"a\\u12\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "a short \\u escape");
    refuse("{\"a\\x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "an unknown escape");
    refuse("{\"a\tb\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "a raw tab in a string");
    refuse("{'a':{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "single quotes");
    refuse("{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2, "F4 with an odd element count");
    refuse("{\"a\":{\"dtype\":\"F6_E2M3\",\"shape\":[3],\"data_offsets\":[0,3]}}", 3, "F6 with a partial byte");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
           "17 dimensions");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}\x01", 4, "a control byte after the JSON");
    refuse("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}\xc2\xa0", 4, "U+00A0 as whitespace");

    /* Accepted corners. */
    accept("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, 1, "a scalar (shape [])");
    accept("{\"a\":{\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[0,0]}}", 0, 1, "an empty tensor");
    accept("{\"a\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[0,2]}}", 2, 1, "F4 [4] in 2 bytes");
    accept("{\"a\":{\"dtype\":\"F6_E3M2\",\"shape\":[2,2],\"data_offsets\":[0,3]}}", 3, 1, "F6_E3M2 [2,2] in 3 bytes");
    accept("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, 1,
           "16 dimensions");
    accept(" { \"a\" : { \"data_offsets\" : [ 0 , 4 ] , \"shape\" : [ 1 ] , \"dtype\" : \"F32\" } } ", 4, 1,
           "whitespace everywhere, keys in another order");
    accept("{\"__metadata__\":{}}", 0, 0, "empty metadata");

    /* Every dtype maps to its DLPack code. */
    {
        static const struct {
            const char *name;
            uint8_t code, bits;
        } dts[] = {{"BOOL", SWARM_DTYPE_BOOL, 8}, {"U8", SWARM_DTYPE_UINT, 8}, {"U16", SWARM_DTYPE_UINT, 16},
                   {"U32", SWARM_DTYPE_UINT, 32}, {"U64", SWARM_DTYPE_UINT, 64}, {"I8", SWARM_DTYPE_INT, 8},
                   {"I16", SWARM_DTYPE_INT, 16}, {"I32", SWARM_DTYPE_INT, 32}, {"I64", SWARM_DTYPE_INT, 64},
                   {"F16", SWARM_DTYPE_FLOAT, 16}, {"F32", SWARM_DTYPE_FLOAT, 32}, {"F64", SWARM_DTYPE_FLOAT, 64},
                   {"BF16", SWARM_DTYPE_BFLOAT, 16}, {"C64", SWARM_DTYPE_COMPLEX, 64},
                   {"F8_E4M3", SWARM_DTYPE_FLOAT8_E4M3FN, 8}, {"F8_E5M2", SWARM_DTYPE_FLOAT8_E5M2, 8},
                   {"F8_E8M0", SWARM_DTYPE_FLOAT8_E8M0FNU, 8}, {"F8_E4M3FNUZ", SWARM_DTYPE_FLOAT8_E4M3FNUZ, 8},
                   {"F8_E5M2FNUZ", SWARM_DTYPE_FLOAT8_E5M2FNUZ, 8}, {"F6_E2M3", SWARM_DTYPE_FLOAT6_E2M3FN, 6},
                   {"F6_E3M2", SWARM_DTYPE_FLOAT6_E3M2FN, 6}, {"F4", SWARM_DTYPE_FLOAT4_E2M1FN, 4}};
        int good = 1;
        for (size_t i = 0; i < sizeof dts / sizeof *dts; i++) {
            char h[200];
            snprintf(h, sizeof h, "{\"t\":{\"dtype\":\"%s\",\"shape\":[8],\"data_offsets\":[0,%d]}}", dts[i].name,
                     dts[i].bits);
            if (read_header(&ix, h, dts[i].bits) || ix.ntensors != 1 || ix.tensors[0].dtype.code != dts[i].code ||
                ix.tensors[0].dtype.bits != dts[i].bits || ix.tensors[0].dtype.lanes != 1) {
                printf("#   %s\n", dts[i].name);
                good = 0;
            }
            sw_tindex_free(&ix);
        }
        ok(good, "every dtype reads with its DLPack code and bits");
    }

    /* Data order, absolute offsets, escapes and metadata. */
    {
        const char *h = "{\"b\":{\"dtype\":\"I16\",\"shape\":[3],\"data_offsets\":[4,10]},"
                        "\"__metadata__\":{\"format\":\"pt\",\"note\":\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00/\\/\"},"
                        "\"e2\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                        "\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                        "\"e1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                        "\"z\\u00e9\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[10,12]}}";
        size_t hl = strlen(h);
        rc = read_header(&ix, h, 12);
        ok(rc == 0 && ix.ntensors == 5 && ix.nmeta == 2, "a header of five tensors and metadata reads");
        if (rc)
            printf("#   %s\n", sw_error_last());
        if (rc == 0 && ix.ntensors == 5) {
            ok(!strcmp(ix.tensors[0].name, "a") && !strcmp(ix.tensors[1].name, "e2") &&
                   !strcmp(ix.tensors[2].name, "e1") && !strcmp(ix.tensors[3].name, "b") &&
                   !strcmp(ix.tensors[4].name, "z\xc3\xa9"),
               "tensors come in data order, empty ones at one offset in header order");
            ok(ix.tensors[0].offset == 8 + hl && ix.tensors[3].offset == 8 + hl + 4 &&
                   ix.tensors[4].offset == 8 + hl + 10 && ix.tensors[3].nbytes == 6 && ix.tensors[0].ndim == 0,
               "absolute offsets and sizes");
        }
        if (rc == 0 && ix.nmeta == 2)
            ok(!strcmp(ix.meta[0].key, "format") && !strcmp(ix.meta[0].value, "pt") &&
                   !strcmp(ix.meta[1].value, "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80//"),
               "metadata in header order, escapes and a surrogate pair decoded");
        sw_tindex_free(&ix);
    }

    /* Layout: the public vector, byte for byte. */
    {
        int64_t shape[3] = {1, 2, 3};
        swarm_tensor_entry t = entry("attn.0", SWARM_DTYPE_FLOAT, 32, 3, shape);
        uint8_t *header = NULL;
        size_t hlen = 0;
        uint64_t total = 0;
        rc = sw_format_layout(&header, &hlen, &total, stp, stf, &t, 1, NULL, 0, -1);
        ok(rc == 0 && hlen == 72 && !memcmp(header, vec, 72) && t.offset == 72 && total == 96,
           "layout writes the public vector's header byte for byte");
        free(header);

        /* The reference's empty files: no tensors, then metadata framework=pt. */
        rc = sw_format_layout(&header, &hlen, &total, stp, stf, NULL, 0, NULL, 0, -1);
        ok(rc == 0 && hlen == 16 && !memcmp(header, "\x08\0\0\0\0\0\0\0{}      ", 16) && total == 16,
           "layout of nothing: {} padded to 8");
        free(header);
        swarm_meta fw = {"framework", "pt"};
        rc = sw_format_layout(&header, &hlen, &total, stp, stf, NULL, 0, &fw, 1, -1);
        ok(rc == 0 && hlen == 48 && !memcmp(header, "\x28\0\0\0\0\0\0\0{\"__metadata__\":{\"framework\":\"pt\"}}     ", 48),
           "layout of metadata alone: the reference's 40-byte header");
        free(header);
    }

    /* Layout: order kept, metadata first, round trips. */
    {
        int64_t s1[2] = {2, 3}, s2[1] = {5}, s3[1] = {0}, s4[1] = {6}, s5[3] = {2, 2, 2};
        swarm_tensor_entry t[6] = {
            entry("model.z", SWARM_DTYPE_BFLOAT, 16, 2, s1), entry("model.a", SWARM_DTYPE_INT, 64, 1, s2),
            entry("empty", SWARM_DTYPE_FLOAT, 32, 1, s3),   entry("scalar", SWARM_DTYPE_FLOAT, 64, 0, NULL),
            entry("fp4", SWARM_DTYPE_FLOAT4_E2M1FN, 4, 1, s4), entry("bool", SWARM_DTYPE_BOOL, 8, 3, s5),
        };
        swarm_meta meta[2] = {{"zeta", "last key first"}, {"alpha", "ünïcödé"}};
        uint8_t *header = NULL;
        size_t hlen = 0;
        ok(roundtrip(t, 6, meta, 2, &header, &hlen), "read(layout(x)) == x: six tensors, two metadata pairs");
        const char *want = "{\"__metadata__\":{\"zeta\":\"last key first\",\"alpha\":\"ünïcödé\"},"
                           "\"model.z\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
                           "\"model.a\":{\"dtype\":\"I64\",\"shape\":[5],\"data_offsets\":[12,52]},"
                           "\"empty\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[52,52]},"
                           "\"scalar\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[52,60]},"
                           "\"fp4\":{\"dtype\":\"F4\",\"shape\":[6],\"data_offsets\":[60,63]},"
                           "\"bool\":{\"dtype\":\"BOOL\",\"shape\":[2,2,2],\"data_offsets\":[63,71]}}";
        size_t wl = strlen(want);
        ok(header && hlen == 8 + wl + (8 - wl % 8) % 8 && hlen % 8 == 0 && !memcmp(header + 8, want, wl) &&
               t[0].offset == hlen && t[1].offset == hlen + 12 && t[5].offset == hlen + 63,
           "tensors in the given order, metadata first, offsets contiguous");
        int spaces = 1;
        for (size_t i = 8 + wl; header && i < hlen; i++)
            spaces &= header[i] == ' ';
        ok(spaces, "the header is padded with spaces");
        free(header);

        ok(roundtrip(t, 1, NULL, 0, NULL, NULL), "round trip: one tensor, no metadata");
        ok(roundtrip(NULL, 0, meta, 2, NULL, NULL), "round trip: metadata only");

        /* Names that need JSON escapes. */
        swarm_tensor_entry e[3] = {entry("quote\"back\\slash", SWARM_DTYPE_UINT, 8, 1, s2),
                                   entry("ctl\n\t\x01\x1f\x7f/é😀", SWARM_DTYPE_UINT, 8, 1, s2),
                                   entry("", SWARM_DTYPE_UINT, 8, 1, s2)};
        swarm_meta m = {"k\"\\", "v\b\f\r"};
        ok(roundtrip(e, 3, &m, 1, &header, &hlen), "round trip: names needing escapes, an empty name");
        const char *esc = "{\"__metadata__\":{\"k\\\"\\\\\":\"v\\b\\f\\r\"},\"quote\\\"back\\\\slash\":{";
        const char *esc2 = "\"ctl\\n\\t\\u0001\\u001f\x7f/é😀\":{";
        ok(header && !memcmp(header + 8, esc, strlen(esc)) && memmem(header, hlen, esc2, strlen(esc2)),
           "escapes as serde_json writes them");
        free(header);
    }

    /* Layout refuses what safetensors cannot hold. */
    {
        int64_t s[1] = {4}, neg[1] = {-1};
        swarm_tensor_entry t = entry("x", SWARM_DTYPE_FLOAT, 8, 1, s);
        ok(layout_rc(&t, 1, NULL, 0) == SW_EINVALID, "layout refuses float8 with code FLOAT");
        t = entry("x", SWARM_DTYPE_FLOAT, 32, 1, s);
        t.dtype.lanes = 2;
        ok(layout_rc(&t, 1, NULL, 0) == SW_EINVALID, "layout refuses lanes 2");
        t = entry("x", SWARM_DTYPE_COMPLEX, 128, 1, s);
        ok(layout_rc(&t, 1, NULL, 0) == SW_EINVALID, "layout refuses complex128");
        t = entry("x", SWARM_DTYPE_FLOAT, 32, 1, s);
        t.nbytes = 15;
        ok(layout_rc(&t, 1, NULL, 0) == SW_EINVALID, "layout refuses nbytes that do not fit the shape");
        t = entry("x", SWARM_DTYPE_FLOAT, 32, 1, neg);
        t.nbytes = 0;
        ok(layout_rc(&t, 1, NULL, 0) == SW_EINVALID, "layout refuses a negative dimension");
        t = entry("x", SWARM_DTYPE_FLOAT4_E2M1FN, 4, 1, (int64_t[]){3});
        t.nbytes = 1;
        ok(layout_rc(&t, 1, NULL, 0) == SW_EINVALID, "layout refuses F4 with a partial byte");
        swarm_tensor_entry two[2] = {entry("x", SWARM_DTYPE_UINT, 8, 1, s), entry("x", SWARM_DTYPE_UINT, 8, 1, s)};
        ok(layout_rc(two, 2, NULL, 0) == SW_EINVALID, "layout refuses two tensors of one name");
        t = entry("__metadata__", SWARM_DTYPE_UINT, 8, 1, s);
        ok(layout_rc(&t, 1, NULL, 0) == SW_EINVALID, "layout refuses a tensor named __metadata__");
        t = entry("bad\xff", SWARM_DTYPE_UINT, 8, 1, s);
        ok(layout_rc(&t, 1, NULL, 0) == SW_EINVALID, "layout refuses a name that is not UTF-8");
        swarm_meta dm[2] = {{"k", "1"}, {"k", "2"}};
        ok(layout_rc(NULL, 0, dm, 2) == SW_EINVALID, "layout refuses a metadata key twice");
    }
}

/* ---- convert ------------------------------------------------------------------------------------- */

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
    ok(sw_op_variants(order, &nv, cvp, 0, SW_DEVICE_CPU) == 0 && nv == 1 &&
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
    const char *build = getenv("SWARM_BUILD");
    char *dir = sw_sprintf("%s/plugins", build && *build ? build : "build");
    const char *dirs[1] = {dir};
    sw_plugins *ps = sw_plugins_load(dirs, 1, -1);
    ok(ps != NULL, "plugins load from %s", dir);
    stp = ps ? sw_plugins_find(ps, "org.swarm.safetensors") : NULL;
    cvp = ps ? sw_plugins_find(ps, "org.swarm.convert") : NULL;
    for (size_t i = 0; ps && sw_plugins_skipped(ps, i); i++)
        printf("# skipped %s: %s\n", sw_plugins_skipped(ps, i)->path, sw_plugins_skipped(ps, i)->reason);
    ok(stp != NULL, "org.swarm.safetensors is loaded");
    ok(cvp != NULL, "org.swarm.convert is loaded");
    const sw_plugin *p = NULL;
    const swarm_records_format *rf = NULL;
    ok(ps && sw_format_find(&p, &stf, &rf, ps, "safetensors") == 0 && p == stp && !rf && stf->format_version == 1 &&
           stp->desc->n_ops == 0,
       "the format safetensors, version 1, in a plugin without ops");
    if (stp && stf)
        test_safetensors();
    if (cvp) {
        test_convert();
        test_alloc_failure();
    }
    sw_plugins_free(ps);
    free(dir);
    return tap_done();
}
