/* stage_write.c — write stages: a collection through a tensor format, records through a records format or
 * as lines (one file, or shards by records or bytes), the stats writer; and the sinks of a written value:
 * saving it at the pipeline's path (stale shards of the same naming removed). Publishing is publish.c. */
#include "pipeline/run.h"
#include "base/error.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The metadata a write stage lays out: the collection's pairs, each replaced by the stage's pair with the
 * same key, then the stage's other pairs. The array is the caller's to free; the strings are borrowed. */
static swarm_meta *sw_meta_merge(size_t *n, const sw_tensors *c, const sw_stage *sg)
{
    swarm_meta *m = sw_malloc((c->nmeta + sg->nmeta + 1) * sizeof *m);
    size_t k = 0;
    for (size_t i = 0; i < c->nmeta; i++) {
        m[k] = (swarm_meta){c->meta[i].key, c->meta[i].value};
        for (size_t j = 0; j < sg->nmeta; j++)
            if (!strcmp(sg->meta[j].key, c->meta[i].key))
                m[k].value = sg->meta[j].value;
        k++;
    }
    for (size_t j = 0; j < sg->nmeta; j++) {
        size_t i = 0;
        while (i < c->nmeta && strcmp(sg->meta[j].key, c->meta[i].key))
            i++;
        if (i == c->nmeta)
            m[k++] = sg->meta[j];
    }
    *n = k;
    return m;
}

/* Writes zeros until the file reaches offset. */
static int sw_write_zeros(sw_fwriter *w, uint64_t offset)
{
    static const uint8_t zeros[4096];
    int r = 0;
    while (!r && w->total < offset) {
        uint64_t gap = offset - w->total;
        r = sw_fwriter_put(w, zeros, gap < sizeof zeros ? (size_t)gap : sizeof zeros);
    }
    return r;
}

/* Writes a collection through its format: the header, then each tensor's bytes at its offset, zeros
 * between and up to the file's size. */
static int sw_write_tensors(sw_run *run, const sw_stage *sg, const sw_tensors *c, sw_fwriter *w)
{
    swarm_tensor_entry *e = sw_calloc(c->n, sizeof *e);
    for (size_t k = 0; k < c->n; k++) {
        e[k].name = c->t[k].name;
        e[k].dtype = c->t[k].dtype;
        e[k].ndim = c->t[k].ndim;
        memcpy(e[k].shape, c->t[k].shape, sizeof e[k].shape);
        e[k].nbytes = c->t[k].nbytes;
    }
    uint8_t *header = NULL;
    size_t hlen, nmeta = 0;
    uint64_t total;
    swarm_meta *meta = sw_meta_merge(&nmeta, c, sg);
    int r = sw_format_layout(&header, &hlen, &total, sg->plugin, sg->format, e, c->n, meta, nmeta,
                             run->o->verbosity);
    free(meta);
    if (!r)
        r = sw_fwriter_put(w, header, hlen);
    free(header);
    /* Tensors in file order. */
    size_t *order = sw_malloc((c->n ? c->n : 1) * sizeof *order);
    for (size_t k = 0; k < c->n; k++) {
        size_t at = k;
        while (at > 0 && e[order[at - 1]].offset > e[k].offset) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = k;
    }
    for (size_t j = 0; j < c->n && !r; j++) {
        size_t k = order[j];
        r = sw_write_zeros(w, e[k].offset);
        /* Bytes only swarm writes are copied by the kernel; an input file's through memory, so that what
         * is hashed is what is written even if its owner changes it meanwhile. */
        char *own = r ? NULL : sw_blob_own_path(run, &c->t[k].blob);
        sw_tbytes b;
        if (own)
            r = sw_fwriter_copy(w, own, c->t[k].offset, c->t[k].nbytes);
        else if (!r && !(r = sw_tbytes_open(&b, run, &c->t[k]))) {
            r = sw_fwriter_put(w, b.p, (size_t)c->t[k].nbytes);
            sw_tbytes_close(&b, run);
        }
        free(own);
    }
    if (!r)
        r = sw_write_zeros(w, total); /* a format may end its file after the last tensor (GGUF's padding) */
    free(order);
    free(e);
    return r;
}

/* A JSON number, or null when there is none (have is 0) or it is not finite (a sum of huge f64 values). */
static json_t *sw_json_finite(int have, double v)
{
    return have && isfinite(v) ? json_real(v) : json_null();
}

