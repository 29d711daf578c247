/* stage_op.c — op stages: a plugin op mapped over a collection's tensors (one item per tensor), or over
 * records in batches (segments of whole batches, joined in order), or over the whole dataset at once;
 * variants tried in order, a fallback of other numerics never cached. */
#include "pipeline/run.h"
#include "base/error.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* After a successful call by variant used: when it is not of the best variant's numerics (a fallback to
 * another tag), the stage's result must not be cached under the key, which names the best one's. */
static void sw_note_numerics(sw_run *run, size_t stage, const size_t *order, size_t used, int r)
{
    const swarm_op *op = sw_stage_op(&run->g->v[stage]);
    if (!r && strcmp(op->variants[used]->numerics, op->variants[order[0]]->numerics))
        __atomic_store_n(&run->s[stage].no_cache, 1, __ATOMIC_RELAXED);
}

/* What an op over a collection may ask about its inputs (sw_tview): one call's item. */
static const sw_tensors *sw_view_input(const sw_item *it, size_t port)
{
    const sw_stage *sg = &it->run->g->v[it->stage];
    return port < sg->ninputs ? &it->run->s[sg->inputs[port]].tensors : NULL;
}

static const char *sw_view_name(const void *ctx, size_t port)
{
    const sw_tensors *c = sw_view_input(ctx, port);
    return c ? c->t[((const sw_item *)ctx)->index].name : NULL;
}

static const char *sw_view_meta(const void *ctx, size_t port, const char *key)
{
    const sw_tensors *c = sw_view_input(ctx, port);
    for (size_t k = 0; c && k < c->nmeta; k++)
        if (!strcmp(c->meta[k].key, key))
            return c->meta[k].value;
    return NULL;
}

static int sw_view_has(const void *ctx, size_t port, const char *name)
{
    const sw_tensors *c = sw_view_input(ctx, port);
    for (size_t k = 0; c && k < c->n; k++)
        if (!strcmp(c->t[k].name, name))
            return 1;
    return 0;
}

/* Calls the op on one tensor (zipped across the inputs), trying variants best first; the op may rename
 * its output (it->out.name, taken by finish). */
static void sw_op_tensor_task(void *arg)
{
    sw_item *it = arg;
    sw_run *run = it->run;
    const sw_stage *sg = &run->g->v[it->stage];
    const swarm_op *op = sw_stage_op(sg);
    sw_map maps[64];
    swarm_value in[64];
    int64_t shapes[64][SWARM_MAX_NDIM];
    size_t nmapped = 0;
    for (size_t k = 0; k < sg->ninputs; k++) {
        const sw_tref *t = &run->s[sg->inputs[k]].tensors.t[it->index];
        int r = sw_map_blob(&maps[k], run, t);
        if (r) {
            sw_item_fail(it, r);
            goto done;
        }
        nmapped++;
        memcpy(shapes[k], t->shape, sizeof shapes[k]);
        in[k].kind = SWARM_KIND_TENSOR;
        in[k].u.tensor = (swarm_tensor){(void *)maps[k].p, {SWARM_DEVICE_CPU, 0}, t->ndim, t->dtype, shapes[k],
                                        NULL, t->offset};
    }
    size_t n, *order = sw_malloc(op->n_variants * sizeof *order);
    if (sw_op_variants(order, &n, sg->plugin, sg->op_index, sg->device, 1)) {
        sw_item_fail(it, SW_ENOTFOUND);
        free(order);
        goto done;
    }
    sw_tmpalloc ta = {run->st, {{0}}, 0};
    sw_allocator a = {sw_tmp_alloc, sw_tmp_free, &ta};
    sw_op_outputs out;
    sw_op_outputs_init(&out, op);
    sw_tview view = {sw_view_name, sw_view_meta, sw_view_has, it};
    out.view = &view;
    size_t used;
    int r = sw_op_call_first(&out, &used, sg->plugin, sg->op_index, order, n, sg->params, in, &a, run->o->verbosity);
    sw_note_numerics(run, it->stage, order, used, r);
    if (!r) {
        const swarm_tensor *y = &out.v[0].u.tensor;
        it->out.dtype = y->dtype;
        it->out.ndim = y->ndim;
        memcpy(it->out.shape, y->shape, sizeof(int64_t) * (size_t)y->ndim);
        sw_tensor_nbytes(&it->out.nbytes, y->dtype, y->ndim, y->shape);
        r = sw_tmp_commit(&ta, y->data, &it->out.blob);
        out.v[0].u.tensor.data = NULL;
        it->out.name = out.name;
        out.name = NULL;
    }
    if (r)
        sw_item_fail(it, r);
    sw_op_outputs_free(&out, &a);
    free(order);
done:
    for (size_t k = 0; k < nmapped; k++)
        sw_map_close(&maps[k]);
}

