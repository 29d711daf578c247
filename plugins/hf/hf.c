/* hf.c — Hugging Face model folders to what llama.cpp loads, as llama.cpp's convert_hf_to_gguf.py does
 * it, in two parts a pipeline composes (pipelines/hf2gguf.lua; PIPELINES.md has the exact rules):
 *
 * - the format `hf` reads a model folder as one tensor collection: the weights of every *.safetensors
 *   file (f32, f16, bf16, f64) under their Hugging Face names, and as GGUF-typed metadata what the
 *   converter writes from config.json (general.architecture, the ARCH.* hyperparameters, special token
 *   ids), tokenizer.json (tokenizer.ggml.*: byte-level BPE as "gpt2") and tokenizer_config.json
 *   (add_bos_token, chat_template). model.safetensors.index.json is checked (a tensor named twice is
 *   refused); other files (README.md, generation_config.json, ...) are skipped, and so are the tensors
 *   the converter drops (*.rotary_emb.inv_freq, *.attention.masked_bias, *.attention.bias). A SentencePiece
 *   tokenizer.model is not read: a folder without tokenizer.json fails in the op.
 * - the op `gguf_tensors`, mapped over that collection, renames each tensor to its GGUF name, permutes
 *   the rows of q_proj and k_proj for llama's rotary layout, checks shapes against the hyperparameters
 *   and that no tensor the architecture needs is missing, and gives 2-D weights the dtype asked for
 *   (1-D ones f32, as the converter does). quant/quantize then makes Q8_0 or Q4_0 of it.
 *
 * Architectures: hf_arch.h. The tokenizer: hf_tok.c. */
#include "swarm_plugin.h"
#include "common/numerics.h"
#include "hf_arch.h"
#include "hf_tok.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The format: a folder of files, each by its name ----------------------------------------------- */

/* The file's base name. */
static const char *hf_base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int hf_ends_with(const char *s, const char *end)
{
    size_t n = strlen(s), m = strlen(end);
    return n >= m && !strcmp(s + n - m, end);
}

/* The dtypes the weights may have. */
static int hf_st_dtype(swarm_dtype *dt, const char *name)
{
    static const struct {
        const char *name;
        swarm_dtype dt;
    } t[] = {{"F32", {SWARM_DTYPE_FLOAT, 32, 1}}, {"F16", {SWARM_DTYPE_FLOAT, 16, 1}},
             {"BF16", {SWARM_DTYPE_BFLOAT, 16, 1}}, {"F64", {SWARM_DTYPE_FLOAT, 64, 1}}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(t[i].name, name)) {
            *dt = t[i].dt;
            return 0;
        }
    return -1;
}

/* Reports one tensor of a safetensors header ({"dtype", "shape", "data_offsets"}); the host checks its
 * bytes against the file and its shape. */
static int hf_st_tensor(const swarm_host *host, swarm_call *call, const char *name, json_t *v, uint64_t base)
{
    swarm_tensor_entry e;
    json_t *shape = json_object_get(v, "shape"), *offs = json_object_get(v, "data_offsets"), *d;
    size_t i;
    memset(&e, 0, sizeof e);
    e.name = name;
    if (!json_is_string(json_object_get(v, "dtype")) || hf_st_dtype(&e.dtype, json_string_value(json_object_get(v, "dtype"))))
        return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s': dtype is not F32, F16, BF16 or F64", name);
    if (!json_is_array(shape) || json_array_size(shape) > SWARM_MAX_NDIM || !json_is_array(offs) ||
        json_array_size(offs) != 2 || !json_is_integer(json_array_get(offs, 0)) ||
        !json_is_integer(json_array_get(offs, 1)) || json_integer_value(json_array_get(offs, 0)) < 0 ||
        json_integer_value(json_array_get(offs, 1)) < json_integer_value(json_array_get(offs, 0)))
        return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s': bad shape or data_offsets", name);
    json_array_foreach(shape, i, d) {
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s': bad shape", name);
        e.shape[i] = json_integer_value(d);
    }
    e.ndim = (int32_t)json_array_size(shape);
    e.offset = base + (uint64_t)json_integer_value(json_array_get(offs, 0));
    e.nbytes = (uint64_t)(json_integer_value(json_array_get(offs, 1)) - json_integer_value(json_array_get(offs, 0)));
    return host->add_tensor(call, &e);
}

