/* coord.c — verdicts, collect and verify (see coord.h). */
#include "work/coord.h"
#include "base/error.h"
#include "bundle/bundle.h"
#include "bundle/ledger.h"
#include "bundle/names.h"
#include "net/bundle_torrent.h"
#include "net/fetch.h"
#include "work/provider.h"
#include "work/record.h"
#include "work/view.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The verdict on one unit as the judging now sees it, or NULL when the owner's last verdict says it. */
static json_t *sw_unit_verdict(const sw_view *v, const sw_unit_view *u)
{
    const char *state = sw_unit_state_name(u->state);
    if (u->state == SW_UNIT_WAITING || u->state == SW_UNIT_RUNNING)
        return NULL;
    if (!strcmp(u->verdict, state) && (u->state != SW_UNIT_ACCEPTED || !strcmp(u->verdict_id, u->accepted)))
        return NULL;
    json_t *o = json_pack("{s:s}", "state", state);
    if (u->state == SW_UNIT_ACCEPTED) {
        json_t *keys = json_array();
        for (size_t i = 0; i < u->agreed.n; i++)
            json_array_append_new(keys, json_string(u->agreed.v[i]));
        json_object_set_new(o, "outputs_id", json_string(u->accepted));
        json_object_set_new(o, "keys", keys);
    } else if (u->state == SW_UNIT_DISPUTED) {
        json_object_set_new(o, "want", json_integer(u->want));
    } else {
        json_t *ops = json_array();
        const json_t *needs = json_object_get(v->job->spec, "needs");
        for (size_t i = 0; i < json_array_size(needs); i++) {
            const char *n = json_string_value(json_array_get(needs, i));
            if (n && !strncmp(n, "op ", 3))
                json_array_append_new(ops, json_string(n + 3));
        }
        json_object_set_new(o, "ops", ops);
    }
    return o;
}

/* Appends verdict records on the units in `units` (an object, consumed) to the job's chain: as many
 * records as it takes to keep each under SW_VERDICTS_PER_RECORD units (so well under SW_RECORD_MAX). */
#define SW_VERDICTS_PER_RECORD 4000
static int sw_append_verdicts(sw_catalog *cat, const sw_ident *id, const char *local, const char *job, json_t *units,
                              json_t *strikes)
{
    int r = 0;
    const char *unit;
    json_t *vd, *batch = json_object();
    size_t left = json_object_size(units);
    json_object_foreach(units, unit, vd) {
        json_object_set(batch, unit, vd);
        if (--left && json_object_size(batch) < SW_VERDICTS_PER_RECORD)
            continue;
        json_t *body = json_pack("{s:s, s:s, s:O, s:O}", "type", "verdicts", "job", job, "units", batch, "strikes",
                                 strikes);
        char *msg = sw_record_sign(NULL, id, body), commit[SW_OID_HEX + 1];
        if (!r)
            r = msg ? sw_ledger_append(commit, cat, local, msg, NULL, 0) : SW_ERROR;
        free(msg);
        json_decref(body);
        json_object_clear(batch);
    }
    json_decref(batch);
    json_decref(units);
    return r;
}

