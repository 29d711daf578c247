/* jsonl.c — the "jsonl" records format: one JSON object per line (JSON Lines), parsed with jansson.
 *
 * read  Lines end at '\n' (a last line without one counts); a '\r' right before the '\n' is dropped, and
 *       lines holding only JSON whitespace are skipped. Every other line must be one JSON object (duplicate
 *       keys refused); errors name the line, counting from 1 and counting blank lines. With field = "" the
 *       record is the line's exact bytes; with field = NAME it is the decoded UTF-8 of that key's string
 *       value (escapes resolved; a missing key or a value of another type is an error). The file streams
 *       through in 1 MiB chunks; a line over 1 GiB is refused.
 * write With field = "" each record must be one JSON object and is written as is, plus '\n' (a record
 *       holding a raw '\n' or '\r' is refused: it would not read back as the same line). With field = NAME
 *       each record is text (valid UTF-8, else refused) written as {"NAME":"..."}: jansson's compact form,
 *       non-ASCII kept as UTF-8, plus '\n'. */
#include "data.h"

#include "common/utf8.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#ifndef DT_JSONL_MAX_LINE
#define DT_JSONL_MAX_LINE ((size_t)1 << 30)
#endif
#ifndef DT_READ_CHUNK
#define DT_READ_CHUNK ((size_t)1 << 20)
#endif

/* The parse options: one value per line, duplicate keys refused, "\u0000" in strings kept. Scalars and
 * arrays parse (JSON_DECODE_ANY) so that they get this format's "not a JSON object" message. */
#define JL_LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL)

typedef struct jl_reader {
    const swarm_host *host;
    swarm_call *call;
    const char *field;
    unsigned long long lineno; /* the line being read, from 1 */
} jl_reader;

/* Whether s[0..n) is only JSON whitespace (space, tab, CR, LF). */
static int jl_blank(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

/* Turns one line (without its '\n'; ended says whether it had one) into a record. Fails with BAD_INPUT
 * naming the line when it is not a JSON object, or, with a field, lacks that string field; passes on the
 * host's code when add_record fails. */
static int jl_line(jl_reader *r, const uint8_t *s, size_t n, int ended)
{
    json_error_t e;
    json_t *j, *v;
    int rc;
    if (ended && n && s[n - 1] == '\r')
        n--;
    if (jl_blank(s, n))
        return SWARM_OK;
    if (!(j = json_loadb((const char *)s, n, JL_LOAD_FLAGS, &e)))
        return r->host->set_error(r->call, SWARM_E_BAD_INPUT, "line %llu: %s", r->lineno, e.text);
    if (!json_is_object(j)) {
        rc = r->host->set_error(r->call, SWARM_E_BAD_INPUT, "line %llu: not a JSON object", r->lineno);
    } else if (!*r->field) {
        rc = r->host->add_record(r->call, s, n);
    } else if (!(v = json_object_get(j, r->field))) {
        rc = r->host->set_error(r->call, SWARM_E_BAD_INPUT, "line %llu: no key \"%s\"", r->lineno, r->field);
    } else if (!json_is_string(v)) {
        rc = r->host->set_error(r->call, SWARM_E_BAD_INPUT, "line %llu: \"%s\" is not a string", r->lineno,
                                r->field);
    } else {
        rc = r->host->add_record(r->call, json_string_value(v), json_string_length(v));
    }
    json_decref(j);
    return rc;
}

/* Feeds a chunk's bytes to the line splitter: whole lines inside the chunk are parsed in place, a line
 * crossing chunks collects in *line. Fails on a bad line or one over DT_JSONL_MAX_LINE. */
static int jl_feed(jl_reader *r, dt_buf *line, const uint8_t *p, const uint8_t *end)
{
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t take = (size_t)((nl ? nl : end) - p);
        int rc = SWARM_OK;
        if (take > DT_JSONL_MAX_LINE - line->len)
            return r->host->set_error(r->call, SWARM_E_BAD_INPUT, "line %llu: longer than %zu bytes", r->lineno,
                                      (size_t)DT_JSONL_MAX_LINE);
        if (nl && !line->len) {
            rc = jl_line(r, p, take, 1);
        } else {
            if (dt_buf_put(line, p, take))
                return r->host->set_error(r->call, SWARM_E_INTERNAL, "out of memory for line %llu", r->lineno);
            if (nl) {
                rc = jl_line(r, line->p, line->len, 1);
                line->len = 0;
            }
        }
        if (rc)
            return rc;
        if (!nl)
            break;
        r->lineno++;
        p = nl + 1;
    }
    return SWARM_OK;
}

/* Reads one JSONL file as described at the top; fails with BAD_INPUT naming the first bad line, INTERNAL
 * when memory runs out, or the host's code when read_bytes or add_record fail. */