/* Tensors a checkpoint may carry that no model uses, which the converter drops as it reads: rotary
 * frequencies (recomputed from rope_theta) and old attention masks. */
static int hf_unused(const char *name)
{
    return hf_ends_with(name, ".rotary_emb.inv_freq") || hf_ends_with(name, ".attention.masked_bias") ||
           hf_ends_with(name, ".attention.bias");
}

/* A safetensors file: u64 header length, the JSON header, the data. Tensors are reported in the order of
 * their data (the host requires it): the header's order sorted by offset. */
static int hf_read_safetensors(const swarm_host *host, swarm_call *call, const uint8_t *file, uint64_t size)
{
    uint64_t n;
    json_error_t err;
    if (size < 8)
        return host->set_error(call, SWARM_E_BAD_INPUT, "not a safetensors file (under 8 bytes)");
    memcpy(&n, file, 8);
    if (n > size - 8)
        return host->set_error(call, SWARM_E_BAD_INPUT, "a safetensors header longer than the file");
    json_t *h = json_loadb((const char *)file + 8, (size_t)n, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(h)) {
        json_decref(h);
        return host->set_error(call, SWARM_E_BAD_INPUT, "a safetensors header that is not a JSON object: %s", err.text);
    }
    size_t count = json_object_size(h), k = 0;
    const char **names = host->alloc_scratch(call, (count + 1) * sizeof *names);
    const char *key;
    json_t *v;
    int rc = names ? SWARM_OK : host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    json_object_foreach(h, key, v) if (names && strcmp(key, "__metadata__") && !hf_unused(key)) names[k++] = key;
    for (size_t i = 1; !rc && i < k; i++) { /* insertion sort by offset: headers are small */
        const char *t = names[i];
        json_int_t o = json_integer_value(json_array_get(json_object_get(json_object_get(h, t), "data_offsets"), 0));
        size_t j = i;
        while (j > 0 && json_integer_value(json_array_get(
                            json_object_get(json_object_get(h, names[j - 1]), "data_offsets"), 0)) > o) {
            names[j] = names[j - 1];
            j--;
        }
        names[j] = t;
    }
    for (size_t i = 0; !rc && i < k; i++)
        rc = hf_st_tensor(host, call, names[i], json_object_get(h, names[i]), 8 + n);
    json_decref(h);
    return rc;
}

/* A JSON file of the folder as an object, or NULL after set_error. */
static json_t *hf_json(const swarm_host *host, swarm_call *call, const uint8_t *file, uint64_t size, const char *name)
{
    json_error_t err;
    json_t *j = json_loadb((const char *)file, (size_t)size, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(j)) {
        json_decref(j);
        host->set_error(call, SWARM_E_BAD_INPUT, "%s: not a JSON object: %s (line %d)", name, err.text, err.line);
        return NULL;
    }
    return j;
}

/* Adds "KEY:TYPE" = value (a JSON number or bool as text). */
static int hf_meta_num(const swarm_host *host, swarm_call *call, const char *key, const char *type, json_t *v)
{
    char k[128], num[64];
    snprintf(k, sizeof k, "%s:%s", key, type);
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_number(v) && !strcmp(type, "f32"))
        snprintf(num, sizeof num, "%.17g", json_number_value(v));
    else if (json_is_boolean(v) && !strcmp(type, "bool"))
        snprintf(num, sizeof num, "%s", json_is_true(v) ? "true" : "false");
    else
        return host->set_error(call, SWARM_E_BAD_INPUT, "%s is not a %s", key, type);
    return host->add_meta(call, k, num);
}

