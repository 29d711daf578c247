/* runner.h — runs a pipeline graph against the store: each stage's cache key (PIPELINES.md, "The stage
 * cache key"), a lookup, and on a miss the stage's work on a pool of worker threads, in waves of stages
 * whose inputs are ready (independent stages run together; an op runs over a collection's tensors in
 * parallel). A stage's outputs are committed to the store and recorded under its key only when all of
 * its work succeeded, so a failure leaves no partial result and a rerun resumes after the last stage
 * that finished. Lua is not involved: the graph is plain data. */
#ifndef SW_RUNNER_H
#define SW_RUNNER_H

#include "bundle/catalog.h"
#include "pipeline/graph.h"
#include "cache/store.h"

typedef struct {
    int jobs;          /* worker threads, at least 1 */
    int dry_run;       /* report what would run; run nothing, write nothing */
    int explain;       /* say for each stage why it ran */
    const char *const *force; /* names of stages to run even when cached ("all": every stage) */
    size_t nforce;
    int verbosity;     /* as sw_cli's */
    int progress;      /* draw a progress line on stderr */
    void (*note)(void *ctx, const char *text); /* a note for the user, from the main thread (may be NULL) */
    void *note_ctx;
    /* The registry whose deferred GPU companions (SW_PLUGINS_DEFER_GPU) load before the first op runs, or
     * before the key of a stage that asks for device "hip"; NULL when it deferred none. A no-op rerun
     * never loads them. */
    sw_plugins *gpu_later;
} sw_run_opts;

/* What happened to one stage. */
typedef struct {
    const char *status; /* "cached", "ran", "hashed" (an input read for the first time), "unchanged" (an
                           input known by its stat data, or lines read in place), "would run", "would
                           hash", "pending" (dry run) */
    char *reason;       /* why it ran (or would), for --explain; NULL when cached */
    char *output;       /* the value id it yields, or NULL in a dry run */
    double seconds;
} sw_stage_report;

typedef struct {
    sw_stage_report *stages; /* one per graph stage, in graph order */
    size_t n;
    size_t ran, cached;
} sw_run_report;
void sw_run_report_free(sw_run_report *r);

/* Whether o forces stage name to run. */
int sw_run_forced(const sw_run_opts *o, const char *name);

/* Runs g. Stage lines go to report(ctx, stage index) as each stage finishes (may be NULL). On failure
 * the error names the stage and its pipeline line; what finished before stays cached. */
int sw_pipeline_run(sw_run_report *rep, const sw_graph *g, sw_store *st, sw_catalog *cat, const sw_run_opts *o,
                    void (*report)(void *ctx, const sw_graph *g, const sw_run_report *rep, size_t stage), void *ctx);

#endif
