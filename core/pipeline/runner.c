/* runner.c — the pipeline runner's scheduler (see runner.h).
 *
 * The main thread walks the graph in waves: every stage whose inputs are ready is prepared (its key is
 * built and looked up; a hit completes it at once), the work of the stages that missed is run on the
 * pool, then each is finished on the main thread (its outputs recorded under its key). Only the main
 * thread touches the index and the catalog; work items touch files only (sw_store_commit). What each
 * kind of stage does lives in its own file behind sw_stage_kind (run.h). */
#include "pipeline/run.h"
#include "base/crash.h"
#include "base/error.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sw_run_report_free(sw_run_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->stages[i].reason);
        free(r->stages[i].output);
    }
    free(r->stages);
    memset(r, 0, sizeof *r);
}

int sw_run_forced(const sw_run_opts *o, const char *name)
{
    for (size_t k = 0; k < o->nforce; k++)
        if (!strcmp(o->force[k], name) || !strcmp(o->force[k], "all"))
            return 1;
    return 0;
}

static const sw_stage_kind *sw_kind_of(const sw_stage *sg)
{
    switch (sg->kind) {
    case SW_STAGE_INPUT:
        return &sw_kind_input;
    case SW_STAGE_READ:
        return &sw_kind_read;
    case SW_STAGE_OP:
        return &sw_kind_op;
    default:
        return &sw_kind_write;
    }
}

/* The task the pool runs: an item's own task, then its mark for the progress line. */
typedef struct {
    sw_task_fn fn;
    sw_item *it;
} sw_job;

static void sw_run_item(void *arg)
{
    sw_job *j = arg;
    sw_crash_doing(j->it->run->s[j->it->stage].label);
    j->fn(j->it);
    sw_crash_doing(NULL);
    __atomic_store_n(&j->it->finished, 1, __ATOMIC_RELEASE);
    free(j);
}

void sw_run_submit(sw_pool *pool, sw_task_fn fn, sw_item *it)
{
    sw_job *j = sw_malloc(sizeof *j);
    *j = (sw_job){fn, it};
    sw_pool_submit(pool, sw_run_item, j);
}

void sw_run_gpu(sw_run *run, sw_pool *pool)
{
    if (run->gpu_loaded || !run->o->gpu_later)
        return;
    if (pool)
        sw_pool_wait(pool);
    sw_plugins_load_gpu(run->o->gpu_later);
    run->gpu_loaded = 1;
}

void sw_run_items(sw_run *run, size_t i, size_t n)
{
    sw_srun *s = &run->s[i];
    s->items = sw_calloc(n, sizeof *s->items);
    s->nitems = n;
    for (size_t k = 0; k < n; k++)
        s->items[k] = (sw_item){.run = run, .stage = i, .index = k};
}

int sw_run_record(sw_run *run, size_t i, const sw_hash *objs, size_t n)
{
    sw_srun *s = &run->s[i];
    sw_hash h;
    if (!objs) {
        if (sw_id_hash(&h, s->id))
            return SW_ERROR;
        objs = &h;
        n = 1;
    }
    return s->no_cache ? 0 : sw_index_stage_put(sw_store_index(run->st), &s->key, s->id, objs, n);
}

/* A whole op's progress (its one item): the share of its input gathered into the batch, then that the op
 * runs over all of it. Returns the length written into buf. */
static size_t sw_whole_progress(char *buf, size_t len, const sw_srun *s)
{
    uint64_t at = __atomic_load_n(&s->items[0].gathered, __ATOMIC_RELAXED);
    uint64_t total = (uint64_t)(s->items[0].seg_end - s->items[0].seg);
    int w;
    if (at < total)
        w = snprintf(buf, len, "gathering %llu%% of %llu records", (unsigned long long)(at * 100 / total),
                     (unsigned long long)s->whole);
    else
        w = snprintf(buf, len, "running over all %llu records", (unsigned long long)s->whole);
    return w < 0 ? 0 : (size_t)w < len ? (size_t)w : len - 1;
}

