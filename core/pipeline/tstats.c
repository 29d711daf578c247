/* tstats.c — streaming statistics of one tensor's elements (see tstats.h).
 *
 * Every element is converted to a double into the current block's buffer (pend_); a full block is
 * summarized (block_stats) and merged into done_ (merge), and at the end of each call the public fields
 * are done_ merged with the partial block's summary. Blocks are aligned to the element index, so the
 * result depends on the bytes alone, never on where calls split them. The arithmetic is written so that a
 * compiler may not reorder it (no -ffast-math in swarm; products are separate statements, so contraction
 * into FMAs, where a compiler does it within one expression, cannot apply). */
#include "pipeline/tstats.h"

#include "common/numerics.h"
#include "base/error.h"
#include "pipeline/values.h"

#include <math.h>
#include <string.h>

void sw_tstats_init(sw_tstats *s)
{
    memset(s, 0, sizeof *s);
}

double sw_tstats_std(const sw_tstats *s)
{
    if (s->finite < 1 || !(s->m2 > 0.0))
        return 0.0;
    return sqrt(s->m2 / (double)s->finite);
}

/* ---- Summaries ----------------------------------------------------------------------------------- */

/* Accumulators of one pass over a block: element i goes to lane i % 4 (a fixed order, so the result never
 * depends on the compiler; four lanes keep four additions in flight). */
typedef struct {
    double s[4], mn[4], mx[4];
} pass1_acc;

/* Sum, min and max of v[0..k); with masked, of its finite elements only (a constant at each call, so
 * the compiler makes two loops). */
__attribute__((always_inline)) static inline void pass1(pass1_acc *a, const double *v, size_t k, int masked)
{
    for (int j = 0; j < 4; j++)
        a->s[j] = 0.0, a->mn[j] = INFINITY, a->mx[j] = -INFINITY;
    size_t i = 0;
#define SW_TS_PASS1(j)                                                                                      \
    do {                                                                                                    \
        double x = v[i + (j)];                                                                              \
        int fin = masked ? isfinite(x) != 0 : 1;                                                            \
        a->s[j] += fin ? x : 0.0;                                                                           \
        a->mn[j] = fin && x < a->mn[j] ? x : a->mn[j];                                                      \
        a->mx[j] = fin && x > a->mx[j] ? x : a->mx[j];                                                      \
    } while (0)
    for (; i + 4 <= k; i += 4) {
        SW_TS_PASS1(0);
        SW_TS_PASS1(1);
        SW_TS_PASS1(2);
        SW_TS_PASS1(3);
    }
    for (size_t j = 0; i + j < k; j++)
        SW_TS_PASS1(j);
#undef SW_TS_PASS1
}

/* Sums of x - mean and (x - mean)^2 over v[0..k) (its finite elements, with masked), lanes as above. */
__attribute__((always_inline)) static inline void pass2(double *cs, double *qs, const double *v, size_t k,
                                                        double mean, int masked)
{
    double c[4] = {0.0, 0.0, 0.0, 0.0}, q[4] = {0.0, 0.0, 0.0, 0.0};
    size_t i = 0;
#define SW_TS_PASS2(j)                                                                                      \
    do {                                                                                                    \
        double x = v[i + (j)];                                                                              \
        int fin = masked ? isfinite(x) != 0 : 1;                                                            \
        double d = fin ? x - mean : 0.0;                                                                    \
        double d2 = d * d;                                                                                  \
        c[j] += d;                                                                                          \
        q[j] += d2;                                                                                         \
    } while (0)
    for (; i + 4 <= k; i += 4) {
        SW_TS_PASS2(0);
        SW_TS_PASS2(1);
        SW_TS_PASS2(2);
        SW_TS_PASS2(3);
    }
    for (size_t j = 0; i + j < k; j++)
        SW_TS_PASS2(j);
#undef SW_TS_PASS2
    *cs = (c[0] + c[1]) + (c[2] + c[3]);
    *qs = (q[0] + q[1]) + (q[2] + q[3]);
}

