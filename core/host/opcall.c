/* opcall.c — calling into plugins (see opcall.h): the host table and call contexts, params from text,
 * variant choice, infer-then-run with host-owned outputs, and formats' read and layout. Every value a
 * plugin hands back (shapes, sizes, offsets, entries) is checked here before the host relies on it. */
#include "host/opcall.h"
#include "base/error.h"
#include "host/gpu_stage.h"
#include "base/util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A block of scratch memory; data is aligned for any type. */
typedef struct sw_scratch {
    struct sw_scratch *next;
    max_align_t data[];
} sw_scratch;

/* ---- Host functions -------------------------------------------------------------------------------- */

/* Records the call's error as one line (control characters become spaces). */
static int sw_host_set_error(swarm_call *call, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->msg, sizeof call->msg, fmt ? fmt : "(no message)", ap);
    va_end(ap);
    for (char *p = call->msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    call->code = code;
    return code;
}

static void *sw_host_alloc_scratch(swarm_call *call, size_t size)
{
    if (size > SIZE_MAX - sizeof(sw_scratch))
        return NULL;
    sw_scratch *s = malloc(sizeof *s + size);
    if (!s)
        return NULL;
    s->next = call->scratch;
    call->scratch = s;
    return s->data;
}

/* Errors always show, warnings unless -q, the rest with -v. */
static void sw_host_log(swarm_call *call, int level, const char *msg)
{
    int shown = call->verbosity < 0 ? SWARM_LOG_ERROR : call->verbosity == 0 ? SWARM_LOG_WARN : SWARM_LOG_DEBUG;
    if (msg && level <= shown)
        fprintf(stderr, "swarm: plugin %s: %s\n", call->plugin, msg);
}

/* Checks a reported entry against the file being read and keeps a copy of it. */
static int sw_host_add_tensor(swarm_call *call, const swarm_tensor_entry *e)
{
    uint64_t need;
    if (!e || !e->name)
        return sw_host_set_error(call, SWARM_E_BAD_INPUT, "a tensor without a name");
    if (e->ndim < 0 || e->ndim > SWARM_MAX_NDIM)
        return sw_host_set_error(call, SWARM_E_BAD_INPUT, "tensor '%.64s' has %d dimensions", e->name,
                                 (int)e->ndim);
    if (sw_tensor_nbytes(&need, e->dtype, e->ndim, e->shape) || need != e->nbytes)
        return sw_host_set_error(call, SWARM_E_BAD_INPUT, "tensor '%.64s': %llu bytes do not fit its shape and dtype",
                                 e->name, (unsigned long long)e->nbytes);
    if (e->offset > call->file_size || e->nbytes > call->file_size - e->offset)
        return sw_host_set_error(call, SWARM_E_BAD_INPUT, "tensor '%.64s' lies outside the file", e->name);
    sw_grow(&call->tensors, &call->tcap, call->ntensors + 1, sizeof *call->tensors);
    swarm_tensor_entry *t = &call->tensors[call->ntensors++];
    *t = *e;
    t->name = sw_strdup(e->name);
    return SWARM_OK;
}

static int sw_host_add_meta(swarm_call *call, const char *key, const char *value)
{
    if (!key || !value)
        return sw_host_set_error(call, SWARM_E_BAD_INPUT, "a metadata pair with a NULL key or value");
    sw_grow(&call->meta, &call->mcap, call->nmeta + 1, sizeof *call->meta);
    call->meta[call->nmeta++] = (swarm_meta){sw_strdup(key), sw_strdup(value)};
    return SWARM_OK;
}

/* A failure of the runner's side of a records format's call, as the call's error. */
static int sw_host_io_fail(swarm_call *call, int code)
{
    call->io_failed = 1;
    return sw_host_set_error(call, code, "%s", sw_error_last());
}

static int sw_host_emit(swarm_call *call, const void *data, size_t len)
{
    if (call->io)
        return !call->io->put_bytes ? sw_host_set_error(call, SWARM_E_INTERNAL, "emit outside a write")
               : call->io->put_bytes(call->io->ctx, data, len) ? sw_host_io_fail(call, SWARM_E_INTERNAL)
                                                                : SWARM_OK;
    if (len > ((size_t)1 << 30) - call->hlen)
        return sw_host_set_error(call, SWARM_E_BAD_INPUT, "a header over 1 GiB");
    sw_grow(&call->header, &call->hcap, call->hlen + len, 1);
    if (len)
        memcpy(call->header + call->hlen, data, len);
    call->hlen += len;
    return SWARM_OK;
}