/* The built-in "stats" writer: a JSON manifest of a tensor collection, each tensor with its dtype,
 * shape, byte count, SHA-256 and statistics of its elements (core/tstats.h: count, NaN and Inf counts,
 * and min, max, mean and standard deviation over the finite elements, null when there are none or the
 * dtype has no numbers to summarize), then the metadata. Deterministic: the same collection always
 * gives the same bytes. */
static int sw_stats_tensor(json_t **out, sw_run *run, const sw_tref *t)
{
    sw_map m;
    int r = sw_map_blob(&m, run, t);
    if (r)
        return r;
    const uint8_t *p = m.p + t->offset;
    size_t unit = t->dtype.code == SWARM_DTYPE_Q8_0 ? 34 : t->dtype.code == SWARM_DTYPE_Q4_0 ? 18
                  : t->dtype.bits >= 8                ? (size_t)t->dtype.bits / 8 * t->dtype.lanes
                                                      : 1;
    size_t chunk = unit * 65536;
    sw_sha256 *sha = sw_sha256_new();
    sw_tstats *st = sw_malloc(sizeof *st);
    sw_tstats_init(st);
    int numeric = 1;
    for (uint64_t at = 0; at < t->nbytes; at += chunk) {
        size_t n = t->nbytes - at < chunk ? (size_t)(t->nbytes - at) : chunk;
        sw_sha256_update(sha, p + at, n);
        if (numeric && sw_tstats_add(st, t->dtype, p + at, n))
            numeric = 0;
    }
    sw_hash h;
    sw_sha256_final(sha, &h);
    sw_sha256_free(sha);
    sw_map_close(&m);
    char hex[SW_HEX_LEN + 1], dt[32];
    sw_hash_hex(hex, &h);
    json_t *shape = json_array();
    for (int32_t d = 0; d < t->ndim; d++)
        json_array_append_new(shape, json_integer(t->shape[d]));
    json_t *o = json_pack("{s:s, s:s, s:o, s:I, s:s}", "name", t->name, "dtype", sw_dtype_name(dt, t->dtype),
                          "shape", shape, "nbytes", (json_int_t)t->nbytes, "sha256", hex);
    int have = numeric && st->finite;
    if (numeric) {
        json_object_set_new(o, "count", json_integer((json_int_t)st->count));
        json_object_set_new(o, "nan", json_integer((json_int_t)st->nan));
        json_object_set_new(o, "inf", json_integer((json_int_t)st->inf));
    }
    json_object_set_new(o, "min", sw_json_finite(have, st->min));
    json_object_set_new(o, "max", sw_json_finite(have, st->max));
    json_object_set_new(o, "mean", sw_json_finite(have, st->mean));
    json_object_set_new(o, "std", sw_json_finite(have, sw_tstats_std(st)));
    free(st);
    *out = o;
    return 0;
}

static int sw_write_stats(sw_run *run, const sw_tensors *c, sw_fwriter *w)
{
    json_t *tensors = json_array(), *meta = json_object();
    int r = 0;
    for (size_t k = 0; k < c->n && !r; k++) {
        json_t *o = NULL;
        if (!(r = sw_stats_tensor(&o, run, &c->t[k])))
            json_array_append_new(tensors, o);
    }
    for (size_t k = 0; k < c->nmeta; k++)
        json_object_set_new(meta, c->meta[k].key, json_string(c->meta[k].value));
    json_t *doc = json_pack("{s:s, s:o, s:o}", "schema", "swarm-tensor-stats/1", "tensors", tensors, "meta", meta);
    char *text = r ? NULL : sw_oom(json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)));
    json_decref(doc);
    if (text)
        r = sw_fwriter_put(w, text, strlen(text)) || sw_fwriter_put(w, "\n", 1) ? SW_ERROR : 0;
    free(text);
    return r;
}

/* The records a records write hands out, file by file: a file takes records until its shard is full
 * (shard_records records, or the next record would pass shard_bytes counted framed); a record that
 * does not fit is held and starts the next file. */
typedef struct {
    const sw_stage *sg;
    sw_rcursor cur;
    const uint8_t *rec; /* the held record, when held */
    size_t len;
    int held;
    uint64_t n, bytes; /* records and framed bytes handed to the current file */
    int drained;       /* the current file was told it has no more records */
    sw_pack *pk;       /* where the current file's bytes go */
    const uint8_t *dropped; /* the mapped input's pages before this are dropped (sw_drop_behind) */
} sw_rwrite;

