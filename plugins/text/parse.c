/* parse.c — reading vocabularies: GPT-2's encoder.json + vocab.bpe and Hugging Face's tokenizer.json
 * (jansson for the JSON). Token strings are in GPT-2's byte->unicode alphabet and become raw bytes here;
 * every malformed input (bad JSON, duplicate keys or ids, ids out of range, characters outside the
 * alphabet, merges naming unknown tokens, unsupported tokenizer.json settings) is BPE_E_INPUT with a
 * one-line reason that names the file and never quotes more than a short, escaped piece of it. */
#include "bpe_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Code points of GPT-2's alphabet: the 188 printable bytes map to themselves, the other 68 to U+0100 + n
 * in increasing byte order, so every one is below U+0144. */
#define ALPHABET_END 0x144

/* The alphabet's inverse: for each code point below ALPHABET_END, its byte, or -1. */
static void alphabet_inverse(int16_t inv[ALPHABET_END])
{
    int n = 0;
    for (int i = 0; i < ALPHABET_END; i++)
        inv[i] = -1;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
        inv[printable ? b : 256 + n++] = (int16_t)b;
    }
}

/* Turns a token string (len bytes of valid UTF-8) into its bytes, written to out (room for len bytes):
 * their number, or -1 when a character is outside the alphabet. */
static long from_alphabet(const int16_t *inv, const char *s, size_t len, uint8_t *out)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0, w = 0;
    while (i < len) {
        uint32_t cp;
        if (p[i] < 0x80)
            cp = p[i++];
        else if ((p[i] & 0xe0) == 0xc0 && i + 1 < len)
            cp = (uint32_t)(p[i] & 0x1f) << 6 | (p[i + 1] & 0x3fu), i += 2;
        else
            return -1;
        if (cp >= ALPHABET_END || inv[cp] < 0)
            return -1;
        out[w++] = (uint8_t)inv[cp];
    }
    return (long)w;
}

/* Parses JSON text, refusing duplicate keys. The message keeps jansson's reason and position but not
 * the text near it. */
static int load_json(json_t **out, const char *buf, size_t len, const char *what, char *err)
{
    json_error_t je;
    char *near;
    if ((*out = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je)))
        return BPE_OK;
    if ((near = strstr(je.text, " near ")))
        *near = 0;
    return bpe_fail(err, BPE_E_INPUT, "%s: bad JSON at line %d, column %d: %s", what, je.line, je.column, je.text);
}

/* Checks that every value of the object vocab is a token id in range; raises *max_id to the largest. */
static int scan_ids(json_t *vocab, const char *what, uint32_t *max_id, char *err)
{
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val)
    {
        char show[200];
        json_int_t id = json_is_integer(val) ? json_integer_value(val) : -1;
        if (id >= 0 && id <= (json_int_t)BPE_MAX_ID) {
            if ((uint32_t)id > *max_id)
                *max_id = (uint32_t)id;
            continue;
        }
        bpe_show(show, sizeof show, (const uint8_t *)key, strlen(key));
        return bpe_fail(err, BPE_E_INPUT, "%s: the id of token '%s' is not an integer from 0 to %u", what, show,
                        BPE_MAX_ID);
    }
    return BPE_OK;
}

/* Puts "WHAT: " before the message in err, keeping code. */
static int prefix(char *err, int code, const char *what)
{
    char msg[BPE_ERR_LEN];
    memcpy(msg, err, BPE_ERR_LEN);
    msg[BPE_ERR_LEN - 1] = 0;
    return bpe_fail(err, code, "%s: %s", what, msg);
}

/* Adds one token of a vocab object: its alphabet string key and id. */
static int add_token(bpe_vocab *v, const int16_t *inv, const char *key, uint32_t id, int special, const char *what,
                     char *err)
{
    uint8_t buf[2 * BPE_MAX_TOKEN];
    size_t klen = strlen(key);
    long n = klen <= sizeof buf ? from_alphabet(inv, key, klen, buf) : -1;
    char show[200];
    int rc;
    if (klen > sizeof buf)
        return bpe_fail(err, BPE_E_INPUT, "%s: the token with id %u is %zu bytes long (at most %u)", what,
                        (unsigned)id, klen, BPE_MAX_TOKEN);
    if (n < 0) {
        bpe_show(show, sizeof show, (const uint8_t *)key, klen);
        return bpe_fail(err, BPE_E_INPUT, "%s: token '%s' has a character outside GPT-2's byte alphabet", what, show);
    }
    if ((rc = bpe_vocab_add(v, id, buf, (size_t)n, special, err)))
        return prefix(err, rc, what);
    return BPE_OK;
}

