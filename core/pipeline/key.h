/* key.h — the stage cache key, the contract peers must agree on (PIPELINES.md, "The stage cache key").
 *
 * A stage's key is the SHA-256 of a canonical text built from its parts: the schema, the stage kind,
 * the plugin, the op or format and its version, the numerics tag, the batch size, every param as
 * [NAME, TYPE, VALUE] in schema order, and every input as [PORT, VALUE ID]. The parts are kept as a
 * JSON object so that a later run can say which of them changed (--explain). tests/unit/test_key.c
 * holds a golden vector: changing the text changes every key, and every peer's cache with it. */
#ifndef SW_KEY_H
#define SW_KEY_H

#include <jansson.h>
#include <stdint.h>

#include "cache/hash.h"

#define SW_KEY_SCHEMA "swarm-stage-key/1"

/* New parts (caller releases with json_decref): the schema, kind ("read", "op", "write"), plugin id, and
 * what ("op" or "format") = name at version. */
json_t *sw_key_parts(const char *kind, const char *plugin, const char *what, const char *name, uint32_t version);
/* Appends a param [NAME, TYPE, VALUE] to the parts' "params". */
void sw_key_param(json_t *parts, const char *name, const char *type, const char *value);
/* The key of the parts: the SHA-256 of their canonical text (one "NAME VALUE" line per scalar part in a
 * fixed order, then "param NAME TYPE LEN:VALUE" and "input PORT ID" lines). */
void sw_key_hash(sw_hash *key, const json_t *parts);
/* Which part of a key differs from the parts of the last run (old_text: their JSON, or NULL), as a
 * phrase for --explain ("param dtype changed: bf16 -> f16"). Caller frees. */
char *sw_key_explain(const char *old_text, const json_t *now);

#endif
