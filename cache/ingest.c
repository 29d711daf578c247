/* ingest.c — sw_store_put: one pass over a stream that stores, hashes and chunks it.
 *
 * Two threads split the work about evenly on two cores. The caller's thread fills 4 MiB blocks from the
 * source, hands each to the chunk worker, writes it to a temp file in tmp/ and feeds it to the SHA-256 of
 * the whole stream. The chunk worker finds the cut points of each block in order and hashes every chunk;
 * when the cut points are known already (a fetched file's manifest lists them) it only hashes, and the
 * chunks must then come out exactly as listed.
 * A ring of blocks bounds memory (SW_NBLOCKS x SW_BLOCK) whatever the input size; a stream that fits in
 * one block is handled inline, without a thread. Dirty pages are pushed to disk as the write goes
 * (sync_file_range), so the final fsync does not stall on a whole file's writeback. */
#include "base/error.h"
#include "cache/store.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SW_BLOCK (4u << 20)
#define SW_NBLOCKS 6
#define SW_WRITEBACK (32u << 20)

typedef struct {
    uint8_t *data;
    size_t len;
} sw_block;

typedef struct {
    sw_block blocks[SW_NBLOCKS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t ready, done; /* blocks published to the chunk worker, and finished by it */
    int eof;              /* no more blocks will be published */

    sw_sha256 *file_sha;  /* whole-stream hash (the caller's thread) */
    sw_chunker chunker;   /* cut-point state across blocks (the chunk worker) */
    const sw_chunk *cuts; /* known chunks, or NULL to find the cut points */
    size_t ncuts;
    sw_sha256 *chunk_sha; /* current chunk's hash (the chunk worker) */
    uint64_t pos, chunk_start;
    sw_chunk *chunks;
    size_t nchunks, cap;
} sw_ingest;

static void sw_ingest_close_chunk(sw_ingest *in)
{
    sw_grow(&in->chunks, &in->cap, in->nchunks + 1, sizeof *in->chunks);
    sw_chunk *c = &in->chunks[in->nchunks++];
    c->offset = in->chunk_start;
    c->length = (uint32_t)(in->pos - in->chunk_start);
    sw_sha256_final(in->chunk_sha, &c->hash);
    in->chunk_start = in->pos;
}

/* How many of the next len bytes belong to the current chunk, by the known chunk list (the manifest's
 * tiles the file: sw_parse_chunks checks it); *cut says whether the chunk ends there. Bytes past the
 * list's end stay in one last chunk, which then fails the comparison with the list. */
static size_t sw_ingest_known_cut(const sw_ingest *in, size_t len, int *cut)
{
    *cut = 0;
    if (in->nchunks >= in->ncuts)
        return len;
    const sw_chunk *c = &in->cuts[in->nchunks];
    uint64_t left = c->offset + c->length - in->pos;
    if (left > len)
        return len;
    *cut = 1;
    return (size_t)left;
}

/* Cuts a block into (the rest of) chunks and hashes them. */
static void sw_ingest_chunk_block(sw_ingest *in, const sw_block *b)
{
    size_t off = 0;
    while (off < b->len) {
        int cut;
        size_t n = in->cuts ? sw_ingest_known_cut(in, b->len - off, &cut)
                            : sw_chunker_scan(&in->chunker, b->data + off, b->len - off, &cut);
        sw_sha256_update(in->chunk_sha, b->data + off, n);
        in->pos += n;
        off += n;
        if (cut)
            sw_ingest_close_chunk(in);
    }
}

/* The chunk worker: consumes published blocks in order until the producer says there are no more. */
static void *sw_ingest_worker(void *arg)
{
    sw_ingest *in = arg;
    pthread_mutex_lock(&in->mu);
    for (;;) {
        while (in->done == in->ready && !in->eof)
            pthread_cond_wait(&in->cv, &in->mu);
        if (in->done == in->ready)
            break;
        const sw_block *b = &in->blocks[in->done % SW_NBLOCKS];
        pthread_mutex_unlock(&in->mu);
        sw_ingest_chunk_block(in, b);
        pthread_mutex_lock(&in->mu);
        in->done++;
        pthread_cond_broadcast(&in->cv);
    }
    pthread_mutex_unlock(&in->mu);
    return NULL;
}

/* Publishes one more block to the worker, or (eof) says none will follow. */
static void sw_ingest_publish(sw_ingest *in, int eof)
{
    pthread_mutex_lock(&in->mu);
    if (eof)
        in->eof = 1;
    else
        in->ready++;
    pthread_cond_broadcast(&in->cv);
    pthread_mutex_unlock(&in->mu);
}

/* Waits until slot number seq may be refilled: the worker is done with its previous occupant. */
static void sw_ingest_wait_slot(sw_ingest *in, uint64_t seq)
{
    pthread_mutex_lock(&in->mu);
    while (seq >= SW_NBLOCKS && in->done + SW_NBLOCKS <= seq)
        pthread_cond_wait(&in->cv, &in->mu);
    pthread_mutex_unlock(&in->mu);
}

/* Fills a block from the source: full unless the source ended. */
static int sw_ingest_fill(sw_block *b, sw_reader rd, void *rctx)
{
    b->len = 0;
    while (b->len < SW_BLOCK) {
        ssize_t n = rd(rctx, b->data + b->len, SW_BLOCK - b->len);
        if (n < 0)
            return SW_ERROR;
        if (n == 0)
            break;
        b->len += (size_t)n;
    }
    return 0;
}

/* Streams the source once: hashes it whole and chunks it (at the known cuts when cuts is not NULL), and
 * when fd >= 0 also writes it there. On success out holds the hash, size and chunk list (owned by out). */
static int sw_ingest_stream(sw_object *out, sw_reader rd, void *rctx, int fd, const sw_chunk *cuts, size_t ncuts,
                            sw_progress_fn prog, void *pctx)
{
    sw_ingest in = {0};
    in.cuts = cuts;
    in.ncuts = ncuts;
    pthread_mutex_init(&in.mu, NULL);
    pthread_cond_init(&in.cv, NULL);
    in.file_sha = sw_sha256_new();
    in.chunk_sha = sw_sha256_new();
    for (int i = 0; i < SW_NBLOCKS; i++)
        in.blocks[i].data = sw_malloc(SW_BLOCK);

    sw_chunker_init(&in.chunker);
    pthread_t worker;
    int threaded = 0, r = 0;
    uint64_t written = 0, synced = 0;

    for (uint64_t seq = 0;; seq++) {
        if (threaded)
            sw_ingest_wait_slot(&in, seq);
        sw_block *b = &in.blocks[seq % SW_NBLOCKS];
        if ((r = sw_ingest_fill(b, rd, rctx)) || b->len == 0)
            break;
        if (!threaded && seq == 0 && b->len == SW_BLOCK) {
            threaded = 1; /* large input: start the chunk worker */
            pthread_create(&worker, NULL, sw_ingest_worker, &in);
        }
        if (threaded)
            sw_ingest_publish(&in, 0);
        else
            sw_ingest_chunk_block(&in, b);
        if (fd >= 0 && sw_write_all(fd, b->data, b->len) < 0) {
            r = sw_error_errno(SW_ERROR, "cannot write to the store");
            break;
        }
        sw_sha256_update(in.file_sha, b->data, b->len);
        written += b->len;
        if (fd >= 0 && written - synced >= SW_WRITEBACK) {
            sync_file_range(fd, (off64_t)synced, (off64_t)(written - synced), SYNC_FILE_RANGE_WRITE);
            synced = written;
        }
        if (prog)
            prog(pctx, b->len);
        if (b->len < SW_BLOCK)
            break;
    }

    if (threaded) {
        sw_ingest_publish(&in, 1);
        pthread_join(worker, NULL);
    }
    if (!r) {
        if (in.pos > in.chunk_start)
            sw_ingest_close_chunk(&in);
        sw_sha256_final(in.file_sha, &out->hash);
        out->size = in.pos;
        out->chunks = in.chunks;
        out->nchunks = in.nchunks;
    } else {
        free(in.chunks);
    }
    for (int i = 0; i < SW_NBLOCKS; i++)
        free(in.blocks[i].data);
    sw_sha256_free(in.file_sha);
    sw_sha256_free(in.chunk_sha);
    pthread_mutex_destroy(&in.mu);
    pthread_cond_destroy(&in.cv);
    return r;
}

/* Commits a streamed file (fd open on path) as object out->hash and indexes its chunks. */
static int sw_ingest_finish(sw_object *out, sw_store *st, int fd, const char *path)
{
    int r = sw_store_commit(st, fd, path, &out->hash, &out->added);
    if (!r)
        r = sw_index_put_chunks(sw_store_index(st), &out->hash, out->chunks, out->nchunks);
    return r;
}

int sw_store_put(sw_object *out, sw_store *st, sw_reader rd, void *rctx, sw_progress_fn prog, void *pctx)
{
    memset(out, 0, sizeof *out);
    char *tmp;
    int fd;
    if (sw_store_tmpfile(&tmp, &fd, st))
        return SW_ERROR;
    int r = sw_ingest_stream(out, rd, rctx, fd, NULL, 0, prog, pctx);
    if (!r)
        r = sw_ingest_finish(out, st, fd, tmp);
    close(fd);
    if (r) {
        unlink(tmp);
        sw_object_clear(out);
    }
    free(tmp);
    return r;
}

typedef struct {
    int fd;
    const char *path;
} sw_fd_reader;

static ssize_t sw_fd_read(void *ctx, void *buf, size_t len)
{
    sw_fd_reader *f = ctx;
    for (;;) {
        ssize_t n = read(f->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return sw_error_errno(SW_ERROR, "cannot read %s", f->path);
    }
}

int sw_store_put_file(sw_object *out, sw_store *st, const char *path, sw_progress_fn prog, void *pctx)
{
    sw_fd_reader f = {open(path, O_RDONLY | O_CLOEXEC), path};
    if (f.fd < 0)
        return sw_error_errno(errno == ENOENT ? SW_ENOTFOUND : SW_ERROR, "cannot open %s", path);
    posix_fadvise(f.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    int r = sw_store_put(out, st, sw_fd_read, &f, prog, pctx);
    close(f.fd);
    return r;
}

/* Whether o's chunks are exactly the list cuts (places, lengths, hashes); when not, *at is the first
 * chunk that differs. */
static int sw_ingest_same_chunks(size_t *at, const sw_object *o, const sw_chunk *cuts, size_t ncuts)
{
    for (size_t k = 0; k < o->nchunks || k < ncuts; k++)
        if (k >= o->nchunks || k >= ncuts || o->chunks[k].offset != cuts[k].offset ||
            o->chunks[k].length != cuts[k].length || !sw_hash_eq(&o->chunks[k].hash, &cuts[k].hash)) {
            *at = k;
            return 0;
        }
    return 1;
}

int sw_store_hash(sw_object *out, sw_reader rd, void *rctx, const sw_chunk *cuts, size_t ncuts)
{
    memset(out, 0, sizeof *out);
    return sw_ingest_stream(out, rd, rctx, -1, cuts, ncuts, NULL, NULL);
}

int sw_store_adopt(sw_store *st, const char *path, sw_object *obj, const sw_hash *expect, const sw_chunk *cuts,
                   size_t ncuts)
{
    size_t k;
    if (!sw_hash_eq(&obj->hash, expect)) {
        char want[SW_HEX_LEN + 1], got[SW_HEX_LEN + 1];
        sw_hash_hex(want, expect);
        sw_hash_hex(got, &obj->hash);
        return sw_error(SW_EINVALID, "%s has SHA-256 %.16s..., not the expected %.16s...", path, got, want);
    }
    if (cuts && !sw_ingest_same_chunks(&k, obj, cuts, ncuts))
        return sw_error(SW_EINVALID, "%s: chunk %zu does not match the chunk list it came with", path, k);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sw_error_errno(errno == ENOENT ? SW_ENOTFOUND : SW_ERROR, "cannot open %s", path);
    int r = sw_ingest_finish(obj, st, fd, path);
    close(fd);
    return r;
}

int sw_store_reindex(sw_store *st, const sw_hash *h)
{
    char *path = sw_store_object_path(st, h);
    sw_fd_reader f = {open(path, O_RDONLY | O_CLOEXEC), path};
    int r;
    if (f.fd < 0) {
        r = sw_error_errno(SW_ERROR, "cannot open %s", path);
        free(path);
        return r;
    }
    posix_fadvise(f.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    sw_object o;
    r = sw_store_hash(&o, sw_fd_read, &f, NULL, 0);
    close(f.fd);
    if (!r && !sw_hash_eq(&o.hash, h))
        r = sw_error(SW_EINVALID, "%s does not match its name", path);
    if (!r)
        r = sw_index_put_chunks(sw_store_index(st), h, o.chunks, o.nchunks);
    sw_object_clear(&o);
    free(path);
    return r;
}
