/* bundle.h — questions about bundle versions that need both the catalog and the store. */
#ifndef SW_BUNDLE_H
#define SW_BUNDLE_H

#include <stddef.h>

#include "bundle/catalog.h"
#include "bundle/manifest.h"
#include "cache/store.h"

/* Parses NAME@VERSION and reads that version's manifest (caller frees). SW_EINVALID for a malformed
 * reference, SW_ENOTFOUND for a version the catalog lacks, with sw_error set. */
int sw_bundle_read(sw_manifest **out, sw_catalog *cat, const char *ref);
/* How many of a manifest's files have their object in the store. */
size_t sw_bundle_held_files(const sw_manifest *m, const sw_store *st);
/* Whether every file of the manifest is held. */
int sw_bundle_held(const sw_manifest *m, const sw_store *st);

#endif
