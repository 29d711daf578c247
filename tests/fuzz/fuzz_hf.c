/* fuzz_hf.c — a Hugging Face model folder from a stranger (plugins/hf/hf.c and hf_tok.c, compiled in), read
 * file by file as swarm's read stage reads it: each file sees the metadata and tensors the files before it
 * reported (meta_value and has_tensor on port 0). The input is the folder: entries of one byte naming the
 * file (below, modulo their count), a 16-bit little-endian length, then that many bytes; in input order.
 * Beyond no crash and no leak: a tokenizer.json that reads gives as many token types as tokens, at least
 * the vocab_size an earlier config.json gave (the padding), and every tensor lies inside its file. */
#include "hf/hf.c"
#include "hf/hf_tok.c"

#include "fuzz.h"

static const char *const fz_names[] = {"config.json", "model-00001-of-00002.safetensors", "model.safetensors.index.json",
                                       "tokenizer.json", "tokenizer_config.json", "zz.safetensors"};

/* What the folder's files reported so far. */
typedef struct {
    sw_tindex *done;
    size_t n;
} fz_folder;

static const char *fz_name(const void *ctx, size_t port)
{
    (void)ctx, (void)port;
    return NULL;
}

static const char *fz_meta(const void *ctx, size_t port, const char *key)
{
    const fz_folder *f = ctx;
    for (size_t i = 0; port == 0 && i < f->n; i++)
        for (size_t k = 0; k < f->done[i].nmeta; k++)
            if (!strcmp(f->done[i].meta[k].key, key))
                return f->done[i].meta[k].value;
    return NULL;
}

static int fz_has(const void *ctx, size_t port, const char *name)
{
    const fz_folder *f = ctx;
    for (size_t i = 0; port == 0 && i < f->n; i++)
        for (size_t k = 0; k < f->done[i].ntensors; k++)
            if (!strcmp(f->done[i].tensors[k].name, name))
                return 1;
    return 0;
}

/* The length of the JSON array in a metadata value, or -1. */
static long fz_array_len(const sw_tindex *ix, const char *key)
{
    for (size_t k = 0; k < ix->nmeta; k++)
        if (!strcmp(ix->meta[k].key, key)) {
            json_t *a = json_loads(ix->meta[k].value, 0, NULL);
            long n = json_is_array(a) ? (long)json_array_size(a) : -1;
            json_decref(a);
            return n;
        }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sw_plugin p = fz_plugin();
    const swarm_format *f = p.desc->formats[0];
    fz_folder folder = {sw_calloc(size / 3 + 1, sizeof *folder.done), 0};
    const sw_tview earlier = {fz_name, fz_meta, fz_has, &folder};
    size_t at = 0;
    while (size - at >= 3) {
        const char *name = fz_names[data[at] % (sizeof fz_names / sizeof *fz_names)];
        size_t len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
        at += 3;
        len = len < size - at ? len : size - at;
        const char *arch = fz_meta(&folder, 0, "general.architecture");
        char key[96];
        snprintf(key, sizeof key, "%.64s.vocab_size:u32", arch ? arch : "");
        const char *vocab = arch ? fz_meta(&folder, 0, key) : NULL;
        sw_tindex *ix = &folder.done[folder.n];
        if (sw_format_read(ix, &p, f, name, &earlier, data + at, len, -1) == 0) {
            for (size_t k = 0; k < ix->ntensors; k++)
                FZ_CHECK(ix->tensors[k].offset <= len && ix->tensors[k].nbytes <= len - ix->tensors[k].offset);
            long nt = fz_array_len(ix, "tokenizer.ggml.tokens:[string]");
            if (!strcmp(name, "tokenizer.json")) {
                FZ_CHECK(nt >= 1 && nt == fz_array_len(ix, "tokenizer.ggml.token_type:[i32]"));
                long want = vocab ? strtol(vocab, NULL, 10) : 0;
                FZ_CHECK(want > (1 << 24) || nt >= want);
            }
            folder.n++;
        }
        at += len;
    }
    for (size_t i = 0; i < folder.n; i++)
        sw_tindex_free(&folder.done[i]);
    free(folder.done);
    return 0;
}
