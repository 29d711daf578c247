/* tokbench — times the text plugin's gpt2_encode and gpt2_decode, calling the plugin through its ABI
 * with a minimal host, as a benchmark peer would run (no store, no pipeline):
 *
 *     tokbench PLUGIN.so VOCAB CORPUS IDS_OUT [BATCH [THREADS]]
 *
 * CORPUS is UTF-8 text, one document per line (the newline is not part of it). Documents go through
 * gpt2_encode in batches of BATCH records (default 1024) on THREADS threads (default 1; thread t takes
 * batches t, t + THREADS, ...); IDS_OUT gets, per document, its number of ids then the ids (little-endian
 * uint32), the format tests/bench/tokenize.js writes for the npm peers. Then every batch of ids is decoded
 * on one thread and compared with the corpus. Prints one line:
 *     bytes=N docs=N ids=N threads=N load_s=S encode_s=S decode_s=S roundtrip=ok|FAILED
 * where load_s is the first call (the vocabulary loads) and encode_s the rest of the encoding (wall time,
 * best of three passes). Exits 1 on any failure. */
#include "plugin_load.h"
#include "swarm_plugin.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct swarm_call {
    char msg[512];
    int code;
};

static int h_set_error(swarm_call *call, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->msg, sizeof call->msg, fmt, ap);
    va_end(ap);
    call->code = code;
    return code;
}

static void *h_alloc_scratch(swarm_call *call, size_t size)
{
    (void)call;
    (void)size;
    return NULL; /* the text plugin never asks */
}

static void h_log(swarm_call *call, int level, const char *msg)
{
    (void)call;
    (void)level;
    (void)msg;
}

static const swarm_host host = {SWARM_PLUGIN_ABI_VERSION, sizeof(swarm_host), h_set_error, h_alloc_scratch, h_log,
                                NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tokbench: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* The whole file, NUL-terminated. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
        die("cannot read %s", path);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        die("cannot read %s", path);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

/* One call of op (infer, allocate, run) on one record batch; the output's buffers are malloc'd. */
static void call_op(const swarm_op *op, const swarm_param_value *params, const swarm_records *in, swarm_records *out)
{
    swarm_call call = {"", 0};
    swarm_value x = {SWARM_KIND_RECORDS, {{0}}}, y = {SWARM_KIND_RECORDS, {{0}}};
    x.u.records = *in;
    if (op->variants[0]->infer(&host, &call, params, &x, &y))
        die("%s infer: %s", op->name, call.msg);
    y.u.records.offsets = calloc(y.u.records.count + 1, sizeof(uint64_t));
    y.u.records.bytes = malloc(y.u.records.nbytes ? y.u.records.nbytes : 1);
    if (!y.u.records.offsets || !y.u.records.bytes)
        die("out of memory");
    if (op->variants[0]->run(&host, &call, params, &x, &y))
        die("%s run: %s", op->name, call.msg);
    *out = y.u.records;
}

static void free_records(swarm_records *r)
{
    free(r->offsets);
    free(r->bytes);
}

typedef struct {
    size_t n;            /* documents */
    uint64_t *offs;      /* n + 1 offsets into text */
    const uint8_t *text; /* the documents back to back (newlines removed) */
} corpus;

/* Splits the corpus into lines, dropping the newlines into a copy. */
static void split(corpus *c, const char *buf, size_t len)
{
    uint8_t *t = malloc(len + 1);
    size_t cap = 1024, w = 0;
    c->n = 0;
    c->offs = malloc(cap * sizeof *c->offs);
    c->offs[0] = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - buf) : len;
        memcpy(t + w, buf + i, e - i);
        w += e - i;
        if (c->n + 2 > cap)
            c->offs = realloc(c->offs, (cap *= 2) * sizeof *c->offs);
        c->offs[++c->n] = w;
        i = e + 1;
    }
    c->text = t;
}

/* The batch of documents [a, b) as records (offsets rebased into a scratch array). */
static swarm_records batch(const corpus *c, size_t a, size_t b, uint64_t *offs)
{
    swarm_records r;
    for (size_t i = a; i <= b; i++)
        offs[i - a] = c->offs[i] - c->offs[a];
    r.count = b - a;
    r.offsets = offs;
    r.bytes = (uint8_t *)c->text + c->offs[a];
    r.nbytes = c->offs[b] - c->offs[a];
    return r;
}

/* One encoding pass's share of one thread: batches t, t + step, ... of the corpus into outs. */
typedef struct {
    const swarm_op *op;
    const swarm_param_value *params;
    const corpus *c;
    swarm_records *outs;
    size_t bsz, nb, t, step;
    int again; /* outs holds a previous pass's records, to free */
} enc_job;

