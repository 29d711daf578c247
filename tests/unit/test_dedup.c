/* test_dedup.c — the dedup plugin (plugins/dedup/, compiled in here).
 *
 * 1. The parts: the normalization's rules, the reduction mod 2^61 - 1 against 128-bit division, splitmix64
 *    and the permutations it draws, shingling, the estimated Jaccard similarity and LSH's candidate
 *    probability 1 - (1 - s^R)^B on pairs of known similarity, union-find.
 * 2. The ops, called through their variants' infer and run with a minimal host table (errors kept,
 *    scratch from malloc) and outputs allocated as infer says: exact and near keep first occurrences,
 *    find planted near duplicates and leave unrelated documents alone, give the same bytes for any
 *    number of threads, write a report that parses and agrees with itself, read a JSON field, refuse
 *    bad records and bad params.
 * 3. minhash and what the GPU kernel shares with the CPU: xxh64.h against libxxhash's XXH64, the parallel
 *    normalization rule (norm_rules.h's dd_norm_kept) against dd_normalize, and the minhash op's records
 *    against near's signatures (the same pass) and against per-document dd_normalize + dd_signature.
 *
 * Over 850 lines: the tests of one plugin stay in one file named after it (tests/README.md); its
 * numbered parts are independent of one another. */
#include "dedup/dedup.c"
#include "dedup/docs.c"
#include "dedup/exact.c"
#include "dedup/fold.c"
#include "dedup/lsh.c"
#include "dedup/normalize.c"
#include "dedup/parallel.c"
#include "dedup/report.c"
#include "dedup/shingle.c"

#include "host/opcall.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The host ----------------------------------------------------------------------------------- */

/* swarm's own host table (core/host/opcall.c), with log lines kept for the tests to read. */
static char th_log_line[512];

static void th_log(swarm_call *call, int level, const char *msg)
{
    (void)call;
    (void)level;
    snprintf(th_log_line, sizeof th_log_line, "%s", msg);
}

static const swarm_host *th(void)
{
    static swarm_host h;
    if (!h.abi_version) {
        h = *sw_host_table();
        h.log = th_log;
    }
    return &h;
}

/* Scratch memory of the call, as a dd_alloc; freed by sw_call_end. */
static void *test_alloc_fn(void *ctx, size_t size)
{
    return sw_host_table()->alloc_scratch(ctx, size);
}

/* ---- Batches and calls --------------------------------------------------------------------------- */

/* A batch of n documents (NUL-terminated strings), copied. */
typedef struct {
    swarm_records r;
} batch;

static batch make_batch(const char *const *docs, size_t n)
{
    batch b;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(docs[i]);
    b.r.count = n;
    b.r.offsets = malloc((n + 1) * sizeof(uint64_t));
    b.r.bytes = malloc(total ? total : 1);
    b.r.nbytes = total;
    b.r.offsets[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(docs[i]);
        memcpy(b.r.bytes + b.r.offsets[i], docs[i], len);
        b.r.offsets[i + 1] = b.r.offsets[i] + len;
    }
    return b;
}

static void free_batch(batch *b)
{
    free(b->r.offsets);
    free(b->r.bytes);
}

/* The params of near (and exact: field, output). */
typedef struct {
    const char *field;
    int64_t shingle, bands, rows, seed;
    double threshold;
    int64_t output;
} cfg;

static cfg near_defaults(void)
{
    cfg c = {"", 5, 14, 8, 1, 0.0, DD_OUT_KEPT};
    return c;
}

/* An op's result: the code, the error, and the output records (malloc'd). */
typedef struct {
    int rc;
    char msg[512];
    uint64_t infer_count, infer_nbytes;
    swarm_records out;
} result;

static void free_result(result *r)
{
    free(r->out.offsets);
    free(r->out.bytes);
    r->out.offsets = NULL;
    r->out.bytes = NULL;
}

/* Calls op on its inputs with params pv: infer, allocate as it says, run. */
static result call_values(const swarm_op *op, const swarm_param_value *pv, const swarm_value *iv)
{
    swarm_value ov;
    swarm_call call;
    result res;
    memset(&res, 0, sizeof res);
    memset(&call, 0, sizeof call);
    memset(&ov, 0, sizeof ov);
    ov.kind = SWARM_KIND_RECORDS;
    res.rc = op->variants[0]->infer(th(), &call, pv, iv, &ov);
    if (!res.rc) {
        res.infer_count = ov.u.records.count;
        res.infer_nbytes = ov.u.records.nbytes;
        ov.u.records.offsets = malloc((ov.u.records.count + 1) * sizeof(uint64_t));
        ov.u.records.bytes = malloc(ov.u.records.nbytes ? ov.u.records.nbytes : 1);
        res.rc = op->variants[0]->run(th(), &call, pv, iv, &ov);
        res.out = ov.u.records;
    }
    snprintf(res.msg, sizeof res.msg, "%s", call.msg);
    sw_call_end(&call);
    if (res.rc)
        free_result(&res);
    return res;
}

/* near's params (the report op's are their first six) from c. */
static void near_values(swarm_param_value *pv, const cfg *c)
{
    pv[N_FIELD].s = c->field;
    pv[N_SHINGLE].i = c->shingle;
    pv[N_BANDS].i = c->bands;
    pv[N_ROWS].i = c->rows;
    pv[N_SEED].i = c->seed;
    pv[N_THRESHOLD].f = c->threshold;
    pv[N_OUTPUT].i = c->output;
}

/* Calls op (exact or near) on the batch. */
static result call_op(const swarm_op *op, const cfg *c, const swarm_records *in)
{
    swarm_param_value pv[7];
    swarm_value iv;
    memset(pv, 0, sizeof pv);
    memset(&iv, 0, sizeof iv);
    if (op == &exact_op) {
        pv[E_FIELD].s = c->field;
        pv[E_OUTPUT].i = c->output;
    } else {
        near_values(pv, c);
    }
    iv.kind = SWARM_KIND_RECORDS;
    iv.u.records = *in;
    return call_values(op, pv, &iv);
}

/* Whether the output of a "kept" run is exactly the documents of in at the indexes keep[0..n). */
static int kept_is(const result *res, const swarm_records *in, const uint64_t *keep, size_t n)
{
    if (res->rc || res->out.count != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t len = in->offsets[keep[i] + 1] - in->offsets[keep[i]];
        if (res->out.offsets[i + 1] - res->out.offsets[i] != len ||
            memcmp(res->out.bytes + res->out.offsets[i], in->bytes + in->offsets[keep[i]], (size_t)len))
            return 0;
    }
    return 1;
}

