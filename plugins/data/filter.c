/* filter.c — the op "filter": quality filters on text records, keeping or dropping each record whole.
 *
 * The text is the record (valid UTF-8), or with field = NAME the string value of key NAME of the record,
 * which must then be a JSON object (duplicate keys refused); anything else is BAD_INPUT naming the record's
 * index in the batch. A record is dropped when any threshold says so:
 *   characters  Unicode code points: fewer than min_chars, or more than max_chars (0: no limit).
 *   words       maximal runs of non-whitespace: fewer than min_words, or more than max_words (0: no limit).
 *               Whitespace is Unicode's White_Space: U+0009..U+000D, U+0020, U+0085, U+00A0, U+1680,
 *               U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
 *   alpha       alphabetic characters / characters (0 for no characters) below min_alpha. Alphabetic, kept
 *               simple: ASCII letters, and every non-ASCII code point that is not whitespace (so CJK, accented
 *               and Cyrillic letters count, and so do non-ASCII symbols and emoji).
 *   dup lines   lines are split at '\n', a trailing '\r' dropped; a line of whitespace only does not count.
 *               The fraction of counted lines equal (bytewise) to an earlier counted line of the same text,
 *               above max_dup_lines (the default 1 never drops: the fraction is always below 1).
 * Thresholds must be >= 0, and the fractions at most 1. infer gives the output as much room as the input;
 * run writes the kept records in order and lowers the output's count to theirs (ABI 1.2). */
#include "data.h"

#include "common/utf8.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum { F_FIELD, F_MIN_CHARS, F_MAX_CHARS, F_MIN_WORDS, F_MAX_WORDS, F_MIN_ALPHA, F_MAX_DUP };

typedef struct flt_stats {
    uint64_t chars, words, alpha, lines, dups;
} flt_stats;

/* A line seen in the text at hand: where it is, and its hash; off1 = offset + 1, 0 for a free slot. */
typedef struct flt_line {
    uint64_t hash;
    size_t off1, len;
} flt_line;

/* The lines table, reused across the records of a call. */
typedef struct flt_lines {
    flt_line *slots;
    size_t alloc; /* slots allocated */
    size_t cap;   /* slots in use for the text at hand: a power of two */
} flt_lines;

static int flt_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