static int64_t sw_host_read_bytes(swarm_call *call, void *buf, size_t cap)
{
    if (!call->io || !call->io->pull)
        return sw_host_set_error(call, SWARM_E_INTERNAL, "read_bytes outside a records format's read");
    if (!cap || !buf)
        return sw_host_set_error(call, SWARM_E_INTERNAL, "read_bytes into no buffer");
    int64_t n = call->io->pull(call->io->ctx, buf, cap);
    return n < 0 ? sw_host_io_fail(call, SWARM_E_BAD_INPUT) : n;
}

static int sw_host_add_record(swarm_call *call, const void *data, size_t len)
{
    if (!call->io || !call->io->put_record)
        return sw_host_set_error(call, SWARM_E_INTERNAL, "add_record outside a records format's read");
    if (len && !data)
        return sw_host_set_error(call, SWARM_E_INTERNAL, "add_record of NULL");
    return call->io->put_record(call->io->ctx, data, len) ? sw_host_io_fail(call, SWARM_E_BAD_INPUT) : SWARM_OK;
}

static int sw_host_next_record(swarm_call *call, const uint8_t **data, size_t *len)
{
    if (!call->io || !call->io->next_record)
        return sw_host_set_error(call, SWARM_E_INTERNAL, "next_record outside a records format's write");
    int r = call->io->next_record(call->io->ctx, data, len);
    return r < 0 ? sw_host_io_fail(call, SWARM_E_INTERNAL) : r;
}

static int sw_host_set_file_size(swarm_call *call, uint64_t size)
{
    call->file_end = size;
    return SWARM_OK;
}

static const char *sw_host_file_name(swarm_call *call)
{
    return call->file_name;
}

static const char *sw_host_tensor_name(swarm_call *call, size_t port)
{
    return call->view ? call->view->name(call->view->ctx, port) : NULL;
}

static const char *sw_host_meta_value(swarm_call *call, size_t port, const char *key)
{
    return call->view && key ? call->view->meta(call->view->ctx, port, key) : NULL;
}

static int sw_host_has_tensor(swarm_call *call, size_t port, const char *name)
{
    return call->view && name ? call->view->has(call->view->ctx, port, name) : 0;
}

/* Keeps the output tensor's new name; only an op over a collection has one to rename. */
static int sw_host_set_tensor_name(swarm_call *call, const char *name)
{
    if (!call->view)
        return sw_host_set_error(call, SWARM_E_INTERNAL, "set_tensor_name outside an op over a collection");
    if (!name || !*name)
        return sw_host_set_error(call, SWARM_E_INTERNAL, "set_tensor_name with an empty name");
    free(call->out_name);
    call->out_name = sw_strdup(name);
    return SWARM_OK;
}

static int sw_host_pass_through(swarm_call *call, size_t input)
{
    if (!call->may_pass)
        return SWARM_E_INTERNAL; /* not an error: the op computes its output */
    call->passed = input > (size_t)LONG_MAX ? LONG_MAX : (long)input;
    return SWARM_OK;
}

static const swarm_host sw_host = {
    .abi_version = SWARM_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(swarm_host),
    .set_error = sw_host_set_error,
    .alloc_scratch = sw_host_alloc_scratch,
    .log = sw_host_log,
    .add_tensor = sw_host_add_tensor,
    .add_meta = sw_host_add_meta,
    .emit = sw_host_emit,
    .read_bytes = sw_host_read_bytes,
    .add_record = sw_host_add_record,
    .next_record = sw_host_next_record,
    .set_file_size = sw_host_set_file_size,
    .file_name = sw_host_file_name,
    .tensor_name = sw_host_tensor_name,
    .meta_value = sw_host_meta_value,
    .has_tensor = sw_host_has_tensor,
    .set_tensor_name = sw_host_set_tensor_name,
    .pass_through = sw_host_pass_through,
};

const swarm_host *sw_host_table(void)
{
    return &sw_host;
}

void sw_call_begin(swarm_call *call, const char *plugin, const char *what, int verbosity)
{
    memset(call, 0, sizeof *call);
    call->plugin = plugin;
    call->what = what;
    call->verbosity = verbosity;
    call->passed = -1;
}

static void sw_entries_free(swarm_tensor_entry *t, size_t n, swarm_meta *m, size_t nm)
{
    for (size_t i = 0; i < n; i++)
        free((char *)t[i].name);
    for (size_t i = 0; i < nm; i++) {
        free((char *)m[i].key);
        free((char *)m[i].value);
    }
    free(t);
    free(m);
}

