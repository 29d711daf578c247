/* hash.h — SHA-256, the one hash that names everything in swarm (objects, chunks, manifests).
 * A thin layer over OpenSSL's libcrypto, which uses the CPU's SHA extensions where present. */
#ifndef SW_HASH_H
#define SW_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SW_HASH_LEN 32
#define SW_HEX_LEN 64

typedef struct {
    unsigned char b[SW_HASH_LEN];
} sw_hash;

/* An incremental SHA-256 context. _new never fails (out of memory exits); _free accepts NULL. */
typedef struct sw_sha256 sw_sha256;
sw_sha256 *sw_sha256_new(void);
void sw_sha256_update(sw_sha256 *c, const void *data, size_t len);
/* Writes the digest and resets the context for a new message. */
void sw_sha256_final(sw_sha256 *c, sw_hash *out);
void sw_sha256_free(sw_sha256 *c);

/* One-shot digest of a buffer. */
void sw_sha256_buf(sw_hash *out, const void *data, size_t len);
/* Digest and size of a file, read sequentially. Returns 0 or a negative SW_E* code. */
int sw_sha256_file(sw_hash *out, uint64_t *size, const char *path);

/* Lower-case hex (65 bytes with the NUL). */
void sw_hash_hex(char out[SW_HEX_LEN + 1], const sw_hash *h);
/* Parses exactly 64 lower-case hex digits; returns 0 or SW_EINVALID. */
int sw_hash_parse(sw_hash *out, const char *hex);
int sw_hash_eq(const sw_hash *a, const sw_hash *b);

#endif
