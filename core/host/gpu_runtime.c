/* gpu_runtime.c — the GPU runtime loader (see gpu_runtime.h): dlopen of libamdhip64 or libcudart, the
 * handful of functions the host needs, and their errors as sw_error messages. HIP and CUDA share these
 * functions' signatures and the copy kinds (1 host to device, 2 device to host), so one table serves both. */
#include "host/gpu_runtime.h"
#include "base/error.h"
#include "swarm_plugin.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SW_GPU_H2D = 1, SW_GPU_D2H = 2 }; /* hipMemcpyKind / cudaMemcpyKind */

struct sw_gpu_rt {
    const char *name; /* "HIP", "CUDA" */
    int (*malloc_)(void **p, size_t size);
    int (*free_)(void *p);
    int (*memcpy_)(void *dst, const void *src, size_t n, int kind);
    int (*device_count)(int *n);
    const char *(*error_string)(int e);
};

/* What each runtime is called: its library names, most likely first, the variable that overrides them,
 * and its functions' prefix. */
typedef struct {
    int32_t device_type;
    const char *name, *env, *prefix;
    const char *libs[5];
} sw_gpu_kind;

static const sw_gpu_kind sw_gpu_kinds[] = {
    {SWARM_DEVICE_ROCM, "HIP", "SWARM_HIP_RUNTIME", "hip",
     {"libamdhip64.so", "libamdhip64.so.6", "libamdhip64.so.5", NULL}},
    {SWARM_DEVICE_CUDA, "CUDA", "SWARM_CUDA_RUNTIME", "cuda",
     {"libcudart.so", "libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0", NULL}},
};

/* One slot per kind: loaded once, then read without the lock (done is written last, under it). */
static struct {
    int done, rc;
    char why[512];
    struct sw_gpu_rt rt;
} sw_gpu_slots[2];
static pthread_mutex_t sw_gpu_lock = PTHREAD_MUTEX_INITIALIZER;

/* The runtime library: the one named by the kind's variable; else one already loaded (the companion's);
 * else the first of the names that loads. NULL with why set when none does. */
static void *sw_gpu_open(const sw_gpu_kind *k, char *why, size_t len)
{
    const char *env = getenv(k->env);
    void *lib = NULL;
    if (env && *env) {
        if (!(lib = dlopen(env, RTLD_NOW | RTLD_LOCAL)))
            snprintf(why, len, "%s", dlerror());
        return lib;
    }
    for (size_t i = 0; k->libs[i] && !lib; i++)
        lib = dlopen(k->libs[i], RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    for (size_t i = 0; k->libs[i] && !lib; i++)
        lib = dlopen(k->libs[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        snprintf(why, len, "%s (cannot load %s)", dlerror(), k->libs[0]);
    return lib;
}

/* Looks up PREFIX + name in lib. */
static void *sw_gpu_sym(void *lib, const sw_gpu_kind *k, const char *name, char *why, size_t len)
{
    char full[64];
    snprintf(full, sizeof full, "%s%s", k->prefix, name);
    void *f = dlsym(lib, full);
    if (!f)
        snprintf(why, len, "the runtime has no %s", full);
    return f;
}

/* Loads kind k into its slot: the library and every function, or why not. Never dlclose'd. */
static int sw_gpu_load(const sw_gpu_kind *k, struct sw_gpu_rt *rt, char *why, size_t len)
{
    void *lib = sw_gpu_open(k, why, len);
    if (!lib)
        return -1;
    rt->name = k->name;
    /* The casts go through void (*)(void), the way dlsym's POSIX contract allows for functions. */
#define SW_GPU_FN(field, name)                                                                                  \
    if (!(*(void **)&rt->field = sw_gpu_sym(lib, k, name, why, len)))                                           \
        return -1;
    SW_GPU_FN(malloc_, "Malloc")
    SW_GPU_FN(free_, "Free")
    SW_GPU_FN(memcpy_, "Memcpy")
    SW_GPU_FN(device_count, "GetDeviceCount")
    SW_GPU_FN(error_string, "GetErrorString")
#undef SW_GPU_FN
    int n = 0, e = rt->device_count(&n);
    if (e || n < 1) {
        snprintf(why, len, "no device (%s)", e ? rt->error_string(e) : "none found");
        return -1;
    }
    return 0;
}

int sw_gpu_runtime(const sw_gpu_rt **out, int32_t device_type)
{
    size_t i = device_type == SWARM_DEVICE_ROCM ? 0 : device_type == SWARM_DEVICE_CUDA ? 1 : 2;
    if (i > 1)
        return sw_error(SW_ERETRY, "device type %d has no GPU runtime", (int)device_type);
    pthread_mutex_lock(&sw_gpu_lock);
    if (!sw_gpu_slots[i].done) {
        sw_gpu_slots[i].rc = sw_gpu_load(&sw_gpu_kinds[i], &sw_gpu_slots[i].rt, sw_gpu_slots[i].why,
                                         sizeof sw_gpu_slots[i].why);
        sw_gpu_slots[i].done = 1;
    }
    pthread_mutex_unlock(&sw_gpu_lock);
    if (sw_gpu_slots[i].rc)
        return sw_error(SW_ERETRY, "no %s runtime: %s", sw_gpu_kinds[i].name, sw_gpu_slots[i].why);
    *out = &sw_gpu_slots[i].rt;
    return 0;
}

int sw_gpu_alloc(const sw_gpu_rt *rt, void **out, size_t size)
{
    *out = NULL;
    int e = rt->malloc_(out, size ? size : 1);
    if (e || !*out)
        return sw_error(SW_ERETRY, "out of device memory: cannot allocate %zu bytes (%s)", size,
                        e ? rt->error_string(e) : "NULL");
    return 0;
}

void sw_gpu_free(const sw_gpu_rt *rt, void *p)
{
    if (p)
        rt->free_(p);
}

/* A copy of either direction. */
static int sw_gpu_copy(const sw_gpu_rt *rt, void *dst, const void *src, size_t n, int kind)
{
    int e = n ? rt->memcpy_(dst, src, n, kind) : 0;
    if (e)
        return sw_error(SW_ERETRY, "%s copy of %zu bytes %s the device failed: %s", rt->name, n,
                        kind == SW_GPU_H2D ? "to" : "from", rt->error_string(e));
    return 0;
}

int sw_gpu_to_device(const sw_gpu_rt *rt, void *dst, const void *src, size_t n)
{
    return sw_gpu_copy(rt, dst, src, n, SW_GPU_H2D);
}

int sw_gpu_to_host(const sw_gpu_rt *rt, void *dst, const void *src, size_t n)
{
    return sw_gpu_copy(rt, dst, src, n, SW_GPU_D2H);
}