/* Streams one segment of the op's input (whole batches of records) through the op, writing the
 * output records framed into a temp file. Segments run in parallel; finish joins them in order. */
static void sw_op_records_task(void *arg)
{
    sw_item *it = arg;
    sw_run *run = it->run;
    const sw_stage *sg = &run->g->v[it->stage];
    const sw_srun *s = &run->s[it->stage];
    int fd = -1, r;
    size_t nv, *order = sw_malloc(sw_stage_op(sg)->n_variants * sizeof *order);
    if ((r = sw_op_variants(order, &nv, sg->plugin, sg->op_index, sg->device, 1)) ||
        (r = sw_store_tmpfile(&it->tmp, &fd, run->st))) {
        free(order);
        return sw_item_fail(it, r);
    }
    sw_rcursor cur = {it->seg, it->seg_end, s->framing};
    sw_fwriter w;
    sw_fwriter_init(&w, fd);
    /* A whole op takes every record in one batch. */
    uint64_t batch = sw_stage_op(sg)->flags & SWARM_OP_WHOLE ? UINT64_MAX : sg->batch;
    uint64_t *offs = NULL, calls = 0;
    uint8_t *bytes = NULL;
    size_t bcap = 0, ocap = 0;
    /* Dropping pages of a private read-only file mapping only makes them read again if touched, so
     * pages shared with the neighbouring segment may go too. */
    const uint8_t *dropped = (const uint8_t *)(((uintptr_t)it->seg + 4095) & ~(uintptr_t)4095);
    for (;;) {
        /* Gather a batch: the records copied into one buffer, as the ABI's record batch lays them out. */
        uint64_t count = 0;
        size_t nb = 0, len;
        const uint8_t *rec;
        int got = 0;
        sw_grow(&offs, &ocap, 1, sizeof *offs);
        offs[0] = 0;
        while (count < batch && (got = sw_rcursor_next(&cur, &rec, &len)) == 1) {
            sw_grow(&offs, &ocap, (size_t)count + 2, sizeof *offs);
            sw_grow(&bytes, &bcap, nb + len, 1);
            memcpy(bytes + nb, rec, len);
            nb += len;
            offs[++count] = nb;
            if (batch == UINT64_MAX)
                __atomic_store_n(&it->gathered, (uint64_t)(cur.p - it->seg), __ATOMIC_RELAXED);
        }
        /* A whole op runs once even over no records (its output may say so: a report). */
        if (got < 0 || (!count && (batch != UINT64_MAX || calls))) {
            r = got < 0 ? got : 0;
            break;
        }
        calls++;
        swarm_value in = {SWARM_KIND_RECORDS, .u.records = {count, offs, bytes, nb}};
        sw_op_outputs out;
        sw_op_outputs_init(&out, sw_stage_op(sg));
        size_t variant;
        r = sw_op_call_first(&out, &variant, sg->plugin, sg->op_index, order, nv, sg->params, &in, &sw_heap_allocator,
                             run->o->verbosity);
        sw_note_numerics(run, it->stage, order, variant, r);
        const swarm_records *y = &out.v[0].u.records;
        for (uint64_t k = 0; !r && k < y->count; k++)
            r = sw_fwriter_record(&w, SW_FRAME_FRAMED, y->bytes + y->offsets[k], y->offsets[k + 1] - y->offsets[k]);
        sw_op_outputs_free(&out, &sw_heap_allocator);
        if (r)
            break;
        /* Keep memory bounded: drop the input pages already consumed (whole pages only). */
        size_t used = cur.p > dropped ? (size_t)(cur.p - dropped) & ~(size_t)0xfffff : 0;
        if (cur.p > dropped && used >= ((size_t)64 << 20)) {
            madvise((void *)dropped, used, MADV_DONTNEED);
            dropped += used;
        }
    }
    free(offs);
    free(bytes);
    free(order);
    if (!r)
        r = sw_fwriter_finish(&w, &it->hash);
    else
        sw_fwriter_abort(&w);
    close(fd);
    if (r)
        sw_item_fail(it, r);
}

