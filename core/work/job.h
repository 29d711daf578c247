/* job.h — a job of the compute swarm (COMPUTE.md): a pipeline, its params, and one unit per file of the
 * split param's bundle version.
 *
 * On the ledger a job is one root commit at refs/swarm/jobs/JOB whose message is the owner's signed spec
 * (record.h, type "job") and whose tree holds pipeline.lua (the pipeline's text) and units.json (the
 * units: [[FILE, SHA256, UNIT ID], ...] in file order). JOB is the spec's digest. The spec names:
 *   pipeline, pipeline_sha256   the file's base name and its text's SHA-256
 *   params                      every --set but the split and output params, as given
 *   bound                       params that name a bundle version: PARAM -> files:HEX (its files' id)
 *   split, input, input_torrent the split param, the version it names, that version's info-hash
 *   output_param, output        the param a unit's outputs go to, and its value (a relative path)
 *   needs                       what the pipeline needs of a provider's plugins (sw_job_needs)
 *   quorum, max_results, lease  agreeing keys needed, results before a unit is called non-deterministic,
 *                               seconds a claim lasts
 *   units, units_sha256         how many units, and the SHA-256 of units.json
 * A unit's id is the SHA-256 of the canonical JSON {"needs", "params", "pipeline_sha256"} where params
 * holds every param with the split param bound to file:SHA256 of the unit's file, bundle params to their
 * files id and the output param to its value: what determines the unit's output, and not the job.
 *
 * Ownership: sw_job_load returns a job freed with sw_job_free (NULL is fine). */
#ifndef SW_JOB_H
#define SW_JOB_H

#include <jansson.h>

#include "base/util.h"
#include "bundle/catalog.h"
#include "bundle/ledger.h"
#include "cache/store.h"
#include "host/plugin.h"
#include "pipeline/graph.h"
#include "work/ident.h"

#define SW_JOB_MAX_UNITS 100000
#define SW_JOB_UNITS_MAX (64u << 20) /* bytes of units.json */
#define SW_JOB_PIPELINE_MAX (1u << 20)
#define SW_JOB_PIPELINE_FILE "pipeline.lua"
#define SW_JOB_UNITS_FILE "units.json"

typedef struct {
    char *file;                  /* its path in the input version */
    char sha256[SW_HEX_LEN + 1]; /* the file's SHA-256 */
    char id[SW_HEX_LEN + 1];     /* the unit's id */
} sw_unit;

typedef struct {
    char id[SW_HEX_LEN + 1];     /* the job's id */
    char owner[SW_KEYID_LEN + 1];
    json_t *spec;                /* the signed spec, owned */
    char *pipeline;              /* its text */
    size_t pipeline_len;
    sw_unit *units;
    size_t nunits;
    int quorum, max_results;
    long long lease;
} sw_job;
void sw_job_free(sw_job *j);

typedef struct {
    const char *pipeline;                 /* the pipeline file */
    const char *const *keys, *const *vals; /* --set KEY=VALUE */
    size_t nsets;
    const char *split;                    /* the split param */
    const char *output_param;             /* default "output" */
    int quorum, max_results;
    long long lease;
} sw_job_opts;

/* A job's record and files, made and signed by id, ready to append as the job's root commit. */
typedef struct {
    char id[SW_HEX_LEN + 1];
    char *msg;
    char *units;
    char *pipeline;
    size_t pipeline_len;
} sw_job_draft;
void sw_job_draft_clear(sw_job_draft *d);
/* Builds a job (rules above), refusing with SW_EINVALID and a reason: a split param that does not name
 * a bundle version of cat, more than SW_JOB_MAX_UNITS files, a param naming a path of this machine, an
 * output that is not a safe relative path, a pipeline that needs its whole input at once (an op with
 * SWARM_OP_WHOLE) or publishes itself, or one that does not load with ps. */
int sw_job_make(sw_job_draft *out, sw_catalog *cat, const sw_plugins *ps, const sw_ident *id, const sw_job_opts *o);

/* Checks a job from its parts (rules above): the signed spec msg, the pipeline's text and units.json;
 * expect is the job id it must have (NULL: any). The gate for jobs from strangers. */
int sw_job_parse(sw_job **out, const char *msg, size_t len, const char *pipeline, size_t plen, const char *units,
                 size_t ulen, const char *expect);
/* Reads and checks the job at commit (its signed spec, files and unit ids; rules above); expect is the
 * job id its ref names (NULL: any). SW_EINVALID with the reason for anything that does not hold. */
int sw_job_load(sw_job **out, sw_catalog *c, const char *commit, const char *expect);

/* What a pipeline graph needs of a provider's plugins, one line per stage that uses a plugin ("op
 * ID/NAME@V numerics TAG", "format ID/NAME@V"), sorted and unique. SW_EINVALID for a graph that cannot
 * be split: an op that takes its whole input at once, a write stage that publishes. */
int sw_job_needs(sw_strlist *out, const sw_graph *g);

/* The --set pairs that run unit u in a folder holding out/ and p/PARAM/ (bundle params checked out
 * there by the provider): the split param bound to INPUT/FILE, the output to out/OUTPUT, each bound
 * param to p/PARAM (or p/PARAM/FILE for a version of one file, held_files[PARAM] naming it), plain
 * params as given. Values that could name a path of the provider's machine are refused (SW_EINVALID). */
int sw_job_unit_sets(sw_strlist *keys, sw_strlist *vals, const sw_job *j, const sw_unit *u, const json_t *single);

/* The id of the unit of a file with SHA-256 sha256 (hex) under spec (rules above). */
void sw_job_unit_id(char out[SW_HEX_LEN + 1], const json_t *spec, const char *sha256);
/* The files id of a manifest: files:HEX, HEX the SHA-256 of "PATH\tSHA256\n" per file in path order. */
void sw_job_files_id(char out[SW_HEX_LEN + 7], const sw_manifest *m);

#endif
