/* docs.h — the per-document pass of both ops: each record's text (the record itself, or a string field
 * of the JSON object it holds), normalized, then hashed (exact) or signed (near), on several threads. */
#ifndef SW_DEDUP_DOCS_H
#define SW_DEDUP_DOCS_H

#include "dd.h"
#include "dedup_ops.h"
#include "exact.h"
#include "fold.h"
#include "parallel.h"
#include "swarm_plugin.h"

#include <stddef.h>
#include <stdint.h>

/* What one thread of a pass owns: its buffers and its first failure. */
typedef struct {
    uint8_t *buf; /* a normalized text: room for the longest record */
    size_t *ring; /* near: word starts (shingle.h) */
    int failed;
    uint64_t bad; /* the record that failed */
    char msg[256];
} dd_pass_thread;

/* A pass over a batch. Set in, field, and hash (exact), or shingle, k, a, b, sig and empty (near,
 * minhash), or both (sign): hash receives in->count hashes, sig in->count signatures of k entries back to back, empty (when
 * not NULL) a 1 for each document without shingles. */
typedef struct {
    const swarm_records *in;
    const char *field; /* "" or NULL: a record is the text; else the name of a JSON string field */
    dd_hash128 *hash;
    uint64_t shingle;
    int k;
    const uint64_t *a, *b;
    uint64_t *sig;
    uint8_t *empty;
    dd_fold_fn fold; /* set by dd_pass_run when NULL: dd_fold_best() */
    dd_pass_thread th[DD_MAX_THREADS];
} dd_pass;

/* Runs the pass on nthreads threads over a batch dd_check_records (dedup_ops.h) accepted. Returns 0; 1 when a record
 * is bad (a field that is not there), with the first bad record's reason in msg; -1 when memory runs
 * out. */
int dd_pass_run(dd_pass *p, int nthreads, uint64_t max_len, const dd_alloc *alloc, char *msg, size_t cap);

#endif
