/* pieces.c — SHA-1 pieces over streams laid end to end (see pieces.h), through OpenSSL's EVP. */
#include "cache/pieces.h"
#include "base/util.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sw_pieces_init(sw_pieces *p, uint32_t piece)
{
    memset(p, 0, sizeof *p);
    p->piece = piece;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha1(), NULL)) {
        fputs("swarm: error: OpenSSL cannot start SHA-1\n", stderr);
        exit(1);
    }
    p->ctx = ctx;
}

void sw_pieces_clear(sw_pieces *p)
{
    EVP_MD_CTX_free(p->ctx);
    free(p->hashes);
    free(p->streams);
    memset(p, 0, sizeof *p);
}

/* Closes the piece in progress into the list and starts the next one. */
static void sw_pieces_close(sw_pieces *p)
{
    unsigned int n = 0;
    sw_grow(&p->hashes, &p->cap, p->nhashes + 1, sizeof *p->hashes);
    EVP_DigestFinal_ex(p->ctx, p->hashes[p->nhashes++], &n);
    EVP_DigestInit_ex(p->ctx, NULL, NULL);
}

void sw_pieces_update(sw_pieces *p, const void *data, size_t len)
{
    const unsigned char *b = data;
    while (len) {
        uint32_t in = (uint32_t)(p->total % p->piece);
        size_t take = p->piece - in < len ? p->piece - in : len;
        EVP_DigestUpdate(p->ctx, b, take);
        p->total += take;
        b += take;
        len -= take;
        if (in + take == p->piece)
            sw_pieces_close(p);
    }
}

void sw_pieces_stream(sw_pieces *p, const sw_hash *h, uint64_t size)
{
    sw_grow(&p->streams, &p->scap, p->nstreams + 1, sizeof *p->streams);
    p->streams[p->nstreams].hash = *h;
    p->streams[p->nstreams++].size = size;
}

void sw_pieces_end(sw_pieces *p)
{
    if (!p->ended && p->total % p->piece)
        sw_pieces_close(p);
    p->ended = 1;
}