/* On a terminal: one line naming the stages at work and how many of their items are done. */
static void sw_progress_line(const sw_run *run, const size_t *queued, size_t nq)
{
    char line[512];
    size_t n = (size_t)snprintf(line, sizeof line, "  running:");
    for (size_t q = 0; q < nq && n < sizeof line - 64; q++) {
        const sw_srun *s = &run->s[queued[q]];
        size_t done = 0;
        for (size_t k = 0; k < s->nitems; k++)
            done += (size_t)__atomic_load_n(&s->items[k].finished, __ATOMIC_ACQUIRE);
        n += (size_t)snprintf(line + n, sizeof line - n, "%s %.40s ", q ? "," : "", run->g->v[queued[q]].name);
        n = n < sizeof line ? n : sizeof line - 1;
        if (s->whole && !done)
            n += sw_whole_progress(line + n, sizeof line - n, s);
        else
            n += (size_t)snprintf(line + n, sizeof line - n, "%zu/%zu", done, s->nitems);
        n = n < sizeof line ? n : sizeof line - 1;
    }
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
}

static int sw_finish(sw_run *run, size_t i);

/* Whether every tensor of stage j's collection has its bytes where this run can read them. */
static int sw_tensors_held(const sw_run *run, size_t j)
{
    const sw_tensors *c = &run->s[j].tensors;
    for (size_t k = 0; k < c->n; k++) {
        char *path = sw_blob_path(run, &c->t[k].blob);
        int held = path != NULL;
        free(path);
        if (!held)
            return 0;
    }
    return 1;
}

/* Makes the bytes of stage j's tensors readable in this run. An op stage's output tensors are kept only
 * by the run that made them (sw_tmp_keep: its collection is stored, not its bytes), so when j was a
 * cache hit and a stage that missed needs its bytes, j runs again, its own inputs first; being
 * deterministic, it must give the same collection. */
static int sw_materialize(sw_run *run, size_t j, sw_pool *pool)
{
    const sw_stage *sg = &run->g->v[j];
    sw_srun *s = &run->s[j];
    if (sg->kind != SW_STAGE_OP || sg->out != SW_VAL_TENSORS || run->g->v[sg->inputs[0]].out != SW_VAL_TENSORS)
        return 0;
    int r = sw_load_tensors(run, j);
    if (r || sw_tensors_held(run, j))
        return r;
    for (size_t k = 0; k < sg->ninputs && !r; k++)
        r = sw_materialize(run, sg->inputs[k], pool);
    if (r)
        return r;
    if (run->o->note) {
        char *text = sw_sprintf("stage '%s' runs again: a later stage needs its tensors' bytes, which only the run "
                                "that made them keeps", sg->name);
        run->o->note(run->o->note_ctx, text);
        free(text);
    }
    char *was = sw_strdup(s->id);
    sw_tensors_free(&s->made);
    r = sw_kind_op.queue(run, j, pool);
    sw_pool_wait(pool);
    if (!r)
        r = sw_finish(run, j);
    if (!r && strcmp(was, s->id))
        r = sw_error(SW_ECONFLICT, "stage '%s' (%s) gave other tensors when run again for its bytes (%s, cached "
                     "%s): is its op deterministic?", sg->name, sg->where, s->id, was);
    free(was);
    return r;
}

/* Builds the key of a read, op or write stage and looks it up; on a miss makes the bytes of its inputs
 * readable (sw_materialize) and queues the stage's work. Returns 0 when the stage is complete (or, in a
 * dry run, judged), 1 when work was queued. */
