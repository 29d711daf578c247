/* bpe_internal.h — what bpe.c (tables, merging, encode, decode) and parse.c (the file parsers) share:
 * the vocabulary's layout and the builder calls the parsers make, in this order:
 *     bpe_vocab_new -> bpe_vocab_add (every token) -> bpe_vocab_index -> bpe_vocab_merge (every merge,
 *     by priority) -> bpe_vocab_finish
 * Not part of the plugin's interface; the unit test reaches it by including the .c files. */
#ifndef SWARM_TEXT_BPE_INTERNAL_H
#define SWARM_TEXT_BPE_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "bpe.h"

#define BPE_NONE 0xffffffffu /* no id, no rank */

enum {
    BPE_F_PRESENT = 1, /* the id has a token */
    BPE_F_SPECIAL = 2, /* a special token: matched literally, only when asked, never merged */
    BPE_F_SELF = 4     /* BPE of the token's own bytes gives just this token */
};

/* Where an id's bytes lie in the arena. */
typedef struct {
    uint32_t off, len;
} bpe_tok;

/* A slot of the token map (bytes -> id): 0 in id1 is an empty slot. */
typedef struct {
    uint32_t hash, id1;
} bpe_tslot;

/* A slot of the merge map ((left id, right id) -> rank and merged id): key BPE_PAIR_EMPTY is empty. */
typedef struct {
    uint64_t key;
    uint32_t rank, merged;
} bpe_pslot;
#define BPE_PAIR_EMPTY UINT64_MAX

struct bpe_vocab {
    uint32_t n_ids;    /* size of the id tables: the largest id + 1 */
    uint32_t n_tokens; /* ids with a token */
    bpe_tok *tok;      /* n_ids */
    uint8_t *flags;    /* n_ids: BPE_F_* */
    uint8_t *arena;    /* every token's bytes */
    size_t arena_len, arena_cap;
    bpe_tslot *tmap; /* ordinary (non-special) tokens by bytes */
    size_t tmap_mask;
    bpe_pslot *pmap;
    size_t pmap_mask;
    uint32_t n_merges;
    uint32_t byte_id[256]; /* the token of each single byte, or BPE_NONE */
    uint32_t *special;     /* special ids, longest first */
    size_t n_special;
    uint8_t special_first[32]; /* bit set of the first bytes of special tokens */
    size_t max_len;            /* the longest token, in bytes */
    int ignore_merges;         /* a piece that is an ordinary token is that token (HF's ignore_merges) */
    pcre2_code *re;            /* GPT-2's pre-split pattern, anchored */
    int jit;                   /* re is JIT-compiled */
};

/* Formats a one-line message into err (BPE_ERR_LEN bytes) and returns code. */
int bpe_fail(char *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Writes bytes for a message: printable ASCII as is, other bytes as \xNN, at most about 40 of them. */
void bpe_show(char *buf, size_t size, const uint8_t *p, size_t len);

/* A vocabulary with id tables for ids 0..n_ids-1, no tokens yet, room for n_merges merges. */
int bpe_vocab_new(bpe_vocab **out, uint32_t n_ids, size_t n_merges, char *err);
/* Gives id the token bytes b (len bytes): refuses an id out of range or given twice. */
int bpe_vocab_add(bpe_vocab *v, uint32_t id, const uint8_t *b, size_t len, int special, char *err);
/* Builds the token map once every token is added: refuses two ordinary tokens with the same bytes. */
int bpe_vocab_index(bpe_vocab *v, char *err);
/* The ordinary token with these bytes, or BPE_NONE. */
uint32_t bpe_vocab_lookup(const bpe_vocab *v, const uint8_t *b, size_t len);
/* Adds the next merge (rank = merges added before it): left + right -> their concatenation. Refuses
 * tokens the vocabulary does not have and a pair merged twice; messages name the merge "WHAT NUM". */
int bpe_vocab_merge(bpe_vocab *v, const uint8_t *l, size_t ll, const uint8_t *r, size_t rl, const char *what,
                    size_t num, char *err);
/* Finishes v: byte tokens, special tokens, the regex, and which tokens encode to themselves. */
int bpe_vocab_finish(bpe_vocab *v, char *err);

/* Checks that p holds valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF): returns len,
 * or the offset of the first byte that is not. */
size_t bpe_utf8_check(const uint8_t *p, size_t len);

#endif
