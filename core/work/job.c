/* job.c — making, reading and checking jobs (see job.h). */
#include "work/job.h"
#include "base/error.h"
#include "bundle/bundle.h"
#include "bundle/names.h"
#include "lua/lswarm.h"
#include "work/record.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void sw_job_free(sw_job *j)
{
    if (!j)
        return;
    json_decref(j->spec);
    free(j->pipeline);
    for (size_t i = 0; i < j->nunits; i++)
        free(j->units[i].file);
    free(j->units);
    free(j);
}

void sw_job_draft_clear(sw_job_draft *d)
{
    free(d->msg);
    free(d->units);
    free(d->pipeline);
    memset(d, 0, sizeof *d);
}

void sw_job_files_id(char out[SW_HEX_LEN + 7], const sw_manifest *m)
{
    sw_sha256 *c = sw_sha256_new();
    for (size_t i = 0; i < m->nfiles; i++) {
        char hex[SW_HEX_LEN + 1];
        sw_hash_hex(hex, &m->files[i].hash);
        sw_sha256_update(c, m->files[i].path, strlen(m->files[i].path));
        sw_sha256_update(c, "\t", 1);
        sw_sha256_update(c, hex, SW_HEX_LEN);
        sw_sha256_update(c, "\n", 1);
    }
    sw_hash h;
    sw_sha256_final(c, &h);
    sw_sha256_free(c);
    memcpy(out, "files:", 6);
    sw_hash_hex(out + 6, &h);
}

/* Whether a plain param value is safe to hand to a provider's pipeline run: it must not be able to name
 * anything of the provider's machine (an absolute path, a way up, a home, a bundle version). A unit runs
 * in a fresh folder, so any other relative name finds nothing there but what the unit put. */
static int sw_plain_value_ok(const char *k, const char *v)
{
    if (v[0] == '/' || v[0] == '~' || strchr(v, '@') || !strcmp(v, "..") || !strncmp(v, "../", 3) ||
        strstr(v, "/../") || (strlen(v) >= 3 && !strcmp(v + strlen(v) - 3, "/..")))
        return sw_error(SW_EINVALID, "param %s: '%.200s' could name a path or a bundle of the provider's machine; a "
                                     "job's params are plain values or bundle versions (NAME@VERSION) of the ledger",
                        k, v);
    return 0;
}

int sw_job_unit_sets(sw_strlist *keys, sw_strlist *vals, const sw_job *j, const sw_unit *u, const json_t *single)
{
    const json_t *spec = j->spec, *params = json_object_get(spec, "params"), *bound = json_object_get(spec, "bound");
    const char *split = sw_rec_str(spec, "split"), *input = sw_rec_str(spec, "input");
    const char *oparam = sw_rec_str(spec, "output_param"), *output = sw_rec_str(spec, "output");
    if (!split || !input || !oparam || !output || !json_is_object(params) || !json_is_object(bound))
        return sw_error(SW_EINVALID, "job %.16s: spec lacks split, input, output or params", j->id);
    if (sw_path_check(output))
        return sw_error(SW_EINVALID, "job %.16s: output '%.200s' is not a safe relative path", j->id, output);
    char *v = sw_sprintf("%s/%s", input, u->file);
    sw_strlist_push(keys, split);
    sw_strlist_push(vals, v);
    free(v);
    v = sw_sprintf("out/%s", output);
    sw_strlist_push(keys, oparam);
    sw_strlist_push(vals, v);
    free(v);
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)params, k, val) {
        const char *s = json_string_value(val);
        if (!s || !strcmp(k, split) || !strcmp(k, oparam) || sw_name_check("param", k))
            return sw_error(SW_EINVALID, "job %.16s: bad param '%.64s'", j->id, k);
        if (json_object_get(bound, k)) {
            const char *one = single ? json_string_value(json_object_get(single, k)) : NULL;
            v = one ? sw_sprintf("p/%s/%s", k, one) : sw_sprintf("p/%s", k);
        } else if (sw_plain_value_ok(k, s)) {
            return SW_EINVALID;
        } else {
            v = sw_strdup(s);
        }
        sw_strlist_push(keys, k);
        sw_strlist_push(vals, v);
        free(v);
    }
    return 0;
}