/* Holds the next input record unless one is held: 1, 0 at the end, or an error. */
static int sw_rwrite_peek(sw_rwrite *c)
{
    if (c->held)
        return 1;
    sw_drop_behind(&c->dropped, c->cur.p); /* the records before this one are written */
    int got = sw_rcursor_next(&c->cur, &c->rec, &c->len);
    c->held = got == 1;
    return got;
}

static int sw_rwrite_next(void *ctx, const uint8_t **data, size_t *len)
{
    sw_rwrite *c = ctx;
    int got = c->drained ? 0 : sw_rwrite_peek(c);
    if (got == 1 && c->n &&
        ((c->sg->shard_records && c->n >= c->sg->shard_records) ||
         (c->sg->shard_bytes && c->bytes + 4 + c->len > c->sg->shard_bytes)))
        got = 0;
    if (got != 1) {
        c->drained = got == 0;
        return got;
    }
    c->held = 0;
    c->n++;
    c->bytes += 4 + c->len;
    *data = c->rec;
    *len = c->len;
    return 1;
}

static int sw_rwrite_put(void *ctx, const void *data, size_t len)
{
    return sw_pack_put(((sw_rwrite *)ctx)->pk, data, len);
}

/* The built-in "lines" format's write: each record and a newline. */
static int sw_lines_write(const sw_rio *io)
{
    const uint8_t *rec;
    size_t len;
    int got;
    while ((got = io->next_record(io->ctx, &rec, &len)) == 1) {
        if (memchr(rec, '\n', len))
            return sw_error(SW_EINVALID, "a record holds a newline, so it cannot be written as a line");
        if (io->put_bytes(io->ctx, rec, len) || io->put_bytes(io->ctx, "\n", 1))
            return SW_ERROR;
    }
    return got;
}

/* Whether a write stage shards its records into several files. */
int sw_sharded(const sw_stage *sg)
{
    return !sg->format && (sg->shard_records || sg->shard_bytes);
}

/* The name of file k of a write stage: its file name, or for shards PREFIX_NNNNNN.EXT[.gz|.zst]. */
static char *sw_shard_name(const sw_stage *sg, size_t k)
{
    if (!sw_sharded(sg))
        return sw_strdup(sg->file_name);
    return sw_sprintf("%s_%06zu.%s%s%s", sg->file_name, k, sg->rformat ? sg->rformat->extension : "txt",
                      sg->compress ? "." : "", sg->compress ? sw_compress_name(sg->compress) : "");
}

/* Writes one file of a records write into the store and adds it to the stage's files. */
static int sw_write_records_file(sw_run *run, sw_srun *s, const sw_stage *sg, sw_rwrite *c, size_t k, size_t *cap)
{
    char *tmp;
    int fd, added, r;
    sw_hash h;
    if ((r = sw_store_tmpfile(&tmp, &fd, run->st)))
        return r;
    sw_fwriter w;
    sw_fwriter_init(&w, fd);
    w.push = 1; /* a store object to be: its fsync comes at the commit */
    c->n = c->bytes = 0;
    c->drained = 0;
    r = sw_pack_open(&c->pk, (sw_compress)sg->compress, &w);
    if (!r) {
        sw_rio io = {.next_record = sw_rwrite_next, .put_bytes = sw_rwrite_put, .ctx = c};
        r = sg->rformat ? sw_rformat_write(sg->plugin, sg->rformat, sg->params, &io, run->o->verbosity)
                        : sw_lines_write(&io);
        if (!r && !c->drained)
            r = sw_error(SW_EPLUGIN, "%s format %s: write returned before taking all of its records",
                         sg->plugin->desc->id, sg->rformat->name);
        r = r ? (sw_pack_abort(c->pk), r) : sw_pack_finish(c->pk);
        c->pk = NULL;
    }
    uint64_t size = w.total;
    r = r ? (sw_fwriter_abort(&w), r) : sw_fwriter_finish(&w, &h);
    if (!r)
        r = sw_store_commit(run->st, fd, tmp, &h, &added);
    close(fd);
    if (r)
        unlink(tmp);
    free(tmp);
    if (r)
        return r;
    char *disk = sw_store_object_path(run->st, &h), *name = sw_shard_name(sg, k);
    sw_rfiles_push(s, name, disk, cap);
    free(disk);
    free(name);
    sw_rfile *f = &s->files[s->nfiles - 1];
    f->hash = h;
    f->size = size;
    f->known = 1;
    return 0;
}

/* Writes records through the stage's records format (or as lines) into one file, or into shards: files
 * until the records run out, at least one. */