/* The report of a "report" run, parsed (NULL when it is not one JSON object). */
static json_t *parse_report(const result *res)
{
    json_error_t e;
    if (res->rc || res->out.count != 1)
        return NULL;
    json_t *j = json_loadb((const char *)res->out.bytes, (size_t)res->out.offsets[1], 0, &e);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- Generated text ------------------------------------------------------------------------------ */

static uint64_t rng_state = 42;

static uint64_t rnd(void)
{
    return dd_splitmix64(&rng_state);
}

/* Word w of a vocabulary: 3 to 9 lowercase letters, a function of w. */
static void vocab_word(uint64_t w, char *out)
{
    uint64_t s = w * 0x9e3779b97f4a7c15ULL + 12345, x = dd_splitmix64(&s);
    int len = 3 + (int)(x % 7);
    for (int i = 0; i < len; i++) {
        x = dd_splitmix64(&s);
        out[i] = (char)('a' + x % 26);
    }
    out[len] = 0;
}

/* A document of nwords words from ids (malloc'd). */
static char *doc_of(const uint64_t *ids, size_t nwords)
{
    char *d = malloc(nwords * 11 + 1), w[16];
    size_t len = 0;
    for (size_t i = 0; i < nwords; i++) {
        vocab_word(ids[i], w);
        len += (size_t)sprintf(d + len, i ? " %s" : "%s", w);
    }
    d[len] = 0;
    return d;
}

static void random_ids(uint64_t *ids, size_t n, uint64_t vocab)
{
    for (size_t i = 0; i < n; i++)
        ids[i] = rnd() % vocab;
}

/* ---- 1. The parts -------------------------------------------------------------------------------- */

static int norm_is(const char *in, const char *want)
{
    uint8_t out[256];
    size_t n = dd_normalize((const uint8_t *)in, strlen(in), out);
    return n == strlen(want) && !memcmp(out, want, n);
}

static void test_normalize(void)
{
    ok(norm_is("Hello, World!", "hello world"), "normalize: lowercase, punctuation to space, trimmed");
    ok(norm_is("In 1999 and 2024: 3.14", "in 0000 and 0000 0 00"), "normalize: every digit becomes 0");
    ok(norm_is("  a \t\n\r\v\f b  ", "a b"), "normalize: whitespace runs collapse, ends trimmed");
    ok(norm_is("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~x!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~y~", "x y"),
       "normalize: all 32 ASCII punctuation characters are separators");
    ok(norm_is("", "") && norm_is("?!... --", ""), "normalize: empty and separators-only give empty");
    ok(norm_is("a\xe2\x80\x94"
               "b \xe2\x80\x9cq\xe2\x80\x9d \xe2\x80\xa6 c\xe2\x81\xaf"
               "d",
               "a b q c d"),
       "normalize: U+2014, U+201C/D, U+2026, U+206F (General Punctuation) are separators");
    ok(norm_is("a\xc2\xa0"
               "b",
               "a b"),
       "normalize: U+00A0 is a separator");
    ok(norm_is("\xc3\x89"
               "COLE \xc3\x9c"
               "BER",
               "\xc3\x89"
               "cole \xc3\x9c"
               "ber"),
       "normalize: only ASCII is lowercased (É, Ü unchanged)");
    ok(norm_is("x\xe2\x81\xb0y \xe2\x82\xac", "x\xe2\x81\xb0y \xe2\x82\xac"),
       "normalize: U+2070 and U+20AC (outside U+2000-U+206F) are kept");
    ok(norm_is("A\xff\xe2\x80"
               "B",
               "a\xff\xe2\x80"
               "b"),
       "normalize: invalid UTF-8 bytes pass through");
    ok(norm_is("a\x01"
               "b\x7f",
               "a\x01"
               "b\x7f"),
       "normalize: control characters other than whitespace are kept");
    /* every byte alone between two letters, against the rules written out */
    const char *punct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    int bad = 0;
    for (int c = 0; c < 256; c++) {
        uint8_t in[3] = {'x', (uint8_t)c, 'y'}, out[3];
        int sep = c == ' ' || (c >= '\t' && c <= '\r') || (c && strchr(punct, c));
        uint8_t f = c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c >= '0' && c <= '9' ? '0' : (uint8_t)c;
        size_t n = dd_normalize(in, 3, out);
        bad += sep ? !(n == 3 && !memcmp(out, "x y", 3)) : !(n == 3 && out[0] == 'x' && out[1] == f && out[2] == 'y');
    }
    ok(!bad && strlen(punct) == 32, "normalize: each of the 256 bytes alone as the rules say");
    /* the edges of the multi-byte separators */
    ok(norm_is("a\xe2\x80\x80"
               "b\xe2\x81\xaf"
               "c",
               "a b c") &&
           norm_is("a\xe2\x81\xb0"
                   "b",
                   "a\xe2\x81\xb0"
                   "b") &&
           norm_is("a\xe2\x80\x7f"
                   "b",
                   "a\xe2\x80\x7f"
                   "b") &&
           norm_is("a\xe2\x82\x80"
                   "b",
                   "a\xe2\x82\x80"
                   "b") &&
           norm_is("a\xc2\xa1"
                   "b",
                   "a\xc2\xa1"
                   "b") &&
           norm_is("a\xc2", "a\xc2") && norm_is("a\xe2\x80", "a\xe2\x80"),
       "normalize: U+2000 and U+206F are separators, their neighbours and truncated sequences are not");
}

static uint64_t mod_ref(uint64_t x)
{
    return (uint64_t)((unsigned __int128)x % DD_P);
}

static void test_modp(void)
{
    const uint64_t edge[] = {0,
                             1,
                             6,
                             7,
                             8,
                             DD_P - 1,
                             DD_P,
                             DD_P + 1,
                             DD_P + 7,
                             2 * DD_P - 1,
                             2 * DD_P,
                             2 * DD_P + 1,
                             (uint64_t)1 << 61,
                             ((uint64_t)1 << 62) - 1,
                             (uint64_t)1 << 63,
                             7 * DD_P,
                             8 * DD_P,
                             UINT64_MAX - 1,
                             UINT64_MAX};
    int bad = 0;
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++)
        bad += dd_mod_p(edge[i]) != mod_ref(edge[i]);
    ok(!bad, "mod 2^61-1: equals 128-bit x %% P at 0, P-1, P, P+1, 2P, 2^61, 2^63, 2^64-1 and others");
    uint64_t s = 7;
    bad = 0;
    for (int i = 0; i < 1000000; i++) {
        uint64_t x = dd_splitmix64(&s);
        bad += dd_mod_p(x) != mod_ref(x) || dd_mod_p(x >> (i % 64)) != mod_ref(x >> (i % 64));
    }
    ok(!bad, "mod 2^61-1: equals 128-bit x %% P for 2,000,000 random values");
    bad = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t a = dd_splitmix64(&s) % (DD_P - 1) + 1, b = dd_splitmix64(&s) % DD_P, h = dd_splitmix64(&s);
        uint64_t want = (uint64_t)((unsigned __int128)(uint64_t)(a * h + b) % DD_P);
        bad += dd_permute(h, a, b) != want || dd_permute(h, a, b) >= DD_P;
    }
    ok(!bad, "permute: ((a*h + b) wrapping at 64 bits) mod P, below P");
}

static void test_permutations(void)
{
    uint64_t s = 0, a[1024], b[1024], a2[1024], b2[1024];
    uint64_t x0 = dd_splitmix64(&s), x1 = dd_splitmix64(&s);
    ok(x0 == 0xe220a8397b1dcdafULL && x1 == 0x6e789e6aa1b965f4ULL, "splitmix64 from 0: the reference's first outputs");
    dd_draw_permutations(1, 1024, a, b);
    s = 1;
    int bad = 0, range = 0;
    for (int i = 0; i < 1024; i++) {
        uint64_t xa = dd_splitmix64(&s), xb = dd_splitmix64(&s);
        bad += a[i] != xa % (DD_P - 1) + 1 || b[i] != xb % DD_P;
        range += a[i] < 1 || a[i] >= DD_P || b[i] >= DD_P;
    }
    ok(!bad && !range, "permutations: a = x %% (P-1) + 1, b = y %% P from consecutive splitmix64 outputs, in range");
    dd_draw_permutations(1, 112, a2, b2);
    ok(!memcmp(a, a2, 112 * 8) && !memcmp(b, b2, 112 * 8), "permutations: the first K of 1024 are those of K");
    dd_draw_permutations(2, 112, a2, b2);
    bad = 0;
    for (int i = 0; i < 112; i++)
        bad += a[i] == a2[i] || b[i] == b2[i];
    ok(!bad, "permutations: another seed draws other pairs");
}

static void test_shingles(void)
{
    uint64_t a[4], b[4], sig[4], want[4], ring[8];
    size_t *r = (size_t *)ring;
    const char *t = "aa bb cc dd";
    dd_draw_permutations(9, 4, a, b);
    ok(dd_signature((const uint8_t *)t, strlen(t), 2, 4, a, b, sig, r, dd_fold_scalar) == 3,
       "shingles: 4 words, 2 per shingle: 3");
    for (int i = 0; i < 4; i++) {
        uint64_t h1 = XXH64("aa bb", 5, 0), h2 = XXH64("bb cc", 5, 0), h3 = XXH64("cc dd", 5, 0);
        uint64_t v1 = dd_permute(h1, a[i], b[i]), v2 = dd_permute(h2, a[i], b[i]), v3 = dd_permute(h3, a[i], b[i]);
        want[i] = v1 < v2 ? (v1 < v3 ? v1 : v3) : (v2 < v3 ? v2 : v3);
    }
    ok(!memcmp(sig, want, sizeof sig),
       "shingles: the signature is the minimum over XXH64 of \"aa bb\", \"bb cc\", \"cc dd\"");
    ok(dd_signature((const uint8_t *)t, strlen(t), 5, 4, a, b, sig, r, dd_fold_scalar) == 1 &&
           sig[0] == dd_permute(XXH64(t, strlen(t), 0), a[0], b[0]),
       "shingles: fewer words than shingle: one shingle, the whole text");
    ok(dd_signature((const uint8_t *)"x", 1, 1000000, 4, a, b, sig, r, dd_fold_scalar) == 1 &&
           dd_ring_len(1, 1000000) == 1,
       "shingles: a huge shingle needs a ring no longer than the text's words");
    ok(dd_signature((const uint8_t *)"", 0, 5, 4, a, b, sig, r, dd_fold_scalar) == 0 && sig[0] == UINT64_MAX &&
           sig[3] == UINT64_MAX,
       "shingles: an empty text has none, its signature all UINT64_MAX");
    ok(dd_signature((const uint8_t *)t, strlen(t), 1, 4, a, b, sig, r, dd_fold_scalar) == 4,
       "shingles: 1 word per shingle: 4");
}

