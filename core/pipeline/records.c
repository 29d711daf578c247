/* records.c — record framings: reading them from mapped bytes, writing them hashed (see records.h). */
#include "pipeline/records.h"
#include "base/error.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int sw_rcursor_next(sw_rcursor *c, const uint8_t **rec, size_t *len)
{
    if (c->p >= c->end)
        return 0;
    if (c->framing == SW_FRAME_LINES) {
        const uint8_t *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
        *rec = c->p;
        *len = (size_t)((nl ? nl : c->end) - c->p);
        c->p = nl ? nl + 1 : c->end;
        return 1;
    }
    if (c->end - c->p < 4)
        return sw_error(SW_EINVALID, "a framed record stream ends inside a length");
    uint32_t n = (uint32_t)c->p[0] | (uint32_t)c->p[1] << 8 | (uint32_t)c->p[2] << 16 | (uint32_t)c->p[3] << 24;
    if ((size_t)(c->end - c->p - 4) < n)
        return sw_error(SW_EINVALID, "a framed record stream ends inside a record");
    *rec = c->p + 4;
    *len = n;
    c->p += 4 + (size_t)n;
    return 1;
}

void sw_fwriter_init(sw_fwriter *w, int fd)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->tee = -1;
    w->sha = sw_sha256_new();
    w->cap = (size_t)1 << 20;
    w->buf = sw_malloc(w->cap);
}

/* What the hashing thread of a large piece hashes. */
typedef struct {
    sw_sha256 *sha;
    const void *data;
    size_t len;
} sw_fhash;

static void *sw_fhash_run(void *arg)
{
    sw_fhash *h = arg;
    sw_sha256_update(h->sha, h->data, h->len);
    return NULL;
}

/* After len more bytes reached the file: counts them, and hands the written pages to the disk every
 * SW_FWRITER_PUSH bytes when the writer pushes. */
static void sw_fwriter_wrote(sw_fwriter *w, uint64_t len)
{
    w->written += len;
    if (w->push && w->written - w->pushed >= SW_FWRITER_PUSH) {
        sync_file_range(w->fd, (off64_t)w->pushed, (off64_t)(w->written - w->pushed), SYNC_FILE_RANGE_WRITE);
        w->pushed = w->written;
    }
}

/* Writes data to the file and hashes it (a large piece on a second thread meanwhile). A failed write is
 * sticky: the writer refuses everything after it, so what it hashed is always what the file holds. */
static int sw_fwriter_out(sw_fwriter *w, const void *data, size_t len)
{
    if (w->failed)
        return sw_error(SW_ERROR, "cannot write to the store: an earlier write failed");
    sw_fhash h = {w->sha, data, len};
    pthread_t t;
    int threaded = len >= SW_FWRITER_SPLIT && pthread_create(&t, NULL, sw_fhash_run, &h) == 0;
    int r = sw_write_all(w->fd, data, len) < 0                          ? sw_error_errno(SW_ERROR, "cannot write to the store")
            : w->tee >= 0 && sw_write_all(w->tee, data, len) < 0 ? sw_error_errno(SW_ERROR, "cannot write the output")
                                                                 : 0;
    if (threaded)
        pthread_join(t, NULL);
    else if (!r)
        sw_sha256_update(w->sha, data, len);
    if (r) {
        w->failed = 1;
        return r;
    }
    sw_fwriter_wrote(w, len);
    return 0;
}

static int sw_fwriter_flush(sw_fwriter *w)
{
    if (!w->n)
        return w->failed ? sw_fwriter_out(w, NULL, 0) : 0;
    int r = sw_fwriter_out(w, w->buf, w->n);
    w->n = 0;
    return r;
}

int sw_fwriter_put(sw_fwriter *w, const void *data, size_t len)
{
    w->total += len;
    if (len >= w->cap) {
        if (sw_fwriter_flush(w))
            return SW_ERROR;
        return sw_fwriter_out(w, data, len);
    }
    if (w->n + len > w->cap && sw_fwriter_flush(w))
        return SW_ERROR;
    memcpy(w->buf + w->n, data, len);
    w->n += len;
    return 0;
}

/* Copies len bytes at offset of src to dst's end, in chunks copy_file_range takes; SW_ERROR when the
 * kernel cannot (another filesystem: the caller writes from memory instead). */
