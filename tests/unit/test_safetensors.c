/* test_safetensors.c — the safetensors format plugin (org.swarm.safetensors): every vector and rule of
 * FORMATS.md, malformed headers, byte-exact layout, round trips; loaded from the build tree and called
 * through swarm's host (plugin_host.h). */
#include "base/error.h"
#include "base/util.h"
#include "plugin_host.h"
#include "tap.h"

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
    return sw_format_read(ix, stp, stf, NULL, NULL, file, size, -1);
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

int main(void)
{
    sw_plugins *ps = test_plugins_load();
    ok(ps != NULL, "plugins load from the build tree");
    stp = ps ? sw_plugins_find(ps, "org.swarm.safetensors") : NULL;
    ok(stp != NULL, "org.swarm.safetensors is loaded");
    const sw_plugin *p = NULL;
    const swarm_records_format *rf = NULL;
    ok(ps && sw_format_find(&p, &stf, &rf, ps, "safetensors") == 0 && p == stp && !rf && stf->format_version == 1 &&
           stp->desc->n_ops == 0,
       "the format safetensors, version 1, in a plugin without ops");
    if (stp && stf)
        test_safetensors();
    sw_plugins_free(ps);
    return tap_done();
}
