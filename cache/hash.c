/* hash.c — SHA-256 through OpenSSL's EVP interface (see hash.h). */
#include "cache/hash.h"
#include "base/error.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sw_sha256 {
    EVP_MD_CTX *ctx;
};

sw_sha256 *sw_sha256_new(void)
{
    sw_sha256 *c = sw_malloc(sizeof *c);
    c->ctx = EVP_MD_CTX_new();
    if (!c->ctx || !EVP_DigestInit_ex(c->ctx, EVP_sha256(), NULL)) {
        fputs("swarm: error: OpenSSL cannot start SHA-256\n", stderr);
        exit(1);
    }
    return c;
}

void sw_sha256_update(sw_sha256 *c, const void *data, size_t len)
{
    if (len)
        EVP_DigestUpdate(c->ctx, data, len);
}

void sw_sha256_final(sw_sha256 *c, sw_hash *out)
{
    unsigned int n = 0;
    EVP_DigestFinal_ex(c->ctx, out->b, &n);
    EVP_DigestInit_ex(c->ctx, NULL, NULL);
}

void sw_sha256_free(sw_sha256 *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->ctx);
    free(c);
}

void sw_sha256_buf(sw_hash *out, const void *data, size_t len)
{
    unsigned int n = 0;
    EVP_Digest(data, len, out->b, &n, EVP_sha256(), NULL);
}

int sw_sha256_file(sw_hash *out, uint64_t *size, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sw_error_errno(errno == ENOENT ? SW_ENOTFOUND : SW_ERROR, "cannot open %s", path);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    enum { BUF = 1 << 20 };
    char *buf = sw_malloc(BUF);
    sw_sha256 *c = sw_sha256_new();
    uint64_t total = 0;
    int r = 0;
    for (;;) {
        ssize_t n = sw_read_full(fd, buf, BUF);
        if (n < 0) {
            r = sw_error_errno(SW_ERROR, "cannot read %s", path);
            break;
        }
        sw_sha256_update(c, buf, (size_t)n);
        total += (uint64_t)n;
        if (n < BUF)
            break;
    }
    if (!r) {
        sw_sha256_final(c, out);
        if (size)
            *size = total;
    }
    sw_sha256_free(c);
    free(buf);
    close(fd);
    return r;
}

void sw_hash_hex(char out[SW_HEX_LEN + 1], const sw_hash *h)
{
    sw_hex_encode(out, h->b, SW_HASH_LEN);
}

int sw_hash_parse(sw_hash *out, const char *hex)
{
    if (sw_hex_decode(out->b, SW_HASH_LEN, hex))
        return sw_error(SW_EINVALID, "not a SHA-256 (64 lower-case hex digits): '%.80s'", hex ? hex : "");
    return 0;
}

int sw_hash_eq(const sw_hash *a, const sw_hash *b) { return !memcmp(a->b, b->b, SW_HASH_LEN); }
