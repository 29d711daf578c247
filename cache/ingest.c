/* ingest.c — sw_store_put: one pass over a stream that stores, hashes and chunks it.
 *
 * The work on each 1 MiB block is split into lanes, one thread each, which the kernel spreads over the
 * cores: the SHA-256 of the whole stream; the chunk cut points and every chunk's SHA-256 (when the cut
 * points are known already, as a fetched file's manifest lists them, it only hashes, and the chunks
 * must then come out exactly as listed); and, when asked for, the SHA-1 of the torrent's pieces
 * (cache/pieces.h), so making the version's torrent needs no second read. The caller's thread reads
 * blocks and writes them to a temp file in tmp/. (Having the kernel copy the file instead,
 * copy_file_range, and mapping the copy to hash it, measured 3x slower here on ext4: the splice copy was
 * slower than read + write and mapping 1 GiB cost 0.4-0.6 s of page-table work; see README.)
 * A ring of blocks bounds memory (SW_NBLOCKS x SW_BLOCK) whatever the input size; a stream that fits in
 * one block is handled inline, without a thread. Blocks of 1 MiB stay in the caches between the read, the
 * write and the lanes; with 4 MiB blocks the kernel's copy into the temp file read the buffer back from
 * memory, and add took 2-4x the system time on a busy machine. Dirty pages are pushed to disk as the
 * write goes (sync_file_range), so the final fsync does not stall on a whole file's writeback. */
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

#define SW_BLOCK (1u << 20)
#define SW_NBLOCKS 16
#define SW_WRITEBACK (32u << 20)

enum { SW_LANE_FILE, SW_LANE_CHUNKS, SW_LANE_PIECES, SW_NLANES };

typedef struct {
    uint8_t *data;
    size_t len;
} sw_block;

/* Where a stream comes from and what to do with it. */
typedef struct {
    sw_reader rd; /* the source */
    void *rctx;
    int fd;          /* the temp file to store the bytes in, or -1 to hash only */
    const sw_chunk *cuts; /* known chunks, or NULL to find the cut points */
    size_t ncuts;
    sw_pieces *pieces; /* torrent pieces to hash the bytes into, or NULL */
    sw_progress_fn prog;
    void *pctx;
} sw_ingest_job;

typedef struct sw_ingest sw_ingest;
typedef struct {
    sw_ingest *in;
    int lane;
} sw_lane;

