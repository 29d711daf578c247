/* tokens.c — token files (FORMATS.md, Datasets): the "llmc" and "nanogpt" records formats. Their records
 * are ids records: one document's token ids as little-endian uint32, 4 bytes each.
 *
 * llmc    llm.c shards: a 1024-byte header of 256 int32 — [0] magic, [1] version, [2] token count, the rest
 *         0 — then the tokens: magic 20240520 with version 1 and uint16 tokens (header = "gpt2"), or magic
 *         20240801 with version 7 and uint32 tokens (header = "llama3"). An EOT token starts each document.
 *         write buffers the file's tokens (the count goes before them) and emits it at the end. read takes
 *         either header, whatever the header param says, and wants exactly count tokens after it; each EOT
 *         starts a record that runs to the next EOT or the file's end (an EOT at the end gives an empty
 *         record), and the tokens before the first EOT (a document continued from the previous shard) form
 *         a record when there are any.
 * nanogpt nanoGPT's raw uint16 tokens, an EOT after each document. read: an odd byte count is refused; each
 *         EOT ends a record, and tokens after the last EOT form one more.
 * So write then read gives the records back, except that a record holding the EOT token itself reads back
 * as two: the file has no way to tell that EOT from a boundary. The eot param (default 50256, GPT-2's
 * <|endoftext|>) names the delimiter; a token or an eot that does not fit the file's token width is
 * refused, as is an ids record whose length is not a multiple of 4. */
#include "data.h"

#include <stdlib.h>
#include <string.h>

#ifndef DT_READ_CHUNK
#define DT_READ_CHUNK ((size_t)1 << 20)
#endif

#define TOK_HEADER 1024
#define TOK_GPT2_MAGIC 20240520u
#define TOK_LLAMA3_MAGIC 20240801u

enum { TOK_EOT_STARTS = 0, TOK_EOT_ENDS = 1 };

/* ---- Reading: the token stream into records ------------------------------------------------------ */

/* Splits a stream of tokens into documents at the EOT token. */
typedef struct tok_reader {
    const swarm_host *host;
    swarm_call *call;
    int mode;          /* TOK_EOT_STARTS (llm.c) or TOK_EOT_ENDS (nanoGPT) */
    int seen_eot;      /* whether an EOT has come */
    unsigned width;    /* bytes per token in the file: 2 or 4 */
    uint32_t eot;
    dt_buf doc;        /* the document at hand, as uint32 LE */
    uint8_t carry[4];  /* a token cut by a chunk boundary */
    unsigned ncarry;
} tok_reader;

/* Reports the document at hand and starts the next. */
static int tok_flush(tok_reader *r)
{
    int rc = r->host->add_record(r->call, r->doc.p, r->doc.len);
    r->doc.len = 0;
    return rc;
}

/* Takes one token. */
static int tok_take(tok_reader *r, uint32_t t)
{
    int rc = SWARM_OK;
    if (t == r->eot) {
        if (r->mode == TOK_EOT_ENDS || r->seen_eot || r->doc.len)
            rc = tok_flush(r);
        r->seen_eot = 1;
        return rc;
    }
    if (dt_buf_reserve(&r->doc, 4))
        return r->host->set_error(r->call, SWARM_E_INTERNAL, "out of memory");
    dt_put_le32(r->doc.p + r->doc.len, t);
    r->doc.len += 4;
    return SWARM_OK;
}

/* The token at p, of the reader's width. */
static uint32_t tok_load(const tok_reader *r, const uint8_t *p)
{
    return r->width == 2 ? (uint32_t)p[0] | (uint32_t)p[1] << 8 : dt_le32(p);
}

/* Takes the tokens in p[0..n), keeping a token cut at the end for the next chunk. */
static int tok_feed(tok_reader *r, const uint8_t *p, size_t n)
{
    int rc = SWARM_OK;
    while (n && r->ncarry) {
        r->carry[r->ncarry++] = *p++;
        n--;
        if (r->ncarry == r->width) {
            r->ncarry = 0;
            if ((rc = tok_take(r, tok_load(r, r->carry))))
                return rc;
        }
    }
    for (; n >= r->width && !rc; p += r->width, n -= r->width)
        rc = tok_take(r, tok_load(r, p));
    while (n && !rc) {
        r->carry[r->ncarry++] = *p++;
        n--;
    }
    return rc;
}