void sw_call_end(swarm_call *call)
{
    while (call->scratch) {
        sw_scratch *next = call->scratch->next;
        free(call->scratch);
        call->scratch = next;
    }
    sw_entries_free(call->tensors, call->ntensors, call->meta, call->nmeta);
    free(call->header);
    free(call->out_name);
    call->out_name = NULL;
    call->tensors = NULL;
    call->meta = NULL;
    call->header = NULL;
    call->ntensors = call->nmeta = call->hlen = 0;
}

int sw_call_fail(const swarm_call *call, int rc)
{
    const char *msg = call->code && call->msg[0] ? call->msg : "failed without saying why";
    int code = rc == SWARM_E_BAD_INPUT                                    ? SW_EINVALID
               : rc == SWARM_E_UNSUPPORTED || rc == SWARM_E_DEVICE_FAILED ? SW_ERETRY
                                                                          : SW_EPLUGIN;
    return sw_error(code, "%s %s: %s", call->plugin, call->what, msg);
}

/* ---- Params ---------------------------------------------------------------------------------------- */

int sw_param_parse(swarm_param_value *out, const swarm_param *p, const char *text)
{
    char *end;
    switch (p->type) {
    case SWARM_PARAM_BOOL:
        if (strcmp(text, "true") && strcmp(text, "false"))
            return sw_error(SW_EINVALID, "'%s' is not a bool (true or false)", text);
        out->i = !strcmp(text, "true");
        return 0;
    case SWARM_PARAM_INT:
        errno = 0;
        out->i = strtoll(text, &end, 10);
        if (!*text || !(*text == '-' || (*text >= '0' && *text <= '9')) || *end || errno)
            return sw_error(SW_EINVALID, "'%s' is not an integer", text);
        return 0;
    case SWARM_PARAM_FLOAT:
        errno = 0;
        out->f = strtod(text, &end);
        if (!*text || !(*text == '-' || *text == '+' || *text == '.' || (*text >= '0' && *text <= '9')) || *end ||
            !isfinite(out->f) || errno == ERANGE)
            return sw_error(SW_EINVALID, "'%s' is not a finite number", text);
        return 0;
    case SWARM_PARAM_STRING:
        out->s = text;
        return 0;
    case SWARM_PARAM_PATH:
        out->s = text;
        return *text ? 0 : sw_error(SW_EINVALID, "an empty path");
    case SWARM_PARAM_ENUM:
        for (size_t i = 0; p->choices[i]; i++)
            if (!strcmp(text, p->choices[i])) {
                out->i = (int64_t)i;
                return 0;
            }
        {
            char list[256] = "";
            for (size_t i = 0; p->choices[i] && strlen(list) < 200; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", p->choices[i]);
            return sw_error(SW_EINVALID, "'%s' is not one of %s", text, list);
        }
    }
    return sw_error(SW_EINVALID, "unknown param type %d", (int)p->type);
}

/* ---- Ops ------------------------------------------------------------------------------------------- */

int sw_device_parse(sw_device_choice *out, const char *text)
{
    if (!strcmp(text, "auto"))
        *out = SW_DEVICE_AUTO;
    else if (!strcmp(text, "cpu"))
        *out = SW_DEVICE_CPU;
    else if (!strcmp(text, "hip"))
        *out = SW_DEVICE_HIP;
    else
        return sw_error(SW_EINVALID, "device '%s' is not auto, cpu or hip", text);
    return 0;
}

/* Where a variant of device type t goes in the order: a GPU variant that can run comes before the CPU
 * ones (device "auto" means the GPU when one is usable), and the CPU ones are the fallback. */
static int sw_device_rank(int32_t t)
{
    return sw_gpu_is_gpu(t) ? 0 : 1;
}

/* Tells the user, once per op and variant, that "auto" runs op on the CPU because GPU variant k cannot
 * run here (its probe's reason). */
static void sw_note_fallback(const sw_plugin *p, const swarm_op *op, size_t op_index, size_t k)
{
    sw_plugin_probe *pr = &p->probes[op_index][k];
    if (p->verbosity >= 0 && !__atomic_exchange_n(&pr->noticed, 1, __ATOMIC_RELAXED))
        fprintf(stderr, "swarm: note: %s op %s runs on the CPU: its %s variant cannot run here (%s)\n", p->desc->id,
                op->name, sw_plugin_device_name(op->variants[k]->device_type), pr->note ? pr->note : "score 0");
}

/* The variants that can run (score > 0) on the chosen kind of device: the GPU ones, then the CPU ones,
 * each by score, best first (ties keep the plugin's order). With "auto" and note set (the op is about
 * to run), when a GPU variant cannot run and the CPU does the work, a one-line note says why, once per
 * process. */
int sw_op_variants(size_t *order, size_t *n, const sw_plugin *p, size_t op_index, sw_device_choice dev, int note)
{
    const swarm_op *op = p->desc->ops[op_index];
    const char *why = NULL;
    size_t gpu_out = op->n_variants;
    *n = 0;
    for (size_t k = 0; k < op->n_variants; k++) {
        int32_t type = op->variants[k]->device_type;
        if ((dev == SW_DEVICE_CPU && type != SWARM_DEVICE_CPU) || (dev == SW_DEVICE_HIP && !sw_gpu_is_gpu(type)))
            continue;
        int s = p->probes[op_index][k].score;
        if (s <= 0) {
            why = p->probes[op_index][k].note;
            if (sw_gpu_is_gpu(type) && gpu_out == op->n_variants)
                gpu_out = k;
            continue;
        }
        size_t at = (*n)++;
        while (at > 0) {
            const swarm_variant *b = op->variants[order[at - 1]];
            int rb = sw_device_rank(b->device_type), r = sw_device_rank(type);
            if (r > rb || (r == rb && s <= p->probes[op_index][order[at - 1]].score))
                break;
            order[at] = order[at - 1];
            at--;
        }
        order[at] = k;
    }
    if (*n) {
        if (note && dev == SW_DEVICE_AUTO && gpu_out < op->n_variants &&
            !sw_gpu_is_gpu(op->variants[order[0]]->device_type))
            sw_note_fallback(p, op, op_index, gpu_out);
        return 0;
    }
    const char *kind = dev == SW_DEVICE_HIP ? "hip (GPU)" : dev == SW_DEVICE_CPU ? "cpu" : "any";
    if (why)
        return sw_error(SW_ENOTFOUND, "%s op %s: no %s variant can run here: %s", p->desc->id, op->name, kind, why);
    return sw_error(SW_ENOTFOUND, "%s op %s has no %s variant", p->desc->id, op->name, kind);
}

static void *sw_heap_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size ? size : 1);
}

