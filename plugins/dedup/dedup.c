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
        dd_write_kept(in, parent, out);
        return SWARM_OK;
    }
    if (!report || dd_report_clusters(report, parent, in->count, alloc)) {
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

/* The start of a report: op, params (added by the caller), hash and normalization. NULL when memory runs
 * out. */
static json_t *dd_report_new(const char *op, const char *hash, const char *field, int64_t output, json_t *params)
{
    json_t *r = json_object();
    if (!r || !params || json_object_set_new(params, "field", json_string(field ? field : "")) ||
        json_object_set_new(params, "output", json_string(dd_output_choices[output])) ||
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
        report = dd_report_new("exact", "xxh3_128", params[E_FIELD].s, params[E_OUTPUT].i, json_object());
    return dd_finish(host, call, "exact", params[E_OUTPUT].i, report, parent, inputs, outputs, &alloc, nthreads);
}

/* ---- Signatures: near and minhash ---------------------------------------------------------------- */

/* The one signature pass of near and minhash: draws the K = bands x rows permutations of params' seed
 * into *a and *b (scratch) and signs each document of in (dd_check_records accepted it; max_len its
 * longest record) into sig (in->count x K entries), marking empty[i] (when not NULL) for a document
 * without shingles. SWARM_OK, or the call's failure. */
static int dd_sign(const swarm_host *host, swarm_call *call, const swarm_param_value *params, const swarm_records *in,
                   uint64_t max_len, int nthreads, const dd_alloc *alloc, uint64_t **a, uint64_t **b, uint64_t *sig,
                   uint8_t *empty)
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

/* The near report's head: the params and the permutations as [a, b] pairs. */
static json_t *near_report(const swarm_param_value *params, const uint64_t *a, const uint64_t *b, int k)
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
    r = dd_report_new("near", "xxh64", params[N_FIELD].s, params[N_OUTPUT].i, pp);
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
    if ((rc = dd_sign(host, call, params, in, max_len, nthreads, &alloc, &a, &b, sig, empty)))
        return rc;
    if ((rc = dd_lsh_cluster(in->count, (int)params[N_BANDS].i, (int)params[N_ROWS].i, sig, empty,
                             params[N_THRESHOLD].f, parent, &alloc)))
        return dd_fail(host, call, rc, NULL);
    json_t *report = params[N_OUTPUT].i == DD_OUT_REPORT ? near_report(params, a, b, k) : NULL;
    return dd_finish(host, call, "near", params[N_OUTPUT].i, report, parent, inputs, outputs, &alloc, nthreads);
}

/* ---- minhash ------------------------------------------------------------------------------------- */

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
    char msg[256];
    uint64_t max_len = 0, *a, *b, *sig;
    int nthreads = dd_threads(in->count), rc = dd_minhash_check(host, call, params), k;
    if (rc)
        return rc;
    k = dd_permutations(params);
    if (dd_check_records(in, &max_len, msg, sizeof msg))
        return host->set_error(call, SWARM_E_BAD_INPUT, "%s", msg);
    if (out->count < in->count || in->count > out->nbytes / 8 / (uint64_t)k)
        return host->set_error(call, SWARM_E_INTERNAL, "the output is smaller than infer asked");
    sig = (uintptr_t)out->bytes % 8 == 0 ? (uint64_t *)(void *)out->bytes
                                         : dd_alloc_array(&alloc, in->count * (uint64_t)k, 8);
    if (!sig)
        return dd_fail(host, call, -1, NULL);
    if ((rc = dd_sign(host, call, params, in, max_len, nthreads, &alloc, &a, &b, sig, NULL)))
        return rc;
    if ((void *)sig != (void *)out->bytes && in->count)
        memcpy(out->bytes, sig, (size_t)(in->count * (uint64_t)k * 8));
    dd_minhash_offsets(out, in->count, k);
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
static const swarm_param near_params[] = {
    DD_PARAM_FIELD(DD_FIELD_DOC),
    DD_PARAM_SHINGLE,
    DD_PARAM_BANDS,
    DD_PARAM_ROWS,
    DD_PARAM_SEED,
    {"threshold", SWARM_PARAM_FLOAT, "0",
     "0: every candidate pair is a duplicate (datatrove); above: only pairs whose signatures agree in at least "
     "this fraction of entries",
     NULL},
    {"output", SWARM_PARAM_ENUM, "kept", DD_OUTPUT_DOC("the permutations [a, b], "), dd_output_choices},
};
static const swarm_port dd_out[] = {{"out", SWARM_KIND_RECORDS, "the kept records in input order, or one JSON report"}};

static const swarm_variant exact_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, DD_NUMERICS, dd_probe, exact_infer,
                                        exact_run};
static const swarm_variant *const exact_variants[] = {&exact_cpu};
static const swarm_variant near_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, DD_NUMERICS, dd_probe, near_infer,
                                       near_run};
static const swarm_variant *const near_variants[] = {&near_cpu};
static const swarm_variant minhash_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, DD_NUMERICS, dd_probe,
                                          dd_minhash_infer, minhash_run};
static const swarm_variant *const minhash_variants[] = {&minhash_cpu};

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
static const swarm_op *const dd_ops[] = {&exact_op, &near_op, &minhash_op};

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
