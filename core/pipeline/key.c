/* key.c — the stage cache key (PIPELINES.md, "The stage cache key"): its parts as JSON, the SHA-256 of
 * their canonical text, the lookup, and the explanation of a miss. Peers must agree on these bytes:
 * tests/unit/test_key.c holds a golden vector. */
#include "pipeline/key.h"
#include "pipeline/run.h"
#include "base/error.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

/* The key's parts as a JSON object; the key is the SHA-256 of the text of PIPELINES.md's spec, built
 * from the same parts. */
json_t *sw_key_parts(const char *kind, const char *plugin, const char *what, const char *name, uint32_t version)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I}", "schema", SW_KEY_SCHEMA, "kind", kind, "plugin", plugin, what,
                     name, "version", (json_int_t)version);
}

void sw_key_hash(sw_hash *key, const json_t *parts)
{
    /* The spec's text: one "NAME VALUE" line per part, in this fixed order. */
    sw_sha256 *c = sw_sha256_new();
    static const char *const order[] = {"schema", "kind", "plugin", "op", "format", "version", "numerics", "batch", NULL};
    for (size_t i = 0; order[i]; i++) {
        json_t *v = json_object_get(parts, order[i]);
        if (!v)
            continue;
        char *line = json_is_string(v) ? sw_sprintf("%s %s\n", order[i], json_string_value(v))
                                       : sw_sprintf("%s %lld\n", order[i], (long long)json_integer_value(v));
        sw_sha256_update(c, line, strlen(line));
        free(line);
    }
    json_t *params = json_object_get(parts, "params"), *inputs = json_object_get(parts, "inputs");
    for (size_t i = 0; params && i < json_array_size(params); i++) {
        json_t *p = json_array_get(params, i);
        const char *v = json_string_value(json_array_get(p, 2));
        char *line = sw_sprintf("param %s %s %zu:%s\n", json_string_value(json_array_get(p, 0)),
                                json_string_value(json_array_get(p, 1)), strlen(v), v);
        sw_sha256_update(c, line, strlen(line));
        free(line);
    }
    for (size_t i = 0; inputs && i < json_array_size(inputs); i++) {
        json_t *p = json_array_get(inputs, i);
        char *line = sw_sprintf("input %s %s\n", json_string_value(json_array_get(p, 0)),
                                json_string_value(json_array_get(p, 1)));
        sw_sha256_update(c, line, strlen(line));
        free(line);
    }
    sw_sha256_final(c, key);
    sw_sha256_free(c);
}

/* Says which part of a stage's key differs from its last run's: "param dtype: bf16 -> f16". */
char *sw_key_explain(const char *old_text, const json_t *now)
{
    json_t *old = old_text ? json_loads(old_text, 0, NULL) : NULL;
    if (!old)
        return sw_strdup("first run of this stage");
    char *why = NULL;
    static const char *const order[] = {"kind", "plugin", "op", "format", "version", "numerics", "batch", NULL};
    for (size_t i = 0; order[i] && !why; i++) {
        json_t *a = json_object_get(old, order[i]), *b = json_object_get(now, order[i]);
        if ((a || b) && !json_equal(a, b)) {
            char *x = a ? json_dumps(a, JSON_ENCODE_ANY) : sw_strdup("none");
            char *y = b ? json_dumps(b, JSON_ENCODE_ANY) : sw_strdup("none");
            why = sw_sprintf("%s changed: %s -> %s", !strcmp(order[i], "version") ? "op version" : order[i], x, y);
            free(x);
            free(y);
        }
    }
    json_t *pa = json_object_get(old, "params"), *pb = json_object_get(now, "params");
    for (size_t i = 0; !why && i < json_array_size(pb); i++) {
        json_t *b = json_array_get(pb, i), *a = NULL;
        for (size_t k = 0; k < json_array_size(pa); k++)
            if (json_equal(json_array_get(json_array_get(pa, k), 0), json_array_get(b, 0)))
                a = json_array_get(pa, k);
        if (!a || !json_equal(a, b))
            why = sw_sprintf("param %s changed: %s -> %s", json_string_value(json_array_get(b, 0)),
                             a ? json_string_value(json_array_get(a, 2)) : "(none)",
                             json_string_value(json_array_get(b, 2)));
    }
    json_t *ia = json_object_get(old, "inputs"), *ib = json_object_get(now, "inputs");
    for (size_t i = 0; !why && i < json_array_size(ib); i++)
        if (!json_array_get(ia, i) || !json_equal(json_array_get(ia, i), json_array_get(ib, i)))
            why = sw_sprintf("its input on port '%s' changed", json_string_value(json_array_get(json_array_get(ib, i), 0)));
    if (!why && (pa || pb) && !json_equal(pa, pb))
        why = sw_strdup("params changed");
    if (!why && json_array_size(ia) != json_array_size(ib))
        why = sw_strdup("inputs changed");
    json_decref(old);
    return why ? why : sw_strdup("no cached result (the key is unchanged: its output was removed)");
}