/* Adds the tokens of the object vocab (alphabet strings -> ids checked by scan_ids). With keep_added,
 * ids that already hold a special token (tokenizer.json's added tokens) keep it. special_name, when not
 * NULL, names the token that is special. */
static int add_tokens(bpe_vocab *v, json_t *vocab, const char *what, const char *special_name, int keep_added,
                      char *err)
{
    int16_t inv[ALPHABET_END];
    const char *key;
    json_t *val;
    int rc;
    alphabet_inverse(inv);
    json_object_foreach(vocab, key, val)
    {
        uint32_t id = (uint32_t)json_integer_value(val);
        if (keep_added && (v->flags[id] & BPE_F_SPECIAL))
            continue;
        if ((rc = add_token(v, inv, key, id, special_name && !strcmp(key, special_name), what, err)))
            return rc;
    }
    return BPE_OK;
}

/* Decodes both sides of a merge from the alphabet and adds it as merge num of the file what. */
static int add_merge(bpe_vocab *v, const int16_t *inv, const char *l, size_t ll, const char *r, size_t rl,
                     const char *what, size_t num, char *err)
{
    uint8_t lb[2 * BPE_MAX_TOKEN], rb[2 * BPE_MAX_TOKEN];
    long ln = ll <= sizeof lb ? from_alphabet(inv, l, ll, lb) : -1;
    long rn = rl <= sizeof rb ? from_alphabet(inv, r, rl, rb) : -1;
    if (ln <= 0 || rn <= 0) {
        char show[200];
        bpe_show(show, sizeof show, (const uint8_t *)(ln <= 0 ? l : r), ln <= 0 ? ll : rl);
        return bpe_fail(err, BPE_E_INPUT, "%s %zu: '%s' is not a token of the vocabulary", what, num, show);
    }
    return bpe_vocab_merge(v, lb, (size_t)ln, rb, (size_t)rn, what, num, err);
}

/* ---- GPT-2's files ------------------------------------------------------------------------------- */

/* The next line of buf from *pos (without its "\n" or "\r\n"): 1, or 0 at the end. A text ending in a
 * newline has no empty line after it. */
static int next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n)
{
    const char *nl;
    if (*pos >= len)
        return 0;
    *line = buf + *pos;
    nl = memchr(*line, '\n', len - *pos);
    *n = nl ? (size_t)(nl - *line) : len - *pos;
    *pos += *n + (nl != NULL);
    if (*n && (*line)[*n - 1] == '\r')
        --*n;
    return 1;
}

/* Whether the first line is vocab.bpe's "#version" header. */
static int version_line(const char *line, size_t n)
{
    return n >= 8 && !memcmp(line, "#version", 8);
}

/* Counts the merge lines of vocab.bpe. */
static size_t count_merges(const char *buf, size_t len)
{
    size_t pos = 0, n, count = 0, no = 0;
    const char *line;
    while (next_line(buf, len, &pos, &line, &n))
        count += !(no++ == 0 && version_line(line, n));
    return count;
}

/* Adds every merge of vocab.bpe: lines "LEFT RIGHT" (one space, both sides non-empty), UTF-8. */
static int add_text_merges(bpe_vocab *v, const char *buf, size_t len, char *err)
{
    int16_t inv[ALPHABET_END];
    size_t pos = 0, n, no = 0;
    const char *line, *sp;
    int rc;
    alphabet_inverse(inv);
    while (next_line(buf, len, &pos, &line, &n)) {
        if (no++ == 0 && version_line(line, n))
            continue;
        if (bpe_utf8_check((const uint8_t *)line, n) != n)
            return bpe_fail(err, BPE_E_INPUT, "vocab.bpe line %zu: invalid UTF-8", no);
        sp = memchr(line, ' ', n);
        if (!sp || sp == line || sp == line + n - 1 || memchr(sp + 1, ' ', (size_t)(line + n - sp - 1)))
            return bpe_fail(err, BPE_E_INPUT, "vocab.bpe line %zu: not a merge 'LEFT RIGHT'", no);
        if ((rc = add_merge(v, inv, line, (size_t)(sp - line), sp + 1, (size_t)(line + n - sp - 1), "vocab.bpe line",
                            no, err)))
            return rc;
    }
    return BPE_OK;
}

