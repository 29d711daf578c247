/* quantbench.c — Q8_0 (or Q4_0) quantization of f32 in memory with the quant plugin's CPU variant,
 * against memcpy of the same bytes, both with the same number of threads, in the same run.
 *
 *     quantbench PLUGIN.so MIB THREADS [q8_0|q4_0]
 *
 * Prints "memcpy GB/s", "quantize GB/s" (f32 bytes in per second) and their ratio; best of 3 runs each.
 * Calls the op's infer and run directly through a minimal host table: what is measured is the kernel. */
#include "plugin_load.h"
#include "swarm_plugin.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int qb_set_error(swarm_call *call, int code, const char *fmt, ...)
{
    va_list ap;
    (void)call;
    va_start(ap, fmt);
    fprintf(stderr, "quantbench: plugin error: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

static const swarm_host qb_host = {SWARM_PLUGIN_ABI_VERSION, sizeof(swarm_host), qb_set_error, NULL, NULL,
                                   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

typedef struct {
    const swarm_variant *v;
    swarm_param_value type;
    float *in;
    uint8_t *out, *copy;
    int64_t rows, cols;
    int memcpy_only, rc;
} qb_job;

static void *qb_work(void *arg)
{
    qb_job *j = arg;
    if (j->memcpy_only) {
        memcpy(j->copy, j->in, (size_t)(j->rows * j->cols * 4));
        return NULL;
    }
    int64_t xs[2] = {j->rows, j->cols}, ys[SWARM_MAX_NDIM];
    swarm_value x = {SWARM_KIND_TENSOR, {.tensor = {j->in, {SWARM_DEVICE_CPU, 0}, 2, {SWARM_DTYPE_FLOAT, 32, 1}, xs, NULL, 0}}};
    swarm_value y = {SWARM_KIND_TENSOR, {.tensor = {NULL, {SWARM_DEVICE_CPU, 0}, 0, {0, 0, 0}, ys, NULL, 0}}};
    j->rc = j->v->infer(&qb_host, NULL, &j->type, &x, &y);
    y.u.tensor.data = j->out;
    if (!j->rc)
        j->rc = j->v->run(&qb_host, NULL, &j->type, &x, &y);
    return NULL;
}

static double qb_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Best time of 3 over nthreads jobs, each a share of the rows. */
static double qb_time(qb_job *jobs, int nthreads, int memcpy_only)
{
    double best = 1e30;
    for (int round = 0; round < 3; round++) {
        pthread_t t[64];
        double s = qb_now();
        for (int i = 0; i < nthreads; i++) {
            jobs[i].memcpy_only = memcpy_only;
            pthread_create(&t[i], NULL, qb_work, &jobs[i]);
        }
        for (int i = 0; i < nthreads; i++)
            pthread_join(t[i], NULL);
        double e = qb_now() - s;
        best = e < best ? e : best;
        for (int i = 0; i < nthreads; i++)
            if (jobs[i].rc)
                exit(1);
    }
    return best;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: quantbench PLUGIN.so MIB THREADS [q8_0|q4_0]\n");
        return 2;
    }
    int64_t mib = atoll(argv[2]), cols = 4096;
    int nthreads = atoi(argv[3]), q4 = argc > 4 && !strcmp(argv[4], "q4_0");
    if (mib < 1 || nthreads < 1 || nthreads > 64)
        return 2;
    const swarm_op *op = tool_find_op(tool_load_plugin(argv[1]), "quantize");
    if (!op) {
        fprintf(stderr, "quantbench: no quantize op in %s\n", argv[1]);
        return 1;
    }
    int64_t rows = mib * 1024 * 1024 / 4 / cols, per = rows / nthreads;
    float *in = malloc((size_t)(rows * cols * 4));
    uint8_t *out = malloc((size_t)(rows * cols / 32 * 34)), *copy = malloc((size_t)(rows * cols * 4));
    if (!in || !out || !copy)
        return 1;
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (int64_t i = 0; i < rows * cols; i++) { /* fixed seed; writing also faults every page in */
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        in[i] = (float)(int64_t)(s >> 40) / 8388608.0f - 1.0f;
    }
    memset(out, 0, (size_t)(rows * cols / 32 * 34));
    memset(copy, 0, (size_t)(rows * cols * 4));
    qb_job jobs[64];
    size_t bb = q4 ? 18 : 34;
    for (int i = 0; i < nthreads; i++) {
        int64_t r0 = per * i, n = i == nthreads - 1 ? rows - r0 : per;
        jobs[i] = (qb_job){op->variants[0], {.i = q4}, in + r0 * cols, out + r0 * cols / 32 * bb,
                           copy + r0 * cols * 4, n, cols, 0, 0};
    }
    double bytes = (double)rows * cols * 4;
    double tm = qb_time(jobs, nthreads, 1), tq = qb_time(jobs, nthreads, 0);
    printf("memcpy   %.2f GB/s (%d threads, %lld MiB)\n", bytes / tm / 1e9, nthreads, (long long)mib);
    printf("%s   %.2f GB/s of f32 in\n", q4 ? "q4_0" : "q8_0", bytes / tq / 1e9);
    printf("ratio    %.0f%% of memcpy\n", 100.0 * tm / tq);
    return 0;
}