static int sw_copy_range(int src, uint64_t offset, int dst, uint64_t len)
{
    off64_t in = (off64_t)offset;
    while (len > 0) {
        ssize_t n = copy_file_range(src, &in, dst, NULL, len < ((size_t)1 << 30) ? (size_t)len : (size_t)1 << 30, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return SW_ERROR;
        len -= (uint64_t)n;
    }
    return 0;
}

/* Copies len bytes of src from offset to dst's end through a buffer of the caller's (another filesystem,
 * where copy_file_range cannot). Nonzero on failure. */
static int sw_copy_read(int src, uint64_t offset, int dst, uint64_t len, uint8_t *buf, size_t cap)
{
    while (len > 0) {
        size_t want = len < cap ? (size_t)len : cap;
        if (sw_pread_full(src, buf, want, offset) != (ssize_t)want || sw_write_all(dst, buf, want) < 0)
            return 1;
        offset += want;
        len -= want;
    }
    return 0;
}

/* Appends len bytes of src at offset to dst: by the kernel, else (another filesystem) through buf, after
 * cutting dst back to where it was. Nonzero on failure. */
static int sw_copy_out(int src, uint64_t offset, int dst, uint64_t len, uint8_t *buf, size_t cap)
{
    off_t at = lseek(dst, 0, SEEK_CUR);
    int r = at < 0 || sw_copy_range(src, offset, dst, len);
    if (r && at >= 0 && lseek(dst, at, SEEK_SET) == at && ftruncate(dst, at) == 0)
        r = sw_copy_read(src, offset, dst, len, buf, cap);
    return r;
}

/* What the hashing thread of sw_fwriter_copy hashes: len bytes of fd from offset, read into its own
 * buffer. Reading costs less than mapping here: a mapping's page-table work (even populated at once) took
 * longer than copying the pages, on the critical path of the write stage. */
typedef struct {
    sw_sha256 *sha;
    int fd;
    uint64_t offset, len;
    int failed;
} sw_fhash_read;

static void *sw_fhash_read_run(void *arg)
{
    sw_fhash_read *h = arg;
    size_t cap = (size_t)1 << 20;
    uint8_t *buf = sw_malloc(cap);
    while (h->len > 0) {
        size_t want = h->len < cap ? (size_t)h->len : cap;
        if ((h->failed = sw_pread_full(h->fd, buf, want, h->offset) != (ssize_t)want))
            break;
        sw_sha256_update(h->sha, buf, want);
        h->offset += want;
        h->len -= want;
    }
    free(buf);
    return NULL;
}

int sw_fwriter_copy(sw_fwriter *w, const char *path, uint64_t offset, uint64_t len)
{
    w->total += len;
    if (len == 0)
        return 0;
    if (sw_fwriter_flush(w))
        return SW_ERROR;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sw_error_errno(SW_ERROR, "cannot open %s", path);
    sw_fhash_read h = {w->sha, fd, offset, len, 0};
    pthread_t t;
    int threaded = pthread_create(&t, NULL, sw_fhash_read_run, &h) == 0;
    int r = sw_copy_out(fd, offset, w->fd, len, w->buf, w->cap)
                ? sw_error_errno(SW_ERROR, "cannot write to the store")
            : w->tee >= 0 && sw_copy_out(fd, offset, w->tee, len, w->buf, w->cap)
                ? sw_error_errno(SW_ERROR, "cannot write the output")
                : 0;
    if (threaded)
        pthread_join(t, NULL);
    else
        sw_fhash_read_run(&h);
    close(fd);
    if (!r && h.failed)
        r = sw_error(SW_ERROR, "cannot read %s", path);
    if (r) {
        w->failed = 1;
        return r;
    }
    sw_fwriter_wrote(w, len);
    return 0;
}

int sw_fwriter_record(sw_fwriter *w, sw_framing f, const void *rec, size_t len)
{
    if (f == SW_FRAME_LINES) {
        if (memchr(rec, '\n', len))
            return sw_error(SW_EINVALID, "a record holds a newline, so it cannot be written as a line");
        return sw_fwriter_put(w, rec, len) || sw_fwriter_put(w, "\n", 1) ? SW_ERROR : 0;
    }
    if (len > UINT32_MAX)
        return sw_error(SW_EINVALID, "a record over 4 GiB");
    uint8_t n[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
    return sw_fwriter_put(w, n, 4) || sw_fwriter_put(w, rec, len) ? SW_ERROR : 0;
}

int sw_fwriter_finish(sw_fwriter *w, sw_hash *h)
{
    int r = sw_fwriter_flush(w);
    if (!r)
        sw_sha256_final(w->sha, h);
    sw_fwriter_abort(w);
    return r;
}

void sw_fwriter_abort(sw_fwriter *w)
{
    sw_sha256_free(w->sha);
    free(w->buf);
    w->sha = NULL;
    w->buf = NULL;
}

void sw_drop_behind(const uint8_t **from, const uint8_t *upto)
{
    const uint8_t *start = (const uint8_t *)(((uintptr_t)*from + 4095) & ~(uintptr_t)4095);
    size_t step = (size_t)4 << 20;
    if (upto <= start || (size_t)(upto - start) < step)
        return;
    size_t len = (size_t)(upto - start) & ~(step - 1);
    madvise((void *)start, len, MADV_DONTNEED);
    *from = start + len;
}
