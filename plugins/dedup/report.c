/* report.c — what the ops write. "kept" copies the records to keep, in input order; "report" writes one
 * JSON object describing the run (built by dedup.c: op, params, hash, normalization, permutations) and
 * its clusters (built here). */
#include "report.h"

#include <stdlib.h>
#include <string.h>

uint64_t dd_kept_count(const uint64_t *parent, uint64_t n)
{
    uint64_t kept = 0;
    for (uint64_t i = 0; i < n; i++)
        kept += parent[i] == i;
    return kept;
}

void dd_write_kept(const swarm_records *in, const uint64_t *parent, const uint8_t *kind, swarm_records *out)
{
    uint64_t w = 0, off = 0;
    out->offsets[0] = 0;
    for (uint64_t i = 0; i < in->count; i++) {
        if (parent ? parent[i] != i : kind[i] != DD_KEPT)
            continue;
        uint64_t a = in->offsets[i], len = in->offsets[i + 1] - a;
        if (len)
            memcpy(out->bytes + off, in->bytes + a, (size_t)len);
        off += len;
        out->offsets[++w] = off;
    }
    out->count = w;
}

/* Appends an integer to a JSON array; -1 when memory runs out. */
static int dd_append_int(json_t *array, uint64_t v)
{
    return json_array_append_new(array, json_integer((json_int_t)v));
}

/* The cluster object of representative r: made at its first removed member, with "removed" (or, with
 * kinds, "exact" and "near") empty. NULL when memory runs out. */
static json_t *dd_cluster_new(uint64_t r, const uint8_t *kind)
{
    json_t *c = json_object();
    if (!c || json_object_set_new(c, "keep", json_integer((json_int_t)r)) ||
        json_object_set_new(c, kind ? "exact" : "removed", json_array()) ||
        (kind && json_object_set_new(c, "near", json_array()))) {
        json_decref(c);
        return NULL;
    }
    return c;
}

/* Two passes: the removed documents, ascending, go into their cluster's object (made at its first member);
 * then the objects go into "clusters" in the order of the index they keep. */
int dd_report_clusters(json_t *report, const uint64_t *parent, const uint8_t *kind, uint64_t n, const dd_alloc *alloc)
{
    json_t **cl = dd_alloc_array(alloc, n, sizeof(json_t *)), *clusters = json_array();
    uint64_t kept = dd_kept_count(parent, n), exact = 0;
    int rc = 0;
    if (!cl || !clusters) {
        json_decref(clusters);
        return -1;
    }
    for (uint64_t i = 0; i < n; i++)
        cl[i] = NULL;
    for (uint64_t i = 0; i < n && !rc; i++) {
        uint64_t r = parent[i];
        if (r == i)
            continue;
        if (!cl[r] && !(cl[r] = dd_cluster_new(r, kind))) {
            rc = -1;
            break;
        }
        exact += kind && kind[i] == DD_EXACT;
        rc = dd_append_int(json_object_get(cl[r], !kind ? "removed" : kind[i] == DD_EXACT ? "exact" : "near"), i);
    }
    for (uint64_t r = 0; r < n; r++) {
        if (!cl[r])
            continue;
        if (rc)
            json_decref(cl[r]);
        else if (json_array_append_new(clusters, cl[r])) /* which releases cl[r] even when it fails */
            rc = -1;
    }
    if (rc) {
        json_decref(clusters);
        return -1;
    }
    /* json_object_set_new releases the value even when it fails */
    if (json_object_set_new(report, "clusters", clusters) ||
        json_object_set_new(report, "documents", json_integer((json_int_t)n)) ||
        json_object_set_new(report, "kept", json_integer((json_int_t)kept)) ||
        json_object_set_new(report, "removed", json_integer((json_int_t)(n - kept))) ||
        (kind && (json_object_set_new(report, "exact", json_integer((json_int_t)exact)) ||
                  json_object_set_new(report, "near", json_integer((json_int_t)(n - kept - exact))))))
        return -1;
    return 0;
}

int dd_write_report(const json_t *report, swarm_records *out)
{
    char *s = json_dumps(report, JSON_COMPACT | JSON_SORT_KEYS);
    size_t len;
    if (!s)
        return -1;
    len = strlen(s);
    if (len > out->nbytes || out->count < 1) {
        free(s);
        return 1;
    }
    memcpy(out->bytes, s, len);
    free(s);
    out->offsets[0] = 0;
    out->offsets[1] = len;
    out->count = 1;
    return 0;
}