struct sw_ingest {
    sw_block blocks[SW_NBLOCKS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t ready;           /* blocks published to the lanes */
    uint64_t done[SW_NLANES]; /* blocks each lane has finished */
    int nlanes;               /* lanes in use (the pieces lane only when asked for) */
    int eof;                  /* no more blocks will be published */

    sw_sha256 *file_sha;  /* whole-stream hash (SW_LANE_FILE) */
    sw_chunker chunker;   /* cut-point state across blocks (SW_LANE_CHUNKS) */
    const sw_chunk *cuts; /* known chunks, or NULL to find the cut points */
    size_t ncuts;
    sw_sha256 *chunk_sha; /* current chunk's hash */
    uint64_t pos, chunk_start;
    sw_chunk *chunks;
    size_t nchunks, cap;
    sw_pieces *pieces; /* SW_LANE_PIECES */
};

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

/* One lane's work on one block. */
static void sw_ingest_lane_block(sw_ingest *in, int lane, const sw_block *b)
{
    if (lane == SW_LANE_FILE)
        sw_sha256_update(in->file_sha, b->data, b->len);
    else if (lane == SW_LANE_CHUNKS)
        sw_ingest_chunk_block(in, b);
    else
        sw_pieces_update(in->pieces, b->data, b->len);
}

/* A lane's thread: works through published blocks in order until the producer says there are no more. */
static void *sw_ingest_worker(void *arg)
{
    sw_ingest *in = ((sw_lane *)arg)->in;
    int k = ((sw_lane *)arg)->lane;
    pthread_mutex_lock(&in->mu);
    for (;;) {
        while (in->done[k] == in->ready && !in->eof)
            pthread_cond_wait(&in->cv, &in->mu);
        if (in->done[k] == in->ready)
            break;
        const sw_block *b = &in->blocks[in->done[k] % SW_NBLOCKS];
        pthread_mutex_unlock(&in->mu);
        sw_ingest_lane_block(in, k, b);
        pthread_mutex_lock(&in->mu);
        in->done[k]++;
        pthread_cond_broadcast(&in->cv);
    }
    pthread_mutex_unlock(&in->mu);
    return NULL;
}

/* Publishes one more block to the lanes, or (eof) says none will follow. */
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

/* Waits until slot number seq may be refilled: every lane is done with its previous occupant. */
static void sw_ingest_wait_slot(sw_ingest *in, uint64_t seq)
{
    pthread_mutex_lock(&in->mu);
    for (int k = 0; k < in->nlanes && seq >= SW_NBLOCKS; k++)
        while (in->done[k] + SW_NBLOCKS <= seq)
            pthread_cond_wait(&in->cv, &in->mu);
    pthread_mutex_unlock(&in->mu);
}

/* Fills a block from the source by reading: full unless the source ended. */
static int sw_ingest_read(sw_block *b, const sw_ingest_job *job)
{
    b->len = 0;
    while (b->len < SW_BLOCK) {
        ssize_t n = job->rd(job->rctx, b->data + b->len, SW_BLOCK - b->len);
        if (n < 0)
            return SW_ERROR;
        if (n == 0)
            break;
        b->len += (size_t)n;
    }
    return 0;
}

/* Streams the source once: hashes it whole and chunks it (at the known cuts when job->cuts is not
 * NULL), hashes it into job->pieces when not NULL, and when job->fd >= 0 also stores it there. On
 * success out holds the hash, size and chunk list (owned by out). */
static int sw_ingest_stream(sw_object *out, const sw_ingest_job *job)
{
    sw_ingest in = {0};
    in.cuts = job->cuts;
    in.ncuts = job->ncuts;
    in.pieces = job->pieces;
    in.nlanes = job->pieces ? SW_NLANES : SW_LANE_PIECES;
    pthread_mutex_init(&in.mu, NULL);
    pthread_cond_init(&in.cv, NULL);
    in.file_sha = sw_sha256_new();
    in.chunk_sha = sw_sha256_new();
    sw_chunker_init(&in.chunker);
    for (int i = 0; i < SW_NBLOCKS; i++)
        in.blocks[i].data = sw_malloc(SW_BLOCK);

    pthread_t workers[SW_NLANES];
    sw_lane lanes[SW_NLANES];
    int nthreads = 0, r = 0;
    uint64_t written = 0, synced = 0;

    for (uint64_t seq = 0;; seq++) {
        if (nthreads)
            sw_ingest_wait_slot(&in, seq);
        sw_block *b = &in.blocks[seq % SW_NBLOCKS];
        if ((r = sw_ingest_read(b, job)) || b->len == 0)
            break;
        if (!nthreads && seq == 0 && b->len == SW_BLOCK) {
            /* large input: one thread per lane */
            for (int k = 0; k < in.nlanes; k++) {
                lanes[k] = (sw_lane){&in, k};
                if (pthread_create(&workers[nthreads], NULL, sw_ingest_worker, &lanes[k])) {
                    r = sw_error(SW_ERROR, "cannot start a thread");
                    break;
                }
                nthreads++;
            }
            if (r)
                break;
        }
        if (nthreads)
            sw_ingest_publish(&in, 0);
        if (job->fd >= 0 && sw_write_all(job->fd, b->data, b->len) < 0) {
            r = sw_error_errno(SW_ERROR, "cannot write to the store");
            break;
        }
        for (int k = 0; !nthreads && k < in.nlanes; k++)
            sw_ingest_lane_block(&in, k, b);
        written += b->len;
        if (job->fd >= 0 && written - synced >= SW_WRITEBACK) {
            sync_file_range(job->fd, (off64_t)synced, (off64_t)(written - synced), SYNC_FILE_RANGE_WRITE);
            synced = written;
        }
        if (job->prog)
            job->prog(job->pctx, b->len);
        if (b->len < SW_BLOCK)
            break;
    }

    if (nthreads) {
        sw_ingest_publish(&in, 1);
        for (int k = 0; k < nthreads; k++)
            pthread_join(workers[k], NULL);
    }
    if (!r) {
        if (in.pos > in.chunk_start)
            sw_ingest_close_chunk(&in);
        sw_sha256_final(in.file_sha, &out->hash);
        out->size = in.pos;
        out->chunks = in.chunks;
        out->nchunks = in.nchunks;
        if (in.pieces)
            sw_pieces_stream(in.pieces, &out->hash, out->size);
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

/* Stores job's stream (job->fd is set here) as an object; on failure nothing is left behind. */
static int sw_ingest_put(sw_object *out, sw_store *st, sw_ingest_job *job)
{
    memset(out, 0, sizeof *out);
    char *tmp;
    if (sw_store_tmpfile(&tmp, &job->fd, st))
        return SW_ERROR;
    int r = sw_ingest_stream(out, job);
    if (!r)
        r = sw_ingest_finish(out, st, job->fd, tmp);
    close(job->fd);
    if (r) {
        unlink(tmp);
        sw_object_clear(out);
    }
    free(tmp);
    return r;
}

int sw_store_put(sw_object *out, sw_store *st, sw_reader rd, void *rctx, sw_progress_fn prog, void *pctx)
{
    sw_ingest_job job = {.rd = rd, .rctx = rctx, .prog = prog, .pctx = pctx};
    return sw_ingest_put(out, st, &job);
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

int sw_store_put_file_pieces(sw_object *out, sw_store *st, const char *path, sw_pieces *pieces,
                             sw_progress_fn prog, void *pctx)
{
    sw_fd_reader f = {open(path, O_RDONLY | O_CLOEXEC), path};
    if (f.fd < 0)
        return sw_error_errno(errno == ENOENT ? SW_ENOTFOUND : SW_ERROR, "cannot open %s", path);
    posix_fadvise(f.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    sw_ingest_job job = {.rd = sw_fd_read, .rctx = &f, .pieces = pieces, .prog = prog, .pctx = pctx};
    int r = sw_ingest_put(out, st, &job);
    close(f.fd);
    return r;
}

int sw_store_put_file(sw_object *out, sw_store *st, const char *path, sw_progress_fn prog, void *pctx)
{
    return sw_store_put_file_pieces(out, st, path, NULL, prog, pctx);
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
    sw_ingest_job job = {.rd = rd, .rctx = rctx, .fd = -1, .cuts = cuts, .ncuts = ncuts};
    return sw_ingest_stream(out, &job);
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
