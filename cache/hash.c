/* hash.c — SHA-256 through OpenSSL's EVP interface (see hash.h). */
#include "cache/hash.h"
#include "base/error.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sw_sha256 {
    EVP_MD_CTX *ctx;
};

sw_sha256 *sw_sha256_new(void)
{
    sw_sha256 *c = sw_malloc(sizeof *c);
    c->ctx = EVP_MD_CTX_new();
    if (!c->ctx || !EVP_DigestInit_ex(c->ctx, EVP_sha256(), NULL)) {
        fputs("swarm: error: OpenSSL cannot start SHA-256\n", stderr);
        exit(1);
    }
    return c;
}

void sw_sha256_update(sw_sha256 *c, const void *data, size_t len)
{
    if (len)
        EVP_DigestUpdate(c->ctx, data, len);
}

void sw_sha256_final(sw_sha256 *c, sw_hash *out)
{
    unsigned int n = 0;
    EVP_DigestFinal_ex(c->ctx, out->b, &n);
    EVP_DigestInit_ex(c->ctx, NULL, NULL);
}

void sw_sha256_free(sw_sha256 *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->ctx);
    free(c);
}

void sw_sha256_buf(sw_hash *out, const void *data, size_t len)
{
    unsigned int n = 0;
    EVP_Digest(data, len, out->b, &n, EVP_sha256(), NULL);
}

/* Reading ahead for sw_sha256_file: a thread reads the file into a ring of buffers, in order, while
 * the caller hashes the buffers it filled, so that reading (a copy out of the page cache, or the disk)
 * and hashing overlap. */
enum { SW_RA_BUF = 4 << 20, SW_RA_N = 3 };
typedef struct {
    int fd;
    uint8_t *buf[SW_RA_N];
    ssize_t len[SW_RA_N]; /* what sw_read_full returned for the slot */
    int err[SW_RA_N];     /* its errno */
    size_t head, tail;    /* slots filled so far, slots hashed so far */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} sw_readahead;

static void *sw_readahead_run(void *arg)
{
    sw_readahead *ra = arg;
    for (size_t at = 0;; at++) {
        pthread_mutex_lock(&ra->mu);
        while (at - ra->tail == SW_RA_N)
            pthread_cond_wait(&ra->cv, &ra->mu);
        pthread_mutex_unlock(&ra->mu);
        ssize_t n = sw_read_full(ra->fd, ra->buf[at % SW_RA_N], SW_RA_BUF);
        pthread_mutex_lock(&ra->mu);
        ra->len[at % SW_RA_N] = n;
        ra->err[at % SW_RA_N] = errno;
        ra->head = at + 1;
        pthread_cond_broadcast(&ra->cv);
        pthread_mutex_unlock(&ra->mu);
        if (n < SW_RA_BUF) /* the end, or an error: the hasher stops at the same slot */
            return NULL;
    }
}

/* Hashes what fd holds from its start into c, reading ahead on a second thread; *total counts the bytes.
 * Returns 0, -1 with errno set by the failed read, or 1 (nothing read) when no thread could be started. */
static int sw_sha256_fd_ahead(sw_sha256 *c, int fd, uint64_t *total)
{
    sw_readahead ra = {.fd = fd, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    for (size_t k = 0; k < SW_RA_N; k++)
        ra.buf[k] = sw_malloc(SW_RA_BUF);
    pthread_t t;
    int threaded = pthread_create(&t, NULL, sw_readahead_run, &ra) == 0, r = 0;
    for (size_t at = 0; threaded; at++) {
        pthread_mutex_lock(&ra.mu);
        while (ra.head == at)
            pthread_cond_wait(&ra.cv, &ra.mu);
        ssize_t n = ra.len[at % SW_RA_N];
        int err = ra.err[at % SW_RA_N];
        pthread_mutex_unlock(&ra.mu);
        if (n < 0) {
            errno = err;
            r = -1;
            break;
        }
        sw_sha256_update(c, ra.buf[at % SW_RA_N], (size_t)n);
        *total += (uint64_t)n;
        pthread_mutex_lock(&ra.mu);
        ra.tail = at + 1;
        pthread_cond_broadcast(&ra.cv);
        pthread_mutex_unlock(&ra.mu);
        if (n < SW_RA_BUF)
            break;
    }
    if (threaded)
        pthread_join(t, NULL);
    for (size_t k = 0; k < SW_RA_N; k++)
        free(ra.buf[k]);
    return threaded ? r : 1;
}

int sw_sha256_file(sw_hash *out, uint64_t *size, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sw_error_errno(errno == ENOENT ? SW_ENOTFOUND : SW_ERROR, "cannot open %s", path);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    sw_sha256 *c = sw_sha256_new();
    uint64_t total = 0;
    struct stat st;
    int r = fstat(fd, &st) == 0 && st.st_size > SW_RA_BUF ? sw_sha256_fd_ahead(c, fd, &total) : 1;
    if (r < 0)
        r = sw_error_errno(SW_ERROR, "cannot read %s", path);
    if (r == 1) { /* a small file, or no thread to be had: read and hash in turn */
        enum { BUF = 1 << 20 };
        char *buf = sw_malloc(BUF);
        r = 0;
        for (;;) {
            ssize_t n = sw_read_full(fd, buf, BUF);
            if (n < 0) {
                r = sw_error_errno(SW_ERROR, "cannot read %s", path);
                break;
            }
            sw_sha256_update(c, buf, (size_t)n);
            total += (uint64_t)n;
            if (n < BUF)
                break;
        }
        free(buf);
    }
    if (!r) {
        sw_sha256_final(c, out);
        if (size)
            *size = total;
    }
    sw_sha256_free(c);
    close(fd);
    return r;
}

void sw_hash_hex(char out[SW_HEX_LEN + 1], const sw_hash *h)
{
    sw_hex_encode(out, h->b, SW_HASH_LEN);
}

int sw_hash_parse(sw_hash *out, const char *hex)
{
    if (sw_hex_decode(out->b, SW_HASH_LEN, hex))
        return sw_error(SW_EINVALID, "not a SHA-256 (64 lower-case hex digits): '%.80s'", hex ? hex : "");
    return 0;
}

int sw_hash_eq(const sw_hash *a, const sw_hash *b) { return !memcmp(a->b, b->b, SW_HASH_LEN); }
