/* stage_op.c — op stages: a plugin op mapped over a collection's tensors (one item per tensor), or over
 * records in batches (segments of whole batches, joined in order), or over the whole dataset at once;
 * variants tried in order, a fallback of other numerics never cached. */
#include "pipeline/run.h"
#include "base/error.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* After a successful call by variant used: when it is not of the numerics the key names (a fallback to
 * another tag, or a GPU companion loaded after the key was made, whose variant came first), the stage's
 * result must not be cached under that key. */
static void sw_note_numerics(sw_run *run, size_t stage, size_t used, int r)
{
    const swarm_op *op = sw_stage_op(&run->g->v[stage]);
    if (!r && strcmp(op->variants[used]->numerics, run->s[stage].numerics)) /* set by sw_op_parts */
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
    return c ? sw_tensors_meta(c, key) : NULL;
}

static int sw_view_has(const void *ctx, size_t port, const char *name)
{
    const sw_tensors *c = sw_view_input(ctx, port);
    return c && sw_tensors_has(c, name);
}

/* The value of tensor t as an op's input: its data (NULL until read), dtype and shape (in shape). */
static swarm_value sw_op_input(const sw_tref *t, const void *data, int64_t *shape)
{
    swarm_value v;
    memcpy(shape, t->shape, sizeof t->shape);
    v.kind = SWARM_KIND_TENSOR;
    v.u.tensor = (swarm_tensor){(void *)data, {SWARM_DEVICE_CPU, 0}, t->ndim, t->dtype, shape, NULL, 0};
    return v;
}

/* An op with SWARM_OP_PASS: its infer alone, before any input is read. 1 when it passed an input through
 * (it->out is that input's tensor under the name the op gave), 0 when the op must run, or an error. */
static int sw_op_try_pass(sw_item *it, const sw_tview *view, size_t variant)
{
    sw_run *run = it->run;
    const sw_stage *sg = &run->g->v[it->stage];
    swarm_value in[64];
    int64_t shapes[64][SWARM_MAX_NDIM];
    for (size_t k = 0; k < sg->ninputs; k++)
        in[k] = sw_op_input(&run->s[sg->inputs[k]].tensors.t[it->index], NULL, shapes[k]);
    sw_op_outputs out;
    sw_op_outputs_init(&out, sw_stage_op(sg));
    out.view = view;
    long input;
    int r = sw_op_pass(&input, &out, sg->plugin, sg->op_index, variant, sg->params, in, run->o->verbosity);
    if (!r && input >= 0) {
        it->out = run->s[sg->inputs[input]].tensors.t[it->index];
        it->out.name = out.name;
        out.name = NULL;
        r = 1;
    }
    sw_op_outputs_free(&out, &sw_heap_allocator);
    return r;
}

/* Calls the op on one tensor (zipped across the inputs), trying variants best first; the op may rename
 * its output (it->out.name, taken by finish), or pass an input through (SWARM_OP_PASS: nothing is read,
 * computed or written). */
static void sw_op_tensor_task(void *arg)
{
    sw_item *it = arg;
    sw_run *run = it->run;
    const sw_stage *sg = &run->g->v[it->stage];
    const swarm_op *op = sw_stage_op(sg);
    sw_tbytes bytes[64];
    swarm_value in[64];
    int64_t shapes[64][SWARM_MAX_NDIM];
    size_t nmapped = 0, n, *order = sw_malloc(op->n_variants * sizeof *order);
    sw_tview view = {sw_view_name, sw_view_meta, sw_view_has, it};
    int r = sw_op_variants(order, &n, sg->plugin, sg->op_index, sg->device, 1) ? SW_ENOTFOUND : 0;
    if (!r && (op->flags & SWARM_OP_PASS))
        r = sw_op_try_pass(it, &view, order[0]);
    for (size_t k = 0; !r && k < sg->ninputs; k++) {
        const sw_tref *t = &run->s[sg->inputs[k]].tensors.t[it->index];
        if (!(r = sw_tbytes_open(&bytes[k], run, t)))
            in[k] = sw_op_input(t, bytes[k].p, shapes[k]);
        nmapped += r == 0;
    }
    if (r) {
        if (r < 0)
            sw_item_fail(it, r);
        goto done;
    }
    sw_tmpalloc ta = {run, {{0}}, 0};
    sw_allocator a = {sw_tmp_alloc, sw_tmp_free, &ta};
    sw_op_outputs out;
    sw_op_outputs_init(&out, op);
    out.view = &view;
    size_t used;
    r = sw_op_call_first(&out, &used, sg->plugin, sg->op_index, order, n, sg->params, in, &a, run->o->verbosity);
    sw_note_numerics(run, it->stage, used, r);
    if (!r) {
        const swarm_tensor *y = &out.v[0].u.tensor;
        it->out.dtype = y->dtype;
        it->out.ndim = y->ndim;
        memcpy(it->out.shape, y->shape, sizeof(int64_t) * (size_t)y->ndim);
        sw_tensor_nbytes(&it->out.nbytes, y->dtype, y->ndim, y->shape);
        r = sw_tmp_keep(&ta, y->data, &it->out.blob, &it->tmp);
        out.v[0].u.tensor.data = NULL;
        it->out.name = out.name;
        out.name = NULL;
    }
    if (r)
        sw_item_fail(it, r);
    sw_op_outputs_free(&out, &a);
done:
    free(order);
    for (size_t k = 0; k < nmapped; k++)
        sw_tbytes_close(&bytes[k], run);
}