/* Adds the inputs to parts, builds the key, and looks it up: 1 on a hit (s->id set), 0 on a miss
 * (the report says why), negative on an error. */
int sw_lookup(sw_run *run, size_t i, json_t *parts)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    sw_stage_report *r = &run->rep->stages[i];
    json_t *inputs = json_array();
    for (size_t k = 0; k < sg->ninputs; k++) {
        const char *port = sg->kind == SW_STAGE_OP ? sw_stage_op(sg)->inputs[k].name : "in";
        json_array_append_new(inputs, json_pack("[s,s]", port, run->s[sg->inputs[k]].id));
    }
    json_object_set_new(parts, "inputs", inputs);
    sw_key_hash(&s->key, parts);
    s->parts = sw_oom(json_dumps(parts, JSON_COMPACT | JSON_PRESERVE_ORDER));
    int forced = sw_run_forced(run->o, sg->name);
    int nondet = sg->kind == SW_STAGE_OP && !(sw_stage_op(sg)->flags & SWARM_OP_DETERMINISTIC);
    char *out = NULL;
    if (nondet) {
        s->no_cache = 1;
        r->reason = sw_strdup("the op is not deterministic: its results are never cached");
        return 0;
    }
    int rc = forced ? SW_ENOTFOUND : sw_index_stage_get(&out, sw_store_index(run->st), &s->key);
    if (rc == 0) {
        /* A hit counts only while the collection or file it names is still in the store. */
        sw_hash h;
        const char *hex = strrchr(out, ':');
        if (hex && !sw_hash_parse(&h, hex + 1) && sw_store_stat(run->st, &h, NULL) == 0) {
            s->id = out;
            return 1;
        }
        free(out);
    } else if (rc != SW_ENOTFOUND) {
        return rc;
    }
    char *old = NULL;
    if (forced) {
        r->reason = sw_strdup("forced (--force)");
    } else {
        int g = sw_index_run_get(&old, sw_store_index(run->st), run->g->real, sg->name);
        if (g && g != SW_ENOTFOUND)
            return g;
        r->reason = sw_key_explain(old, parts);
    }
    free(old);
    return 0;
}

/* Sets the key's "params" part: [NAME, TYPE, VALUE] for each param of the schema, in schema order; a
 * path's VALUE is its content's id. */
int sw_params_part(json_t *parts, sw_run *run, const swarm_param *schema, size_t n, char *const *text)
{
    json_t *params = json_array();
    int r = 0;
    for (size_t k = 0; k < n && !r; k++) {
        char *id = NULL;
        if (schema[k].type == SWARM_PARAM_PATH && (r = sw_path_id(&id, run, schema[k].name, text[k])))
            break;
        json_array_append_new(params, json_pack("[s,s,s]", schema[k].name, sw_plugin_param_type_name(schema[k].type),
                                                id ? id : text[k]));
        free(id);
    }
    json_object_set_new(parts, "params", params);
    return r;
}

/* The key parts of a read or write stage through a plugin's format (records formats with their params),
 * or through the built-in lines. */
int sw_format_parts(json_t **out, sw_run *run, const char *kind, const sw_stage *sg)
{
    const char *plugin = sg->plugin ? sg->plugin->desc->id : "swarm";
    uint32_t version = sg->format ? sg->format->format_version : sg->rformat ? sg->rformat->format_version : 1;
    json_t *parts = sw_key_parts(kind, plugin, "format", sg->format_name, version);
    *out = parts;
    return sg->rformat ? sw_params_part(parts, run, sg->rformat->params, sg->rformat->n_params, sg->param_text) : 0;
}

/* Appends a param [NAME, TYPE, VALUE] to the key's params. */
void sw_key_param(json_t *parts, const char *name, const char *type, const char *value)
{
    json_t *params = json_object_get(parts, "params");
    if (!params)
        json_object_set_new(parts, "params", params = json_array());
    json_array_append_new(params, json_pack("[s,s,s]", name, type, value));
}
