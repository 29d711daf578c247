/* hf_tok.c — tokenizer.json (Hugging Face tokenizers) to llama.cpp's tokenizer.ggml.* key-values, as
 * convert_hf_to_gguf.py's get_vocab_base does for byte-level BPE: every id from 0 to the largest one, or
 * to config.json's vocab_size when that is larger (Qwen2 pads its embedding to a multiple of 128; config.json
 * is read first, its path sorting before tokenizer.json's), the vocabulary's and the added tokens'
 * strings (a gap becomes "[PADi]" of type UNUSED (5), as the converter writes it), token types
 * NORMAL (1), CONTROL (3) for special added tokens, USER_DEFINED (4) for other added ones, and the merges
 * as "a b". The pre-tokenizer names llama.cpp's pre-tokenizer (tokenizer.ggml.pre), which the converter
 * finds by hashing the tokenizer's output on a test text; here it is read from the pre-tokenizer's
 * definition, and one that is not exactly GPT-2's, Llama 3's or Qwen2's is refused. */
#include "hf_tok.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TT_NORMAL = 1, TT_CONTROL = 3, TT_USER_DEFINED = 4, TT_UNUSED = 5 };

/* The split regexes of the pre-tokenizers llama.cpp knows by these names. */
static const char LLAMA3_RE[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                                "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char QWEN2_RE[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
                               "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* tokenizer.ggml.pre from the pre-tokenizer, or NULL. GPT-2: ByteLevel with its own regex; Llama 3 and
 * Qwen2: a Split on their regex, then ByteLevel without one. */
static const char *hf_tok_pre(json_t *pre)
{
    const char *type = json_string_value(json_object_get(pre, "type"));
    if (type && !strcmp(type, "ByteLevel") && json_is_true(json_object_get(pre, "use_regex")) &&
        !json_is_true(json_object_get(pre, "add_prefix_space")))
        return "gpt-2";
    json_t *seq = json_object_get(pre, "pretokenizers");
    if (!type || strcmp(type, "Sequence") || json_array_size(seq) != 2)
        return NULL;
    json_t *split = json_array_get(seq, 0), *bl = json_array_get(seq, 1);
    const char *re = json_string_value(json_object_get(json_object_get(split, "pattern"), "Regex"));
    const char *bt = json_string_value(json_object_get(bl, "type"));
    if (!re || !bt || strcmp(bt, "ByteLevel") || json_is_true(json_object_get(bl, "use_regex")))
        return NULL;
    return !strcmp(re, LLAMA3_RE) ? "llama-bpe" : !strcmp(re, QWEN2_RE) ? "qwen2" : NULL;
}

/* Adds KEY = the JSON text of a (stolen). */
static int hf_tok_meta(const swarm_host *host, swarm_call *call, const char *key, json_t *a)
{
    char *text = a ? json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(a);
    if (!text)
        return host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    int rc = host->add_meta(call, key, text);
    free(text);
    return rc;
}

/* Places token s at id in tokens/types (arrays of size n); a taken id or one out of range is refused. */
static int hf_tok_put(const swarm_host *host, swarm_call *call, const char **tokens, int *types, long long n,
                      json_t *id, const char *s, int type)
{
    if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= n)
        return host->set_error(call, SWARM_E_BAD_INPUT, "tokenizer.json: token '%.40s' has a bad id", s);
    json_int_t i = json_integer_value(id);
    if (tokens[i] && strcmp(tokens[i], s))
        return host->set_error(call, SWARM_E_BAD_INPUT, "tokenizer.json: id %lld is both '%.40s' and '%.40s'",
                               (long long)i, tokens[i], s);
    tokens[i] = s;
    types[i] = type;
    return SWARM_OK;
}

/* The largest id of the vocabulary and the added tokens, plus one. */
static long long hf_tok_size(json_t *vocab, json_t *added)
{
    long long n = 0;
    const char *k;
    json_t *v;
    size_t i;
    json_object_foreach(vocab, k, v) if (json_integer_value(v) >= n) n = json_integer_value(v) + 1;
    json_array_foreach(added, i, v) if (json_integer_value(json_object_get(v, "id")) >= n) n =
        json_integer_value(json_object_get(v, "id")) + 1;
    return n;
}

/* config.json's vocab_size as the folder's earlier files reported it (ARCH.vocab_size), or 0. */
static long long hf_tok_config_size(const swarm_host *host, swarm_call *call)
{
    const char *arch = host->meta_value(call, 0, "general.architecture");
    char key[96];
    if (!arch || strlen(arch) > 64)
        return 0;
    snprintf(key, sizeof key, "%s.vocab_size:u32", arch);
    const char *v = host->meta_value(call, 0, key);
    return v ? strtoll(v, NULL, 10) : 0;
}

