/* ggml_read.c — ggml's own GGUF reader as a judge: loads libggml-base.so from DIR (the prebuilt one of
 * node-llama-cpp that make deps installs) and reads each FILE with gguf_init_from_file in full-read mode
 * (no_alloc = false: every tensor's padded bytes are read into a ggml context, as llama-gguf-hash, control
 * vectors and imatrix do). Prints "ok FILE TENSORS" or "refused FILE" per file; exits 1 when one is
 * refused, 2 when the library cannot be loaded.
 *     ggml_read DIR FILE... */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct ggml_context;
struct gguf_context;
struct gguf_init_params { /* ggml's gguf.h */
    bool no_alloc;
    struct ggml_context **ctx;
};

int main(int argc, char **argv)
{
    char lib[4096];
    if (argc < 3) {
        fprintf(stderr, "usage: ggml_read DIR FILE...\n");
        return 2;
    }
    snprintf(lib, sizeof lib, "%s/libggml-base.so", argv[1]);
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    struct gguf_context *(*init)(const char *, struct gguf_init_params) = h ? (struct gguf_context * (*)(const char *, struct gguf_init_params)) dlsym(h, "gguf_init_from_file") : NULL;
    int64_t (*count)(const struct gguf_context *) = h ? (int64_t(*)(const struct gguf_context *))dlsym(h, "gguf_get_n_tensors") : NULL;
    void (*gfree)(struct gguf_context *) = h ? (void (*)(struct gguf_context *))dlsym(h, "gguf_free") : NULL;
    void (*cfree)(struct ggml_context *) = h ? (void (*)(struct ggml_context *))dlsym(h, "ggml_free") : NULL;
    if (!init || !count || !gfree || !cfree) {
        fprintf(stderr, "ggml_read: cannot load %s: %s\n", lib, dlerror());
        return 2;
    }
    int bad = 0;
    for (int i = 2; i < argc; i++) {
        struct ggml_context *ctx = NULL;
        struct gguf_init_params p = {false, &ctx};
        struct gguf_context *g = init(argv[i], p);
        if (g)
            printf("ok %s %lld\n", argv[i], (long long)count(g));
        else
            printf("refused %s\n", argv[i]);
        bad |= !g;
        if (g)
            gfree(g);
        if (ctx)
            cfree(ctx);
    }
    return bad;
}