/* The last document at the end of the stream: llm.c's after an EOT even when empty, any non-empty one. */
static int tok_end(tok_reader *r)
{
    if (r->seen_eot && r->mode == TOK_EOT_STARTS)
        return tok_flush(r);
    return r->doc.len ? tok_flush(r) : SWARM_OK;
}

/* Reads exactly n bytes unless the file ends first; *got says how many came. */
static int tok_read_full(const swarm_host *host, swarm_call *call, uint8_t *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        int64_t k = host->read_bytes(call, buf + *got, n - *got);
        if (k < 0)
            return (int)k;
        if ((uint64_t)k > n - *got)
            return host->set_error(call, SWARM_E_INTERNAL, "read_bytes returned more than asked");
        if (!k)
            break;
        *got += (size_t)k;
    }
    return SWARM_OK;
}

/* Streams the rest of the file through the reader, refusing more than limit bytes (UINT64_MAX: no limit);
 * *total says how many came. */
static int tok_stream(tok_reader *r, uint64_t limit, uint64_t *total)
{
    uint8_t *chunk = malloc(DT_READ_CHUNK);
    int rc = SWARM_OK;
    *total = 0;
    if (!chunk)
        return r->host->set_error(r->call, SWARM_E_INTERNAL, "out of memory");
    for (;;) {
        int64_t k = r->host->read_bytes(r->call, chunk, DT_READ_CHUNK);
        if (k <= 0 || (uint64_t)k > DT_READ_CHUNK) {
            rc = k < 0 ? (int)k : k ? r->host->set_error(r->call, SWARM_E_INTERNAL, "read_bytes returned too much") : 0;
            break;
        }
        if ((uint64_t)k > limit - *total) {
            *total += (uint64_t)k;
            break; /* the caller reports the trailing bytes */
        }
        *total += (uint64_t)k;
        if ((rc = tok_feed(r, chunk, (size_t)k)))
            break;
    }
    free(chunk);
    return rc;
}

/* Checks that the eot param fits a token of width bytes; BAD_INPUT when it does not. */
static int tok_check_eot(const swarm_host *host, swarm_call *call, int64_t eot, unsigned width)
{
    int64_t most = width == 2 ? 65535 : (int64_t)UINT32_MAX;
    if (eot < 0 || eot > most)
        return host->set_error(call, SWARM_E_BAD_INPUT, "eot %lld does not fit a %u-byte token", (long long)eot,
                               width);
    return SWARM_OK;
}

/* Stores token t at o in width bytes, little-endian. */
static void tok_store(uint8_t *o, unsigned width, uint32_t t)
{
    if (width == 2)
        dt_put_le16(o, t);
    else
        dt_put_le32(o, t);
}

/* Reads an llm.c shard; fails with BAD_INPUT for a bad magic or version, a negative count, a file cut short
 * or one with bytes after the tokens, or with the host's code. */
