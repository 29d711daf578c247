/* dedup_ops.h — what the dedup plugin's `minhash` op is (name, version, flags, params, ports, numerics tag,
 * the param checks and the infer), and what every variant of it and of `near` checks the same way (the
 * signature params, the field param, a batch's offsets), shared by the CPU plugin (dedup.c) and its GPU
 * companion (hip/dedup_hip.cpp), so that the two describe the same op and the host can check that they
 * do. C99 and C++: no designated initializers, no compound literals, nothing of jansson or libxxhash. */
#ifndef SW_DEDUP_OPS_H
#define SW_DEDUP_OPS_H

#include "swarm_plugin.h"

#include "common/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define DD_PLUGIN_ID "org.swarm.dedup"
#define DD_VERSION "0.1.0"

/* Variants with this tag give the bytes FORMATS.md's "Near dedup" defines (swarm-dedup-norm-1, XXH64 seed
 * 0, the permutations of minhash.h). */
#define DD_NUMERICS "dedup-1"

/* The most permutations (bands x rows) a signature has. */
#define DD_MAX_PERMUTATIONS 1024

/* The params near and minhash share, at these indexes of both schemas. */
enum { DD_P_FIELD = 0, DD_P_SHINGLE = 1, DD_P_BANDS = 2, DD_P_ROWS = 3, DD_P_SEED = 4 };

#define DD_FIELD_DOC_TEXT                                                                                       \
    "\"\": each record is a document's text; else each record is a JSON object and the text is its string "   \
    "member of this name"
/* field's doc for exact and near, which keep or drop records. */
#define DD_FIELD_DOC DD_FIELD_DOC_TEXT " (the whole record is kept or dropped; a record without it is an error)"

/* The schema entries of those params (near's and minhash's schemas are built from them). */
#define DD_PARAM_FIELD(DOC) {"field", SWARM_PARAM_STRING, "", DOC, NULL}
#define DD_PARAM_SHINGLE                                                                                        \
    {"shingle", SWARM_PARAM_INT, "5", "words per shingle (a shorter document is one shingle)", NULL}
#define DD_PARAM_BANDS {"bands", SWARM_PARAM_INT, "14", "LSH bands: documents with an equal band are candidates", NULL}
#define DD_PARAM_ROWS                                                                                           \
    {"rows", SWARM_PARAM_INT, "8", "signature entries per band (bands x rows permutations, at most 1024)", NULL}
#define DD_PARAM_SEED {"seed", SWARM_PARAM_INT, "1", "seeds splitmix64, which draws the permutations (a, b)", NULL}

static const swarm_param dd_minhash_params[] = {DD_PARAM_FIELD(DD_FIELD_DOC_TEXT " (a record without it is an error)"),
                                                DD_PARAM_SHINGLE, DD_PARAM_BANDS, DD_PARAM_ROWS,
                                                DD_PARAM_SEED};
static const swarm_port dd_docs_in[] = {
    {"in", SWARM_KIND_RECORDS, "documents: text, or JSON objects when field is set"}};
static const swarm_port dd_minhash_out[] = {
    {"out", SWARM_KIND_RECORDS,
     "one record per document: its K = bands x rows signature entries as little-endian uint64 (8 K bytes); "
     "every entry is UINT64_MAX for a document without words"}};

#define DD_MINHASH_DOC                                                                                          \
    "MinHash signatures, as near computes them before LSH: the normalized text's shingles of `shingle` words " \
    "(a shorter document is one shingle), XXH64 (seed 0) of each, and for each of K = bands x rows "          \
    "permutations (a h + b) mod (2^61 - 1) drawn from splitmix64(seed), the least over the shingles; one "     \
    "record of K little-endian uint64 per document (all UINT64_MAX when it has no words)."

/* The swarm_op of minhash around a variants array (a macro, so each side's static descriptor is a
 * constant expression). Bump op_version whenever the signatures for the same input and params may
 * change (the normalization, the shingles, the hash, the permutations). */
#define DD_MINHASH_OP(VARIANTS)                                                                                 \
    {sizeof(swarm_op), "minhash", 1, SWARM_OP_DETERMINISTIC, DD_MINHASH_DOC, dd_minhash_params,          \
     sizeof dd_minhash_params / sizeof *dd_minhash_params, dd_docs_in, 1, dd_minhash_out, 1, VARIANTS,        \
     sizeof VARIANTS / sizeof *VARIANTS}