/* Builds the vocabulary once the token object is parsed (see bpe_vocab_gpt2). */
static int gpt2_build(bpe_vocab **out, json_t *enc, const char *merges, size_t merges_len, char *err)
{
    uint32_t max_id = 0;
    size_t nm = count_merges(merges, merges_len);
    int rc;
    if (!json_is_object(enc) || !json_object_size(enc))
        return bpe_fail(err, BPE_E_INPUT, "encoder.json: not an object of tokens");
    if ((rc = scan_ids(enc, "encoder.json", &max_id, err)))
        return rc;
    if (nm > json_object_size(enc))
        return bpe_fail(err, BPE_E_INPUT, "vocab.bpe: %zu merges for %zu tokens", nm, json_object_size(enc));
    if ((rc = bpe_vocab_new(out, max_id + 1, nm, err)) ||
        (rc = add_tokens(*out, enc, "encoder.json", "<|endoftext|>", 0, err)) || (rc = bpe_vocab_index(*out, err)) ||
        (rc = add_text_merges(*out, merges, merges_len, err)))
        return rc;
    return bpe_vocab_finish(*out, err);
}

int bpe_vocab_gpt2(bpe_vocab **out, const char *encoder_json, size_t encoder_len, const char *merges,
                   size_t merges_len, char *err)
{
    json_t *enc;
    int rc;
    *out = NULL;
    if ((rc = load_json(&enc, encoder_json, encoder_len, "encoder.json", err)))
        return rc;
    rc = gpt2_build(out, enc, merges, merges_len, err);
    json_decref(enc);
    if (rc) {
        bpe_vocab_free(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- tokenizer.json ------------------------------------------------------------------------------ */

/* Whether the member key of obj is absent, null, or the given boolean/string default. */
static int is_default(json_t *obj, const char *key, int boolean, const char *str)
{
    json_t *m = json_object_get(obj, key);
    if (!m || json_is_null(m))
        return 1;
    if (boolean >= 0)
        return json_is_boolean(m) && json_is_true(m) == boolean;
    return str && json_is_string(m) && !strcmp(json_string_value(m), str);
}

/* Refuses tokenizer.json settings this tokenizer does not implement, rather than encode differently. */
static int hf_check(json_t *root, json_t *model, char *err)
{
    json_t *pre = json_object_get(root, "pre_tokenizer"), *type = json_object_get(model, "type");
    if (!is_default(root, "normalizer", -1, NULL))
        return bpe_fail(err, BPE_E_INPUT, "tokenizer.json: normalizers are not supported");
    if (!json_is_object(pre) || !json_is_string(json_object_get(pre, "type")) ||
        strcmp(json_string_value(json_object_get(pre, "type")), "ByteLevel"))
        return bpe_fail(err, BPE_E_INPUT, "tokenizer.json: the pre_tokenizer must be ByteLevel (GPT-2's)");
    if (!is_default(pre, "add_prefix_space", 0, NULL) || !is_default(pre, "use_regex", 1, NULL))
        return bpe_fail(err, BPE_E_INPUT,
                        "tokenizer.json: only ByteLevel with add_prefix_space false and use_regex true is supported");
    if (type && (!json_is_string(type) || strcmp(json_string_value(type), "BPE")))
        return bpe_fail(err, BPE_E_INPUT, "tokenizer.json: the model is not BPE");
    if (!is_default(model, "dropout", -1, NULL) || !is_default(model, "byte_fallback", 0, NULL) ||
        !is_default(model, "continuing_subword_prefix", -1, "") || !is_default(model, "end_of_word_suffix", -1, ""))
        return bpe_fail(err, BPE_E_INPUT, "tokenizer.json: dropout, byte_fallback, continuing_subword_prefix and "
                                          "end_of_word_suffix are not supported");
    return BPE_OK;
}

/* Checks added_tokens (absent, null, or objects with an integer "id" and a string "content"); raises
 * *max_id to their largest id. */
static int scan_added(json_t *added, uint32_t *max_id, char *err)
{
    size_t i;
    json_t *t;
    if (!added || json_is_null(added))
        return BPE_OK;
    if (!json_is_array(added))
        return bpe_fail(err, BPE_E_INPUT, "tokenizer.json: added_tokens is not an array");
    json_array_foreach(added, i, t)
    {
        json_t *id = json_object_get(t, "id");
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) > (json_int_t)BPE_MAX_ID ||
            !json_is_string(json_object_get(t, "content")))
            return bpe_fail(err, BPE_E_INPUT, "tokenizer.json: added token %zu needs an id from 0 to %u and a content",
                            i, BPE_MAX_ID);
        if ((uint32_t)json_integer_value(id) > *max_id)
            *max_id = (uint32_t)json_integer_value(id);
    }
    return BPE_OK;
}

/* Adds added_tokens as special tokens: their content is the text itself, not alphabet. */
static int add_added(bpe_vocab *v, json_t *added, char *err)
{
    size_t i;
    json_t *t;
    int rc;
    if (!json_is_array(added))
        return BPE_OK;
    json_array_foreach(added, i, t)
    {
        json_t *c = json_object_get(t, "content");
        if ((rc = bpe_vocab_add(v, (uint32_t)json_integer_value(json_object_get(t, "id")),
                                (const uint8_t *)json_string_value(c), json_string_length(c), 1, err)))
            return prefix(err, rc, "tokenizer.json: added token");
    }
    return BPE_OK;
}

/* One merge of tokenizer.json: "LEFT RIGHT" or ["LEFT", "RIGHT"]. */
static int hf_merge(bpe_vocab *v, const int16_t *inv, json_t *m, size_t num, char *err)
{
    const char *s, *sp;
    size_t n;
    if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
        json_is_string(json_array_get(m, 1)))
        return add_merge(v, inv, json_string_value(json_array_get(m, 0)), json_string_length(json_array_get(m, 0)),
                         json_string_value(json_array_get(m, 1)), json_string_length(json_array_get(m, 1)),
                         "tokenizer.json merge", num, err);
    if (!json_is_string(m))
        return bpe_fail(err, BPE_E_INPUT, "tokenizer.json merge %zu: not \"LEFT RIGHT\" nor [LEFT, RIGHT]", num);
    s = json_string_value(m);
    n = json_string_length(m);
    sp = memchr(s, ' ', n);
    if (!sp || memchr(sp + 1, ' ', (size_t)(s + n - sp - 1)))
        return bpe_fail(err, BPE_E_INPUT, "tokenizer.json merge %zu: not \"LEFT RIGHT\"", num);
    return add_merge(v, inv, s, (size_t)(sp - s), sp + 1, (size_t)(s + n - sp - 1), "tokenizer.json merge", num, err);
}

