/* bpe.h — GPT-2 byte-level BPE (FORMATS.md, "Text operations"): vocabularies built from memory (GPT-2's
 * vocab.bpe + encoder.json, or a Hugging Face tokenizer.json holding a byte-level BPE model), encoding
 * UTF-8 text to token ids and decoding ids back to bytes.
 *
 * A vocabulary is immutable once built and may be shared by any number of threads; each thread encodes
 * through its own bpe_state (regex match data and merge buffers). Ids travel as little-endian uint32.
 * Every function reports failure with a BPE_E_* code and a one-line message in err (BPE_ERR_LEN bytes);
 * hostile input (truncated or malformed files, invalid UTF-8, absurd sizes) gives BPE_E_INPUT, never a
 * crash. Nothing here keeps global state. */
#ifndef SWARM_TEXT_BPE_H
#define SWARM_TEXT_BPE_H

#include <stddef.h>
#include <stdint.h>

#define BPE_ERR_LEN 256

enum {
    BPE_OK = 0,
    BPE_E_INPUT = -1,   /* the vocabulary files, the text or the ids are wrong */
    BPE_E_NOMEM = -2,   /* an allocation failed */
    BPE_E_INTERNAL = -3 /* a bug, or PCRE2 refusing the pre-split pattern */
};

/* Limits that keep hostile files from asking for absurd memory. */
#define BPE_MAX_FILE ((size_t)256 << 20) /* bytes of one vocabulary file */
#define BPE_MAX_TOKEN 4096u              /* bytes of one token */
#define BPE_MAX_ID ((1u << 24) - 1)      /* the largest token id */

typedef struct bpe_vocab bpe_vocab;
typedef struct bpe_state bpe_state;

/* Builds a vocabulary from GPT-2's encoder.json (token string -> id, strings in GPT-2's byte->unicode
 * alphabet) and vocab.bpe (an optional "#version" line, then one merge "LEFT RIGHT" per line, highest
 * priority first). "<|endoftext|>", when encoder.json has it, is the special token. */
int bpe_vocab_gpt2(bpe_vocab **out, const char *encoder_json, size_t encoder_len, const char *merges,
                   size_t merges_len, char *err);

/* Builds a vocabulary from a Hugging Face tokenizer.json whose model is BPE over the byte-level
 * alphabet with the ByteLevel pre-tokenizer (GPT-2's pre-split, no prefix space) and no normalizer.
 * Merges may be strings "LEFT RIGHT" or pairs ["LEFT", "RIGHT"]; added_tokens are the special tokens;
 * model.ignore_merges = true is honoured (a piece that is a token is that token). */
int bpe_vocab_hf(bpe_vocab **out, const char *json, size_t len, char *err);

void bpe_vocab_free(bpe_vocab *v);

/* The longest token in bytes: the most bytes one id decodes to. */
size_t bpe_vocab_max_token(const bpe_vocab *v);

/* The number of tokens, special ones included. */
uint32_t bpe_vocab_tokens(const bpe_vocab *v);

/* A thread's encoding buffers for v, which must outlive it. BPE_OK or BPE_E_NOMEM. */
int bpe_state_new(bpe_state **out, const bpe_vocab *v, char *err);
void bpe_state_free(bpe_state *st);

/* Encodes len bytes of UTF-8 text: special tokens (when special is non-zero) are cut out first and
 * become their ids; the rest is pre-split by GPT-2's regex and each piece is merged by BPE. Writes the
 * ids as little-endian uint32 to out, which has room for cap ids (len ids always suffice), and their
 * number to *n. Invalid UTF-8 and bytes without a token are BPE_E_INPUT naming the byte offset. */
int bpe_encode(bpe_state *st, const uint8_t *text, size_t len, int special, uint8_t *out, size_t cap, size_t *n,
               char *err);

/* Decodes n little-endian uint32 ids into the bytes of their tokens, written to out (room for cap bytes;
 * n * bpe_vocab_max_token(v) always suffice), their number to *len. An id without a token is BPE_E_INPUT
 * naming its position. The bytes need not be valid UTF-8 (ids may split a character). */
int bpe_decode(const bpe_vocab *v, const uint8_t *ids, size_t n, uint8_t *out, size_t cap, size_t *len, char *err);

#endif
