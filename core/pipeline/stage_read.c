/* stage_read.c — read stages: a tensor format (safetensors, GGUF, ...) read into a collection, a records
 * format read file by file (one item per file, joined in path order), or lines read in place. */
#include "pipeline/run.h"
#include "base/error.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a format's read of one file of a folder may ask (ABI 1.3, meta_value on port 0): the metadata the
 * input's files before it reported, in path order, so that one file's reading can depend on another's
 * (the hf format pads tokenizer.json's vocabulary to config.json's vocab_size). */
static const char *sw_earlier_name(const void *ctx, size_t port)
{
    (void)ctx, (void)port;
    return NULL;
}

static const char *sw_earlier_meta(const void *ctx, size_t port, const char *key)
{
    return port == 0 ? sw_tensors_meta(ctx, key) : NULL;
}

static int sw_earlier_has(const void *ctx, size_t port, const char *name)
{
    return port == 0 && sw_tensors_has(ctx, name);
}

static void sw_read_task(void *arg)
{
    sw_item *it = arg;
    sw_run *run = it->run;
    const sw_stage *sg = &run->g->v[it->stage];
    sw_srun *s = &run->s[it->stage];
    const sw_srun *in = &run->s[sg->inputs[0]];
    const sw_tview earlier = {sw_earlier_name, sw_earlier_meta, sw_earlier_has, &s->made};
    for (size_t k = 0; k < in->nfiles; k++) {
        const sw_rfile *f = &in->files[k];
        sw_map m;
        sw_tindex ix;
        int r = sw_map_open(&m, f->disk);
        if (!r)
            r = sw_format_read(&ix, sg->plugin, sg->format, f->rel, &earlier, m.p, m.len, run->o->verbosity);
        sw_map_close(&m);
        if (r) {
            sw_error_wrap(r, "%s", f->rel);
            return sw_item_fail(it, r);
        }
        for (size_t t = 0; t < ix.ntensors; t++) {
            const swarm_tensor_entry *e = &ix.tensors[t];
            sw_tref *tr = sw_tensors_add(&s->made, e->name);
            tr->dtype = e->dtype;
            tr->ndim = e->ndim;
            memcpy(tr->shape, e->shape, sizeof tr->shape);
            tr->blob = f->hash;
            tr->offset = e->offset;
            tr->nbytes = e->nbytes;
        }
        /* Metadata: the same key in two shards must carry the same value. */
        for (size_t t = 0; t < ix.nmeta && !it->err; t++) {
            size_t j = 0;
            while (j < s->made.nmeta && strcmp(s->made.meta[j].key, ix.meta[t].key))
                j++;
            if (j == s->made.nmeta)
                sw_tensors_add_meta(&s->made, ix.meta[t].key, ix.meta[t].value);
            else if (strcmp(s->made.meta[j].value, ix.meta[t].value))
                sw_item_fail(it, sw_error(SW_EINVALID, "metadata '%s' differs between the input's files",
                                          ix.meta[t].key));
        }
        sw_tindex_free(&ix);
        if (it->err)
            return;
    }
    const char *dup = sw_first_dup(s->made.t, s->made.n, sizeof *s->made.t);
    if (dup)
        sw_item_fail(it, sw_error(SW_EINVALID, "tensor '%s' is in two of the input's files", dup));
}

/* A records format's read of one file: its bytes come decompressed, its records go framed into a temp
 * file of the store. */
typedef struct {
    sw_unpack *u;
    sw_fwriter *w;
} sw_rread;

static int64_t sw_rread_pull(void *ctx, void *buf, size_t cap)
{
    return sw_unpack_read(((sw_rread *)ctx)->u, buf, cap);
}

static int sw_rread_put(void *ctx, const void *data, size_t len)
{
    return sw_fwriter_record(((sw_rread *)ctx)->w, SW_FRAME_FRAMED, data, len);
}

/* Reads input file it->index through the stage's records format; the stage's finish joins the files'
 * records in path order. */
static void sw_rread_task(void *arg)
{
    sw_item *it = arg;
    sw_run *run = it->run;
    const sw_stage *sg = &run->g->v[it->stage];
    const sw_rfile *f = &run->s[sg->inputs[0]].files[it->index];
    int fd = -1, r;
    sw_map m = {0};
    sw_fwriter w;
    sw_rread ctx = {NULL, &w};
    if ((r = sw_store_tmpfile(&it->tmp, &fd, run->st)))
        return sw_item_fail(it, r);
    sw_fwriter_init(&w, fd);
    r = sw_map_open(&m, f->disk);
    if (!r)
        r = sw_unpack_open(&ctx.u, m.p, m.len, f->rel);
    if (!r) {
        sw_rio io = {.pull = sw_rread_pull, .put_record = sw_rread_put, .ctx = &ctx};
        r = sw_rformat_read(sg->plugin, sg->rformat, sg->params, &io, run->o->verbosity);
    }
    sw_unpack_free(ctx.u);
    sw_map_close(&m);
    r = r ? (sw_fwriter_abort(&w), r) : sw_fwriter_finish(&w, &it->hash);
    close(fd);
    if (r)
        sw_item_fail(it, sw_error_wrap(r, "%s", f->rel));
}

/* Lines are read in place: a view of the input file, nothing to run or cache. */
static int sw_read_kind_prepare(sw_run *run, size_t i, sw_pool *pool)
{
    (void)pool;
    const sw_stage *sg = &run->g->v[i];
    if (sg->format || sg->rformat)
        return SW_RUN_KEYED;
    const sw_srun *in = &run->s[sg->inputs[0]];
    if (in->nfiles != 1)
        return sw_error(SW_EINVALID, "format lines reads one file; %s has %zu", run->g->v[sg->inputs[0]].name,
                        in->nfiles);
    char *hex = sw_hex(&in->files[0].hash);
    run->s[i].id = sw_sprintf("records:lines:%s", hex);
    free(hex);
    run->rep->stages[i].status = "unchanged";
    return 0;
}

static int sw_read_kind_parts(json_t **out, sw_run *run, size_t i)
{
    return sw_format_parts(out, run, "read", &run->g->v[i]);
}

/* A tensor format reads its input in one item; a records format one item per file. */
static int sw_read_kind_queue(sw_run *run, size_t i, sw_pool *pool)
{
    const sw_stage *sg = &run->g->v[i];
    sw_run_items(run, i, sg->rformat ? run->s[sg->inputs[0]].nfiles : 1);
    for (size_t k = 0; k < run->s[i].nitems; k++)
        sw_run_submit(pool, sg->rformat ? sw_rread_task : sw_read_task, &run->s[i].items[k]);
    return 0;
}

static int sw_read_kind_finish(sw_run *run, size_t i)
{
    return run->g->v[i].rformat ? sw_records_finish(run, i) : sw_commit_tensors(run, i);
}

const sw_stage_kind sw_kind_read = {sw_read_kind_prepare, sw_read_kind_parts, NULL, sw_read_kind_queue,
                                    sw_read_kind_finish, NULL};
