/* summary.h — what `ls` needs of a version without its manifest: file count, bytes, distinct objects.
 *
 * A summary is kept per validated manifest, named by the manifest's git blob id, in HOME/summaries/ (see
 * catalog.h): a header line "swarm-summary-1 FILES BYTES OBJECTS\n", then OBJECTS raw SHA-256s, sorted.
 * A hostile manifest is parsed and validated once (by pull); listing the catalog after that reads only
 * these small files. Ownership: a summary owns its objects array; sw_msummary_clear frees it. */
#ifndef SW_SUMMARY_H
#define SW_SUMMARY_H

#include "bundle/manifest.h"

typedef struct {
    size_t nfiles;
    uint64_t bytes;
    sw_hash *objects; /* the distinct objects the files name, in memcmp order */
    size_t nobjects;
} sw_msummary;

void sw_msummary_clear(sw_msummary *s);
/* The summary of a (validated) manifest. */
void sw_msummary_of(sw_msummary *out, const sw_manifest *m);
/* Reads a summary file: SW_ENOTFOUND when absent, SW_EINVALID when it is not one (it is then rebuilt). */
int sw_msummary_load(sw_msummary *out, const char *path);
/* Writes a summary file atomically. */
int sw_msummary_save(const sw_msummary *s, const char *path);

#endif
