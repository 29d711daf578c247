/* dedup.c — the org.swarm.dedup plugin: deduplication of a whole dataset of records.
 *   exact    drops every document whose normalized text (normalize.c) an earlier one has (exact.c:
 *            XXH3_128bits of it), keeping first occurrences
 *   near     MinHash + LSH as datatrove's FineWeb setup (FORMATS.md): 5-word shingles (shingle.c), 14 x 8
 *            permutations mod 2^61 - 1 (minhash.h), documents sharing a band are candidates, union-find
 *            clusters keep their first document (lsh.c)
 *   minhash  near's signatures themselves, one record of K little-endian uint64 per document (a mapped op,
 *            called per batch; dedup_ops.h describes it, and hip/dedup_hip.cpp adds its GPU variant)
 * exact and near see every record of the stream in one call (SWARM_OP_WHOLE) and write, as param output
 * says, either the kept records in input order ("kept") or one JSON record describing the run and its
 * clusters ("report": op, params, hash, normalization, permutations for near, counts, and each cluster of
 * two documents or more as {"keep": i, "removed": [j, ...]} with indexes into the input). near and
 * minhash sign documents with the same pass (dd_sign: docs.c, shingle.c), so minhash's records are near's
 * signatures byte for byte.
 *
 * A record is the document's text, or, with param field set, a JSON object whose string member field is
 * (for exact and near the whole record is kept or dropped). The per-document work (normalizing, hashing,
 * signing) runs on several threads (parallel.c); the result does not depend on how many. Temporary memory is the host's
 * scratch; jansson allocates its own while parsing records and building a report. */
#include "swarm_plugin.h"

#include "dd.h"
#include "dedup_ops.h"
#include "docs.h"
#include "exact.h"
#include "lsh.h"
#include "minhash.h"
#include "normalize.h"
#include "parallel.h"
#include "report.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

enum { DD_OUT_KEPT = 0, DD_OUT_REPORT = 1 };
enum { E_FIELD = 0, E_OUTPUT = 1 };
enum {
    N_FIELD = DD_P_FIELD,
    N_SHINGLE = DD_P_SHINGLE,
    N_BANDS = DD_P_BANDS,
    N_ROWS = DD_P_ROWS,
    N_SEED = DD_P_SEED,
    N_THRESHOLD = 5,
    N_OUTPUT = 6
};

static const char *const dd_output_choices[] = {"kept", "report", NULL};

/* The CPU variant runs anywhere. */
static int dd_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    (void)host;
    (void)call;
    (void)device_id;
    return 100;
}

/* ---- Shared by both ops -------------------------------------------------------------------------- */

/* A call's scratch as a dd_alloc. */
typedef struct {
    const swarm_host *host;
    swarm_call *call;
} dd_scratch;

static void *dd_scratch_fn(void *ctx, size_t size)
{
    dd_scratch *s = ctx;
    return s->host->alloc_scratch(s->call, size);
}

/* What infer says of the output: with "kept", at most all records and all bytes; with "report", one record
 * whose size is bounded from the count (each document is at most one index of a cluster: 20 digits and
 * a comma, plus its share of a cluster's {"keep":...,"removed":[]}, under 48 bytes in all), k permutation
 * pairs (two 19-digit numbers, under 48 bytes) and the field name (6 bytes per byte at worst, \u
 * escapes), plus 1 KiB for the rest. */
static int dd_infer_output(const swarm_host *host, swarm_call *call, const char *field, int64_t output, uint64_t k,
                           const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *in = &inputs[0].u.records;
    swarm_records *out = &outputs[0].u.records;
    uint64_t flen = field ? strlen(field) : 0;
    if (output != DD_OUT_REPORT) {
        out->count = in->count;
        out->nbytes = in->nbytes;
        return SWARM_OK;
    }
    if (in->count > (UINT64_MAX / 4 - 6 * flen - 48 * k) / 48)
        return host->set_error(call, SWARM_E_BAD_INPUT, "%llu records are too many for a report",
                               (unsigned long long)in->count);
    out->count = 1;
    out->nbytes = 1024 + 6 * flen + 48 * k + 48 * in->count;
    return SWARM_OK;
}

/* Fails the call for a pass or clustering result rc (1: a bad record, -1: memory). */
static int dd_fail(const swarm_host *host, swarm_call *call, int rc, const char *msg)
{
    if (rc > 0)
        return host->set_error(call, SWARM_E_BAD_INPUT, "%s", msg);
    return host->set_error(call, SWARM_E_INTERNAL, "out of memory");
}

