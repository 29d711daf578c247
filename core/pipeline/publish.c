/* publish.c — a write stage's files published as a bundle version, with the pipeline's provenance. */
#include "pipeline/run.h"
#include "net/bundle_torrent.h"
#include "base/error.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

/* The bundle versions the pipeline reads, as sorted unique NAME@VERSION strings (a JSON array). */
static json_t *sw_publish_bundles(const sw_graph *g)
{
    sw_strlist refs = {0};
    for (size_t i = 0; i < g->n; i++)
        if (g->v[i].kind == SW_STAGE_INPUT && g->v[i].bundle) {
            char *ref = sw_sprintf("%s@%s", g->v[i].bundle, g->v[i].version);
            sw_strlist_push(&refs, ref);
            free(ref);
        }
    sw_strlist_sort(&refs);
    json_t *out = json_array();
    for (size_t i = 0; i < refs.n; i++)
        if (!i || strcmp(refs.v[i], refs.v[i - 1]))
            json_array_append_new(out, json_string(refs.v[i]));
    sw_strlist_free(&refs);
    return out;
}

/* Publishes the written file as bundle version NAME@VERSION with the stage's provenance; a version
 * that exists with the same file is left as it is. */
int sw_publish(sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
    const sw_srun *s = &run->s[i];
    sw_manifest *m = NULL;
    int r = sw_catalog_read(&m, run->cat, sg->publish_name, sg->publish_version);
    if (r == 0) {
        int same = m->nfiles == s->nfiles;
        for (size_t k = 0; same && k < s->nfiles; k++) {
            size_t j = 0;
            while (j < m->nfiles && strcmp(m->files[j].path, s->files[k].rel))
                j++;
            same = j < m->nfiles && sw_hash_eq(&m->files[j].hash, &s->files[k].hash);
        }
        sw_manifest_free(m);
        return same ? 0
                    : sw_error(SW_EEXISTS, "%s@%s exists already with other content: publish a new version",
                               sg->publish_name, sg->publish_version);
    }
    if (r != SW_ENOTFOUND)
        return r;
    r = 0;
    m = sw_manifest_new();
    m->name = sw_strdup(sg->publish_name);
    m->version = sw_strdup(sg->publish_version);
    const char *base = strrchr(run->g->file, '/');
    base = base ? base + 1 : run->g->file; /* never a local path: the version goes to every peer */
    m->message = sw_sprintf("made by pipeline %s, stage %s", base, sg->name);
    sw_manifest_stamp(m);
    for (size_t k = 0; !r && k < s->nfiles; k++) {
        const sw_rfile *f = &s->files[k];
        sw_chunk *chunks = NULL;
        size_t n = 0;
        r = sw_index_get_chunks(&chunks, &n, sw_store_index(run->st), &f->hash);
        if (!r && !n && f->size) {
            free(chunks);
            chunks = NULL;
            if (!(r = sw_store_reindex(run->st, &f->hash)))
                r = sw_index_get_chunks(&chunks, &n, sw_store_index(run->st), &f->hash);
        }
        if (!r)
            sw_manifest_add_file(m, f->rel, f->size, 0644, &f->hash, chunks, n);
        free(chunks);
    }
    if (r) {
        sw_manifest_free(m);
        return r;
    }
    char hex[SW_HEX_LEN + 1], key[SW_HEX_LEN + 1];
    sw_hash_hex(hex, &run->g->file_hash);
    sw_hash_hex(key, &s->key);
    json_t *inputs = json_array();
    for (size_t k = 0; k < sg->ninputs; k++)
        json_array_append_new(inputs, json_string(run->s[sg->inputs[k]].id));
    json_t *prov = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "pipeline", base, "pipeline_sha256", hex, "stage",
                             sg->name, "key", key, "inputs", inputs, "bundles", sw_publish_bundles(run->g));
    m->provenance = sw_oom(json_dumps(prov, JSON_COMPACT | JSON_SORT_KEYS));
    json_decref(prov);
    r = sw_bundle_commit(run->cat, run->st, m);
    sw_manifest_free(m);
    return r;
}