static int tok_llmc_read(const swarm_host *host, swarm_call *call, const swarm_param_value *params)
{
    uint8_t h[TOK_HEADER];
    tok_reader r;
    uint32_t magic, version;
    int32_t count;
    uint64_t want, total = 0;
    size_t got;
    int rc = tok_read_full(host, call, h, TOK_HEADER, &got);
    if (rc)
        return rc;
    if (got < 12)
        return host->set_error(call, SWARM_E_BAD_INPUT, "truncated: %zu bytes, shorter than the header", got);
    magic = dt_le32(h);
    version = dt_le32(h + 4);
    count = (int32_t)dt_le32(h + 8);
    if (magic != TOK_GPT2_MAGIC && magic != TOK_LLAMA3_MAGIC)
        return host->set_error(call, SWARM_E_BAD_INPUT, "bad magic %u (llm.c: 20240520 or 20240801)", magic);
    if (version != (magic == TOK_GPT2_MAGIC ? 1u : 7u))
        return host->set_error(call, SWARM_E_BAD_INPUT, "bad version %u for magic %u (llm.c: %u)", version, magic,
                               magic == TOK_GPT2_MAGIC ? 1u : 7u);
    if (count < 0)
        return host->set_error(call, SWARM_E_BAD_INPUT, "negative token count %ld", (long)count);
    if (got < TOK_HEADER)
        return host->set_error(call, SWARM_E_BAD_INPUT, "truncated: %zu bytes, shorter than the 1024-byte header", got);
    memset(&r, 0, sizeof r);
    r.host = host;
    r.call = call;
    r.mode = TOK_EOT_STARTS;
    r.width = magic == TOK_GPT2_MAGIC ? 2 : 4;
    if ((rc = tok_check_eot(host, call, params[1].i, r.width)))
        return rc;
    r.eot = (uint32_t)params[1].i;
    want = (uint64_t)count * r.width;
    rc = tok_stream(&r, want, &total);
    if (!rc && total > want)
        rc = host->set_error(call, SWARM_E_BAD_INPUT, "trailing bytes after the %ld tokens the header counts",
                             (long)count);
    else if (!rc && total < want)
        rc = host->set_error(call, SWARM_E_BAD_INPUT,
                             "truncated: the header counts %ld tokens, the file holds %llu bytes of them", (long)count,
                             (unsigned long long)total);
    if (!rc)
        rc = tok_end(&r);
    dt_buf_free(&r.doc);
    return rc;
}

/* Reads a nanoGPT file; fails with BAD_INPUT for an odd byte count, or with the host's code. */
static int tok_nanogpt_read(const swarm_host *host, swarm_call *call, const swarm_param_value *params)
{
    tok_reader r;
    uint64_t total = 0;
    int rc;
    if ((rc = tok_check_eot(host, call, params[0].i, 2)))
        return rc;
    memset(&r, 0, sizeof r);
    r.host = host;
    r.call = call;
    r.mode = TOK_EOT_ENDS;
    r.width = 2;
    r.eot = (uint32_t)params[0].i;
    rc = tok_stream(&r, UINT64_MAX, &total);
    if (!rc && r.ncarry)
        rc = host->set_error(call, SWARM_E_BAD_INPUT, "an odd number of bytes (%llu): not uint16 tokens",
                             (unsigned long long)total);
    if (!rc)
        rc = tok_end(&r);
    dt_buf_free(&r.doc);
    return rc;
}

/* ---- Writing: records into a token stream -------------------------------------------------------- */

/* Appends the EOT (when eot_first) and record i's tokens to b at width bytes each, adding their number to
 * *count; fails with BAD_INPUT for a length not a multiple of 4 or a token too wide. */
static int tok_put(const swarm_host *host, swarm_call *call, dt_buf *b, unsigned width, uint32_t eot, int eot_first,
                   const uint8_t *d, size_t n, unsigned long long i, uint64_t *count)
{
    size_t ntok = n / 4;
    uint8_t *o;
    if (n % 4)
        return host->set_error(call, SWARM_E_BAD_INPUT, "record %llu: %zu bytes is not a whole number of uint32 ids",
                               i, n);
    if (dt_buf_reserve(b, (ntok + 1) * width))
        return host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    o = b->p + b->len;
    if (eot_first) {
        tok_store(o, width, eot);
        o += width;
    }
    for (size_t k = 0; k < ntok; k++, o += width) {
        uint32_t t = dt_le32(d + 4 * k);
        if (width == 2 && t > 65535)
            return host->set_error(call, SWARM_E_BAD_INPUT, "record %llu: token %lu (at %zu) does not fit uint16", i,
                                   (unsigned long)t, k);
        tok_store(o, width, t);
    }
    if (!eot_first) {
        tok_store(o, width, eot);
        o += width;
    }
    b->len = (size_t)(o - b->p);
    *count += ntok + 1;
    return SWARM_OK;
}

/* Writes an llm.c shard: buffers the tokens, then emits the header with their count and them. Fails with
 * BAD_INPUT for a bad record, an eot too wide, or more than 2^31 - 1 tokens (the count is an int32). */