static void sw_heap_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    (void)size;
    free(ptr);
}

const sw_allocator sw_heap_allocator = {sw_heap_alloc, sw_heap_free, NULL};

void sw_op_outputs_init(sw_op_outputs *o, const swarm_op *op)
{
    o->n = op->n_outputs;
    o->v = sw_calloc(o->n, sizeof *o->v); /* sw_op_call sets each value's kind and shape slots */
    o->shapes = sw_calloc(o->n, sizeof *o->shapes);
    o->counts = sw_calloc(o->n, sizeof *o->counts);
    o->view = NULL;
    o->name = NULL;
}

/* The byte size of output i's buffers: a tensor's data, or a record batch's offsets and bytes. */
static uint64_t sw_tensor_size(const swarm_tensor *t)
{
    uint64_t n = 0;
    sw_tensor_nbytes(&n, t->dtype, t->ndim, t->shape);
    return n;
}

/* Frees the buffers of the outputs (not the arrays themselves). */
static void sw_outputs_release(sw_op_outputs *o, const sw_allocator *a)
{
    for (size_t i = 0; i < o->n; i++) {
        swarm_value *v = &o->v[i];
        if (v->kind == SWARM_KIND_TENSOR && v->u.tensor.data) {
            a->free(a->ctx, v->u.tensor.data, sw_tensor_size(&v->u.tensor));
            v->u.tensor.data = NULL;
        } else if (v->kind == SWARM_KIND_RECORDS) {
            if (v->u.records.offsets)
                a->free(a->ctx, v->u.records.offsets, (o->counts[i] + 1) * sizeof(uint64_t));
            if (v->u.records.bytes)
                a->free(a->ctx, v->u.records.bytes, v->u.records.nbytes);
            v->u.records.offsets = NULL;
            v->u.records.bytes = NULL;
        }
    }
}

void sw_op_outputs_free(sw_op_outputs *o, const sw_allocator *a)
{
    if (!o->v)
        return;
    sw_outputs_release(o, a);
    free(o->v);
    free(o->shapes);
    free(o->counts);
    free(o->name);
    o->name = NULL;
    o->v = NULL;
    o->shapes = NULL;
    o->counts = NULL;
}