/* Writes the output from the clusters: the kept records, or the report (which takes ownership of
 * report; NULL when building it failed). */
static int dd_finish(const swarm_host *host, swarm_call *call, const char *name, int64_t output, json_t *report,
                     const uint64_t *parent, const swarm_value *inputs, swarm_value *outputs, const dd_alloc *alloc,
                     int nthreads)
{
    const swarm_records *in = &inputs[0].u.records;
    swarm_records *out = &outputs[0].u.records;
    uint64_t kept = dd_kept_count(parent, in->count);
    char line[160];
    int rc;
    snprintf(line, sizeof line, "%s: %llu documents, %llu kept, %llu removed, %d thread%s", name,
             (unsigned long long)in->count, (unsigned long long)kept, (unsigned long long)(in->count - kept),
             nthreads, nthreads == 1 ? "" : "s");
    if (host->log)
        host->log(call, SWARM_LOG_INFO, line);
    if (output != DD_OUT_REPORT) {
        json_decref(report);
        if (out->count < in->count || out->nbytes < in->nbytes)
            return host->set_error(call, SWARM_E_INTERNAL, "the output is smaller than infer asked");
        dd_write_kept(in, parent, NULL, out);
        return SWARM_OK;
    }
    if (!report || dd_report_clusters(report, parent, NULL, in->count, alloc)) {
        json_decref(report);
        return host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    }
    rc = dd_write_report(report, out);
    json_decref(report);
    if (rc)
        return host->set_error(call, SWARM_E_INTERNAL, rc > 0 ? "the report is larger than infer's bound"
                                                              : "out of memory");
    return SWARM_OK;
}

/* The start of a report: op, params (added by the caller; output when not NULL), hash and normalization.
 * NULL when memory runs out. */
static json_t *dd_report_new(const char *op, const char *hash, const char *field, const char *output, json_t *params)
{
    json_t *r = json_object();
    if (!r || !params || json_object_set_new(params, "field", json_string(field ? field : "")) ||
        (output && json_object_set_new(params, "output", json_string(output))) ||
        json_object_set_new(r, "params", params) || json_object_set_new(r, "op", json_string(op)) ||
        json_object_set_new(r, "hash", json_string(hash)) ||
        json_object_set_new(r, "normalization", json_string(DD_NORMALIZATION))) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* ---- exact --------------------------------------------------------------------------------------- */

static int exact_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                       const swarm_value *inputs, swarm_value *outputs)
{
    int rc = dd_check_field(host, call, params[E_FIELD].s);
    if (rc)
        return rc;
    return dd_infer_output(host, call, params[E_FIELD].s, params[E_OUTPUT].i, 0, inputs, outputs);
}

/* Hashes every document (threads), finds first occurrences (one pass), writes the output. */
static int exact_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                     const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *in = &inputs[0].u.records;
    dd_scratch sc = {host, call};
    dd_alloc alloc = {dd_scratch_fn, &sc};
    char msg[256];
    uint64_t max_len = 0, *parent;
    dd_pass *p;
    int nthreads = dd_threads(in->count), rc = dd_check_field(host, call, params[E_FIELD].s);
    if (rc)
        return rc;
    if (dd_check_records(in, &max_len, msg, sizeof msg))
        return host->set_error(call, SWARM_E_BAD_INPUT, "%s", msg);
    p = dd_alloc_array(&alloc, 1, sizeof *p);
    parent = dd_alloc_array(&alloc, in->count, 8);
    if (!p || !parent)
        return dd_fail(host, call, -1, NULL);
    memset(p, 0, sizeof *p);
    p->in = in;
    p->field = params[E_FIELD].s;
    if (!(p->hash = dd_alloc_array(&alloc, in->count, sizeof *p->hash)))
        return dd_fail(host, call, -1, NULL);
    if ((rc = dd_pass_run(p, nthreads, max_len, &alloc, msg, sizeof msg)) ||
        (rc = dd_exact_cluster(in->count, p->hash, parent, &alloc)))
        return dd_fail(host, call, rc, msg);
    json_t *report = NULL;
    if (params[E_OUTPUT].i == DD_OUT_REPORT)
        report = dd_report_new("exact", "xxh3_128", params[E_FIELD].s, dd_output_choices[params[E_OUTPUT].i],
                               json_object());
    return dd_finish(host, call, "exact", params[E_OUTPUT].i, report, parent, inputs, outputs, &alloc, nthreads);
}

/* ---- Signatures: near and minhash ---------------------------------------------------------------- */