/* config.json: the architecture, its hyperparameters and the special token ids. */
static int hf_read_config(const swarm_host *host, swarm_call *call, json_t *c)
{
    json_t *archs = json_object_get(c, "architectures");
    const char *name = json_string_value(json_array_get(archs, 0));
    const hf_arch *a = NULL;
    char key[128];
    int rc;
    for (size_t i = 0; name && i < sizeof hf_archs / sizeof *hf_archs; i++)
        if (!strcmp(hf_archs[i].hf, name))
            a = &hf_archs[i];
    if (!a)
        return host->set_error(call, SWARM_E_BAD_INPUT,
                               "config.json: architecture '%s' is not supported (LlamaForCausalLM, MistralForCausalLM, "
                               "Qwen2ForCausalLM)", name ? name : "(none)");
    if ((rc = host->add_meta(call, "general.architecture", a->gguf)))
        return rc;
    for (size_t i = 0; i < sizeof hf_hparams / sizeof *hf_hparams; i++) {
        const hf_hparam *h = &hf_hparams[i];
        json_t *v = json_object_get(c, h->config);
        if (!v && !strcmp(h->config, "num_key_value_heads"))
            v = json_object_get(c, "num_attention_heads"); /* no grouped-query attention */
        if (!v && h->required)
            return host->set_error(call, SWARM_E_BAD_INPUT, "config.json has no %s", h->config);
        snprintf(key, sizeof key, "%s.%s", a->gguf, h->gguf);
        if (v && (rc = hf_meta_num(host, call, key, h->type, v)))
            return rc;
    }
    json_t *hd = json_object_get(c, "head_dim"), *hs = json_object_get(c, "hidden_size"),
           *nh = json_object_get(c, "num_attention_heads");
    json_int_t dim = json_is_integer(hd) ? json_integer_value(hd)
                     : json_integer_value(nh) > 0 ? json_integer_value(hs) / json_integer_value(nh) : 0;
    if (dim <= 0 || dim % 2)
        return host->set_error(call, SWARM_E_BAD_INPUT, "config.json: the head size is not a positive even number");
    snprintf(key, sizeof key, "%s.rope.dimension_count", a->gguf);
    json_t *jd = json_integer(dim);
    rc = hf_meta_num(host, call, key, "u32", jd);
    json_decref(jd);
    static const char *const ids[][2] = {{"bos_token_id", "tokenizer.ggml.bos_token_id"},
                                         {"eos_token_id", "tokenizer.ggml.eos_token_id"},
                                         {"pad_token_id", "tokenizer.ggml.padding_token_id"}};
    for (size_t i = 0; !rc && i < sizeof ids / sizeof *ids; i++) {
        json_t *v = json_object_get(c, ids[i][0]);
        if (json_is_array(v)) /* several eos ids: the first, as the converter's SpecialVocab */
            v = json_array_get(v, 0);
        if (json_is_integer(v))
            rc = hf_meta_num(host, call, ids[i][1], "u32", v);
    }
    return rc;
}

/* tokenizer_config.json: whether to add BOS, and the chat template. */
static int hf_read_tokenizer_config(const swarm_host *host, swarm_call *call, json_t *c)
{
    json_t *bos = json_object_get(c, "add_bos_token"), *tpl = json_object_get(c, "chat_template");
    int rc = SWARM_OK;
    if (json_is_boolean(bos))
        rc = hf_meta_num(host, call, "tokenizer.ggml.add_bos_token", "bool", bos);
    if (!rc && json_is_string(tpl))
        rc = host->add_meta(call, "tokenizer.chat_template", json_string_value(tpl));
    return rc;
}

/* model.safetensors.index.json: a weight_map object naming each tensor once (jansson refuses a key
 * twice) and the shard that holds it. The shards sort before the index ("model-00001-of-00002..." <
 * "model.safetensors..."), so they are read already: a tensor none of them held names its shard. (A
 * shard named to sort after the index is left to the op, which names the missing tensor.) */
static int hf_read_index(const swarm_host *host, swarm_call *call, json_t *c)
{
    json_t *map = json_object_get(c, "weight_map"), *v;
    const char *name;
    if (!json_is_object(map))
        return host->set_error(call, SWARM_E_BAD_INPUT, "model.safetensors.index.json has no weight_map object");
    json_object_foreach(map, name, v) {
        if (!json_is_string(v))
            return host->set_error(call, SWARM_E_BAD_INPUT, "model.safetensors.index.json: tensor '%.80s' has no "
                                                            "file name", name);
        if (!hf_unused(name) && strcmp(json_string_value(v), "model.safetensors.index.json") < 0 &&
            !host->has_tensor(call, 0, name))
            return host->set_error(call, SWARM_E_BAD_INPUT, "model.safetensors.index.json puts tensor '%.80s' in "
                                   "%.80s, which is missing or does not hold it", name, json_string_value(v));
    }
    return SWARM_OK;
}

