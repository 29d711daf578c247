/* data.h — what the files of the org.swarm.data plugin share: the formats and ops each file defines (data.c
 * puts them into the descriptor), a growing byte buffer, and little-endian loads and stores.
 *
 * Names: each file's own statics carry its prefix (jl_, wds_, tok_, shf_, flt_), so that the unit test can
 * compile every file into one translation unit. */
#ifndef SW_DATA_H
#define SW_DATA_H

#include "swarm_plugin.h"

#include <stddef.h>
#include <stdint.h>

extern const swarm_records_format dt_jsonl_format;
extern const swarm_records_format dt_wds_format;
extern const swarm_records_format dt_llmc_format;
extern const swarm_records_format dt_nanogpt_format;
extern const swarm_op dt_shuffle_op;
extern const swarm_op dt_filter_op;

/* A growing malloc'd byte buffer; zero-initialize it, free it with dt_buf_free. */
typedef struct dt_buf {
    uint8_t *p;
    size_t len, cap;
} dt_buf;

/* Makes room for extra more bytes (capacity doubles). Returns 0, or -1 when memory runs out or the size
 * overflows; the buffer is unchanged then. */
int dt_buf_reserve(dt_buf *b, size_t extra);
/* Appends n bytes; 0 or -1 as dt_buf_reserve. */
int dt_buf_put(dt_buf *b, const void *data, size_t n);
void dt_buf_free(dt_buf *b);

/* The CPU variants' probe: they run anywhere. */
int dt_cpu_probe(const swarm_host *host, swarm_call *call, int32_t device_id);

/* Checks that a records value's offsets are sound (start at 0, never decrease, end at nbytes at most);
 * on failure sets a BAD_INPUT error naming the first bad record and returns it. */
int dt_check_records(const swarm_host *host, swarm_call *call, const swarm_records *r);

static inline uint32_t dt_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void dt_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void dt_put_le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

#endif
