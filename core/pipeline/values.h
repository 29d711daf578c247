/* values.h — what flows between pipeline stages, and how each kind is named and stored.
 *
 * Three kinds of value:
 *   files    one or more files (an input file, a directory, a bundle version, what a write stage made);
 *   tensors  a collection of named tensors with string metadata (a checkpoint);
 *   records  a stream of byte strings (lines of text, samples).
 * Every value has an id, a string that names its content and only its content; stage cache keys are
 * made of these ids (PIPELINES.md, "The stage cache key"):
 *   file:HEX           one file, HEX its SHA-256;
 *   files:HEX          several, HEX the SHA-256 of their listing ("PATH\tHEX\n" per file, sorted by path);
 *   tensors:HEX        HEX the SHA-256 of the collection's canonical JSON (sw_tensors_to_json), which the
 *                      store holds as an object;
 *   records:FRAMING:HEX  the bytes HEX split by FRAMING: "lines" (each line, without its newline) or
 *                      "framed" (each record a u32 little-endian length and that many bytes).
 * A tensor's bytes are a slice (blob, offset, nbytes) of a store object or of an input file; the runner
 * resolves blobs (core/runner.c). */
#ifndef SW_VALUES_H
#define SW_VALUES_H

#include <stddef.h>
#include <stdint.h>

#include "cache/hash.h"
#include "swarm_plugin.h"

typedef enum { SW_VAL_FILES = 1, SW_VAL_TENSORS = 2, SW_VAL_RECORDS = 3 } sw_valkind;
const char *sw_valkind_name(sw_valkind k);

/* A tensor of a collection: its name, type, shape and where its bytes are. */
typedef struct {
    char *name;
    swarm_dtype dtype;
    int32_t ndim;
    int64_t shape[SWARM_MAX_NDIM];
    sw_hash blob;    /* the store object or input file holding the bytes */
    uint64_t offset; /* where they start in it */
    uint64_t nbytes;
} sw_tref;

/* A tensor collection (owned strings and arrays; sw_tensors_free). */
typedef struct {
    sw_tref *t;
    size_t n, cap;
    swarm_meta *meta;
    size_t nmeta;
} sw_tensors;
void sw_tensors_free(sw_tensors *c);
/* Appends a tensor (copying name) and returns it. */
sw_tref *sw_tensors_add(sw_tensors *c, const char *name);
void sw_tensors_add_meta(sw_tensors *c, const char *key, const char *value);
/* The value of metadata key (NULL when absent), and whether a tensor of that name is in c. */
const char *sw_tensors_meta(const sw_tensors *c, const char *key);
int sw_tensors_has(const sw_tensors *c, const char *name);
/* Canonical JSON: fixed key order, tensors and metadata in collection order, compact (caller frees). */
char *sw_tensors_to_json(const sw_tensors *c);
/* Parses what sw_tensors_to_json wrote; SW_EINVALID on anything else. */
int sw_tensors_parse(sw_tensors *out, const char *json, size_t len);

/* Short dtype names ("f32", "bf16", "i64", "u8", "bool", "c64", "f8_e4m3fn", ...) and back. Types
 * without a name print as "dtype(CODE,BITS,LANES)" and do not parse. */
const char *sw_dtype_name(char buf[32], swarm_dtype dt);
int sw_dtype_parse(swarm_dtype *out, const char *name);

#endif
