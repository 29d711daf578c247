/* getcheck.c — checks the files of a download while it runs (see getcheck.h). */
#include "net/getcheck.h"
#include "base/error.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One file to check: where it lies in the torrent's data, and what hashing it gave. */
typedef struct {
    const sw_mfile *f;
    char *path;
    uint64_t base; /* offset of its first byte in the torrent's data */
    sw_object obj;
    int rc;        /* 0, or the failure of hashing it ... */
    char *msg;     /* ... and its message */
} sw_gcfile;

struct sw_getcheck {
    sw_gcfile *files;
    size_t nfiles;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t ready; /* bytes from the start verified (under mu) */
    int stop;       /* give up: the download failed (under mu) */
};

/* The reader the hashing pulls from: one file, read only as far as the download has verified it. */
typedef struct {
    sw_getcheck *g;
    sw_gcfile *file;
    uint64_t pos;
    int fd;
} sw_gcreader;

/* Waits until the first end bytes of the torrent's data are verified; 0, or SW_ERROR when told to stop. */
static int sw_gc_wait(sw_getcheck *g, uint64_t end)
{
    pthread_mutex_lock(&g->mu);
    while (g->ready < end && !g->stop)
        pthread_cond_wait(&g->cv, &g->mu);
    int stop = g->stop;
    pthread_mutex_unlock(&g->mu);
    return stop ? sw_error(SW_ERROR, "stopped") : 0;
}

/* sw_reader over a file being downloaded: blocks until the bytes asked for are verified, reads them,
 * and starts writing them back to disk (they are final), so the commit's fsync finds little to do. */
static ssize_t sw_gc_read(void *ctx, void *buf, size_t len)
{
    sw_gcreader *rd = ctx;
    uint64_t size = rd->file->f->size;
    if (rd->pos >= size)
        return 0;
    size_t n = size - rd->pos < len ? (size_t)(size - rd->pos) : len;
    if (sw_gc_wait(rd->g, rd->file->base + rd->pos + n))
        return SW_ERROR;
    if (rd->fd < 0 && (rd->fd = open(rd->file->path, O_RDONLY | O_CLOEXEC)) < 0)
        return sw_error_errno(SW_ERROR, "cannot open %s", rd->file->path);
    ssize_t got = pread(rd->fd, buf, n, (off_t)rd->pos);
    if (got < 0)
        return sw_error_errno(SW_ERROR, "cannot read %s", rd->file->path);
    if (got == 0)
        return sw_error(SW_EINVALID, "%s is shorter than its manifest says", rd->file->path);
    sync_file_range(rd->fd, (off64_t)rd->pos, got, SYNC_FILE_RANGE_WRITE);
    rd->pos += (uint64_t)got;
    return got;
}

/* The thread: hashes each file in order, at the manifest's chunk cuts. */
static void *sw_gc_main(void *arg)
{
    sw_getcheck *g = arg;
    for (size_t i = 0; i < g->nfiles; i++) {
        sw_gcfile *file = &g->files[i];
        sw_gcreader rd = {g, file, 0, -1};
        file->rc = sw_store_hash(&file->obj, sw_gc_read, &rd, file->f->chunks, file->f->nchunks);
        if (file->rc)
            file->msg = sw_strdup(sw_error_last());
        if (rd.fd >= 0)
            close(rd.fd);
    }
    return NULL;
}

/* Whether path is in only (NULL: every path is). */
int sw_fetch_wants(const sw_strlist *only, const char *path)
{
    for (size_t i = 0; only && i < only->n; i++)
        if (!strcmp(only->v[i], path))
            return 1;
    return only == NULL;
}

int sw_getcheck_start(sw_getcheck **out, const sw_manifest *m, const char *root, const sw_store *st,
                      const sw_strlist *only)
{
    sw_getcheck *g = sw_calloc(1, sizeof *g);
    g->files = sw_calloc(m->nfiles ? m->nfiles : 1, sizeof *g->files);
    uint64_t base = 0;
    for (size_t i = 0; i < m->nfiles; i++) {
        const sw_mfile *f = &m->files[i];
        if (sw_fetch_wants(only, f->path) && sw_store_stat(st, &f->hash, NULL))
            g->files[g->nfiles++] = (sw_gcfile){.f = f, .path = sw_sprintf("%s/%s/%s", root, m->name, f->path), .base = base};
        base += f->size;
    }
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    if (pthread_create(&g->thread, NULL, sw_gc_main, g)) {
        sw_getcheck_free(g);
        return sw_error(SW_ERROR, "cannot start a thread");
    }
    g->started = 1;
    *out = g;
    return 0;
}

void sw_getcheck_advance(sw_getcheck *g, uint64_t bytes)
{
    pthread_mutex_lock(&g->mu);
    if (bytes > g->ready) {
        g->ready = bytes;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
}

/* Joins the thread, after telling it to stop unless it is to finish its work. */
static void sw_gc_join(sw_getcheck *g, int stop)
{
    if (!g->started)
        return;
    pthread_mutex_lock(&g->mu);
    if (stop)
        g->stop = 1;
    else
        g->ready = UINT64_MAX;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    g->started = 0;
}

int sw_getcheck_finish(sw_getcheck *g, sw_store *st)
{
    sw_gc_join(g, 0);
    int r = 0;
    char *first = NULL; /* the first failure's message: later ones overwrite the thread's slot */
    for (size_t i = 0; i < g->nfiles; i++) {
        sw_gcfile *file = &g->files[i];
        if (sw_store_stat(st, &file->f->hash, NULL) == 0)
            continue; /* held by now (another file with the same bytes) */
        int e = file->rc ? sw_error(file->rc, "%s", file->msg)
                         : sw_store_adopt(st, file->path, &file->obj, &file->f->hash, file->f->chunks,
                                          file->f->nchunks);
        if (e) {
            if (!r)
                first = sw_strdup(sw_error_last());
            r = r ? r : e;
            unlink(file->path);
        }
    }
    if (r)
        sw_error(r, "%s", first);
    free(first);
    return r;
}

void sw_getcheck_free(sw_getcheck *g)
{
    if (!g)
        return;
    sw_gc_join(g, 1);
    for (size_t i = 0; i < g->nfiles; i++) {
        free(g->files[i].path);
        free(g->files[i].msg);
        sw_object_clear(&g->files[i].obj);
    }
    free(g->files);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g);
}