/* A batch of records as the ABI lays it out: the records copied back to back, count + 1 offsets. */
typedef struct {
    uint64_t *offs, count;
    uint8_t *bytes;
    size_t nb, bcap, ocap;
} sw_rbatch;

static void sw_rbatch_reset(sw_rbatch *b)
{
    sw_grow(&b->offs, &b->ocap, 1, sizeof *b->offs);
    b->offs[0] = 0;
    b->count = 0;
    b->nb = 0;
}

/* Appends the cursor's next record to the batch: 1, 0 at the end, negative on a framing error. */
static int sw_rbatch_take(sw_rbatch *b, sw_rcursor *cur)
{
    const uint8_t *rec;
    size_t len;
    int got = sw_rcursor_next(cur, &rec, &len);
    if (got != 1)
        return got;
    sw_grow(&b->offs, &b->ocap, (size_t)b->count + 2, sizeof *b->offs);
    sw_grow(&b->bytes, &b->bcap, b->nb + len, 1);
    memcpy(b->bytes + b->nb, rec, len);
    b->nb += len;
    b->offs[++b->count] = b->nb;
    return 1;
}

static swarm_value sw_rbatch_value(const sw_rbatch *b)
{
    return (swarm_value){SWARM_KIND_RECORDS, .u.records = {b->count, b->offs, b->bytes, b->nb}};
}

/* Gathers the next batch of up to `batch` records from the first input, and as many from the second
 * (zipped; the split aligned the segments, so it has them), dropping the mapped pages it copied (dropped:
 * sw_drop_behind's, per input): 1, 0 at the end, negative on an error. An op over the whole stream
 * (batch UINT64_MAX) tells the progress line how far its gathering has got (it->gathered). */
static int sw_rbatch_fill(sw_rbatch *b, sw_rcursor *cur, const uint8_t **dropped, uint64_t batch, int zipped,
                          sw_item *it)
{
    int got = 1;
    sw_rbatch_reset(&b[0]);
    sw_rbatch_reset(&b[1]);
    while (b[0].count < batch && (got = sw_rbatch_take(&b[0], &cur[0])) == 1) {
        if (zipped && (got = sw_rbatch_take(&b[1], &cur[1])) != 1)
            return got < 0 ? got : sw_error(SW_ERROR, "the zipped inputs lost step");
        for (int k = 0; k <= zipped; k++)
            sw_drop_behind(&dropped[k], cur[k].p);
        if (batch == UINT64_MAX)
            __atomic_store_n(&it->gathered, (uint64_t)(cur[0].p - it->seg), __ATOMIC_RELAXED);
    }
    return got < 0 ? got : b[0].count > 0;
}

/* Streams one segment of the op's input (whole batches of records; a second input zipped record by
 * record) through the op, writing the output records framed into a temp file. Segments run in parallel;
 * finish joins them in order. */
