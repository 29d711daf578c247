/* chunker.c — FastCDC cut-point search (see chunker.h).
 *
 * The fingerprint is a gear hash, fp = (fp << 1) + gear[byte]: bit k of fp depends on the last k+1
 * bytes, so testing the top bits looks at a 64-byte window. Normalized chunking (FastCDC, Xia et al.
 * 2016) tests a harder mask (18 bits) before the average size and an easier one (14 bits) after it,
 * which narrows the size distribution around 64 KiB. Hashing starts 64 bytes before the minimum size so
 * the first possible cut already sees a full window: boundaries depend on content alone. */
#include "chunker.h"

#include "chunker_gear.h"

#define SW_MASK_S (~0ULL << (64 - 18))
#define SW_MASK_L (~0ULL << (64 - 14))
#define SW_WINDOW 64u

void sw_chunker_init(sw_chunker *c)
{
    c->fp = 0;
    c->len = 0;
}

size_t sw_chunker_scan(sw_chunker *c, const uint8_t *p, size_t n, int *cut)
{
    uint64_t fp = c->fp;
    uint32_t len = c->len;
    size_t i = 0;
    *cut = 0;

    /* Bytes before the window that precedes the minimum size never influence a cut. */
    if (len < SW_CHUNK_MIN - SW_WINDOW) {
        size_t skip = SW_CHUNK_MIN - SW_WINDOW - len;
        if (skip > n)
            skip = n;
        i += skip;
        len += (uint32_t)skip;
    }
    /* Warm the window up without testing. */
    while (i < n && len < SW_CHUNK_MIN) {
        fp = (fp << 1) + sw_gear[p[i++]];
        len++;
    }
    while (i < n && len < SW_CHUNK_AVG) {
        fp = (fp << 1) + sw_gear[p[i++]];
        len++;
        if (!(fp & SW_MASK_S))
            goto found;
    }
    while (i < n && len < SW_CHUNK_MAX) {
        fp = (fp << 1) + sw_gear[p[i++]];
        len++;
        if (!(fp & SW_MASK_L))
            goto found;
    }
    if (len >= SW_CHUNK_MAX)
        goto found;
    c->fp = fp;
    c->len = len;
    return i;
found:
    *cut = 1;
    c->fp = 0;
    c->len = 0;
    return i;
}
