/* fuzz.c — the helpers of fuzz.h: tensor and records round trips through the host (core/host/opcall.h). */
#include "fuzz.h"

#include <unistd.h>


/* ---- Tensor formats ------------------------------------------------------------------------------ */

static int fz_tensor_same(const swarm_tensor_entry *a, const swarm_tensor_entry *b)
{
    if (strcmp(a->name, b->name) || memcmp(&a->dtype, &b->dtype, sizeof a->dtype) || a->ndim != b->ndim || a->nbytes != b->nbytes)
        return 0;
    for (int32_t d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d])
            return 0;
    return 1;
}

/* The value of key in ix's metadata, or NULL. */
static const char *fz_meta_get(const sw_tindex *ix, const char *key)
{
    for (size_t i = 0; i < ix->nmeta; i++)
        if (!strcmp(ix->meta[i].key, key))
            return ix->meta[i].value;
    return NULL;
}

/* Reads data through format f; when it reads, lays the same tensors and metadata out again, builds that
 * file (the header, then each tensor's bytes copied from data at its new offset) and reads it back: the
 * tensors (names, dtypes, shapes, bytes) and every metadata pair must come back. A layout may refuse
 * (a writer's own rules); a file it laid out must read. */
void fz_tensor_roundtrip(const sw_plugin *p, const swarm_format *f, const uint8_t *data, size_t size)
{
    sw_tindex a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (sw_format_read(&a, p, f, NULL, NULL, data, size, -1))
        return;
    swarm_tensor_entry *t = sw_malloc((a.ntensors ? a.ntensors : 1) * sizeof *t);
    if (a.ntensors)
        memcpy(t, a.tensors, a.ntensors * sizeof *t);
    uint8_t *header = NULL;
    size_t hlen;
    uint64_t total;
    if (sw_format_layout(&header, &hlen, &total, p, f, t, a.ntensors, a.meta, a.nmeta, -1) == 0) {
        FZ_CHECK(total <= hlen + size * 2 + 4096 * (a.ntensors + 1)); /* no more than padding beside data */
        uint8_t *file = calloc(1, total ? total : 1);
        FZ_CHECK(file);
        memcpy(file, header, hlen);
        for (size_t i = 0; i < a.ntensors; i++)
            memcpy(file + t[i].offset, data + a.tensors[i].offset, t[i].nbytes);
        int rc = sw_format_read(&b, p, f, NULL, NULL, file, total, -1);
        if (rc)
            fprintf(stderr, "re-read: %s\n", sw_error_last());
        FZ_CHECK(rc == 0);
        FZ_CHECK(b.ntensors == a.ntensors);
        for (size_t i = 0; i < a.ntensors; i++) {
            FZ_CHECK(fz_tensor_same(&a.tensors[i], &b.tensors[i]));
            FZ_CHECK(!memcmp(file + b.tensors[i].offset, data + a.tensors[i].offset, a.tensors[i].nbytes));
        }
        for (size_t i = 0; i < a.nmeta; i++) {
            const char *v = fz_meta_get(&b, a.meta[i].key);
            FZ_CHECK(v && !strcmp(v, a.meta[i].value));
        }
        free(file);
        free(header);
    }
    free(t);
    sw_tindex_free(&a);
    sw_tindex_free(&b);
}

/* ---- Records formats ----------------------------------------------------------------------------- */

void fz_buf_put(fz_buf *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = sw_realloc(b->p, b->cap);
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
}

void fz_recs_free(fz_recs *r)
{
    free(r->bytes.p);
    free(r->off);
    memset(r, 0, sizeof *r);
}

/* The records io: reads pull from src in chunks of varying sizes (1 byte to 4 KiB, the same for the same
 * input, so that formats meet chunk boundaries anywhere), writes take from recs and emit into out. */
typedef struct {
    const uint8_t *src;
    size_t len, at;
    uint32_t rng;
    fz_recs *recs;
    size_t next;
    fz_buf *out;
} fz_io;

static int64_t fz_pull(void *ctx, void *buf, size_t cap)
{
    fz_io *io = ctx;
    io->rng = io->rng * 1103515245u + 12345u;
    size_t n = 1 + (io->rng >> 16) % 4096;
    if (n > cap)
        n = cap;
    if (n > io->len - io->at)
        n = io->len - io->at;
    memcpy(buf, io->src + io->at, n);
    io->at += n;
    return (int64_t)n;
}

