/* bundle.h — questions about bundle versions that need both the catalog and the store. */
#ifndef SW_BUNDLE_H
#define SW_BUNDLE_H

#include <stddef.h>

#include "bundle/catalog.h"
#include "bundle/manifest.h"
#include "cache/store.h"

/* Turns *version into the concrete version it names: NULL (a bare NAME) and "latest" become the bundle's
 * latest version (sw_catalog_latest), freeing the old string; any other version is kept as it is.
 * SW_ENOTFOUND when the bundle has no version. */
int sw_bundle_version(char **version, sw_catalog *cat, const char *name);
/* Parses a reference NAME, NAME@latest or NAME@VERSION into owned strings, with the latest resolved
 * (sw_bundle_version). SW_EINVALID for a malformed reference, SW_ENOTFOUND for an unknown bundle. */
int sw_bundle_resolve(char **name, char **version, sw_catalog *cat, const char *ref);
/* Reads the manifest of a reference (sw_bundle_resolve; caller frees). SW_EINVALID for a malformed
 * reference, SW_ENOTFOUND for a version the catalog lacks, with sw_error set. */
int sw_bundle_read(sw_manifest **out, sw_catalog *cat, const char *ref);
/* How many of a manifest's files have their object in the store. */
size_t sw_bundle_held_files(const sw_manifest *m, const sw_store *st);
/* Whether every file of the manifest is held. */
int sw_bundle_held(const sw_manifest *m, const sw_store *st);
/* Whether every file at path (a file, or the files of a folder) of the manifest is held; path NULL: the
 * whole version. A pipeline input NAME@VERSION/PATH needs only those. */
int sw_bundle_held_under(const sw_manifest *m, const sw_store *st, const char *path);

/* Writes m's held files into dir as copies (never links: editing them cannot change the store), each
 * written beside its target and renamed into place, so a file in dir is absent or complete. Refuses
 * (SW_EEXISTS) when any target exists, writing nothing, and any folder inside dir that is a symbolic
 * link. Each copy's size is checked, and with verify its SHA-256. progress (may be NULL) gets the bytes
 * copied. */
int sw_bundle_checkout(sw_store *st, const sw_manifest *m, const char *dir, int verify, sw_progress_fn progress,
                       void *pctx);

#endif
