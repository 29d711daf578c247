/* run.h — the runner's insides, shared by the scheduler (runner.c) and the files of each stage kind
 * (stage_input.c, stage_read.c, stage_op.c, stage_write.c), the values they pass (stage_values.c), the
 * key (key.c) and publishing (publish.c). Not an API: only core/pipeline/ includes it.
 *
 * The scheduler walks the graph in waves and asks each stage's kind (sw_stage_kind) what to do; the main
 * thread alone touches the index and the catalog, work items on the pool touch files only. */
#ifndef SW_RUN_H
#define SW_RUN_H

#include <jansson.h>
#include <pthread.h>
#include <sys/stat.h>

#include "base/pool.h"
#include "bundle/catalog.h"
#include "bundle/manifest.h"
#include "cache/store.h"
#include "pipeline/compress.h"
#include "pipeline/graph.h"
#include "pipeline/key.h"
#include "pipeline/records.h"
#include "pipeline/runner.h"
#include "pipeline/tstats.h"

/* A file of a files value: its path inside the value, hash, size, and where its bytes are on disk. */
typedef struct {
    char *rel, *disk;
    sw_hash hash;
    uint64_t size;
    int known; /* hash known (from the stat cache or a manifest) */
    sw_filestat fs;
} sw_rfile;

typedef struct sw_run sw_run;

/* A read-only mapping of a whole file. */
typedef struct {
    const uint8_t *p;
    size_t len;
} sw_map;

/* One unit of work for the pool, with its own result slot. */
typedef struct {
    sw_run *run;
    size_t stage, index;
    int err;
    char msg[1024];
    sw_tref out; /* op over tensors: the output tensor */
    /* op over records: the segment of the input it runs over (whole batches; seg2: the same records of a
     * second input, zipped record by record) and the framed output it wrote, in a temp file of the store */
    const uint8_t *seg, *seg_end, *seg2, *seg2_end;
    char *tmp;
    sw_hash hash;
    int finished; /* set by the worker when the item is done, read by the progress line */
    uint64_t gathered; /* a whole op over records: bytes of the input gathered so far (progress line) */
} sw_item;

/* The runner's state for one stage. */
typedef struct {
    int done, pending; /* pending: a dry run could not know its inputs */
    char *id;          /* the value id it yields */
    sw_rfile *files;   /* files values */
    size_t nfiles;
    sw_tensors tensors; /* tensors values, once loaded */
    int loaded;
    sw_hash key;
    char *parts; /* the key's parts as JSON, for --explain */
    sw_item *items;
    size_t nitems;
    sw_tensors made; /* read and op stages: the collection being made */
    sw_map in, in2; /* op over records: the input (and a second one, zipped), mapped while the stage runs */
    sw_framing framing, framing2;
    uint64_t whole; /* an op over the whole stream of records (SWARM_OP_WHOLE): its record count */
    int no_cache; /* the op is not deterministic, or an item fell back to a variant with another numerics
                     tag: the result is not recorded under the key */
    const char *numerics; /* an op stage: the numerics tag its key names (the descriptor's string) */
    double t0;
    char *label; /* what its work items are doing, for the crash report (base/crash.h) */
    char *staged; /* a write stage: the copy of its file beside the save path, made while the object's
                     writeback runs and renamed over the path by the sinks (or removed) */
} sw_srun;

/* An op's output tensor kept for this run only: an unsynced temp file of the store, named by the SHA-256
 * of its bytes (sw_tmp_keep). Only the stage's collection is a durable object; a later run that needs
 * the bytes runs the stage again (runner.c, sw_materialize). */
typedef struct {
    sw_hash hash;
    char *path;
} sw_kept;

/* A memory buffer the run's work items reuse (sw_run_buf). */
typedef struct {
    void *p;
    size_t cap;
    int busy;
} sw_buf;

struct sw_run {
    const sw_graph *g;
    sw_store *st;
    sw_catalog *cat;
    const sw_run_opts *o;
    sw_srun *s;
    sw_run_report *rep;
    pthread_mutex_t mu; /* guards kept: the main thread adds, workers look up */
    sw_kept *kept;
    size_t nkept, ckept;
    sw_buf *bufs; /* guarded by mu too */
    size_t nbufs, cbufs;
    int gpu_loaded; /* the GPU companions o->gpu_later deferred are loaded (sw_run_gpu) */
};

