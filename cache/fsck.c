/* fsck.c — store check and garbage collection (see fsck.h). */
#include "cache/fsck.h"
#include "cache/home.h"
#include "base/error.h"
#include "base/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int sw_hash_memcmp(const void *a, const void *b) { return memcmp(a, b, SW_HASH_LEN); }

size_t sw_hash_sort_unique(sw_hash *v, size_t n)
{
    qsort(v, n, sizeof *v, sw_hash_memcmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || !sw_hash_eq(&v[k - 1], &v[i]))
            v[k++] = v[i];
    return k;
}

typedef struct {
    sw_store *st;
    sw_fsck_report *rep;
    void (*report)(void *, const char *);
    void *ctx;
    char *buf;
} sw_fsck;

static void sw_fsck_say(sw_fsck *f, const char *fmt, const sw_hash *h)
{
    char hex[SW_HEX_LEN + 1], line[256];
    sw_hash_hex(hex, h);
    snprintf(line, sizeof line, fmt, hex);
    if (f->report)
        f->report(f->ctx, line);
}

/* Do the rows cover [0, size) exactly, in order? */
static int sw_rows_tile(const sw_chunk *c, size_t n, uint64_t size)
{
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].offset != at || c[i].length == 0)
            return 0;
        at += c[i].length;
    }
    return at == size;
}

/* Hashes the object and, when rows tile it, each recorded chunk; sets *rows_ok when they all match. */
static int sw_fsck_hash(sw_fsck *f, const char *path, const sw_chunk *rows, size_t nrows, int tiled, sw_hash *whole,
                        int *rows_ok)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sw_error_errno(SW_ERROR, "cannot open %s", path);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    sw_sha256 *all = sw_sha256_new(), *part = sw_sha256_new();
    size_t k = 0;
    uint64_t left = tiled && nrows ? rows[0].length : 0;
    *rows_ok = tiled;
    int r = 0;
    for (;;) {
        ssize_t n = sw_read_full(fd, f->buf, 1 << 20);
        if (n < 0) {
            r = sw_error_errno(SW_ERROR, "cannot read %s", path);
            break;
        }
        sw_sha256_update(all, f->buf, (size_t)n);
        for (size_t off = 0; tiled && off < (size_t)n;) {
            size_t take = (size_t)n - off < left ? (size_t)n - off : (size_t)left;
            sw_sha256_update(part, f->buf + off, take);
            off += take;
            left -= take;
            if (left == 0) {
                sw_hash h;
                sw_sha256_final(part, &h);
                if (!sw_hash_eq(&h, &rows[k].hash))
                    *rows_ok = 0;
                if (++k == nrows)
                    break;
                left = rows[k].length;
            }
        }
        if (n < (1 << 20))
            break;
    }
    if (!r)
        sw_sha256_final(all, whole);
    sw_sha256_free(all);
    sw_sha256_free(part);
    close(fd);
    return r;
}

static int sw_fsck_object(void *ctx, const sw_hash *h, uint64_t size)
{
    sw_fsck *f = ctx;
    sw_chunk *rows = NULL;
    size_t nrows = 0;
    int r = sw_index_get_chunks(&rows, &nrows, sw_store_index(f->st), h);
    if (r)
        return r;
    int tiled = sw_rows_tile(rows, nrows, size);
    char *path = sw_store_object_path(f->st, h);
    sw_hash whole;
    int rows_ok = 0;
    r = sw_fsck_hash(f, path, rows, nrows, tiled, &whole, &rows_ok);
    /* Stage outputs (pinned) have no chunk rows until they are published: none is not a fault. */
    if (!r && !rows_ok && nrows == 0 && sw_index_pinned(sw_store_index(f->st), h) == 1)
        rows_ok = 1;
    f->rep->objects++;
    f->rep->bytes += size;
    if (!r && !sw_hash_eq(&whole, h)) {
        f->rep->corrupt++;
        sw_fsck_say(f, "object %s does not match its name: moved to quarantine/", h);
        r = sw_store_quarantine(f->st, h);
    } else if (!r && !rows_ok) {
        f->rep->reindexed++;
        sw_fsck_say(f, "object %s had missing or wrong chunk records: rebuilt", h);
        r = sw_index_drop_object(sw_store_index(f->st), h);
        if (!r)
            r = sw_store_reindex(f->st, h);
    }
    free(path);
    free(rows);
    return r;
}