int sw_job_needs(sw_strlist *out, const sw_graph *g)
{
    sw_strlist l = {0};
    int r = 0;
    for (size_t i = 0; i < g->n && !r; i++) {
        const sw_stage *s = &g->v[i];
        char *line = NULL;
        if (s->kind == SW_STAGE_OP) {
            const swarm_op *op = sw_stage_op(s);
            if (op->flags & SWARM_OP_WHOLE)
                r = sw_error(SW_EINVALID, "%s: op %s/%s takes its whole input at once, so the pipeline cannot be split "
                                          "into units", s->where, s->plugin->desc->id, op->name);
            line = sw_sprintf("op %s/%s@%u numerics %s", s->plugin->desc->id, op->name, op->op_version,
                              op->variants[0]->numerics);
        } else if ((s->kind == SW_STAGE_READ || s->kind == SW_STAGE_WRITE) && s->plugin) {
            uint32_t v = s->format ? s->format->format_version : s->rformat ? s->rformat->format_version : 0;
            line = sw_sprintf("format %s/%s@%u", s->plugin->desc->id, s->format_name, v);
        }
        if (!r && s->kind == SW_STAGE_WRITE && s->publish_name)
            r = sw_error(SW_EINVALID, "%s: the pipeline publishes %s itself; a job's outputs are published by "
                                      "'swarm job collect'", s->where, s->publish_name);
        if (line)
            sw_strlist_push(&l, line);
        free(line);
    }
    sw_strlist_sort(&l);
    for (size_t i = 0; !r && i < l.n; i++)
        if (i == 0 || strcmp(l.v[i], l.v[i - 1]))
            sw_strlist_push(out, l.v[i]);
    sw_strlist_free(&l);
    return r;
}

/* What a unit id hashes (rules in job.h), with the split param bound to split_value. */
static json_t *sw_unit_json(const json_t *spec, const char *split_value)
{
    json_t *params = json_deep_copy(json_object_get(spec, "params"));
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(spec, "bound"), k, v)
        json_object_set(params, k, v);
    json_object_set_new(params, sw_rec_str(spec, "split"), json_string(split_value));
    json_object_set(params, sw_rec_str(spec, "output_param"), json_object_get(spec, "output"));
    return json_pack("{s:o, s:O, s:O}", "params", params, "needs", json_object_get(spec, "needs"), "pipeline_sha256",
                     json_object_get(spec, "pipeline_sha256"));
}

void sw_job_unit_id(char out[SW_HEX_LEN + 1], const json_t *spec, const char *sha256)
{
    char *value = sw_sprintf("file:%s", sha256);
    json_t *u = sw_unit_json(spec, value);
    sw_record_digest(out, u);
    json_decref(u);
    free(value);
}

/* The text a unit id hashes, split around the split file's SHA-256, so that a job's 100,000 unit ids
 * cost 100,000 hashes rather than 100,000 JSON encodings. head is NULL when the split cannot be made
 * (the placeholder is not found exactly once: then every id takes sw_job_unit_id). */
typedef struct {
    char *text, *head_end; /* text holds head, the placeholder, tail */
} sw_unit_tmpl;

#define SW_UNIT_PLACEHOLDER "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static void sw_unit_tmpl_make(sw_unit_tmpl *t, const json_t *spec)
{
    json_t *u = sw_unit_json(spec, "file:" SW_UNIT_PLACEHOLDER);
    t->text = sw_record_json(u);
    char *at = strstr(t->text, "file:" SW_UNIT_PLACEHOLDER);
    t->head_end = at && !strstr(at + 1, SW_UNIT_PLACEHOLDER) ? at + 5 : NULL;
    json_decref(u);
}

/* The id of the unit of file sha256 (hex), from the template when it has one. */
static void sw_unit_tmpl_id(char out[SW_HEX_LEN + 1], const sw_unit_tmpl *t, const json_t *spec, const char *sha256)
{
    if (!t->head_end) {
        sw_job_unit_id(out, spec, sha256);
        return;
    }
    const char *tail = t->head_end + SW_HEX_LEN;
    sw_sha256 *c = sw_sha256_new();
    sw_sha256_update(c, t->text, (size_t)(t->head_end - t->text));
    sw_sha256_update(c, sha256, SW_HEX_LEN);
    sw_sha256_update(c, tail, strlen(tail));
    sw_hash h;
    sw_sha256_final(c, &h);
    sw_sha256_free(c);
    sw_hash_hex(out, &h);
}

