/* fake_hip.c — a stand-in for the HIP runtime (libamdhip64) for tests on machines without a GPU: the
 * functions swarm's loader (core/host/gpu_runtime.c) looks up, with "device" memory that is host memory.
 * $SWARM_FAKE_HIP_LOG names a file that gets one line per call (malloc SIZE, free, memcpy KIND SIZE),
 * so a test can see what the host staged; $SWARM_FAKE_HIP_FAIL=malloc makes every allocation fail as
 * out of memory, =devices reports no device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FAKE_OK = 0, FAKE_OUT_OF_MEMORY = 2, FAKE_NO_DEVICE = 100 };

int hipMalloc(void **p, size_t size);
int hipFree(void *p);
int hipMemcpy(void *dst, const void *src, size_t n, int kind);
int hipGetDeviceCount(int *n);
const char *hipGetErrorString(int e);

static void fake_log(const char *fmt, size_t a, size_t b)
{
    const char *path = getenv("SWARM_FAKE_HIP_LOG");
    FILE *f = path && *path ? fopen(path, "a") : NULL;
    if (!f)
        return;
    fprintf(f, fmt, a, b);
    fclose(f);
}

static int fake_fails(const char *what)
{
    const char *f = getenv("SWARM_FAKE_HIP_FAIL");
    return f && !strcmp(f, what);
}

int hipMalloc(void **p, size_t size)
{
    if (fake_fails("malloc")) {
        *p = NULL;
        return FAKE_OUT_OF_MEMORY;
    }
    *p = malloc(size);
    fake_log("malloc %zu\n", size, 0);
    return *p ? FAKE_OK : FAKE_OUT_OF_MEMORY;
}

int hipFree(void *p)
{
    free(p);
    fake_log("free\n", 0, 0);
    return FAKE_OK;
}

int hipMemcpy(void *dst, const void *src, size_t n, int kind)
{
    memcpy(dst, src, n);
    fake_log("memcpy %zu %zu\n", (size_t)kind, n);
    return FAKE_OK;
}

int hipGetDeviceCount(int *n)
{
    *n = fake_fails("devices") ? 0 : 1;
    return *n ? FAKE_OK : FAKE_NO_DEVICE;
}

const char *hipGetErrorString(int e)
{
    return e == FAKE_OUT_OF_MEMORY ? "hipErrorOutOfMemory (fake)" : e == FAKE_NO_DEVICE ? "hipErrorNoDevice (fake)" : "fake error";
}