/* The one signature pass of near and minhash: draws the K = bands x rows permutations of params' seed
 * into *a and *b (scratch) and signs each document of in (dd_check_records accepted it; max_len its
 * longest record) into sig (in->count x K entries), marking empty[i] (when not NULL) for a document
 * without shingles, and (when hash is not NULL) hashing its normalized text as exact does into hash[i].
 * SWARM_OK, or the call's failure. */
static int dd_sign(const swarm_host *host, swarm_call *call, const swarm_param_value *params, const swarm_records *in,
                   uint64_t max_len, int nthreads, const dd_alloc *alloc, uint64_t **a, uint64_t **b, uint64_t *sig,
                   uint8_t *empty, dd_hash128 *hash)
{
    char msg[256];
    int k = dd_permutations(params), rc;
    dd_pass *p = dd_alloc_array(alloc, 1, sizeof *p);
    *a = dd_alloc_array(alloc, (uint64_t)k, 8);
    *b = dd_alloc_array(alloc, (uint64_t)k, 8);
    if (!p || !*a || !*b)
        return dd_fail(host, call, -1, NULL);
    memset(p, 0, sizeof *p);
    dd_draw_permutations((uint64_t)params[DD_P_SEED].i, k, *a, *b);
    p->in = in;
    p->field = params[DD_P_FIELD].s;
    p->shingle = (uint64_t)params[DD_P_SHINGLE].i;
    p->k = k;
    p->a = *a;
    p->b = *b;
    p->sig = sig;
    p->empty = empty;
    p->hash = hash;
    if ((rc = dd_pass_run(p, nthreads, max_len, alloc, msg, sizeof msg)))
        return dd_fail(host, call, rc, msg);
    return SWARM_OK;
}

/* ---- near ---------------------------------------------------------------------------------------- */

/* The near op's params, checked: the signature's (dedup_ops.h), threshold in [0, 1], field. */
static int near_check(const swarm_host *host, swarm_call *call, const swarm_param_value *params)
{
    double t = params[N_THRESHOLD].f;
    int rc = dd_check_signature(host, call, params);
    if (rc)
        return rc;
    if (!(t >= 0.0 && t <= 1.0))
        return host->set_error(call, SWARM_E_BAD_INPUT, "threshold %g is not in [0, 1]", t);
    return dd_check_field(host, call, params[N_FIELD].s);
}

static int near_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                      const swarm_value *inputs, swarm_value *outputs)
{
    int rc = near_check(host, call, params);
    if (rc)
        return rc;
    return dd_infer_output(host, call, params[N_FIELD].s, params[N_OUTPUT].i,
                           (uint64_t)(params[N_BANDS].i * params[N_ROWS].i), inputs, outputs);
}

/* The head of near's report (and, as op "dedup" without output, of the report op's): the params and the
 * permutations as [a, b] pairs. */
static json_t *near_report(const char *op, const swarm_param_value *params, const char *output, const uint64_t *a,
                           const uint64_t *b, int k)
{
    json_t *pp = json_object(), *perms = json_array(), *r;
    if (!pp || !perms || json_object_set_new(pp, "shingle", json_integer((json_int_t)params[N_SHINGLE].i)) ||
        json_object_set_new(pp, "bands", json_integer((json_int_t)params[N_BANDS].i)) ||
        json_object_set_new(pp, "rows", json_integer((json_int_t)params[N_ROWS].i)) ||
        json_object_set_new(pp, "seed", json_integer((json_int_t)params[N_SEED].i)) ||
        json_object_set_new(pp, "threshold", json_real(params[N_THRESHOLD].f))) {
        json_decref(pp);
        json_decref(perms);
        return NULL;
    }
    for (int i = 0; i < k; i++)
        if (json_array_append_new(perms, json_pack("[II]", (json_int_t)a[i], (json_int_t)b[i]))) {
            json_decref(pp);
            json_decref(perms);
            return NULL;
        }
    r = dd_report_new(op, "xxh64", params[N_FIELD].s, output, pp);
    if (!r || json_object_set_new(r, "permutations", perms)) {
        if (!r)
            json_decref(perms);
        json_decref(r);
        return NULL;
    }
    return r;
}

/* Draws the permutations, signs every document (threads), clusters (LSH + union-find), writes the
 * output. */