/* The block folds against folding one hash at a time: scalar and AVX2 (where this CPU has it), for
 * blocks of every length around the vector width and the block size, and hashes near the edges. */
static void test_fold(void)
{
    enum { KMAX = 1024, MMAX = 600 };
    static uint64_t a[KMAX], b[KMAX], h[MMAX], s0[KMAX], s1[KMAX], s2[KMAX];
    const int ks[] = {1, 3, 112, 1024}, ms[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 63, 255, 256, 257, 511, 600};
    dd_fold_fn avx2 = dd_fold_avx2();
    uint64_t st = 99;
    int bad_block = 0, bad_avx2 = 0;
    dd_draw_permutations(3, KMAX, a, b);
    for (int i = 0; i < MMAX; i++)
        h[i] = i % 7 == 0 ? (uint64_t)i : i % 7 == 1 ? UINT64_MAX - (uint64_t)i : dd_splitmix64(&st);
    for (size_t x = 0; x < sizeof ks / sizeof *ks; x++)
        for (size_t y = 0; y < sizeof ms / sizeof *ms; y++) {
            int k = ks[x], m = ms[y];
            for (int i = 0; i < k; i++)
                s0[i] = s1[i] = s2[i] = i % 5 ? UINT64_MAX : dd_splitmix64(&st) % DD_P;
            for (int j = 0; j < m; j++)
                dd_minhash_fold(s0, a, b, k, h[j]);
            dd_fold_scalar(s1, a, b, k, h, m);
            bad_block += memcmp(s0, s1, (size_t)k * 8) != 0;
            if (avx2) {
                avx2(s2, a, b, k, h, m);
                bad_avx2 += memcmp(s0, s2, (size_t)k * 8) != 0;
            }
        }
    ok(!bad_block, "fold: a block folds as its hashes one by one");
    ok(!bad_avx2, "fold: AVX2 gives the scalar signatures bit for bit (%s)",
       avx2 ? "AVX2 here" : "no AVX2 here: not run");
    /* x = 2^64 - 8 + v = 7 * 2^61 + (P - 7 + v): (x & P) + (x >> 61) = P + v, so permuted with a = 1,
     * b = 0 it takes the reduction's correction step to v */
    uint64_t one = 1, zero = 0, sig[1], want_ok = 1;
    for (uint64_t v = 0; v < 8; v++) {
        uint64_t hh = UINT64_MAX - 7 + v;
        sig[0] = UINT64_MAX;
        dd_fold_scalar(sig, &one, &zero, 1, &hh, 1);
        want_ok &= sig[0] == v && mod_ref(hh) == v;
        if (avx2) {
            uint64_t hs[4] = {hh, hh, hh, hh};
            sig[0] = UINT64_MAX;
            avx2(sig, &one, &zero, 1, hs, 4);
            want_ok &= sig[0] == v;
        }
    }
    ok(want_ok, "fold: permuted values 0 to 7 (the reduction's correction step) come out exact");
}

/* Pairs of documents of distinct words (shingle 1) sharing m of n words: Jaccard m / (2n - m) exactly. */
static void test_probability(void)
{
    enum { K = 112, PAIRS = 400, N = 200 };
    uint64_t a[K], b[K], sx[K], sy[K];
    size_t ring[N + 2];
    char *x, *y;
    uint64_t ids[N], ids2[N];
    struct {
        int m;
        double s;
    } cases[] = {{N * 2 * 8 / 18, 0.8}, {N * 2 * 5 / 15, 0.5}, {N * 2 * 3 / 13, 0.3}};
    dd_draw_permutations(1, K, a, b);
    for (size_t c = 0; c < 3; c++) {
        int m = cases[c].m, cand = 0;
        double s = (double)m / (2.0 * N - m), sum = 0;
        for (int p = 0; p < PAIRS; p++) {
            uint64_t base = (uint64_t)p * 1000000 + c * 100000000;
            for (int i = 0; i < N; i++) {
                ids[i] = base + (uint64_t)i;
                ids2[i] = i < m ? base + (uint64_t)i : base + 500000 + (uint64_t)i;
            }
            /* distinct words: vocab_word of distinct ids may collide, so use the ids themselves */
            x = malloc(N * 21), y = malloc(N * 21);
            size_t lx = 0, ly = 0;
            for (int i = 0; i < N; i++) {
                lx += (size_t)sprintf(x + lx, i ? " w%llu" : "w%llu", (unsigned long long)ids[i]);
                ly += (size_t)sprintf(y + ly, i ? " w%llu" : "w%llu", (unsigned long long)ids2[i]);
            }
            dd_signature((const uint8_t *)x, lx, 1, K, a, b, sx, ring, dd_fold_best());
            dd_signature((const uint8_t *)y, ly, 1, K, a, b, sy, ring, dd_fold_best());
            sum += dd_estimated_jaccard(sx, sy, K);
            int band = 0;
            for (int j = 0; j < 14 && !band; j++)
                band = !memcmp(sx + 8 * j, sy + 8 * j, 64);
            cand += band;
            free(x);
            free(y);
        }
        double mean = sum / PAIRS, rate = (double)cand / PAIRS, want = 1 - pow(1 - pow(s, 8), 14);
        ok(fabs(mean - s) < 0.02, "Jaccard %.3f: mean estimate over %d pairs %.3f", s, PAIRS, mean);
        ok(fabs(rate - want) < 0.06, "Jaccard %.3f: candidate rate %.3f, 1 - (1 - s^8)^14 = %.3f", s, rate, want);
    }
}

static void test_union_find(void)
{
    uint64_t p[10];
    for (int i = 0; i < 10; i++)
        p[i] = (uint64_t)i;
    dd_uf_union(p, 9, 7);
    dd_uf_union(p, 7, 4);
    dd_uf_union(p, 5, 6);
    dd_uf_union(p, 6, 9);
    dd_uf_union(p, 2, 2);
    dd_uf_flatten(p, 10);
    ok(p[9] == 4 && p[7] == 4 && p[5] == 4 && p[6] == 4 && p[4] == 4 && p[2] == 2 && p[8] == 8,
       "union-find: a cluster's representative is its smallest index");
}

/* ---- 2. The ops ---------------------------------------------------------------------------------- */

static void test_descriptor(void)
{
    const swarm_plugin *p = swarm_plugin_entry();
    ok(p->abi_version == SWARM_PLUGIN_ABI_VERSION && !strcmp(p->id, "org.swarm.dedup") && p->n_ops == 7 &&
           !strcmp(p->ops[0]->name, "exact") && !strcmp(p->ops[1]->name, "near") &&
           !strcmp(p->ops[2]->name, "minhash") && !strcmp(p->ops[3]->name, "sign") &&
           !strcmp(p->ops[4]->name, "cluster") && !strcmp(p->ops[5]->name, "keep") &&
           !strcmp(p->ops[6]->name, "report") && (p->ops[4]->flags & SWARM_OP_WHOLE) &&
           !(p->ops[3]->flags & SWARM_OP_WHOLE) && !(p->ops[5]->flags & SWARM_OP_WHOLE) && p->ops[5]->n_inputs == 2,
       "plugin org.swarm.dedup: ops exact, near, minhash, and the one pass: sign and keep mapped, cluster whole");
    const swarm_op *m = p->ops[2];
    int same_params = m->n_params == 5;
    for (size_t i = 0; same_params && i < 5; i++)
        same_params = !strcmp(m->params[i].name, p->ops[1]->params[i].name) &&
                      m->params[i].type == p->ops[1]->params[i].type &&
                      !strcmp(m->params[i].default_value, p->ops[1]->params[i].default_value);
    ok(m->flags == SWARM_OP_DETERMINISTIC && m->op_version == 1 && !strcmp(m->variants[0]->numerics, "dedup-1") &&
           same_params && m->n_inputs == 1 && m->inputs[0].kind == SWARM_KIND_RECORDS && m->n_outputs == 1 &&
           !strcmp(m->outputs[0].name, "out") && m->outputs[0].kind == SWARM_KIND_RECORDS,
       "minhash: deterministic, mapped (not whole), numerics dedup-1, near's first 5 params, records in and out");
    ok(p->ops[0]->flags == (SWARM_OP_DETERMINISTIC | SWARM_OP_WHOLE) &&
           p->ops[1]->flags == (SWARM_OP_DETERMINISTIC | SWARM_OP_WHOLE) &&
           !strcmp(p->ops[1]->variants[0]->numerics, "dedup-1") && p->ops[1]->n_params == 7 && p->ops[0]->n_params == 2,
       "ops: deterministic, whole, numerics dedup-1, 2 and 7 params");
}

