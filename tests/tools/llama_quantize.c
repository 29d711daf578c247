/* llama_quantize.c — llama.cpp's own quantizer (what its llama-quantize tool runs), as a judge for tests
 * and a peer for make bench: loads libllama from DIR (the prebuilt one of node-llama-cpp that make deps
 * installs) and calls llama_model_quantize(IN, OUT) to TYPE with THREADS threads (default: all), with
 * llama.cpp's defaults otherwise (so llama.cpp picks each tensor's type as llama-quantize does). Exits 0
 * when llama.cpp wrote OUT, 1 when it failed, 2 when the library cannot be loaded or on a usage error.
 *     llama_quantize DIR IN OUT q8_0|q4_0|f16|bf16|f32 [THREADS] */
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* llama_model_quantize_params as llama.cpp's include/llama.h declares it in the release node-llama-cpp
 * 3.21.1 ships (its llama/gitRelease.bundle): the whole struct, since default_params returns it by value;
 * only nthread and ftype (its first two fields) are set here, the rest stay llama.cpp's defaults. */
struct llama_model_quantize_params {
    int32_t nthread;
    int32_t ftype;                /* enum llama_ftype */
    int32_t output_tensor_type;   /* enum ggml_type */
    int32_t token_embedding_type; /* enum ggml_type */
    bool allow_requantize, quantize_output_tensor, only_copy, pure, keep_split, dry_run;
    const void *imatrix, *kv_overrides, *tt_overrides;
    const int32_t *prune_layers;
    size_t max_buf_size;
};

/* llama.h's llama_ftype of a type name, or -1. */
static int ftype_of(const char *name)
{
    static const struct {
        const char *name;
        int ftype;
    } t[] = {{"f32", 0}, {"f16", 1}, {"q4_0", 2}, {"q8_0", 7}, {"bf16", 32}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(t[i].name, name))
            return t[i].ftype;
    return -1;
}

int main(int argc, char **argv)
{
    char lib[4096];
    int ftype = argc >= 5 ? ftype_of(argv[4]) : -1;
    if (argc < 5 || argc > 6 || ftype < 0) {
        fprintf(stderr, "usage: llama_quantize DIR IN OUT q8_0|q4_0|f16|bf16|f32 [THREADS]\n");
        return 2;
    }
    snprintf(lib, sizeof lib, "%s/libllama.v0.4.0.so", argv[1]);
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    void (*init)(void) = h ? (void (*)(void))dlsym(h, "llama_backend_init") : NULL;
    struct llama_model_quantize_params (*defaults)(void) =
        h ? (struct llama_model_quantize_params(*)(void))dlsym(h, "llama_model_quantize_default_params") : NULL;
    uint32_t (*quantize)(const char *, const char *, const struct llama_model_quantize_params *) =
        h ? (uint32_t(*)(const char *, const char *, const struct llama_model_quantize_params *))dlsym(h, "llama_model_quantize")
          : NULL;
    if (!init || !defaults || !quantize) {
        fprintf(stderr, "llama_quantize: cannot load %s: %s\n", lib, dlerror());
        return 2;
    }
    init();
    struct llama_model_quantize_params p = defaults();
    p.ftype = ftype;
    p.nthread = argc == 6 ? atoi(argv[5]) : 0;
    if (quantize(argv[2], argv[3], &p)) {
        fprintf(stderr, "llama_quantize: llama.cpp failed to quantize %s\n", argv[2]);
        return 1;
    }
    return 0;
}
