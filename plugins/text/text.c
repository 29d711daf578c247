/* text.c — the org.swarm.text plugin: GPT-2 byte-level BPE over record batches.
 *   gpt2_encode  text records (UTF-8, one document each) -> ids records (each document's token ids as
 *                little-endian uint32)
 *   gpt2_decode  ids records -> text records (the tokens' bytes)
 * Both take the param vocab: a directory holding GPT-2's vocab.bpe + encoder.json, or a Hugging Face
 * tokenizer.json (byte-level BPE). Vocabularies are loaded once per process and cached by path and file
 * identity (vocab.c: the plugin's only global state); the tokenizer itself is bpe.c and parse.c.
 *
 * Choices: invalid UTF-8 in a document is refused (SWARM_E_BAD_INPUT naming the record and byte), since
 * the pre-split regex works on characters and the peers (tiktoken, gpt-3-encoder, Hugging Face) only take
 * valid text. special defaults to false: "<|endoftext|>" in a document is ordinary text, as with
 * tiktoken's encode_ordinary and gpt-3-encoder, so text from a dataset cannot forge control tokens; with
 * special = true it becomes its id (50256 for GPT-2), as do tokenizer.json's added tokens. */
#include "swarm_plugin.h"

#include "bpe.h"
#include "vocab.h"

#include <stdlib.h>

enum { P_VOCAB = 0, P_SPECIAL = 1 };

/* The CPU variant runs anywhere. */
static int ok_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    (void)host;
    (void)call;
    (void)device_id;
    return 100;
}

/* Maps a bpe.h code to the ABI's, with the message. */
static int fail(const swarm_host *host, swarm_call *call, int code, const char *msg)
{
    int c = code == BPE_E_INPUT ? SWARM_E_BAD_INPUT : SWARM_E_INTERNAL;
    return host->set_error(call, c, "%s", msg);
}

/* Acquires the vocabulary named by the vocab param, failing the call with the reason. */
static int get_vocab(const swarm_host *host, swarm_call *call, const swarm_param_value *params, const bpe_vocab **v,
                     void **handle)
{
    char err[BPE_ERR_LEN];
    int rc = text_vocab_acquire(v, handle, params[P_VOCAB].s, err);
    return rc ? fail(host, call, rc, err) : SWARM_OK;
}

/* ---- gpt2_encode --------------------------------------------------------------------------------- */

/* One output record per input; a document of n bytes has at most n tokens of 4 bytes each. Loads the
 * vocabulary so that a bad one fails here, before anything runs. */
static int encode_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                        const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *x = &inputs[0].u.records;
    const bpe_vocab *v;
    void *h;
    int rc = get_vocab(host, call, params, &v, &h);
    text_vocab_release(h);
    if (rc)
        return rc;
    if (x->nbytes > UINT64_MAX / 8 / 4)
        return host->set_error(call, SWARM_E_BAD_INPUT, "a batch of %llu bytes is too large",
                               (unsigned long long)x->nbytes);
    outputs[0].u.records.count = x->count;
    outputs[0].u.records.nbytes = x->nbytes * 4;
    return SWARM_OK;
}

/* Encodes every record with one encoder state. */
static int encode_all(const swarm_host *host, swarm_call *call, bpe_state *st, int special, const swarm_records *x,
                      swarm_records *y)
{
    char err[BPE_ERR_LEN];
    uint64_t off = 0;
    y->offsets[0] = 0;
    for (uint64_t i = 0; i < x->count; i++) {
        uint64_t a = x->offsets[i], b = x->offsets[i + 1];
        size_t n = 0;
        int rc;
        if (a > b || b > x->nbytes)
            return host->set_error(call, SWARM_E_BAD_INPUT, "record %llu: bad offsets", (unsigned long long)i);
        rc = bpe_encode(st, x->bytes + a, (size_t)(b - a), special, y->bytes + off, (size_t)((y->nbytes - off) / 4),
                        &n, err);
        if (rc)
            return host->set_error(call, rc == BPE_E_INPUT ? SWARM_E_BAD_INPUT : SWARM_E_INTERNAL, "record %llu: %s",
                                   (unsigned long long)i, err);
        off += 4 * (uint64_t)n;
        y->offsets[i + 1] = off;
    }
    return SWARM_OK;
}

/* Encodes the batch with the vocabulary held for the call and one encoder state; fails on the first bad
 * record (BAD_INPUT naming it), a bad vocabulary or memory running out. */
static int encode_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                      const swarm_value *inputs, swarm_value *outputs)
{
    char err[BPE_ERR_LEN];
    const bpe_vocab *v;
    bpe_state *st = NULL;
    void *h;
    int rc = get_vocab(host, call, params, &v, &h);
    if (!rc && (rc = bpe_state_new(&st, v, err)))
        rc = fail(host, call, rc, err);
    if (!rc)
        rc = encode_all(host, call, st, (int)params[P_SPECIAL].i, &inputs[0].u.records, &outputs[0].u.records);
    bpe_state_free(st);
    text_vocab_release(h);
    return rc;
}

/* ---- gpt2_decode --------------------------------------------------------------------------------- */

