/* report.h — the outputs of both ops: the kept records, or a one-record JSON report of the clusters. */
#ifndef SW_DEDUP_REPORT_H
#define SW_DEDUP_REPORT_H

#include "dd.h"
#include "swarm_plugin.h"

#include <jansson.h>
#include <stdint.h>

/* How many documents parent (flattened: parent[i] is i's cluster's smallest index) keeps. */
uint64_t dd_kept_count(const uint64_t *parent, uint64_t n);



/* How the sign/cluster ops say a document went: kept, an exact duplicate (its normalized text is an earlier
 * document's), or a near duplicate. */
enum { DD_KEPT = 0, DD_EXACT = 1, DD_NEAR = 2 };

/* Writes the records i of in with parent[i] == i (parent not NULL) or kind[i] == DD_KEPT to out, in order,
 * and lowers out->count to their number. out has room for all of in (count + 1 offsets, nbytes >= in's). */
void dd_write_kept(const swarm_records *in, const uint64_t *parent, const uint8_t *kind, swarm_records *out);

/* Adds "documents", "kept", "removed" and "clusters" to report: the clusters of two documents or more,
 * ordered by the index they keep, each {"keep": i, "removed": [j, ...]} with the removed indexes
 * ascending. With kind (DD_* per document; NULL: none) each cluster splits its removed documents into
 * "exact" and "near", and the report counts both. Returns 0, or -1 when memory runs out. */
int dd_report_clusters(json_t *report, const uint64_t *parent, const uint8_t *kind, uint64_t n, const dd_alloc *alloc);

/* Writes report as the one record of out (compact, keys sorted: the same clusters give the same bytes).
 * Returns 0; -1 when memory runs out; 1 when it does not fit in out->nbytes. */
int dd_write_report(const json_t *report, swarm_records *out);

#endif