int sw_tensor_nbytes(uint64_t *out, swarm_dtype dt, int32_t ndim, const int64_t *shape)
{
    uint64_t elems = 1;
    uint32_t block = 0, block_bytes = 0;
    if (dt.code == SWARM_DTYPE_Q8_0 || dt.code == SWARM_DTYPE_Q4_0) {
        block = 32;
        block_bytes = dt.code == SWARM_DTYPE_Q8_0 ? 34 : 18;
        if (dt.bits != 0 || dt.lanes != 1 || ndim < 1 || ndim > SWARM_MAX_NDIM)
            return sw_error(SW_EINVALID, "bad tensor type");
        if (shape[ndim - 1] % block)
            return sw_error(SW_EINVALID, "last dimension %lld is not a multiple of the block (%u)",
                            (long long)shape[ndim - 1], block);
    } else if (ndim < 0 || ndim > SWARM_MAX_NDIM || dt.bits == 0 || dt.lanes == 0) {
        return sw_error(SW_EINVALID, "bad tensor type");
    }
    for (int32_t d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return sw_error(SW_EINVALID, "negative dimension %lld", (long long)shape[d]);
        if (shape[d] && elems > UINT64_MAX / (uint64_t)shape[d])
            return sw_error(SW_EINVALID, "tensor size overflows");
        elems *= (uint64_t)shape[d];
    }
    if (block) {
        if (elems / block > UINT64_MAX / block_bytes)
            return sw_error(SW_EINVALID, "tensor size overflows");
        *out = elems / block * block_bytes;
        return 0;
    }
    uint64_t bits_per = (uint64_t)dt.bits * dt.lanes;
    if (elems && elems > UINT64_MAX / bits_per)
        return sw_error(SW_EINVALID, "tensor size overflows");
    if (elems * bits_per % 8)
        return sw_error(SW_EINVALID, "tensor does not fill whole bytes");
    *out = elems * bits_per / 8;
    return 0;
}

/* Checks what infer said about the outputs and allocates them with a. */
static int sw_outputs_alloc(sw_op_outputs *o, const swarm_op *op, const swarm_call *call, const sw_allocator *a)
{
    for (size_t i = 0; i < o->n; i++) {
        swarm_value *v = &o->v[i];
        const char *port = op->outputs[i].name;
        if (v->kind == SWARM_KIND_TENSOR) {
            swarm_tensor *t = &v->u.tensor;
            uint64_t size;
            t->shape = o->shapes[i]; /* whatever infer did to the pointer */
            t->strides = NULL;
            t->byte_offset = 0;
            t->device = (swarm_device){SWARM_DEVICE_CPU, 0};
            if (sw_tensor_nbytes(&size, t->dtype, t->ndim, t->shape))
                return sw_error_wrap(SW_EPLUGIN, "%s %s: infer described output '%s' badly", call->plugin,
                                     call->what, port);
            if (size > SIZE_MAX / 2)
                return sw_error(SW_EPLUGIN, "%s %s: output '%s' is too large", call->plugin, call->what, port);
            if (!(t->data = a->alloc(a->ctx, (size_t)size)))
                return sw_error(SW_ERROR, "%s %s: cannot allocate %llu bytes for output '%s'", call->plugin,
                                call->what, (unsigned long long)size, port);
        } else {
            swarm_records *r = &v->u.records;
            if (r->count > SIZE_MAX / 16 || r->nbytes > SIZE_MAX / 2)
                return sw_error(SW_EPLUGIN, "%s %s: output '%s' is too large", call->plugin, call->what, port);
            r->offsets = a->alloc(a->ctx, (size_t)(r->count + 1) * sizeof(uint64_t));
            o->counts[i] = r->count;
            r->bytes = r->offsets ? a->alloc(a->ctx, (size_t)r->nbytes) : NULL;
            if (!r->offsets || !r->bytes)
                return sw_error(SW_ERROR, "%s %s: cannot allocate output '%s'", call->plugin, call->what, port);
            memset(r->offsets, 0, (size_t)(r->count + 1) * sizeof(uint64_t));
        }
    }
    return 0;
}

/* Checks the record batches run wrote: offsets from 0, never decreasing, within nbytes. */
static int sw_outputs_check(const sw_op_outputs *o, const swarm_op *op, const swarm_call *call)
{
    for (size_t i = 0; i < o->n; i++) {
        const swarm_records *r = &o->v[i].u.records;
        if (o->v[i].kind != SWARM_KIND_RECORDS)
            continue;
        if (r->count > o->counts[i])
            return sw_error(SW_EPLUGIN, "%s %s: run raised the count of output '%s' above what infer said",
                            call->plugin, call->what, op->outputs[i].name);
        int ok = r->offsets[0] == 0 && r->offsets[r->count] <= r->nbytes;
        for (uint64_t k = 0; ok && k < r->count; k++)
            ok = r->offsets[k] <= r->offsets[k + 1];
        if (!ok)
            return sw_error(SW_EPLUGIN, "%s %s: run wrote bad offsets into output '%s'", call->plugin, call->what,
                            op->outputs[i].name);
    }
    return 0;
}

