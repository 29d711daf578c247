/* view.c — a job's ledger, read, checked and judged (see view.h). */
#include "work/view.h"
#include "base/error.h"
#include "work/chain.h"
#include "work/record.h"

#include <stdlib.h>
#include <string.h>


const char *sw_unit_state_name(sw_unit_state s)
{
    static const char *const names[] = {"waiting", "running", "disputed", "accepted", "non-deterministic"};
    return names[s];
}

void sw_outputs_id(char out[SW_HEX_LEN + 1], const json_t *files, const char *torrent)
{
    json_t *o = json_pack("{s:O, s:s}", "files", files, "torrent", torrent ? torrent : "");
    sw_record_digest(out, o);
    json_decref(o);
}

static void sw_unit_view_clear(sw_unit_view *u)
{
    for (size_t i = 0; i < u->nresults; i++)
        free(u->results[i].listen);
    free(u->results);
    sw_strlist_free(&u->claims);
    sw_strlist_free(&u->agreed);
}

void sw_view_free(sw_view *v)
{
    if (!v)
        return;
    for (size_t i = 0; v->units && i < v->job->nunits; i++)
        sw_unit_view_clear(&v->units[i]);
    free(v->units);
    free(v->keys);
    sw_strlist_free(&v->ignored);
    sw_job_free(v->job);
    free(v->remote);
    free(v);
}

/* Unit ids sorted, for lookups: index i of sorted holds the job's unit index. */
typedef struct {
    sw_view *v;
    size_t *sorted;
    const char *ref; /* the chain being read */
    double now;
} sw_reader_ctx;

static int sw_by_unit_id(const void *a, const void *b, void *ctx)
{
    const sw_job *j = ctx;
    return strcmp(j->units[*(const size_t *)a].id, j->units[*(const size_t *)b].id);
}

