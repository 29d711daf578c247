/* stage_values.c — where the runner's values live (see run.h): blobs (store objects, input files known by
 * their hash, op outputs kept for the run) and their mappings, the run's reused buffers and tensors read
 * into them, op outputs built in them and kept as unsynced temp files, tensor collections loaded and
 * committed, records segments joined, and stage results recorded under their keys. */
#include "pipeline/run.h"
#include "base/error.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void sw_item_fail(sw_item *it, int code)
{
    it->err = code ? code : SW_ERROR;
    snprintf(it->msg, sizeof it->msg, "%s", sw_error_last());
}

char *sw_hex(const sw_hash *h)
{
    char *s = sw_malloc(SW_HEX_LEN + 1);
    sw_hash_hex(s, h);
    return s;
}

void sw_filestat_of(sw_filestat *fs, const struct stat *st)
{
    fs->dev = (uint64_t)st->st_dev;
    fs->ino = (uint64_t)st->st_ino;
    fs->size = (uint64_t)st->st_size;
    fs->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    fs->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

/* Writes buf as a store object (from the main thread or a worker). */
int sw_put_buf(sw_hash *h, const sw_store *st, const void *buf, size_t len)
{
    char *tmp;
    int fd, added;
    if (sw_store_tmpfile(&tmp, &fd, st))
        return SW_ERROR;
    sw_sha256_buf(h, buf, len);
    int r = sw_write_all(fd, buf, len) < 0 ? sw_error_errno(SW_ERROR, "cannot write to the store") : 0;
    if (!r)
        r = sw_store_commit(st, fd, tmp, h, &added);
    close(fd);
    if (r)
        unlink(tmp);
    free(tmp);
    return r;
}

/* Reads a whole store object (small ones: collections). */
int sw_read_object(char **out, size_t *len, const sw_store *st, const sw_hash *h)
{
    char *path = sw_store_object_path(st, h);
    int r = sw_read_file(out, len, path, (size_t)256 << 20);
    free(path);
    return r;
}

/* The temp file of an op output this run kept with those bytes, or NULL (caller frees). */
static char *sw_kept_path(const sw_run *run, const sw_hash *h)
{
    char *kept = NULL;
    pthread_mutex_lock((pthread_mutex_t *)&run->mu);
    for (size_t k = 0; k < run->nkept && !kept; k++)
        if (sw_hash_eq(&run->kept[k].hash, h))
            kept = sw_strdup(run->kept[k].path);
    pthread_mutex_unlock((pthread_mutex_t *)&run->mu);
    return kept;
}

char *sw_blob_own_path(const sw_run *run, const sw_hash *h)
{
    if (sw_store_stat(run->st, h, NULL) == 0)
        return sw_store_object_path(run->st, h);
    return sw_kept_path(run, h);
}

/* Where a blob's bytes are: a store object, an input file of this run, or an op output this run kept.
 * Caller frees. */
char *sw_blob_path(const sw_run *run, const sw_hash *h)
{
    char *own = sw_blob_own_path(run, h);
    if (own)
        return own;
    for (size_t i = 0; i < run->g->n; i++) {
        const sw_srun *s = &run->s[i];
        if (run->g->v[i].kind != SW_STAGE_INPUT || !s->done)
            continue;
        for (size_t k = 0; k < s->nfiles; k++)
            if (s->files[k].known && sw_hash_eq(&s->files[k].hash, h))
                return sw_strdup(s->files[k].disk);
    }
    return NULL;
}

int sw_map_open(sw_map *m, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    m->p = NULL;
    m->len = 0;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int r = sw_error_errno(SW_ERROR, "cannot open %s", path);
        if (fd >= 0)
            close(fd);
        return r;
    }
    m->len = (size_t)st.st_size;
    if (m->len) {
        void *p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return sw_error_errno(SW_ERROR, "cannot map %s", path);
        }
        madvise(p, m->len, MADV_SEQUENTIAL);
        m->p = p;
    }
    close(fd);
    return 0;
}

void sw_map_close(sw_map *m)
{
    if (m->p)
        munmap((void *)m->p, m->len);
    m->p = NULL;
}

/* The file holding a tensor's blob (caller frees): in the store, or an input of this run. SW_ENOTFOUND
 * naming the tensor when it is in neither. */