static void sw_op_records_task(void *arg)
{
    sw_item *it = arg;
    sw_run *run = it->run;
    const sw_stage *sg = &run->g->v[it->stage];
    const sw_srun *s = &run->s[it->stage];
    int fd = -1, r, zipped = sg->ninputs > 1;
    size_t nv, *order = sw_malloc(sw_stage_op(sg)->n_variants * sizeof *order);
    if ((r = sw_op_variants(order, &nv, sg->plugin, sg->op_index, sg->device, 1)) ||
        (r = sw_store_tmpfile(&it->tmp, &fd, run->st))) {
        free(order);
        return sw_item_fail(it, r);
    }
    sw_rcursor cur[2] = {{it->seg, it->seg_end, s->framing}, {it->seg2, it->seg2_end, s->framing2}};
    sw_fwriter w;
    sw_fwriter_init(&w, fd);
    /* A whole op takes every record in one batch. */
    uint64_t batch = sw_stage_op(sg)->flags & SWARM_OP_WHOLE ? UINT64_MAX : sg->batch, calls = 0;
    sw_rbatch b[2] = {{0}};
    /* Dropping pages of a private read-only file mapping only makes them read again if touched, so
     * pages shared with the neighbouring segment may go too. */
    const uint8_t *dropped[2] = {it->seg, it->seg2};
    for (;;) {
        int got = sw_rbatch_fill(b, cur, dropped, batch, zipped, it);
        /* A whole op runs once even over no records (its output may say so: a report). */
        if (got < 0 || (!got && (batch != UINT64_MAX || calls))) {
            r = got < 0 ? got : 0;
            break;
        }
        calls++;
        swarm_value in[2] = {sw_rbatch_value(&b[0]), sw_rbatch_value(&b[1])};
        sw_op_outputs out;
        sw_op_outputs_init(&out, sw_stage_op(sg));
        size_t variant;
        r = sw_op_call_first(&out, &variant, sg->plugin, sg->op_index, order, nv, sg->params, in, &sw_heap_allocator,
                             run->o->verbosity);
        sw_note_numerics(run, it->stage, variant, r);
        const swarm_records *y = &out.v[0].u.records;
        for (uint64_t k = 0; !r && k < y->count; k++)
            r = sw_fwriter_record(&w, SW_FRAME_FRAMED, y->bytes + y->offsets[k], y->offsets[k + 1] - y->offsets[k]);
        sw_op_outputs_free(&out, &sw_heap_allocator);
        if (r)
            break;
    }
    for (size_t k = 0; k < 2; k++) {
        free(b[k].offs);
        free(b[k].bytes);
    }
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

/* Maps the records input `port` of stage i into *m and sets its framing. */
static int sw_records_map(sw_map *m, sw_framing *framing, sw_run *run, size_t i, size_t port)
{
    const char *id = run->s[run->g->v[i].inputs[port]].id;
    sw_hash h;
    char *path = NULL;
    int r = sw_id_hash(&h, id);
    if (!r && !(path = sw_blob_path(run, &h)))
        r = sw_error(SW_ENOTFOUND, "the input records are not held");
    if (!r)
        r = sw_map_open(m, path);
    free(path);
    *framing = strncmp(id, "records:lines:", 14) ? SW_FRAME_FRAMED : SW_FRAME_LINES;
    return r;
}

/* Cuts the second input of stage i into segments holding the same records as the first's (counts[k] of
 * them for item k): the inputs must hold as many records. */
static int sw_records_zip(sw_run *run, size_t i, const uint64_t *counts)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    int r = sw_records_map(&s->in2, &s->framing2, run, i, 1);
    sw_rcursor cur = {s->in2.p, s->in2.p + s->in2.len, s->framing2};
    const uint8_t *rec;
    size_t len;
    const uint8_t *dropped = s->in2.p; /* the walk touches every page: drop them as it goes */
    for (size_t k = 0; !r && k < s->nitems; k++) {
        sw_drop_behind(&dropped, cur.p);
        s->items[k].seg2 = cur.p;
        for (uint64_t c = 0; !r && c < counts[k]; c++)
            if ((r = sw_rcursor_next(&cur, &rec, &len)) == 0)
                r = sw_error(SW_EINVALID, "input '%s' has fewer records than '%s'", run->g->v[sg->inputs[1]].name,
                             run->g->v[sg->inputs[0]].name);
            else if (r == 1)
                r = 0;
        s->items[k].seg2_end = cur.p;
    }
    if (!r && (r = sw_rcursor_next(&cur, &rec, &len)) == 1)
        r = sw_error(SW_EINVALID, "input '%s' has more records than '%s'", run->g->v[sg->inputs[1]].name,
                     run->g->v[sg->inputs[0]].name);
    return r;
}

/* Maps the records input of stage i and cuts it into segments of whole batches, about jobs × 4 of
 * them (at least 4 MiB each), so that batches run in parallel yet every batch holds the same records
 * whatever the number of threads; a second input is cut into the same records (sw_records_zip). */