int sw_job_tick(sw_tick_report *rep, sw_catalog *cat, const sw_ident *id, const char *remote, const char *job)
{
    memset(rep, 0, sizeof *rep);
    sw_view *v = NULL;
    int r = sw_work_sync(cat, remote);
    if (!r)
        r = sw_view_load(&v, cat, remote, job, (double)time(NULL));
    if (!r && strcmp(v->job->owner, sw_ident_key(id)))
        r = sw_error(SW_EINVALID, "job %.16s belongs to key %s; this home is %s: only the owner ticks a job", job,
                     v->job->owner, sw_ident_key(id));
    if (r) {
        sw_view_free(v);
        return r;
    }
    json_t *units = json_object(), *strikes = json_object();
    for (size_t i = 0; i < v->job->nunits; i++) {
        const sw_unit_view *u = &v->units[i];
        rep->accepted += u->state == SW_UNIT_ACCEPTED;
        rep->disputed += u->state == SW_UNIT_DISPUTED;
        rep->nondet += u->state == SW_UNIT_NONDET;
        rep->open += u->state == SW_UNIT_WAITING || u->state == SW_UNIT_RUNNING;
        json_t *vd = sw_unit_verdict(v, u);
        if (vd)
            json_object_set_new(units, v->job->units[i].id, vd);
    }
    for (size_t i = 0; i < v->nkeys; i++)
        if (v->keys[i].strikes)
            json_object_set_new(strikes, v->keys[i].key, json_integer((json_int_t)v->keys[i].strikes));
    rep->changed = json_object_size(units);
    char *name = sw_sprintf("verdicts/%s", job), *local = sw_ledger_mirror(remote, name);
    char *dest = sw_sprintf("refs/swarm/%s", name);
    if (rep->changed) {
        r = sw_append_verdicts(cat, id, local, job, units, strikes);
        if (!r)
            r = sw_ledger_push(cat, remote, local, dest);
    } else {
        json_decref(units);
    }
    json_decref(strikes);
    free(dest);
    free(local);
    free(name);
    sw_view_free(v);
    return r;
}

/* Reads a result's version (its commit's manifest.json and bundle.torrent) and checks that it is the
 * unit's, with exactly the accepted output id. */
static int sw_result_version(sw_manifest **m, unsigned char **torrent, size_t *tlen, sw_catalog *cat,
                             const sw_result *res, const char *unit, const char *accepted)
{
    char *json = NULL, *t = NULL, *name = sw_unit_bundle(unit);
    size_t jlen = 0;
    int r = sw_ledger_read(&json, &jlen, cat, res->commit, "manifest.json", 256u << 20);
    if (!r)
        r = sw_ledger_read(&t, tlen, cat, res->commit, "bundle.torrent", 64u << 20);
    if (!r)
        r = sw_manifest_parse(m, json, jlen);
    if (!r && (strcmp((*m)->name, name) || strcmp((*m)->version, "v1")))
        r = sw_error(SW_EINVALID, "result %.12s names version %s@%s, not the unit's", res->commit, (*m)->name,
                     (*m)->version);
    if (!r)
        r = sw_bundle_torrent_check_bytes(*m, t, *tlen);
    if (!r) {
        json_t *files = json_array();
        for (size_t i = 0; i < (*m)->nfiles; i++) {
            char hex[SW_HEX_LEN + 1];
            sw_hash_hex(hex, &(*m)->files[i].hash);
            json_array_append_new(files, json_pack("[s, I, s]", (*m)->files[i].path, (json_int_t)(*m)->files[i].size, hex));
        }
        char got[SW_HEX_LEN + 1];
        sw_outputs_id(got, files, (*m)->torrent_v1);
        json_decref(files);
        if (strcmp(got, accepted))
            r = sw_error(SW_EINVALID, "result %.12s: its version is not the accepted outputs", res->commit);
    }
    *torrent = (unsigned char *)t;
    free(json);
    free(name);
    return r;
}

/* A unit's accepted outputs' version, read from an agreeing result and checked (its manifest, torrent
 * and output id); the listen addresses of the agreeing providers are added to peers. The version is not
 * added to this catalog: its files are fetched by the torrent itself. */
static int sw_collect_unit(sw_fetch_item *item, sw_strlist *peers, sw_catalog *cat, const sw_view *v, size_t i)
{
    const sw_unit_view *u = &v->units[i];
    const char *unit = v->job->units[i].id;
    int r = SW_ENOTFOUND;
    sw_manifest *m = NULL;
    unsigned char *torrent = NULL;
    size_t tlen = 0;
    for (size_t k = 0; k < u->nresults; k++) {
        const sw_result *res = &u->results[k];
        if (strcmp(res->outputs_id, u->verdict_id))
            continue;
        if (res->listen)
            sw_strlist_push(peers, res->listen);
        if (r == SW_ENOTFOUND && sw_result_version(&m, &torrent, &tlen, cat, res, unit, u->verdict_id) != 0) {
            sw_manifest_free(m);
            m = NULL;
            free(torrent);
            torrent = NULL;
        } else if (r == SW_ENOTFOUND) {
            r = 0;
        }
    }
    if (r == SW_ENOTFOUND)
        r = sw_error(SW_ENOTFOUND, "unit %.16s (%s): no agreeing result names its outputs' version", unit,
                     v->job->units[i].file);
    *item = (sw_fetch_item){m, torrent, tlen};
    return r;
}