/* ---- Stage kinds ------------------------------------------------------------------------------------ */

/* What the scheduler asks of one kind of stage; hooks that a kind does not need are NULL. */
typedef struct {
    /* Before the key: returns 0 (complete), 1 (work queued), SW_RUN_KEYED (build the key) or an error.
     * NULL: build the key. */
    int (*prepare)(sw_run *run, size_t i, sw_pool *pool);
    /* The key's parts, once the inputs it needs are loaded and checked. */
    int (*parts)(json_t **out, sw_run *run, size_t i);
    /* After a cache hit. */
    int (*cached)(sw_run *run, size_t i);
    /* After a miss: sets up the stage's work items and submits them (sw_run_submit). */
    int (*queue)(sw_run *run, size_t i, sw_pool *pool);
    /* Once every item succeeded: commits the outputs, sets the stage's id and records it under its key. */
    int (*finish)(sw_run *run, size_t i);
    /* Once the stage is complete (never in a dry run): its sinks (saving, publishing). */
    int (*sinks)(sw_run *run, size_t i);
} sw_stage_kind;
#define SW_RUN_KEYED 2

extern const sw_stage_kind sw_kind_input, sw_kind_read, sw_kind_op, sw_kind_write;

/* ---- The scheduler's services (runner.c) ------------------------------------------------------------ */

/* Gives stage i n work items (index 0..n-1). */
void sw_run_items(sw_run *run, size_t i, size_t n);
/* Runs fn(item) on the pool. */
void sw_run_submit(sw_pool *pool, sw_task_fn fn, sw_item *it);
/* Before an op chooses its variants: loads the GPU companions the registry deferred, once, after the
 * pool's work so far (which may read the descriptors this changes) is done. pool may be NULL. */
void sw_run_gpu(sw_run *run, sw_pool *pool);
/* Records stage i's id under its key, pinning the n objects it is made of (nothing when the stage's
 * result must not be cached). With objs NULL, the one object its id names. */
int sw_run_record(sw_run *run, size_t i, const sw_hash *objs, size_t n);

/* ---- Values (stage_values.c) -------------------------------------------------------------------------- */

/* Records a failing item's error (code, and the thread's message). */
void sw_item_fail(sw_item *it, int code);
/* The hash's 64 hex digits (caller frees). */
char *sw_hex(const sw_hash *h);
void sw_filestat_of(sw_filestat *fs, const struct stat *st);
/* Writes buf as a store object (from the main thread or a worker). */
int sw_put_buf(sw_hash *h, const sw_store *st, const void *buf, size_t len);
/* Reads a whole store object (small ones: collections, listings). */
int sw_read_object(char **out, size_t *len, const sw_store *st, const sw_hash *h);
/* Where a blob's bytes are: a store object, an input file of this run, or an op output this run kept
 * (sw_run_keep); NULL when none. */
char *sw_blob_path(const sw_run *run, const sw_hash *h);
/* Where a blob's bytes are when nobody but swarm writes them (a store object, or an op output this run
 * kept), else NULL (an input file, or not held). Caller frees. */
char *sw_blob_own_path(const sw_run *run, const sw_hash *h);
/* Maps a whole file read-only (nothing mapped for an empty one). */
int sw_map_open(sw_map *m, const char *path);
void sw_map_close(sw_map *m);
/* Maps the blob holding a tensor and checks the tensor lies inside it. */
int sw_map_blob(sw_map *m, const sw_run *run, const sw_tref *t);

/* Tensors up to this size are read into, and op outputs built in, memory buffers the run reuses
 * (sw_run_buf), and moved to and from files by read and write: on the virtual machines measured a page
 * fault on a file mapping costs more than copying its page (README, Performance). Larger ones are
 * mapped, so that memory stays bounded. */
#define SW_BUF_MAX ((size_t)64 << 20)

/* A buffer of at least size bytes (huge pages where the kernel gives them), kept mapped between uses so
 * that reusing it costs no page faults; NULL when out of memory. Any thread. */
