/* provider.c — `swarm work` (see provider.h). */
#include "work/provider.h"
#include "base/error.h"
#include "bundle/bundle.h"
#include "bundle/ledger.h"
#include "cache/home.h"
#include "lua/lswarm.h"
#include "net/bundle_torrent.h"
#include "net/fetch.h"
#include "net/seed.h"
#include "work/record.h"
#include "work/view.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void sw_work_note(const sw_work_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sw_work_note(const sw_work_opts *o, const char *fmt, ...)
{
    if (!o->note)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) >= 0)
        o->note(o->ctx, text);
    va_end(ap);
    free(text);
}

static int sw_torrent_ok(void *ctx, const sw_manifest *m, const void *torrent, size_t len)
{
    (void)ctx;
    return sw_bundle_torrent_check_bytes(m, torrent, len);
}

int sw_work_sync(sw_catalog *cat, const char *remote)
{
    sw_pull_report rep = {0};
    sw_pull_checks checks = {.torrent = sw_torrent_ok};
    int r = sw_catalog_pull(cat, remote, &rep, &checks);
    sw_pull_report_free(&rep);
    return r ? r : sw_ledger_fetch(cat, remote);
}

int sw_work_can_run(const sw_job *j, const sw_plugins *ps, sw_catalog *cat, const char *home)
{
    /* The pipeline is drawn, not run: p/ and out/ need not exist, and bundle inputs are looked up only. */
    char *dir = sw_sprintf("%s/" SW_HOME_WORK "/can-run-%ld", home, (long)getpid());
    char *file = sw_sprintf("%s/" SW_JOB_PIPELINE_FILE, dir);
    sw_strlist keys = {0}, vals = {0}, needs = {0};
    sw_graph g = {0};
    int r = sw_mkdir_p(dir);
    if (!r)
        r = sw_write_file_atomic(file, j->pipeline, j->pipeline_len, 0644);
    if (!r)
        r = sw_job_unit_sets(&keys, &vals, j, &j->units[0], NULL);
    if (!r && sw_pipeline_load(&g, file, ps, cat, (const char *const *)keys.v, (const char *const *)vals.v, keys.n,
                               SW_LOAD_GRAPH))
        r = sw_error_wrap(SW_ENOTFOUND, "its pipeline does not load with this provider's plugins");
    if (!r)
        r = sw_job_needs(&needs, &g);
    const json_t *want = json_object_get(j->spec, "needs");
    for (size_t i = 0; !r && i < json_array_size(want); i++) {
        const char *need = json_string_value(json_array_get(want, i));
        int have = 0;
        for (size_t k = 0; need && k < needs.n && !have; k++)
            have = !strcmp(needs.v[k], need);
        if (!have)
            r = sw_error(SW_ENOTFOUND, "it needs %.200s, which this provider's plugins do not have", need ? need : "?");
    }
    if (!r && needs.n != json_array_size(want))
        r = sw_error(SW_ENOTFOUND, "its pipeline uses other plugins here than the job names");
    sw_graph_free(&g);
    sw_strlist_free(&keys);
    sw_strlist_free(&vals);
    sw_strlist_free(&needs);
    sw_rm_rf(dir);
    free(file);
    free(dir);
    return r;
}

/* A candidate unit and the order it is taken in. */
typedef struct {
    size_t unit;
    int held;
    char rank[SW_HEX_LEN + 1];
} sw_pick;

static int sw_pick_cmp(const void *a, const void *b)
{
    const sw_pick *x = a, *y = b;
    return x->held != y->held ? y->held - x->held : strcmp(x->rank, y->rank);
}

/* Whether unit i still wants a result from key: not decided, no result of key, and fewer results and
 * live claims of others than it wants. */