static int near_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                    const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *in = &inputs[0].u.records;
    dd_scratch sc = {host, call};
    dd_alloc alloc = {dd_scratch_fn, &sc};
    char msg[256];
    uint64_t max_len = 0, *parent, *a, *b, *sig;
    uint8_t *empty;
    int nthreads = dd_threads(in->count), rc = near_check(host, call, params), k;
    if (rc)
        return rc;
    k = dd_permutations(params);
    if (dd_check_records(in, &max_len, msg, sizeof msg))
        return host->set_error(call, SWARM_E_BAD_INPUT, "%s", msg);
    if (in->count && (uint64_t)k > UINT64_MAX / in->count)
        return dd_fail(host, call, -1, NULL);
    parent = dd_alloc_array(&alloc, in->count, 8);
    sig = dd_alloc_array(&alloc, in->count * (uint64_t)k, 8);
    empty = dd_alloc_array(&alloc, in->count, 1);
    if (!parent || !sig || !empty)
        return dd_fail(host, call, -1, NULL);
    if ((rc = dd_sign(host, call, params, in, max_len, nthreads, &alloc, &a, &b, sig, empty, NULL)))
        return rc;
    if ((rc = dd_lsh_cluster(in->count, (int)params[N_BANDS].i, (int)params[N_ROWS].i, sig, empty,
                             params[N_THRESHOLD].f, parent, &alloc)))
        return dd_fail(host, call, rc, NULL);
    json_t *report = params[N_OUTPUT].i == DD_OUT_REPORT
                         ? near_report("near", params, dd_output_choices[DD_OUT_REPORT], a, b, k)
                         : NULL;
    return dd_finish(host, call, "near", params[N_OUTPUT].i, report, parent, inputs, outputs, &alloc, nthreads);
}

/* ---- minhash ------------------------------------------------------------------------------------- */

/* The checks minhash and sign make of a call: the params, the batch, an output with room for a record of
 * head + 8 K bytes per document. SWARM_OK with K in *k and the longest record's length in *max_len, or
 * the call's failure. */
static int dd_sign_check(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                         const swarm_records *in, const swarm_records *out, uint64_t head, int *k, uint64_t *max_len)
{
    char msg[256];
    int rc = dd_minhash_check(host, call, params);
    if (rc)
        return rc;
    *k = dd_permutations(params);
    if (dd_check_records(in, max_len, msg, sizeof msg))
        return host->set_error(call, SWARM_E_BAD_INPUT, "%s", msg);
    if (out->count < in->count || in->count > out->nbytes / (head + 8 * (uint64_t)*k))
        return host->set_error(call, SWARM_E_INTERNAL, "the output is smaller than infer asked");
    return SWARM_OK;
}

/* Signs the batch into the output: K entries per document, written in place when the output's bytes are
 * aligned for uint64 (else through scratch), then the offsets of records of 8 K bytes. The entries are
 * stored as this machine's uint64, which is little-endian on every machine swarm runs on. */
static int minhash_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                       const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *in = &inputs[0].u.records;
    swarm_records *out = &outputs[0].u.records;
    dd_scratch sc = {host, call};
    dd_alloc alloc = {dd_scratch_fn, &sc};
    uint64_t max_len = 0, *a, *b, *sig;
    int nthreads = dd_threads(in->count), k, rc = dd_sign_check(host, call, params, in, out, 0, &k, &max_len);
    if (rc)
        return rc;
    sig = (uintptr_t)out->bytes % 8 == 0 ? (uint64_t *)(void *)out->bytes
                                         : dd_alloc_array(&alloc, in->count * (uint64_t)k, 8);
    if (!sig)
        return dd_fail(host, call, -1, NULL);
    if ((rc = dd_sign(host, call, params, in, max_len, nthreads, &alloc, &a, &b, sig, NULL, NULL)))
        return rc;
    if ((void *)sig != (void *)out->bytes && in->count)
        memcpy(out->bytes, sig, (size_t)(in->count * (uint64_t)k * 8));
    dd_minhash_offsets(out, in->count, k);
    return SWARM_OK;
}

/* ---- One pass: sign, cluster, keep, report ------------------------------------------------------
 * dedup.lua's pipeline, whose memory is bounded by the signatures, not the texts: sign streams the
 * documents (mapped) into one record per document, its exact hash (XXH3-128 of the normalized text, 16
 * bytes) then its signature (8 K bytes); cluster sees those records whole and writes one decision per
 * document (dd_decision); keep streams the documents again beside their decisions (zipped) and keeps those
 * kept; report turns the decisions into the JSON report. MinHash runs once, and exact and near dedup are
 * one clustering: exact duplicates have equal signatures, so the clusters, and what they keep, are those
 * of exact then near over the exact pass's survivors. */