/* Binary search over the sorted unit ids. */
static long sw_find_unit(const sw_reader_ctx *r, const char *unit)
{
    size_t lo = 0, hi = r->v->job->nunits;
    while (unit && lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(r->v->job->units[r->sorted[mid]].id, unit);
        if (!c)
            return (long)r->sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static void sw_ignore(sw_reader_ctx *r, const char *commit, const char *why)
{
    char *line = sw_sprintf("%s %.12s: %s", r->ref, commit, why);
    sw_strlist_push(&r->v->ignored, line);
    free(line);
}

static int sw_has_result(const sw_unit_view *u, const char *key)
{
    for (size_t k = 0; k < u->nresults; k++)
        if (!strcmp(u->results[k].key, key))
            return 1;
    return 0;
}

/* One row of a chain (chain.h) into the view: a key's first result for a unit, live claims of keys with
 * no result for it, the owner's verdicts on this job, and what was ignored. */
static int sw_view_row(void *ctx, const sw_chain_row *row)
{
    sw_reader_ctx *r = ctx;
    long i = sw_find_unit(r, row->unit);
    if (!strcmp(row->kind, "ignored")) {
        sw_ignore(r, row->commit, row->extra);
    } else if (i < 0) {
        return 0; /* a record about another job's units */
    } else if (!strcmp(row->kind, "result") && !sw_has_result(&r->v->units[i], row->key)) {
        sw_unit_view *u = &r->v->units[i];
        u->results = sw_realloc(u->results, (u->nresults + 1) * sizeof *u->results);
        sw_result *res = &u->results[u->nresults++];
        memset(res, 0, sizeof *res);
        snprintf(res->key, sizeof res->key, "%s", row->key);
        snprintf(res->outputs_id, sizeof res->outputs_id, "%s", row->outputs_id);
        snprintf(res->commit, sizeof res->commit, "%s", row->commit);
        res->listen = row->extra[0] ? sw_strdup(row->extra) : NULL;
    } else if (!strcmp(row->kind, "claim") && row->expires > r->now && !sw_has_result(&r->v->units[i], row->key)) {
        sw_strlist_push(&r->v->units[i].claims, row->key);
    } else if (!strcmp(row->kind, "verdict") && !strcmp(row->job, r->v->job->id) &&
               strlen(row->extra) < sizeof r->v->units[i].verdict) {
        sw_unit_view *u = &r->v->units[i];
        snprintf(u->verdict, sizeof u->verdict, "%s", row->extra);
        snprintf(u->verdict_id, sizeof u->verdict_id, "%s", strlen(row->outputs_id) == SW_HEX_LEN ? row->outputs_id : "");
    }
    return 0;
}

/* Reads every chain of kind whose ref matches glob, the signer's key taken from the ref's name. */
static int sw_read_chains(sw_reader_ctx *r, sw_chains *cc, sw_catalog *c, const char *glob, sw_chain_kind kind)
{
    const char *suffix = kind == SW_CHAIN_RESULTS ? "/results" : "/claims";
    sw_strlist refs = {0};
    int rc = sw_ledger_list(&refs, c, glob);
    char *prefix = sw_ledger_mirror(r->v->remote, "peers/");
    for (size_t i = 0; !rc && i < refs.n; i++) {
        const char *key = refs.v[i] + strlen(prefix);
        size_t klen = strlen(key) - strlen(suffix);
        char k[SW_KEYID_LEN + 1];
        r->ref = refs.v[i];
        if (klen != SW_KEYID_LEN || strcmp(key + klen, suffix)) {
            sw_ignore(r, "-", "not a peer chain");
            continue;
        }
        snprintf(k, sizeof k, "%.*s", SW_KEYID_LEN, key);
        if (sw_chains_read(cc, c, refs.v[i], kind, k, sw_view_row, r))
            sw_ignore(r, "-", sw_error_last());
    }
    free(prefix);
    sw_strlist_free(&refs);
    return rc;
}

int sw_view_load(sw_view **out, sw_catalog *c, const char *remote, const char *job, double now)
{
    *out = NULL;
    sw_view *v = sw_calloc(1, sizeof *v);
    v->remote = sw_strdup(remote);
    char *name = sw_sprintf("jobs/%s", job), *ref = sw_ledger_mirror(remote, name), tip[SW_OID_HEX + 1];
    sw_chains *cc = NULL;
    int r = sw_ledger_tip(tip, c, ref);
    if (r == SW_ENOTFOUND)
        r = sw_error(SW_ENOTFOUND, "no job %s on %s", job, remote);
    if (!r)
        r = sw_job_load(&v->job, c, tip, job);
    if (!r)
        r = sw_chains_open(&cc, sw_catalog_home(c));
    free(name);
    free(ref);
    sw_reader_ctx rc = {.v = v, .now = now};
    if (!r) {
        v->units = sw_calloc(v->job->nunits, sizeof *v->units);
        rc.sorted = sw_malloc(v->job->nunits * sizeof *rc.sorted);
        for (size_t i = 0; i < v->job->nunits; i++)
            rc.sorted[i] = i;
        qsort_r(rc.sorted, v->job->nunits, sizeof *rc.sorted, sw_by_unit_id, v->job);
        char *g1 = sw_ledger_mirror(remote, "peers/*/results"), *g2 = sw_ledger_mirror(remote, "peers/*/claims");
        r = sw_read_chains(&rc, cc, c, g1, SW_CHAIN_RESULTS);
        if (!r)
            r = sw_read_chains(&rc, cc, c, g2, SW_CHAIN_CLAIMS);
        free(g1);
        free(g2);
    }
    if (!r) {
        char *vname = sw_sprintf("verdicts/%s", job), *vref = sw_ledger_mirror(remote, vname);
        rc.ref = vref;
        if (sw_ledger_tip(v->verdicts_tip, c, vref) == 0 &&
            sw_chains_read(cc, c, vref, SW_CHAIN_VERDICTS, v->job->owner, sw_view_row, &rc))
            sw_ignore(&rc, v->verdicts_tip, sw_error_last());
        free(vname);
        free(vref);
    }
    free(rc.sorted);
    sw_chains_free(cc);
    if (r) {
        sw_view_free(v);
        return r;
    }
    sw_view_judge(v);
    *out = v;
    return 0;
}

static int sw_key_cmp(const void *a, const void *b)
{
    return strcmp(((const sw_key_view *)a)->key, ((const sw_key_view *)b)->key);
}

sw_key_view *sw_view_key(const sw_view *v, const char *key)
{
    sw_key_view k;
    if (!v->nkeys)
        return NULL;
    snprintf(k.key, sizeof k.key, "%s", key);
    return bsearch(&k, v->keys, v->nkeys, sizeof *v->keys, sw_key_cmp);
}

/* Every key with a result, sorted, counts zeroed. */
static void sw_view_keys(sw_view *v)
{
    free(v->keys);
    v->keys = NULL;
    v->nkeys = 0;
    size_t cap = 0;
    for (size_t i = 0; i < v->job->nunits; i++)
        for (size_t k = 0; k < v->units[i].nresults; k++) {
            sw_grow(&v->keys, &cap, v->nkeys + 1, sizeof *v->keys);
            memset(&v->keys[v->nkeys], 0, sizeof *v->keys);
            memcpy(v->keys[v->nkeys++].key, v->units[i].results[k].key, SW_KEYID_LEN + 1);
        }
    if (v->nkeys) /* qsort and bsearch take no NULL array, even empty */
        qsort(v->keys, v->nkeys, sizeof *v->keys, sw_key_cmp);
    size_t n = 0;
    for (size_t i = 0; i < v->nkeys; i++)
        if (!n || strcmp(v->keys[n - 1].key, v->keys[i].key))
            v->keys[n++] = v->keys[i];
    v->nkeys = n;
}

/* The largest group of agreeing results of unit u among keys not struck out: its output id (NULL when
 * none), its size, how many groups and how many counted results there are. */
static const char *sw_best_group(const sw_view *v, const sw_unit_view *u, size_t *best, size_t *groups,
                                 size_t *counted, size_t *second)
{
    const char *id = NULL;
    *best = *groups = *counted = *second = 0;
    for (size_t a = 0; a < u->nresults; a++) {
        if (sw_view_key(v, u->results[a].key)->strikes == 1)
            continue;
        ++*counted;
        size_t same = 0, first = 1;
        for (size_t b = 0; b < u->nresults; b++) {
            if (sw_view_key(v, u->results[b].key)->strikes == 1 ||
                strcmp(u->results[a].outputs_id, u->results[b].outputs_id))
                continue;
            same++;
            first &= b >= a;
        }
        if (!first)
            continue;
        ++*groups;
        if (same > *best) {
            *second = *best;
            *best = same;
            id = u->results[a].outputs_id;
        } else if (same > *second) {
            *second = same;
        }
    }
    return id;
}

/* One pass: accepts what has a quorum and strikes out keys that disagree with an accepted id. Returns
 * whether a key was struck out (then the pass must run again). */
static int sw_judge_pass(sw_view *v)
{
    /* Every unit is judged against the strikes as they stood when the pass began (2 marks a strike
     * found in this pass), so the outcome does not depend on the units' order; strikes only grow. */
    int struck = 0;
    int q = v->job->quorum;
    for (size_t i = 0; i < v->job->nunits; i++) {
        sw_unit_view *u = &v->units[i];
        size_t best, groups, counted, second;
        const char *id = sw_best_group(v, u, &best, &groups, &counted, &second);
        if (!id || best < (size_t)q || second >= (size_t)q)
            continue;
        for (size_t k = 0; k < u->nresults; k++) {
            sw_key_view *kv = sw_view_key(v, u->results[k].key);
            if (!kv->strikes && strcmp(u->results[k].outputs_id, id)) {
                kv->strikes = 2;
                struck = 1;
            }
        }
    }
    for (size_t i = 0; i < v->nkeys; i++)
        v->keys[i].strikes = v->keys[i].strikes != 0;
    return struck;
}

/* Sets a unit's state, accepted id, agreeing keys and wanted results from the judged keys. */
static void sw_judge_unit(sw_view *v, sw_unit_view *u)
{
    size_t best, groups, counted, second;
    const char *id = sw_best_group(v, u, &best, &groups, &counted, &second);
    int q = v->job->quorum;
    sw_strlist_free(&u->agreed);
    u->accepted[0] = 0;
    if (id && best >= (size_t)q && second < (size_t)q) {
        u->state = SW_UNIT_ACCEPTED;
        memcpy(u->accepted, id, SW_HEX_LEN + 1);
        for (size_t k = 0; k < u->nresults; k++)
            if (!strcmp(u->results[k].outputs_id, id) && !sw_view_key(v, u->results[k].key)->strikes)
                sw_strlist_push(&u->agreed, u->results[k].key);
        sw_strlist_sort(&u->agreed);
        u->want = 0;
        return;
    }
    u->want = groups >= 2 ? (int)(counted + (size_t)q - best) : q;
    if (counted >= (size_t)v->job->max_results)
        u->state = SW_UNIT_NONDET;
    else if (groups >= 2)
        u->state = SW_UNIT_DISPUTED;
    else
        u->state = u->claims.n || counted ? SW_UNIT_RUNNING : SW_UNIT_WAITING;
}

void sw_view_judge(sw_view *v)
{
    sw_view_keys(v);
    while (sw_judge_pass(v))
        ;
    for (size_t i = 0; i < v->job->nunits; i++)
        sw_judge_unit(v, &v->units[i]);
    /* From here on strikes counts the units each key got wrong; a key struck out through a unit whose
     * acceptance later fell counts one. */
    unsigned char *was = sw_calloc(v->nkeys ? v->nkeys : 1, 1);
    for (size_t i = 0; i < v->nkeys; i++) {
        was[i] = v->keys[i].strikes != 0;
        v->keys[i].strikes = 0;
    }
    for (size_t i = 0; i < v->job->nunits; i++) {
        sw_unit_view *u = &v->units[i];
        for (size_t k = 0; k < u->nresults; k++) {
            sw_key_view *kv = sw_view_key(v, u->results[k].key);
            kv->results++;
            if (u->state != SW_UNIT_ACCEPTED)
                continue;
            if (strcmp(u->results[k].outputs_id, u->accepted))
                kv->strikes++;
            else
                kv->agreed++;
        }
    }
    for (size_t i = 0; i < v->nkeys; i++)
        if (was[i] && !v->keys[i].strikes)
            v->keys[i].strikes = 1;
    free(was);
}
