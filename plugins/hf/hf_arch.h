/* hf_arch.h — what llama.cpp's convert_hf_to_gguf.py does per architecture, as tables shared by the `hf`
 * format (hyperparameters from config.json) and the `gguf_tensors` op (tensor names, Q/K permutation,
 * shape checks). C99, no swarm header but the ABI's. */
#ifndef HF_ARCH_H
#define HF_ARCH_H

#include <stddef.h>
#include <string.h>

/* A Hugging Face architecture swarm converts: config.json's "architectures"[0], the GGUF architecture,
 * whether q_proj/k_proj rows are permuted for llama's rotary layout, whether attention has biases. */
typedef struct {
    const char *hf, *gguf;
    int permute, qkv_bias;
} hf_arch;

static const hf_arch hf_archs[] = {
    {"LlamaForCausalLM", "llama", 1, 0},
    {"MistralForCausalLM", "llama", 1, 0},
    {"Qwen2ForCausalLM", "qwen2", 0, 1},
};

/* The architecture of a GGUF name ("llama"), or NULL. */
static inline const hf_arch *hf_arch_of_gguf(const char *gguf)
{
    for (size_t i = 0; gguf && i < sizeof hf_archs / sizeof *hf_archs; i++)
        if (!strcmp(hf_archs[i].gguf, gguf))
            return &hf_archs[i];
    return NULL;
}

/* Hyperparameters: config.json's key, the GGUF key after "ARCH.", its type, and whether it is required
 * (an optional one absent is not written, as the converter does). */
typedef struct {
    const char *config, *gguf, *type;
    int required;
} hf_hparam;

static const hf_hparam hf_hparams[] = {
    {"max_position_embeddings", "context_length", "u32", 1},
    {"hidden_size", "embedding_length", "u32", 1},
    {"num_hidden_layers", "block_count", "u32", 1},
    {"intermediate_size", "feed_forward_length", "u32", 1},
    {"num_attention_heads", "attention.head_count", "u32", 1},
    {"num_key_value_heads", "attention.head_count_kv", "u32", 0},
    {"rope_theta", "rope.freq_base", "f32", 0},
    {"rms_norm_eps", "attention.layer_norm_rms_epsilon", "f32", 1},
    {"vocab_size", "vocab_size", "u32", 1},
};

/* Indexes of the dimensions a tensor's shape is checked against (hf_dims in the op). */
enum { D_VOCAB, D_HIDDEN, D_FFN, D_Q, D_KV, D_NONE };

/* A tensor of a layer (model.layers.N.HF -> blk.N.GGUF) or of the model (HF -> GGUF): its expected
 * shape in PyTorch's order (rows, columns; D_NONE for a 1-D tensor's second), which rows to permute
 * (heads: 'q' n_head, 'k' n_head_kv, 0 none), and whether only architectures with biases have it. */
typedef struct {
    const char *hf, *gguf;
    int rows, cols, permute, bias;
} hf_tensor;

static const hf_tensor hf_layer_tensors[] = {
    {"input_layernorm.weight", "attn_norm.weight", D_HIDDEN, D_NONE, 0, 0},
    {"self_attn.q_proj.weight", "attn_q.weight", D_Q, D_HIDDEN, 'q', 0},
    {"self_attn.k_proj.weight", "attn_k.weight", D_KV, D_HIDDEN, 'k', 0},
    {"self_attn.v_proj.weight", "attn_v.weight", D_KV, D_HIDDEN, 0, 0},
    {"self_attn.o_proj.weight", "attn_output.weight", D_HIDDEN, D_Q, 0, 0},
    {"post_attention_layernorm.weight", "ffn_norm.weight", D_HIDDEN, D_NONE, 0, 0},
    {"mlp.gate_proj.weight", "ffn_gate.weight", D_FFN, D_HIDDEN, 0, 0},
    {"mlp.up_proj.weight", "ffn_up.weight", D_FFN, D_HIDDEN, 0, 0},
    {"mlp.down_proj.weight", "ffn_down.weight", D_HIDDEN, D_FFN, 0, 0},
    {"self_attn.q_proj.bias", "attn_q.bias", D_Q, D_NONE, 0, 1},
    {"self_attn.k_proj.bias", "attn_k.bias", D_KV, D_NONE, 0, 1},
    {"self_attn.v_proj.bias", "attn_v.bias", D_KV, D_NONE, 0, 1},
};

static const hf_tensor hf_model_tensors[] = {
    {"model.embed_tokens.weight", "token_embd.weight", D_VOCAB, D_HIDDEN, 0, 0},
    {"model.norm.weight", "output_norm.weight", D_HIDDEN, D_NONE, 0, 0},
    {"lm_head.weight", "output.weight", D_VOCAB, D_HIDDEN, 0, 0},
};

#endif