/* A decision: the index of the document's cluster's first document (little-endian uint64), then DD_KEPT,
 * DD_EXACT or DD_NEAR. */
#define DD_DECISION 9

/* Bytes of a sign record for k permutations. */
static uint64_t dd_sign_len(int k) { return 16 + 8 * (uint64_t)k; }

static int sign_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                      const swarm_value *inputs, swarm_value *outputs)
{
    int rc = dd_minhash_infer(host, call, params, inputs, outputs);
    if (!rc)
        outputs[0].u.records.nbytes = inputs[0].u.records.count * dd_sign_len(dd_permutations(params));
    return rc;
}

/* Hashes and signs the batch in one pass over each document's normalized text, then lays the records out. */
static int sign_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                    const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *in = &inputs[0].u.records;
    swarm_records *out = &outputs[0].u.records;
    dd_scratch sc = {host, call};
    dd_alloc alloc = {dd_scratch_fn, &sc};
    uint64_t max_len = 0, *a, *b, *sig, len;
    dd_hash128 *hash;
    int nthreads = dd_threads(in->count), k, rc = dd_sign_check(host, call, params, in, out, 16, &k, &max_len);
    if (rc)
        return rc;
    len = dd_sign_len(k);
    sig = dd_alloc_array(&alloc, in->count * (uint64_t)k, 8);
    hash = dd_alloc_array(&alloc, in->count, sizeof *hash);
    if (!sig || !hash)
        return dd_fail(host, call, -1, NULL);
    if ((rc = dd_sign(host, call, params, in, max_len, nthreads, &alloc, &a, &b, sig, NULL, hash)))
        return rc;
    for (uint64_t i = 0; i < in->count; i++) {
        memcpy(out->bytes + i * len, &hash[i], 16);
        memcpy(out->bytes + i * len + 16, sig + i * (uint64_t)k, (size_t)(8 * (uint64_t)k));
    }
    for (uint64_t i = 0; i <= in->count; i++)
        out->offsets[i] = i * len;
    out->count = in->count;
    return SWARM_OK;
}

enum { C_BANDS = 0, C_ROWS = 1, C_THRESHOLD = 2 };

/* cluster's params: bands, rows and threshold as near checks them (near_check reads them at its indexes). */
static int cluster_check(const swarm_host *host, swarm_call *call, const swarm_param_value *params)
{
    swarm_param_value v[N_OUTPUT + 1];
    memset(v, 0, sizeof v);
    v[N_SHINGLE].i = 1;
    v[N_BANDS] = params[C_BANDS];
    v[N_ROWS] = params[C_ROWS];
    v[N_THRESHOLD] = params[C_THRESHOLD];
    v[N_FIELD].s = "";
    return near_check(host, call, v);
}

static int cluster_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                         const swarm_value *inputs, swarm_value *outputs)
{
    int rc = cluster_check(host, call, params);
    if (rc)
        return rc;
    outputs[0].u.records.count = inputs[0].u.records.count;
    outputs[0].u.records.nbytes = inputs[0].u.records.count * DD_DECISION;
    return SWARM_OK;
}

/* Checks that in holds sign records of k permutations, back to back and aligned for uint64. */
static int cluster_records(const swarm_host *host, swarm_call *call, const swarm_records *in, int k)
{
    uint64_t len = dd_sign_len(k);
    if (in->count && (uintptr_t)in->bytes % 8)
        return host->set_error(call, SWARM_E_INTERNAL, "the batch is not aligned for uint64");
    for (uint64_t i = 0; i <= in->count; i++)
        if (in->offsets[i] != i * len)
            return host->set_error(call, SWARM_E_BAD_INPUT,
                                   "record %llu is not a signature of %d permutations (sign's, %llu bytes)",
                                   (unsigned long long)(i ? i - 1 : 0), k, (unsigned long long)len);
    return in->nbytes < in->count * len ? host->set_error(call, SWARM_E_BAD_INPUT, "the signatures are cut short")
                                        : SWARM_OK;
}

/* Clusters the signed documents: exact duplicates (equal hashes) and near ones (LSH) in one union-find,
 * and writes each document's decision. */