static void test_exact(void)
{
    const char *docs[] = {"Hello world 1", "hello, WORLD 2!",  "other text",   "Hello world", "",
                          "!!!",           "HELLO -- world 7", "other   text."};
    batch b = make_batch(docs, 8);
    cfg c = near_defaults();
    result r = call_op(&exact_op, &c, &b.r);
    const uint64_t keep[] = {0, 2, 3, 4};
    ok(r.infer_count == 8 && r.infer_nbytes == b.r.nbytes, "exact, kept: infer gives the input's count and bytes");
    ok(kept_is(&r, &b.r, keep, 4), "exact: keeps first occurrences modulo case, digits, punctuation (0 2 3 4)");
    ok(strstr(th_log_line, "exact: 8 documents, 4 kept, 4 removed") != NULL, "exact: logs %s", th_log_line);
    free_result(&r);
    c.output = DD_OUT_REPORT;
    r = call_op(&exact_op, &c, &b.r);
    json_t *j = parse_report(&r);
    char *s = j ? json_dumps(json_object_get(j, "clusters"), JSON_COMPACT) : NULL;
    ok(j && s &&
           !strcmp(s, "[{\"keep\":0,\"removed\":[1,6]},{\"keep\":2,\"removed\":[7]},{\"keep\":4,\"removed\":[5]}]"),
       "exact report: clusters %s", s ? s : "(none)");
    ok(j && json_integer_value(json_object_get(j, "documents")) == 8 &&
           json_integer_value(json_object_get(j, "kept")) == 4 &&
           json_integer_value(json_object_get(j, "removed")) == 4 &&
           !strcmp(json_string_value(json_object_get(j, "hash")), "xxh3_128") &&
           !strcmp(json_string_value(json_object_get(j, "op")), "exact") &&
           !strcmp(json_string_value(json_object_get(j, "normalization")), DD_NORMALIZATION) &&
           !strcmp(json_string_value(json_object_get(json_object_get(j, "params"), "output")), "report"),
       "exact report: counts, hash, op, normalization, params");
    ok(r.infer_count == 1 && r.out.offsets[1] <= r.infer_nbytes, "exact report: one record within infer's bound");
    free(s);
    json_decref(j);
    free_result(&r);
    free_batch(&b);
}

/* n documents: i % 4 == 1 is a copy of i - 1 with one of its 200 words changed; the rest unrelated. */
static char **near_corpus(size_t n, uint64_t vocab)
{
    char **d = malloc(n * sizeof *d);
    uint64_t ids[200];
    for (size_t i = 0; i < n; i++) {
        if (i % 4 != 1)
            random_ids(ids, 200, vocab);
        else
            ids[100 + rnd() % 50] = vocab + rnd() % 1000; /* a word no other document has */
        d[i] = doc_of(ids, 200);
    }
    return d;
}

static void free_corpus(char **d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(d[i]);
    free(d);
}

enum { NEAR_N = 40 };

/* test_near's documents: near_corpus(NEAR_N, 3000) (rng_state reset), then a copy of document 0, document 2
 * in capitals with commas for spaces (*upper, to free), and two empty documents. */
static batch near_batch(char ***d, char **upper)
{
    enum { N = NEAR_N };
    const char *docs[N + 4];
    rng_state = 42;
    *d = near_corpus(N, 3000);
    for (int i = 0; i < N; i++)
        docs[i] = (*d)[i];
    *upper = strdup((*d)[2]);
    for (char *p = *upper; *p; p++)
        *p = *p == ' ' ? ',' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    docs[N] = (*d)[0];    /* identical */
    docs[N + 1] = *upper; /* the same after normalization */
    docs[N + 2] = "";
    docs[N + 3] = "";
    return make_batch(docs, N + 4);
}

/* The indexes near keeps of near_batch's documents: every i % 4 != 1 below NEAR_N, then the empty
 * documents (both, or the first when exact duplicates go too). Returns how many. */
static size_t near_kept(uint64_t *keep, int both_empty)
{
    size_t nk = 0;
    for (int i = 0; i < NEAR_N; i++)
        if (i % 4 != 1)
            keep[nk++] = (uint64_t)i;
    keep[nk++] = NEAR_N + 2;
    if (both_empty)
        keep[nk++] = NEAR_N + 3;
    return nk;
}

