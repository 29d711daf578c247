/* dedupbench.c — the dedup plugin's near op (default params: 5-word shingles, 14 bands x 8 rows) and exact
 * op on a generated corpus with planted duplicates: documents per second, and how well the planted
 * duplicates are found.
 *
 *     dedupbench PLUGIN.so [DOCS [THREADS]]
 *
 * THREADS sets $SWARM_DEDUP_THREADS, the number of threads the ops use (default: theirs); the figure
 * printed is the one the op logged. Calls the ops' infer and run directly through a minimal host table,
 * so what is timed is the op: wall clock of infer + run, best of 3, the corpus already in memory.
 *
 * The corpus (fixed seeds, the same on every machine): a vocabulary of 5000 distinct lowercase words
 * (2 to 10 letters), drawn with Zipf's law (exponent 1). Each document is, independently:
 *   88%  an original: 100 to 300 words, rendered as sentences of 6 to 20 words (the first capitalized,
 *        a period at the end, now and then a comma), paragraphs of 2 to 6 sentences;
 *   10%  a near duplicate of a uniformly chosen earlier original: its words with one edit, equally
 *        often (a) 0.5-2% of the words replaced by other words (at least one), (b) a run of 5-10% of the
 *        words cut from the start or the end, (c) 5-10% new words appended, (d) 0.5% replaced and 3-5%
 *        cut; rendered anew (other sentence breaks, which normalization erases);
 *    1%  an exact copy of an earlier original, byte for byte;
 *    1%  the same words as an earlier original rendered anew (other case and punctuation): a duplicate
 *        after normalization.
 * (Two near duplicates of one original now and then get the same edit and so the same text: exact
 * removes those too, a few more than the planted copies.) The Jaccard similarity of a planted pair is
 * computed exactly, over the sets of 5-word shingles of word ids (the words are distinct, so these are
 * the op's shingles); its range and mean are printed.
 *
 * Scoring, over the near op's report (its clusters): the planted set D is every near duplicate and
 * copy; the removed set R is every document the op removes. A removed document is a true positive when
 * it is in D and its source (the original it was made from) is in its cluster. precision = TP / |R|,
 * recall = TP / |D|. Recall is also given per kind of plant and range of Jaccard similarity, and beside it
 * the recall LSH predicts: the mean over the planted pairs of their candidate probability 1 - (1 - s^8)^14
 * (1 for copies). A duplicate can be found without being a candidate of its source itself (through another
 * duplicate of the same source), so the measured recall may exceed the prediction slightly. */
#include "plugin_load.h"
#include "swarm_plugin.h"

#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- A minimal host ------------------------------------------------------------------------------ */

struct swarm_call {
    void **blocks;
    size_t n, cap;
};