/* Reads one file of a model folder, by its name. */
static int hf_read(const swarm_host *host, swarm_call *call, const uint8_t *file, uint64_t size)
{
    const char *path = host->file_name(call), *name = path ? hf_base(path) : "";
    int (*json_reader)(const swarm_host *, swarm_call *, json_t *) = NULL;
    if (hf_ends_with(name, ".safetensors"))
        return hf_read_safetensors(host, call, file, size);
    if (!strcmp(name, "config.json"))
        json_reader = hf_read_config;
    else if (!strcmp(name, "tokenizer.json"))
        json_reader = hf_tok_read;
    else if (!strcmp(name, "tokenizer_config.json"))
        json_reader = hf_read_tokenizer_config;
    else if (!strcmp(name, "model.safetensors.index.json"))
        json_reader = hf_read_index;
    if (!json_reader)
        return SWARM_OK; /* README.md, generation_config.json, tokenizer.model, ...: not the model's */
    json_t *j = hf_json(host, call, file, size, name);
    if (!j)
        return SWARM_E_BAD_INPUT;
    int rc = json_reader(host, call, j);
    json_decref(j);
    return rc;
}

/* ---- The op: GGUF names, the Q/K permutation, dtypes ------------------------------------------------ */

static const char *const hf_types[] = {"keep", "f32", "f16", "bf16", NULL};
enum { T_KEEP, T_F32, T_F16, T_BF16 };

/* The hyperparameters the ops need, from the collection's metadata. */
typedef struct {
    const hf_arch *arch;
    long long dim[D_NONE]; /* D_VOCAB .. D_KV */
    long long layers, heads, heads_kv;
} hf_model;

/* A positive u32 hyperparameter ARCH.KEY; when absent, *out = dflt if that is positive, else an error. */
static int hf_meta_int(const swarm_host *host, swarm_call *call, const char *arch, const char *key, long long dflt,
                       long long *out)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s:u32", arch, key);
    const char *v = host->meta_value(call, 0, k);
    char *end = NULL;
    *out = v ? strtoll(v, &end, 10) : dflt;
    if ((v && *end) || *out <= 0)
        return host->set_error(call, SWARM_E_BAD_INPUT, "the collection has no %s (read it with the hf or gguf format)", k);
    return SWARM_OK;
}

/* The model's hyperparameters. From a Hugging Face folder (gguf_tensors: from_gguf = 0) the tokenizer and
 * vocab_size are required; from a GGUF file (hf_tensors) the vocabulary is the embedding's rows. The head
 * size is rope.dimension_count, else hidden / heads (llama.cpp's default). */
static int hf_model_of(const swarm_host *host, swarm_call *call, hf_model *m, int from_gguf)
{
    const char *arch = host->meta_value(call, 0, "general.architecture");
    long long hd;
    int rc;
    if (!(m->arch = hf_arch_of_gguf(arch)))
        return host->set_error(call, SWARM_E_BAD_INPUT, "general.architecture '%s' is not one the op converts",
                               arch ? arch : "(none)");
    if (!from_gguf && !host->meta_value(call, 0, "tokenizer.ggml.model"))
        return host->set_error(call, SWARM_E_BAD_INPUT, "the folder has no tokenizer.json (a SentencePiece "
                                                        "tokenizer.model alone is not read)");
    m->dim[D_VOCAB] = 0;
    if ((!from_gguf && (rc = hf_meta_int(host, call, arch, "vocab_size", 0, &m->dim[D_VOCAB]))) ||
        (rc = hf_meta_int(host, call, arch, "embedding_length", 0, &m->dim[D_HIDDEN])) ||
        (rc = hf_meta_int(host, call, arch, "feed_forward_length", 0, &m->dim[D_FFN])) ||
        (rc = hf_meta_int(host, call, arch, "block_count", 0, &m->layers)) ||
        (rc = hf_meta_int(host, call, arch, "attention.head_count", 0, &m->heads)) ||
        (rc = hf_meta_int(host, call, arch, "attention.head_count_kv", m->heads, &m->heads_kv)) ||
        (rc = hf_meta_int(host, call, arch, "rope.dimension_count", m->dim[D_HIDDEN] / m->heads, &hd)))
        return rc;
    m->dim[D_Q] = m->heads * hd;
    m->dim[D_KV] = m->heads_kv * hd;
    return SWARM_OK;
}

/* A table entry's name on one side: its Hugging Face name, or its GGUF name when gguf is set. */
static const char *hf_side(const hf_tensor *t, int gguf)
{
    return gguf ? t->gguf : t->hf;
}