/* The summary of v[0..k): NaNs and infinities counted, then a two-pass mean and sum of squared deviations
 * over the finite elements, the latter corrected by c = sum(x - mean): m2 = sum((x - mean)^2) - c^2 / n.
 * The first pass runs without a finiteness test: a NaN or an infinity makes its lane's sum a NaN or an
 * infinity for good, so finite sums prove the block finite (the usual case). Otherwise the elements are
 * counted and both passes test each one. Masked or not, the passes compute the same thing for finite
 * elements. */
static sw_tstats_part block_stats(const double *v, size_t k)
{
    sw_tstats_part r = {(uint64_t)k, 0, 0, 0.0, 0.0, 0.0, 0.0};
    pass1_acc a;
    pass1(&a, v, k, 0);
    int masked = !(isfinite(a.s[0]) && isfinite(a.s[1]) && isfinite(a.s[2]) && isfinite(a.s[3]));
    if (masked) {
        uint64_t bad = 0, nan = 0;
        for (size_t i = 0; i < k; i++) {
            uint64_t u;
            memcpy(&u, &v[i], 8);
            u &= 0x7fffffffffffffffULL;
            bad += u >= 0x7ff0000000000000ULL;
            nan += u > 0x7ff0000000000000ULL;
        }
        r.finite = (uint64_t)k - bad;
        r.nan = nan;
        r.inf = bad - nan;
        if (!r.finite)
            return r;
        pass1(&a, v, k, 1); /* when the sum overflowed without any NaN or infinity, the same again */
    }
    double n = (double)r.finite;
    double sum = (a.s[0] + a.s[1]) + (a.s[2] + a.s[3]);
    double mean = sum / n;
    double lo01 = a.mn[1] < a.mn[0] ? a.mn[1] : a.mn[0], lo23 = a.mn[3] < a.mn[2] ? a.mn[3] : a.mn[2];
    double hi01 = a.mx[1] > a.mx[0] ? a.mx[1] : a.mx[0], hi23 = a.mx[3] > a.mx[2] ? a.mx[3] : a.mx[2];
    r.min = lo23 < lo01 ? lo23 : lo01;
    r.max = hi23 > hi01 ? hi23 : hi01;
    double cs, qs;
    if (masked)
        pass2(&cs, &qs, v, k, mean, 1);
    else
        pass2(&cs, &qs, v, k, mean, 0);
    double corr = cs * cs;
    double m2 = qs - corr / n;
    r.m2 = m2 > 0.0 ? m2 : 0.0;
    r.mean = mean; /* not mean + cs / n: cs carries the rounding of each x - mean, and would put an
                      error into means that sum / n gets exactly (small integers, say) */
    return r;
}

/* a followed by b (Chan, Golub and LeVeque's pairwise update). */
static sw_tstats_part merge(sw_tstats_part a, sw_tstats_part b)
{
    sw_tstats_part r;
    r.nan = a.nan + b.nan;
    r.inf = a.inf + b.inf;
    r.finite = a.finite + b.finite;
    if (!b.finite) {
        r.min = a.min, r.max = a.max, r.mean = a.mean, r.m2 = a.m2;
    } else if (!a.finite) {
        r.min = b.min, r.max = b.max, r.mean = b.mean, r.m2 = b.m2;
    } else {
        double w = (double)b.finite / (double)r.finite;
        double delta = b.mean - a.mean;
        double shift = delta * w;
        double d2 = delta * delta;
        double na = d2 * (double)a.finite;
        double cross = na * w;
        r.mean = a.mean + shift;
        r.m2 = a.m2 + b.m2 + cross;
        r.min = b.min < a.min ? b.min : a.min;
        r.max = b.max > a.max ? b.max : a.max;
    }
    return r;
}

/* The current block is full: fold it into done_. */
static void flush(sw_tstats *s)
{
    s->done_ = merge(s->done_, block_stats(s->pend_, SW_TSTATS_BLOCK));
    s->npend_ = 0;
}

static void publish(sw_tstats *s)
{
    sw_tstats_part t = s->npend_ ? merge(s->done_, block_stats(s->pend_, s->npend_)) : s->done_;
    s->nan = t.nan;
    s->inf = t.inf;
    s->finite = t.finite;
    s->min = t.min;
    s->max = t.max;
    s->mean = t.mean;
    s->m2 = t.m2;
}