static int sw_tensor_path(char **out, const sw_run *run, const sw_tref *t)
{
    if ((*out = sw_blob_path(run, &t->blob)) != NULL)
        return 0;
    char hex[SW_HEX_LEN + 1];
    sw_hash_hex(hex, &t->blob);
    return sw_error(SW_ENOTFOUND, "the bytes of tensor '%s' (in %.16s...) are neither in the store nor an input of "
                    "this run", t->name, hex);
}

/* Maps the blob holding a tensor and checks the tensor lies inside it. */
int sw_map_blob(sw_map *m, const sw_run *run, const sw_tref *t)
{
    char *path = NULL;
    if (sw_tensor_path(&path, run, t))
        return SW_ENOTFOUND;
    int r = sw_map_open(m, path);
    free(path);
    if (!r && (t->offset > m->len || t->nbytes > m->len - t->offset)) {
        sw_map_close(m);
        r = sw_error(SW_EINVALID, "tensor '%s' lies outside its blob", t->name);
    }
    return r;
}

void *sw_run_buf(sw_run *run, size_t size)
{
    const size_t huge = (size_t)2 << 20;
    size_t cap = (size + huge - 1) / huge * huge, best = SIZE_MAX;
    void *p = NULL;
    pthread_mutex_lock(&run->mu);
    for (size_t k = 0; k < run->nbufs; k++)
        if (!run->bufs[k].busy && run->bufs[k].cap >= size && (best == SIZE_MAX || run->bufs[k].cap < run->bufs[best].cap))
            best = k;
    if (best != SIZE_MAX) {
        run->bufs[best].busy = 1;
        p = run->bufs[best].p;
    }
    pthread_mutex_unlock(&run->mu);
    if (p)
        return p;
    if (posix_memalign(&p, huge, cap ? cap : huge))
        return NULL;
    madvise(p, cap ? cap : huge, MADV_HUGEPAGE);
    pthread_mutex_lock(&run->mu);
    sw_grow(&run->bufs, &run->cbufs, run->nbufs + 1, sizeof *run->bufs);
    run->bufs[run->nbufs++] = (sw_buf){p, cap, 1};
    pthread_mutex_unlock(&run->mu);
    return p;
}

void sw_run_buf_put(sw_run *run, void *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&run->mu);
    size_t idle = 0, at = 0;
    for (size_t k = 0; k < run->nbufs; k++) {
        if (run->bufs[k].p == p)
            at = k;
        idle += !run->bufs[k].busy;
    }
    /* Two idle buffers per worker cover a tensor op's input and output; free the rest. */
    if (idle >= 2 * (size_t)run->o->jobs) {
        free(p);
        run->bufs[at] = run->bufs[--run->nbufs];
    } else {
        run->bufs[at].busy = 0;
    }
    pthread_mutex_unlock(&run->mu);
}

void sw_run_bufs_free(sw_run *run)
{
    for (size_t k = 0; k < run->nbufs; k++)
        free(run->bufs[k].p);
    free(run->bufs);
    run->bufs = NULL;
    run->nbufs = run->cbufs = 0;
}

/* Reads len bytes at offset of the file at path into buf. */
static int sw_pread_file(void *buf, const char *path, uint64_t offset, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
    if (fd < 0)
        return sw_error_errno(SW_ERROR, "cannot open %s", path);
    ssize_t n = sw_pread_full(fd, buf, len, offset);
    if (n < 0)
        r = sw_error_errno(SW_ERROR, "cannot read %s", path);
    else if ((size_t)n < len)
        r = sw_error(SW_EINVALID, "%s is short", path);
    close(fd);
    return r;
}

int sw_tbytes_open(sw_tbytes *b, sw_run *run, const sw_tref *t)
{
    memset(b, 0, sizeof *b);
    if (t->nbytes > SW_BUF_MAX) {
        int r = sw_map_blob(&b->m, run, t);
        b->p = r ? NULL : b->m.p + t->offset;
        return r;
    }
    char *path = NULL;
    if (sw_tensor_path(&path, run, t))
        return SW_ENOTFOUND;
    int r = 0;
    if (!(b->buf = sw_run_buf(run, (size_t)t->nbytes)))
        r = sw_error(SW_ERROR, "out of memory for tensor '%s'", t->name);
    if (!r)
        r = sw_pread_file(b->buf, path, t->offset, (size_t)t->nbytes);
    free(path);
    if (r) {
        sw_run_buf_put(run, b->buf);
        b->buf = NULL;
    }
    b->p = b->buf;
    return r;
}