/* tokens and token_type, id by id: up to the largest id, or to config.json's vocab_size if larger. */
static int hf_tok_vocab(const swarm_host *host, swarm_call *call, json_t *vocab, json_t *added)
{
    long long n = hf_tok_size(vocab, added), want = hf_tok_config_size(host, call);
    if (want > n && want <= (1 << 24))
        n = want;
    if (n <= 0 || n > (1 << 24))
        return host->set_error(call, SWARM_E_BAD_INPUT, "tokenizer.json: a vocabulary of %lld tokens", n);
    const char **tokens = host->alloc_scratch(call, (size_t)n * sizeof *tokens);
    int *types = host->alloc_scratch(call, (size_t)n * sizeof *types);
    char **pads = host->alloc_scratch(call, (size_t)n * sizeof *pads);
    const char *k;
    json_t *v;
    size_t i;
    int rc = tokens && types && pads ? SWARM_OK : host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    if (rc)
        return rc;
    memset(tokens, 0, (size_t)n * sizeof *tokens);
    memset(pads, 0, (size_t)n * sizeof *pads);
    json_object_foreach(vocab, k, v) if (!rc) rc = hf_tok_put(host, call, tokens, types, n, v, k, TT_NORMAL);
    json_array_foreach(added, i, v) {
        const char *s = json_string_value(json_object_get(v, "content"));
        if (!rc && !s)
            rc = host->set_error(call, SWARM_E_BAD_INPUT, "tokenizer.json: an added token without content");
        if (!rc)
            rc = hf_tok_put(host, call, tokens, types, n, json_object_get(v, "id"), s,
                            json_is_true(json_object_get(v, "special")) ? TT_CONTROL : TT_USER_DEFINED);
    }
    json_t *jt = json_array(), *jy = json_array();
    for (long long t = 0; !rc && t < n; t++) {
        char pad[32];
        if (!tokens[t]) {
            snprintf(pad, sizeof pad, "[PAD%lld]", t);
            types[t] = TT_UNUSED;
        }
        if (json_array_append_new(jt, json_string(tokens[t] ? tokens[t] : pad)) ||
            json_array_append_new(jy, json_integer(types[t])))
            rc = host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    }
    if (rc) {
        json_decref(jt);
        json_decref(jy);
        return rc;
    }
    rc = hf_tok_meta(host, call, "tokenizer.ggml.tokens:[string]", jt);
    return rc ? rc : hf_tok_meta(host, call, "tokenizer.ggml.token_type:[i32]", jy);
}

/* merges as "a b": tokenizers writes them as such strings, or (0.20 and later) as [a, b] pairs. */
static int hf_tok_merges(const swarm_host *host, swarm_call *call, json_t *merges)
{
    json_t *out = json_array(), *m;
    size_t i;
    int rc = json_is_array(merges) ? SWARM_OK : host->set_error(call, SWARM_E_BAD_INPUT, "tokenizer.json has no merges");
    json_array_foreach(merges, i, m) {
        if (rc)
            break;
        if (json_is_string(m)) {
            json_array_append(out, m);
            continue;
        }
        const char *a = json_string_value(json_array_get(m, 0)), *b = json_string_value(json_array_get(m, 1));
        if (!a || !b || json_array_size(m) != 2) {
            rc = host->set_error(call, SWARM_E_BAD_INPUT, "tokenizer.json: merge %zu is not a pair of strings", i);
            break;
        }
        size_t la = strlen(a), lb = strlen(b);
        char *s = malloc(la + lb + 2);
        if (!s) {
            rc = host->set_error(call, SWARM_E_INTERNAL, "out of memory");
            break;
        }
        memcpy(s, a, la);
        s[la] = ' ';
        memcpy(s + la + 1, b, lb + 1);
        json_array_append_new(out, json_string(s));
        free(s);
    }
    if (rc) {
        json_decref(out);
        return rc;
    }
    return hf_tok_meta(host, call, "tokenizer.ggml.merges:[string]", out);
}

int hf_tok_read(const swarm_host *host, swarm_call *call, json_t *tok)
{
    json_t *model = json_object_get(tok, "model");
    const char *type = json_string_value(json_object_get(model, "type"));
    int rc;
    if (!type || strcmp(type, "BPE"))
        return host->set_error(call, SWARM_E_BAD_INPUT, "tokenizer.json: model %s is not supported (byte-level BPE only)",
                               type ? type : "(none)");
    const char *pre = hf_tok_pre(json_object_get(tok, "pre_tokenizer"));
    if (!pre)
        return host->set_error(call, SWARM_E_BAD_INPUT, "tokenizer.json: the pre-tokenizer is not GPT-2's, Llama 3's or "
                                                        "Qwen2's byte-level one");
    if (!json_is_object(json_object_get(model, "vocab")))
        return host->set_error(call, SWARM_E_BAD_INPUT, "tokenizer.json has no vocab");
    if ((rc = host->add_meta(call, "tokenizer.ggml.model", "gpt2")) ||
        (rc = host->add_meta(call, "tokenizer.ggml.pre", pre)) ||
        (rc = hf_tok_vocab(host, call, json_object_get(model, "vocab"), json_object_get(tok, "added_tokens"))))
        return rc;
    return hf_tok_merges(host, call, json_object_get(model, "merges"));
}

long long hf_tok_count(const char *tokens)
{
    json_t *a = tokens ? json_loads(tokens, 0, NULL) : NULL;
    long long n = json_is_array(a) ? (long long)json_array_size(a) : -1;
    json_decref(a);
    return n;
}