/* Appends unit i's outputs to the collected manifest m under the unit's file path, and its provenance
 * line to prov's units. */
static void sw_collect_add(sw_manifest *m, json_t *prov, const sw_view *v, size_t i, const sw_manifest *um)
{
    const sw_unit *u = &v->job->units[i];
    for (size_t k = 0; k < um->nfiles; k++) {
        const sw_mfile *f = &um->files[k];
        char *path = sw_sprintf("%s/%s", u->file, f->path);
        sw_manifest_add_file(m, path, f->size, f->mode, &f->hash, f->chunks, f->nchunks);
        free(path);
    }
    sw_strlist keys = {0};
    for (size_t k = 0; k < v->units[i].nresults; k++)
        if (!strcmp(v->units[i].results[k].outputs_id, v->units[i].verdict_id))
            sw_strlist_push(&keys, v->units[i].results[k].key);
    sw_strlist_sort(&keys);
    char *list = sw_strdup("");
    for (size_t k = 0; k < keys.n; k++) {
        char *next = sw_sprintf("%s%s%s", list, k ? "," : "", keys.v[k]);
        free(list);
        list = next;
    }
    json_array_append_new(json_object_get(prov, "units"), json_sprintf("unit:%s outputs:%s keys:%s file:%s", u->id,
                                                                      v->units[i].verdict_id, list, u->file));
    free(list);
    sw_strlist_free(&keys);
}

/* Fetches, in one session, every unit version not held, from o's peers and the agreeing providers. */
static int sw_collect_fetch(sw_store *st, sw_catalog *cat, const sw_fetch_item *items, size_t n,
                            const sw_strlist *extra, const sw_collect_opts *o)
{
    sw_peer_opts peers = {0};
    if (o->peers)
        peers = *o->peers;
    sw_strlist all = {0};
    for (size_t k = 0; o->peers && k < o->peers->peers.n; k++)
        sw_strlist_push(&all, o->peers->peers.v[k]);
    for (size_t k = 0; k < extra->n; k++) {
        int seen = 0;
        for (size_t q = 0; q < all.n && !seen; q++)
            seen = !strcmp(all.v[q], extra->v[k]);
        if (!seen)
            sw_strlist_push(&all, extra->v[k]);
    }
    peers.peers = all;
    sw_fetch_item *missing = sw_calloc(n ? n : 1, sizeof *missing);
    size_t nm = 0;
    for (size_t i = 0; i < n; i++)
        if (!sw_bundle_held(items[i].m, st))
            missing[nm++] = items[i];
    sw_fetch_opts fo = {.peers = &peers, .timeout = o->timeout, .stop = o->stop};
    sw_fetch_report rep;
    int r = nm ? sw_fetch_all(&rep, st, cat, missing, nm, &fo) : 0;
    free(missing);
    sw_strlist_free(&all);
    return r;
}