static int sw_write_records(sw_run *run, sw_srun *s, const sw_stage *sg)
{
    const char *id = run->s[sg->inputs[0]].id;
    sw_hash h;
    sw_map m;
    char *path = NULL;
    int r = sw_id_hash(&h, id);
    if (!r && !(path = sw_blob_path(run, &h)))
        r = sw_error(SW_ENOTFOUND, "the records are not held");
    if (!r)
        r = sw_map_open(&m, path);
    free(path);
    if (r)
        return r;
    sw_rwrite c = {.sg = sg,
                   .cur = {m.p, m.p + m.len, strncmp(id, "records:lines:", 14) ? SW_FRAME_FRAMED : SW_FRAME_LINES},
                   .dropped = m.p};
    size_t cap = 0;
    for (size_t k = 0; !r; k++) {
        if (k && (r = sw_rwrite_peek(&c)) <= 0)
            break;
        r = sw_write_records_file(run, s, sg, &c, k, &cap);
    }
    sw_map_close(&m);
    return r < 0 ? r : 0;
}

static void sw_write_task(void *arg)
{
    sw_item *it = arg;
    sw_run *run = it->run;
    const sw_stage *sg = &run->g->v[it->stage];
    sw_srun *s = &run->s[it->stage];
    if (!sg->format && !sw_stage_stats(sg)) {
        int r = sw_write_records(run, s, sg);
        if (r)
            sw_item_fail(it, r);
        return;
    }
    char *tmp;
    int fd, added;
    sw_hash h;
    if (sw_store_tmpfile(&tmp, &fd, run->st))
        return sw_item_fail(it, SW_ERROR);
    sw_fwriter w;
    sw_fwriter_init(&w, fd);
    w.push = 1; /* a store object to be: its fsync comes at the commit */
    /* The copy for the save path is written beside it from the same bytes as the object, while the
     * second thread hashes them and the disk takes the object's pages (pushed as they were written):
     * the commit's fsync then waits for little. */
    int r = sg->save_path ? sw_create_beside(&s->staged, &w.tee, sg->save_path, 0644) : 0;
    if (!r)
        r = sg->format ? sw_write_tensors(run, sg, &run->s[sg->inputs[0]].tensors, &w)
                       : sw_write_stats(run, &run->s[sg->inputs[0]].tensors, &w);
    uint64_t size = w.total;
    if (!r)
        r = sw_fwriter_finish(&w, &h);
    else
        sw_fwriter_abort(&w);
    if (w.tee >= 0 && close(w.tee) < 0 && !r)
        r = sw_error_errno(SW_ERROR, "cannot write %s", s->staged);
    if (!r)
        r = sw_store_commit(run->st, fd, tmp, &h, &added);
    close(fd);
    if (r) {
        unlink(tmp);
        sw_item_fail(it, r);
    } else {
        size_t cap = 0;
        char *disk = sw_store_object_path(run->st, &h);
        sw_rfiles_push(s, sg->file_name, disk, &cap);
        free(disk);
        s->files[0].hash = h;
        s->files[0].size = size;
        s->files[0].known = 1;
    }
    free(tmp);
}

/* A sharded write's files as a store object: their listing, "PATH\tHEX\n" per file in order, whose
 * SHA-256 is the files:HEX id (values.h). */
static int sw_listing_put(sw_hash *h, const sw_run *run, const sw_srun *s)
{
    char *text = sw_strdup(""), hex[SW_HEX_LEN + 1];
    size_t len = 0, cap = 1;
    for (size_t k = 0; k < s->nfiles; k++) {
        sw_hash_hex(hex, &s->files[k].hash);
        char *line = sw_sprintf("%s\t%s\n", s->files[k].rel, hex);
        size_t n = strlen(line);
        sw_grow(&text, &cap, len + n + 1, 1);
        memcpy(text + len, line, n + 1);
        len += n;
        free(line);
    }
    int r = sw_put_buf(h, run->st, text, len);
    free(text);
    return r;
}