/* units.json for m's files under spec, and the job's units. */
static char *sw_units_json(sw_job *j, const sw_manifest *m)
{
    json_t *arr = json_array();
    sw_unit_tmpl t;
    sw_unit_tmpl_make(&t, j->spec);
    j->units = sw_calloc(m->nfiles ? m->nfiles : 1, sizeof *j->units);
    for (size_t i = 0; i < m->nfiles; i++) {
        sw_unit *u = &j->units[j->nunits++];
        u->file = sw_strdup(m->files[i].path);
        sw_hash_hex(u->sha256, &m->files[i].hash);
        sw_unit_tmpl_id(u->id, &t, j->spec, u->sha256);
        json_array_append_new(arr, json_pack("[s, s, s]", u->file, u->sha256, u->id));
    }
    char *text = sw_record_json(arr);
    json_decref(arr);
    free(t.text);
    return text;
}

/* Sorts one --set into the spec: the split and output params, bundle versions (bound, with their files
 * id; versions of one file noted in single), plain values. */
static int sw_job_param(json_t *spec, json_t *single, sw_manifest **input, sw_catalog *cat, const sw_job_opts *o,
                        const char *k, const char *v)
{
    sw_manifest *m = NULL;
    if (!strcmp(k, o->split)) {
        if (sw_bundle_read(&m, cat, v))
            return sw_error_wrap(SW_EINVALID, "split param %s: '%.200s' is not a bundle version here (NAME@VERSION)",
                                 k, v);
        json_object_set_new(spec, "input", json_sprintf("%s@%s", m->name, m->version));
        json_object_set_new(spec, "input_torrent", json_string(m->torrent_v1));
        *input = m;
        return 0;
    }
    if (!strcmp(k, o->output_param)) {
        if (sw_path_check(v))
            return sw_error(SW_EINVALID, "output param %s: '%.200s' is not a safe relative path (no '/' first, no "
                                         "'..')", k, v);
        json_object_set_new(spec, "output", json_string(v));
        return 0;
    }
    if (strchr(v, '@') && sw_bundle_read(&m, cat, v) == 0) {
        char id[SW_HEX_LEN + 7];
        sw_job_files_id(id, m);
        json_object_set_new(json_object_get(spec, "params"), k, json_sprintf("%s@%s", m->name, m->version));
        json_object_set_new(json_object_get(spec, "bound"), k, json_string(id));
        if (m->nfiles == 1)
            json_object_set_new(single, k, json_string(m->files[0].path));
        sw_manifest_free(m);
        return 0;
    }
    struct stat st;
    if (stat(v, &st) == 0)
        return sw_error(SW_EINVALID, "param %s: '%.200s' is a path on this machine, which providers cannot read: "
                                     "add it with 'swarm add' and pass its NAME@VERSION", k, v);
    if (sw_plain_value_ok(k, v))
        return SW_EINVALID;
    json_object_set_new(json_object_get(spec, "params"), k, json_string(v));
    return 0;
}

/* Loads the pipeline for the job's first unit with ps (a draw: inputs need not be held) and records
 * what it needs in the spec. */
static int sw_job_graph(json_t *spec, const json_t *single, const sw_job *j, const sw_unit *first, const char *file,
                        sw_catalog *cat, const sw_plugins *ps)
{
    sw_strlist keys = {0}, vals = {0}, needs = {0};
    sw_graph g = {0};
    int r = sw_job_unit_sets(&keys, &vals, j, first, single);
    if (!r)
        r = sw_pipeline_load(&g, file, ps, cat, (const char *const *)keys.v, (const char *const *)vals.v, keys.n,
                             SW_LOAD_GRAPH);
    if (!r)
        r = sw_job_needs(&needs, &g);
    json_t *arr = json_array();
    for (size_t i = 0; !r && i < needs.n; i++)
        json_array_append_new(arr, json_string(needs.v[i]));
    json_object_set_new(spec, "needs", arr);
    sw_graph_free(&g);
    sw_strlist_free(&keys);
    sw_strlist_free(&vals);
    sw_strlist_free(&needs);
    return r;
}

static int sw_job_fields(sw_job *j);