/* ---- Checks every variant makes alike ------------------------------------------------------------------ */

/* The field param: any UTF-8 string ("" = records are plain text). */
static inline int dd_check_field(const swarm_host *host, swarm_call *call, const char *field)
{
    if (field && !sw_utf8_valid((const uint8_t *)field, strlen(field)))
        return host->set_error(call, SWARM_E_BAD_INPUT, "field is not valid UTF-8");
    return SWARM_OK;
}

/* The signature params (shingle, bands, rows at DD_P_*): shingle, bands and rows at least 1, at most
 * DD_MAX_PERMUTATIONS permutations. */
static inline int dd_check_signature(const swarm_host *host, swarm_call *call, const swarm_param_value *params)
{
    int64_t shingle = params[DD_P_SHINGLE].i, bands = params[DD_P_BANDS].i, rows = params[DD_P_ROWS].i;
    if (shingle < 1)
        return host->set_error(call, SWARM_E_BAD_INPUT, "shingle %lld: a shingle has at least 1 word",
                               (long long)shingle);
    if (bands < 1 || rows < 1)
        return host->set_error(call, SWARM_E_BAD_INPUT, "bands %lld, rows %lld: both must be at least 1",
                               (long long)bands, (long long)rows);
    if (bands > DD_MAX_PERMUTATIONS || rows > DD_MAX_PERMUTATIONS || bands * rows > DD_MAX_PERMUTATIONS)
        return host->set_error(call, SWARM_E_BAD_INPUT, "bands %lld x rows %lld: at most %d permutations",
                               (long long)bands, (long long)rows, DD_MAX_PERMUTATIONS);
    return SWARM_OK;
}

/* The permutations of a checked signature: bands x rows. */
static inline int dd_permutations(const swarm_param_value *params)
{
    return (int)(params[DD_P_BANDS].i * params[DD_P_ROWS].i);
}

/* Checks a batch's offsets (from 0, never decreasing, within nbytes): 0 and the longest record's length
 * in *max_len, or 1 with the reason in msg. Reads the offsets: host memory only. */
static inline int dd_check_records(const swarm_records *in, uint64_t *max_len, char *msg, size_t cap)
{
    uint64_t most = 0;
    if (!in->count && (!in->offsets || !in->offsets[0])) {
        *max_len = 0;
        return 0;
    }
    if (!in->offsets || in->offsets[0] != 0) {
        snprintf(msg, cap, "record 0: offsets do not start at 0");
        return 1;
    }
    for (uint64_t i = 0; i < in->count; i++) {
        uint64_t a = in->offsets[i], b = in->offsets[i + 1];
        if (b < a || b > in->nbytes) {
            snprintf(msg, cap, "record %llu: bad offsets", (unsigned long long)i);
            return 1;
        }
        most = b - a > most ? b - a : most;
    }
    if (most > SIZE_MAX / 2) {
        snprintf(msg, cap, "a record of %llu bytes is too large", (unsigned long long)most);
        return 1;
    }
    *max_len = most;
    return 0;
}

/* ---- minhash: the params and the infer, the same for every variant -------------------------------- */

static inline int dd_minhash_check(const swarm_host *host, swarm_call *call, const swarm_param_value *params)
{
    int rc = dd_check_signature(host, call, params);
    return rc ? rc : dd_check_field(host, call, params[DD_P_FIELD].s);
}

/* One record of 8 K bytes per document. */
static inline int dd_minhash_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                                   const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *in = &inputs[0].u.records;
    swarm_records *out = &outputs[0].u.records;
    int rc = dd_minhash_check(host, call, params);
    uint64_t rec;
    if (rc)
        return rc;
    rec = 8 * (uint64_t)dd_permutations(params);
    if (in->count > UINT64_MAX / 2 / rec)
        return host->set_error(call, SWARM_E_BAD_INPUT, "%llu records are too many",
                               (unsigned long long)in->count);
    out->count = in->count;
    out->nbytes = in->count * rec;
    return SWARM_OK;
}

/* Writes the offsets of minhash's output: count records of 8 K bytes (host memory). */
static inline void dd_minhash_offsets(swarm_records *out, uint64_t count, int k)
{
    for (uint64_t i = 0; i <= count; i++)
        out->offsets[i] = i * 8 * (uint64_t)k;
    out->count = count;
}

#endif
