/* dd.h — what the files of the dedup plugin share: an allocator handle, so that the clustering code
 * takes its temporary memory from the host's scratch (swarm_host.alloc_scratch) in the plugin and from
 * malloc in the unit test, and the integer helpers every part uses. Everything here is C99. */
#ifndef SW_DEDUP_DD_H
#define SW_DEDUP_DD_H

#include <stddef.h>
#include <stdint.h>

/* Temporary memory: fn(ctx, size) returns a block aligned for any type, or NULL. Blocks are never freed
 * one by one: the owner of ctx frees them all when the call ends. */
typedef struct dd_alloc {
    void *(*fn)(void *ctx, size_t size);
    void *ctx;
} dd_alloc;

/* n * size bytes from a, or NULL when that overflows size_t or the allocator fails. */
static inline void *dd_alloc_array(const dd_alloc *a, uint64_t n, size_t size)
{
    size_t bytes;
    if (size && n > (uint64_t)(SIZE_MAX / size))
        return NULL;
    bytes = (size_t)n * size;
    return a->fn(a->ctx, bytes > 0 ? bytes : 1);
}

/* The smallest power of two >= 2 * n and >= 16: the capacity of an open-addressing table of n keys,
 * at most half full. 0 when it would not fit in 63 bits. */
static inline uint64_t dd_table_cap(uint64_t n)
{
    uint64_t cap = 16;
    while (cap < 2 * n) {
        if (cap >> 62)
            return 0;
        cap <<= 1;
    }
    return cap;
}

#endif