int sw_job_make(sw_job_draft *out, sw_catalog *cat, const sw_plugins *ps, const sw_ident *id, const sw_job_opts *o)
{
    memset(out, 0, sizeof *out);
    sw_job *j = sw_calloc(1, sizeof *j);
    json_t *single = json_object();
    sw_manifest *input = NULL;
    j->spec = json_pack("{s:s, s:i, s:{}, s:{}, s:s, s:s, s:i, s:i, s:I, s:I}", "type", "job", "v", 1, "params",
                        "bound", "split", o->split, "output_param", o->output_param, "quorum", o->quorum,
                        "max_results", o->max_results, "lease", (json_int_t)o->lease, "created",
                        (json_int_t)time(NULL));
    int r = sw_read_file(&out->pipeline, &out->pipeline_len, o->pipeline, SW_JOB_PIPELINE_MAX);
    for (size_t i = 0; !r && i < o->nsets; i++)
        r = sw_job_param(j->spec, single, &input, cat, o, o->keys[i], o->vals[i]);
    if (!r && !input)
        r = sw_error(SW_EINVALID, "the split param %s is not set: --set %s=NAME@VERSION names the files to split",
                     o->split, o->split);
    if (!r && !json_object_get(j->spec, "output"))
        r = sw_error(SW_EINVALID, "the output param %s is not set (--set %s=PATH: where each unit's outputs go)",
                     o->output_param, o->output_param);
    if (!r && (input->nfiles == 0 || input->nfiles > SW_JOB_MAX_UNITS))
        r = sw_error(SW_EINVALID, "%s@%s has %zu files: a job has 1 to %d units", input->name, input->version,
                     input->nfiles, SW_JOB_MAX_UNITS);
    if (!r) {
        sw_hash h;
        char hex[SW_HEX_LEN + 1];
        sw_sha256_buf(&h, out->pipeline, out->pipeline_len);
        sw_hash_hex(hex, &h);
        const char *base = strrchr(o->pipeline, '/');
        json_object_set_new(j->spec, "pipeline", json_string(base ? base + 1 : o->pipeline));
        json_object_set_new(j->spec, "pipeline_sha256", json_string(hex));
        sw_unit first = {.file = input->files[0].path};
        r = sw_job_graph(j->spec, single, j, &first, o->pipeline, cat, ps);
    }
    if (!r) {
        out->units = sw_units_json(j, input);
        sw_hash h;
        char hex[SW_HEX_LEN + 1];
        sw_sha256_buf(&h, out->units, strlen(out->units));
        sw_hash_hex(hex, &h);
        json_object_set_new(j->spec, "units_sha256", json_string(hex));
        json_object_set_new(j->spec, "units", json_integer((json_int_t)j->nunits));
        r = sw_job_fields(j); /* what every reader will check: refused here rather than ignored there */
    }
    if (!r) {
        sw_hash digest;
        out->msg = sw_record_sign(&digest, id, j->spec);
        r = out->msg ? 0 : SW_ERROR;
        sw_hash_hex(out->id, &digest);
    }
    if (r)
        sw_job_draft_clear(out);
    json_decref(single);
    sw_manifest_free(input);
    sw_job_free(j);
    return r;
}

/* Parses units.json against the spec: each unit's id recomputed, files in strictly increasing order. */
static int sw_job_units(sw_job *j, const char *text, size_t len)
{
    json_error_t je;
    json_t *arr = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    long long n = sw_rec_int(j->spec, "units");
    int r = 0;
    if (!json_is_array(arr) || n < 1 || n > SW_JOB_MAX_UNITS || json_array_size(arr) != (size_t)n)
        r = sw_error(SW_EINVALID, "job %.16s: units.json is not a list of the spec's %lld units", j->id, n);
    j->units = sw_calloc(r ? 1 : (size_t)n, sizeof *j->units);
    sw_unit_tmpl t = {0};
    if (!r)
        sw_unit_tmpl_make(&t, j->spec);
    for (size_t i = 0; !r && i < (size_t)n; i++) {
        json_t *e = json_array_get(arr, i);
        const char *file = json_string_value(json_array_get(e, 0)), *sha = json_string_value(json_array_get(e, 1));
        const char *id = json_string_value(json_array_get(e, 2));
        sw_hash h;
        if (!json_is_array(e) || json_array_size(e) != 3 || !file || !sha || !id || sw_path_check(file) ||
            sw_hash_parse(&h, sha) || (i && strcmp(j->units[i - 1].file, file) >= 0)) {
            r = sw_error(SW_EINVALID, "job %.16s: unit %zu of units.json is malformed", j->id, i);
            break;
        }
        sw_unit *u = &j->units[j->nunits++];
        u->file = sw_strdup(file);
        memcpy(u->sha256, sha, SW_HEX_LEN + 1);
        sw_unit_tmpl_id(u->id, &t, j->spec, sha);
        if (strcmp(u->id, id))
            r = sw_error(SW_EINVALID, "job %.16s: unit %s has the wrong id", j->id, file);
    }
    json_decref(arr);
    free(t.text);
    return r;
}