static int flt_alpha(uint32_t c)
{
    return c >= 0x80 ? !flt_space(c) : ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* Decodes the code point at s[*i] of valid UTF-8, advancing *i past it. */
static uint32_t flt_decode(const uint8_t *s, size_t *i)
{
    uint32_t c = s[(*i)++];
    int k = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
    if (k)
        c &= 0x3fu >> k;
    while (k--)
        c = c << 6 | (s[(*i)++] & 0x3f);
    return c;
}

static uint64_t flt_hash(const uint8_t *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

/* Sizes the table for a text of n bytes (it has at most count('\n') + 1 lines, the table is at most half
 * full) and empties it. -1 when out of memory. */
static int flt_lines_reset(flt_lines *t, const uint8_t *s, size_t n)
{
    size_t lines = 1, cap = 16;
    const uint8_t *p = s, *end = s + n;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) {
        lines++;
        p++;
    }
    while (cap < 2 * lines)
        cap *= 2;
    if (cap > t->alloc) {
        flt_line *q = realloc(t->slots, cap * sizeof *q);
        if (!q)
            return -1;
        t->slots = q;
        t->alloc = cap;
    }
    memset(t->slots, 0, cap * sizeof *t->slots);
    t->cap = cap;
    return 0;
}

/* Counts the line s[a..b) (a trailing '\r' dropped) when it has a non-space, and whether it repeats. */
static void flt_line_end(flt_lines *t, const uint8_t *s, size_t a, size_t b, int nonspace, flt_stats *st)
{
    uint64_t h;
    size_t i;
    if (!nonspace || !t)
        return;
    if (b > a && s[b - 1] == '\r')
        b--;
    st->lines++;
    h = flt_hash(s + a, b - a);
    for (i = (size_t)h & (t->cap - 1); t->slots[i].off1; i = (i + 1) & (t->cap - 1)) {
        const flt_line *l = &t->slots[i];
        if (l->hash == h && l->len == b - a && !memcmp(s + l->off1 - 1, s + a, b - a)) {
            st->dups++;
            return;
        }
    }
    t->slots[i].hash = h;
    t->slots[i].off1 = a + 1;
    t->slots[i].len = b - a;
}

/* Measures a text (valid UTF-8) in one pass; lines only when t is not NULL. */
static void flt_measure(const uint8_t *s, size_t n, flt_lines *t, flt_stats *st)
{
    size_t i = 0, line = 0;
    int in_word = 0, nonspace = 0;
    memset(st, 0, sizeof *st);
    while (i < n) {
        size_t at = i;
        uint32_t c = flt_decode(s, &i);
        int sp = flt_space(c);
        st->chars++;
        st->alpha += (uint64_t)flt_alpha(c);
        st->words += (uint64_t)(!sp && !in_word);
        in_word = !sp;
        nonspace |= !sp;
        if (c == '\n') {
            flt_line_end(t, s, line, at, nonspace, st);
            line = i;
            nonspace = 0;
        }
    }
    flt_line_end(t, s, line, n, nonspace, st);
}

/* Whether the params drop a text with these measures. */
static int flt_drops(const swarm_param_value *pv, const flt_stats *st)
{
    double alpha = st->chars ? (double)st->alpha / (double)st->chars : 0.0;
    double dups = st->lines ? (double)st->dups / (double)st->lines : 0.0;
    return st->chars < (uint64_t)pv[F_MIN_CHARS].i || (pv[F_MAX_CHARS].i && st->chars > (uint64_t)pv[F_MAX_CHARS].i) ||
           st->words < (uint64_t)pv[F_MIN_WORDS].i || (pv[F_MAX_WORDS].i && st->words > (uint64_t)pv[F_MAX_WORDS].i) ||
           alpha < pv[F_MIN_ALPHA].f || dups > pv[F_MAX_DUP].f;
}

/* Checks the thresholds: counts >= 0, fractions in [0, 1]. */
static int flt_check_params(const swarm_host *host, swarm_call *call, const swarm_param_value *pv)
{
    static const char *const names[] = {"min_chars", "max_chars", "min_words", "max_words"};
    for (int k = 0; k < 4; k++)
        if (pv[F_MIN_CHARS + k].i < 0)
            return host->set_error(call, SWARM_E_BAD_INPUT, "%s is negative (%lld)", names[k],
                                   (long long)pv[F_MIN_CHARS + k].i);
    if (!(pv[F_MIN_ALPHA].f >= 0 && pv[F_MIN_ALPHA].f <= 1))
        return host->set_error(call, SWARM_E_BAD_INPUT, "min_alpha %g is not in [0, 1]", pv[F_MIN_ALPHA].f);
    if (!(pv[F_MAX_DUP].f >= 0 && pv[F_MAX_DUP].f <= 1))
        return host->set_error(call, SWARM_E_BAD_INPUT, "max_dup_lines %g is not in [0, 1]", pv[F_MAX_DUP].f);
    return SWARM_OK;
}

/* Decides record i (d[0..n)): *drop set, or BAD_INPUT naming it. */
static int flt_record(const swarm_host *host, swarm_call *call, const swarm_param_value *pv, flt_lines *t,
                      const uint8_t *d, size_t n, uint64_t i, int *drop)
{
    const char *field = pv[F_FIELD].s;
    unsigned long long ri = (unsigned long long)i;
    json_t *j = NULL, *v;
    json_error_t e;
    flt_stats st;
    int dup = pv[F_MAX_DUP].f < 1;
    if (!sw_utf8_valid(d, n))
        return host->set_error(call, SWARM_E_BAD_INPUT, "record %llu: not valid UTF-8", ri);
    if (*field) {
        if (!(j = json_loadb((const char *)d, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &e)))
            return host->set_error(call, SWARM_E_BAD_INPUT, "record %llu: %s", ri, e.text);
        if (!json_is_object(j) || !(v = json_object_get(j, field)) || !json_is_string(v)) {
            json_decref(j);
            return host->set_error(call, SWARM_E_BAD_INPUT, "record %llu: not a JSON object with a string \"%s\"", ri,
                                   field);
        }
        d = (const uint8_t *)json_string_value(v);
        n = json_string_length(v);
    }
    if (dup && flt_lines_reset(t, d, n)) {
        json_decref(j);
        return host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    }
    flt_measure(d, n, dup ? t : NULL, &st);
    *drop = flt_drops(pv, &st);
    json_decref(j);
    return SWARM_OK;
}

/* As much room out as in; checks the params. */
static int flt_infer(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                     const swarm_value *inputs, swarm_value *outputs)
{
    outputs[0].u.records.count = inputs[0].u.records.count;
    outputs[0].u.records.nbytes = inputs[0].u.records.nbytes;
    return flt_check_params(host, call, params);
}

/* Writes the kept records and lowers the output count to theirs. Fails with BAD_INPUT for bad params or
 * the first bad record, INTERNAL when memory runs out. */
static int flt_run(const swarm_host *host, swarm_call *call, const swarm_param_value *params,
                   const swarm_value *inputs, swarm_value *outputs)
{
    const swarm_records *x = &inputs[0].u.records;
    swarm_records *y = &outputs[0].u.records;
    flt_lines t = {NULL, 0, 0};
    uint64_t kept = 0, off = 0;
    int rc = flt_check_params(host, call, params);
    if (!rc)
        rc = dt_check_records(host, call, x);
    if (!rc && (y->count < x->count || y->nbytes < x->offsets[x->count]))
        rc = host->set_error(call, SWARM_E_BAD_INPUT, "output space smaller than the input");
    if (!rc)
        y->offsets[0] = 0;
    for (uint64_t i = 0; !rc && i < x->count; i++) {
        uint64_t a = x->offsets[i], n = x->offsets[i + 1] - a;
        int drop = 0;
        const uint8_t *d = n ? x->bytes + a : (const uint8_t *)"";
        if ((rc = flt_record(host, call, params, &t, d, (size_t)n, i, &drop)) || drop)
            continue;
        if (n)
            memcpy(y->bytes + off, x->bytes + a, (size_t)n);
        off += n;
        y->offsets[++kept] = off;
    }
    free(t.slots);
    if (!rc)
        y->count = kept;
    return rc;
}

static const swarm_param flt_params[] = {
    {"field", SWARM_PARAM_STRING, "",
     "\"\": records are text; NAME: records are JSON objects, filtered on the text of their string key NAME", NULL},
    {"min_chars", SWARM_PARAM_INT, "0", "drop texts of fewer characters (Unicode code points)", NULL},
    {"max_chars", SWARM_PARAM_INT, "0", "drop texts of more characters; 0: no limit", NULL},
    {"min_words", SWARM_PARAM_INT, "0", "drop texts of fewer words (runs of non-whitespace)", NULL},
    {"max_words", SWARM_PARAM_INT, "0", "drop texts of more words; 0: no limit", NULL},
    {"min_alpha", SWARM_PARAM_FLOAT, "0",
     "drop texts whose fraction of alphabetic characters (ASCII letters, non-ASCII non-space) is below this", NULL},
    {"max_dup_lines", SWARM_PARAM_FLOAT, "1",
     "drop texts whose fraction of non-blank lines repeating an earlier line is above this; 1: never", NULL},
};
static const swarm_port flt_in[] = {{"in", SWARM_KIND_RECORDS, "text records, or JSON objects with field set"}};
static const swarm_port flt_out[] = {{"out", SWARM_KIND_RECORDS, "the records kept, in order"}};
static const swarm_variant flt_cpu = {sizeof(swarm_variant), SWARM_DEVICE_CPU, "data-1", dt_cpu_probe, flt_infer,
                                      flt_run};
static const swarm_variant *const flt_variants[] = {&flt_cpu};

const swarm_op dt_filter_op = {
    .struct_size = sizeof(swarm_op),
    .name = "filter",
    .op_version = 1,
    .flags = SWARM_OP_DETERMINISTIC,
    .doc = "Quality filters on text: drops records outside character and word counts, below an alphabetic "
           "fraction, or above a duplicate-line fraction.",
    .params = flt_params,
    .n_params = sizeof flt_params / sizeof *flt_params,
    .inputs = flt_in,
    .n_inputs = 1,
    .outputs = flt_out,
    .n_outputs = 1,
    .variants = flt_variants,
    .n_variants = 1,
};