static int sw_prepare_keyed(sw_run *run, size_t i, sw_pool *pool, const sw_stage_kind *k)
{
    sw_srun *s = &run->s[i];
    sw_stage_report *rep = &run->rep->stages[i];
    json_t *parts = NULL;
    int r = k->parts(&parts, run, i);
    if (!r)
        r = sw_lookup(run, i, parts);
    json_decref(parts);
    if (r < 0)
        return r;
    if (r == 1) {
        rep->status = "cached";
        return k->cached ? k->cached(run, i) : 0;
    }
    if (run->o->dry_run) {
        rep->status = "would run";
        s->pending = 1;
        return 0;
    }
    rep->status = "ran";
    const sw_stage *sg = &run->g->v[i];
    for (size_t in = 0; in < sg->ninputs && !r; in++)
        r = sw_materialize(run, sg->inputs[in], pool);
    if (!r)
        r = k->queue(run, i, pool);
    return r ? r : 1;
}

/* "stage 'NAME' (FILE:LINE), plugin ID op OP" (or format FORMAT): what a stage's items do, for the crash
 * report. */
static char *sw_stage_label(const sw_stage *sg)
{
    if (sg->kind == SW_STAGE_OP)
        return sw_sprintf("stage '%s' (%s), plugin %s op %s", sg->name, sg->where, sg->plugin->desc->id,
                          sw_stage_op(sg)->name);
    if (sg->plugin)
        return sw_sprintf("stage '%s' (%s), plugin %s format %s", sg->name, sg->where, sg->plugin->desc->id,
                          sg->format_name);
    return sw_sprintf("stage '%s' (%s)", sg->name, sg->where);
}

/* Returns 0 (complete), 1 (work queued) or an error. */
static int sw_prepare(sw_run *run, size_t i, sw_pool *pool)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    s->t0 = sw_now();
    s->label = sw_stage_label(sg);
    for (size_t k = 0; k < sg->ninputs; k++)
        if (run->s[sg->inputs[k]].pending) {
            s->pending = 1;
            run->rep->stages[i].status = "pending";
            return 0;
        }
    const sw_stage_kind *k = sw_kind_of(sg);
    int r = k->prepare ? k->prepare(run, i, pool) : SW_RUN_KEYED;
    return r == SW_RUN_KEYED ? sw_prepare_keyed(run, i, pool, k) : r;
}

/* Collects a finished stage's work: the first failed item fails the stage; otherwise its kind commits
 * its outputs and records them under its key. */
static int sw_finish(sw_run *run, size_t i)
{
    sw_srun *s = &run->s[i];
    for (size_t k = 0; k < s->nitems; k++)
        if (s->items[k].err)
            return sw_error(s->items[k].err, "%s", s->items[k].msg);
    return sw_kind_of(&run->g->v[i])->finish(run, i);
}

/* Marks a stage complete: its sinks (not in a dry run), its run record, its report line. */
static int sw_complete(sw_run *run, size_t i, void (*report)(void *, const sw_graph *, const sw_run_report *, size_t),
                       void *ctx)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    sw_stage_report *rep = &run->rep->stages[i];
    int r = 0;
    s->done = 1;
    if (!s->pending && !run->o->dry_run) {
        const sw_stage_kind *k = sw_kind_of(sg);
        if (k->sinks)
            r = k->sinks(run, i);
        if (!r && s->parts) {
            char *old = NULL;
            int g = sw_index_run_get(&old, sw_store_index(run->st), run->g->real, sg->name);
            if (g == SW_ENOTFOUND || (!g && strcmp(old, s->parts)))
                r = sw_index_run_put(sw_store_index(run->st), run->g->real, sg->name, s->parts, &s->key);
            else
                r = g;
            free(old);
        }
        if (r)
            return r;
    }
    rep->output = s->id ? sw_strdup(s->id) : NULL;
    rep->seconds = sw_now() - s->t0;
    if (!strcmp(rep->status, "ran") || !strcmp(rep->status, "hashed"))
        run->rep->ran++;
    else if (!strcmp(rep->status, "cached") || !strcmp(rep->status, "unchanged"))
        run->rep->cached++;
    if (report)
        report(ctx, run->g, run->rep, i);
    return 0;
}