/* One output record per input; n ids decode to at most n times the longest token. */
static int decode_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                        const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *x = &inputs[0].u.records;
    const bpe_vocab *v;
    void *h;
    uint64_t most;
    int rc = get_vocab(host, call, params, &v, &h);
    if (rc)
        return rc;
    most = bpe_vocab_max_token(v) ? bpe_vocab_max_token(v) : 1;
    text_vocab_release(h);
    if (x->nbytes / 4 > UINT64_MAX / 8 / most)
        return host->set_error(call, SWARM_E_BAD_INPUT, "a batch of %llu bytes is too large",
                               (unsigned long long)x->nbytes);
    outputs[0].u.records.count = x->count;
    outputs[0].u.records.nbytes = x->nbytes / 4 * most;
    return SWARM_OK;
}

/* Decodes every record: each must be a whole number of uint32 ids. */
static int decode_all(const swarm_host *host, swarm_call *call, const bpe_vocab *v, const swarm_records *x,
                      swarm_records *y)
{
    char err[BPE_ERR_LEN];
    uint64_t off = 0;
    y->offsets[0] = 0;
    for (uint64_t i = 0; i < x->count; i++) {
        uint64_t a = x->offsets[i], b = x->offsets[i + 1];
        size_t n = 0;
        int rc;
        if (a > b || b > x->nbytes)
            return host->set_error(call, SWARM_E_BAD_INPUT, "record %llu: bad offsets", (unsigned long long)i);
        if ((b - a) % 4)
            return host->set_error(call, SWARM_E_BAD_INPUT, "record %llu: %llu bytes is not a whole number of uint32 ids",
                                   (unsigned long long)i, (unsigned long long)(b - a));
        rc = bpe_decode(v, x->bytes + a, (size_t)((b - a) / 4), y->bytes + off, (size_t)(y->nbytes - off), &n, err);
        if (rc)
            return host->set_error(call, rc == BPE_E_INPUT ? SWARM_E_BAD_INPUT : SWARM_E_INTERNAL, "record %llu: %s",
                                   (unsigned long long)i, err);
        off += n;
        y->offsets[i + 1] = off;
    }
    return SWARM_OK;
}

/* Decodes the batch with the vocabulary held for the call; fails on the first bad record. */
static int decode_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                      const swarm_value *inputs, swarm_value *outputs)
{
    const bpe_vocab *v;
    void *h;
    int rc = get_vocab(host, call, params, &v, &h);
    if (!rc)
        rc = decode_all(host, call, v, &inputs[0].u.records, &outputs[0].u.records);
    text_vocab_release(h);
    return rc;
}

/* ---- Descriptors --------------------------------------------------------------------------------- */

#define VOCAB_DOC "a directory holding GPT-2's vocab.bpe and encoder.json, or a Hugging Face tokenizer.json (byte-level BPE)"

static const swarm_param encode_params[] = {
    {"vocab", SWARM_PARAM_PATH, NULL, VOCAB_DOC, NULL},
    {"special", SWARM_PARAM_BOOL, "false",
     "encode special tokens written in the text (<|endoftext|> -> 50256) as their ids; false: as plain text", NULL},
};
static const swarm_param decode_params[] = {
    {"vocab", SWARM_PARAM_PATH, NULL, VOCAB_DOC, NULL},
};
static const swarm_port text_port[] = {{"text", SWARM_KIND_RECORDS, "UTF-8 text, one document per record"}};
static const swarm_port ids_port[] = {{"ids", SWARM_KIND_RECORDS, "token ids, little-endian uint32, one document per record"}};

static const swarm_variant encode_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, "exact", ok_probe, encode_infer,
                                         encode_run};
static const swarm_variant *const encode_variants[] = {&encode_cpu};
static const swarm_variant decode_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, "exact", ok_probe, decode_infer,
                                         decode_run};
static const swarm_variant *const decode_variants[] = {&decode_cpu};

static const swarm_op encode_op = {
    .struct_size = sizeof(swarm_op),
    .name = "gpt2_encode",
    .op_version = 1,
    .flags = SWARM_OP_DETERMINISTIC,
    .doc = "GPT-2 byte-level BPE: each text record to its token ids (invalid UTF-8 is refused).",
    .params = encode_params,
    .n_params = sizeof encode_params / sizeof *encode_params,
    .inputs = text_port,
    .n_inputs = 1,
    .outputs = ids_port,
    .n_outputs = 1,
    .variants = encode_variants,
    .n_variants = 1,
};
static const swarm_op decode_op = {
    .struct_size = sizeof(swarm_op),
    .name = "gpt2_decode",
    .op_version = 1,
    .flags = SWARM_OP_DETERMINISTIC,
    .doc = "GPT-2 byte-level BPE: each record of token ids back to its text (an unknown id is refused).",
    .params = decode_params,
    .n_params = sizeof decode_params / sizeof *decode_params,
    .inputs = ids_port,
    .n_inputs = 1,
    .outputs = text_port,
    .n_outputs = 1,
    .variants = decode_variants,
    .n_variants = 1,
};
static const swarm_op *const ops[] = {&encode_op, &decode_op};

static const swarm_plugin plugin = {
    .abi_version = SWARM_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(swarm_plugin),
    .id = "org.swarm.text",
    .version = "0.1.0",
    .ops = ops,
    .n_ops = 2,
};

SWARM_PLUGIN_EXPORT const swarm_plugin *swarm_plugin_entry(void)
{
    return &plugin;
}