static int sw_records_split(sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    int r = sw_records_map(&s->in, &s->framing, run, i, 0);
    if (r)
        return r;
    size_t target = s->in.len / ((size_t)run->o->jobs * 4);
    if (target < ((size_t)4 << 20))
        target = (size_t)4 << 20;
    sw_rcursor cur = {s->in.p, s->in.p + s->in.len, s->framing};
    const uint8_t *start = s->in.p, *rec;
    size_t len, cap = 0, ccap = 0;
    uint64_t count = 0, *counts = NULL;
    int got, whole = (sw_stage_op(sg)->flags & SWARM_OP_WHOLE) != 0;
    const uint8_t *dropped = s->in.p; /* the walk touches every page: drop them as it goes */
    while ((got = sw_rcursor_next(&cur, &rec, &len)) == 1) {
        sw_drop_behind(&dropped, cur.p);
        if (!whole && ++count % sg->batch == 0 && (size_t)(cur.p - start) >= target) {
            sw_grow(&s->items, &cap, s->nitems + 1, sizeof *s->items);
            sw_grow(&counts, &ccap, s->nitems + 1, sizeof *counts);
            counts[s->nitems] = count;
            s->items[s->nitems++] = (sw_item){.run = run, .stage = i, .seg = start, .seg_end = cur.p};
            start = cur.p;
        } else if (whole) {
            count++;
        }
    }
    if (got < 0) {
        free(counts);
        return got;
    }
    if (start < cur.p || !s->nitems) {
        sw_grow(&s->items, &cap, s->nitems + 1, sizeof *s->items);
        sw_grow(&counts, &ccap, s->nitems + 1, sizeof *counts);
        counts[s->nitems] = count;
        s->items[s->nitems++] = (sw_item){.run = run, .stage = i, .seg = start, .seg_end = cur.p};
    }
    for (size_t k = s->nitems; k-- > 1;)
        counts[k] -= counts[k - 1]; /* records so far at each cut, to records per segment */
    for (size_t k = 0; k < s->nitems; k++)
        s->items[k].index = k;
    r = sg->ninputs > 1 ? sw_records_zip(run, i, counts) : 0;
    free(counts);
    if (!r && whole)
        sw_whole_note(run, i, count);
    return r;
}

/* The parts of an op stage's key: the op, its version, the numerics tag of the variant it will run,
 * every param (schema order, canonical text), the batch size over records. */
static int sw_op_parts(json_t **out, sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
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
    run->s[i].numerics = op->variants[best]->numerics;
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
    if (run->g->v[i].device == SW_DEVICE_HIP) /* the key's numerics are those of a GPU variant */
        sw_run_gpu(run, pool);
    if (!run->o->dry_run && sw_op_over_tensors(run, i))
        sw_tensors_free(&run->s[i].made);
    return SW_RUN_KEYED;
}

/* The op's parts, with its tensor inputs loaded and holding the same tensors. */
static int sw_op_kind_parts(json_t **out, sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
    int r = sw_op_parts(out, run, i);
    if (!r)
        r = sw_load_inputs(run, i);
    if (!r && sw_op_over_tensors(run, i))
        r = sw_zip_check(run, sg);
    return r;
}

/* Orders tensor indexes largest first (qsort_r; ctx is the collection). */
static int sw_by_size_desc(const void *a, const void *b, void *ctx)
{
    const sw_tensors *c = ctx;
    uint64_t x = c->t[*(const size_t *)a].nbytes, y = c->t[*(const size_t *)b].nbytes;
    return x < y ? 1 : x > y ? -1 : (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

/* One item per tensor, submitted largest first so that the workers finish together (an embedding last
 * would leave one core to it alone), or one per segment of whole batches of records. */
static int sw_op_kind_queue(sw_run *run, size_t i, sw_pool *pool)
{
    sw_run_gpu(run, pool); /* its notes say why a GPU variant cannot run */
    if (!sw_op_over_tensors(run, i)) {
        if (sw_records_split(run, i))
            return SW_ERROR;
        for (size_t k = 0; k < run->s[i].nitems; k++)
            sw_run_submit(pool, sw_op_records_task, &run->s[i].items[k]);
        return 0;
    }
    sw_tensors *in = &run->s[run->g->v[i].inputs[0]].tensors;
    size_t *order = sw_malloc((in->n ? in->n : 1) * sizeof *order);
    sw_run_items(run, i, in->n);
    for (size_t k = 0; k < in->n; k++)
        order[k] = k;
    if (in->n)
        qsort_r(order, in->n, sizeof *order, sw_by_size_desc, in);
    for (size_t k = 0; k < in->n; k++)
        sw_run_submit(pool, sw_op_tensor_task, &run->s[i].items[order[k]]);
    free(order);
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
        if (s->items[k].tmp) /* the run reads it, removes it at its end */
            sw_run_keep(run, &t->blob, s->items[k].tmp);
        s->items[k].tmp = NULL;
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