static void sw_srun_clear(sw_srun *s)
{
    free(s->id);
    for (size_t k = 0; k < s->nfiles; k++) {
        free(s->files[k].rel);
        free(s->files[k].disk);
    }
    free(s->files);
    sw_tensors_free(&s->tensors);
    sw_tensors_free(&s->made);
    free(s->parts);
    free(s->label);
    if (s->staged)
        unlink(s->staged); /* a write stage that failed before its sinks */
    free(s->staged);
    for (size_t k = 0; k < s->nitems; k++) {
        if (s->items[k].tmp)
            unlink(s->items[k].tmp); /* segments joined, committed or failed: never needed again */
        free(s->items[k].tmp);
        free(s->items[k].out.name); /* an op's renamed tensor that finish did not take */
    }
    free(s->items);
    sw_map_close(&s->in);
    sw_map_close(&s->in2);
}

int sw_pipeline_run(sw_run_report *rep, const sw_graph *g, sw_store *st, sw_catalog *cat, const sw_run_opts *o,
                    void (*report)(void *ctx, const sw_graph *g, const sw_run_report *rep, size_t stage), void *ctx)
{
    memset(rep, 0, sizeof *rep);
    rep->n = g->n;
    rep->stages = sw_calloc(g->n, sizeof *rep->stages);
    for (size_t k = 0; k < o->nforce; k++)
        if (strcmp(o->force[k], "all") && !sw_graph_find((sw_graph *)g, o->force[k]))
            return sw_error(SW_ENOTFOUND, "--force %s: the pipeline has no stage '%s'", o->force[k], o->force[k]);
    int r = o->dry_run ? 0 : sw_write_folders(g);
    if (r)
        return r;
    sw_run run = {g, st, cat, o, sw_calloc(g->n, sizeof(sw_srun)), rep, PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, NULL, 0, 0, 0};
    sw_pool *pool = o->dry_run ? NULL : sw_pool_new(o->jobs);
    size_t *wave = sw_malloc(g->n * sizeof *wave), *queued = sw_malloc(g->n * sizeof *queued);
    while (!r) {
        size_t nw = 0, nq = 0;
        for (size_t i = 0; i < g->n; i++) {
            int ready = !run.s[i].done;
            for (size_t k = 0; ready && k < g->v[i].ninputs; k++)
                ready = run.s[g->v[i].inputs[k]].done;
            if (ready)
                wave[nw++] = i;
        }
        if (!nw)
            break;
        for (size_t w = 0; w < nw && !r; w++) {
            int p = sw_prepare(&run, wave[w], pool);
            if (p == 1)
                queued[nq++] = wave[w];
            else if (p == 0)
                r = sw_complete(&run, wave[w], report, ctx);
            else
                r = p;
            if (r)
                sw_error_wrap(r, "stage '%s' (%s)", g->v[wave[w]].name, g->v[wave[w]].where);
        }
        if (pool && o->progress && nq) {
            while (!sw_pool_wait_for(pool, 0.2))
                sw_progress_line(&run, queued, nq);
            fputs("\r\033[K", stderr);
        } else if (pool) {
            sw_pool_wait(pool);
        }
        for (size_t q = 0; q < nq && !r; q++) {
            r = sw_finish(&run, queued[q]);
            if (!r)
                r = sw_complete(&run, queued[q], report, ctx);
            if (r)
                sw_error_wrap(r, "stage '%s' (%s)", g->v[queued[q]].name, g->v[queued[q]].where);
        }
    }
    sw_pool_free(pool);
    for (size_t i = 0; i < g->n; i++)
        sw_srun_clear(&run.s[i]);
    for (size_t k = 0; k < run.nkept; k++) {
        unlink(run.kept[k].path);
        free(run.kept[k].path);
    }
    free(run.kept);
    sw_run_bufs_free(&run);
    free(run.s);
    free(wave);
    free(queued);
    return r;
}