/* A GPU variant's inputs staged on its device; NULL-safe cleanup through sw_gpu_stage_end. */
static int sw_stage_in(sw_gpu_stage *st, swarm_value **din, const swarm_op *op, const swarm_variant *v,
                       const swarm_value *inputs, const swarm_call *call)
{
    *din = sw_calloc(op->n_inputs + 1, sizeof **din);
    int rc = sw_gpu_stage_begin(st, v->device_type);
    if (!rc)
        rc = sw_gpu_stage_inputs(st, *din, inputs, op->n_inputs);
    return rc ? sw_error_wrap(SW_ERETRY, "%s %s (%s)", call->plugin, call->what,
                              sw_plugin_device_name(v->device_type))
              : 0;
}

int sw_op_call(sw_op_outputs *out, const sw_plugin *p, size_t op_index, size_t variant,
               const swarm_param_value *params, const swarm_value *inputs, const sw_allocator *a, int verbosity)
{
    const swarm_op *op = p->desc->ops[op_index];
    const swarm_variant *v = op->variants[variant];
    int gpu = sw_gpu_is_gpu(v->device_type);
    char what[80];
    swarm_call call;
    sw_gpu_stage st = {0};
    swarm_value *din = NULL, *dout = NULL, *vout = out->v;
    snprintf(what, sizeof what, "op %s", op->name);
    for (size_t i = 0; i < out->n; i++) {
        memset(&out->v[i].u, 0, sizeof out->v[i].u);
        out->v[i].kind = op->outputs[i].kind;
        if (out->v[i].kind == SWARM_KIND_TENSOR)
            out->v[i].u.tensor.shape = out->shapes[i];
    }
    sw_call_begin(&call, p->desc->id, what, verbosity);
    call.view = out->view;
    int rc = gpu ? sw_stage_in(&st, &din, op, v, inputs, &call) : 0;
    if (gpu && !rc)
        inputs = din;
    if (!rc && (rc = v->infer(&sw_host, &call, params, inputs, out->v)))
        rc = sw_call_fail(&call, rc);
    free(out->name);
    out->name = call.out_name;
    call.out_name = NULL;
    if (rc || (rc = sw_outputs_alloc(out, op, &call, a)))
        goto done;
    if (gpu) {
        dout = sw_calloc(out->n, sizeof *dout);
        if ((rc = sw_gpu_stage_outputs(&st, dout, out->v, out->n))) {
            rc = sw_error_wrap(SW_ERETRY, "%s %s (%s)", call.plugin, what, sw_plugin_device_name(v->device_type));
            goto done;
        }
        vout = dout;
    }
    sw_call_end(&call);
    sw_call_begin(&call, p->desc->id, what, verbosity);
    call.view = out->view;
    rc = v->run(&sw_host, &call, params, inputs, vout);
    if (rc)
        rc = sw_call_fail(&call, rc);
    else if (gpu && (rc = sw_gpu_stage_fetch(&st, out->v, dout, out->n)))
        rc = sw_error_wrap(SW_ERETRY, "%s %s (%s)", call.plugin, what, sw_plugin_device_name(v->device_type));
    if (!rc)
        rc = sw_outputs_check(out, op, &call);
done:
    if (rc)
        sw_outputs_release(out, a);
    if (gpu) {
        sw_gpu_stage_end(&st);
        free(din);
        free(dout);
    }
    sw_call_end(&call);
    return rc;
}

int sw_op_pass(long *input, sw_op_outputs *out, const sw_plugin *p, size_t op_index, size_t variant,
               const swarm_param_value *params, const swarm_value *inputs, int verbosity)
{
    const swarm_op *op = p->desc->ops[op_index];
    char what[80];
    swarm_call call;
    snprintf(what, sizeof what, "op %s", op->name);
    memset(&out->v[0].u, 0, sizeof out->v[0].u);
    out->v[0].kind = op->outputs[0].kind;
    out->v[0].u.tensor.shape = out->shapes[0];
    sw_call_begin(&call, p->desc->id, what, verbosity);
    call.view = out->view;
    call.may_pass = op->n_outputs == 1 && op->outputs[0].kind == SWARM_KIND_TENSOR;
    int rc = op->variants[variant]->infer(&sw_host, &call, params, inputs, out->v);
    if (rc)
        rc = sw_call_fail(&call, rc);
    free(out->name);
    out->name = call.out_name;
    call.out_name = NULL;
    *input = rc ? -1 : call.passed;
    if (*input >= 0) {
        const swarm_tensor *x = *input < (long)op->n_inputs && inputs[*input].kind == SWARM_KIND_TENSOR
                                    ? &inputs[*input].u.tensor : NULL, *y = &out->v[0].u.tensor;
        int same = x && x->ndim == y->ndim && !memcmp(&x->dtype, &y->dtype, sizeof x->dtype);
        for (int32_t d = 0; same && d < x->ndim; d++)
            same = x->shape[d] == y->shape[d];
        if (!same)
            rc = sw_call_fail(&call, sw_host_set_error(&call, SWARM_E_INTERNAL, "passed input %ld through with "
                                                       "another dtype or shape, or no such tensor input", *input));
    }
    sw_call_end(&call);
    return rc;
}

