/* bpe.c — the tokenizer's core: a vocabulary's tables (ids, a map from token bytes to id, a map from a
 * pair of ids to its merge), GPT-2's pre-split through PCRE2, BPE merging, encode and decode.
 *
 * Merging follows GPT-2's encoder: within a piece, repeatedly merge the adjacent pair with the lowest
 * merge rank, the leftmost one on ties, until no pair has a merge. Short pieces (almost all) scan an
 * array for the lowest rank; long ones (a run of digits, letters or punctuation may be megabytes) keep
 * a linked list and a min-heap of (rank, position), so a piece of n bytes costs O(n log n). A piece that
 * is itself a token whose own BPE gives just that token (worked out once per vocabulary) skips merging:
 * the same ids, without the work; so does a short piece met before by the same encoder state (a cache of
 * merged pieces, emptied when full). */
#include "bpe_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GPT-2's pre-split regex (FORMATS.md), with \s spelled out as Unicode's White_Space property: that is
 * what \s means to tiktoken (Rust's regex) and to the `regex` module of GPT-2's own encoder, while PCRE2's
 * \s (with UCP) also takes U+180E. \S is its complement. Compiled anchored: every match starts where the
 * previous one ended, since the alternatives together match any character. */
#define BPE_WS "\\t-\\r \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
static const char bpe_pattern[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" BPE_WS "\\p{L}\\p{N}]+|[" BPE_WS
                                  "]+(?![^" BPE_WS "])|[" BPE_WS "]+";

/* Pieces up to this many bytes merge by scanning an array; longer ones through the heap. */
#define BPE_SMALL 48

/* The piece cache of a state: pieces up to BPE_CACHE_PIECE bytes, at most BPE_CACHE_N of them. */
#define BPE_CACHE_PIECE 64
#define BPE_CACHE_N 4096

/* A cached piece: its bytes at cbytes[off], its ids at cids[ids]; len 0 is an empty slot. */
typedef struct {
    uint32_t hash, off, len, ids, n;
} bpe_cslot;

struct bpe_state {
    const bpe_vocab *v;
    pcre2_match_data *md;
    uint32_t *sym, *rk, *mg, *prv, *nxt; /* per symbol: id, rank and result of its pair with the next,
                                            neighbours; one block at sym */
    uint64_t *heap;                      /* (rank << 32 | position), 3 per symbol */
    size_t cap;                          /* symbols the buffers hold */
    bpe_cslot *cache;                    /* 2 * BPE_CACHE_N slots, allocated on first use (or NULL) */
    uint8_t *cbytes;                     /* BPE_CACHE_N * BPE_CACHE_PIECE */
    uint32_t *cids;                      /* as many */
    size_t cused, cblen, cilen;          /* pieces, bytes and ids in the cache */
};

/* ---- Messages ------------------------------------------------------------------------------------ */

int bpe_fail(char *err, int code, const char *fmt, ...)
{
    va_list ap;
    if (err) {
        va_start(ap, fmt);
        vsnprintf(err, BPE_ERR_LEN, fmt, ap);
        va_end(ap);
    }
    return code;
}

void bpe_show(char *buf, size_t size, const uint8_t *p, size_t len)
{
    size_t w = 0, i;
    if (!size)
        return;
    for (i = 0; i < len && i < 40 && w + 8 < size; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '\'')
            buf[w++] = (char)p[i];
        else
            w += (size_t)snprintf(buf + w, size - w, "\\x%02x", p[i]);
    }
    if (i < len && w + 4 < size) {
        memcpy(buf + w, "...", 3);
        w += 3;
    }
    buf[w] = 0;
}

/* ---- Hashing ------------------------------------------------------------------------------------- */

/* A 64-bit hash of n bytes (internal to one process: the byte order of the machine shapes it). */
static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n, w;
    while (n >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

/* A hash of a pair key for the merge map. */
static size_t pair_hash(uint64_t key)
{
    key *= 0x9e3779b97f4a7c15ull;
    return (size_t)(key ^ (key >> 31));
}

/* The smallest power of two that is at least 2n and at least 16. */
static size_t table_size(size_t n)
{
    size_t s = 16;
    while (s < 2 * n)
        s *= 2;
    return s;
}

static void put_le32(uint8_t *p, uint32_t x)
{
    p[0] = (uint8_t)x;
    p[1] = (uint8_t)(x >> 8);
    p[2] = (uint8_t)(x >> 16);
    p[3] = (uint8_t)(x >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- Building a vocabulary ------------------------------------------------------------------------ */

int bpe_vocab_new(bpe_vocab **out, uint32_t n_ids, size_t n_merges, char *err)
{
    bpe_vocab *v = calloc(1, sizeof *v);
    *out = NULL;
    if (!v)
        return bpe_fail(err, BPE_E_NOMEM, "out of memory");
    if (n_ids == 0 || n_ids - 1 > BPE_MAX_ID || n_merges > BPE_MAX_ID) {
        free(v);
        return bpe_fail(err, BPE_E_INPUT, "too many ids or merges");
    }
    v->n_ids = n_ids;
    v->tok = calloc(n_ids, sizeof *v->tok);
    v->flags = calloc(n_ids, 1);
    v->pmap_mask = table_size(n_merges) - 1;
    v->pmap = malloc((v->pmap_mask + 1) * sizeof *v->pmap);
    if (!v->tok || !v->flags || !v->pmap) {
        bpe_vocab_free(v);
        return bpe_fail(err, BPE_E_NOMEM, "out of memory for %u ids", (unsigned)n_ids);
    }
    memset(v->pmap, 0xff, (v->pmap_mask + 1) * sizeof *v->pmap);
    *out = v;
    return BPE_OK;
}

int bpe_vocab_add(bpe_vocab *v, uint32_t id, const uint8_t *b, size_t len, int special, char *err)
{
    char show[200];
    if (id >= v->n_ids)
        return bpe_fail(err, BPE_E_INTERNAL, "id %u is out of the table", (unsigned)id);
    if (v->flags[id] & BPE_F_PRESENT)
        return bpe_fail(err, BPE_E_INPUT, "id %u is given to two tokens", (unsigned)id);
    if (len == 0)
        return bpe_fail(err, BPE_E_INPUT, "the token with id %u is empty", (unsigned)id);
    if (len > BPE_MAX_TOKEN) {
        bpe_show(show, sizeof show, b, len);
        return bpe_fail(err, BPE_E_INPUT, "token '%s' is %zu bytes long (at most %u)", show, len, BPE_MAX_TOKEN);
    }
    if (v->arena_cap - v->arena_len < len) {
        size_t cap = v->arena_cap ? v->arena_cap : 4096;
        uint8_t *a;
        while (cap - v->arena_len < len)
            cap *= 2;
        if (!(a = realloc(v->arena, cap)))
            return bpe_fail(err, BPE_E_NOMEM, "out of memory for token bytes");
        v->arena = a;
        v->arena_cap = cap;
    }
    memcpy(v->arena + v->arena_len, b, len);
    v->tok[id].off = (uint32_t)v->arena_len;
    v->tok[id].len = (uint32_t)len;
    v->arena_len += len;
    v->flags[id] = (uint8_t)(BPE_F_PRESENT | (special ? BPE_F_SPECIAL : 0));
    v->n_tokens++;
    if (len > v->max_len)
        v->max_len = len;
    return BPE_OK;
}

/* Puts ordinary token id into the token map, or says which token already has its bytes. */
static int tmap_insert(bpe_vocab *v, uint32_t id, char *err)
{
    const uint8_t *b = v->arena + v->tok[id].off;
    size_t len = v->tok[id].len;
    uint64_t h = hash_bytes(b, len);
    for (size_t s = (size_t)h & v->tmap_mask;; s = (s + 1) & v->tmap_mask) {
        bpe_tslot *t = &v->tmap[s];
        if (!t->id1) {
            t->hash = (uint32_t)h;
            t->id1 = id + 1;
            return BPE_OK;
        }
        if (t->hash == (uint32_t)h && v->tok[t->id1 - 1].len == len && !memcmp(v->arena + v->tok[t->id1 - 1].off, b, len)) {
            char show[200];
            bpe_show(show, sizeof show, b, len);
            return bpe_fail(err, BPE_E_INPUT, "ids %u and %u are the same token '%s'", (unsigned)(t->id1 - 1),
                            (unsigned)id, show);
        }
    }
}

int bpe_vocab_index(bpe_vocab *v, char *err)
{
    int rc;
    v->tmap_mask = table_size(v->n_tokens) - 1;
    if (!(v->tmap = calloc(v->tmap_mask + 1, sizeof *v->tmap)))
        return bpe_fail(err, BPE_E_NOMEM, "out of memory for the token map");
    for (uint32_t id = 0; id < v->n_ids; id++)
        if ((v->flags[id] & (BPE_F_PRESENT | BPE_F_SPECIAL)) == BPE_F_PRESENT && (rc = tmap_insert(v, id, err)))
            return rc;
    return BPE_OK;
}

/* bpe_vocab_lookup with the bytes' hash_bytes already known. */
static uint32_t lookup_hashed(const bpe_vocab *v, const uint8_t *b, size_t len, uint64_t h)
{
    if (len == 0 || len > v->max_len)
        return BPE_NONE;
    for (size_t s = (size_t)h & v->tmap_mask;; s = (s + 1) & v->tmap_mask) {
        const bpe_tslot *t = &v->tmap[s];
        if (!t->id1)
            return BPE_NONE;
        if (t->hash == (uint32_t)h && v->tok[t->id1 - 1].len == len && !memcmp(v->arena + v->tok[t->id1 - 1].off, b, len))
            return t->id1 - 1;
    }
}

uint32_t bpe_vocab_lookup(const bpe_vocab *v, const uint8_t *b, size_t len)
{
    return lookup_hashed(v, b, len, hash_bytes(b, len));
}

/* The rank of merging ids a and b (and the merged id in *merged), or BPE_NONE. */
static uint32_t pair_find(const bpe_vocab *v, uint32_t a, uint32_t b, uint32_t *merged)
{
    uint64_t key = (uint64_t)a << 32 | b;
    for (size_t s = pair_hash(key) & v->pmap_mask;; s = (s + 1) & v->pmap_mask) {
        const bpe_pslot *p = &v->pmap[s];
        if (p->key == key) {
            *merged = p->merged;
            return p->rank;
        }
        if (p->key == BPE_PAIR_EMPTY)
            return BPE_NONE;
    }
}

/* Says which token of a merge is unknown. */
static int merge_unknown(char *err, const char *what, size_t num, const uint8_t *b, size_t len, const char *role)
{
    char show[200];
    bpe_show(show, sizeof show, b, len);
    return bpe_fail(err, BPE_E_INPUT, "%s %zu: %s '%s' is not a token of the vocabulary", what, num, role, show);
}

int bpe_vocab_merge(bpe_vocab *v, const uint8_t *l, size_t ll, const uint8_t *r, size_t rl, const char *what,
                    size_t num, char *err)
{
    uint8_t cat[2 * BPE_MAX_TOKEN];
    uint32_t li = bpe_vocab_lookup(v, l, ll), ri = bpe_vocab_lookup(v, r, rl), mi = BPE_NONE;
    uint64_t key;
    size_t s;
    if (li == BPE_NONE)
        return merge_unknown(err, what, num, l, ll, "left");
    if (ri == BPE_NONE)
        return merge_unknown(err, what, num, r, rl, "right");
    memcpy(cat, l, ll); /* both at most BPE_MAX_TOKEN: they are tokens */
    memcpy(cat + ll, r, rl);
    if ((mi = bpe_vocab_lookup(v, cat, ll + rl)) == BPE_NONE)
        return merge_unknown(err, what, num, cat, ll + rl, "merged");
    if ((size_t)v->n_merges * 2 + 2 > v->pmap_mask + 1)
        return bpe_fail(err, BPE_E_INTERNAL, "%s %zu: more merges than announced", what, num);
    key = (uint64_t)li << 32 | ri;
    for (s = pair_hash(key) & v->pmap_mask; v->pmap[s].key != BPE_PAIR_EMPTY; s = (s + 1) & v->pmap_mask)
        if (v->pmap[s].key == key)
            return bpe_fail(err, BPE_E_INPUT, "%s %zu: the pair is merged twice (first with rank %u)", what, num,
                            (unsigned)v->pmap[s].rank);
    v->pmap[s].key = key;
    v->pmap[s].rank = v->n_merges++;
    v->pmap[s].merged = mi;
    return BPE_OK;
}

/* ---- Merging ------------------------------------------------------------------------------------- */

/* Makes room in st's buffers for n symbols. */
static int state_reserve(bpe_state *st, size_t n, char *err)
{
    size_t cap = st->cap ? st->cap : 256;
    if (n <= st->cap)
        return BPE_OK;
    if (n > 0xfffffff0u)
        return bpe_fail(err, BPE_E_INPUT, "a piece of %zu bytes is too long to merge", n);
    while (cap < n)
        cap = cap > SIZE_MAX / 2 ? n : cap * 2;
    if (cap > 0xfffffff0u)
        cap = n;
    free(st->sym);
    free(st->heap);
    st->sym = cap <= SIZE_MAX / 24 ? malloc(5 * cap * sizeof *st->sym) : NULL; /* sym, rk, mg, prv, nxt */
    st->heap = cap <= SIZE_MAX / 24 ? malloc(3 * cap * sizeof *st->heap) : NULL;
    st->cap = cap;
    if (!st->sym || !st->heap) {
        st->cap = 0;
        return bpe_fail(err, BPE_E_NOMEM, "out of memory for a piece of %zu bytes", n);
    }
    st->rk = st->sym + cap;
    st->mg = st->rk + cap;
    st->prv = st->mg + cap;
    st->nxt = st->prv + cap;
    return BPE_OK;
}

/* Merges st->sym[0..n) in place, scanning for the lowest rank each step (short pieces). Returns the
 * number of symbols left. */
static size_t merge_small(bpe_state *st, size_t n)
{
    const bpe_vocab *v = st->v;
    uint32_t *sym = st->sym, *rk = st->rk, *mg = st->mg;
    if (n < 2)
        return n;
    for (size_t i = 0; i + 1 < n; i++)
        rk[i] = pair_find(v, sym[i], sym[i + 1], &mg[i]);
    for (;;) {
        size_t best = 0;
        uint32_t low = BPE_NONE;
        for (size_t i = 0; i + 1 < n; i++)
            if (rk[i] < low) {
                low = rk[i];
                best = i;
            }
        if (low == BPE_NONE)
            return n;
        sym[best] = mg[best];
        memmove(sym + best + 1, sym + best + 2, (n - best - 2) * sizeof *sym);
        if (best + 3 <= n) {
            memmove(rk + best + 1, rk + best + 2, (n - best - 3) * sizeof *rk);
            memmove(mg + best + 1, mg + best + 2, (n - best - 3) * sizeof *mg);
        }
        n--;
        if (best > 0)
            rk[best - 1] = pair_find(v, sym[best - 1], sym[best], &mg[best - 1]);
        if (best + 1 < n)
            rk[best] = pair_find(v, sym[best], sym[best + 1], &mg[best]);
    }
}

/* Adds x to the binary min-heap h of *n entries. */
static void heap_push(uint64_t *h, size_t *n, uint64_t x)
{
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > x) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

/* Removes and returns the smallest entry of the non-empty heap h. */
static uint64_t heap_pop(uint64_t *h, size_t *n)
{
    uint64_t top = h[0], x = h[--*n];
    size_t i = 0, c;
    while ((c = 2 * i + 1) < *n) {
        if (c + 1 < *n && h[c + 1] < h[c])
            c++;
        if (h[c] >= x)
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
    return top;
}

/* Sets the rank of the pair starting at node i (BPE_NONE when it has no next) and queues it. */
static void heap_pair(bpe_state *st, uint32_t i, size_t *hn)
{
    uint32_t j = st->nxt[i];
    st->rk[i] = j == BPE_NONE ? BPE_NONE : pair_find(st->v, st->sym[i], st->sym[j], &st->mg[i]);
    if (st->rk[i] != BPE_NONE)
        heap_push(st->heap, hn, (uint64_t)st->rk[i] << 32 | i);
}

/* Merges st->sym[0..n) like merge_small, in O(n log n): a linked list of symbols and a min-heap of
 * (rank, position) with stale entries skipped (an entry is current while its node's pair has that rank;
 * ranks name pairs uniquely). Node positions keep the text's order, so the heap's ties go leftmost.
 * Returns the number of symbols left, compacted to the front of st->sym. */
static size_t merge_heap(bpe_state *st, size_t n)
{
    size_t hn = 0, k = 0;
    uint32_t i;
    for (i = 0; i < n; i++) {
        st->prv[i] = i ? i - 1 : BPE_NONE;
        st->nxt[i] = i + 1 < n ? i + 1 : BPE_NONE;
    }
    for (i = 0; i < n; i++)
        heap_pair(st, i, &hn);
    while (hn) {
        uint64_t e = heap_pop(st->heap, &hn);
        uint32_t j, after;
        i = (uint32_t)e;
        if (st->rk[i] != (uint32_t)(e >> 32))
            continue;
        j = st->nxt[i];
        after = st->nxt[j];
        st->sym[i] = st->mg[i];
        st->nxt[i] = after;
        if (after != BPE_NONE)
            st->prv[after] = i;
        st->rk[j] = BPE_NONE; /* j is gone: its queued entries are stale */
        heap_pair(st, i, &hn);
        if (st->prv[i] != BPE_NONE)
            heap_pair(st, st->prv[i], &hn);
    }
    for (i = 0; i != BPE_NONE; i = st->nxt[i])
        st->sym[k++] = st->sym[i];
    return k;
}

/* Turns the bytes of a piece into byte tokens in st->sym and merges them; *k gets the count. Fails
 * on a byte the vocabulary has no token for (at offset base + its index). */
static int merge_piece(bpe_state *st, const uint8_t *p, size_t len, size_t base, size_t *k, char *err)
{
    int rc;
    if ((rc = state_reserve(st, len, err)))
        return rc;
    for (size_t i = 0; i < len; i++)
        if ((st->sym[i] = st->v->byte_id[p[i]]) == BPE_NONE)
            return bpe_fail(err, BPE_E_INPUT, "byte 0x%02x at offset %zu has no token in the vocabulary", p[i],
                            base + i);
    *k = len <= BPE_SMALL ? merge_small(st, len) : merge_heap(st, len);
    return BPE_OK;
}

/* ---- Finishing a vocabulary ---------------------------------------------------------------------- */

typedef struct {
    uint32_t len, id;
} bpe_lenid;

/* qsort order: longer tokens first, then lower ids. */
static int longest_first(const void *a, const void *b)
{
    const bpe_lenid *x = a, *y = b;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Lists the special tokens, longest first (so the longest wins where two start at one byte). */
static int collect_specials(bpe_vocab *v, char *err)
{
    bpe_lenid *l;
    size_t n = 0;
    for (uint32_t id = 0; id < v->n_ids; id++)
        n += (v->flags[id] & BPE_F_SPECIAL) != 0;
    if (!n)
        return BPE_OK;
    l = malloc(n * sizeof *l);
    v->special = malloc(n * sizeof *v->special);
    if (!l || !v->special) {
        free(l);
        return bpe_fail(err, BPE_E_NOMEM, "out of memory for special tokens");
    }
    n = 0;
    for (uint32_t id = 0; id < v->n_ids; id++)
        if (v->flags[id] & BPE_F_SPECIAL) {
            l[n].len = v->tok[id].len;
            l[n++].id = id;
        }
    qsort(l, n, sizeof *l, longest_first);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = v->arena[v->tok[l[i].id].off];
        v->special[i] = l[i].id;
        v->special_first[c >> 3] |= (uint8_t)(1u << (c & 7));
    }
    v->n_special = n;
    free(l);
    return BPE_OK;
}

/* Compiles the pre-split pattern (JIT when this PCRE2 has it). */
static int compile_pattern(bpe_vocab *v, char *err)
{
    int code;
    PCRE2_SIZE off;
    v->re = pcre2_compile((PCRE2_SPTR)bpe_pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED,
                          &code, &off, NULL);
    if (!v->re) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(code, msg, sizeof msg);
        return bpe_fail(err, BPE_E_INTERNAL, "PCRE2 refuses the pre-split pattern at %zu: %s", (size_t)off,
                        (const char *)msg);
    }
    v->jit = pcre2_jit_compile(v->re, PCRE2_JIT_COMPLETE) == 0;
    return BPE_OK;
}

/* Marks the ordinary tokens whose own bytes merge to just themselves: a piece equal to such a token is
 * that token without merging. With ignore_merges every ordinary token is one. */
static int mark_self(bpe_vocab *v, char *err)
{
    bpe_state *st;
    int rc = bpe_state_new(&st, v, err);
    for (uint32_t id = 0; !rc && id < v->n_ids; id++) {
        size_t k = 0;
        if ((v->flags[id] & (BPE_F_PRESENT | BPE_F_SPECIAL)) != BPE_F_PRESENT)
            continue;
        if (v->ignore_merges) {
            v->flags[id] |= BPE_F_SELF;
            continue;
        }
        rc = merge_piece(st, v->arena + v->tok[id].off, v->tok[id].len, 0, &k, err);
        if (rc == BPE_E_INPUT) /* a byte without a token: the piece cannot be this token either */
            rc = BPE_OK;
        else if (!rc && k == 1 && st->sym[0] == id)
            v->flags[id] |= BPE_F_SELF;
    }
    bpe_state_free(st);
    return rc;
}

int bpe_vocab_finish(bpe_vocab *v, char *err)
{
    int rc;
    for (int b = 0; b < 256; b++) {
        uint8_t c = (uint8_t)b;
        v->byte_id[b] = bpe_vocab_lookup(v, &c, 1);
    }
    if ((rc = collect_specials(v, err)) || (rc = compile_pattern(v, err)))
        return rc;
    return mark_self(v, err);
}

void bpe_vocab_free(bpe_vocab *v)
{
    if (!v)
        return;
    free(v->tok);
    free(v->flags);
    free(v->arena);
    free(v->tmap);
    free(v->pmap);
    free(v->special);
    if (v->re)
        pcre2_code_free(v->re);
    free(v);
}

size_t bpe_vocab_max_token(const bpe_vocab *v)
{
    return v->max_len;
}

uint32_t bpe_vocab_tokens(const bpe_vocab *v)
{
    return v->n_tokens;
}

/* ---- Encoding ------------------------------------------------------------------------------------ */

int bpe_state_new(bpe_state **out, const bpe_vocab *v, char *err)
{
    bpe_state *st = calloc(1, sizeof *st);
    *out = NULL;
    if (!st || !(st->md = pcre2_match_data_create(1, NULL))) {
        bpe_state_free(st);
        return bpe_fail(err, BPE_E_NOMEM, "out of memory for an encoder");
    }
    st->v = v;
    *out = st;
    return BPE_OK;
}

void bpe_state_free(bpe_state *st)
{
    if (!st)
        return;
    if (st->md)
        pcre2_match_data_free(st->md);
    free(st->cache);
    free(st->cbytes);
    free(st->cids);
    free(st->sym);
    free(st->heap);
    free(st);
}

size_t bpe_utf8_check(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint64_t w;
        uint32_t cp, min;
        size_t need;
        uint8_t c;
        if (i + 8 <= len) {
            memcpy(&w, p + i, 8);
            if (!(w & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        if ((c = p[i]) < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, cp = c & 0x1fu, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, cp = c & 0x0fu, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, cp = c & 0x07u, min = 0x10000;
        else
            return i;
        if (len - i <= need)
            return i;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return i;
            cp = cp << 6 | (p[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += need + 1;
    }
    return len;
}

/* Appends k ids to out (room for cap), *n counting. */
static int emit(uint8_t *out, size_t cap, size_t *n, const uint32_t *ids, size_t k, char *err)
{
    if (k > cap - *n)
        return bpe_fail(err, BPE_E_INTERNAL, "the output has no room for %zu more ids", k);
    for (size_t i = 0; i < k; i++)
        put_le32(out + 4 * (*n + i), ids[i]);
    *n += k;
    return BPE_OK;
}

/* Allocates the piece cache of st; false when memory is short (then st goes without). */
static int cache_alloc(bpe_state *st)
{
    st->cache = calloc(2 * BPE_CACHE_N, sizeof *st->cache);
    st->cbytes = malloc(BPE_CACHE_N * BPE_CACHE_PIECE);
    st->cids = malloc(BPE_CACHE_N * BPE_CACHE_PIECE * sizeof *st->cids);
    if (st->cache && st->cbytes && st->cids)
        return 1;
    free(st->cache);
    free(st->cbytes);
    free(st->cids);
    st->cache = NULL;
    st->cbytes = NULL;
    st->cids = NULL;
    return 0;
}

/* The cache slot of a piece: where it is, or the empty slot where it would go; NULL without a cache. */
static bpe_cslot *cache_slot(bpe_state *st, const uint8_t *p, size_t len, uint64_t h)
{
    size_t mask = 2 * BPE_CACHE_N - 1;
    if (!st->cache && !cache_alloc(st))
        return NULL;
    for (size_t s = (size_t)h & mask;; s = (s + 1) & mask) {
        bpe_cslot *c = &st->cache[s];
        if (!c->len || (c->hash == (uint32_t)h && c->len == len && !memcmp(st->cbytes + c->off, p, len)))
            return c;
    }
}

/* Remembers that piece p merged to st->sym[0..k) in the empty slot c, first emptying a full cache. */
static void cache_put(bpe_state *st, bpe_cslot *c, const uint8_t *p, size_t len, uint64_t h, size_t k)
{
    if (st->cused == BPE_CACHE_N) {
        memset(st->cache, 0, 2 * BPE_CACHE_N * sizeof *st->cache);
        st->cused = st->cblen = st->cilen = 0;
        c = cache_slot(st, p, len, h);
    }
    c->hash = (uint32_t)h;
    c->off = (uint32_t)st->cblen;
    c->len = (uint32_t)len;
    c->ids = (uint32_t)st->cilen;
    c->n = (uint32_t)k;
    memcpy(st->cbytes + st->cblen, p, len);
    memcpy(st->cids + st->cilen, st->sym, k * sizeof *st->cids);
    st->cblen += len;
    st->cilen += k;
    st->cused++;
}

/* Encodes one piece of the pre-split (at offset base of the text): a token that is its own BPE, a piece
 * in the cache, or merged (and cached when short). */
static int encode_piece(bpe_state *st, const uint8_t *p, size_t len, size_t base, uint8_t *out, size_t cap,
                        size_t *n, char *err)
{
    const bpe_vocab *v = st->v;
    uint64_t h = len == 1 ? 0 : hash_bytes(p, len);
    uint32_t id = len == 1 ? v->byte_id[p[0]] : lookup_hashed(v, p, len, h);
    bpe_cslot *c = NULL;
    size_t k;
    int rc;
    if (id != BPE_NONE && (v->flags[id] & BPE_F_SELF))
        return emit(out, cap, n, &id, 1, err);
    if (len <= BPE_CACHE_PIECE && (c = cache_slot(st, p, len, h)) && c->len)
        return emit(out, cap, n, st->cids + c->ids, c->n, err);
    if ((rc = merge_piece(st, p, len, base, &k, err)))
        return rc;
    if (c)
        cache_put(st, c, p, len, h, k);
    return emit(out, cap, n, st->sym, k, err);
}

/* Runs the anchored pattern at pos; the JIT's stack running out falls back to the interpreter. */
static int match_at(bpe_state *st, const uint8_t *s, size_t len, size_t pos)
{
    int rc = PCRE2_ERROR_JIT_STACKLIMIT;
    if (st->v->jit)
        rc = pcre2_jit_match(st->v->re, s, len, pos, 0, st->md, NULL);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(st->v->re, s, len, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, st->md, NULL);
    return rc;
}

/* Pre-splits a segment without special tokens (len bytes of valid UTF-8 at offset base of the text) and
 * encodes each piece. */
static int encode_segment(bpe_state *st, const uint8_t *s, size_t len, size_t base, uint8_t *out, size_t cap,
                          size_t *n, char *err)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(st->md);
    size_t pos = 0;
    int rc;
    while (pos < len) {
        if ((rc = match_at(st, s, len, pos)) < 0) {
            PCRE2_UCHAR msg[120];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return bpe_fail(err, BPE_E_INPUT, "pre-split failed at byte %zu: %s", base + pos, (const char *)msg);
        }
        if (ov[0] != pos || ov[1] <= pos || ov[1] > len)
            return bpe_fail(err, BPE_E_INTERNAL, "pre-split skipped text at byte %zu", base + pos);
        if ((rc = encode_piece(st, s + pos, ov[1] - pos, base + pos, out, cap, n, err)))
            return rc;
        pos = ov[1];
    }
    return BPE_OK;
}

/* Finds the first special token at or after pos (the longest of those starting there): its offset and
 * id, or len when there is none. */
static size_t find_special(const bpe_vocab *v, const uint8_t *t, size_t len, size_t pos, uint32_t *id)
{
    for (size_t i = pos; i < len; i++) {
        if (!(v->special_first[t[i] >> 3] & (1u << (t[i] & 7))))
            continue;
        for (size_t k = 0; k < v->n_special; k++) {
            const bpe_tok *s = &v->tok[v->special[k]];
            if (s->len <= len - i && !memcmp(v->arena + s->off, t + i, s->len)) {
                *id = v->special[k];
                return i;
            }
        }
    }
    return len;
}

int bpe_encode(bpe_state *st, const uint8_t *text, size_t len, int special, uint8_t *out, size_t cap, size_t *n,
               char *err)
{
    const bpe_vocab *v = st->v;
    size_t bad = bpe_utf8_check(text, len), pos = 0;
    int rc;
    *n = 0;
    if (bad != len)
        return bpe_fail(err, BPE_E_INPUT, "invalid UTF-8 at byte %zu", bad);
    if (!special || !v->n_special)
        return encode_segment(st, text, len, 0, out, cap, n, err);
    while (pos < len) {
        uint32_t id = BPE_NONE;
        size_t at = find_special(v, text, len, pos, &id);
        if ((rc = encode_segment(st, text + pos, at - pos, pos, out, cap, n, err)))
            return rc;
        if (at == len)
            break;
        if ((rc = emit(out, cap, n, &id, 1, err)))
            return rc;
        pos = at + v->tok[id].len;
    }
    return BPE_OK;
}

/* ---- Decoding ------------------------------------------------------------------------------------ */

int bpe_decode(const bpe_vocab *v, const uint8_t *ids, size_t n, uint8_t *out, size_t cap, size_t *len, char *err)
{
    size_t w = 0;
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = get_le32(ids + 4 * i);
        const bpe_tok *t;
        if (id >= v->n_ids || !(v->flags[id] & BPE_F_PRESENT))
            return bpe_fail(err, BPE_E_INPUT, "unknown id %u at position %zu", (unsigned)id, i);
        t = &v->tok[id];
        if (t->len > cap - w)
            return bpe_fail(err, BPE_E_INTERNAL, "the output has no room for the token at position %zu", i);
        memcpy(out + w, v->arena + t->off, t->len);
        w += t->len;
    }
    *len = w;
    return BPE_OK;
}