/* Checks the spec's fields that everything else relies on. */
static int sw_job_fields(sw_job *j)
{
    const json_t *s = j->spec;
    j->quorum = (int)sw_rec_int(s, "quorum");
    j->max_results = (int)sw_rec_int(s, "max_results");
    j->lease = sw_rec_int(s, "lease");
    const char *names[] = {"split", "input", "output_param", "output", "pipeline_sha256", "units_sha256"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!sw_rec_str(s, names[i]))
            return sw_error(SW_EINVALID, "job %.16s: spec lacks '%s'", j->id, names[i]);
    if (sw_rec_int(s, "v") != 1 || strcmp(sw_rec_str(s, "type"), "job"))
        return sw_error(SW_EINVALID, "job %.16s: not a version 1 job spec", j->id);
    if (j->quorum < 1 || j->quorum > 16 || j->max_results < j->quorum || j->max_results > 64 || j->lease < 1 ||
        j->lease > 7 * 86400)
        return sw_error(SW_EINVALID, "job %.16s: quorum, max_results or lease out of range", j->id);
    if (!json_is_object(json_object_get(s, "params")) || !json_is_object(json_object_get(s, "bound")) ||
        !json_is_array(json_object_get(s, "needs")))
        return sw_error(SW_EINVALID, "job %.16s: params, bound or needs malformed", j->id);
    if (sw_path_check(sw_rec_str(s, "output")))
        return sw_error(SW_EINVALID, "job %.16s: output '%.200s' is not a safe relative path", j->id,
                        sw_rec_str(s, "output"));
    return 0;
}

/* The SHA-256 of len bytes as hex equals hex. */
static int sw_sha_is(const char *data, size_t len, const char *hex)
{
    sw_hash h;
    char got[SW_HEX_LEN + 1];
    sw_sha256_buf(&h, data, len);
    sw_hash_hex(got, &h);
    return hex && !strcmp(got, hex);
}

int sw_job_parse(sw_job **out, const char *msg, size_t len, const char *pipeline, size_t plen, const char *units,
                 size_t ulen, const char *expect)
{
    *out = NULL;
    sw_job *j = sw_calloc(1, sizeof *j);
    sw_record rec = {0};
    int r = sw_record_parse(&rec, msg, len);
    if (!r) {
        j->spec = json_incref(rec.body);
        sw_hash_hex(j->id, &rec.digest);
        memcpy(j->owner, rec.key, sizeof j->owner);
        if (expect && strcmp(expect, j->id))
            r = sw_error(SW_EINVALID, "job %.16s: its ref names another job (%.16s)", j->id, expect);
    }
    if (!r)
        r = sw_job_fields(j);
    if (!r && !sw_sha_is(pipeline, plen, sw_rec_str(j->spec, "pipeline_sha256")))
        r = sw_error(SW_EINVALID, "job %.16s: pipeline.lua does not match the spec's SHA-256", j->id);
    if (!r && !sw_sha_is(units, ulen, sw_rec_str(j->spec, "units_sha256")))
        r = sw_error(SW_EINVALID, "job %.16s: units.json does not match the spec's SHA-256", j->id);
    if (!r)
        r = sw_job_units(j, units, ulen);
    if (!r) {
        j->pipeline = sw_malloc(plen + 1);
        memcpy(j->pipeline, pipeline, plen);
        j->pipeline[plen] = 0;
        j->pipeline_len = plen;
    }
    sw_record_clear(&rec);
    if (r)
        sw_job_free(j);
    else
        *out = j;
    return r;
}

int sw_job_load(sw_job **out, sw_catalog *c, const char *commit, const char *expect)
{
    *out = NULL;
    char *msg = NULL, *units = NULL, *pipeline = NULL;
    size_t ulen = 0, plen = 0;
    unsigned nparents = 0;
    int r = sw_ledger_commit(&msg, &nparents, c, commit);
    if (!r && nparents)
        r = sw_error(SW_EINVALID, "job commit %.12s has a parent: a job is one root commit", commit);
    if (!r)
        r = sw_ledger_read(&pipeline, &plen, c, commit, SW_JOB_PIPELINE_FILE, SW_JOB_PIPELINE_MAX);
    if (!r)
        r = sw_ledger_read(&units, &ulen, c, commit, SW_JOB_UNITS_FILE, SW_JOB_UNITS_MAX);
    if (!r)
        r = sw_job_parse(out, msg, strlen(msg), pipeline, plen, units, ulen, expect);
    free(msg);
    free(units);
    free(pipeline);
    return r;
}