static int cluster_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                       const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *in = &inputs[0].u.records;
    swarm_records *out = &outputs[0].u.records;
    dd_scratch sc = {host, call};
    dd_alloc alloc = {dd_scratch_fn, &sc};
    int rc = cluster_check(host, call, params), bands = (int)params[C_BANDS].i, rows = (int)params[C_ROWS].i;
    if (rc || (rc = cluster_records(host, call, in, bands * rows)))
        return rc;
    uint64_t n = in->count, stride = dd_sign_len(bands * rows) / 8, *parent, *exact;
    const uint64_t *rec = (const uint64_t *)(const void *)in->bytes;
    dd_hash128 *hash = dd_alloc_array(&alloc, n, sizeof *hash);
    uint8_t *empty = dd_alloc_array(&alloc, n, 1);
    parent = dd_alloc_array(&alloc, n, 8);
    exact = dd_alloc_array(&alloc, n, 8);
    if (!hash || !empty || !parent || !exact)
        return dd_fail(host, call, -1, NULL);
    for (uint64_t i = 0; i < n; i++) {
        memcpy(&hash[i], rec + i * stride, 16);
        empty[i] = rec[i * stride + 2] == UINT64_MAX;
    }
    if (dd_exact_cluster(n, hash, exact, &alloc) ||
        dd_lsh_cluster_strided(n, bands, rows, rec + 2, stride, empty, params[C_THRESHOLD].f, parent, &alloc))
        return dd_fail(host, call, -1, NULL);
    for (uint64_t i = 0; i < n; i++)
        dd_uf_union(parent, exact[i], i);
    dd_uf_flatten(parent, n);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t *d = out->bytes + i * DD_DECISION;
        for (int j = 0; j < 8; j++)
            d[j] = (uint8_t)(parent[i] >> (8 * j));
        d[8] = parent[i] == i ? DD_KEPT : exact[i] != i ? DD_EXACT : DD_NEAR;
        out->offsets[i] = i * DD_DECISION;
    }
    out->offsets[n] = n * DD_DECISION;
    out->count = n;
    return SWARM_OK;
}

/* Reads decision i of in into *parent and *kind: 0, or 1 when it is not one. */
static int dd_decision_at(const swarm_records *in, uint64_t i, uint64_t *parent, uint8_t *kind)
{
    const uint8_t *d = in->bytes + in->offsets[i];
    if (in->offsets[i + 1] - in->offsets[i] != DD_DECISION || d[8] > DD_NEAR)
        return 1;
    *parent = 0;
    for (int j = 0; j < 8; j++)
        *parent |= (uint64_t)d[j] << (8 * j);
    *kind = d[8];
    return 0;
}

static int keep_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                      const swarm_value *inputs, swarm_value *outputs)
{
    (void)params;
    return dd_infer_output(host, call, NULL, DD_OUT_KEPT, 0, inputs, outputs);
}

/* Copies the documents whose decision is DD_KEPT, in order. */
static int keep_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                    const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *in = &inputs[0].u.records, *dec = &inputs[1].u.records;
    dd_scratch sc = {host, call};
    dd_alloc alloc = {dd_scratch_fn, &sc};
    uint64_t parent;
    uint8_t *kind = dd_alloc_array(&alloc, in->count, 1);
    (void)params;
    if (dec->count != in->count)
        return host->set_error(call, SWARM_E_BAD_INPUT, "%llu documents but %llu decisions",
                               (unsigned long long)in->count, (unsigned long long)dec->count);
    if (!kind)
        return dd_fail(host, call, -1, NULL);
    for (uint64_t i = 0; i < in->count; i++)
        if (dd_decision_at(dec, i, &parent, &kind[i]))
            return host->set_error(call, SWARM_E_BAD_INPUT, "record %llu of decisions is not cluster's",
                                   (unsigned long long)i);
    dd_write_kept(in, NULL, kind, &outputs[0].u.records);
    return SWARM_OK;
}

static int report_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                        const swarm_value *inputs, swarm_value *outputs)
{
    int rc = near_check(host, call, params);
    if (rc)
        return rc;
    return dd_infer_output(host, call, params[N_FIELD].s, DD_OUT_REPORT, (uint64_t)dd_permutations(params), inputs,
                           outputs);
}

/* The report of the decisions: the params and permutations as near's report has them, the clusters with
 * their exact and near duplicates. */