static int sw_wants(const sw_view *v, size_t i, const char *key)
{
    const sw_unit_view *u = &v->units[i];
    if (u->state == SW_UNIT_ACCEPTED || u->state == SW_UNIT_NONDET || !strcmp(u->verdict, "accepted") ||
        !strcmp(u->verdict, "non-deterministic"))
        return 0;
    size_t counted = 0;
    for (size_t k = 0; k < u->nresults; k++) {
        if (!strcmp(u->results[k].key, key))
            return 0;
        const sw_key_view *kv = sw_view_key(v, u->results[k].key);
        counted += kv && !kv->strikes;
    }
    size_t others = 0;
    for (size_t k = 0; k < u->claims.n; k++)
        others += strcmp(u->claims.v[k], key) != 0;
    return counted + others < (size_t)u->want;
}

static int sw_listed(const sw_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s))
            return 1;
    return 0;
}

/* Up to n units of v this key should take, in order (provider.h), as indexes into *out; none listed in
 * skip (unit ids). */
static size_t sw_choose(size_t **out, const sw_view *v, const char *key, size_t n, sw_store *st, sw_catalog *cat,
                        const sw_strlist *skip)
{
    sw_manifest *input = NULL;
    sw_bundle_read(&input, cat, sw_rec_str(v->job->spec, "input"));
    sw_pick *p = sw_calloc(v->job->nunits, sizeof *p);
    size_t np = 0;
    for (size_t i = 0; i < v->job->nunits; i++) {
        if (!sw_wants(v, i, key) || sw_listed(skip, v->job->units[i].id))
            continue;
        const sw_mfile *f = input ? sw_manifest_find(input, v->job->units[i].file) : NULL;
        p[np].unit = i;
        p[np].held = f && sw_store_stat(st, &f->hash, NULL) == 0;
        char *seed = sw_sprintf("%s %s", key, v->job->units[i].id);
        sw_hash h;
        sw_sha256_buf(&h, seed, strlen(seed));
        sw_hash_hex(p[np++].rank, &h);
        free(seed);
    }
    qsort(p, np, sizeof *p, sw_pick_cmp);
    size_t m = np < n ? np : n;
    *out = sw_calloc(m ? m : 1, sizeof **out);
    for (size_t i = 0; i < m; i++)
        (*out)[i] = p[i].unit;
    free(p);
    sw_manifest_free(input);
    return m;
}

/* Appends a signed record to this key's chain `chain` (claims or results) in the remote's mirror. */
static int sw_append(sw_catalog *cat, const sw_ident *id, const char *remote, const char *chain, json_t *body,
                     const sw_ledger_file *files, size_t nfiles)
{
    char *msg = sw_record_sign(NULL, id, body);
    if (!msg)
        return SW_ERROR;
    char *name = sw_sprintf("peers/%s/%s", sw_ident_key(id), chain);
    char *local = sw_ledger_mirror(remote, name), commit[SW_OID_HEX + 1];
    int r = sw_ledger_append(commit, cat, local, msg, files, nfiles);
    free(local);
    free(name);
    free(msg);
    return r;
}

/* Pushes this key's chain `chain` to the remote: what was appended becomes visible to everyone. */
static int sw_push(sw_catalog *cat, const sw_ident *id, const char *remote, const char *chain)
{
    char *name = sw_sprintf("peers/%s/%s", sw_ident_key(id), chain);
    char *local = sw_ledger_mirror(remote, name), *dest = sw_sprintf("refs/swarm/%s", name);
    int r = sw_ledger_push(cat, remote, local, dest);
    free(dest);
    free(local);
    free(name);
    return r;
}

/* Claims units (indexes into v's job) for the job's lease. */
static int sw_claim(sw_catalog *cat, const sw_ident *id, const sw_view *v, const size_t *units, size_t n,
                    const char *remote)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ids, json_string(v->job->units[units[i]].id));
    json_t *body = json_pack("{s:s, s:s, s:o, s:I}", "type", "claim", "job", v->job->id, "units", ids, "expires",
                             (json_int_t)(time(NULL) + v->job->lease));
    int r = sw_append(cat, id, remote, "claims", body, NULL, 0);
    if (!r)
        r = sw_push(cat, id, remote, "claims");
    json_decref(body);
    return r;
}