/* Marks stage i as an op over the whole stream of count records and tells the user: such a stage holds
 * its input in memory at once and shows no batches going by. */
static void sw_whole_note(sw_run *run, size_t i, uint64_t count)
{
    const sw_stage *sg = &run->g->v[i];
    run->s[i].whole = count ? count : 1;
    if (!run->o->note)
        return;
    char size[32];
    char *text = sw_sprintf("stage '%s' (op %s) takes the whole stream at once: %llu record%s, %s", sg->name,
                            sw_stage_op(sg)->name, (unsigned long long)count, count == 1 ? "" : "s",
                            sw_fmt_bytes(size, sizeof size, run->s[i].in.len));
    run->o->note(run->o->note_ctx, text);
    free(text);
}

/* Maps the records input of stage i and cuts it into segments of whole batches, about jobs × 4 of
 * them (at least 4 MiB each), so that batches run in parallel yet every batch holds the same records
 * whatever the number of threads. */
static int sw_records_split(sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    const char *id = run->s[sg->inputs[0]].id;
    sw_hash h;
    char *path = NULL;
    int r = sw_id_hash(&h, id);
    if (!r && !(path = sw_blob_path(run, &h)))
        r = sw_error(SW_ENOTFOUND, "the input records are not held");
    if (!r)
        r = sw_map_open(&s->in, path);
    free(path);
    if (r)
        return r;
    s->framing = strncmp(id, "records:lines:", 14) ? SW_FRAME_FRAMED : SW_FRAME_LINES;
    size_t target = s->in.len / ((size_t)run->o->jobs * 4);
    if (target < ((size_t)4 << 20))
        target = (size_t)4 << 20;
    sw_rcursor cur = {s->in.p, s->in.p + s->in.len, s->framing};
    const uint8_t *start = s->in.p, *rec;
    size_t len, cap = 0;
    uint64_t count = 0;
    int got, whole = (sw_stage_op(sg)->flags & SWARM_OP_WHOLE) != 0;
    while ((got = sw_rcursor_next(&cur, &rec, &len)) == 1) {
        count++;
        if (!whole && count % sg->batch == 0 && (size_t)(cur.p - start) >= target) {
            sw_grow(&s->items, &cap, s->nitems + 1, sizeof *s->items);
            s->items[s->nitems++] = (sw_item){.run = run, .stage = i, .seg = start, .seg_end = cur.p};
            start = cur.p;
        }
    }
    if (got < 0)
        return got;
    if (start < cur.p || !s->nitems) {
        sw_grow(&s->items, &cap, s->nitems + 1, sizeof *s->items);
        s->items[s->nitems++] = (sw_item){.run = run, .stage = i, .seg = start, .seg_end = cur.p};
    }
    for (size_t k = 0; k < s->nitems; k++)
        s->items[k].index = k;
    if (whole)
        sw_whole_note(run, i, count);
    return 0;
}

/* The parts of an op stage's key: the op, its version, the numerics tag of the variant it will run,
 * every param (schema order, canonical text), the batch size over records. */
static int sw_op_parts(json_t **out, sw_run *run, const sw_stage *sg)
{
    const swarm_op *op = sw_stage_op(sg);
    size_t n, *order = sw_malloc(op->n_variants * sizeof *order);
    if (sw_op_variants(order, &n, sg->plugin, sg->op_index, sg->device, 0)) {
        free(order);
        return SW_ENOTFOUND;
    }
    size_t best = order[0];
    free(order);
    json_t *parts = sw_key_parts("op", sg->plugin->desc->id, "op", op->name, op->op_version);
    json_object_set_new(parts, "numerics", json_string(op->variants[best]->numerics));
    if (run->g->v[sg->inputs[0]].out == SW_VAL_RECORDS && !(op->flags & SWARM_OP_WHOLE))
        json_object_set_new(parts, "batch", json_integer((json_int_t)sg->batch));
    *out = parts;
    return sw_params_part(parts, run, op->params, op->n_params, sg->param_text);
}

