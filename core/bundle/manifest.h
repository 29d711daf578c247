/* manifest.h — a bundle version's manifest: what the version is and every byte it holds.
 *
 * The JSON schema (version 1) is documented in README.md, "Manifest format". sw_manifest_to_json writes
 * the canonical form (fixed key order, files sorted by path, compact), so the same version is the same
 * bytes on every peer. sw_manifest_parse is strict: it is the gate every manifest from a peer or a pulled
 * catalog passes through, and refuses anything malformed with a one-line reason.
 *
 * Ownership: a manifest owns all its strings and arrays; sw_manifest_free releases it (NULL is fine). */
#ifndef SW_MANIFEST_H
#define SW_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "cache/chunker.h"
#include "cache/hash.h"

#define SW_MANIFEST_SCHEMA 1

typedef struct {
    char *path;     /* relative, checked by sw_path_check */
    uint64_t size;
    uint32_t mode;  /* 0644 or 0755 */
    sw_hash hash;   /* SHA-256 of the file's bytes: the object's name */
    sw_chunk *chunks;
    size_t nchunks;
} sw_mfile;

typedef struct {
    char *name, *version;
    char *parent;   /* the version this one follows, or NULL */
    char *message, *author;
    char *time;     /* UTC, "YYYY-MM-DDTHH:MM:SSZ" */
    char torrent_v1[41]; /* the v1 info-hash of the version's torrent (40 hex digits), or "" */
    /* What made the version when a pipeline published it: a JSON object of strings and string arrays
     * (pipeline, pipeline_sha256, stage, key, inputs), compact with sorted keys; NULL for added ones. */
    char *provenance;
    sw_mfile *files;
    size_t nfiles, cap;
} sw_manifest;

sw_manifest *sw_manifest_new(void);
void sw_manifest_free(sw_manifest *m);
/* Adds a file; the manifest takes a copy of path and of the chunk array. */
void sw_manifest_add_file(sw_manifest *m, const char *path, uint64_t size, uint32_t mode, const sw_hash *hash,
                          const sw_chunk *chunks, size_t nchunks);
/* Sorts files by path and checks they form a tree (sw_path_check_tree). */
int sw_manifest_sort(sw_manifest *m);
/* Total bytes over all files. */
uint64_t sw_manifest_size(const sw_manifest *m);
/* Finds a file by path, or NULL. Files must be sorted. */
const sw_mfile *sw_manifest_find(const sw_manifest *m, const char *path);
/* Whether two manifests (files sorted) hold the same files: paths, modes and contents (hashes). */
int sw_manifest_same_files(const sw_manifest *a, const sw_manifest *b);

/* Sets time (now, or $SOURCE_DATE_EPOCH) and author ($SWARM_AUTHOR, else $GIT_AUTHOR_NAME <EMAIL>, else
 * the login name). */
void sw_manifest_stamp(sw_manifest *m);

/* Canonical JSON, NUL-terminated, ending in a newline (caller frees). */
char *sw_manifest_to_json(const sw_manifest *m);
/* Parses and validates; on error returns SW_EINVALID with the reason. */
int sw_manifest_parse(sw_manifest **out, const char *json, size_t len);

#endif