/* Commits a unit's outputs as its version (or finds it committed by an earlier run with the same
 * files) and seeds it. */
static int sw_keep_output(sw_store *st, sw_catalog *cat, sw_unit_output *out, const sw_work_opts *o)
{
    int r = sw_catalog_add(cat, out->m, out->torrent, out->torrent_len);
    if (r == SW_EEXISTS) {
        sw_manifest *old = NULL;
        r = sw_catalog_read(&old, cat, out->m->name, out->m->version);
        if (!r && (!sw_manifest_same_files(old, out->m) || strcmp(old->torrent_v1, out->m->torrent_v1)))
            r = sw_error(SW_ECONFLICT, "%s@%s here holds other outputs than this run gave: the unit is not "
                                       "deterministic on this machine", out->m->name, out->m->version);
        sw_manifest_free(old);
    }
    if (!r && o->seeds) {
        char *ref = sw_sprintf("%s@%s", out->m->name, out->m->version);
        r = sw_seed_add(o->seeds, st, cat, ref, o->peers);
        free(ref);
    }
    return r;
}

/* Computes one unit (its inputs fetched before) and appends its result to this key's chain (sw_work_job
 * pushes the chain). *ran is set when the unit's pipeline itself failed. */
static int sw_do_unit(sw_store *st, sw_catalog *cat, const sw_ident *id, const sw_view *v, size_t i,
                      const sw_work_opts *o, int *ran)
{
    const sw_job *j = v->job;
    const sw_unit *u = &j->units[i];
    double start = sw_now();
    time_t started = time(NULL);
    sw_unit_output out = {0};
    int r = sw_unit_run(&out, st, cat, j, u, &o->unit);
    *ran = r == SW_ERROR;
    if (!r)
        r = sw_keep_output(st, cat, &out, o);
    if (!r) {
        char *manifest = sw_manifest_to_json(out.m);
        sw_ledger_file files[] = {{"manifest.json", manifest, strlen(manifest)},
                                  {"bundle.torrent", out.torrent, out.torrent_len}};
        json_t *body = json_pack("{s:s, s:s, s:s, s:O, s:s, s:s, s:I, s:I}", "type", "result", "job", j->id, "unit",
                                 u->id, "files", out.files, "torrent", out.m->torrent_v1, "outputs_id", out.outputs_id,
                                 "started", (json_int_t)started, "finished", (json_int_t)time(NULL));
        if (o->listen)
            json_object_set_new(body, "listen", json_string(o->listen));
        r = sw_append(cat, id, o->remote, "results", body, files, 2);
        json_decref(body);
        free(manifest);
    }
    sw_unit_output_clear(&out);
    if (r)
        return sw_error_wrap(r, "unit %.16s (%s) of job %.16s", u->id, u->file, j->id);
    sw_work_note(o, "unit %.16s (%s) of job %.16s: done in %.2f s", u->id, u->file, j->id, sw_now() - start);
    return 0;
}

/* Fetches the claimed units' inputs in one session, listening on the host of the seeding session's
 * address (that session holds the address itself), any port. */
static int sw_fetch_units(sw_store *st, sw_catalog *cat, const sw_job *j, const size_t *units, size_t n,
                          const sw_work_opts *o)
{
    sw_peer_opts fetch = *o->peers;
    const char *colon = o->peers->listen ? strrchr(o->peers->listen, ':') : NULL;
    char *listen = colon ? sw_sprintf("%.*s:0", (int)(colon - o->peers->listen), o->peers->listen) : NULL;
    fetch.listen = listen;
    sw_fetch_opts fo = {.peers = &fetch, .timeout = o->fetch_timeout, .stop = o->stop};
    int r = sw_unit_fetch(st, cat, j, units, n, &fo);
    free(listen);
    return r;
}

/* The jobs this process skipped, each noted once, and the units whose pipeline failed here: a hostile or
 * broken pipeline fails again, so this process neither claims nor runs them again. */
typedef struct {
    sw_strlist refused, failed;
} sw_work_memory;

