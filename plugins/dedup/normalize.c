/* normalize.c — the normalization of swarm-dedup-norm-1, the text both dedup ops hash. It is part of the
 * definition of their outputs: changing a rule changes which documents are duplicates, so it changes
 * DD_NORMALIZATION and the ops' op_version.
 *
 * The rules (FORMATS.md: lowercase, digits -> 0, punctuation -> space, collapse whitespace), on bytes, left
 * to right, in one pass:
 *   1. ASCII letters A-Z become a-z. No other letter is case-folded: every byte >= 0x80 that rule 3 does
 *      not name is copied unchanged (so "É" stays "É"), as are the ASCII control characters other than
 *      whitespace, NUL included.
 *   2. Each ASCII digit 0-9 becomes '0' (so "1999" and "2024" are the same word).
 *   3. A separator is: an ASCII whitespace byte (space, \t, \n, \v, \f, \r); an ASCII punctuation byte,
 *      one of !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ ; and, matched as UTF-8 byte sequences wherever they occur,
 *      U+00A0 (no-break space, C2 A0) and every code point of the General Punctuation block U+2000-U+206F
 *      (E2 80 80 - E2 81 AF: the typographic spaces, zero-width characters, dashes, curly quotes,
 *      ellipsis, ...).
 *   4. Each run of separators becomes one space (0x20); runs at the start and at the end are dropped.
 * Invalid UTF-8 is not refused: its bytes are copied as they are. The result is never longer than the
 * input, has no leading, trailing or double spaces, and is empty for a text of separators only. */
#include "normalize.h"

#include "norm_rules.h"

/* What each byte is (norm_rules.h). */
static const uint8_t dd_kind[256] = DD_KIND_TABLE;

/* One pass: separators only set a pending space, written before the next run of other bytes (so none
 * leads, trails or doubles); the bytes of a run are lowercased (ASCII), digit-folded or copied. */
size_t dd_normalize(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t w = 0, i = 0;
    int space = 0;
    while (i < n) {
        size_t sep = dd_separator_len(dd_kind, in + i, n - i);
        if (sep) {
            space = w > 0;
            i += sep;
            continue;
        }
        if (space)
            out[w++] = ' ';
        space = 0;
        out[w++] = dd_norm_byte(in[i++]); /* a kind 2 or 3 byte that starts no separator is copied too */
        while (i < n && !dd_kind[in[i]])
            out[w++] = dd_norm_byte(in[i++]);
    }
    return w;
}
