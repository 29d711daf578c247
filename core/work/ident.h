/* ident.h — a home's Ed25519 identity (OpenSSL's libcrypto), and checking others' signatures.
 *
 * The private key lives in HOME/keys/ed25519.pem (PKCS#8 PEM, mode 0600), made on first use and never
 * copied anywhere else. A key id is the first 32 hex digits of the SHA-256 of the raw 32-byte public
 * key: short enough to name refs (refs/swarm/peers/KEY/...), long enough that nobody can make a second
 * key with the same id. Public keys and signatures travel as lower-case hex.
 *
 * Ownership: sw_ident_open returns an identity freed with sw_ident_free (NULL is fine). */
#ifndef SW_IDENT_H
#define SW_IDENT_H

#include <stddef.h>

#define SW_KEYID_LEN 32 /* hex digits */
#define SW_PUB_HEX 64
#define SW_SIG_HEX 128

typedef struct sw_ident sw_ident;

/* Opens the home's identity, making it first when the home has none. SW_ERROR when the key file
 * cannot be read or made, SW_EINVALID when it is not an Ed25519 private key or is readable by others. */
int sw_ident_open(sw_ident **out, const char *home);
void sw_ident_free(sw_ident *id);
const char *sw_ident_key(const sw_ident *id); /* the key id */
const char *sw_ident_pub(const sw_ident *id); /* the public key, hex */
/* Where the home keeps its private key (caller frees). */
char *sw_ident_path(const char *home);

/* Signs msg with the home's key: 128 hex digits and a NUL into sig. */
int sw_ident_sign(char sig[SW_SIG_HEX + 1], const sw_ident *id, const void *msg, size_t len);
/* 0 when sig (hex) is pub's (hex) signature of msg; SW_EINVALID otherwise, saying which part is bad. */
int sw_ident_verify(const char *pub, const void *msg, size_t len, const char *sig);
/* The key id of a public key given in hex; SW_EINVALID when it is not 64 hex digits. */
int sw_ident_key_of(char key[SW_KEYID_LEN + 1], const char *pub);

#endif