static int report_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                      const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *in = &inputs[0].u.records;
    dd_scratch sc = {host, call};
    dd_alloc alloc = {dd_scratch_fn, &sc};
    int rc = near_check(host, call, params), k;
    if (rc)
        return rc;
    k = dd_permutations(params);
    uint64_t *parent = dd_alloc_array(&alloc, in->count, 8), *a = dd_alloc_array(&alloc, (uint64_t)k, 8),
             *b = dd_alloc_array(&alloc, (uint64_t)k, 8);
    uint8_t *kind = dd_alloc_array(&alloc, in->count, 1);
    if (!parent || !kind || !a || !b)
        return dd_fail(host, call, -1, NULL);
    for (uint64_t i = 0; i < in->count; i++)
        if (dd_decision_at(in, i, &parent[i], &kind[i]) || parent[i] > i || parent[parent[i]] != parent[i])
            return host->set_error(call, SWARM_E_BAD_INPUT, "record %llu is not one of cluster's decisions",
                                   (unsigned long long)i);
    dd_draw_permutations((uint64_t)params[N_SEED].i, k, a, b);
    json_t *report = near_report("dedup", params, NULL, a, b, k);
    if (!report || dd_report_clusters(report, parent, kind, in->count, &alloc)) {
        json_decref(report);
        return dd_fail(host, call, -1, NULL);
    }
    rc = dd_write_report(report, &outputs[0].u.records);
    json_decref(report);
    if (rc)
        return host->set_error(call, SWARM_E_INTERNAL, rc > 0 ? "the report is larger than infer's bound"
                                                              : "out of memory");
    return SWARM_OK;
}

/* ---- Descriptors --------------------------------------------------------------------------------- */
#define DD_OUTPUT_DOC(PERMS)                                                                                    \
    "kept: the records to keep, in input order; report: one JSON record with the params, " PERMS "the counts "  \
    "and each cluster of two or more as {\"keep\": i, \"removed\": [j, ...]} (input indexes)"

static const swarm_param exact_params[] = {
    {"field", SWARM_PARAM_STRING, "", DD_FIELD_DOC, NULL},
    {"output", SWARM_PARAM_ENUM, "kept", DD_OUTPUT_DOC(""), dd_output_choices},
};
#define DD_PARAM_THRESHOLD                                                                                      \
    {"threshold", SWARM_PARAM_FLOAT, "0",                                                                        \
     "0: every candidate pair is a duplicate (datatrove); above: only pairs whose signatures agree in at least " \
     "this fraction of entries",                                                                                 \
     NULL}
static const swarm_param near_params[] = {
    DD_PARAM_FIELD(DD_FIELD_DOC),
    DD_PARAM_SHINGLE,
    DD_PARAM_BANDS,
    DD_PARAM_ROWS,
    DD_PARAM_SEED,
    DD_PARAM_THRESHOLD,
    {"output", SWARM_PARAM_ENUM, "kept", DD_OUTPUT_DOC("the permutations [a, b], "), dd_output_choices},
};
static const swarm_param cluster_params[] = {DD_PARAM_BANDS, DD_PARAM_ROWS, DD_PARAM_THRESHOLD};
/* The report's params: near's but output, at the same indexes (field only names the field in the report). */
static const swarm_param report_params[] = {DD_PARAM_FIELD(DD_FIELD_DOC_TEXT), DD_PARAM_SHINGLE, DD_PARAM_BANDS,
                                            DD_PARAM_ROWS, DD_PARAM_SEED, DD_PARAM_THRESHOLD};
static const swarm_port sign_out[] = {
    {"out", SWARM_KIND_RECORDS,
     "one record per document: XXH3-128 of its normalized text (16 bytes, low then high half, little-endian), "
     "then its K = bands x rows signature entries as minhash writes them"}};
static const swarm_port cluster_in[] = {{"in", SWARM_KIND_RECORDS, "sign's records, one per document"}};
static const swarm_port decisions_out[] = {
    {"out", SWARM_KIND_RECORDS,
     "one record of 9 bytes per document: the index of its cluster's first document (little-endian uint64), "
     "then 0 (kept), 1 (an exact duplicate) or 2 (a near duplicate)"}};
static const swarm_port keep_in[] = {{"in", SWARM_KIND_RECORDS, "the documents"},
                                     {"decisions", SWARM_KIND_RECORDS, "cluster's decisions, one per document"}};
static const swarm_port report_in[] = {{"in", SWARM_KIND_RECORDS, "cluster's decisions, one per document"}};
static const swarm_port dd_out[] = {{"out", SWARM_KIND_RECORDS, "the kept records in input order, or one JSON report"}};

/* An op's one variant, the CPU's: NAME_cpu and NAME_variants. */
#define DD_CPU_VARIANT(NAME, INFER, RUN)                                                                        \
    static const swarm_variant NAME##_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, DD_NUMERICS, dd_probe,  \
                                             INFER, RUN};                                                      \
    static const swarm_variant *const NAME##_variants[] = {&NAME##_cpu}
