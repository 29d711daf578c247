/* exact.c — exact dedup (FORMATS.md: hash of the documented normalized text, keep the first occurrence).
 *
 * Two documents are duplicates when their normalized texts (normalize.c) are equal, decided by
 * XXH3_128bits (xxHash 0.8, seed 0) of those bytes: SHA-256 would need libcrypto in the plugin, and for
 * 128 bits the chance that any two of 10^9 different texts collide is about 10^-21, so equal hashes are
 * taken as equal texts without comparing them. Every document whose normalized text is empty (empty,
 * or separators only) has the same hash: the first of them is kept, the others removed. A document is
 * kept when no earlier one has its hash; otherwise its cluster is that of the first one that has it. */
#include "exact.h"

#include <string.h>
#include <xxhash.h>

dd_hash128 dd_exact_hash(const uint8_t *t, size_t n)
{
    XXH128_hash_t x = XXH3_128bits(t, n);
    dd_hash128 h;
    h.lo = x.low64;
    h.hi = x.high64;
    return h;
}

/* One pass in document order over an open-addressing table of first occurrences (slots hold index + 1,
 * 0 when free), probed from the hash's low bits. */
int dd_exact_cluster(uint64_t n, const dd_hash128 *h, uint64_t *parent, const dd_alloc *alloc)
{
    uint64_t cap = dd_table_cap(n), *slot;
    if (!cap || !(slot = dd_alloc_array(alloc, cap, 8)))
        return -1;
    memset(slot, 0, (size_t)cap * 8);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t s = h[i].lo & (cap - 1);
        while (slot[s] && (h[slot[s] - 1].lo != h[i].lo || h[slot[s] - 1].hi != h[i].hi))
            s = (s + 1) & (cap - 1);
        if (slot[s]) {
            parent[i] = slot[s] - 1;
        } else {
            slot[s] = i + 1;
            parent[i] = i;
        }
    }
    return 0;
}