static int tok_llmc_write(const swarm_host *host, swarm_call *call, const swarm_param_value *params)
{
    unsigned width = params[0].i == 0 ? 2 : 4;
    uint64_t count = 0;
    dt_buf b = {0};
    int rc = SWARM_OK;
    if ((rc = tok_check_eot(host, call, params[1].i, width)))
        return rc;
    if (dt_buf_reserve(&b, TOK_HEADER))
        return host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    memset(b.p, 0, TOK_HEADER);
    b.len = TOK_HEADER;
    for (unsigned long long i = 0;; i++) {
        const uint8_t *d;
        size_t n;
        int more = host->next_record(call, &d, &n);
        if (more <= 0) {
            rc = more;
            break;
        }
        if ((rc = tok_put(host, call, &b, width, (uint32_t)params[1].i, 1, d, n, i, &count)))
            break;
        if (count > INT32_MAX) {
            rc = host->set_error(call, SWARM_E_BAD_INPUT,
                                 "record %llu: more than 2^31 - 1 tokens for one llm.c shard", i);
            break;
        }
    }
    if (!rc) {
        dt_put_le32(b.p, width == 2 ? TOK_GPT2_MAGIC : TOK_LLAMA3_MAGIC);
        dt_put_le32(b.p + 4, width == 2 ? 1 : 7);
        dt_put_le32(b.p + 8, (uint32_t)count);
        rc = host->emit(call, b.p, b.len);
    }
    dt_buf_free(&b);
    return rc;
}

/* Writes a nanoGPT file, emitting about every MiB. Fails with BAD_INPUT for a bad record or an eot too
 * wide. */
static int tok_nanogpt_write(const swarm_host *host, swarm_call *call, const swarm_param_value *params)
{
    uint64_t count = 0;
    dt_buf b = {0};
    int rc = SWARM_OK;
    if ((rc = tok_check_eot(host, call, params[0].i, 2)))
        return rc;
    for (unsigned long long i = 0; !rc; i++) {
        const uint8_t *d;
        size_t n;
        int more = host->next_record(call, &d, &n);
        if (more <= 0) {
            rc = more;
            break;
        }
        rc = tok_put(host, call, &b, 2, (uint32_t)params[0].i, 0, d, n, i, &count);
        if (!rc && b.len >= DT_READ_CHUNK) {
            rc = host->emit(call, b.p, b.len);
            b.len = 0;
        }
    }
    if (!rc && b.len)
        rc = host->emit(call, b.p, b.len);
    dt_buf_free(&b);
    return rc;
}

/* ---- Descriptors --------------------------------------------------------------------------------- */

#define TOK_EOT_DOC "the end-of-text token that separates documents (50256: GPT-2's <|endoftext|>)"

static const char *const tok_headers[] = {"gpt2", "llama3", NULL};
static const swarm_param tok_llmc_params[] = {
    {"header", SWARM_PARAM_ENUM, "gpt2",
     "write: gpt2 (magic 20240520, version 1, uint16 tokens) or llama3 (20240801, 7, uint32); read takes both",
     tok_headers},
    {"eot", SWARM_PARAM_INT, "50256", TOK_EOT_DOC "; llm.c prepends it to each document", NULL},
};
static const swarm_param tok_nanogpt_params[] = {
    {"eot", SWARM_PARAM_INT, "50256", TOK_EOT_DOC "; nanoGPT appends it to each document", NULL},
};

const swarm_records_format dt_llmc_format = {
    .struct_size = sizeof(swarm_records_format),
    .name = "llmc",
    .format_version = 1,
    .doc = "llm.c token shards (1024-byte header, uint16 or uint32 tokens, EOT before each document); records "
           "are token ids as uint32 LE, one document each",
    .extension = "bin",
    .params = tok_llmc_params,
    .n_params = 2,
    .read = tok_llmc_read,
    .write = tok_llmc_write,
};

const swarm_records_format dt_nanogpt_format = {
    .struct_size = sizeof(swarm_records_format),
    .name = "nanogpt",
    .format_version = 1,
    .doc = "nanoGPT token files (raw uint16 tokens, EOT after each document); records are token ids as uint32 "
           "LE, one document each",
    .extension = "bin",
    .params = tok_nanogpt_params,
    .n_params = 1,
    .read = tok_nanogpt_read,
    .write = tok_nanogpt_write,
};
