/* bpe_check.h — the property the tokenizer-file harnesses check on every vocabulary that builds:
 * text that encodes decodes back to the same bytes. Included after plugins/text/bpe.c. */
#ifndef SW_FUZZ_BPE_CHECK_H
#define SW_FUZZ_BPE_CHECK_H

#include "fuzz.h"

/* Splits data at its first NUL: *rest and *rest_len are what follows (empty when there is none); returns
 * the length before it. */
static size_t fz_split(const uint8_t *data, size_t size, const uint8_t **rest, size_t *rest_len)
{
    const uint8_t *z = memchr(data, 0, size);
    size_t n = z ? (size_t)(z - data) : size;
    *rest = z ? z + 1 : data + size;
    *rest_len = z ? size - n - 1 : 0;
    return n;
}

/* Encodes text (a fixed sample with a special token when len is 0) with v, with and without special
 * tokens; whatever encodes must decode to the same bytes. Then frees v. */
static void fz_bpe_check(bpe_vocab *v, const uint8_t *text, size_t len)
{
    static const char sample[] = "Hello, world! It's 2024: \xc3\xbcnic\xc3\xb6" "de  \t\n<|endoftext|> x";
    if (!len) {
        text = (const uint8_t *)sample;
        len = sizeof sample - 1;
    }
    char err[BPE_ERR_LEN];
    bpe_state *st;
    FZ_CHECK(bpe_state_new(&st, v, err) == BPE_OK);
    uint8_t *ids = malloc(len * 4 + 4), *back = malloc(len * bpe_vocab_max_token(v) + 1);
    FZ_CHECK(ids && back);
    for (int special = 0; special < 2; special++) {
        size_t n, blen;
        if (bpe_encode(st, text, len, special, ids, len, &n, err) != BPE_OK)
            continue;
        FZ_CHECK(n <= len);
        FZ_CHECK(bpe_decode(v, ids, n, back, len * bpe_vocab_max_token(v), &blen, err) == BPE_OK);
        FZ_CHECK(blen == len && !memcmp(back, text, len));
    }
    free(ids);
    free(back);
    bpe_state_free(st);
    bpe_vocab_free(v);
}

#endif