/* Finds the table entry of a name (a Hugging Face one, or a GGUF one when gguf is set): *layer is its
 * layer (-1 for the model's own tensors). NULL for a name of no entry or a layer past block_count. */
static const hf_tensor *hf_find(const hf_model *m, const char *name, int gguf, long long *layer)
{
    *layer = -1;
    for (size_t i = 0; i < sizeof hf_model_tensors / sizeof *hf_model_tensors; i++)
        if (!strcmp(name, hf_side(&hf_model_tensors[i], gguf)))
            return &hf_model_tensors[i];
    const char *pre = gguf ? "blk." : "model.layers.";
    char *end;
    if (strncmp(name, pre, strlen(pre)))
        return NULL;
    *layer = strtoll(name + strlen(pre), &end, 10);
    if (end == name + strlen(pre) || *end != '.' || *layer < 0 || *layer >= m->layers)
        return NULL;
    for (size_t i = 0; i < sizeof hf_layer_tensors / sizeof *hf_layer_tensors; i++)
        if (!strcmp(end + 1, hf_side(&hf_layer_tensors[i], gguf)) && (!hf_layer_tensors[i].bias || m->arch->qkv_bias))
            return &hf_layer_tensors[i];
    return NULL;
}

/* The name of entry t of layer `layer` (-1: the model's own) on one side. */
static void hf_name(char *out, size_t cap, const hf_tensor *t, long long layer, int gguf)
{
    if (layer < 0)
        snprintf(out, cap, "%s", hf_side(t, gguf));
    else
        snprintf(out, cap, "%s%lld.%s", gguf ? "blk." : "model.layers.", layer, hf_side(t, gguf));
}

/* Every tensor the architecture needs is in the collection (named on the input's side; the output
 * tensor may be tied to the embedding), and from a Hugging Face folder the tokenizer has vocab_size
 * tokens; checked by the embedding's call, so a missing one fails the stage once, by name. */
static int hf_check_complete(const swarm_host *host, swarm_call *call, const hf_model *m, int gguf)
{
    char name[160];
    long long ntok = gguf ? 0 : hf_tok_count(host->meta_value(call, 0, "tokenizer.ggml.tokens:[string]"));
    if (!gguf && ntok != m->dim[D_VOCAB])
        return host->set_error(call, SWARM_E_BAD_INPUT,
                               "tokenizer.json has %lld tokens, config.json's vocab_size is %lld (the embedding "
                               "must have a row for every token)", ntok, m->dim[D_VOCAB]);
    for (size_t i = 0; i < 2; i++)
        if (!host->has_tensor(call, 0, hf_side(&hf_model_tensors[i], gguf)))
            return host->set_error(call, SWARM_E_BAD_INPUT, "missing tensor '%s'", hf_side(&hf_model_tensors[i], gguf));
    for (long long l = 0; l < m->layers; l++)
        for (size_t i = 0; i < sizeof hf_layer_tensors / sizeof *hf_layer_tensors; i++) {
            if (hf_layer_tensors[i].bias && !m->arch->qkv_bias)
                continue;
            hf_name(name, sizeof name, &hf_layer_tensors[i], l, gguf);
            if (!host->has_tensor(call, 0, name))
                return host->set_error(call, SWARM_E_BAD_INPUT, "missing tensor '%s'%s", name,
                                       gguf ? "" : " (is a shard missing?)");
        }
    return SWARM_OK;
}

/* The output dtype of gguf_tensors: 1-D tensors f32, 2-D ones the type asked for (keep: their own; f64
 * becomes f32). */
static swarm_dtype hf_out_dtype(const swarm_tensor *x, int64_t type)
{
    swarm_dtype f32 = {SWARM_DTYPE_FLOAT, 32, 1}, f16 = {SWARM_DTYPE_FLOAT, 16, 1}, bf16 = {SWARM_DTYPE_BFLOAT, 16, 1};
    if (x->ndim < 2 || type == T_F32 || (type == T_KEEP && x->dtype.bits == 64))
        return f32;
    return type == T_F16 ? f16 : type == T_BF16 ? bf16 : x->dtype;
}

/* The infer both ops share: finds the input's entry by its name (on side `gguf`), checks the model is
 * complete (the embedding's call) and the shape against the hyperparameters, and names the output on the
 * other side. Fails naming the tensor. */