/* One job of a pass: claims and computes the units it wants from this key. */
static void sw_work_job(sw_work_report *rep, sw_work_memory *mem, sw_store *st, sw_catalog *cat,
                        const sw_ident *id, const sw_plugins *ps, const char *job, const sw_work_opts *o)
{
    if (sw_listed(&mem->refused, job))
        return;
    sw_view *v = NULL;
    if (sw_view_load(&v, cat, o->remote, job, (double)time(NULL))) {
        sw_work_note(o, "skipping job %.16s: %s", job, sw_error_last());
        sw_strlist_push(&mem->refused, job);
        rep->skipped++;
        return;
    }
    if (sw_work_can_run(v->job, ps, cat, sw_store_home(st))) {
        sw_work_note(o, "skipping job %.16s: %s", job, sw_error_last());
        sw_strlist_push(&mem->refused, job);
        rep->skipped++;
        sw_view_free(v);
        return;
    }
    size_t *units = NULL, n = sw_choose(&units, v, sw_ident_key(id), (size_t)o->units, st, cat, &mem->failed);
    if (n && sw_claim(cat, id, v, units, n, o->remote))
        sw_work_note(o, "job %.16s: cannot claim units: %s", job, sw_error_last());
    else if (n && sw_fetch_units(st, cat, v->job, units, n, o))
        sw_work_note(o, "job %.16s: cannot fetch the inputs of %zu units: %s", job, n, sw_error_last());
    else {
        size_t done = 0;
        for (size_t i = 0; i < n && !(o->stop && *o->stop); i++) {
            int ran = 0;
            if (sw_do_unit(st, cat, id, v, units[i], o, &ran)) {
                sw_work_note(o, "%s", sw_error_last());
                rep->failed++;
                if (ran)
                    sw_strlist_push(&mem->failed, v->job->units[units[i]].id);
            } else {
                done++;
            }
            if (o->status)
                o->status(o->ctx, rep);
        }
        /* One push for the pass's results: each was appended only once its outputs were stored and seeded. */
        if (done && sw_push(cat, id, o->remote, "results")) {
            sw_work_note(o, "job %.16s: cannot publish %zu results: %s", job, done, sw_error_last());
            rep->failed += done;
        } else {
            rep->done += done;
        }
    }
    free(units);
    sw_view_free(v);
}

int sw_work(sw_work_report *rep, sw_store *st, sw_catalog *cat, const sw_ident *id, const sw_plugins *ps,
            const sw_work_opts *o)
{
    memset(rep, 0, sizeof *rep);
    sw_work_memory mem = {0};
    int r = 0;
    size_t swept = sw_unit_sweep(sw_store_home(st));
    if (swept)
        sw_work_note(o, "removed %zu unit folders left by a provider that is gone", swept);
    while (!(o->stop && *o->stop)) {
        rep->passes++;
        if ((r = sw_work_sync(cat, o->remote)) != 0) {
            if (rep->passes == 1 || o->once)
                break;
            sw_work_note(o, "cannot reach %s: %s", o->remote, sw_error_last());
            r = 0;
        } else {
            sw_strlist jobs = {0};
            char *glob = sw_ledger_mirror(o->remote, "jobs/*"), *prefix = sw_ledger_mirror(o->remote, "jobs/");
            sw_ledger_list(&jobs, cat, glob);
            for (size_t i = 0; i < jobs.n && !(o->stop && *o->stop); i++)
                sw_work_job(rep, &mem, st, cat, id, ps, jobs.v[i] + strlen(prefix), o);
            sw_strlist_free(&jobs);
            free(glob);
            free(prefix);
        }
        if (o->status)
            o->status(o->ctx, rep);
        if (o->once)
            break;
        for (double t = sw_now() + o->poll; sw_now() < t && !(o->stop && *o->stop);)
            usleep(50 * 1000);
    }
    sw_strlist_free(&mem.refused);
    sw_strlist_free(&mem.failed);
    return r;
}
