/* norm_rules.h — the byte rules of swarm-dedup-norm-1 (normalize.c states them in full), header-only with
 * SW_NUM_FN (plugins/common/numerics.h) so that the CPU's one-pass normalization (normalize.c) and the
 * GPU's parallel one (hip/dedup_kernels.h) apply the same table and the same functions.
 *
 * The parallel form rests on one property of the rules: the bytes that continue a multi-byte separator
 * (A0 after C2; 80 or 81, then 80-BF, after E2) are all of kind 0, so a left-to-right scan examines every
 * byte of kind 1, 2 or 3 as the possible start of a separator. Whether byte j survives is therefore a
 * function of the bytes j-2 .. j+2 alone (dd_norm_kept), and the normalized text is the surviving bytes,
 * mapped by dd_norm_byte, with one space between runs of them. tests/unit/test_dedup.c checks that this
 * gives dd_normalize's bytes. */
#ifndef SW_DEDUP_NORM_RULES_H
#define SW_DEDUP_NORM_RULES_H

#include "common/numerics.h"

#include <stddef.h>
#include <stdint.h>

/* What each byte is: 0 a byte to copy (through dd_norm_byte), 1 a one-byte separator (ASCII whitespace
 * and punctuation), 2 the lead byte C2 (U+00A0 is C2 A0), 3 the lead byte E2 (U+2000-U+206F are E2 80 80
 * - E2 81 AF). An initializer, so that the CPU (a static const array) and the GPU (__constant__ memory)
 * hold the same table. */
#define DD_KIND_TABLE                                                                                          \
    {                                                                                                          \
        0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, /* 00 */                                               \
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */                                               \
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 20 */                                               \
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, /* 30 */                                               \
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 40 */                                               \
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, /* 50 */                                               \
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 60 */                                               \
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, /* 70 */                                               \
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 80 */                                               \
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 90 */                                               \
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* a0 */                                               \
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* b0 */                                               \
        0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* c0 */                                               \
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* d0 */                                               \
        0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* e0 */                                               \
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0  /* f0 */                                               \
    }

/* Length of the multi-byte separator starting at s[0] (a byte of kind 2 or 3, n >= 1 bytes left): 2 for
 * U+00A0, 3 for U+2000-U+206F, 0 when it is none. */
SW_NUM_FN size_t dd_separator_utf8(const uint8_t *s, size_t n)
{
    if (s[0] == 0xc2)
        return n >= 2 && s[1] == 0xa0 ? 2 : 0;
    return n >= 3 && ((s[1] == 0x80 && s[2] >= 0x80 && s[2] <= 0xbf) || (s[1] == 0x81 && s[2] >= 0x80 && s[2] <= 0xaf))
               ? 3
               : 0;
}

/* Length of the separator starting at s[0] (n >= 1 bytes left), kind being the table: 0 when none. */
SW_NUM_FN size_t dd_separator_len(const uint8_t *kind, const uint8_t *s, size_t n)
{
    uint8_t k = kind[s[0]];
    return k == 0 ? 0 : k == 1 ? 1 : dd_separator_utf8(s, n);
}

/* What a copied byte becomes: A-Z lowercased, 0-9 to '0', the rest unchanged. */
SW_NUM_FN uint8_t dd_norm_byte(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return (uint8_t)(c - 'A' + 'a');
    return c >= '0' && c <= '9' ? (uint8_t)'0' : c;
}

/* Whether byte j of t[0..n) survives normalization (is part of no separator): no separator starts at j,
 * none of two or three bytes at j - 1, none of three at j - 2. */
SW_NUM_FN int dd_norm_kept(const uint8_t *kind, const uint8_t *t, size_t n, size_t j)
{
    if (dd_separator_len(kind, t + j, n - j))
        return 0;
    if (j >= 1 && dd_separator_len(kind, t + j - 1, n - j + 1) >= 2)
        return 0;
    return !(j >= 2 && dd_separator_len(kind, t + j - 2, n - j + 2) == 3);
}

#endif