static int hf_infer_rename(const swarm_host *host, swarm_call *call, const swarm_tensor *x, swarm_tensor *y, int gguf,
                           const hf_tensor **entry, hf_model *m)
{
    const char *name = host->tensor_name(call, 0);
    long long layer;
    char out[160];
    int rc = hf_model_of(host, call, m, gguf);
    if (rc)
        return rc;
    const hf_tensor *t = name ? hf_find(m, name, gguf, &layer) : NULL;
    if (!t)
        return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s' has no %s name for %s (%s)", name ? name : "?",
                               gguf ? "Hugging Face" : "GGUF", m->arch->hf,
                               "not one of the architecture's tensors, or a layer past block_count");
    if (t == &hf_model_tensors[0] && (rc = hf_check_complete(host, call, m, gguf)))
        return rc;
    if (gguf && t->rows == D_VOCAB) /* a GGUF file's vocabulary is its embedding's */
        m->dim[D_VOCAB] = x->ndim ? x->shape[0] : 0;
    int want = t->cols == D_NONE ? 1 : 2;
    if (x->ndim != want || x->shape[0] != m->dim[t->rows] || (want == 2 && x->shape[1] != m->dim[t->cols]))
        return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s' has shape [%lld%s%lld], %s says [%lld%s%lld]",
                               name, (long long)(x->ndim ? x->shape[0] : 0), x->ndim > 1 ? ", " : "",
                               x->ndim > 1 ? (long long)x->shape[1] : 0LL, gguf ? "the metadata" : "config.json",
                               m->dim[t->rows], want == 2 ? ", " : "", want == 2 ? m->dim[t->cols] : 0LL);
    hf_name(out, sizeof out, t, layer, !gguf);
    y->ndim = x->ndim;
    for (int32_t d = 0; d < x->ndim; d++)
        y->shape[d] = x->shape[d];
    *entry = t;
    return host->set_tensor_name(call, out);
}

/* A tensor that is only renamed (no rows permuted, its dtype kept) passes through (ABI 1.3): the host
 * neither reads nor copies it. Where the host does not take it, run copies the rows. */
static void hf_pass(const swarm_host *host, swarm_call *call, const hf_tensor *t, const hf_model *m,
                    const swarm_tensor *x, const swarm_tensor *y)
{
    int same = x->dtype.code == y->dtype.code && x->dtype.bits == y->dtype.bits && x->dtype.lanes == y->dtype.lanes;
    if (same && !(t->permute && m->arch->permute) &&
        host->struct_size >= offsetof(swarm_host, pass_through) + sizeof host->pass_through)
        host->pass_through(call, 0);
}

/* gguf_tensors: the GGUF name, the shape checked, the dtype of `type` (a quantized tensor, which
 * quant/quantize made before the op, only with keep). */
static int gguf_tensors_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                              const swarm_value *inputs, swarm_value *outputs)
{
    const hf_tensor *t;
    hf_model m;
    const swarm_tensor *x = &inputs[0].u.tensor;
    int rc = hf_infer_rename(host, call, x, &outputs[0].u.tensor, 0, &t, &m);
    if (!rc && x->dtype.bits == 0 && params[0].i != T_KEEP) /* Q8_0, Q4_0: rows move as they are */
        return host->set_error(call, SWARM_E_BAD_INPUT, "tensor '%s' is quantized: only type keep moves it",
                               host->tensor_name(call, 0));
    if (!rc)
        outputs[0].u.tensor.dtype = hf_out_dtype(x, params[0].i);
    if (!rc)
        hf_pass(host, call, t, &m, x, &outputs[0].u.tensor);
    return rc;
}

/* hf_tensors: the Hugging Face name, the shape checked, the dtype kept (block types included: the
 * permutation moves whole rows). */
static int hf_tensors_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                            const swarm_value *inputs, swarm_value *outputs)
{
    const hf_tensor *t;
    hf_model m;
    int rc = hf_infer_rename(host, call, &inputs[0].u.tensor, &outputs[0].u.tensor, 1, &t, &m);
    (void)params;
    if (!rc)
        outputs[0].u.tensor.dtype = inputs[0].u.tensor.dtype;
    if (!rc)
        hf_pass(host, call, t, &m, &inputs[0].u.tensor, &outputs[0].u.tensor);
    return rc;
}