static void sw_fsck_stray(void *ctx, const char *path)
{
    sw_fsck *f = ctx;
    f->rep->strays++;
    char line[4200];
    snprintf(line, sizeof line, "%s is not an object (left alone)", path);
    if (f->report)
        f->report(f->ctx, line);
}

/* Counts the files in tmp/. */
static int sw_tmp_count(sw_store *st, uint64_t *count)
{
    char *dir = sw_sprintf("%s/" SW_HOME_TMP, sw_store_home(st));
    DIR *d = opendir(dir);
    *count = 0;
    if (!d) {
        int r = sw_error_errno(SW_ERROR, "cannot open %s", dir);
        free(dir);
        return r;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            (*count)++;
    closedir(d);
    free(dir);
    return 0;
}

int sw_store_fsck(sw_store *st, sw_fsck_report *rep, void (*report)(void *ctx, const char *line), void *ctx)
{
    memset(rep, 0, sizeof *rep);
    sw_fsck f = {st, rep, report, ctx, sw_malloc(1 << 20)};
    int r = sw_store_foreach(st, sw_fsck_object, sw_fsck_stray, &f);
    free(f.buf);
    if (r)
        return r;
    sw_hash *indexed = NULL;
    size_t n = 0;
    if ((r = sw_index_objects(&indexed, &n, sw_store_index(st))))
        return r;
    for (size_t i = 0; i < n && !r; i++) {
        if (sw_store_stat(st, &indexed[i], NULL) == SW_ENOTFOUND) {
            rep->orphan_rows++;
            sw_fsck_say(&f, "chunk records of absent object %s: dropped", &indexed[i]);
            r = sw_index_drop_object(sw_store_index(st), &indexed[i]);
        }
    }
    free(indexed);
    return r ? r : sw_tmp_count(st, &rep->temp_files);
}

typedef struct {
    sw_store *st;
    const sw_hash *keep;
    size_t nkeep;
    time_t before;
    sw_gc_report *rep;
} sw_gc;

/* Removes one object unless it is kept, pinned, made or freshened after g->before, or linked from
 * elsewhere (a seeding view: removing the store's name would free no bytes). The stat is taken just
 * before the unlink, so an object a concurrent writer freshened stays. */
static int sw_gc_object(void *ctx, const sw_hash *h, uint64_t size)
{
    sw_gc *g = ctx;
    if (bsearch(h, g->keep, g->nkeep, sizeof *h, sw_hash_memcmp))
        return 0;
    char *path = sw_store_object_path(g->st, h);
    struct stat s;
    int r = stat(path, &s);
    free(path);
    if (r < 0)
        return 0; /* gone already */
    if (s.st_mtime > g->before) {
        g->rep->recent++;
        return 0;
    }
    if (s.st_nlink > 1) {
        g->rep->linked++;
        return 0;
    }
    g->rep->objects++;
    g->rep->bytes += size;
    return sw_store_remove(g->st, h);
}

int sw_store_gc(sw_gc_report *rep, sw_store *st, const sw_hash *keep, size_t nkeep, time_t before)
{
    memset(rep, 0, sizeof *rep);
    sw_hash *pins = NULL;
    size_t npins = 0;
    int r = sw_index_pins(&pins, &npins, sw_store_index(st));
    if (r)
        return r;
    sw_hash *all = sw_malloc((nkeep + npins + 1) * sizeof *all);
    if (nkeep)
        memcpy(all, keep, nkeep * sizeof *all);
    if (npins)
        memcpy(all + nkeep, pins, npins * sizeof *all);
    free(pins);
    /* Read after the pins and the caller's snapshot: a process that committed objects and is still
     * running may not have referenced them yet. */
    time_t writers = sw_store_writers_since(st);
    sw_gc g = {st, all, sw_hash_sort_unique(all, nkeep + npins), writers <= before ? writers - 1 : before, rep};
    r = sw_store_foreach(st, sw_gc_object, NULL, &g);
    free(all);
    return r ? r : sw_store_sweep_tmp(st, g.before, &rep->temp_files, &rep->bytes);
}
