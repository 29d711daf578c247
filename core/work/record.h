/* record.h — signed records, the ledger's unit of trust (COMPUTE.md: jobs, claims, results, verdicts).
 *
 * A record is a JSON object holding "type", "key" (the signer's key id) and "pub" (its public key, hex)
 * beside its own fields. It is written as one line of canonical JSON (keys sorted, compact), an empty
 * line, and "ed25519 SIG" where SIG (hex) signs exactly the JSON line's bytes. That text is the whole
 * message of one git commit, so `git log` shows a ledger's records as they are. A record's digest is
 * the SHA-256 of its JSON line (a job's id).
 *
 * Parsing is the gate for records from strangers: at most SW_RECORD_MAX bytes, the exact layout above,
 * canonical JSON (re-encoding gives the same bytes), a key id that is the public key's, and a signature
 * that verifies. Anything else is SW_EINVALID with the reason. */
#ifndef SW_RECORD_H
#define SW_RECORD_H

#include <jansson.h>

#include "cache/hash.h"
#include "work/ident.h"

#define SW_RECORD_MAX (1u << 20)

typedef struct {
    json_t *body;       /* the whole object, owned */
    const char *type;   /* body's "type" */
    char key[SW_KEYID_LEN + 1];
    sw_hash digest;     /* SHA-256 of the JSON line */
} sw_record;

void sw_record_clear(sw_record *r);

/* The canonical JSON line of v (caller frees). */
char *sw_record_json(const json_t *v);
/* The SHA-256 (hex) of v's canonical JSON line: how unit ids and output ids are made. */
void sw_record_digest(char out[SW_HEX_LEN + 1], const json_t *v);
/* Adds "key" and "pub" of id to body (which must hold "type") and returns the signed message (caller
 * frees), its digest in *digest (may be NULL); NULL with sw_error set when signing fails. */
char *sw_record_sign(sw_hash *digest, const sw_ident *id, json_t *body);
/* Parses and checks a message (rules above) into *out. */
int sw_record_parse(sw_record *out, const char *msg, size_t len);

/* Field readers for parsed bodies: NULL / -1 when absent or of another type. */
const char *sw_rec_str(const json_t *o, const char *name);
long long sw_rec_int(const json_t *o, const char *name);

#endif