/* Loads the files of a write stage's id (file:HEX, or files:HEX naming a listing) from the store. */
static int sw_written_load(sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    sw_hash h;
    size_t cap = 0;
    char *text = NULL;
    size_t len;
    int r = sw_id_hash(&h, s->id);
    if (r)
        return r;
    if (strncmp(s->id, "files:", 6)) {
        char *disk = sw_store_object_path(run->st, &h);
        sw_rfiles_push(s, sg->file_name, disk, &cap);
        free(disk);
        s->files[0].hash = h;
        s->files[0].known = 1;
        return sw_store_stat(run->st, &h, &s->files[0].size);
    }
    if ((r = sw_read_object(&text, &len, run->st, &h)))
        return r;
    for (char *line = text, *nl; !r && (nl = memchr(line, '\n', len - (size_t)(line - text))); line = nl + 1) {
        *nl = 0;
        char *tab = strchr(line, '\t');
        sw_hash fh;
        if (!tab || (*tab = 0, sw_hash_parse(&fh, tab + 1))) {
            r = sw_error(SW_ERROR, "the listing of %s is damaged", s->id);
            break;
        }
        char *disk = sw_store_object_path(run->st, &fh);
        sw_rfiles_push(s, line, disk, &cap);
        free(disk);
        sw_rfile *f = &s->files[s->nfiles - 1];
        f->hash = fh;
        f->known = 1;
        r = sw_store_stat(run->st, &fh, &f->size);
    }
    free(text);
    return r;
}

/* Saves a written file at dest unless dest holds those bytes already, as the stat cache knows: renames
 * the copy the write task staged beside dest (*staged, taken), else copies (a temp file beside dest
 * renamed over it). Neither is fsync'd: the bytes are a store object, durable already, and a crash that
 * loses the copy leaves dest with other stat data than the stat cache recorded (another inode, size or
 * times), so the next run copies again. */
static int sw_save_file(sw_run *run, const sw_rfile *f, const char *dest, char **staged)
{
    struct stat st;
    sw_filestat fs;
    sw_hash h;
    char *real = realpath(dest, NULL), *tmp = *staged;
    int r = 0, have = 0;
    *staged = NULL;
    if (real && stat(real, &st) == 0) {
        sw_filestat_of(&fs, &st);
        have = sw_index_file_get(&h, sw_store_index(run->st), real, &fs) == 0 && sw_hash_eq(&h, &f->hash);
    }
    free(real);
    if (have || (tmp && rename(tmp, dest) < 0)) {
        if (!have)
            r = sw_error_errno(SW_ERROR, "cannot rename to %s", dest);
        if (tmp)
            unlink(tmp);
    } else if (!tmp) {
        r = sw_copy_file_replace(f->disk, dest, 0644);
    }
    free(tmp);
    if (r || have)
        return r;
    real = realpath(dest, NULL);
    if (real && stat(real, &st) == 0) {
        sw_filestat_of(&fs, &st);
        r = sw_index_file_put(sw_store_index(run->st), real, &fs, &f->hash);
    }
    free(real);
    return r;
}

/* Whether name is a shard of exactly this stage's naming (PREFIX_, six or more digits, then the stage's
 * extension and compression suffix) that the run did not write: one left in the folder by an earlier run
 * with more shards. */
static int sw_stale_shard(const sw_stage *sg, const sw_srun *s, const char *name)
{
    size_t n = strlen(sg->file_name), d = 0;
    if (strncmp(name, sg->file_name, n) || name[n] != '_')
        return 0;
    while (name[n + 1 + d] >= '0' && name[n + 1 + d] <= '9')
        d++;
    char *tail = sw_shard_name(sg, 0); /* PREFIX_000000.EXT[.gz|.zst]: its part after the digits */
    int same = d >= 6 && !strcmp(name + n + 1 + d, tail + n + 7);
    free(tail);
    if (!same)
        return 0;
    for (size_t k = 0; k < s->nfiles; k++)
        if (!strcmp(s->files[k].rel, name))
            return 0;
    return 1;
}

int sw_write_folders(const sw_graph *g)
{
    for (size_t i = 0; i < g->n; i++) {
        const sw_stage *sg = &g->v[i];
        if (sg->kind != SW_STAGE_WRITE || !sg->save_path)
            continue;
        struct stat st;
        int sharded = sw_sharded(sg);
        if (!sharded && stat(sg->save_path, &st) == 0 && S_ISDIR(st.st_mode))
            return sw_error(SW_EINVALID, "stage '%s' (%s): output '%s' is a folder (a single-file output needs "
                                         "a file's path)", sg->name, sg->where, sg->save_path);
        char *dir = sharded ? sw_strdup(sg->save_path) : sw_dirname(sg->save_path);
        int r = sw_mkdir_p(dir);
        free(dir);
        if (!r && !sharded)
            sw_sweep_beside(sg->save_path); /* the copy a killed run was staging */
        if (r)
            return sw_error_wrap(r, "stage '%s' (%s): output '%s'", sg->name, sg->where, sg->save_path);
    }
    return 0;
}