/* Appends k doubles to the block buffer, flushing full blocks. */
static void push(sw_tstats *s, const double *v, size_t k)
{
    while (k) {
        size_t room = SW_TSTATS_BLOCK - s->npend_, m = k < room ? k : room;
        memcpy(s->pend_ + s->npend_, v, m * sizeof *v);
        s->npend_ += (uint32_t)m;
        v += m;
        k -= m;
        if (s->npend_ == SW_TSTATS_BLOCK)
            flush(s);
    }
}

/* ---- Element types ------------------------------------------------------------------------------- */

enum { K_F16, K_BF16, K_F32, K_F64, K_I8, K_I16, K_I32, K_I64, K_U8, K_U16, K_U32, K_U64, K_BOOL, K_F8, K_Q8, K_Q4 };

/* The kind of dt and its unit in bytes (an element, or a block for Q8_0/Q4_0); -1 when unsupported. */
static int kind_of(swarm_dtype dt, size_t *unit)
{
    if (dt.lanes != 1)
        return -1;
    int b = dt.bits;
    switch (dt.code) {
    case SWARM_DTYPE_FLOAT:
        *unit = (size_t)b / 8;
        return b == 16 ? K_F16 : b == 32 ? K_F32 : b == 64 ? K_F64 : -1;
    case SWARM_DTYPE_BFLOAT:
        *unit = 2;
        return b == 16 ? K_BF16 : -1;
    case SWARM_DTYPE_INT:
        *unit = (size_t)b / 8;
        return b == 8 ? K_I8 : b == 16 ? K_I16 : b == 32 ? K_I32 : b == 64 ? K_I64 : -1;
    case SWARM_DTYPE_UINT:
        *unit = (size_t)b / 8;
        return b == 8 ? K_U8 : b == 16 ? K_U16 : b == 32 ? K_U32 : b == 64 ? K_U64 : -1;
    case SWARM_DTYPE_BOOL:
        *unit = 1;
        return b == 8 ? K_BOOL : -1;
    case SWARM_DTYPE_FLOAT8_E4M3FN:
    case SWARM_DTYPE_FLOAT8_E4M3FNUZ:
    case SWARM_DTYPE_FLOAT8_E5M2:
    case SWARM_DTYPE_FLOAT8_E5M2FNUZ:
    case SWARM_DTYPE_FLOAT8_E8M0FNU:
        *unit = 1;
        return b == 8 ? K_F8 : -1;
    case SWARM_DTYPE_Q8_0:
        *unit = SW_Q8_0_BYTES;
        return b == 0 ? K_Q8 : -1;
    case SWARM_DTYPE_Q4_0:
        *unit = SW_Q4_0_BYTES;
        return b == 0 ? K_Q4 : -1;
    default:
        return -1;
    }
}

/* The value of float8 byte x of format code (ml_dtypes' definitions). */
static double f8_value(int code, unsigned x)
{
    double sign = x & 0x80u ? -1.0 : 1.0;
    unsigned e4 = (x >> 3) & 0xfu, m3 = x & 7u, e5 = (x >> 2) & 0x1fu, m2 = x & 3u;
    switch (code) {
    case SWARM_DTYPE_FLOAT8_E4M3FN: /* bias 7, no infinity, NaN S.1111.111 */
        if (e4 == 15 && m3 == 7)
            return NAN;
        return sign * (e4 ? ldexp(8.0 + m3, (int)e4 - 10) : ldexp(m3, -9));
    case SWARM_DTYPE_FLOAT8_E4M3FNUZ: /* bias 8, no infinity, no -0: 0x80 is the NaN */
        if (x == 0x80u)
            return NAN;
        return sign * (e4 ? ldexp(8.0 + m3, (int)e4 - 11) : ldexp(m3, -10));
    case SWARM_DTYPE_FLOAT8_E5M2: /* the top byte of an f16 */
        return sw_num_float(sw_num_f32_of_f16((uint16_t)(x << 8)));
    case SWARM_DTYPE_FLOAT8_E5M2FNUZ: /* bias 16, no infinity, no -0: 0x80 is the NaN */
        if (x == 0x80u)
            return NAN;
        return sign * (e5 ? ldexp(4.0 + m2, (int)e5 - 18) : ldexp(m2, -17));
    default: /* SWARM_DTYPE_FLOAT8_E8M0FNU: 2^(x - 127), unsigned, 0xff the NaN */
        return x == 0xffu ? NAN : ldexp(1.0, (int)x - 127);
    }
}