/* Builds the vocabulary from the parsed tokenizer.json (see bpe_vocab_hf). */
static int hf_build(bpe_vocab **out, json_t *root, char *err)
{
    json_t *model = json_object_get(root, "model"), *vocab, *merges, *added = json_object_get(root, "added_tokens"), *m;
    int16_t inv[ALPHABET_END];
    uint32_t max_id = 0;
    size_t i;
    int rc;
    if (!json_is_object(root) || !json_is_object(model))
        return bpe_fail(err, BPE_E_INPUT, "tokenizer.json: no model object");
    vocab = json_object_get(model, "vocab");
    merges = json_object_get(model, "merges");
    if ((rc = hf_check(root, model, err)))
        return rc;
    if (!json_is_object(vocab) || !json_object_size(vocab) || !json_is_array(merges))
        return bpe_fail(err, BPE_E_INPUT, "tokenizer.json: the model needs a vocab object and a merges array");
    if ((rc = scan_ids(vocab, "tokenizer.json", &max_id, err)) || (rc = scan_added(added, &max_id, err)))
        return rc;
    if (json_array_size(merges) > json_object_size(vocab))
        return bpe_fail(err, BPE_E_INPUT, "tokenizer.json: %zu merges for %zu tokens", json_array_size(merges),
                        json_object_size(vocab));
    if ((rc = bpe_vocab_new(out, max_id + 1, json_array_size(merges), err)) || (rc = add_added(*out, added, err)) ||
        (rc = add_tokens(*out, vocab, "tokenizer.json", NULL, 1, err)) || (rc = bpe_vocab_index(*out, err)))
        return rc;
    (*out)->ignore_merges = json_is_true(json_object_get(model, "ignore_merges"));
    alphabet_inverse(inv);
    json_array_foreach(merges, i, m)
    {
        if ((rc = hf_merge(*out, inv, m, i + 1, err)))
            return rc;
    }
    return bpe_vocab_finish(*out, err);
}

int bpe_vocab_hf(bpe_vocab **out, const char *json, size_t len, char *err)
{
    json_t *root;
    int rc;
    *out = NULL;
    if ((rc = load_json(&root, json, len, "tokenizer.json", err)))
        return rc;
    rc = hf_build(out, root, err);
    json_decref(root);
    if (rc) {
        bpe_vocab_free(*out);
        *out = NULL;
    }
    return rc;
}
