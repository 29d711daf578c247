/* util.c — small pieces the data plugin's files share (declared in data.h): the growing byte buffer, the
 * CPU probe, and the check of a records value's offsets. */
#include "data.h"

#include <stdlib.h>
#include <string.h>

/* Grows the buffer to hold at least extra more bytes, doubling from 4 KiB; -1 when the size overflows or
 * realloc fails, leaving the buffer as it was. */
int dt_buf_reserve(dt_buf *b, size_t extra)
{
    size_t need, ncap;
    uint8_t *p;
    if (extra > SIZE_MAX - b->len)
        return -1;
    need = b->len + extra;
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 4096;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : 2 * ncap;
    if (!(p = realloc(b->p, ncap)))
        return -1;
    b->p = p;
    b->cap = ncap;
    return 0;
}

int dt_buf_put(dt_buf *b, const void *data, size_t n)
{
    if (dt_buf_reserve(b, n))
        return -1;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

void dt_buf_free(dt_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int dt_cpu_probe(const swarm_host *host, swarm_call *call, int32_t device_id)
{
    (void)host;
    (void)call;
    (void)device_id;
    return 100;
}

/* The host hands sound offsets; this guards the plugin against a host bug turning into a wild read. */
int dt_check_records(const swarm_host *host, swarm_call *call, const swarm_records *r)
{
    if (r->count && !r->offsets)
        return host->set_error(call, SWARM_E_BAD_INPUT, "records without offsets");
    if (r->offsets && r->offsets[0] != 0)
        return host->set_error(call, SWARM_E_BAD_INPUT, "record 0: offsets do not start at 0");
    for (uint64_t i = 0; i < r->count; i++)
        if (r->offsets[i + 1] < r->offsets[i] || r->offsets[i + 1] > r->nbytes)
            return host->set_error(call, SWARM_E_BAD_INPUT, "record %llu: bad offsets", (unsigned long long)i);
    return SWARM_OK;
}
