/* fuzz_gpt2_vocab.c — GPT-2's vocabulary files (plugins/text/parse.c and bpe.c, compiled in): the input is
 * encoder.json, a NUL, vocab.bpe, optionally a NUL and a text; a vocabulary that builds must encode and
 * decode the text (or a fixed sample) back to its bytes (fz_bpe_check). */
#include "text/bpe.c"
#include "text/parse.c"

#include "bpe_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *merges, *text;
    size_t mlen, tlen;
    size_t elen = fz_split(data, size, &merges, &mlen);
    mlen = fz_split(merges, mlen, &text, &tlen);
    bpe_vocab *v;
    char err[BPE_ERR_LEN];
    if (bpe_vocab_gpt2(&v, (const char *)data, elen, (const char *)merges, mlen, err) == BPE_OK)
        fz_bpe_check(v, text, tlen);
    return 0;
}
