/* index.h — the store's crash-safe indexes, in SQLite (WAL mode): the chunk index (chunk hash → object,
 * offset, length) that delta fetches use to find held bytes, and pins (objects gc must keep).
 * One sw_index is one connection; it is not shared between threads. Several processes may open the
 * same index at once: SQLite serializes writers, and each call waits up to 30 s for a busy database. */
#ifndef SW_INDEX_H
#define SW_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "cache/chunker.h"
#include "cache/hash.h"

typedef struct sw_index sw_index;

/* Opens (creating if needed) the index database at path. */
int sw_index_open(sw_index **out, const char *path);
void sw_index_free(sw_index *ix);

/* Records an object's chunk list in one transaction; rows already there are kept. */
int sw_index_put_chunks(sw_index *ix, const sw_hash *object, const sw_chunk *chunks, size_t n);
/* The chunk list of an object in offset order (caller frees *out); *n is 0 when none is recorded. */
int sw_index_get_chunks(sw_chunk **out, size_t *n, sw_index *ix, const sw_hash *object);
/* Forgets every row about an object (its chunks and its pin). */
int sw_index_drop_object(sw_index *ix, const sw_hash *object);
/* Finds one object holding a chunk: SW_ENOTFOUND when no object does. */
int sw_index_find_chunk(sw_hash *object, uint64_t *offset, sw_index *ix, const sw_hash *chunk);
/* Every object that has chunk rows (caller frees *out). */
int sw_index_objects(sw_hash **out, size_t *n, sw_index *ix);

/* Pins keep an object through gc; reason says who pinned it. */
int sw_index_pin(sw_index *ix, const sw_hash *object, const char *reason);
int sw_index_pins(sw_hash **out, size_t *n, sw_index *ix);
/* 1 when the object is pinned, 0 when not, or an error. */
int sw_index_pinned(sw_index *ix, const sw_hash *object);

/* The stage cache: a stage key's output (a value id, see core/pipeline/values.h). get: SW_ENOTFOUND on a
 * miss; a hit records that the result was used now (at most once per 10 minutes, to keep reruns off the
 * disk). put records the output, made now, and pins the objects it is made of (reason "stage", one pin
 * per object however many results share it), in one transaction. */
int sw_index_stage_get(char **output, sw_index *ix, const sw_hash *key);
int sw_index_stage_put(sw_index *ix, const sw_hash *key, const char *output, const sw_hash *objects, size_t n);
/* gc's stage cache policy, in one transaction: drops every stage result last made or used before
 * `before` (seconds since the epoch) unless it is the latest run's result of a
 * stage of some pipeline (sw_index_run_put), and unpins the objects no remaining result is made of.
 * *dropped: how many results went. */
int sw_index_stage_expire(sw_index *ix, int64_t before, uint64_t *dropped);

/* What a stage of a pipeline was made of when it last ran (JSON text), for `pipeline run --explain`, and
 * its key: the result gc keeps for that stage whatever its age. */
int sw_index_run_get(char **parts, sw_index *ix, const char *pipeline, const char *stage);
int sw_index_run_put(sw_index *ix, const char *pipeline, const char *stage, const char *parts, const sw_hash *key);

/* Hashes of files outside the store, valid while their stat data is unchanged (git's index trick). */
typedef struct {
    uint64_t dev, ino, size;
    int64_t mtime_ns, ctime_ns;
} sw_filestat;
/* SW_ENOTFOUND when the file is unknown or its stat data changed. */
int sw_index_file_get(sw_hash *h, sw_index *ix, const char *path, const sw_filestat *fs);
int sw_index_file_put(sw_index *ix, const char *path, const sw_filestat *fs, const sw_hash *h);

#endif