static void test_near(void)
{
    enum { N = NEAR_N };
    char **d, *upper;
    batch b = near_batch(&d, &upper);
    cfg c = near_defaults();
    result r = call_op(&near_op, &c, &b.r);
    uint64_t keep[N + 4];
    size_t nk = near_kept(keep, 1);
    ok(kept_is(&r, &b.r, keep, nk),
       "near: one word changed in 200 found (10 of 10), identical and case-changed copies found, unrelated kept, "
       "empty documents kept");
    free_result(&r);

    c.output = DD_OUT_REPORT;
    r = call_op(&near_op, &c, &b.r);
    json_t *j = parse_report(&r), *cl = j ? json_object_get(j, "clusters") : NULL, *perms;
    json_t *c0 = json_array_get(cl, 0);
    char *s0 = c0 ? json_dumps(c0, JSON_COMPACT) : NULL;
    ok(j && json_array_size(cl) == 11 && s0 && !strcmp(s0, "{\"keep\":0,\"removed\":[1,40]}"),
       "near report: 11 clusters, the first {\"keep\":0,\"removed\":[1,40]}");
    free(s0);
    uint64_t a[112], bb[112];
    dd_draw_permutations(1, 112, a, bb);
    perms = j ? json_object_get(j, "permutations") : NULL;
    int bad = !perms || json_array_size(perms) != 112;
    for (size_t i = 0; !bad && i < 112; i++) {
        json_t *pr = json_array_get(perms, i);
        bad = json_array_size(pr) != 2 || (uint64_t)json_integer_value(json_array_get(pr, 0)) != a[i] ||
              (uint64_t)json_integer_value(json_array_get(pr, 1)) != bb[i];
    }
    ok(!bad, "near report: the 112 permutations [a, b] of seed 1");
    json_t *pp = j ? json_object_get(j, "params") : NULL;
    ok(pp && json_object_size(pp) == 7 && json_integer_value(json_object_get(pp, "bands")) == 14 &&
           json_integer_value(json_object_get(pp, "rows")) == 8 &&
           json_integer_value(json_object_get(pp, "shingle")) == 5 &&
           json_integer_value(json_object_get(pp, "seed")) == 1 &&
           json_real_value(json_object_get(pp, "threshold")) == 0.0 &&
           !strcmp(json_string_value(json_object_get(pp, "field")), "") &&
           !strcmp(json_string_value(json_object_get(j, "hash")), "xxh64"),
       "near report: every param, hash xxh64");
    uint64_t removed = 0, prev_keep = 0;
    int order = 1;
    for (size_t i = 0; i < json_array_size(cl); i++) {
        json_t *ci = json_array_get(cl, i), *rm = json_object_get(ci, "removed");
        uint64_t k = (uint64_t)json_integer_value(json_object_get(ci, "keep"));
        order &= (i == 0 || k > prev_keep) && json_array_size(rm) >= 1;
        for (size_t x = 0; x < json_array_size(rm); x++)
            order &= (uint64_t)json_integer_value(json_array_get(rm, x)) >
                     (x ? (uint64_t)json_integer_value(json_array_get(rm, x - 1)) : k);
        prev_keep = k;
        removed += json_array_size(rm);
    }
    ok(j && order && removed == (uint64_t)json_integer_value(json_object_get(j, "removed")) &&
           json_integer_value(json_object_get(j, "documents")) == N + 4 &&
           json_integer_value(json_object_get(j, "kept")) + (json_int_t)removed == N + 4,
       "near report: clusters ordered by keep, removed ascending, counts agree");
    ok(r.out.offsets[1] <= r.infer_nbytes, "near report: %llu bytes within infer's bound %llu",
       (unsigned long long)r.out.offsets[1], (unsigned long long)r.infer_nbytes);
    result r2 = call_op(&near_op, &c, &b.r);
    ok(!r2.rc && r2.out.offsets[1] == r.out.offsets[1] && !memcmp(r2.out.bytes, r.out.bytes, (size_t)r.out.offsets[1]),
       "near report: the same bytes on a second run");
    free_result(&r2);
    c.seed = 2;
    r2 = call_op(&near_op, &c, &b.r);
    json_t *j2 = parse_report(&r2), *p2 = j2 ? json_array_get(json_object_get(j2, "permutations"), 0) : NULL;
    ok(p2 && (uint64_t)json_integer_value(json_array_get(p2, 0)) != a[0] &&
           json_integer_value(json_object_get(j2, "removed")) == json_integer_value(json_object_get(j, "removed")),
       "near report, seed 2: other permutations, the same duplicates found");
    json_decref(j2);
    free_result(&r2);
    json_decref(j);
    free_result(&r);

    /* threshold: the one-word changes have similarity about 0.95 */
    c = near_defaults();
    c.threshold = 1.0;
    r = call_op(&near_op, &c, &b.r);
    ok(!r.rc && r.out.count == N + 4 - 2, "near, threshold 1: only the identical and normalized-identical copies go");
    free_result(&r);
    c.threshold = 0.8;
    r = call_op(&near_op, &c, &b.r);
    ok(kept_is(&r, &b.r, keep, nk), "near, threshold 0.8: the same as without");
    free_result(&r);

    /* short documents: one shingle each */
    const char *shorts[] = {"a b", "A, B!", "a b c", "b a", "a b"};
    batch sb = make_batch(shorts, 5);
    const uint64_t skeep[] = {0, 2, 3};
    c = near_defaults();
    r = call_op(&near_op, &c, &sb.r);
    ok(kept_is(&r, &sb.r, skeep, 3), "near: documents shorter than a shingle match only when equal");
    free_result(&r);
    c.shingle = 1;
    c.bands = 64;
    c.rows = 1;
    r = call_op(&near_op, &c, &sb.r);
    const uint64_t skeep1[] = {0};
    ok(kept_is(&r, &sb.r, skeep1, 1), "near, shingle 1, 64 bands of 1: word sets that overlap are candidates");
    free_result(&r);
    free_batch(&sb);

    /* no records */
    batch eb = make_batch(NULL, 0);
    c = near_defaults();
    r = call_op(&near_op, &c, &eb.r);
    ok(!r.rc && r.out.count == 0 && r.out.offsets[0] == 0, "near: no records, none kept");
    free_result(&r);
    c.output = DD_OUT_REPORT;
    r = call_op(&near_op, &c, &eb.r);
    j = parse_report(&r);
    ok(j && json_integer_value(json_object_get(j, "documents")) == 0 &&
           json_array_size(json_object_get(j, "clusters")) == 0,
       "near report: no records");
    json_decref(j);
    free_result(&r);
    free_batch(&eb);

    free_batch(&b);
    free(upper);
    free_corpus(d, N);
}

/* The signatures and clusters of a corpus with 1, 2, 3 and 7 threads, and the op's bytes with
 * SWARM_DEDUP_THREADS 1 and 4. */
/* The one pass over test_near's corpus: sign (one batch), cluster, keep beside the decisions, report. */
static void test_onepass(void)
{
    enum { N = NEAR_N };
    char **d, *upper;
    batch b = near_batch(&d, &upper);
    cfg c = near_defaults();
    swarm_param_value pv[7], cp[3];
    swarm_value iv[2];
    memset(pv, 0, sizeof pv);
    memset(iv, 0, sizeof iv);
    near_values(pv, &c);
    iv[0].kind = iv[1].kind = SWARM_KIND_RECORDS;
    iv[0].u.records = b.r;
    result sig = call_values(&sign_op, pv, iv);
    ok(sig.rc == 0 && sig.out.count == N + 4 && sig.out.offsets[1] == 16 + 8 * 112,
       "sign: one record per document, its 16-byte hash and 112 entries (%s)", sig.msg);
    cp[C_BANDS].i = 14;
    cp[C_ROWS].i = 8;
    cp[C_THRESHOLD].f = 0;
    iv[0].u.records = sig.out;
    result dec = call_values(&cluster_op, cp, iv);
    ok(dec.rc == 0 && dec.out.count == N + 4 && dec.infer_nbytes == 9 * (N + 4), "cluster: one decision per document");
    uint64_t parent[N + 4];
    uint8_t kind[N + 4];
    int decided = dec.rc == 0;
    for (uint64_t i = 0; decided && i < N + 4; i++)
        decided = !dd_decision_at(&dec.out, i, &parent[i], &kind[i]);
    ok(decided && parent[N] == 0 && kind[N] == DD_EXACT && parent[N + 1] == 2 && kind[N + 1] == DD_EXACT &&
           parent[1] == 0 && kind[1] == DD_NEAR && parent[N + 3] == N + 2 && kind[N + 3] == DD_EXACT &&
           kind[N + 2] == DD_KEPT && kind[0] == DD_KEPT,
       "cluster: copies are exact duplicates of their first, one changed word a near one, the second empty "
       "document an exact one");
    iv[0].u.records = b.r;
    iv[1].u.records = dec.out;
    result kept = call_values(&keep_op, NULL, iv);
    uint64_t keep[N + 4];
    size_t nk = near_kept(keep, 0);
    ok(kept_is(&kept, &b.r, keep, nk), "keep: what exact then near keep, in order, bytes unchanged");
    iv[1].u.records.count = N + 3;
    result bad = call_values(&keep_op, NULL, iv);
    ok(bad.rc == SWARM_E_BAD_INPUT && strstr(bad.msg, "44 documents but 43 decisions"), "keep: counts must agree (%s)",
       bad.msg);
    iv[0].u.records = dec.out;
    result rep = call_values(&report_op, pv, iv);
    json_t *j = parse_report(&rep), *cl = j ? json_object_get(j, "clusters") : NULL;
    char *s0 = cl ? json_dumps(json_array_get(cl, 0), JSON_COMPACT) : NULL;
    ok(j && json_integer_value(json_object_get(j, "documents")) == N + 4 &&
           json_integer_value(json_object_get(j, "exact")) == 3 && json_integer_value(json_object_get(j, "near")) == 10 &&
           json_integer_value(json_object_get(j, "removed")) == 13 && json_array_size(json_object_get(j, "permutations")) == 112 &&
           !strcmp(json_string_value(json_object_get(j, "op")), "dedup") && s0 &&
           !strcmp(s0, "{\"exact\":[40],\"keep\":0,\"near\":[1]}"),
       "report: 3 exact and 10 near removed of 44, clusters as %s", s0 ? s0 : "(none)");
    free(s0);
    json_decref(j);
    free_result(&rep);
    free_result(&kept);
    free_result(&dec);
    free_result(&sig);
    free_batch(&b);
    free(upper);
    free_corpus(d, N);
}

