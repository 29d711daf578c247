/* values.c — tensor collections in their canonical JSON form, and dtype names (see values.h). */
#include "pipeline/values.h"
#include "base/error.h"
#include "base/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sw_valkind_name(sw_valkind k)
{
    return k == SW_VAL_FILES ? "files" : k == SW_VAL_TENSORS ? "tensors" : k == SW_VAL_RECORDS ? "records" : "?";
}

static const struct {
    const char *name;
    uint8_t code, bits;
} sw_dtypes[] = {
    {"bool", SWARM_DTYPE_BOOL, 8},
    {"u8", SWARM_DTYPE_UINT, 8},
    {"u16", SWARM_DTYPE_UINT, 16},
    {"u32", SWARM_DTYPE_UINT, 32},
    {"u64", SWARM_DTYPE_UINT, 64},
    {"i8", SWARM_DTYPE_INT, 8},
    {"i16", SWARM_DTYPE_INT, 16},
    {"i32", SWARM_DTYPE_INT, 32},
    {"i64", SWARM_DTYPE_INT, 64},
    {"f16", SWARM_DTYPE_FLOAT, 16},
    {"f32", SWARM_DTYPE_FLOAT, 32},
    {"f64", SWARM_DTYPE_FLOAT, 64},
    {"bf16", SWARM_DTYPE_BFLOAT, 16},
    {"c64", SWARM_DTYPE_COMPLEX, 64},
    {"c128", SWARM_DTYPE_COMPLEX, 128},
    {"f8_e4m3fn", SWARM_DTYPE_FLOAT8_E4M3FN, 8},
    {"f8_e4m3fnuz", SWARM_DTYPE_FLOAT8_E4M3FNUZ, 8},
    {"f8_e5m2", SWARM_DTYPE_FLOAT8_E5M2, 8},
    {"f8_e5m2fnuz", SWARM_DTYPE_FLOAT8_E5M2FNUZ, 8},
    {"f8_e8m0fnu", SWARM_DTYPE_FLOAT8_E8M0FNU, 8},
    {"f6_e2m3fn", SWARM_DTYPE_FLOAT6_E2M3FN, 6},
    {"f6_e3m2fn", SWARM_DTYPE_FLOAT6_E3M2FN, 6},
    {"f4_e2m1fn", SWARM_DTYPE_FLOAT4_E2M1FN, 4},
    {"q8_0", SWARM_DTYPE_Q8_0, 0},
    {"q4_0", SWARM_DTYPE_Q4_0, 0},
};

const char *sw_dtype_name(char buf[32], swarm_dtype dt)
{
    for (size_t i = 0; dt.lanes == 1 && i < sizeof sw_dtypes / sizeof *sw_dtypes; i++)
        if (sw_dtypes[i].code == dt.code && sw_dtypes[i].bits == dt.bits)
            return sw_dtypes[i].name;
    snprintf(buf, 32, "dtype(%u,%u,%u)", dt.code, dt.bits, dt.lanes);
    return buf;
}

int sw_dtype_parse(swarm_dtype *out, const char *name)
{
    for (size_t i = 0; i < sizeof sw_dtypes / sizeof *sw_dtypes; i++)
        if (!strcmp(sw_dtypes[i].name, name)) {
            *out = (swarm_dtype){sw_dtypes[i].code, sw_dtypes[i].bits, 1};
            return 0;
        }
    return sw_error(SW_EINVALID, "unknown dtype '%s'", name);
}

void sw_tensors_free(sw_tensors *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->t[i].name);
    for (size_t i = 0; i < c->nmeta; i++) {
        free((char *)c->meta[i].key);
        free((char *)c->meta[i].value);
    }
    free(c->t);
    free(c->meta);
    memset(c, 0, sizeof *c);
}

sw_tref *sw_tensors_add(sw_tensors *c, const char *name)
{
    sw_grow(&c->t, &c->cap, c->n + 1, sizeof *c->t);
    sw_tref *t = &c->t[c->n++];
    memset(t, 0, sizeof *t);
    t->name = sw_strdup(name);
    return t;
}

void sw_tensors_add_meta(sw_tensors *c, const char *key, const char *value)
{
    c->meta = sw_realloc(c->meta, (c->nmeta + 1) * sizeof *c->meta);
    c->meta[c->nmeta++] = (swarm_meta){sw_strdup(key), sw_strdup(value)};
}