/* Element i of a float tensor as f32 (f64 rounded to nearest). */
static float hf_load(const uint8_t *p, swarm_dtype dt, uint64_t i)
{
    uint16_t h;
    float f;
    double d;
    if (dt.bits == 32) {
        memcpy(&f, p + 4 * i, 4);
        return f;
    }
    if (dt.bits == 64) {
        memcpy(&d, p + 8 * i, 8);
        return (float)d;
    }
    memcpy(&h, p + 2 * i, 2);
    return sw_num_float(dt.code == SWARM_DTYPE_BFLOAT ? (uint32_t)h << 16 : sw_num_f32_of_f16(h));
}

/* The bytes of a row of cols elements: block types (Q8_0, Q4_0) hold 32 elements a block. */
static uint64_t hf_row_bytes(swarm_dtype dt, uint64_t cols)
{
    if (dt.code == SWARM_DTYPE_Q8_0)
        return cols / SW_QK * SW_Q8_0_BYTES;
    if (dt.code == SWARM_DTYPE_Q4_0)
        return cols / SW_QK * SW_Q4_0_BYTES;
    return cols * dt.bits / 8 * dt.lanes;
}

/* Copies row `from` of x to row `to` of y, converting when the dtypes differ (rounding to nearest even;
 * only float dtypes differ). */
static void hf_row(uint8_t *y, swarm_dtype yt, const uint8_t *x, swarm_dtype xt, uint64_t to, uint64_t from, uint64_t cols)
{
    size_t ys = yt.bits / 8;
    if (xt.code == yt.code && xt.bits == yt.bits) {
        uint64_t n = hf_row_bytes(xt, cols);
        memcpy(y + to * n, x + from * n, (size_t)n);
        return;
    }
    for (uint64_t c = 0; c < cols; c++) {
        float f = hf_load(x, xt, from * cols + c);
        uint8_t *o = y + (to * cols + c) * ys;
        if (yt.bits == 32) {
            memcpy(o, &f, 4);
        } else {
            uint16_t h = yt.code == SWARM_DTYPE_BFLOAT ? sw_num_bf16_of_f32(sw_num_bits(f)) : sw_num_f16_of_f32(sw_num_bits(f));
            memcpy(o, &h, 2);
        }
    }
}

/* The row of x that row r of y comes from, for rows of `heads` heads of hd rows each. The converter's
 * permute() (to GGUF) writes rows seen as [heads, 2, hd / 2] as [heads, hd / 2, 2], so the halves Hugging
 * Face's rotate_half rotates together become the adjacent pairs llama.cpp's rope rotates; to_hf undoes it. */
static uint64_t hf_source_row(uint64_t r, uint64_t hd, int to_hf)
{
    uint64_t h = r / hd, k = r % hd, half = hd / 2;
    if (to_hf) /* r = (h, j, i) over [heads, 2, half] comes from (h, i, j) over [heads, half, 2] */
        return h * hd + (k % half) * 2 + k / half;
    return h * hd + (k % 2) * half + k / 2; /* r = (h, i, j) over [heads, half, 2] from (h, j, i) */
}

/* The run both ops share: y is x's rows, q_proj/k_proj ones permuted (to GGUF's layout, or back to
 * Hugging Face's when to_hf), converted to y's dtype. */
static int hf_run_rows(const swarm_host *host, swarm_call *call, const swarm_value *inputs, swarm_value *outputs,
                       int to_hf)
{
    const swarm_tensor *x = &inputs[0].u.tensor;
    const swarm_tensor *y = &outputs[0].u.tensor;
    hf_model m;
    long long layer;
    int rc = hf_model_of(host, call, &m, to_hf);
    if (rc)
        return rc;
    const hf_tensor *t = hf_find(&m, host->tensor_name(call, 0), to_hf, &layer);
    uint64_t rows = (uint64_t)x->shape[0], cols = x->ndim > 1 ? (uint64_t)x->shape[1] : 1;
    long long heads = t && t->permute && m.arch->permute ? (t->permute == 'q' ? m.heads : m.heads_kv) : 0;
    const uint8_t *in = (const uint8_t *)x->data + x->byte_offset;
    uint8_t *out = (uint8_t *)y->data + y->byte_offset;
    uint64_t hd = heads ? rows / (uint64_t)heads : 1;
    for (uint64_t r = 0; r < rows; r++)
        hf_row(out, y->dtype, in, x->dtype, r, heads ? hf_source_row(r, hd, to_hf) : r, cols);
    return SWARM_OK;
}