void *sw_run_buf(sw_run *run, size_t size);
/* Gives a buffer back for reuse (NULL is fine). */
void sw_run_buf_put(sw_run *run, void *p);
/* Frees the run's buffers (when the run ends). */
void sw_run_bufs_free(sw_run *run);

/* A tensor's bytes for reading: read into a buffer of the run when it is at most SW_BUF_MAX, else mapped;
 * p is its first byte. */
typedef struct {
    sw_map m;
    void *buf;
    const uint8_t *p;
} sw_tbytes;
int sw_tbytes_open(sw_tbytes *b, sw_run *run, const sw_tref *t);
void sw_tbytes_close(sw_tbytes *b, sw_run *run);

/* An op's tensor outputs (swarm_host's alloc and free): built in a buffer of the run (sw_run_buf) or,
 * past SW_BUF_MAX, in a mapped temp file of the store; sw_tmp_keep hands them on as temp files. Records
 * outputs live on the heap. */
typedef struct {
    sw_run *run;
    struct sw_tbuf {
        void *p;
        size_t size;
        int fd; /* -1: a buffer of the run */
        char *tmp;
    } bufs[8];
    size_t n;
} sw_tmpalloc;
void *sw_tmp_alloc(void *ctx, size_t size);
void sw_tmp_free(void *ctx, void *ptr, size_t size);
/* Keeps the buffer at ptr for this run: hashes it into *h, releases it and hands its unsynced temp file's
 * path to *tmp (the caller's; see sw_kept), or NULL when the run holds those bytes already. */
int sw_tmp_keep(sw_tmpalloc *a, void *ptr, sw_hash *h, char **tmp);
/* Registers a kept temp file (taking path) so that sw_blob_path finds its bytes; the run removes it
 * when it ends. Main thread only. */
void sw_run_keep(sw_run *run, const sw_hash *h, char *path);

/* The hash at the end of a "KIND:...:HEX" value id. */
int sw_id_hash(sw_hash *h, const char *id);
/* Loads stage i's tensor collection from the store (once). */
int sw_load_tensors(sw_run *run, size_t i);
/* Loads the tensor collections among stage i's inputs. */
int sw_load_inputs(sw_run *run, size_t i);
/* Commits stage i's collection (s->made) as an object, records the key, and sets the id. */
int sw_commit_tensors(sw_run *run, size_t i);
/* Joins stage i's items' framed records in order into one object, records it under the key and sets
 * the id (records:framed:HEX). */
int sw_records_finish(sw_run *run, size_t i);
/* Appends a file to a files value. */
void sw_rfiles_push(sw_srun *s, const char *rel, const char *disk, size_t *cap);

/* ---- Keys (key.c) ------------------------------------------------------------------------------------- */

/* Adds the inputs to parts, builds stage i's key, and looks it up: 1 on a hit (s->id set), 0 on a miss
 * (the report says why), negative on an error. */
int sw_lookup(sw_run *run, size_t i, json_t *parts);
/* Sets the parts' "params": [NAME, TYPE, VALUE] for each param of the schema, in schema order; a path's
 * VALUE is its content's id. */
int sw_params_part(json_t *parts, sw_run *run, const swarm_param *schema, size_t n, char *const *text);
/* The parts of a read or write stage through a plugin's format (with a records format's params), or
 * through the built-in lines. */
int sw_format_parts(json_t **out, sw_run *run, const char *kind, const sw_stage *sg);

/* ---- Kind-specific services ---------------------------------------------------------------------------- */

/* The content id of a path param's file or folder (stage_input.c). */
int sw_path_id(char **out, sw_run *run, const char *name, const char *path);
/* Whether a write stage writes shards into a folder (stage_write.c). */
int sw_sharded(const sw_stage *sg);
/* Makes the folders the graph's write stages save into (a file's parent, the shards' folder) before
 * anything runs, so a path that cannot be written fails at once, not after the work (stage_write.c). */
int sw_write_folders(const sw_graph *g);
/* Publishes write stage i's files as the bundle version it names (publish.c). */
int sw_publish(sw_run *run, size_t i);

#endif