void sw_tbytes_close(sw_tbytes *b, sw_run *run)
{
    sw_map_close(&b->m);
    sw_run_buf_put(run, b->buf);
    b->buf = NULL;
}

void *sw_tmp_alloc(void *ctx, size_t size)
{
    sw_tmpalloc *a = ctx;
    if (a->n == sizeof a->bufs / sizeof *a->bufs)
        return NULL;
    struct sw_tbuf *b = &a->bufs[a->n];
    if (size <= SW_BUF_MAX) {
        if (!(b->p = sw_run_buf(a->run, size ? size : 1)))
            return NULL;
        b->size = size;
        b->fd = -1;
        b->tmp = NULL;
        a->n++;
        return b->p;
    }
    if (sw_store_tmpfile(&b->tmp, &b->fd, a->run->st))
        return NULL;
    void *p = MAP_FAILED;
    if (ftruncate(b->fd, (off_t)size) == 0)
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
    if (p == MAP_FAILED) {
        close(b->fd);
        unlink(b->tmp);
        free(b->tmp);
        return NULL;
    }
    b->p = p;
    b->size = size;
    a->n++;
    return p;
}

/* Releases output buffer b: back to the run, or unmapped (its temp file closed). */
static void sw_tbuf_release(sw_tmpalloc *a, struct sw_tbuf *b)
{
    if (b->fd < 0) {
        sw_run_buf_put(a->run, b->p);
        return;
    }
    munmap(b->p, b->size);
    close(b->fd);
}

void sw_tmp_free(void *ctx, void *ptr, size_t size)
{
    sw_tmpalloc *a = ctx;
    (void)size;
    for (size_t i = 0; i < a->n; i++) {
        struct sw_tbuf *b = &a->bufs[i];
        if (b->p != ptr)
            continue;
        sw_tbuf_release(a, b);
        if (b->tmp)
            unlink(b->tmp);
        free(b->tmp);
        *b = a->bufs[--a->n];
        return;
    }
}

/* Keeps the buffer at ptr for this run: hash, the bytes into a temp file of the store (a buffer's are
 * written there, a mapping's are there), and its path to the caller; NULL when the run holds those bytes
 * already (sw_blob_path finds them). No fsync: the bytes are read again within the run, from the page
 * cache, and never trusted by another run. */
int sw_tmp_keep(sw_tmpalloc *a, void *ptr, sw_hash *h, char **tmp)
{
    for (size_t i = 0; i < a->n; i++) {
        struct sw_tbuf *b = &a->bufs[i];
        if (b->p != ptr)
            continue;
        int r = 0, fd;
        sw_sha256_buf(h, b->p, b->size);
        /* Bytes an earlier stage of the run kept already (an op that moved a tensor unchanged) are not
         * written again: the tensor is read from that stage's temp file. */
        char *kept = b->fd < 0 ? sw_kept_path(a->run, h) : NULL;
        int have = kept != NULL;
        free(kept);
        if (b->fd < 0 && !have && !(r = sw_store_tmpfile(&b->tmp, &fd, a->run->st))) {
            if (sw_write_all(fd, b->p, b->size) < 0)
                r = sw_error_errno(SW_ERROR, "cannot write to the store");
            close(fd);
        }
        sw_tbuf_release(a, b);
        if (r && b->tmp)
            unlink(b->tmp);
        *tmp = r ? (free(b->tmp), NULL) : b->tmp;
        *b = a->bufs[--a->n];
        return r;
    }
    return sw_error(SW_ERROR, "an output buffer was lost");
}

void sw_run_keep(sw_run *run, const sw_hash *h, char *path)
{
    pthread_mutex_lock(&run->mu);
    sw_grow(&run->kept, &run->ckept, run->nkept + 1, sizeof *run->kept);
    run->kept[run->nkept++] = (sw_kept){*h, path};
    pthread_mutex_unlock(&run->mu);
}

/* Parses "KIND:...:HEX" ids: the hash at the end, and for records the framing. */
int sw_id_hash(sw_hash *h, const char *id)
{
    const char *hex = strrchr(id, ':');
    return hex ? sw_hash_parse(h, hex + 1) : sw_error(SW_EINVALID, "bad value id '%s'", id);
}