/* Checks that an op's tensor inputs hold the same tensor names in the same order. */
static int sw_zip_check(sw_run *run, const sw_stage *sg)
{
    const sw_tensors *a = &run->s[sg->inputs[0]].tensors;
    for (size_t k = 1; k < sg->ninputs; k++) {
        const sw_tensors *b = &run->s[sg->inputs[k]].tensors;
        int same = a->n == b->n;
        for (size_t j = 0; same && j < a->n; j++)
            same = !strcmp(a->t[j].name, b->t[j].name);
        if (!same)
            return sw_error(SW_EINVALID, "inputs '%s' and '%s' hold different tensors", run->g->v[sg->inputs[0]].name,
                            run->g->v[sg->inputs[k]].name);
    }
    return 0;
}

/* Whether stage i maps over a collection's tensors (else over records). */
static int sw_op_over_tensors(const sw_run *run, size_t i)
{
    return run->g->v[run->g->v[i].inputs[0]].out == SW_VAL_TENSORS;
}

static int sw_op_kind_prepare(sw_run *run, size_t i, sw_pool *pool)
{
    (void)pool;
    if (!run->o->dry_run && sw_op_over_tensors(run, i))
        sw_tensors_free(&run->s[i].made);
    return SW_RUN_KEYED;
}

/* The op's parts, with its tensor inputs loaded and holding the same tensors. */
static int sw_op_kind_parts(json_t **out, sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
    int r = sw_op_parts(out, run, sg);
    if (!r)
        r = sw_load_inputs(run, i);
    if (!r && sw_op_over_tensors(run, i))
        r = sw_zip_check(run, sg);
    return r;
}

/* One item per tensor, or one per segment of whole batches of records. */
static int sw_op_kind_queue(sw_run *run, size_t i, sw_pool *pool)
{
    int tensors = sw_op_over_tensors(run, i);
    if (tensors)
        sw_run_items(run, i, run->s[run->g->v[i].inputs[0]].tensors.n);
    else if (sw_records_split(run, i))
        return SW_ERROR;
    for (size_t k = 0; k < run->s[i].nitems; k++)
        sw_run_submit(pool, tensors ? sw_op_tensor_task : sw_op_records_task, &run->s[i].items[k]);
    return 0;
}

/* The output collection takes the input's names (or those the op gave) and metadata, each tensor from its
 * item; names given by the op must stay unique. */
static int sw_op_kind_finish(sw_run *run, size_t i)
{
    if (!sw_op_over_tensors(run, i))
        return sw_records_finish(run, i);
    sw_srun *s = &run->s[i];
    const sw_tensors *in = &run->s[run->g->v[i].inputs[0]].tensors;
    for (size_t k = 0; k < in->n; k++) {
        char *renamed = s->items[k].out.name;
        sw_tref *t = sw_tensors_add(&s->made, renamed ? renamed : in->t[k].name);
        char *name = t->name;
        *t = s->items[k].out;
        t->name = name;
        free(renamed);
        s->items[k].out.name = NULL;
    }
    for (size_t k = 0; k < in->nmeta; k++)
        sw_tensors_add_meta(&s->made, in->meta[k].key, in->meta[k].value);
    const char *dup = sw_first_dup(s->made.t, s->made.n, sizeof *s->made.t);
    if (dup)
        return sw_error(SW_EINVALID, "op %s named two output tensors '%s'", sw_stage_op(&run->g->v[i])->name, dup);
    return sw_commit_tensors(run, i);
}

const sw_stage_kind sw_kind_op = {sw_op_kind_prepare, sw_op_kind_parts, NULL, sw_op_kind_queue, sw_op_kind_finish,
                                  NULL};