DD_CPU_VARIANT(exact, exact_infer, exact_run);
DD_CPU_VARIANT(near, near_infer, near_run);
DD_CPU_VARIANT(minhash, dd_minhash_infer, minhash_run);
DD_CPU_VARIANT(sign, sign_infer, sign_run);
DD_CPU_VARIANT(cluster, cluster_infer, cluster_run);
DD_CPU_VARIANT(keep, keep_infer, keep_run);
DD_CPU_VARIANT(report, report_infer, report_run);

static const swarm_op exact_op = {
    .struct_size = sizeof(swarm_op),
    .name = "exact",
    .op_version = 1,
    .flags = SWARM_OP_DETERMINISTIC | SWARM_OP_WHOLE,
    .doc = "Exact dedup: keeps the first document of each normalized text (lowercase ASCII, digits to 0, "
           "punctuation to space, whitespace collapsed), compared by XXH3-128.",
    .params = exact_params,
    .n_params = sizeof exact_params / sizeof *exact_params,
    .inputs = dd_docs_in,
    .n_inputs = 1,
    .outputs = dd_out,
    .n_outputs = 1,
    .variants = exact_variants,
    .n_variants = 1,
};
static const swarm_op near_op = {
    .struct_size = sizeof(swarm_op),
    .name = "near",
    .op_version = 1,
    .flags = SWARM_OP_DETERMINISTIC | SWARM_OP_WHOLE,
    .doc = "Near dedup, MinHash + LSH as datatrove's FineWeb setup: word shingles of the normalized text, "
           "bands x rows permutations mod 2^61-1, documents sharing a band are clustered (union-find) and "
           "each cluster keeps its first document.",
    .params = near_params,
    .n_params = sizeof near_params / sizeof *near_params,
    .inputs = dd_docs_in,
    .n_inputs = 1,
    .outputs = dd_out,
    .n_outputs = 1,
    .variants = near_variants,
    .n_variants = 1,
};
static const swarm_op minhash_op = DD_MINHASH_OP(minhash_variants);
/* An op of the one-pass pipeline (see "One pass" above). */
#define DD_OP(NAME, FLAGS, DOC, PARAMS, INPUTS, OUTPUTS, VARIANTS)                                              \
    {sizeof(swarm_op), NAME, 1, SWARM_OP_DETERMINISTIC | (FLAGS), DOC, PARAMS, sizeof PARAMS / sizeof *PARAMS, \
     INPUTS, sizeof INPUTS / sizeof *INPUTS, OUTPUTS, 1, VARIANTS, 1}
static const swarm_op sign_op =
    DD_OP("sign", 0,
          "The documents' exact hashes and MinHash signatures in one pass over their normalized text (exact's "
          "hash, minhash's signature), for cluster.",
          dd_minhash_params, dd_docs_in, sign_out, sign_variants);
static const swarm_op cluster_op =
    DD_OP("cluster", SWARM_OP_WHOLE,
          "Exact and near dedup of signed documents in one clustering: equal exact hashes, then LSH over the "
          "signatures (as near); each cluster keeps its first document. Sees only the signatures, not the texts.",
          cluster_params, cluster_in, decisions_out, cluster_variants);
static const swarm_op keep_op = {
    .struct_size = sizeof(swarm_op),
    .name = "keep",
    .op_version = 1,
    .flags = SWARM_OP_DETERMINISTIC,
    .doc = "The documents whose decision (cluster's, zipped with them record by record) is to keep them.",
    .inputs = keep_in,
    .n_inputs = 2,
    .outputs = dd_out,
    .n_outputs = 1,
    .variants = keep_variants,
    .n_variants = 1,
};
static const swarm_op report_op =
    DD_OP("report", SWARM_OP_WHOLE,
          "One JSON record of cluster's decisions: params, permutations, counts (documents, kept, removed, exact, "
          "near) and each cluster of two or more as {\"keep\": i, \"exact\": [j, ...], \"near\": [j, ...]}.",
          report_params, report_in, dd_out, report_variants);
static const swarm_op *const dd_ops[] = {&exact_op, &near_op, &minhash_op, &sign_op, &cluster_op, &keep_op, &report_op};

static const swarm_plugin dd_plugin = {
    .abi_version = SWARM_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(swarm_plugin),
    .id = DD_PLUGIN_ID,
    .version = DD_VERSION,
    .ops = dd_ops,
    .n_ops = sizeof dd_ops / sizeof *dd_ops,
};

SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &dd_plugin;
}
