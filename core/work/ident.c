/* ident.c — a home's Ed25519 identity (see ident.h). */
#include "work/ident.h"
#include "base/error.h"
#include "base/util.h"
#include "cache/hash.h"
#include "cache/home.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct sw_ident {
    EVP_PKEY *pkey;
    char key[SW_KEYID_LEN + 1];
    char pub[SW_PUB_HEX + 1];
};

char *sw_ident_path(const char *home)
{
    return sw_sprintf("%s/%s/ed25519.pem", home, SW_HOME_KEYS);
}

int sw_ident_key_of(char key[SW_KEYID_LEN + 1], const char *pub)
{
    unsigned char raw[32];
    if (sw_hex_decode(raw, sizeof raw, pub))
        return sw_error(SW_EINVALID, "public key is not 64 hex digits");
    sw_hash h;
    sw_sha256_buf(&h, raw, sizeof raw);
    sw_hex_encode(key, h.b, SW_KEYID_LEN / 2);
    return 0;
}

/* Makes a new key and writes it to path (0600, atomically: a killed first run leaves no half key). */
static int sw_ident_create(const char *path)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!k)
        return sw_error(SW_ERROR, "cannot make an Ed25519 key");
    BIO *b = BIO_new(BIO_s_mem());
    int r = b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1 ? 0
                                                                                : sw_error(SW_ERROR, "cannot encode the key");
    char *pem = NULL;
    long len = r ? 0 : BIO_get_mem_data(b, &pem);
    char *dir = sw_dirname(path);
    if (!r && (r = sw_mkdir_p(dir)) == 0 && chmod(dir, 0700) < 0)
        r = sw_error_errno(SW_ERROR, "cannot protect %s", dir);
    if (!r)
        r = sw_write_file_atomic(path, pem, (size_t)len, 0600);
    free(dir);
    BIO_free(b);
    EVP_PKEY_free(k);
    return r;
}

int sw_ident_open(sw_ident **out, const char *home)
{
    *out = NULL;
    char *path = sw_ident_path(home);
    struct stat st;
    int r = 0;
    if (stat(path, &st) < 0)
        r = sw_ident_create(path);
    else if (st.st_mode & 077)
        r = sw_error(SW_EINVALID, "%s is readable by others (mode %03o): make it 0600", path, st.st_mode & 0777);
    char *pem = NULL;
    size_t len = 0;
    if (!r)
        r = sw_read_file(&pem, &len, path, 64 << 10);
    EVP_PKEY *k = NULL;
    if (!r) {
        BIO *b = BIO_new_mem_buf(pem, (int)len);
        k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519)
            r = sw_error(SW_EINVALID, "%s is not an Ed25519 private key", path);
    }
    unsigned char raw[32];
    size_t rawlen = sizeof raw;
    if (!r && EVP_PKEY_get_raw_public_key(k, raw, &rawlen) != 1)
        r = sw_error(SW_ERROR, "cannot read the public key of %s", path);
    if (!r) {
        sw_ident *id = sw_calloc(1, sizeof *id);
        id->pkey = k;
        k = NULL;
        sw_hex_encode(id->pub, raw, sizeof raw);
        sw_ident_key_of(id->key, id->pub);
        *out = id;
    }
    EVP_PKEY_free(k);
    if (pem)
        OPENSSL_cleanse(pem, len);
    free(pem);
    free(path);
    return r;
}

void sw_ident_free(sw_ident *id)
{
    if (!id)
        return;
    EVP_PKEY_free(id->pkey);
    free(id);
}

const char *sw_ident_key(const sw_ident *id)
{
    return id->key;
}

const char *sw_ident_pub(const sw_ident *id)
{
    return id->pub;
}

int sw_ident_sign(char sig[SW_SIG_HEX + 1], const sw_ident *id, const void *msg, size_t len)
{
    unsigned char raw[64];
    size_t n = sizeof raw;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestSignInit(c, NULL, NULL, NULL, id->pkey) == 1 &&
             EVP_DigestSign(c, raw, &n, msg, len) == 1 && n == sizeof raw;
    EVP_MD_CTX_free(c);
    if (!ok)
        return sw_error(SW_ERROR, "cannot sign");
    sw_hex_encode(sig, raw, sizeof raw);
    return 0;
}

int sw_ident_verify(const char *pub, const void *msg, size_t len, const char *sig)
{
    unsigned char rawpub[32], rawsig[64];
    if (sw_hex_decode(rawpub, sizeof rawpub, pub))
        return sw_error(SW_EINVALID, "public key is not 64 hex digits");
    if (sw_hex_decode(rawsig, sizeof rawsig, sig))
        return sw_error(SW_EINVALID, "signature is not 128 hex digits");
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, rawpub, sizeof rawpub);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = k && c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestVerify(c, rawsig, sizeof rawsig, msg, len) == 1;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok ? 0 : sw_error(SW_EINVALID, "signature does not verify");
}