static int gguf_tensors_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                            const swarm_value *inputs, swarm_value *outputs)
{
    (void)params;
    return hf_run_rows(host, call, inputs, outputs, 0);
}

static int hf_tensors_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                          const swarm_value *inputs, swarm_value *outputs)
{
    (void)params;
    return hf_run_rows(host, call, inputs, outputs, 1);
}

static int hf_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    (void)host;
    (void)call;
    (void)device_id;
    return 100;
}

static const swarm_param gguf_tensors_params[] = {
    {"type", SWARM_PARAM_ENUM, "keep",
     "the dtype of 2-D weights: keep (their own; f64 becomes f32), f32, f16 or bf16; 1-D tensors become f32",
     hf_types},
};
static const swarm_port gguf_tensors_in[] = {{"x", SWARM_KIND_TENSOR, "a tensor of a collection the hf format read"}};
static const swarm_port gguf_tensors_out[] = {{"y", SWARM_KIND_TENSOR, "the tensor under its GGUF name"}};
static const swarm_variant gguf_tensors_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, "exact", hf_probe,
                                               gguf_tensors_infer, gguf_tensors_run};
static const swarm_variant *const gguf_tensors_variants[] = {&gguf_tensors_cpu};
static const swarm_op gguf_tensors = {
    sizeof(swarm_op), "gguf_tensors", 1, SWARM_OP_DETERMINISTIC | SWARM_OP_PASS,
    "Hugging Face tensors to llama.cpp's: GGUF names, q_proj/k_proj rows permuted for llama's rope, shapes "
    "checked against the hyperparameters, no tensor missing, 2-D weights in type, 1-D ones f32",
    gguf_tensors_params, 1, gguf_tensors_in, 1, gguf_tensors_out, 1, gguf_tensors_variants, 1};
static const swarm_port hf_tensors_in[] = {{"x", SWARM_KIND_TENSOR, "a tensor of a collection the gguf format read"}};
static const swarm_port hf_tensors_out[] = {{"y", SWARM_KIND_TENSOR, "the tensor under its Hugging Face name"}};
static const swarm_variant hf_tensors_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, "exact", hf_probe,
                                             hf_tensors_infer, hf_tensors_run};
static const swarm_variant *const hf_tensors_variants[] = {&hf_tensors_cpu};
static const swarm_op hf_tensors = {
    sizeof(swarm_op), "hf_tensors", 1, SWARM_OP_DETERMINISTIC | SWARM_OP_PASS,
    "llama.cpp's tensors back to Hugging Face's (the inverse of gguf_tensors): Hugging Face names, "
    "attn_q/attn_k rows permuted back, shapes checked against the GGUF metadata, no tensor missing, "
    "dtypes kept (Q8_0 and Q4_0 included: quant/dequantize and convert/cast make floats of them)",
    NULL, 0, hf_tensors_in, 1, hf_tensors_out, 1, hf_tensors_variants, 1};
static const swarm_op *const ops[] = {&gguf_tensors, &hf_tensors};

/* The format only reads: a converted model is written as GGUF (or safetensors). */
static int hf_layout(const swarm_host *host, swarm_call *call, swarm_tensor_entry *tensors, size_t n,
                     const swarm_meta *meta, size_t nmeta)
{
    (void)tensors, (void)n, (void)meta, (void)nmeta;
    return host->set_error(call, SWARM_E_BAD_INPUT, "the hf format only reads model folders: write gguf or safetensors");
}

static const swarm_format hf_format = {
    .struct_size = sizeof(swarm_format),
    .name = "hf",
    .format_version = 2,
    .doc = "a Hugging Face model folder (read only): *.safetensors weights under their names; config.json, "
           "tokenizer.json and tokenizer_config.json as the GGUF metadata llama.cpp's converter writes",
    .read = hf_read,
    .layout = hf_layout,
};
static const swarm_format *const formats[] = {&hf_format};

static const swarm_plugin plugin = {
    .abi_version = SWARM_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(swarm_plugin),
    .id = "org.swarm.hf",
    .version = "0.1.0",
    .ops = ops,
    .n_ops = sizeof ops / sizeof *ops,
    .formats = formats,
    .n_formats = 1,
};

/* The one exported symbol: it only hands swarm the descriptor above. */
SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
