/* gen.c — deterministic test data, fast enough for gigabytes.
 *
 *   gen bytes SEED SIZE OUT        SIZE pseudo-random bytes (xoshiro256**) from SEED
 *   gen checkpoint SEED SIZE OUT   a safetensors file of float32 tensors, about SIZE bytes, with values
 *                                  drawn like trained weights (roughly normal, std 0.02)
 *   gen llama SEED SIZE DIR        a Llama-shaped Hugging Face checkpoint of about SIZE bytes of bf16 in
 *                                  DIR: config.json and model.safetensors (hidden 2048, 16 heads, 4 kv
 *                                  heads, ffn 5632, vocab 50257: GPT-2's, for mkllama.py tokenizer; as
 *                                  many layers as SIZE holds, at least 1), weights like checkpoint's
 * SIZE takes a K, M or G suffix (binary). The same arguments always give the same bytes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t s[4];

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next(void)
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

static void seed(uint64_t x)
{
    for (int i = 0; i < 4; i++) { /* splitmix64 */
        uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        s[i] = z ^ (z >> 31);
    }
}

static uint64_t parse_size(const char *a)
{
    char *end;
    uint64_t v = strtoull(a, &end, 10);
    switch (*end) {
    case 'G': v <<= 10; /* fall through */
    case 'M': v <<= 10; /* fall through */
    case 'K': v <<= 10;
    }
    return v;
}

static int bytes(FILE *f, uint64_t size)
{
    static uint64_t buf[1 << 17];
    while (size) {
        for (size_t i = 0; i < sizeof buf / 8; i++)
            buf[i] = next();
        size_t n = size < sizeof buf ? (size_t)size : sizeof buf;
        if (fwrite(buf, 1, n, f) != n)
            return 1;
        size -= n;
    }
    return 0;
}

/* Sum of four uniforms: cheap, roughly normal. */
static float weight(void)
{
    uint64_t r = next();
    float u = (float)((r & 0xffff) + ((r >> 16) & 0xffff) + ((r >> 32) & 0xffff) + (r >> 48)) / 65536.0f - 2.0f;
    return u * 0.02f * 1.732f;
}

static int checkpoint(FILE *f, uint64_t size)
{
    /* Square-ish 2-D tensors of 4 Mi floats (16 MiB), plus a 1-D norm weight per layer. */
    uint64_t rows = 2048, cols = 2048, per = rows * cols * 4, n = size / per ? size / per : 1;
    char *hdr = malloc(256 * (n + 1) + 64), *p = hdr;
    uint64_t off = 0;
    p += sprintf(p, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (uint64_t i = 0; i < n; i++) {
        p += sprintf(p, ",\"layers.%llu.weight\":{\"dtype\":\"F32\",\"shape\":[%llu,%llu],\"data_offsets\":[%llu,%llu]}",
                     (unsigned long long)i, (unsigned long long)rows, (unsigned long long)cols,
                     (unsigned long long)off, (unsigned long long)(off + per));
        off += per;
    }
    p += sprintf(p, "}");
    size_t len = (size_t)(p - hdr);
    while (len % 8)
        hdr[len++] = ' ';
    uint64_t n8 = len;
    if (fwrite(&n8, 8, 1, f) != 1 || fwrite(hdr, 1, len, f) != len)
        return 1;
    free(hdr);
    static float buf[1 << 16];
    for (uint64_t left = off / 4; left;) {
        size_t k = left < (1 << 16) ? (size_t)left : (1 << 16);
        for (size_t i = 0; i < k; i++)
            buf[i] = weight();
        if (fwrite(buf, 4, k, f) != k)
            return 1;
        left -= k;
    }
    return 0;
}

/* f32 to bf16, rounding to nearest even (the weights are finite). */
static uint16_t bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}

/* The Llama checkpoint's shape, Hugging Face's tensors in its state dict order. */
enum { LL_H = 2048, LL_HEADS = 16, LL_KV = 512, LL_FFN = 5632, LL_VOCAB = 50257 };
static const struct {
    const char *name;
    uint64_t rows, cols; /* cols 0: 1-D, values near 1 (a norm) */
} ll_layer[] = {
    {"input_layernorm.weight", LL_H, 0},     {"self_attn.q_proj.weight", LL_H, LL_H},
    {"self_attn.k_proj.weight", LL_KV, LL_H}, {"self_attn.v_proj.weight", LL_KV, LL_H},
    {"self_attn.o_proj.weight", LL_H, LL_H}, {"post_attention_layernorm.weight", LL_H, 0},
    {"mlp.gate_proj.weight", LL_FFN, LL_H},   {"mlp.up_proj.weight", LL_FFN, LL_H},
    {"mlp.down_proj.weight", LL_H, LL_FFN},
};

