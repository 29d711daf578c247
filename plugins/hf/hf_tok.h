/* hf_tok.h — a Hugging Face tokenizer.json as llama.cpp's tokenizer.ggml.* metadata (hf_tok.c). */
#ifndef HF_TOK_H
#define HF_TOK_H

#include "swarm_plugin.h"

#include <jansson.h>

/* Reports tokenizer.json (parsed: tok) as the metadata convert_hf_to_gguf.py writes for a byte-level BPE
 * vocabulary: tokenizer.ggml.model "gpt2", .pre (by the pre-tokenizer: "gpt-2", "llama-bpe" or "qwen2"),
 * .tokens, .token_type and .merges. Refuses other models and pre-tokenizers by name. */
int hf_tok_read(const swarm_host *host, swarm_call *call, json_t *tok);

/* The number of tokens of a tokenizer.ggml.tokens value (JSON text), or -1 when it is not an array. */
long long hf_tok_count(const char *tokens);

#endif