static void *enc_work(void *arg)
{
    enc_job *j = arg;
    uint64_t *scratch = malloc((j->bsz + 1) * sizeof *scratch);
    if (!scratch)
        die("out of memory");
    for (size_t k = j->t; k < j->nb; k += j->step) {
        swarm_records in = batch(j->c, k * j->bsz, (k + 1) * j->bsz < j->c->n ? (k + 1) * j->bsz : j->c->n, scratch);
        if (j->again)
            free_records(&j->outs[k]);
        call_op(j->op, j->params, &in, &j->outs[k]);
    }
    free(scratch);
    return NULL;
}

/* Encodes the whole corpus into outs on n threads; returns the wall time. */
static double encode_pass(enc_job *proto, size_t n, int again)
{
    pthread_t th[64];
    enc_job jobs[64];
    double s = now();
    for (size_t t = 0; t < n; t++) {
        jobs[t] = *proto;
        jobs[t].t = t;
        jobs[t].step = n;
        jobs[t].again = again;
        if (t && pthread_create(&th[t], NULL, enc_work, &jobs[t]))
            die("cannot start a thread");
    }
    enc_work(&jobs[0]);
    for (size_t t = 1; t < n; t++)
        pthread_join(th[t], NULL);
    return now() - s;
}

int main(int argc, char **argv)
{
    if (argc < 5)
        die("usage: tokbench PLUGIN.so VOCAB CORPUS IDS_OUT [BATCH [THREADS]]");
    size_t bsz = argc > 5 ? (size_t)strtoul(argv[5], NULL, 10) : 1024, len, ids = 0;
    size_t threads = argc > 6 ? (size_t)strtoul(argv[6], NULL, 10) : 1;
    if (threads < 1 || threads > 64)
        die("THREADS must be 1 to 64");
    const swarm_plugin *p = tool_load_plugin(argv[1]);
    const swarm_op *enc = tool_find_op(p, "gpt2_encode"), *dec = tool_find_op(p, "gpt2_decode");
    if (!enc || !dec)
        die("cannot load %s: %s", argv[1], p ? "no gpt2_encode and gpt2_decode ops" : dlerror());
    swarm_param_value eparams[2], dparams[1];
    eparams[0].s = argv[2];
    eparams[1].i = 0;
    dparams[0].s = argv[2];
    char *buf = slurp(argv[3], &len);
    corpus c;
    split(&c, buf, len);
    if (!bsz)
        bsz = 1;
    size_t nb = (c.n + bsz - 1) / bsz;
    uint64_t *scratch = malloc((bsz + 1) * sizeof *scratch);
    swarm_records *outs = calloc(nb ? nb : 1, sizeof *outs);

    /* The first call loads the vocabulary: timed apart. */
    double t0 = now(), load_s, enc_s = 1e30, dec_s;
    swarm_records first = batch(&c, 0, c.n < 1 ? 0 : 1, scratch), fo;
    call_op(enc, eparams, &first, &fo);
    free_records(&fo);
    load_s = now() - t0;
    enc_job proto = {enc, eparams, &c, outs, bsz, nb, 0, 1, 0};
    for (int pass = 0; pass < 3; pass++) {
        double s = encode_pass(&proto, threads, pass > 0);
        if (s < enc_s)
            enc_s = s;
    }

    FILE *f = fopen(argv[4], "wb");
    if (!f)
        die("cannot write %s", argv[4]);
    for (size_t k = 0; k < nb; k++)
        for (uint64_t i = 0; i < outs[k].count; i++) {
            uint64_t a = outs[k].offsets[i], b = outs[k].offsets[i + 1];
            uint32_t n = (uint32_t)((b - a) / 4);
            uint8_t le[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
            fwrite(le, 1, 4, f);
            fwrite(outs[k].bytes + a, 1, (size_t)(b - a), f);
            ids += n;
        }
    if (fclose(f))
        die("cannot write %s", argv[4]);

    int same = 1;
    double s = now();
    for (size_t k = 0; k < nb; k++) {
        swarm_records back;
        size_t a = k * bsz;
        call_op(dec, dparams, &outs[k], &back);
        for (uint64_t i = 0; i < back.count; i++) {
            uint64_t bl = back.offsets[i + 1] - back.offsets[i], tl = c.offs[a + i + 1] - c.offs[a + i];
            same &= bl == tl && !memcmp(back.bytes + back.offsets[i], c.text + c.offs[a + i], (size_t)bl);
        }
        free_records(&back);
    }
    dec_s = now() - s;
    printf("bytes=%llu docs=%zu ids=%zu threads=%zu load_s=%.4f encode_s=%.4f decode_s=%.4f roundtrip=%s\n",
           (unsigned long long)c.offs[c.n], c.n, ids, threads, load_s, enc_s, dec_s, same ? "ok" : "FAILED");
    for (size_t k = 0; k < nb; k++)
        free_records(&outs[k]);
    free(outs);
    free(scratch);
    free(c.offs);
    free((void *)c.text);
    free(buf);
    return same ? 0 : 1;
}