static int db_set_error(swarm_call *call, int code, const char *fmt, ...)
{
    va_list ap;
    (void)call;
    va_start(ap, fmt);
    fprintf(stderr, "dedupbench: plugin error: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

static void *db_alloc_scratch(swarm_call *call, size_t size)
{
    if (call->n == call->cap) {
        size_t cap = call->cap ? 2 * call->cap : 64;
        void **b = realloc(call->blocks, cap * sizeof *b);
        if (!b)
            return NULL;
        call->blocks = b;
        call->cap = cap;
    }
    return call->blocks[call->n++] = malloc(size ? size : 1);
}

static char db_log_line[512];

static void db_log(swarm_call *call, int level, const char *msg)
{
    (void)call;
    (void)level;
    snprintf(db_log_line, sizeof db_log_line, "%s", msg);
}

static const swarm_host db_host = {SWARM_PLUGIN_ABI_VERSION,
                                   sizeof(swarm_host),
                                   db_set_error,
                                   db_alloc_scratch,
                                   db_log,
                                   NULL,
                                   NULL,
                                   NULL,
                                   NULL,
                                   NULL,
                                   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

static double db_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Runs op on the batch with params pv: infer, allocate, run; the output in *out (malloc'd), the wall time
 * in *secs. Exits on failure. */
static void db_call(const swarm_op *op, const swarm_param_value *pv, const swarm_records *in, swarm_records *out,
                    double *secs)
{
    swarm_call call = {0};
    swarm_value iv, ov;
    memset(&iv, 0, sizeof iv);
    memset(&ov, 0, sizeof ov);
    iv.kind = ov.kind = SWARM_KIND_RECORDS;
    iv.u.records = *in;
    double t0 = db_now();
    int rc = op->variants[0]->infer(&db_host, &call, pv, &iv, &ov);
    if (!rc) {
        ov.u.records.offsets = malloc((ov.u.records.count + 1) * sizeof(uint64_t));
        ov.u.records.bytes = malloc(ov.u.records.nbytes ? ov.u.records.nbytes : 1);
        if (!ov.u.records.offsets || !ov.u.records.bytes)
            exit(1);
        rc = op->variants[0]->run(&db_host, &call, pv, &iv, &ov);
    }
    *secs = db_now() - t0;
    for (size_t i = 0; i < call.n; i++)
        free(call.blocks[i]);
    free(call.blocks);
    if (rc)
        exit(1);
    *out = ov.u.records;
}

/* ---- The corpus ---------------------------------------------------------------------------------- */

static uint64_t db_rng = 0x5eed;

static uint64_t db_next(void)
{
    uint64_t z = (db_rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t db_range(uint64_t lo, uint64_t hi)
{
    return lo + db_next() % (hi - lo + 1);
}

static double db_unit(void)
{
    return (double)(db_next() >> 11) / 9007199254740992.0;
}

enum { VOCAB = 5000 };
static char db_words[VOCAB][12];
static double db_cdf[VOCAB];

/* 5000 distinct words of 2 to 10 letters, and Zipf's cumulative distribution over them. */
static void db_vocabulary(void)
{
    double total = 0;
    for (int w = 0; w < VOCAB; w++) {
        for (;;) {
            int len = (int)db_range(2, 10), dup = 0;
            for (int i = 0; i < len; i++)
                db_words[w][i] = (char)('a' + db_next() % 26);
            db_words[w][len] = 0;
            for (int v = 0; v < w && !dup; v++)
                dup = !strcmp(db_words[v], db_words[w]);
            if (!dup)
                break;
        }
        total += 1.0 / (w + 1);
        db_cdf[w] = total;
    }
    for (int w = 0; w < VOCAB; w++)
        db_cdf[w] /= total;
}

static uint32_t db_word(void)
{
    double u = db_unit();
    int lo = 0, hi = VOCAB - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (db_cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint32_t)lo;
}

/* A growing byte buffer. */
typedef struct {
    uint8_t *p;
    size_t n, cap;
} db_buf;

/* Room for n more bytes. */
static void db_reserve(db_buf *b, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        if (!(b->p = realloc(b->p, b->cap)))
            exit(1);
    }
}

static void db_put(db_buf *b, const void *s, size_t n)
{
    db_reserve(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

/* Appends a copy of b's own bytes [off, off + n). */
static void db_put_own(db_buf *b, size_t off, size_t n)
{
    db_reserve(b, n);
    memcpy(b->p + b->n, b->p + off, n);
    b->n += n;
}

/* Appends the words ids[0..n) as sentences and paragraphs. */
static void db_render(db_buf *b, const uint32_t *ids, size_t n)
{
    size_t left = 0, sentences = 0, para = db_range(2, 6);
    for (size_t i = 0; i < n; i++) {
        const char *w = db_words[ids[i]];
        int first = !left;
        if (first) {
            left = db_range(6, 20);
            if (i) {
                db_put(b, ".", 1);
                if (++sentences == para) {
                    db_put(b, "\n\n", 2);
                    sentences = 0;
                    para = db_range(2, 6);
                } else {
                    db_put(b, " ", 1);
                }
            }
        } else {
            int comma = db_next() % 12 == 0;
            db_put(b, comma ? ", " : " ", comma ? 2 : 1);
        }
        if (first) {
            char c = (char)(w[0] - 'a' + 'A');
            db_put(b, &c, 1);
            db_put(b, w + 1, strlen(w) - 1);
        } else {
            db_put(b, w, strlen(w));
        }
        left--;
    }
    db_put(b, ".", 1);
}

/* The documents: text records, each one's word ids, and each one's source (-1 for an original). */
typedef struct {
    uint64_t n;
    db_buf text;
    uint64_t *offsets;
    uint32_t *ids;
    uint64_t *id_off;
    int64_t *src;
    int *kind; /* 0 original, 1 near, 2 exact copy, 3 rendered anew */
    size_t nids, idcap;
} db_corpus;

static void db_push_ids(db_corpus *c, const uint32_t *ids, size_t n)
{
    if (c->nids + n > c->idcap) {
        c->idcap = (c->nids + n) * 2;
        if (!(c->ids = realloc(c->ids, c->idcap * sizeof *c->ids)))
            exit(1);
    }
    memcpy(c->ids + c->nids, ids, n * sizeof *ids);
    c->nids += n;
}

/* The near-duplicate edit of words w[0..n) into out; returns the new length. */
static size_t db_edit(const uint32_t *w, size_t n, uint32_t *out)
{
    int type = (int)(db_next() % 4);
    size_t m = n;
    memcpy(out, w, n * sizeof *w);
    if (type == 0 || type == 3) {
        size_t k = (size_t)(n * (type == 0 ? 0.005 + 0.015 * db_unit() : 0.005) + 0.5);
        for (size_t i = 0; i < (k ? k : 1); i++) {
            size_t at = db_next() % n;
            uint32_t was = out[at];
            while (out[at] == was) /* another word: a replacement always changes the text */
                out[at] = db_word();
        }
    }
    if (type == 1 || type == 3) {
        size_t k = (size_t)(n * (type == 1 ? 0.05 + 0.05 * db_unit() : 0.03 + 0.02 * db_unit()) + 0.5);
        if (db_next() & 1)
            memmove(out, out + k, (n - k) * sizeof *out);
        m = n - k;
    }
    if (type == 2) {
        size_t k = (size_t)(n * (0.05 + 0.05 * db_unit()) + 0.5);
        for (size_t i = 0; i < k; i++)
            out[m++] = db_word();
    }
    return m;
}

static void db_generate(db_corpus *c, uint64_t n)
{
    uint64_t *originals = malloc(n * sizeof *originals), norig = 0;
    uint32_t w[400], e[400];
    memset(c, 0, sizeof *c);
    c->n = n;
    c->offsets = malloc((n + 1) * sizeof *c->offsets);
    c->id_off = malloc((n + 1) * sizeof *c->id_off);
    c->src = malloc(n * sizeof *c->src);
    c->kind = malloc(n * sizeof *c->kind);
    if (!originals || !c->offsets || !c->id_off || !c->src || !c->kind)
        exit(1);
    c->offsets[0] = c->id_off[0] = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = db_next() % 100;
        int kind = !norig ? 0 : r < 10 ? 1 : r < 11 ? 2 : r < 12 ? 3 : 0;
        c->kind[i] = kind;
        c->src[i] = -1;
        if (kind == 0) {
            size_t len = db_range(100, 300);
            for (size_t k = 0; k < len; k++)
                w[k] = db_word();
            db_push_ids(c, w, len);
            db_render(&c->text, w, len);
            originals[norig++] = i;
        } else {
            uint64_t s = originals[db_next() % norig];
            const uint32_t *sw = c->ids + c->id_off[s];
            size_t slen = c->id_off[s + 1] - c->id_off[s];
            c->src[i] = (int64_t)s;
            memcpy(w, sw, slen * sizeof *w);
            if (kind == 2) {
                db_push_ids(c, w, slen);
                db_put_own(&c->text, c->offsets[s], c->offsets[s + 1] - c->offsets[s]);
            } else {
                size_t m = kind == 1 ? db_edit(w, slen, e) : slen;
                const uint32_t *x = kind == 1 ? e : w;
                db_push_ids(c, x, m);
                db_render(&c->text, x, m);
            }
        }
        c->offsets[i + 1] = c->text.n;
        c->id_off[i + 1] = c->nids;
    }
    free(originals);
}

/* ---- Scoring ------------------------------------------------------------------------------------- */

static int db_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted, distinct 64-bit keys of the 5-word shingles of ids[0..n) (one for fewer than 5 words). */
static size_t db_shingles(const uint32_t *ids, size_t n, uint64_t *out)
{
    size_t k = 0, s = n >= 5 ? n - 4 : 1;
    for (size_t i = 0; i < s; i++) {
        uint64_t h = 0x243f6a8885a308d3ULL;
        for (size_t j = i; j < i + 5 && j < n; j++) {
            h = (h ^ ids[j]) * 0x100000001b3ULL;
            h ^= h >> 29;
        }
        out[k++] = h;
    }
    qsort(out, k, 8, db_cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (!u || out[u - 1] != out[i])
            out[u++] = out[i];
    return u;
}

static double db_jaccard(const db_corpus *c, uint64_t i, uint64_t j)
{
    static uint64_t x[400], y[400];
    size_t nx = db_shingles(c->ids + c->id_off[i], c->id_off[i + 1] - c->id_off[i], x);
    size_t ny = db_shingles(c->ids + c->id_off[j], c->id_off[j + 1] - c->id_off[j], y);
    size_t a = 0, b = 0, both = 0;
    while (a < nx && b < ny) {
        if (x[a] == y[b])
            both++, a++, b++;
        else if (x[a] < y[b])
            a++;
        else
            b++;
    }
    return (double)both / (double)(nx + ny - both);
}

/* Reads the clusters of a report (compact, keys sorted: "clusters" comes first) into cl: cl[i] = the
 * index its cluster keeps, i for a document in none. Returns 0, or -1 when the report does not read. */
static int db_clusters(const char *s, uint64_t n, uint64_t *cl)
{
    for (uint64_t i = 0; i < n; i++)
        cl[i] = i;
    const char *p = strstr(s, "\"clusters\":[");
    if (!p)
        return -1;
    p += strlen("\"clusters\":[");
    while (*p == '{') {
        char *end;
        if (strncmp(p, "{\"keep\":", 8))
            return -1;
        uint64_t keep = strtoull(p + 8, &end, 10);
        p = end;
        if (strncmp(p, ",\"removed\":[", 12) || keep >= n)
            return -1;
        p += 12;
        for (;;) {
            uint64_t r = strtoull(p, &end, 10);
            if (end == p || r >= n)
                return -1;
            cl[r] = keep;
            p = end;
            if (*p == ',')
                p++;
            else
                break;
        }
        if (strncmp(p, "]}", 2))
            return -1;
        p += 2;
        if (*p == ',')
            p++;
    }
    return *p == ']' ? 0 : -1;
}

static const swarm_op *db_op(const swarm_plugin *p, const char *name)
{
    const swarm_op *op = tool_find_op(p, name);
    if (!op) {
        fprintf(stderr, "dedupbench: no %s op\n", name);
        exit(1);
    }
    return op;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dedupbench PLUGIN.so [DOCS [THREADS]]\n");
        return 2;
    }
    uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 100000;
    if (argc > 3)
        setenv("SWARM_DEDUP_THREADS", argv[3], 1);
    if (n < 1)
        return 2;
    const swarm_plugin *p = tool_load_plugin(argv[1]);
    if (!p) {
        fprintf(stderr, "dedupbench: cannot load %s: %s\n", argv[1], dlerror());
        return 1;
    }
    const swarm_op *near = db_op(p, "near"), *exact = db_op(p, "exact");

    db_vocabulary();
    db_corpus c;
    db_generate(&c, n);
    swarm_records in = {n, c.offsets, c.text.p, c.text.n};
    uint64_t planted = 0, pnear = 0, pexact = 0;
    double jmin = 1, jmax = 0, jsum = 0, expect = 0;
    double *jac = malloc(n * sizeof *jac);
    for (uint64_t i = 0; i < n; i++) {
        jac[i] = 0;
        if (c.src[i] < 0)
            continue;
        planted++;
        if (c.kind[i] != 1) {
            pexact++;
            jac[i] = 1;
            expect += 1;
            continue;
        }
        pnear++;
        jac[i] = db_jaccard(&c, (uint64_t)c.src[i], i);
        jmin = jac[i] < jmin ? jac[i] : jmin;
        jmax = jac[i] > jmax ? jac[i] : jmax;
        jsum += jac[i];
        expect += 1 - pow(1 - pow(jac[i], 8), 14);
    }
    printf("corpus   %llu documents, %.1f M words, %.0f MB; planted: %llu near duplicates (Jaccard %.2f-%.2f, mean "
           "%.2f), %llu copies\n",
           (unsigned long long)n, c.nids / 1e6, c.text.n / 1e6, (unsigned long long)pnear, jmin, jmax,
           pnear ? jsum / pnear : 0, (unsigned long long)pexact);

    /* near, kept: timed, best of 3 */
    swarm_param_value np[7];
    np[0].s = "";
    np[1].i = 5;
    np[2].i = 14;
    np[3].i = 8;
    np[4].i = 1;
    np[5].f = 0.0;
    np[6].i = 0;
    swarm_records out;
    double best = 1e30, t;
    for (int round = 0; round < 3; round++) {
        db_call(near, np, &in, &out, &t);
        best = t < best ? t : best;
        free(out.offsets);
        free(out.bytes);
    }
    const char *th = strstr(db_log_line, "removed, ");
    int threads = th ? atoi(th + strlen("removed, ")) : 0;
    np[6].i = 1;
    db_call(near, np, &in, &out, &t);
    char *report = malloc(out.offsets[1] + 1);
    memcpy(report, out.bytes, out.offsets[1]);
    report[out.offsets[1]] = 0;
    free(out.offsets);
    free(out.bytes);
    uint64_t *cl = malloc(n * sizeof *cl);
    if (db_clusters(report, n, cl)) {
        fprintf(stderr, "dedupbench: the report does not read\n");
        return 1;
    }
    /* recall by kind and Jaccard: copies, then near duplicates >= 0.9, [0.85, 0.9), [0.8, 0.85), < 0.8 */
    uint64_t removed = 0, tp = 0, bucket_n[5] = {0}, bucket_tp[5] = {0};
    for (uint64_t i = 0; i < n; i++) {
        int bk = c.kind[i] != 1 ? 0 : jac[i] >= 0.9 ? 1 : jac[i] >= 0.85 ? 2 : jac[i] >= 0.8 ? 3 : 4;
        int found = cl[i] != i && c.src[i] >= 0 && cl[(uint64_t)c.src[i]] == cl[i];
        removed += cl[i] != i;
        tp += found;
        if (c.src[i] >= 0) {
            bucket_n[bk]++;
            bucket_tp[bk] += found;
        }
    }
    printf("near     %.2f s  %.0f docs/s  (%d threads; 5-word shingles, 14 bands x 8 rows)\n", best, n / best, threads);
    printf("         removed %llu, planted %llu: precision %.4f, recall %.4f (1 - (1 - s^8)^14 over the planted "
           "pairs predicts %.4f)\n",
           (unsigned long long)removed, (unsigned long long)planted, removed ? (double)tp / removed : 1.0,
           planted ? (double)tp / planted : 1.0, planted ? expect / planted : 1.0);
    printf("         recall: copies %.4f (%llu), Jaccard >= 0.9 %.4f (%llu), 0.85-0.9 %.4f (%llu), 0.8-0.85 %.4f "
           "(%llu), < 0.8 %.4f (%llu)\n",
           bucket_n[0] ? (double)bucket_tp[0] / bucket_n[0] : 1.0, (unsigned long long)bucket_n[0],
           bucket_n[1] ? (double)bucket_tp[1] / bucket_n[1] : 1.0, (unsigned long long)bucket_n[1],
           bucket_n[2] ? (double)bucket_tp[2] / bucket_n[2] : 1.0, (unsigned long long)bucket_n[2],
           bucket_n[3] ? (double)bucket_tp[3] / bucket_n[3] : 1.0, (unsigned long long)bucket_n[3],
           bucket_n[4] ? (double)bucket_tp[4] / bucket_n[4] : 1.0, (unsigned long long)bucket_n[4]);

    /* exact, kept: timed, best of 3 */
    swarm_param_value ep[2];
    ep[0].s = "";
    ep[1].i = 0;
    best = 1e30;
    uint64_t kept = 0;
    for (int round = 0; round < 3; round++) {
        db_call(exact, ep, &in, &out, &t);
        best = t < best ? t : best;
        kept = out.count;
        free(out.offsets);
        free(out.bytes);
    }
    printf("exact    %.2f s  %.0f docs/s  removed %llu (planted copies %llu)\n", best, n / best,
           (unsigned long long)(n - kept), (unsigned long long)pexact);
    free(report);
    free(cl);
    free(jac);
    free(c.text.p);
    free(c.offsets);
    free(c.ids);
    free(c.id_off);
    free(c.src);
    free(c.kind);
    return 0;
}