/* Saves what a write stage made: its file to the path, or its shards into the folder at the path, whose
 * stale shards of the same naming (from an earlier run that made more) are removed, so the folder holds
 * exactly this run's shards of that name. */
static int sw_save(sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    if (!sw_sharded(sg))
        return sw_save_file(run, &s->files[0], sg->save_path, &s->staged);
    int r = sw_mkdir_p(sg->save_path);
    for (size_t k = 0; !r && k < s->nfiles; k++) {
        char *dest = sw_sprintf("%s/%s", sg->save_path, s->files[k].rel);
        char *none = NULL;
        r = sw_save_file(run, &s->files[k], dest, &none);
        free(dest);
    }
    DIR *dir = r ? NULL : opendir(sg->save_path);
    for (struct dirent *e; dir && (e = readdir(dir));)
        if (sw_stale_shard(sg, s, e->d_name) && unlinkat(dirfd(dir), e->d_name, 0) && errno != ENOENT)
            r = sw_error_errno(SW_ERROR, "cannot remove the stale shard %s/%s", sg->save_path, e->d_name);
    if (dir)
        closedir(dir);
    return r;
}

/* The key parts of a write stage: a records format's params, then the write's own choices as params of
 * the types "meta" (metadata pairs, "meta.KEY") and "write" (compression, shards and their names). */
static int sw_write_parts(json_t **out, sw_run *run, const sw_stage *sg)
{
    json_t *parts;
    int r = sw_format_parts(&parts, run, "write", sg);
    *out = parts;
    for (size_t k = 0; k < sg->nmeta; k++) {
        char *name = sw_sprintf("meta.%s", sg->meta[k].key);
        sw_key_param(parts, name, "meta", sg->meta[k].value);
        free(name);
    }
    if (!sg->format && sg->compress)
        sw_key_param(parts, "write.compress", "write", sw_compress_name(sg->compress));
    if (sw_sharded(sg)) {
        char n[32];
        snprintf(n, sizeof n, "%llu", (unsigned long long)sg->shard_records);
        sw_key_param(parts, "write.shard_records", "write", n);
        snprintf(n, sizeof n, "%llu", (unsigned long long)sg->shard_bytes);
        sw_key_param(parts, "write.shard_bytes", "write", n);
        sw_key_param(parts, "write.file", "write", sg->file_name);
        sw_key_param(parts, "write.ext", "write", sg->rformat ? sg->rformat->extension : "txt");
    }
    return r;
}

static int sw_write_kind_parts(json_t **out, sw_run *run, size_t i)
{
    int r = sw_write_parts(out, run, &run->g->v[i]);
    return r ? r : sw_load_inputs(run, i);
}

static int sw_write_kind_queue(sw_run *run, size_t i, sw_pool *pool)
{
    sw_run_items(run, i, 1);
    sw_run_submit(pool, sw_write_task, &run->s[i].items[0]);
    return 0;
}

/* A single file is its value (file:HEX); shards are a listing (files:HEX) pinned with every shard. */
static int sw_write_kind_finish(sw_run *run, size_t i)
{
    sw_srun *s = &run->s[i];
    if (!sw_sharded(&run->g->v[i])) {
        char *hex = sw_hex(&s->files[0].hash);
        s->id = sw_sprintf("file:%s", hex);
        free(hex);
        return sw_run_record(run, i, NULL, 0);
    }
    sw_hash *objs = sw_malloc((s->nfiles + 1) * sizeof *objs);
    if (sw_listing_put(&objs[0], run, s)) {
        free(objs);
        return SW_ERROR;
    }
    for (size_t k = 0; k < s->nfiles; k++)
        objs[k + 1] = s->files[k].hash;
    char *hex = sw_hex(&objs[0]);
    s->id = sw_sprintf("files:%s", hex);
    free(hex);
    int r = sw_run_record(run, i, objs, s->nfiles + 1);
    free(objs);
    return r;
}

/* Saves the written value at the pipeline's path, then publishes it, as the stage asks. */
static int sw_write_kind_sinks(sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
    int r = sg->save_path ? sw_save(run, i) : 0;
    return !r && sg->publish_name ? sw_publish(run, i) : r;
}

const sw_stage_kind sw_kind_write = {NULL, sw_write_kind_parts, sw_written_load, sw_write_kind_queue,
                                     sw_write_kind_finish, sw_write_kind_sinks};