int sw_op_call_first(sw_op_outputs *out, size_t *used, const sw_plugin *p, size_t op_index, const size_t *order,
                     size_t n, const swarm_param_value *params, const swarm_value *inputs, const sw_allocator *a,
                     int verbosity)
{
    int rc = SW_ERETRY;
    for (size_t v = 0; v < n && rc == SW_ERETRY; v++) {
        *used = order[v];
        rc = sw_op_call(out, p, op_index, order[v], params, inputs, a, verbosity);
        /* Tell the user, once per op and variant, why a variant gave way to the next one (no runtime, out
         * of device memory, a device error): the message of the failure is the current error. */
        sw_plugin_probe *pr = &p->probes[op_index][order[v]];
        if (rc == SW_ERETRY && v + 1 < n && verbosity >= 0 && !__atomic_exchange_n(&pr->noticed, 1, __ATOMIC_RELAXED))
            fprintf(stderr, "swarm: note: %s\n", sw_error_last());
    }
    return rc;
}

/* ---- Formats --------------------------------------------------------------------------------------- */

void sw_tindex_free(sw_tindex *ix)
{
    if (!ix)
        return;
    sw_entries_free(ix->tensors, ix->ntensors, ix->meta, ix->nmeta);
    memset(ix, 0, sizeof *ix);
}

int sw_format_find(const sw_plugin **pp, const swarm_format **ff, const swarm_records_format **rff,
                   const sw_plugins *ps, const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *fname = slash ? slash + 1 : name;
    size_t found = 0;
    *ff = NULL;
    *rff = NULL;
    for (size_t i = 0; sw_plugins_get(ps, i); i++) {
        const sw_plugin *p = sw_plugins_get(ps, i);
        if (slash && (strlen(p->desc->id) != (size_t)(slash - name) || strncmp(p->desc->id, name, slash - name)))
            continue;
        size_t nrf;
        const swarm_records_format *const *rf = sw_plugin_records_formats(p->desc, &nrf);
        for (size_t k = 0; k < p->desc->n_formats + nrf; k++) {
            const char *n = k < p->desc->n_formats ? p->desc->formats[k]->name : rf[k - p->desc->n_formats]->name;
            if (strcmp(n, fname))
                continue;
            if (found++)
                return sw_error(SW_ECONFLICT, "format '%s' is in both %s and %s: name it as PLUGIN_ID/%s", fname,
                                (*pp)->desc->id, p->desc->id, fname);
            *pp = p;
            *ff = k < p->desc->n_formats ? p->desc->formats[k] : NULL;
            *rff = k < p->desc->n_formats ? NULL : rf[k - p->desc->n_formats];
        }
    }
    if (!found)
        return sw_error(SW_ENOTFOUND, "no plugin has the format '%s' (see swarm plugin ls)", name);
    return 0;
}

/* Orders strings given as pointers to (pointers to) them. */
static int sw_by_name(const void *a, const void *b)
{
    return strcmp(**(const char *const *const *)a, **(const char *const *const *)b);
}

const char *sw_first_dup(const void *base, size_t n, size_t stride)
{
    const char ***ptrs = sw_malloc((n ? n : 1) * sizeof *ptrs);
    const char *dup = NULL;
    for (size_t i = 0; i < n; i++)
        ptrs[i] = (const char **)((const char *)base + i * stride);
    qsort(ptrs, n, sizeof *ptrs, sw_by_name);
    for (size_t i = 1; i < n && !dup; i++)
        if (!strcmp(*ptrs[i - 1], *ptrs[i]))
            dup = *ptrs[i];
    free(ptrs);
    return dup;
}