const char *sw_tensors_meta(const sw_tensors *c, const char *key)
{
    for (size_t k = 0; k < c->nmeta; k++)
        if (!strcmp(c->meta[k].key, key))
            return c->meta[k].value;
    return NULL;
}

int sw_tensors_has(const sw_tensors *c, const char *name)
{
    for (size_t k = 0; k < c->n; k++)
        if (!strcmp(c->t[k].name, name))
            return 1;
    return 0;
}

/* {"swarm":"tensors/1","metadata":[[K,V],...],"tensors":[{"name","dtype","shape","blob","offset","nbytes"}]} */
char *sw_tensors_to_json(const sw_tensors *c)
{
    json_t *root = json_object(), *meta = json_array(), *ts = json_array();
    json_object_set_new(root, "swarm", json_string("tensors/1"));
    for (size_t i = 0; i < c->nmeta; i++)
        json_array_append_new(meta, json_pack("[s,s]", c->meta[i].key, c->meta[i].value));
    json_object_set_new(root, "metadata", meta);
    for (size_t i = 0; i < c->n; i++) {
        const sw_tref *t = &c->t[i];
        char b[32], hex[SW_HEX_LEN + 1];
        json_t *shape = json_array();
        for (int32_t d = 0; d < t->ndim; d++)
            json_array_append_new(shape, json_integer(t->shape[d]));
        sw_hash_hex(hex, &t->blob);
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(t->name));
        json_object_set_new(o, "dtype", json_string(sw_dtype_name(b, t->dtype)));
        json_object_set_new(o, "shape", shape);
        json_object_set_new(o, "blob", json_string(hex));
        json_object_set_new(o, "offset", json_integer((json_int_t)t->offset));
        json_object_set_new(o, "nbytes", json_integer((json_int_t)t->nbytes));
        json_array_append_new(ts, o);
    }
    json_object_set_new(root, "tensors", ts);
    char *s = sw_oom(json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER));
    json_decref(root);
    return s;
}

static int sw_tensor_parse(sw_tensors *c, json_t *o)
{
    const char *name, *dtype, *blob;
    json_t *shape;
    json_int_t offset, nbytes;
    if (json_unpack(o, "{s:s, s:s, s:o, s:s, s:I, s:I !}", "name", &name, "dtype", &dtype, "shape", &shape, "blob",
                    &blob, "offset", &offset, "nbytes", &nbytes) ||
        !json_is_array(shape) || json_array_size(shape) > SWARM_MAX_NDIM || offset < 0 || nbytes < 0)
        return sw_error(SW_EINVALID, "a malformed tensor entry");
    sw_tref *t = sw_tensors_add(c, name);
    if (sw_dtype_parse(&t->dtype, dtype) || sw_hash_parse(&t->blob, blob))
        return SW_EINVALID;
    t->ndim = (int32_t)json_array_size(shape);
    for (int32_t d = 0; d < t->ndim; d++) {
        json_t *v = json_array_get(shape, (size_t)d);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return sw_error(SW_EINVALID, "a malformed shape");
        t->shape[d] = json_integer_value(v);
    }
    t->offset = (uint64_t)offset;
    t->nbytes = (uint64_t)nbytes;
    return 0;
}

int sw_tensors_parse(sw_tensors *out, const char *json, size_t len)
{
    json_error_t err;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err), *meta, *ts;
    const char *tag;
    memset(out, 0, sizeof *out);
    if (!root)
        return sw_error(SW_EINVALID, "a tensor collection is not JSON: %s", err.text);
    int r = 0;
    if (json_unpack(root, "{s:s, s:o, s:o !}", "swarm", &tag, "metadata", &meta, "tensors", &ts) ||
        strcmp(tag, "tensors/1") || !json_is_array(meta) || !json_is_array(ts))
        r = sw_error(SW_EINVALID, "not a tensor collection (tensors/1)");
    for (size_t i = 0; !r && i < json_array_size(meta); i++) {
        const char *k, *v;
        if (json_unpack(json_array_get(meta, i), "[s,s !]", &k, &v))
            r = sw_error(SW_EINVALID, "a malformed metadata pair");
        else
            sw_tensors_add_meta(out, k, v);
    }
    for (size_t i = 0; !r && i < json_array_size(ts); i++)
        r = sw_tensor_parse(out, json_array_get(ts, i));
    json_decref(root);
    if (r)
        sw_tensors_free(out);
    return r;
}
