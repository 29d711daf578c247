/* parallel.c — the threads of a dedup op. Each slice writes only its own documents' results, so the
 * outputs are the same whatever the number of threads; only the wall time changes. The number of
 * threads is chosen here, never a param (it must not enter the cache key). */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "parallel.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

int dd_threads(uint64_t n)
{
    const char *env = getenv("SWARM_DEDUP_THREADS");
    long t = 0;
    if (env && *env) {
        char *end;
        t = strtol(env, &end, 10);
        if (*end || t < 1 || t > DD_MAX_THREADS)
            t = 0;
    }
    if (!t) {
        t = sysconf(_SC_NPROCESSORS_ONLN);
        t = t < 1 ? 1 : t > 16 ? 16 : t;
    }
    if ((uint64_t)t > n / 64)
        t = n / 64 ? (long)(n / 64) : 1;
    return (int)t;
}

uint64_t dd_slice_start(uint64_t n, int nthreads, int t)
{
    uint64_t q = n / (uint64_t)nthreads, r = n % (uint64_t)nthreads;
    return q * (uint64_t)t + r * (uint64_t)t / (uint64_t)nthreads;
}

typedef struct {
    void (*fn)(void *ctx, int t, uint64_t lo, uint64_t hi);
    void *ctx;
    int t;
    uint64_t lo, hi;
} dd_slice;

static void *dd_slice_main(void *arg)
{
    dd_slice *s = (dd_slice *)arg; /* a cast, so that C++ (the GPU benchmark) compiles this file too */
    s->fn(s->ctx, s->t, s->lo, s->hi);
    return NULL;
}

/* Starts slices 1 .. nthreads-1, runs slice 0, joins; a slice whose thread did not start runs here. */
void dd_parallel(int nthreads, uint64_t n, void (*fn)(void *ctx, int t, uint64_t lo, uint64_t hi), void *ctx)
{
    pthread_t th[DD_MAX_THREADS];
    dd_slice sl[DD_MAX_THREADS];
    int started[DD_MAX_THREADS];
    if (nthreads < 1)
        nthreads = 1;
    if (nthreads > DD_MAX_THREADS)
        nthreads = DD_MAX_THREADS;
    for (int t = 0; t < nthreads; t++) {
        sl[t].fn = fn;
        sl[t].ctx = ctx;
        sl[t].t = t;
        sl[t].lo = dd_slice_start(n, nthreads, t);
        sl[t].hi = dd_slice_start(n, nthreads, t + 1);
        started[t] = t > 0 && !pthread_create(&th[t], NULL, dd_slice_main, &sl[t]);
    }
    for (int t = 0; t < nthreads; t++)
        if (!started[t])
            dd_slice_main(&sl[t]);
    for (int t = 1; t < nthreads; t++)
        if (started[t])
            pthread_join(th[t], NULL);
}