static int jl_read(const swarm_host *host, swarm_call *call, const swarm_param_value *params)
{
    jl_reader r = {host, call, params[0].s, 1};
    dt_buf line = {0};
    uint8_t *chunk = malloc(DT_READ_CHUNK);
    int rc = SWARM_OK;
    if (!chunk)
        return host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    for (;;) {
        int64_t got = host->read_bytes(call, chunk, DT_READ_CHUNK);
        if (got < 0) {
            rc = (int)got;
            break;
        }
        if ((uint64_t)got > DT_READ_CHUNK) {
            rc = host->set_error(call, SWARM_E_INTERNAL, "read_bytes returned more than asked");
            break;
        }
        if (!got) {
            if (line.len)
                rc = jl_line(&r, line.p, line.len, 0);
            break;
        }
        if ((rc = jl_feed(&r, &line, chunk, chunk + got)))
            break;
    }
    dt_buf_free(&line);
    free(chunk);
    return rc;
}

/* jansson's dump callback: emits the bytes, keeping the host's code when emit fails. */
typedef struct jl_emitter {
    const swarm_host *host;
    swarm_call *call;
    int rc;
} jl_emitter;

static int jl_dump_cb(const char *buffer, size_t size, void *data)
{
    jl_emitter *w = data;
    if (!w->rc)
        w->rc = w->host->emit(w->call, buffer, size);
    return w->rc ? -1 : 0;
}

/* Writes one text record as {"FIELD":"..."} plus '\n'. */
static int jl_write_text(const swarm_host *host, swarm_call *call, const char *field, const uint8_t *d, size_t n,
                         unsigned long long i)
{
    jl_emitter w = {host, call, SWARM_OK};
    json_t *obj, *s;
    int bad;
    if (!sw_utf8_valid(d, n))
        return host->set_error(call, SWARM_E_BAD_INPUT, "record %llu: not valid UTF-8", i);
    if (!(obj = json_object()))
        return host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    s = json_stringn((const char *)d, n);
    bad = !s || json_object_set_new(obj, field, s);
    if (!bad && json_dump_callback(obj, jl_dump_cb, &w, JSON_COMPACT) && !w.rc)
        bad = 1;
    json_decref(obj);
    if (bad)
        return host->set_error(call, SWARM_E_INTERNAL, "record %llu: jansson could not build the line", i);
    return w.rc ? w.rc : host->emit(call, "\n", 1);
}

/* Writes one JSON object record as is plus '\n', after checking it is one object on one line. */
static int jl_write_object(const swarm_host *host, swarm_call *call, const uint8_t *d, size_t n, unsigned long long i)
{
    json_error_t e;
    json_t *j;
    int obj, rc;
    if (memchr(d, '\n', n) || memchr(d, '\r', n))
        return host->set_error(call, SWARM_E_BAD_INPUT, "record %llu: holds a raw line break", i);
    if (!(j = json_loadb((const char *)d, n, JL_LOAD_FLAGS, &e)))
        return host->set_error(call, SWARM_E_BAD_INPUT, "record %llu: %s", i, e.text);
    obj = json_is_object(j);
    json_decref(j);
    if (!obj)
        return host->set_error(call, SWARM_E_BAD_INPUT, "record %llu: not a JSON object", i);
    if ((rc = host->emit(call, d, n)))
        return rc;
    return host->emit(call, "\n", 1);
}

/* Writes one JSONL file as described at the top; fails with BAD_INPUT naming the first record it cannot
 * write, or the host's code when emit fails. */
static int jl_write(const swarm_host *host, swarm_call *call, const swarm_param_value *params)
{
    const char *field = params[0].s;
    unsigned long long i = 0;
    for (;; i++) {
        const uint8_t *d;
        size_t n;
        int more = host->next_record(call, &d, &n), rc;
        if (more <= 0)
            return more;
        rc = *field ? jl_write_text(host, call, field, d, n, i) : jl_write_object(host, call, d, n, i);
        if (rc)
            return rc;
    }
}

static const swarm_param jl_params[] = {
    {"field", SWARM_PARAM_STRING, "",
     "\"\": a record is a whole JSON object line; NAME: a record is the text of that string key ({\"NAME\": ...})",
     NULL},
};

const swarm_records_format dt_jsonl_format = {
    .struct_size = sizeof(swarm_records_format),
    .name = "jsonl",
    .format_version = 1,
    .doc = "JSON Lines: one JSON object per line; records are the lines, or one string field's text",
    .extension = "jsonl",
    .params = jl_params,
    .n_params = 1,
    .read = jl_read,
    .write = jl_write,
};