static int fz_put_record(void *ctx, const void *data, size_t len)
{
    fz_recs *r = ((fz_io *)ctx)->recs;
    if (r->n + 2 > r->cap) {
        r->cap = r->cap * 2 + 16;
        r->off = sw_realloc(r->off, r->cap * sizeof *r->off);
    }
    if (!r->n)
        r->off[0] = 0;
    fz_buf_put(&r->bytes, data, len);
    r->off[++r->n] = r->bytes.len;
    return 0;
}

static int fz_next_record(void *ctx, const uint8_t **data, size_t *len)
{
    fz_io *io = ctx;
    if (io->next >= io->recs->n)
        return 0;
    *data = io->recs->bytes.p ? io->recs->bytes.p + io->recs->off[io->next] : (const uint8_t *)""; /* all empty */
    *len = io->recs->off[io->next + 1] - io->recs->off[io->next];
    io->next++;
    return 1;
}

static int fz_put_bytes(void *ctx, const void *data, size_t len)
{
    fz_buf_put(((fz_io *)ctx)->out, data, len);
    return 0;
}

/* The records format called name in plugin p; aborts when there is none (a harness bug). */
const swarm_records_format *fz_rformat(const sw_plugin *p, const char *name)
{
    size_t n;
    const swarm_records_format *const *f = sw_plugin_records_formats(p->desc, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(f[i]->name, name))
            return f[i];
    FZ_CHECK(!"no such records format");
    return NULL;
}

/* Binds f's params: each its default, except those named in keys (vals[i] for keys[i]). */
void fz_rparams(swarm_param_value *out, const swarm_records_format *f, const char *const *keys,
                       const char *const *vals, size_t nset)
{
    for (size_t i = 0; i < f->n_params; i++) {
        const char *text = f->params[i].default_value;
        for (size_t k = 0; k < nset; k++)
            if (!strcmp(keys[k], f->params[i].name))
                text = vals[k];
        FZ_CHECK(sw_param_parse(&out[i], &f->params[i], text) == 0);
    }
}

/* Reads size bytes through records format f into r (empty first); the format's return code. */
int fz_records_read(fz_recs *r, const sw_plugin *p, const swarm_records_format *f,
                           const swarm_param_value *params, const uint8_t *data, size_t size)
{
    fz_io io = {data, size, 0, (uint32_t)size, r, 0, NULL};
    sw_rio rio = {fz_pull, fz_put_record, NULL, NULL, &io};
    memset(r, 0, sizeof *r);
    return sw_rformat_read(p, f, params, &rio, -1);
}

/* Writes records r through f into out (empty first); the format's return code. */
int fz_records_write(fz_buf *out, const sw_plugin *p, const swarm_records_format *f,
                            const swarm_param_value *params, fz_recs *r)
{
    fz_io io = {NULL, 0, 0, 0, r, 0, out};
    sw_rio rio = {NULL, NULL, fz_next_record, fz_put_bytes, &io};
    memset(out, 0, sizeof *out);
    return sw_rformat_write(p, f, params, &rio, -1);
}

int fz_recs_equal(const fz_recs *a, const fz_recs *b)
{
    if (a->n != b->n || a->bytes.len != b->bytes.len)
        return 0;
    return !a->n || (!memcmp(a->off, b->off, (a->n + 1) * sizeof *a->off) &&
                     (!a->bytes.len || !memcmp(a->bytes.p, b->bytes.p, a->bytes.len)));
}

/* Reads data through f; when it reads, writes those records and reads the file written: the same
 * records must come back. A write may refuse records (a writer's own rules); a file it wrote must read. */
void fz_records_roundtrip(const sw_plugin *p, const swarm_records_format *f, const swarm_param_value *params,
                                 const uint8_t *data, size_t size)
{
    fz_recs a, b;
    fz_buf w;
    if (fz_records_read(&a, p, f, params, data, size) == 0) {
        if (fz_records_write(&w, p, f, params, &a) == 0) {
            int rc = fz_records_read(&b, p, f, params, w.p ? w.p : (const uint8_t *)"", w.len);
            if (rc)
                fprintf(stderr, "re-read: %s\n", sw_error_last());
            FZ_CHECK(rc == 0);
            FZ_CHECK(fz_recs_equal(&a, &b));
            fz_recs_free(&b);
        }
        free(w.p);
    }
    fz_recs_free(&a);
}


static char fz_dir[4096];

static void fz_scratch_remove(void)
{
    sw_rm_rf(fz_dir);
}

const char *fz_scratch(void)
{
    if (!fz_dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(fz_dir, sizeof fz_dir, "%s/swarm-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        FZ_CHECK(mkdtemp(fz_dir));
        atexit(fz_scratch_remove);
    }
    return fz_dir;
}