/* Loads stage i's tensor collection from the store (once). */
int sw_load_tensors(sw_run *run, size_t i)
{
    sw_srun *s = &run->s[i];
    if (s->loaded)
        return 0;
    sw_hash h;
    char *json;
    size_t len;
    if (sw_id_hash(&h, s->id) || sw_read_object(&json, &len, run->st, &h))
        return SW_ERROR;
    int r = sw_tensors_parse(&s->tensors, json, len);
    free(json);
    s->loaded = r == 0;
    return r;
}

/* Commits stage i's collection (s->made) as an object, records the key, and sets the id. */
int sw_commit_tensors(sw_run *run, size_t i)
{
    sw_srun *s = &run->s[i];
    char *json = sw_tensors_to_json(&s->made);
    sw_hash h;
    int r = sw_put_buf(&h, run->st, json, strlen(json));
    free(json);
    if (r)
        return r;
    char *hex = sw_hex(&h);
    free(s->id); /* a cached stage run again for its bytes (runner.c, sw_materialize) */
    s->id = sw_sprintf("tensors:%s", hex);
    free(hex);
    /* Pin the collection and every store object it holds (input files are not the store's). */
    sw_hash *objs = sw_malloc((s->made.n + 1) * sizeof *objs);
    size_t n = 0;
    objs[n++] = h;
    for (size_t k = 0; k < s->made.n; k++)
        if (sw_store_stat(run->st, &s->made.t[k].blob, NULL) == 0)
            objs[n++] = s->made.t[k].blob;
    r = s->no_cache ? 0 : sw_index_stage_put(sw_store_index(run->st), &s->key, s->id, objs, n);
    free(objs);
    sw_tensors_free(&s->tensors);
    s->tensors = s->made;
    memset(&s->made, 0, sizeof s->made);
    s->loaded = 1;
    return r;
}

/* Joins the segments' outputs in order into one object (one segment is committed as it is). */
static int sw_records_join(sw_run *run, size_t i, sw_hash *out)
{
    sw_srun *s = &run->s[i];
    char *tmp = NULL;
    int fd = -1, added, r = 0;
    if (s->nitems == 1) {
        *out = s->items[0].hash;
        fd = open(s->items[0].tmp, O_RDONLY | O_CLOEXEC);
        r = fd < 0 ? sw_error_errno(SW_ERROR, "cannot open %s", s->items[0].tmp)
                   : sw_store_commit(run->st, fd, s->items[0].tmp, out, &added);
        if (fd >= 0)
            close(fd);
        return r;
    }
    if (sw_store_tmpfile(&tmp, &fd, run->st))
        return SW_ERROR;
    sw_fwriter w;
    sw_fwriter_init(&w, fd);
    for (size_t k = 0; k < s->nitems && !r; k++) {
        sw_map m;
        if (!(r = sw_map_open(&m, s->items[k].tmp))) {
            r = sw_fwriter_put(&w, m.p, m.len);
            sw_map_close(&m);
        }
    }
    r = r ? (sw_fwriter_abort(&w), r) : sw_fwriter_finish(&w, out);
    if (!r)
        r = sw_store_commit(run->st, fd, tmp, out, &added);
    close(fd);
    if (r)
        unlink(tmp);
    free(tmp);
    return r;
}

void sw_rfiles_push(sw_srun *s, const char *rel, const char *disk, size_t *cap)
{
    sw_grow(&s->files, cap, s->nfiles + 1, sizeof *s->files);
    sw_rfile *f = &s->files[s->nfiles++];
    memset(f, 0, sizeof *f);
    f->rel = sw_strdup(rel);
    f->disk = sw_strdup(disk);
}

int sw_load_inputs(sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
    int r = 0;
    for (size_t k = 0; !r && k < sg->ninputs; k++)
        if (run->g->v[sg->inputs[k]].out == SW_VAL_TENSORS)
            r = sw_load_tensors(run, sg->inputs[k]);
    return r;
}

int sw_records_finish(sw_run *run, size_t i)
{
    sw_srun *s = &run->s[i];
    sw_hash h;
    /* Every item is done with the inputs: unmap them now, not when the run ends, so that the pages they
     * touched do not add up across the stages of a run. */
    sw_map_close(&s->in);
    sw_map_close(&s->in2);
    if (sw_records_join(run, i, &h))
        return SW_ERROR;
    char *hex = sw_hex(&h);
    s->id = sw_sprintf("records:framed:%s", hex);
    free(hex);
    return sw_run_record(run, i, NULL, 0);
}
