/* docs.c — the per-document pass. A record is the document's text (bytes, normally UTF-8), or, when the
 * op's field param is set, a JSON object (jansson) whose string member of that name is the text (a JSON
 * string's decoded bytes are never more than the record's, so one buffer of the longest record's length
 * holds any normalized text). A record that does not parse, is not an object, or lacks the string
 * member fails the op, naming the first such record. */
#include "docs.h"

#include "normalize.h"
#include "shingle.h"

#include <jansson.h>
#include <stdio.h>

/* The text of record i: its bytes, or the field of its JSON object (*hold then owns the parsed object,
 * to be released once the text is used). 0, or 1 with the reason in th->msg. */
static int dd_doc_text(const dd_pass *p, dd_pass_thread *th, uint64_t i, json_t **hold, const uint8_t **t, size_t *n)
{
    const uint8_t *rec = p->in->bytes + p->in->offsets[i];
    size_t len = (size_t)(p->in->offsets[i + 1] - p->in->offsets[i]);
    json_error_t e;
    json_t *v, *f;
    *hold = NULL;
    if (!p->field || !*p->field) {
        *t = rec;
        *n = len;
        return 0;
    }
    v = json_loadb((const char *)rec, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!v) {
        snprintf(th->msg, sizeof th->msg, "record %llu: not JSON (%s, at byte %d)", (unsigned long long)i, e.text,
                 e.position);
        return 1;
    }
    f = json_is_object(v) ? json_object_get(v, p->field) : NULL;
    if (!json_is_string(f)) {
        snprintf(th->msg, sizeof th->msg,
                 json_is_object(v) ? "record %llu: no string field \"%s\""
                                   : "record %llu: not a JSON object (field \"%s\")",
                 (unsigned long long)i, p->field);
        json_decref(v);
        return 1;
    }
    *t = (const uint8_t *)json_string_value(f);
    *n = json_string_length(f);
    *hold = v;
    return 0;
}

/* One slice: text, normalization, then the hash and/or the signature of each document, in order; stops at
 * the slice's first bad record. */
static void dd_pass_slice(void *ctx, int t, uint64_t lo, uint64_t hi)
{
    dd_pass *p = ctx;
    dd_pass_thread *th = &p->th[t];
    for (uint64_t i = lo; i < hi; i++) {
        json_t *hold;
        const uint8_t *text;
        size_t n;
        if (dd_doc_text(p, th, i, &hold, &text, &n)) {
            th->failed = 1;
            th->bad = i;
            return;
        }
        n = dd_normalize(text, n, th->buf);
        json_decref(hold);
        if (p->hash)
            p->hash[i] = dd_exact_hash(th->buf, n);
        if (p->sig) {
            uint64_t shingles = dd_signature(th->buf, n, p->shingle, p->k, p->a, p->b, p->sig + i * (uint64_t)p->k,
                                             th->ring, p->fold);
            if (p->empty)
                p->empty[i] = !shingles;
        }
    }
}

/* Gives each thread its buffers (from alloc, on this thread), runs the slices, and reports the first bad
 * record: the slices are in order and each stops at its own first, so that is the failed slice with the
 * smallest index. */
int dd_pass_run(dd_pass *p, int nthreads, uint64_t max_len, const dd_alloc *alloc, char *msg, size_t cap)
{
    if (nthreads < 1)
        nthreads = 1;
    if (nthreads > DD_MAX_THREADS)
        nthreads = DD_MAX_THREADS;
    if (!p->fold)
        p->fold = dd_fold_best();
    for (int t = 0; t < nthreads; t++) {
        dd_pass_thread *th = &p->th[t];
        th->failed = 0;
        th->msg[0] = 0;
        th->buf = dd_alloc_array(alloc, max_len, 1);
        th->ring = p->sig ? dd_alloc_array(alloc, dd_ring_len((size_t)max_len, p->shingle), sizeof(size_t)) : NULL;
        if (!th->buf || (p->sig && !th->ring))
            return -1;
    }
    dd_parallel(nthreads, p->in->count, dd_pass_slice, p);
    for (int t = 0; t < nthreads; t++)
        if (p->th[t].failed) {
            snprintf(msg, cap, "%s", p->th[t].msg);
            return 1;
        }
    return 0;
}