int sw_job_collect(sw_manifest **out, sw_store *st, sw_catalog *cat, const char *job, const sw_collect_opts *o)
{
    *out = NULL;
    sw_view *v = NULL;
    int r = sw_work_sync(cat, o->remote);
    if (!r)
        r = sw_view_load(&v, cat, o->remote, job, (double)time(NULL));
    size_t open = 0, n = r ? 0 : v->job->nunits;
    for (size_t i = 0; i < n; i++)
        open += strcmp(v->units[i].verdict, "accepted") != 0;
    if (!r && open)
        r = sw_error(SW_EINVALID, "job %.16s: %zu of %zu units have no accepting verdict yet (run 'swarm job tick' "
                                  "once results are in)", job, open, n);
    sw_fetch_item *items = sw_calloc(n ? n : 1, sizeof *items);
    sw_manifest *m = NULL;
    sw_strlist extra = {0};
    for (size_t i = 0; !r && i < n; i++)
        r = sw_collect_unit(&items[i], &extra, cat, v, i);
    if (!r)
        r = sw_collect_fetch(st, cat, items, n, &extra, o);
    json_t *prov = NULL;
    if (!r) {
        m = sw_manifest_new();
        prov = json_pack("{s:s, s:s, s:s, s:[]}", "job", v->job->id, "pipeline", sw_rec_str(v->job->spec, "pipeline"),
                         "pipeline_sha256", sw_rec_str(v->job->spec, "pipeline_sha256"), "units");
        r = sw_ref_parse(&m->name, &m->version, o->publish, 1);
    }
    for (size_t i = 0; !r && i < n; i++)
        sw_collect_add(m, prov, v, i, items[i].m);
    if (!r) {
        m->provenance = sw_record_json(prov);
        m->message = sw_sprintf("job %s", v->job->id);
        sw_manifest_stamp(m);
        r = sw_bundle_commit(cat, st, m);
    }
    for (size_t i = 0; i < n; i++) {
        sw_manifest_free((sw_manifest *)items[i].m);
        free((void *)items[i].torrent);
    }
    free(items);
    sw_strlist_free(&extra);
    json_decref(prov);
    sw_view_free(v);
    if (r)
        sw_manifest_free(m);
    else
        *out = m;
    return r;
}

void sw_verify_report_free(sw_verify_report *r)
{
    sw_strlist_free(&r->mismatches);
}

int sw_job_verify(sw_verify_report *rep, sw_store *st, sw_catalog *cat, const char *job, size_t sample,
                  const sw_collect_opts *o, const sw_unit_opts *uo)
{
    memset(rep, 0, sizeof *rep);
    sw_view *v = NULL;
    int r = sw_work_sync(cat, o->remote);
    if (!r)
        r = sw_view_load(&v, cat, o->remote, job, (double)time(NULL));
    if (r)
        return r;
    /* The accepted units in a random order: the first `sample` are computed. */
    size_t n = 0, *order = sw_calloc(v->job->nunits, sizeof *order);
    for (size_t i = 0; i < v->job->nunits; i++)
        if (!strcmp(v->units[i].verdict, "accepted"))
            order[n++] = i;
    unsigned char rnd[8];
    for (size_t i = n; i > 1; i--) {
        RAND_bytes(rnd, sizeof rnd);
        size_t k = (size_t)(((uint64_t)rnd[0] | (uint64_t)rnd[1] << 8 | (uint64_t)rnd[2] << 16 | (uint64_t)rnd[3] << 24) % i);
        size_t t = order[i - 1];
        order[i - 1] = order[k];
        order[k] = t;
    }
    sw_fetch_opts fo = {.peers = o->peers, .timeout = o->timeout, .stop = o->stop};
    r = sw_unit_fetch(st, cat, v->job, order, n < sample ? n : sample, &fo);
    for (size_t s = 0; !r && s < n && s < sample; s++) {
        const sw_unit *u = &v->job->units[order[s]];
        sw_unit_output out;
        if ((r = sw_unit_run(&out, st, cat, v->job, u, uo)) != 0)
            break;
        rep->checked++;
        if (!strcmp(out.outputs_id, v->units[order[s]].verdict_id)) {
            rep->matched++;
        } else {
            char *line = sw_sprintf("%s %s: accepted %s, computed here %s", u->id, u->file, v->units[order[s]].verdict_id,
                                    out.outputs_id);
            sw_strlist_push(&rep->mismatches, line);
            free(line);
        }
        sw_unit_output_clear(&out);
    }
    free(order);
    sw_view_free(v);
    return r;
}