static void test_threads(void)
{
    enum { N = 1000, K = 112 };
    char **d = near_corpus(N, 2000);
    batch b = make_batch((const char *const *)d, N);
    uint64_t a[K], bb[K], *sig1 = NULL, *par1 = NULL;
    uint64_t max_len = 0;
    char msg[256];
    int same = 1;
    dd_draw_permutations(1, K, a, bb);
    dd_check_records(&b.r, &max_len, msg, sizeof msg);
    for (int t = 1; t <= 7; t += t < 3 ? 1 : 4) {
        swarm_call call;
        memset(&call, 0, sizeof call);
        dd_alloc al = {test_alloc_fn, &call};
        dd_pass *p = calloc(1, sizeof *p);
        uint64_t *parent = malloc(N * 8);
        p->in = &b.r;
        p->field = "";
        p->shingle = 5;
        p->k = K;
        p->a = a;
        p->b = bb;
        p->sig = malloc(N * K * 8);
        p->empty = malloc(N);
        p->fold = t % 2 ? dd_fold_scalar : dd_fold_best();
        int rc = dd_pass_run(p, t, max_len, &al, msg, sizeof msg);
        rc |= dd_lsh_cluster(N, 14, 8, p->sig, p->empty, 0, parent, &al);
        if (rc)
            same = 0;
        if (!sig1) {
            sig1 = p->sig;
            par1 = parent;
        } else {
            same &= !memcmp(sig1, p->sig, N * K * 8) && !memcmp(par1, parent, N * 8);
            free(p->sig);
            free(parent);
        }
        free(p->empty);
        free(p);
        sw_call_end(&call);
    }
    ok(same, "signatures and clusters are the same with 1, 2, 3 and 7 threads, scalar and best fold");
    ok(dd_kept_count(par1, N) == N - N / 4, "%d documents: the %d planted duplicates removed", N, N / 4);
    free(sig1);
    free(par1);

    cfg c = near_defaults();
    c.output = DD_OUT_REPORT;
    setenv("SWARM_DEDUP_THREADS", "1", 1);
    result r1 = call_op(&near_op, &c, &b.r);
    ok(strstr(th_log_line, "removed, 1 thread") != NULL, "SWARM_DEDUP_THREADS=1: %s", th_log_line);
    setenv("SWARM_DEDUP_THREADS", "4", 1);
    result r4 = call_op(&near_op, &c, &b.r);
    ok(strstr(th_log_line, "4 threads") != NULL, "SWARM_DEDUP_THREADS=4: %s", th_log_line);
    ok(!r1.rc && !r4.rc && r1.out.offsets[1] == r4.out.offsets[1] &&
           !memcmp(r1.out.bytes, r4.out.bytes, (size_t)r1.out.offsets[1]),
       "near report: the same bytes with 1 and 4 threads");
    free_result(&r1);
    free_result(&r4);
    c = near_defaults();
    setenv("SWARM_DEDUP_THREADS", "3", 1);
    r1 = call_op(&exact_op, &c, &b.r);
    setenv("SWARM_DEDUP_THREADS", "1", 1);
    r4 = call_op(&exact_op, &c, &b.r);
    ok(!r1.rc && !r4.rc && r1.out.count == N && r4.out.count == N &&
           !memcmp(r1.out.offsets, r4.out.offsets, (N + 1) * 8),
       "exact: the same output with 3 and 1 threads");
    free_result(&r1);
    free_result(&r4);
    unsetenv("SWARM_DEDUP_THREADS");
    ok(dd_threads(10) == 1 && dd_threads(1000000) >= 1 && dd_threads(1000000) <= 16,
       "threads: 1 for 10 documents, %d for a million", dd_threads(1000000));
    free_batch(&b);
    free_corpus(d, N);
}

