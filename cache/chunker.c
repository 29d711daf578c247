/* chunker.c — FastCDC cut-point search (see chunker.h).
 *
 * The fingerprint is a gear hash, fp = (fp << 1) + gear[byte]: bit k of fp depends on the last k+1
 * bytes, so testing the top bits looks at a 64-byte window. Normalized chunking (FastCDC, Xia et al.
 * 2016) tests a harder mask (18 bits) before the average size and an easier one (14 bits) after it,
 * which narrows the size distribution around 64 KiB. Hashing starts 64 bytes before the minimum size so
 * the first possible cut already sees a full window: boundaries depend on content alone. */
#include "cache/chunker.h"

#include "cache/chunker_gear.h"

#define SW_MASK_S (~0ULL << (64 - 18))
#define SW_MASK_L (~0ULL << (64 - 14))
#define SW_WINDOW 64u

void sw_chunker_init(sw_chunker *c)
{
    c->fp = 0;
    c->len = 0;
}

/* Runs the gear hash over p[i..limit) and returns the index just past the first byte where fp & mask
 * is zero (with SW_FOUND set), or limit. Four bytes per step: each of the four fingerprints is computed
 * from the one before the step (fp << k plus the shifted gear values; arithmetic wraps, so the values
 * are exactly those of the byte-by-byte recurrence), which cuts the serial dependency chain by four. */
#define SW_FOUND ((size_t)1 << 63)
static inline size_t sw_gear_run(const uint8_t *p, size_t i, size_t limit, uint64_t *fpp, uint64_t mask)
{
    uint64_t fp = *fpp;
    while (i + 4 <= limit) {
        uint64_t g0 = sw_gear[p[i]], g1 = sw_gear[p[i + 1]], g2 = sw_gear[p[i + 2]], g3 = sw_gear[p[i + 3]];
        uint64_t h2 = (g0 << 1) + g1, h3 = (h2 << 1) + g2, h4 = (h3 << 1) + g3;
        uint64_t f1 = (fp << 1) + g0, f2 = (fp << 2) + h2, f3 = (fp << 3) + h3, f4 = (fp << 4) + h4;
        if (!(f1 & mask) | !(f2 & mask) | !(f3 & mask) | !(f4 & mask)) {
            int k = !(f1 & mask) ? 1 : !(f2 & mask) ? 2 : !(f3 & mask) ? 3 : 4;
            *fpp = k == 1 ? f1 : k == 2 ? f2 : k == 3 ? f3 : f4;
            return (i + (size_t)k) | SW_FOUND;
        }
        fp = f4;
        i += 4;
    }
    while (i < limit) {
        fp = (fp << 1) + sw_gear[p[i++]];
        if (!(fp & mask)) {
            *fpp = fp;
            return i | SW_FOUND;
        }
    }
    *fpp = fp;
    return i;
}

/* The end of the next phase: the chunk length bound phase_end, or the buffer's end. */
static inline size_t sw_phase_limit(size_t i, size_t n, uint32_t len, uint32_t phase_end)
{
    size_t room = phase_end > len ? phase_end - len : 0;
    return n - i < room ? n : i + room;
}

size_t sw_chunker_scan(sw_chunker *c, const uint8_t *p, size_t n, int *cut)
{
    uint64_t fp = c->fp;
    uint32_t len = c->len;
    size_t i = 0, limit, r;
    *cut = 0;

    /* Bytes before the window that precedes the minimum size never influence a cut. */
    limit = sw_phase_limit(i, n, len, SW_CHUNK_MIN - SW_WINDOW);
    len += (uint32_t)(limit - i);
    i = limit;
    /* Warm the window up without testing. */
    limit = sw_phase_limit(i, n, len, SW_CHUNK_MIN);
    for (; i < limit; i++, len++)
        fp = (fp << 1) + sw_gear[p[i]];
    /* Before the average size: the harder mask; after it: the easier one. */
    const uint64_t masks[2] = {SW_MASK_S, SW_MASK_L};
    const uint32_t ends[2] = {SW_CHUNK_AVG, SW_CHUNK_MAX};
    for (int phase = 0; phase < 2; phase++) {
        limit = sw_phase_limit(i, n, len, ends[phase]);
        r = sw_gear_run(p, i, limit, &fp, masks[phase]);
        len += (uint32_t)((r & ~SW_FOUND) - i);
        i = r & ~SW_FOUND;
        if (r & SW_FOUND)
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