int sw_format_read(sw_tindex *out, const sw_plugin *p, const swarm_format *f, const char *name,
                   const sw_tview *earlier, const uint8_t *file, uint64_t size, int verbosity)
{
    char what[80];
    swarm_call call;
    snprintf(what, sizeof what, "format %s", f->name);
    sw_call_begin(&call, p->desc->id, what, verbosity);
    call.file_size = size;
    call.file_name = name;
    call.view = earlier;
    int rc = f->read(&sw_host, &call, file, size);
    const char *dup;
    if (!rc && (dup = sw_first_dup(call.tensors, call.ntensors, sizeof *call.tensors)))
        rc = sw_host_set_error(&call, SWARM_E_BAD_INPUT, "two tensors named '%.64s'", dup);
    if (!rc && (dup = sw_first_dup(call.meta, call.nmeta, sizeof *call.meta)))
        rc = sw_host_set_error(&call, SWARM_E_BAD_INPUT, "two metadata keys '%.64s'", dup);
    if (rc) {
        rc = sw_call_fail(&call, rc);
        sw_call_end(&call);
        return rc;
    }
    *out = (sw_tindex){call.tensors, call.ntensors, call.meta, call.nmeta};
    call.tensors = NULL;
    call.meta = NULL;
    call.ntensors = call.nmeta = 0;
    sw_call_end(&call);
    return 0;
}

/* Orders tensor indexes by offset, for the overlap check (qsort_r; ctx is the entries). */
static int sw_by_offset(const void *a, const void *b, void *ctx)
{
    const swarm_tensor_entry *t = ctx;
    uint64_t x = t[*(const size_t *)a].offset, y = t[*(const size_t *)b].offset;
    return x < y ? -1 : x > y;
}

int sw_format_layout(uint8_t **header, size_t *hlen, uint64_t *total, const sw_plugin *p, const swarm_format *f,
                     swarm_tensor_entry *tensors, size_t n, const swarm_meta *meta, size_t nmeta, int verbosity)
{
    char what[80];
    swarm_call call;
    snprintf(what, sizeof what, "format %s", f->name);
    for (size_t i = 0; i < n; i++)
        tensors[i].offset = UINT64_MAX;
    sw_call_begin(&call, p->desc->id, what, verbosity);
    int rc = f->layout(&sw_host, &call, tensors, n, meta, nmeta);
    if (rc) {
        rc = sw_call_fail(&call, rc);
        sw_call_end(&call);
        return rc;
    }
    /* Each tensor after the header, none overlapping the next by offset. */
    size_t *order = sw_malloc((n ? n : 1) * sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof *order, sw_by_offset, tensors);
    uint64_t end = call.hlen;
    for (size_t i = 0; i < n && !rc; i++) {
        const swarm_tensor_entry *t = &tensors[order[i]];
        if (t->offset < end || t->offset > UINT64_MAX - t->nbytes)
            rc = sw_error(SW_EPLUGIN, "%s %s: layout placed tensor '%.64s' over the header or another tensor",
                          call.plugin, what, t->name);
        else
            end = t->offset + t->nbytes;
    }
    free(order);
    if (!rc && call.file_end && call.file_end < end)
        rc = sw_error(SW_EPLUGIN, "%s %s: layout set a file size before the end of its last tensor", call.plugin,
                      what);
    if (!rc) {
        *header = call.header;
        *hlen = call.hlen;
        *total = end > call.file_end ? end : call.file_end;
        call.header = NULL;
    }
    sw_call_end(&call);
    return rc;
}

/* ---- Records formats ------------------------------------------------------------------------------- */

/* One call of a records format's read or write, with io as the runner's side. */
static int sw_rformat_call(const sw_plugin *p, const swarm_records_format *f, const swarm_param_value *params,
                           const sw_rio *io, int verbosity, int writing)
{
    char what[80];
    swarm_call call;
    snprintf(what, sizeof what, "format %s", f->name);
    sw_call_begin(&call, p->desc->id, what, verbosity);
    call.io = io;
    int rc = writing ? f->write(&sw_host, &call, params) : f->read(&sw_host, &call, params);
    if (!rc && call.io_failed) /* the plugin went on after a host function failed: its message stands */
        rc = call.code ? call.code : SWARM_E_INTERNAL;
    if (rc)
        rc = sw_call_fail(&call, rc);
    sw_call_end(&call);
    return rc;
}

int sw_rformat_read(const sw_plugin *p, const swarm_records_format *f, const swarm_param_value *params,
                    const sw_rio *io, int verbosity)
{
    return sw_rformat_call(p, f, params, io, verbosity, 0);
}

int sw_rformat_write(const sw_plugin *p, const swarm_records_format *f, const swarm_param_value *params,
                     const sw_rio *io, int verbosity)
{
    return sw_rformat_call(p, f, params, io, verbosity, 1);
}
