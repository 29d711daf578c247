/* fuzz_tokenizer_json.c — Hugging Face tokenizer.json (plugins/text/parse.c and bpe.c, compiled in): the
 * input is the file, optionally a NUL and a text; a vocabulary that builds must encode and decode the
 * text (or a fixed sample) back to its bytes (fz_bpe_check). */
#include "text/bpe.c"
#include "text/parse.c"

#include "bpe_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *text;
    size_t tlen;
    size_t jlen = fz_split(data, size, &text, &tlen);
    bpe_vocab *v;
    char err[BPE_ERR_LEN];
    if (bpe_vocab_hf(&v, (const char *)data, jlen, err) == BPE_OK)
        fz_bpe_check(v, text, tlen);
    return 0;
}