/* Appends one tensor's header entry, advancing *off past its bf16 bytes. */
static char *ll_entry(char *p, const char *name, uint64_t rows, uint64_t cols, uint64_t *off)
{
    uint64_t n = rows * (cols ? cols : 1) * 2;
    if (cols)
        p += sprintf(p, "%s\"%s\":{\"dtype\":\"BF16\",\"shape\":[%llu,%llu],\"data_offsets\":[%llu,%llu]}",
                     *off ? "," : "", name, (unsigned long long)rows, (unsigned long long)cols,
                     (unsigned long long)*off, (unsigned long long)(*off + n));
    else
        p += sprintf(p, ",\"%s\":{\"dtype\":\"BF16\",\"shape\":[%llu],\"data_offsets\":[%llu,%llu]}", name,
                     (unsigned long long)rows, (unsigned long long)*off, (unsigned long long)(*off + n));
    *off += n;
    return p;
}

/* Writes n bf16 values: weights, or norms near 1. */
static int ll_values(FILE *f, uint64_t n, int norm)
{
    static uint16_t buf[1 << 16];
    while (n) {
        size_t k = n < (1 << 16) ? (size_t)n : (1 << 16);
        for (size_t i = 0; i < k; i++)
            buf[i] = bf16(norm ? 1.0f + weight() : weight());
        if (fwrite(buf, 2, k, f) != k)
            return 1;
        n -= k;
    }
    return 0;
}

/* config.json and model.safetensors of a Llama of about size bytes in dir. */
static int llama(const char *dir, uint64_t size)
{
    uint64_t per = 0, fixed = 2ull * 2 * LL_VOCAB * LL_H + 2 * LL_H, off = 0, layers;
    char path[4096];
    for (size_t i = 0; i < sizeof ll_layer / sizeof *ll_layer; i++)
        per += 2 * ll_layer[i].rows * (ll_layer[i].cols ? ll_layer[i].cols : 1);
    layers = size > fixed + per ? (size - fixed + per / 2) / per : 1;
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *c = fopen(path, "w");
    if (!c)
        return 1;
    fprintf(c, "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": %d, "
               "\"intermediate_size\": %d, \"num_hidden_layers\": %llu, \"num_attention_heads\": %d, "
               "\"num_key_value_heads\": %d, \"max_position_embeddings\": 2048, \"rms_norm_eps\": 1e-05, "
               "\"rope_theta\": 10000.0, \"vocab_size\": %d, \"bos_token_id\": 50256, \"eos_token_id\": 50256, "
               "\"tie_word_embeddings\": false, \"torch_dtype\": \"bfloat16\"}\n",
            LL_H, LL_FFN, (unsigned long long)layers, LL_HEADS, LL_KV / (LL_H / LL_HEADS), LL_VOCAB);
    if (fclose(c))
        return 1;
    char *hdr = malloc(256 * (layers * 9 + 4) + 64), *p = hdr, name[128];
    p += sprintf(p, "{\"__metadata__\":{\"format\":\"pt\"},");
    p = ll_entry(p, "model.embed_tokens.weight", LL_VOCAB, LL_H, &off);
    for (uint64_t l = 0; l < layers; l++)
        for (size_t i = 0; i < sizeof ll_layer / sizeof *ll_layer; i++) {
            snprintf(name, sizeof name, "model.layers.%llu.%s", (unsigned long long)l, ll_layer[i].name);
            p = ll_entry(p, name, ll_layer[i].rows, ll_layer[i].cols, &off);
        }
    p = ll_entry(p, "model.norm.weight", LL_H, 0, &off);
    p = ll_entry(p, "lm_head.weight", LL_VOCAB, LL_H, &off);
    p += sprintf(p, "}");
    size_t len = (size_t)(p - hdr);
    while (len % 8)
        hdr[len++] = ' ';
    uint64_t n8 = len;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "wb");
    int r = !f || fwrite(&n8, 8, 1, f) != 1 || fwrite(hdr, 1, len, f) != len;
    free(hdr);
    r = r || ll_values(f, (uint64_t)LL_VOCAB * LL_H, 0);
    for (uint64_t l = 0; !r && l < layers; l++)
        for (size_t i = 0; !r && i < sizeof ll_layer / sizeof *ll_layer; i++)
            r = ll_values(f, ll_layer[i].rows * (ll_layer[i].cols ? ll_layer[i].cols : 1), !ll_layer[i].cols);
    r = r || ll_values(f, LL_H, 1) || ll_values(f, (uint64_t)LL_VOCAB * LL_H, 0);
    return (f && fclose(f)) || r;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: gen bytes|checkpoint|llama SEED SIZE OUT\n");
        return 2;
    }
    seed(strtoull(argv[2], NULL, 10));
    uint64_t size = parse_size(argv[3]);
    if (!strcmp(argv[1], "llama"))
        return llama(argv[4], size) ? (fprintf(stderr, "gen: failed\n"), 1) : 0;
    FILE *f = strcmp(argv[4], "-") ? fopen(argv[4], "wb") : stdout;
    if (!f) {
        perror(argv[4]);
        return 1;
    }
    int r = !strcmp(argv[1], "bytes") ? bytes(f, size) : !strcmp(argv[1], "checkpoint") ? checkpoint(f, size) : 2;
    if (fclose(f) != 0)
        r = 1;
    if (r)
        fprintf(stderr, "gen: failed\n");
    return r;
}