static void test_field(void)
{
    const char *docs[] = {"{\"id\":1,\"text\":\"Hello World\"}", "{\"text\":\"hello, world!\",\"id\":2}",
                          "{\"id\":3,\"text\":\"something else\"}", "{\"text\":\"Hello \\u0057orld\"}"};
    batch b = make_batch(docs, 4);
    cfg c = near_defaults();
    c.field = "text";
    const uint64_t keep[] = {0, 2};
    result r = call_op(&exact_op, &c, &b.r);
    ok(kept_is(&r, &b.r, keep, 2), "exact, field text: whole records kept, texts compared (\\u escapes decoded)");
    free_result(&r);
    r = call_op(&near_op, &c, &b.r);
    ok(kept_is(&r, &b.r, keep, 2), "near, field text: whole records kept");
    free_result(&r);

    struct {
        const char *bad, *want;
    } cases[] = {{"not json", "record 2: not JSON"},
                 {"[\"text\"]", "record 2: not a JSON object"},
                 {"{\"id\":3}", "record 2: no string field \"text\""},
                 {"{\"text\":5}", "record 2: no string field \"text\""},
                 {"{\"text\":\"a\"} x", "record 2: not JSON"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *bd[] = {docs[0], docs[1], cases[i].bad, docs[3], "also bad"};
        batch bb = make_batch(bd, 5);
        result e = call_op(&exact_op, &c, &bb.r), n = call_op(&near_op, &c, &bb.r);
        ok(e.rc == SWARM_E_BAD_INPUT && n.rc == SWARM_E_BAD_INPUT && strstr(e.msg, cases[i].want) &&
               strstr(n.msg, cases[i].want),
           "field: %s -> BAD_INPUT \"%s\"", cases[i].bad, n.msg);
        free_result(&e);
        free_result(&n);
        free_batch(&bb);
    }
    /* many records on several threads: the first bad one is named */
    {
        enum { N = 2000 };
        char **d = malloc(N * sizeof *d);
        for (int i = 0; i < N; i++) {
            d[i] = malloc(64);
            snprintf(d[i], 64, i == 1200 || i == 1300 || i == 1900 ? "{\"txt\":\"%d\"}" : "{\"text\":\"doc %d\"}", i);
        }
        batch bb = make_batch((const char *const *)d, N);
        setenv("SWARM_DEDUP_THREADS", "4", 1);
        result e = call_op(&near_op, &c, &bb.r);
        unsetenv("SWARM_DEDUP_THREADS");
        ok(e.rc == SWARM_E_BAD_INPUT && strstr(e.msg, "record 1200:"),
           "field, 4 threads: the first bad record named: %s", e.msg);
        free_result(&e);
        free_batch(&bb);
        for (int i = 0; i < N; i++)
            free(d[i]);
        free(d);
    }
    free_batch(&b);
}

static void test_params(void)
{
    const char *docs[] = {"a b c d e f", "a b c d e f"};
    batch b = make_batch(docs, 2);
    struct {
        int64_t shingle, bands, rows;
        double t;
        int bad;
        const char *what;
    } cases[] = {{0, 14, 8, 0, 1, "shingle 0"},
                 {5, 0, 8, 0, 1, "bands 0"},
                 {5, 14, 0, 0, 1, "rows 0"},
                 {5, 14, -3, 0, 1, "rows -3"},
                 {5, 1025, 1, 0, 1, "bands 1025"},
                 {5, 33, 32, 0, 1, "33 x 32"},
                 {5, 1, 1 << 30, 0, 1, "rows 2^30"},
                 {5, 14, 8, -0.1, 1, "threshold -0.1"},
                 {5, 14, 8, 1.5, 1, "threshold 1.5"},
                 {5, 32, 32, 0, 0, "32 x 32"},
                 {1, 1, 1, 1.0, 0, "1 x 1, threshold 1"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cfg c = near_defaults();
        c.shingle = cases[i].shingle;
        c.bands = cases[i].bands;
        c.rows = cases[i].rows;
        c.threshold = cases[i].t;
        result r = call_op(&near_op, &c, &b.r);
        if (cases[i].bad)
            ok(r.rc == SWARM_E_BAD_INPUT && r.msg[0], "params: %s refused: %s", cases[i].what, r.msg);
        else
            ok(r.rc == 0 && r.out.count == 1, "params: %s accepted", cases[i].what);
        free_result(&r);
    }
    cfg c = near_defaults();
    c.field = "\xff";
    result r = call_op(&near_op, &c, &b.r);
    ok(r.rc == SWARM_E_BAD_INPUT, "params: a field that is not UTF-8 refused: %s", r.msg);
    free_result(&r);

    uint64_t bad_offsets[3] = {0, 9, 4};
    swarm_records br = b.r;
    br.offsets = bad_offsets;
    c = near_defaults();
    r = call_op(&near_op, &c, &br);
    ok(r.rc == SWARM_E_BAD_INPUT && strstr(r.msg, "record 1: bad offsets"), "records: bad offsets refused: %s", r.msg);
    free_result(&r);
    free_batch(&b);
}


/* ---- 3. minhash, and what the GPU shares with the CPU -------------------------------------------------- */

/* xxh64.h's dd_xxh64 against libxxhash's XXH64: every length 0 to 300 (each tail of 8, 4 and 1 byte reads,
 * one and several 32-byte stripes), then random lengths up to 5000, at every alignment, with seed 0 (the
 * one shingles use) and other seeds, on random bytes and on runs of one byte. */
static void test_xxh64(void)
{
    enum { MAX = 5000 + 8 };
    static uint8_t buf[MAX];
    uint64_t st = 5;
    int bad = 0, n = 0;
    for (int i = 0; i < MAX; i++)
        buf[i] = (uint8_t)dd_splitmix64(&st);
    const uint64_t seeds[] = {0, 1, 0x9e3779b97f4a7c15ULL, UINT64_MAX, (uint64_t)1 << 63};
    for (size_t s = 0; s < sizeof seeds / sizeof *seeds; s++)
        for (size_t len = 0; len <= 300; len++)
            for (size_t off = 0; off < 8; off++, n++)
                bad += dd_xxh64(buf + off, len, seeds[s]) != XXH64(buf + off, len, seeds[s]);
    ok(!bad, "xxh64.h: equals libxxhash's XXH64 for every length 0 to 300, alignments 0 to 7, 5 seeds (%d cases)", n);
    bad = n = 0;
    for (int i = 0; i < 20000; i++, n++) {
        size_t len = (size_t)(dd_splitmix64(&st) % (i % 10 ? 64 : 5001)), off = (size_t)(dd_splitmix64(&st) % 8);
        uint64_t seed = i % 3 ? 0 : dd_splitmix64(&st);
        if (i % 7 == 0)
            memset(buf + off, i % 256, len);
        bad += dd_xxh64(buf + off, len, seed) != XXH64(buf + off, len, seed);
        if (i % 7 == 0)
            for (size_t j = 0; j < len; j++)
                buf[off + j] = (uint8_t)dd_splitmix64(&st);
    }
    ok(!bad, "xxh64.h: equals libxxhash's XXH64 on %d random inputs (lengths to 5000, seeds 0 and random)", n);
    ok(dd_xxh64((const uint8_t *)"", 0, 0) == 0xef46db3751d8e999ULL && dd_xxh64(NULL, 0, 0) == 0xef46db3751d8e999ULL,
       "xxh64.h: XXH64 of nothing, seed 0, is ef46db3751d8e999 (the reference's)");
}

/* The GPU's normalization, serially: each byte kept or not by dd_norm_kept alone (no scan state), kept
 * runs mapped by dd_norm_byte and joined by one space. */
static size_t norm_parallel_rule(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t w = 0;
    int prev = 0;
    for (size_t j = 0; j < n; j++) {
        int kept = dd_norm_kept(dd_kind, in, n, j);
        if (kept && !prev && w)
            out[w++] = ' ';
        if (kept)
            out[w++] = dd_norm_byte(in[j]);
        prev = kept;
    }
    return w;
}

static void test_norm_rule(void)
{
    /* bytes around the multi-byte separators, so that their sequences (whole, truncated, overlapping,
     * at the ends) turn up often */
    static const uint8_t alphabet[] = {0xc2, 0xa0, 0xa1, 0xe2, 0x80, 0x81, 0x82, 0xaf, 0xb0, 0xbf, 0x7f, ' ',
                                       '\t', '.', '-', 'a', 'Z', '5', 0xc3, 0x89, 0x00, 0xff};
    uint8_t in[64], a[64], b[64];
    uint64_t st = 77;
    int bad = 0, cases = 0;
    for (int i = 0; i < 200000; i++, cases++) {
        size_t n = (size_t)(dd_splitmix64(&st) % 40);
        for (size_t j = 0; j < n; j++) {
            uint64_t x = dd_splitmix64(&st);
            in[j] = x % 4 ? alphabet[x / 4 % sizeof alphabet] : (uint8_t)(x >> 32);
        }
        size_t na = dd_normalize(in, n, a), nb = norm_parallel_rule(in, n, b);
        bad += na != nb || memcmp(a, b, na);
    }
    ok(!bad, "norm_rules.h: the per-byte rule (dd_norm_kept) gives dd_normalize's bytes on %d texts rich in "
             "C2 A0 / E2 80 xx / E2 81 xx sequences",
       cases);
}

/* A minhash call on in with cfg c, its output bytes at byte offset off of their buffer (off 1: not
 * aligned for uint64). */
static result call_minhash(const cfg *c, const swarm_records *in, size_t off)
{
    swarm_param_value pv[5];
    swarm_value iv, ov;
    swarm_call call;
    result res;
    uint8_t *base = NULL;
    memset(&res, 0, sizeof res);
    memset(&call, 0, sizeof call);
    memset(&iv, 0, sizeof iv);
    memset(&ov, 0, sizeof ov);
    pv[DD_P_FIELD].s = c->field;
    pv[DD_P_SHINGLE].i = c->shingle;
    pv[DD_P_BANDS].i = c->bands;
    pv[DD_P_ROWS].i = c->rows;
    pv[DD_P_SEED].i = c->seed;
    iv.kind = ov.kind = SWARM_KIND_RECORDS;
    iv.u.records = *in;
    res.rc = minhash_op.variants[0]->infer(th(), &call, pv, &iv, &ov);
    if (!res.rc) {
        res.infer_count = ov.u.records.count;
        res.infer_nbytes = ov.u.records.nbytes;
        ov.u.records.offsets = calloc(ov.u.records.count + 1, sizeof(uint64_t));
        base = malloc(ov.u.records.nbytes + off + 1);
        ov.u.records.bytes = base + off;
        res.rc = minhash_op.variants[0]->run(th(), &call, pv, &iv, &ov);
        res.out = ov.u.records;
        if (!res.rc) { /* keep the bytes in a buffer of their own, for free_result */
            res.out.bytes = malloc(res.out.nbytes + 1);
            memcpy(res.out.bytes, base + off, (size_t)res.out.nbytes);
        }
        free(base);
    }
    snprintf(res.msg, sizeof res.msg, "%s", call.msg);
    sw_call_end(&call);
    if (res.rc) {
        res.out.bytes = NULL;
        free_result(&res);
    }
    return res;
}

/* near's signatures of a batch: the pass near_run makes (dd_pass_run), K entries per document. */
static uint64_t *near_signatures(const cfg *c, const swarm_records *in, int threads)
{
    int k = (int)(c->bands * c->rows);
    uint64_t *a = malloc((size_t)k * 8), *b = malloc((size_t)k * 8), max_len = 0;
    uint64_t *sig = malloc(in->count * (size_t)k * 8 + 8);
    char msg[256];
    swarm_call call;
    memset(&call, 0, sizeof call);
    dd_alloc al = {test_alloc_fn, &call};
    dd_pass *p = calloc(1, sizeof *p);
    dd_draw_permutations((uint64_t)c->seed, k, a, b);
    dd_check_records(in, &max_len, msg, sizeof msg);
    p->in = in;
    p->field = c->field;
    p->shingle = (uint64_t)c->shingle;
    p->k = k;
    p->a = a;
    p->b = b;
    p->sig = sig;
    p->empty = malloc(in->count + 1);
    if (dd_pass_run(p, threads, max_len, &al, msg, sizeof msg)) {
        free(sig);
        sig = NULL;
    }
    free(p->empty);
    free(p);
    free(a);
    free(b);
    sw_call_end(&call);
    return sig;
}

/* Each document alone: dd_normalize, then dd_signature with the scalar fold. */
static uint64_t *doc_signatures(const cfg *c, const swarm_records *in)
{
    int k = (int)(c->bands * c->rows);
    uint64_t *a = malloc((size_t)k * 8), *b = malloc((size_t)k * 8);
    uint64_t *sig = malloc(in->count * (size_t)k * 8 + 8);
    dd_draw_permutations((uint64_t)c->seed, k, a, b);
    for (uint64_t i = 0; i < in->count; i++) {
        size_t len = (size_t)(in->offsets[i + 1] - in->offsets[i]);
        uint8_t *t = malloc(len + 1);
        size_t *ring = malloc((dd_ring_len(len, (uint64_t)c->shingle) + 1) * sizeof *ring);
        size_t n = dd_normalize(in->bytes + in->offsets[i], len, t);
        dd_signature(t, n, (uint64_t)c->shingle, k, a, b, sig + i * (uint64_t)k, ring, dd_fold_scalar);
        free(t);
        free(ring);
    }
    free(a);
    free(b);
    return sig;
}

/* Whether a minhash result holds sig (count x k) as records of 8 k little-endian bytes. */
static int minhash_is(const result *r, const uint64_t *sig, uint64_t count, int k)
{
    if (r->rc || r->out.count != count || !sig)
        return 0;
    for (uint64_t i = 0; i <= count; i++)
        if (r->out.offsets[i] != i * 8 * (uint64_t)k)
            return 0;
    for (uint64_t i = 0; i < count * (uint64_t)k; i++) {
        uint64_t v = 0;
        for (int byte = 7; byte >= 0; byte--)
            v = v << 8 | r->out.bytes[i * 8 + (uint64_t)byte];
        if (v != sig[i])
            return 0;
    }
    return 1;
}

static void test_minhash(void)
{
    enum { N = 301 };
    char **d = near_corpus(N, 4000);
    const char *docs[N + 9];
    for (int i = 0; i < N; i++)
        docs[i] = d[i];
    char *longdoc = malloc(100000 * 11 + 1);
    {
        uint64_t *ids = malloc(100000 * sizeof *ids);
        random_ids(ids, 100000, 50000);
        char *t = doc_of(ids, 100000);
        strcpy(longdoc, t);
        free(t);
        free(ids);
    }
    docs[N] = "";
    docs[N + 1] = "!!! ... \xe2\x80\x94 \xc2\xa0";  /* separators only: empty once normalized */
    docs[N + 2] = "Two words";                      /* shorter than a shingle */
    docs[N + 3] = "\xc3\x89" "cole \xc3\x9c" "BER stra\xc3\x9f" "e \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
                  "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xe2\x80\x9cquoted\xe2\x80\x9d 1999 "
                  "\xf0\x9f\x98\x80";
    docs[N + 4] = "a\xe2\x80\x94" "b\xe2\x80" "c\xe2\x81\xaf" "d\xc2" "e \xff\xfe broken";
    docs[N + 5] = longdoc;
    docs[N + 6] = "x";
    docs[N + 7] = "";
    docs[N + 8] = "ONE two THREE four FIVE six";
    batch b = make_batch(docs, N + 9);
    const uint64_t count = N + 9;

    struct {
        int64_t shingle, bands, rows, seed;
    } cases[] = {{5, 14, 8, 1}, {5, 14, 8, 2}, {1, 64, 1, 7}, {3, 9, 13, -5}, {40, 1, 1, 0}, {5, 32, 32, 123456789}};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        cfg c = near_defaults();
        c.shingle = cases[ci].shingle;
        c.bands = cases[ci].bands;
        c.rows = cases[ci].rows;
        c.seed = cases[ci].seed;
        int k = (int)(c.bands * c.rows);
        result r = call_minhash(&c, &b.r, 0);
        uint64_t *ns = near_signatures(&c, &b.r, 3), *ds = doc_signatures(&c, &b.r);
        ok(r.infer_count == count && r.infer_nbytes == count * 8 * (uint64_t)k && minhash_is(&r, ns, count, k),
           "minhash, shingle %lld, %lld x %lld, seed %lld: %llu records of %d bytes, near's signatures",
           (long long)c.shingle, (long long)c.bands, (long long)c.rows, (long long)c.seed,
           (unsigned long long)count, 8 * k);
        ok(minhash_is(&r, ds, count, k), "... and each document's dd_normalize + dd_signature");
        if (ci == 0) {
            int empty_max = 1, others = 1;
            for (int j = 0; j < k; j++) {
                empty_max &= ns[(uint64_t)N * k + j] == UINT64_MAX && ns[(uint64_t)(N + 1) * k + j] == UINT64_MAX &&
                             ns[(uint64_t)(N + 7) * k + j] == UINT64_MAX;
                others &= ns[(uint64_t)(N + 2) * k + j] < DD_P && ns[(uint64_t)(N + 5) * k + j] < DD_P;
            }
            ok(empty_max && others, "minhash: an empty or separators-only document is all UINT64_MAX, others below P");
            result u = call_minhash(&c, &b.r, 1);
            ok(minhash_is(&u, ns, count, k), "minhash: output bytes not aligned for uint64: the same records");
            free_result(&u);
            setenv("SWARM_DEDUP_THREADS", "1", 1);
            u = call_minhash(&c, &b.r, 0);
            unsetenv("SWARM_DEDUP_THREADS");
            ok(minhash_is(&u, ns, count, k), "minhash: the same records on 1 thread");
            free_result(&u);
        }
        free(ns);
        free(ds);
        free_result(&r);
    }

    /* field: the text of a JSON string member */
    const char *jd[] = {"{\"id\":1,\"text\":\"Hello World, again and again\"}", "{\"text\":\"\\u00c9cole \\u2014 x\"}",
                        "{\"text\":\"\"}"};
    const char *td[] = {"Hello World, again and again", "\xc3\x89" "cole \xe2\x80\x94 x", ""};
    batch jb = make_batch(jd, 3), tb = make_batch(td, 3);
    cfg c = near_defaults();
    result rt = call_minhash(&c, &tb.r, 0);
    c.field = "text";
    result rj = call_minhash(&c, &jb.r, 0);
    ok(!rj.rc && !rt.rc && rj.out.count == 3 && !memcmp(rj.out.bytes, rt.out.bytes, 3 * 112 * 8),
       "minhash, field text: the signatures of the members' decoded text");
    free_result(&rj);
    const char *bad[] = {jd[0], "{\"id\":2}"};
    batch bb = make_batch(bad, 2);
    rj = call_minhash(&c, &bb.r, 0);
    ok(rj.rc == SWARM_E_BAD_INPUT && strstr(rj.msg, "record 1: no string field \"text\""),
       "minhash, field text: a record without it refused: %s", rj.msg);
    free_result(&rj);
    free_result(&rt);
    free_batch(&bb);
    free_batch(&jb);
    free_batch(&tb);

    /* params: near's checks */
    c = near_defaults();
    const int64_t bad_params[][3] = {{0, 14, 8}, {5, 0, 8}, {5, 14, -1}, {5, 33, 32}, {5, 1025, 1}};
    int refused = 1;
    for (size_t i = 0; i < sizeof bad_params / sizeof *bad_params; i++) {
        c.shingle = bad_params[i][0];
        c.bands = bad_params[i][1];
        c.rows = bad_params[i][2];
        result r = call_minhash(&c, &b.r, 0);
        result n = call_op(&near_op, &c, &b.r);
        refused &= r.rc == SWARM_E_BAD_INPUT && n.rc == SWARM_E_BAD_INPUT && !strcmp(r.msg, n.msg);
        free_result(&r);
        free_result(&n);
    }
    c = near_defaults();
    c.field = "\xff";
    result r = call_minhash(&c, &b.r, 0);
    refused &= r.rc == SWARM_E_BAD_INPUT;
    free_result(&r);
    ok(refused, "minhash: refuses the params near refuses, with near's messages");

    /* no records; bad offsets */
    batch eb = make_batch(NULL, 0);
    c = near_defaults();
    r = call_minhash(&c, &eb.r, 0);
    ok(!r.rc && r.infer_count == 0 && r.infer_nbytes == 0 && r.out.count == 0 && r.out.offsets[0] == 0,
       "minhash: no records, none written");
    free_result(&r);
    free_batch(&eb);
    uint64_t bad_offsets[3] = {0, 9, 4};
    swarm_records br = b.r;
    br.count = 2;
    br.offsets = bad_offsets;
    r = call_minhash(&c, &br, 0);
    ok(r.rc == SWARM_E_BAD_INPUT && strstr(r.msg, "record 1: bad offsets"), "minhash: bad offsets refused: %s", r.msg);
    free_result(&r);

    free_batch(&b);
    free(longdoc);
    free_corpus(d, N);
}

int main(void)
{
    test_normalize();
    test_modp();
    test_permutations();
    test_shingles();
    test_fold();
    test_probability();
    test_union_find();
    test_descriptor();
    test_exact();
    test_near();
    test_onepass();
    test_threads();
    test_field();
    test_params();
    test_xxh64();
    test_norm_rule();
    test_minhash();
    return tap_done();
}