/* Converts k elements of kind at p to doubles at out. */
static void convert(int kind, const double *f8, const uint8_t *p, size_t k, double *out)
{
#define SW_TS_CONV(T, EXPR)                                                                                 \
    for (size_t i = 0; i < k; i++) {                                                                        \
        T v;                                                                                                \
        memcpy(&v, p + i * sizeof v, sizeof v);                                                             \
        out[i] = (EXPR);                                                                                    \
    }                                                                                                       \
    break
    switch (kind) {
    case K_F16:
        SW_TS_CONV(uint16_t, (double)sw_num_float(sw_num_f32_of_f16(v)));
    case K_BF16:
        SW_TS_CONV(uint16_t, (double)sw_num_float((uint32_t)v << 16));
    case K_F32:
        SW_TS_CONV(float, (double)v);
    case K_F64:
        SW_TS_CONV(double, v);
    case K_I8:
        SW_TS_CONV(int8_t, (double)v);
    case K_I16:
        SW_TS_CONV(int16_t, (double)v);
    case K_I32:
        SW_TS_CONV(int32_t, (double)v);
    case K_I64:
        SW_TS_CONV(int64_t, (double)v);
    case K_U8:
        SW_TS_CONV(uint8_t, (double)v);
    case K_U16:
        SW_TS_CONV(uint16_t, (double)v);
    case K_U32:
        SW_TS_CONV(uint32_t, (double)v);
    case K_U64:
        SW_TS_CONV(uint64_t, (double)v);
    case K_BOOL:
        SW_TS_CONV(uint8_t, v ? 1.0 : 0.0);
    case K_F8:
        SW_TS_CONV(uint8_t, f8[v]);
    default:
        break;
    }
#undef SW_TS_CONV
}

int sw_tstats_add(sw_tstats *s, swarm_dtype dt, const uint8_t *p, size_t n)
{
    size_t unit = 0;
    int kind = kind_of(dt, &unit);
    char buf[32];
    if (kind < 0) {
        const char *name = sw_dtype_name(buf, dt);
        if (dt.code == SWARM_DTYPE_COMPLEX)
            return sw_error(SW_EINVALID, "tensor stats: %s is complex, not one number per element", name);
        return sw_error(SW_EINVALID,
                        "tensor stats: dtype %s is not supported (floats f16/bf16/f32/f64 and float8, "
                        "integers, bool, q8_0, q4_0 are)",
                        name);
    }
    if (n % unit)
        return sw_error(SW_EINVALID, "tensor stats: %zu bytes is not a whole number of %s %s (%zu bytes each)", n,
                        sw_dtype_name(buf, dt), kind == K_Q8 || kind == K_Q4 ? "blocks" : "elements", unit);
    if (!n)
        return 0;

    if (kind == K_Q8 || kind == K_Q4) {
        float y[SW_QK];
        double d[SW_QK];
        for (size_t off = 0; off < n; off += unit) {
            if (kind == K_Q8)
                sw_num_dq8_0_block(y, p + off);
            else
                sw_num_dq4_0_block(y, p + off);
            for (int j = 0; j < SW_QK; j++)
                d[j] = (double)y[j];
            push(s, d, SW_QK);
        }
        s->count += (uint64_t)(n / unit) * SW_QK;
    } else {
        double f8[256];
        if (kind == K_F8)
            for (unsigned x = 0; x < 256; x++)
                f8[x] = f8_value(dt.code, x);
        size_t left = n / unit;
        s->count += (uint64_t)left;
        while (left) {
            size_t room = SW_TSTATS_BLOCK - s->npend_, k = left < room ? left : room;
            convert(kind, f8, p, k, s->pend_ + s->npend_);
            s->npend_ += (uint32_t)k;
            p += k * unit;
            left -= k;
            if (s->npend_ == SW_TSTATS_BLOCK)
                flush(s);
        }
    }
    publish(s);
    return 0;
}
