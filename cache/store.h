/* store.h — the content-addressed store: objects named by the SHA-256 of their bytes.
 *
 * The layout of a home is declared in cache/home.h.
 *
 * Invariants: an object is written to tmp/, fsync'd, made read-only and renamed into place, then the
 * directory is fsync'd; so a name under objects/ always has its full bytes, and a crash (kill -9
 * included) leaves at most stray files in tmp/ and objects without chunk rows, both repaired by fsck or
 * gc. Chunk rows are written after their object, so a row never names bytes that were not durable.
 *
 * Ownership: sw_store_open returns a store the caller frees with sw_store_free (NULL is fine). A store
 * is used by one thread at a time; sw_store_put runs its own worker threads internally. */
#ifndef SW_STORE_H
#define SW_STORE_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "cache/chunker.h"
#include "cache/hash.h"
#include "cache/index.h"
#include "cache/pieces.h"

typedef struct sw_store sw_store;

enum {
    SW_STORE_SHARED = 0,    /* normal use: many processes at once */
    SW_STORE_EXCLUSIVE = 1, /* fails with SW_ECONFLICT while another process uses the store */
};

/* Opens the store at home, creating its layout if needed, and takes the store lock in mode. */
int sw_store_open(sw_store **out, const char *home, int mode);
void sw_store_free(sw_store *st);

const char *sw_store_home(const sw_store *st);
sw_index *sw_store_index(sw_store *st);
/* The path of an object (caller frees); the object need not exist. */
char *sw_store_object_path(const sw_store *st, const sw_hash *h);
/* 0 and the size when the object is present, SW_ENOTFOUND when not. */
int sw_store_stat(const sw_store *st, const sw_hash *h, uint64_t *size);

/* The result of storing a stream: its hash, size and chunk list (owned; release with sw_object_clear). */
typedef struct {
    sw_hash hash;
    uint64_t size;
    sw_chunk *chunks;
    size_t nchunks;
    int added; /* 1 when new bytes were stored, 0 when the object was already there */
} sw_object;
void sw_object_clear(sw_object *o);

/* A source of bytes: returns how many were read into buf (0 at the end) or -1 with sw_error set. */
typedef ssize_t (*sw_reader)(void *ctx, void *buf, size_t len);
/* Called with each batch of bytes consumed, for progress displays; may be NULL. */
typedef void (*sw_progress_fn)(void *ctx, uint64_t bytes);

/* Streams a source into the store: one read of the data, which is written to a temp file, hashed whole
 * and cut into hashed chunks in parallel (a worker thread per hash for inputs over one block), then
 * committed atomically and indexed. Identical content stores no new bytes. On failure nothing is left
 * behind. */
int sw_store_put(sw_object *out, sw_store *st, sw_reader rd, void *rctx, sw_progress_fn prog, void *pctx);
/* sw_store_put over a file's bytes. */
int sw_store_put_file(sw_object *out, sw_store *st, const char *path, sw_progress_fn prog, void *pctx);
/* The same, also feeding the bytes to pieces in the same pass (and recording the object there:
 * sw_pieces_stream), for the torrent of files added one after another (swarm add). */
int sw_store_put_file_pieces(sw_object *out, sw_store *st, const char *path, sw_pieces *pieces,
                             sw_progress_fn prog, void *pctx);

/* Hashes a stream whole and into chunks, storing nothing; out as for sw_store_put. With cuts not NULL
 * the chunks are cut where that list says (a manifest's, which tiles the file) instead of where the
 * chunker would: they are hashed, not searched for. */
int sw_store_hash(sw_object *out, sw_reader rd, void *rctx, const sw_chunk *cuts, size_t ncuts);
/* Takes the file at path, whose bytes sw_store_hash hashed into obj, into the store without copying
 * it: when obj's SHA-256 is expect and (cuts not NULL) its chunks are exactly cuts, the file is made
 * read-only, fsync'd, renamed into objects/ (it must be on the store's filesystem; when the object
 * exists already the file is removed instead) and its chunks indexed. A file that does not match is
 * left where it is and SW_EINVALID returned. */
int sw_store_adopt(sw_store *st, const char *path, sw_object *obj, const sw_hash *expect, const sw_chunk *cuts,
                   size_t ncuts);

/* Creates an empty temp file in the store's tmp/ for an object being written (caller owns and frees
 * *path, closes *fd). */
int sw_store_tmpfile(char **path, int *fd, const sw_store *st);
/* Makes the finished temp file tmp (open as fd) object h: mtime now, read-only, fsync'd, renamed into
 * objects/, the directory fsync'd; when h exists already tmp is removed instead and the object's mtime set
 * to now (freshened, for gc's grace period). *added says which. It also marks this process a writer
 * (sw_store_writers_since). Touches only files,
 * so any thread may call it while another uses the store. Chunk rows are the caller's (a stage output
 * has none until it is published: sw_store_reindex). */
int sw_store_commit(const sw_store *st, int fd, const char *tmp, const sw_hash *h, int *added);

/* Rebuilds an object's chunk rows from its bytes (read only: nothing is copied). SW_EINVALID when the
 * bytes do not match the name. The caller drops stale rows first. */
int sw_store_reindex(sw_store *st, const sw_hash *h);

/* Moves a corrupt object to quarantine/ and forgets its index rows. */
int sw_store_quarantine(sw_store *st, const sw_hash *h);
/* Removes an object and its index rows (gc). */
int sw_store_remove(sw_store *st, const sw_hash *h);

/* Removes from tmp/ the temp files of processes that are gone (whatever their age) and any other file
 * whose mtime is before `before` (0: none); a live process's temp files stay. Counts what it removed in
 * *count and *bytes when not NULL. Fails only when tmp/ cannot be read or a file cannot be removed. */
int sw_store_sweep_tmp(sw_store *st, time_t before, uint64_t *count, uint64_t *bytes);

/* The time at which the earliest still-running other process first committed an object into this store
 * (its owner file's mtime), or a time far in the future when none has. Everything such a process made
 * since then may not yet be referenced by the version or stage record it is making. */
time_t sw_store_writers_since(sw_store *st);

/* Calls fn for every object file under objects/ (name parsed, size from stat). Stops on a non-zero
 * return, which it passes on. Names that are not 64 hex digits are reported through bad (may be NULL). */
int sw_store_foreach(sw_store *st, int (*fn)(void *ctx, const sw_hash *h, uint64_t size),
                     void (*bad)(void *ctx, const char *path), void *ctx);

#endif
