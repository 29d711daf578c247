/* test_data.c — the data plugin (plugins/data/, org.swarm.data), its sources compiled in, driven through a
 * small host: the ABI's own swarm_host table, whose read_bytes serves a file's bytes in chunks of random
 * sizes (1 byte to a few KiB, so every format meets chunk boundaries everywhere), add_record collects
 * records, next_record serves them, emit collects bytes and set_error keeps the message.
 *
 * 1. Sample records (common/sample.h): encoding, decoding, and malformed records (huge lengths, every
 *    prefix) refused without reading out of bounds.
 * 2. jsonl: lines, CRLF, blank lines, a last line without '\n', field extraction of escaped strings,
 *    duplicate keys and non-objects refused naming the line, the line limit, and write/read round trips.
 * 3. webdataset: grouping by key, extensions lower-cased, directories in keys, metadata skipped, unsafe
 *    names, symlinks and hard links refused, pax and GNU long names, a tar made by GNU tar, damaged and
 *    truncated tars, and reproducible writing that reads back.
 * 4. llmc and nanogpt: FORMATS.md's header vector, Llama 3 headers, EOT placement, round trips, documents
 *    continued from a previous shard, and malformed files.
 * 5. shuffle against the permutation computed independently (Python, from the algorithm in shuffle.c's
 *    comment), filter's thresholds, the readers against mutated files, and the descriptor.
 *
 * Over 850 lines: the tests of one plugin stay in one file named after it (tests/README.md); its
 * numbered parts are independent of one another. */
#define DT_READ_CHUNK ((size_t)4096)         /* small, so that the formats' own chunking is exercised */
#define DT_JSONL_MAX_LINE ((size_t)1 << 16) /* small, so that the limit can be tested */
#define DT_WDS_MAX ((uint64_t)1 << 20)

#include "data/data.c"
#include "data/filter.c"
#include "data/jsonl.c"
#include "data/shuffle.c"
#include "data/tokens.c"
#include "data/util.c"
#include "data/wds.c"
#include "data/wds_read.c"
#include "data/wds_write.c"

#include "tap.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S(lit) lit, strlen(lit)

/* ---- A list of records ------------------------------------------------------------------------- */

typedef struct recs {
    dt_buf bytes, offs; /* offs: n + 1 uint64 offsets */
    size_t n;
} recs;

static void recs_init(recs *r)
{
    uint64_t z = 0;
    memset(r, 0, sizeof *r);
    dt_buf_put(&r->offs, &z, sizeof z);
}

static void recs_add(recs *r, const void *d, size_t n)
{
    uint64_t end;
    dt_buf_put(&r->bytes, d, n);
    end = r->bytes.len;
    dt_buf_put(&r->offs, &end, sizeof end);
    r->n++;
}

static void recs_adds(recs *r, const char *s)
{
    recs_add(r, s, strlen(s));
}

static const uint8_t *recs_at(const recs *r, size_t i, size_t *len)
{
    uint64_t a, b;
    memcpy(&a, r->offs.p + 8 * i, 8);
    memcpy(&b, r->offs.p + 8 * (i + 1), 8);
    *len = (size_t)(b - a);
    return r->bytes.p ? r->bytes.p + a : (const uint8_t *)"";
}

static int recs_eq(const recs *a, const recs *b)
{
    return a->n == b->n && a->bytes.len == b->bytes.len && !memcmp(a->offs.p, b->offs.p, a->offs.len) &&
           (!a->bytes.len || !memcmp(a->bytes.p, b->bytes.p, a->bytes.len));
}

static int rec_is(const recs *r, size_t i, const void *d, size_t n)
{
    size_t len;
    const uint8_t *p = i < r->n ? recs_at(r, i, &len) : NULL;
    return p && len == n && (!n || !memcmp(p, d, n));
}

static int rec_iss(const recs *r, size_t i, const char *s)
{
    return rec_is(r, i, s, strlen(s));
}

static void recs_free(recs *r)
{
    dt_buf_free(&r->bytes);
    dt_buf_free(&r->offs);
}

/* A swarm_records view of a list (for the ops). */
static swarm_records recs_view(const recs *r)
{
    swarm_records x;
    x.count = r->n;
    x.offsets = (uint64_t *)(void *)r->offs.p;
    x.bytes = r->bytes.p;
    x.nbytes = r->bytes.len;
    return x;
}

/* ---- The test host ----------------------------------------------------------------------------- */

struct swarm_call {
    const uint8_t *in;
    size_t in_len, in_pos;
    uint64_t rng;
    int fail_read;    /* read_bytes fails (SWARM_E_INTERNAL) once this many bytes were served; 0: never */
    recs got;         /* add_record */
    const recs *src;  /* next_record */
    size_t next;
    dt_buf out;       /* emit */
    char err[1024];
    int code, nerr;
    void *scratch[64];
    int nscratch;
};

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int t_set_error(swarm_call *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    c->code = code;
    c->nerr++;
    return code;
}

static void *t_alloc_scratch(swarm_call *c, size_t size)
{
    if (c->nscratch == 64)
        return NULL;
    return c->scratch[c->nscratch++] = malloc(size ? size : 1);
}

static void t_log(swarm_call *c, int level, const char *msg)
{
    (void)c;
    (void)level;
    (void)msg;
}

static int t_emit(swarm_call *c, const void *data, size_t len)
{
    return dt_buf_put(&c->out, data, len) ? t_set_error(c, SWARM_E_INTERNAL, "emit: out of memory") : SWARM_OK;
}

/* Serves 1..7 bytes or 1..5000 bytes at random, never more than asked. */
static int64_t t_read_bytes(swarm_call *c, void *buf, size_t cap)
{
    uint64_t r = rng_next(&c->rng);
    size_t n = 1 + (size_t)((r >> 8) % (r & 1 ? 7 : 5000)), left = c->in_len - c->in_pos;
    if (c->fail_read && c->in_pos >= (size_t)c->fail_read)
        return t_set_error(c, SWARM_E_INTERNAL, "read_bytes: the disk is on fire");
    if (c->fail_read)
        left = (size_t)c->fail_read - c->in_pos;
    n = n < cap ? n : cap;
    n = n < left ? n : left;
    if (n)
        memcpy(buf, c->in + c->in_pos, n);
    c->in_pos += n;
    return (int64_t)n;
}

static int t_add_record(swarm_call *c, const void *data, size_t len)
{
    recs_add(&c->got, data, len);
    return SWARM_OK;
}

static int t_next_record(swarm_call *c, const uint8_t **data, size_t *len)
{
    if (!c->src || c->next >= c->src->n)
        return 0;
    *data = recs_at(c->src, c->next++, len);
    return 1;
}

static const swarm_host host = {SWARM_PLUGIN_ABI_VERSION, sizeof(swarm_host), t_set_error, t_alloc_scratch, t_log,
                                NULL, NULL, t_emit, t_read_bytes, t_add_record, t_next_record,
                                NULL, NULL, NULL, NULL, NULL, NULL, NULL};

static uint64_t call_seed = 0x9e3779b97f4a7c15ull;

static void call_init(swarm_call *c)
{
    memset(c, 0, sizeof *c);
    c->rng = (call_seed += 0x2545f4914f6cdd1dull) | 1;
    recs_init(&c->got);
}

static void call_free(swarm_call *c)
{
    recs_free(&c->got);
    dt_buf_free(&c->out);
    for (int i = 0; i < c->nscratch; i++)
        free(c->scratch[i]);
}

/* Reads a file held in memory with a format; the records land in c->got. */
static int fmt_read(const swarm_records_format *f, const swarm_param_value *pv, const void *in, size_t len,
                    swarm_call *c)
{
    call_init(c);
    c->in = in;
    c->in_len = len;
    return f->read(&host, c, pv);
}

/* Writes records with a format; the bytes land in c->out. */
static int fmt_write(const swarm_records_format *f, const swarm_param_value *pv, const recs *src, swarm_call *c)
{
    call_init(c);
    c->src = src;
    return f->write(&host, c, pv);
}

/* Whether a call failed with BAD_INPUT and a message holding want. */
static int bad(int rc, const swarm_call *c, const char *want)
{
    int pass = rc == SWARM_E_BAD_INPUT && c->code == rc && strstr(c->err, want);
    if (!pass)
        printf("#   rc %d, error \"%s\", wanted \"%s\"\n", rc, c->err, want);
    return pass;
}

/* ---- 1. Sample records ------------------------------------------------------------------------- */

/* A sample's fields as "key|name=data|name=data", the data shown as text; "ERR: why" when malformed. */
static const char *sample_str(const uint8_t *d, size_t n)
{
    static char out[4096];
    size_t w = 0;
    sw_sample_iter it;
    sw_sample_field f;
    int st;
    sw_sample_iter_init(&it, d, n);
    while ((st = sw_sample_next(&it, &f)) > 0) {
        if (it.index > 1)
            w += (size_t)snprintf(out + w, sizeof out - w, "|%.*s=", (int)f.name_len, (const char *)f.name);
        w += (size_t)snprintf(out + w, sizeof out - w, "%.*s", (int)f.data_len, (const char *)f.data);
        if (w >= sizeof out)
            return "TOO LONG";
    }
    if (st < 0)
        snprintf(out, sizeof out, "ERR: %s", it.error);
    return out;
}

/* Builds a sample record: key, then name/data pairs, NULL-terminated. */
static void sample_make(dt_buf *b, const char *key, ...)
{
    size_t len = 0, cap = 0;
    uint8_t *p = NULL;
    va_list ap;
    const char *name;
    sw_sample_append(&p, &len, &cap, SW_SAMPLE_KEY, SW_SAMPLE_KEY_LEN, key, strlen(key));
    va_start(ap, key);
    while ((name = va_arg(ap, const char *))) {
        const char *data = va_arg(ap, const char *);
        sw_sample_append(&p, &len, &cap, name, strlen(name), data, strlen(data));
    }
    va_end(ap);
    b->len = 0;
    dt_buf_put(b, p, len);
    free(p);
}

static void test_sample(void)
{
    dt_buf b = {0};
    uint8_t raw[64];
    int all_ok = 1;
    sample_make(&b, "dir/k1", "jpg", "JPEGDATA", "txt", "", "seg.png", "P", NULL);
    ok(b.len == (12 + 7 + 6) + (12 + 3 + 8) + (12 + 3 + 0) + (12 + 7 + 1), "sample: encoded size is the sum of fields");
    ok(dt_le32(b.p) == 7 && !memcmp(b.p + 4, "__key__", 7) && b.p[11] == 6 && !memcmp(b.p + 19, "dir/k1", 6),
       "sample: the first field is __key__ with the key, u32 + u64 lengths");
    ok(!strcmp(sample_str(b.p, b.len), "dir/k1|jpg=JPEGDATA|txt=|seg.png=P"), "sample: decodes to its fields in order");
    /* Every proper prefix either ends at a field boundary (a valid, shorter sample) or is refused. */
    for (size_t n = 0; n < b.len; n++) {
        const char *s = sample_str(b.p, n);
        int boundary = n == 25 || n == 48 || n == 63;
        if (boundary ? !strncmp(s, "ERR", 3) : strncmp(s, "ERR", 3))
            all_ok = 0;
    }
    ok(all_ok, "sample: every prefix is refused unless it ends between fields");
    /* Huge lengths. */
    memcpy(raw, b.p, 25);
    memset(raw + 25, 0xff, 4);
    ok(!strncmp(sample_str(raw, 40), "ERR: field name runs past", 25), "sample: name length 0xffffffff refused");
    dt_put_le32(raw + 25, 3);
    memcpy(raw + 29, "jpg", 3);
    memset(raw + 32, 0xff, 8);
    ok(!strncmp(sample_str(raw, 45), "ERR: field data runs past", 25), "sample: data length 2^64 - 1 refused");
    memset(raw + 32, 0, 8);
    raw[39] = 0x80; /* 2^63 */
    ok(!strncmp(sample_str(raw, 45), "ERR: field data runs past", 25), "sample: data length 2^63 refused");
    ok(!strncmp(sample_str(b.p + 25, b.len - 25), "ERR: the first field is not __key__", 30),
       "sample: a record not starting with __key__ refused");
    ok(!strncmp(sample_str(b.p, 0), "ERR: empty sample", 17), "sample: an empty record refused");
    ok(sw_sample_field_size(3, UINT64_MAX) == 0 && sw_sample_field_size((size_t)UINT32_MAX + 1, 0) == 0,
       "sample: sizes that cannot be encoded give 0");
    dt_buf_free(&b);
}

/* ---- 2. jsonl ---------------------------------------------------------------------------------- */

static void test_jsonl(void)
{
    swarm_param_value whole[1] = {{.s = ""}}, text[1] = {{.s = "text"}};
    swarm_call c;
    recs src;
    int rc;
    const char *in1 = "{\"a\":1}\r\n\n  \t \r\n{\"text\": \"x\"} \n{\"b\":[2,3]}";
    const char *in2 = "{\"text\":\"caf\\u00e9\\nline \\\"q\\\" \\u0000z\",\"id\":1}\n{\"id\":2,\"text\":\"\"}\r\n";

    rc = fmt_read(&dt_jsonl_format, whole, in1, strlen(in1), &c);
    ok(rc == SWARM_OK && c.got.n == 3 && rec_iss(&c.got, 0, "{\"a\":1}") && rec_iss(&c.got, 1, "{\"text\": \"x\"} ") &&
           rec_iss(&c.got, 2, "{\"b\":[2,3]}"),
       "jsonl read: exact line bytes, CRLF, blank lines skipped, last line without newline");
    call_free(&c);

    rc = fmt_read(&dt_jsonl_format, text, in2, strlen(in2), &c);
    ok(rc == SWARM_OK && c.got.n == 2 && rec_is(&c.got, 0, "caf\xc3\xa9\nline \"q\" \0z", 17) && rec_iss(&c.got, 1, ""),
       "jsonl read field=text: escapes decoded (\\u00e9, \\n, \\\", \\u0000)");
    call_free(&c);

    rc = fmt_read(&dt_jsonl_format, whole, S("{}\n\n{\"a\":1,\"a\":2}\n"), &c);
    ok(bad(rc, &c, "line 3: duplicate object key"), "jsonl read: duplicate keys refused with the line number");
    call_free(&c);
    rc = fmt_read(&dt_jsonl_format, whole, S("{}\n[1,2]\n"), &c);
    ok(bad(rc, &c, "line 2: not a JSON object"), "jsonl read: an array refused with the line number");
    call_free(&c);
    rc = fmt_read(&dt_jsonl_format, whole, S("{}\r\n\"s\""), &c);
    ok(bad(rc, &c, "line 2: not a JSON object"), "jsonl read: a string refused with the line number");
    call_free(&c);
    rc = fmt_read(&dt_jsonl_format, whole, S("{}\n{} {}\n"), &c);
    ok(bad(rc, &c, "line 2: "), "jsonl read: two objects on one line refused");
    call_free(&c);
    rc = fmt_read(&dt_jsonl_format, whole, S("{\"a\":\"\xff\"}\n"), &c);
    ok(bad(rc, &c, "line 1: "), "jsonl read: invalid UTF-8 refused");
    call_free(&c);
    rc = fmt_read(&dt_jsonl_format, text, S("{\"text\":\"a\"}\n{\"txt\":\"b\"}\n"), &c);
    ok(bad(rc, &c, "line 2: no key \"text\""), "jsonl read field=text: a missing key refused");
    call_free(&c);
    rc = fmt_read(&dt_jsonl_format, text, S("{\"text\":1}\n"), &c);
    ok(bad(rc, &c, "line 1: \"text\" is not a string"), "jsonl read field=text: a number refused");
    call_free(&c);
    rc = fmt_read(&dt_jsonl_format, whole, "", 0, &c);
    ok(rc == SWARM_OK && c.got.n == 0, "jsonl read: an empty file has no records");
    call_free(&c);

    { /* Long lines across many chunks, and the limit. */
        size_t n = DT_JSONL_MAX_LINE;
        char *big = malloc(n + 16);
        memcpy(big, "{\"text\":\"", 9);
        memset(big + 9, 'x', n - 11);
        memcpy(big + n - 2, "\"}\n{}", 5);
        rc = fmt_read(&dt_jsonl_format, text, big, n + 1, &c);
        ok(rc == SWARM_OK && c.got.n == 1 && c.got.bytes.len == n - 11,
            "jsonl read: a line of exactly the limit reads");
        call_free(&c);
        memmove(big + 1, big, n + 3);
        big[0] = ' ';
        rc = fmt_read(&dt_jsonl_format, text, big, n + 2, &c);
        ok(bad(rc, &c, "line 1: longer than"), "jsonl read: a line over the limit refused");
        call_free(&c);
        free(big);
    }
    {
        const char *in = "{}\n{}\n{}\n";
        call_init(&c);
        c.in = (const uint8_t *)in;
        c.in_len = 9;
        c.fail_read = 4;
        rc = dt_jsonl_format.read(&host, &c, whole);
        ok(rc == SWARM_E_INTERNAL && strstr(c.err, "on fire"), "jsonl read: a read_bytes failure is passed on");
        call_free(&c);
    }

    /* Writing. */
    recs_init(&src);
    recs_adds(&src, "{\"a\":1}");
    recs_adds(&src, " {\"text\":\"caf\xc3\xa9\"} ");
    rc = fmt_write(&dt_jsonl_format, whole, &src, &c);
    ok(rc == SWARM_OK && c.out.len == strlen("{\"a\":1}\n {\"text\":\"caf\xc3\xa9\"} \n") &&
           !memcmp(c.out.p, "{\"a\":1}\n {\"text\":\"caf\xc3\xa9\"} \n", c.out.len),
       "jsonl write: objects as given, one per line");
    {
        swarm_call r;
        rc = fmt_read(&dt_jsonl_format, whole, c.out.p, c.out.len, &r);
        ok(rc == SWARM_OK && recs_eq(&r.got, &src), "jsonl: write then read gives the records back");
        call_free(&r);
    }
    call_free(&c);
    recs_adds(&src, "{\"a\":\n1}");
    rc = fmt_write(&dt_jsonl_format, whole, &src, &c);
    ok(bad(rc, &c, "record 2: holds a raw line break"), "jsonl write: a record holding '\\n' refused");
    call_free(&c);
    recs_free(&src);
    recs_init(&src);
    recs_adds(&src, "[1]");
    rc = fmt_write(&dt_jsonl_format, whole, &src, &c);
    ok(bad(rc, &c, "record 0: not a JSON object"), "jsonl write: a non-object refused");
    call_free(&c);
    recs_free(&src);

    recs_init(&src);
    recs_adds(&src, "caf\xc3\xa9 \"quoted\"\nline\t/");
    recs_add(&src, "nul\0byte", 8);
    recs_adds(&src, "");
    rc = fmt_write(&dt_jsonl_format, text, &src, &c);
    {
        const char *want = "{\"text\":\"caf\xc3\xa9 \\\"quoted\\\"\\nline\\t/\"}\n"
                           "{\"text\":\"nul\\u0000byte\"}\n{\"text\":\"\"}\n";
        ok(rc == SWARM_OK && c.out.len == strlen(want) && !memcmp(c.out.p, want, c.out.len),
           "jsonl write field=text: compact {\"text\":...}, UTF-8 kept, escapes");
    }
    {
        swarm_call r;
        rc = fmt_read(&dt_jsonl_format, text, c.out.p, c.out.len, &r);
        ok(rc == SWARM_OK && recs_eq(&r.got, &src), "jsonl field=text: write then read gives the texts back");
        call_free(&r);
    }
    call_free(&c);
    recs_add(&src, "bad \xc3(", 6);
    rc = fmt_write(&dt_jsonl_format, text, &src, &c);
    ok(bad(rc, &c, "record 3: not valid UTF-8"), "jsonl write field=text: invalid UTF-8 refused");
    call_free(&c);
    recs_free(&src);
}

/* ---- 3. webdataset ----------------------------------------------------------------------------- */

/* A member for mk_tar: type 'f' file, 'd' directory, 'l' symlink, 'h' hard link, 'c' character device. */
typedef struct tent {
    const char *name;
    char type;
    const char *data; /* the file's bytes, or the link's target */
} tent;

static la_ssize_t tar_cb(struct archive *a, void *data, const void *buf, size_t len)
{
    (void)a;
    return dt_buf_put(data, buf, len) ? -1 : (la_ssize_t)len;
}

enum { TAR_PAX, TAR_GNU, TAR_USTAR };

/* A tar of these members, written with libarchive (any names, no checks: the reader's input). */
static void mk_tar(dt_buf *out, const tent *t, size_t n, int format)
{
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    out->len = 0;
    if (format == TAR_PAX)
        archive_write_set_format_pax(a);
    else if (format == TAR_GNU)
        archive_write_set_format_gnutar(a);
    else
        archive_write_set_format_ustar(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open(a, out, NULL, tar_cb, NULL);
    for (size_t i = 0; i < n; i++) {
        size_t len = t[i].type == 'f' ? strlen(t[i].data) : 0;
        archive_entry_clear(e);
        archive_entry_copy_pathname(e, t[i].name);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)len);
        archive_entry_set_mtime(e, 1700000000, 0);
        if (t[i].type == 'd')
            archive_entry_set_filetype(e, AE_IFDIR);
        else if (t[i].type == 'l')
            archive_entry_set_filetype(e, AE_IFLNK), archive_entry_copy_symlink(e, t[i].data);
        else if (t[i].type == 'c')
            archive_entry_set_filetype(e, AE_IFCHR);
        else
            archive_entry_set_filetype(e, AE_IFREG);
        if (t[i].type == 'h')
            archive_entry_copy_hardlink(e, t[i].data);
        if (archive_write_header(a, e) < ARCHIVE_WARN)
            printf("# mk_tar: %s\n", archive_error_string(a));
        if (len)
            archive_write_data(a, t[i].data, len);
    }
    archive_write_close(a);
    archive_write_free(a);
    archive_entry_free(e);
}

/* Reads a tar made of these members. */
static int wds_read_tar(const tent *t, size_t n, int format, swarm_call *c, dt_buf *tar)
{
    mk_tar(tar, t, n, format);
    return fmt_read(&dt_wds_format, NULL, tar->p, tar->len, c);
}

static int samples_are(const recs *r, const char *const *want, size_t n)
{
    int pass = r->n == n;
    for (size_t i = 0; i < r->n; i++) {
        size_t len;
        const uint8_t *p = recs_at(r, i, &len);
        const char *s = sample_str(p, len);
        if (i >= n || strcmp(s, want[i])) {
            printf("#   sample %zu: %s (want %s)\n", i, s, i < n ? want[i] : "none");
            pass = 0;
        }
    }
    return pass;
}

static void test_wds_read(void)
{
    static const tent t1[] = {
        {"shard/", 'd', NULL},
        {"shard/a.jpg", 'f', "J-a"},
        {"shard/a.TXT", 'f', "T-a"},
        {"shard/__meta__", 'f', "skipped"},
        {"shard/a.Seg.PNG", 'f', "S-a"},
        {"shard/b.jpg", 'f', "J-b"},
        {"c.json", 'f', "{}"},
        {"shard/a.cls", 'f', "7"},
        {"x.y/d.e.f", 'f', "def"},
    };
    static const char *const want1[] = {"shard/a|jpg=J-a|txt=T-a|seg.png=S-a", "shard/b|jpg=J-b", "c|json={}",
                                        "shard/a|cls=7", "x.y/d|e.f=def"};
    dt_buf tar = {0};
    swarm_call c;
    int rc;
    char longdir[160];

    for (int f = TAR_PAX; f <= TAR_USTAR; f++) {
        rc = wds_read_tar(t1, sizeof t1 / sizeof *t1, f, &c, &tar);
        ok(rc == SWARM_OK && samples_are(&c.got, want1, 5),
           "webdataset read (%s): consecutive keys grouped, extensions lower-cased, directories in keys, "
           "__meta__ skipped, a key coming back starts a new sample",
           f == TAR_PAX ? "pax" : f == TAR_GNU ? "gnu" : "ustar");
        call_free(&c);
    }

    memset(longdir, 'd', sizeof longdir);
    memcpy(longdir + 120, "/sample.txt", 12);
    {
        tent t[] = {{longdir, 'f', "long"}, {"short.txt", 'f', "s"}};
        char want[200];
        const char *w[2];
        snprintf(want, sizeof want, "%.*s|txt=long", 127, longdir);
        w[0] = want;
        w[1] = "short|txt=s";
        rc = wds_read_tar(t, 2, TAR_PAX, &c, &tar);
        ok(rc == SWARM_OK && samples_are(&c.got, w, 2), "webdataset read: a pax long name (131 bytes)");
        call_free(&c);
        rc = wds_read_tar(t, 2, TAR_GNU, &c, &tar);
        ok(rc == SWARM_OK && samples_are(&c.got, w, 2), "webdataset read: a GNU long name (131 bytes)");
        call_free(&c);
    }

#define WDS_BAD(members, want, what)                                                                                   \
    do {                                                                                                               \
        rc = wds_read_tar(members, sizeof members / sizeof *members, TAR_PAX, &c, &tar);                               \
        ok(bad(rc, &c, want), "webdataset read: " what);                                                               \
        call_free(&c);                                                                                                 \
    } while (0)
    {
        static const tent t[] = {{"k.txt", 'f', "1"}, {"k.TXT", 'f', "2"}};
        WDS_BAD(t, "member k.TXT: extension repeated", "a repeated extension in one sample refused");
    }
    {
        static const tent t[] = {{"ok.txt", 'f', "1"}, {"../x.txt", 'f', "2"}};
        WDS_BAD(t, "member ../x.txt: unsafe member name", "../x.txt refused");
    }
    {
        static const tent t[] = {{"/abs.txt", 'f', "2"}};
        WDS_BAD(t, "member /abs.txt: unsafe member name", "/abs.txt refused");
    }
    {
        static const tent t[] = {{"a/../../b.txt", 'f', "2"}};
        WDS_BAD(t, "unsafe member name", "a/../../b.txt refused");
    }
    {
        static const tent t[] = {{"../", 'd', NULL}};
        WDS_BAD(t, "unsafe member name", "a directory ../ refused");
    }
    {
        static const tent t[] = {{"a.txt", 'f', "1"}, {"l.txt", 'l', "a.txt"}};
        WDS_BAD(t, "member l.txt: not a regular file (a symlink)", "a symlink refused");
    }
    {
        static const tent t[] = {{"a.txt", 'f', "1"}, {"h.txt", 'h', "a.txt"}};
        WDS_BAD(t, "member h.txt: a hard link", "a hard link refused");
    }
    {
        static const tent t[] = {{"dev.null", 'c', NULL}};
        WDS_BAD(t, "member dev.null: not a regular file", "a device refused");
    }
    {
        static const tent t[] = {{"dir/README", 'f', "1"}};
        WDS_BAD(t, "member dir/README: no extension", "a basename without a dot refused");
    }
    {
        static const tent t[] = {{"dir/.hidden", 'f', "1"}};
        WDS_BAD(t, "member dir/.hidden: empty key", "a basename starting with a dot refused");
    }
    {
        static const tent t[] = {{"k.", 'f', "1"}};
        WDS_BAD(t, "member k.: empty extension", "an empty extension refused");
    }
    {
        static const tent t[] = {{"k.__key__", 'f', "1"}};
        WDS_BAD(t, "extension __key__ is reserved", "extension __key__ refused");
    }
    {
        char *big = malloc(DT_WDS_MAX + 2);
        memset(big, 'b', DT_WDS_MAX + 1);
        big[DT_WDS_MAX + 1] = 0;
        {
            tent t[] = {{"big.bin", 'f', big}};
            WDS_BAD(t, "member big.bin: over", "a member over the limit refused");
        }
        big[DT_WDS_MAX / 2 + 1] = 0;
        {
            tent t[] = {{"big.a", 'f', big}, {"big.b", 'f', big}};
            WDS_BAD(t, "member big.b: its sample is over", "a sample over the limit refused");
        }
        free(big);
    }
#undef WDS_BAD

    /* Damaged input. */
    {
        static const tent t[] = {{"a.txt", 'f', "0123456789"}, {"b.txt", 'f', "x"}};
        size_t cuts[] = {100, 512 + 5, 1024 + 100};
        mk_tar(&tar, t, 2, TAR_USTAR);
        for (int k = 0; k < 3; k++) {
            rc = fmt_read(&dt_wds_format, NULL, tar.p, cuts[k], &c);
            ok(rc == SWARM_E_BAD_INPUT && c.code == rc && c.err[0],
                "webdataset read: a tar cut at %zu bytes refused (%s)",
               cuts[k], c.err);
            call_free(&c);
        }
        tar.p[148] ^= 1; /* the first header's checksum */
        rc = fmt_read(&dt_wds_format, NULL, tar.p, tar.len, &c);
        ok(rc == SWARM_E_BAD_INPUT && c.err[0], "webdataset read: a bad header checksum refused (%s)", c.err);
        call_free(&c);
        rc = fmt_read(&dt_wds_format, NULL, S("this is not a tar file at all, not even close"), &c);
        ok(bad(rc, &c, "not a sound tar"), "webdataset read: a non-tar refused");
        call_free(&c);
        rc = fmt_read(&dt_wds_format, NULL, "", 0, &c);
        ok(rc == SWARM_OK && c.got.n == 0, "webdataset read: an empty file has no samples");
        call_free(&c);
        mk_tar(&tar, t, 2, TAR_USTAR);
        call_init(&c);
        c.in = tar.p;
        c.in_len = tar.len;
        c.fail_read = 600;
        rc = dt_wds_format.read(&host, &c, NULL);
        ok(rc == SWARM_E_INTERNAL && strstr(c.err, "on fire"), "webdataset read: a read_bytes failure is passed on");
        call_free(&c);
    }
    dt_buf_free(&tar);
}

/* Reads a file whole into b. */
static int slurp(const char *path, dt_buf *b)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    char tmp[4096];
    b->len = 0;
    if (!f)
        return -1;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        dt_buf_put(b, tmp, n);
    fclose(f);
    return 0;
}

/* Reads tars made by other writers from files in a temporary directory: GNU tar (a GNU long name) and
 * Python's tarfile (pax, UTF-8 names), each when it is there. */
static void test_wds_gnu_tar(void)
{
    char dir[] = "/tmp/swarm_test_data_XXXXXX", cmd[1024], path[1024];
    char longname[200];
    dt_buf tar = {0};
    swarm_call c;
    int rc;
    if (!mkdtemp(dir)) {
        ok(0, "webdataset: mkdtemp");
        return;
    }
    memset(longname, 'n', 150);
    strcpy(longname + 150, ".TXT");
    snprintf(cmd, sizeof cmd,
             "cd %s && mkdir -p in/s && printf J > in/s/0001.jpg && printf C > in/s/0001.cls && printf T > in/s/%s && "
             "cd in && tar --sort=name --format=gnu -cf ../out.tar s 2>/dev/null",
             dir, longname);
    snprintf(path, sizeof path, "%s/out.tar", dir);
    if (system(cmd) != 0 || slurp(path, &tar)) {
        ok(1, "# SKIP webdataset: GNU tar is not available");
    } else {
        rc = fmt_read(&dt_wds_format, NULL, tar.p, tar.len, &c);
        {
            char want[200];
            const char *w[2] = {"s/0001|cls=C|jpg=J", want};
            snprintf(want, sizeof want, "s/%.150s|txt=T", longname);
            ok(rc == SWARM_OK && samples_are(&c.got, w, 2), "webdataset read: a tar made by GNU tar (dirs, long name)");
        }
        call_free(&c);
    }
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import io, sys, tarfile\n"
             "t = tarfile.open(sys.argv[1], \"w\", format=tarfile.PAX_FORMAT)\n"
             "for n, d in [(\"caf\\u00e9/\\u00f1.txt\", b\"T\"), (\"caf\\u00e9/\\u00f1.JPG\", b\"J\"),\n"
             "             (\"m\" * 120 + \".json\", b\"{}\")]:\n"
             "    i = tarfile.TarInfo(n); i.size = len(d); i.uname = \"someone\"; t.addfile(i, io.BytesIO(d))\n"
             "t.close()' %s/py.tar 2>/dev/null",
             dir);
    snprintf(path, sizeof path, "%s/py.tar", dir);
    if (system(cmd) != 0 || slurp(path, &tar)) {
        ok(1, "# SKIP webdataset: python3 is not available");
    } else {
        char want[200];
        const char *w[2] = {"caf\xc3\xa9/\xc3\xb1|txt=T|jpg=J", want};
        memset(want, 'm', 120);
        strcpy(want + 120, "|json={}");
        rc = fmt_read(&dt_wds_format, NULL, tar.p, tar.len, &c);
        ok(rc == SWARM_OK && samples_are(&c.got, w, 2),
            "webdataset read: a pax tar made by Python's tarfile (UTF-8 names)");
        call_free(&c);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    dt_buf_free(&tar);
}

/* Checks the headers of a written tar with libarchive: regular files, 0644, mtime 0, uid/gid 0, no names. */
static int tar_headers_plain(const dt_buf *tar, const char *const *names, size_t n)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    size_t i = 0;
    int pass = 1;
    archive_read_support_format_tar(a);
    archive_read_open_memory(a, tar->p, tar->len);
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        const char *p = archive_entry_pathname_utf8(e) ? archive_entry_pathname_utf8(e) : archive_entry_pathname(e), *u;
        if (i >= n || !p || strcmp(p, names[i]) || archive_entry_filetype(e) != AE_IFREG ||
            archive_entry_perm(e) != 0644 || archive_entry_mtime(e) != 0 || archive_entry_uid(e) != 0 ||
            archive_entry_gid(e) != 0 || ((u = archive_entry_uname(e)) != NULL && *u) ||
            ((u = archive_entry_gname(e)) != NULL && *u)) {
            printf("#   member %zu: %s\n", i, p ? p : "(null)");
            pass = 0;
        }
        i++;
    }
    archive_read_free(a);
    return pass && i == n;
}

static void test_wds_write(void)
{
    recs src;
    dt_buf s = {0};
    swarm_call c, c2, r;
    char longkey[200];
    int rc;
    static const char *const names[] = {"shard/000.cls", "shard/000.jpg", "shard/000.txt", "shard/001.json",
                                        "caf\xc3\xa9/\xc3\xb1.txt"};

    recs_init(&src);
    sample_make(&s, "shard/000", "txt", "hello", "jpg", "\xff\xd8JPEG", "cls", "3", NULL);
    recs_add(&src, s.p, s.len);
    sample_make(&s, "shard/001", "json", "{}", NULL);
    recs_add(&src, s.p, s.len);
    sample_make(&s, "caf\xc3\xa9/\xc3\xb1", "txt", "utf8", NULL);
    recs_add(&src, s.p, s.len);
    rc = fmt_write(&dt_wds_format, NULL, &src, &c);
    ok(rc == SWARM_OK && c.out.len == 5 * 1024 + 1024 + 1024,
       "webdataset write: 512-byte header + padded data per member, one pax header (the non-ASCII name), "
       "the end, no block padding (%zu bytes)", c.out.len);
    ok(c.out.len >= 1024 && !memcmp(c.out.p, "shard/000.cls", 14), "webdataset write: fields sorted by extension");
    ok(tar_headers_plain(&c.out, names, 5), "webdataset write: regular files, 0644, mtime 0, uid/gid 0, no user names");
    rc = fmt_write(&dt_wds_format, NULL, &src, &c2);
    ok(rc == SWARM_OK && c2.out.len == c.out.len && !memcmp(c2.out.p, c.out.p, c.out.len),
       "webdataset write: the same records give the same bytes");
    call_free(&c2);
    rc = fmt_read(&dt_wds_format, NULL, c.out.p, c.out.len, &r);
    {
        static const char *const w[] = {"shard/000|cls=3|jpg=\xff\xd8JPEG|txt=hello", "shard/001|json={}",
                                        "caf\xc3\xa9/\xc3\xb1|txt=utf8"};
        ok(rc == SWARM_OK && samples_are(&r.got, w, 3),
            "webdataset: write then read gives the samples back (fields sorted)");
    }
    call_free(&r);
    call_free(&c);
    recs_free(&src);

    /* A long key goes through a pax header and back. */
    memset(longkey, 'k', 150);
    memcpy(longkey + 150, "/a/b", 5);
    recs_init(&src);
    sample_make(&s, longkey, "txt", "x", NULL);
    recs_add(&src, s.p, s.len);
    rc = fmt_write(&dt_wds_format, NULL, &src, &c);
    if (!rc)
        rc = fmt_read(&dt_wds_format, NULL, c.out.p, c.out.len, &r);
    ok(rc == SWARM_OK && recs_eq(&r.got, &src), "webdataset: a 158-byte name written (pax) and read back");
    call_free(&r);
    call_free(&c);
    recs_free(&src);

    recs_init(&src);
    rc = fmt_write(&dt_wds_format, NULL, &src, &c);
    ok(rc == SWARM_OK && c.out.len == 1024 && !c.out.p[0] && !c.out.p[1023],
        "webdataset write: no records give 1024 zero bytes");
    call_free(&c);
    recs_free(&src);

#define WDS_WBAD(key, want, what, ...)                                                                                 \
    do {                                                                                                               \
        recs_init(&src);                                                                                               \
        sample_make(&s, key, __VA_ARGS__);                                                                             \
        recs_add(&src, s.p, s.len);                                                                                    \
        rc = fmt_write(&dt_wds_format, NULL, &src, &c);                                                                \
        ok(bad(rc, &c, want), "webdataset write: " what);                                                              \
        call_free(&c);                                                                                                 \
        recs_free(&src);                                                                                               \
    } while (0)
    WDS_WBAD("../x", "record 0: unsafe key", "key ../x refused", "txt", "1", NULL);
    WDS_WBAD("/abs", "record 0: unsafe key", "an absolute key refused", "txt", "1", NULL);
    WDS_WBAD("a/b.c", "a dot in the key's basename", "a dot in the key's basename refused", "txt", "1", NULL);
    WDS_WBAD("", "empty key", "an empty key refused", "txt", "1", NULL);
    WDS_WBAD("dir/", "basename is empty", "a key ending with / refused", "txt", "1", NULL);
    WDS_WBAD("k", "an empty extension", "an empty extension refused", "", "1", NULL);
    WDS_WBAD("k", "a repeated extension", "a repeated extension refused", "txt", "1", "jpg", "2", "txt", "3", NULL);
    WDS_WBAD("k", "not lower-case", "an upper-case extension refused", "TXT", "1", NULL);
    WDS_WBAD("k", "holding '/'", "an extension with / refused", "a/b", "1", NULL);
    WDS_WBAD("__k", "__*__", "a name that would read as metadata refused", "x__", "1", NULL);
#undef WDS_WBAD
    {
        uint8_t raw[40];
        sample_make(&s, "k", "txt", "abc", NULL);
        memcpy(raw, s.p, s.len);
        raw[20 + 4 + 3 + 7] = 0x7f; /* txt's data length's top byte */
        recs_init(&src);
        recs_add(&src, raw, s.len);
        rc = fmt_write(&dt_wds_format, NULL, &src, &c);
        ok(bad(rc, &c, "record 0: not a sample record: field data runs past"),
           "webdataset write: a huge data length refused");
        call_free(&c);
        recs_free(&src);
    }
    dt_buf_free(&s);
}

/* ---- 4. Token files ---------------------------------------------------------------------------- */

static void ids_add(recs *r, const uint32_t *t, size_t n)
{
    uint8_t b[64 * 4];
    for (size_t i = 0; i < n; i++)
        dt_put_le32(b + 4 * i, t[i]);
    recs_add(r, b, 4 * n);
}

static void test_llmc(void)
{
    swarm_param_value gpt2[2] = {{.i = 0}, {.i = 50256}}, llama3[2] = {{.i = 1}, {.i = 128000}};
    static const uint8_t vec[12] = {0x88, 0xd8, 0x34, 0x01, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00};
    static const uint32_t d1[] = {15496, 11, 995, 0}, d2[] = {65535}, d3[] = {7, 70000};
    recs src;
    swarm_call c, r;
    dt_buf f = {0};
    int rc, zeros = 1;

    recs_init(&src);
    ids_add(&src, d1, 4);
    rc = fmt_write(&dt_llmc_format, gpt2, &src, &c);
    for (size_t i = 12; i < 1024 && i < c.out.len; i++)
        zeros &= c.out.p[i] == 0;
    ok(rc == SWARM_OK && c.out.len == 1024 + 10 && !memcmp(c.out.p, vec, 12) && zeros,
       "llmc write gpt2: FORMATS.md's header for 5 tokens (88 d8 34 01 01 .. 05 ..), zeros to 1024");
    ok(c.out.len == 1034 && c.out.p[1024] == 0x50 && c.out.p[1025] == 0xc4 && c.out.p[1026] == 0x88 &&
           c.out.p[1027] == 0x3c && c.out.p[1032] == 0 && c.out.p[1033] == 0,
       "llmc write gpt2: EOT (50256) first, then the tokens as uint16");
    call_free(&c);

    ids_add(&src, d2, 1);
    recs_add(&src, "", 0);
    ids_add(&src, d1, 2);
    recs_add(&src, "", 0);
    rc = fmt_write(&dt_llmc_format, gpt2, &src, &c);
    if (!rc)
        rc = fmt_read(&dt_llmc_format, gpt2, c.out.p, c.out.len, &r);
    ok(rc == SWARM_OK && dt_le32(c.out.p + 8) == 5 + 2 + 1 + 3 + 1 && recs_eq(&r.got, &src),
       "llmc gpt2: write then read gives the records back (empty ones too)");
    call_free(&r);
    call_free(&c);

    rc = fmt_write(&dt_llmc_format, llama3, &src, &c);
    ok(rc == SWARM_OK && dt_le32(c.out.p) == 20240801 && dt_le32(c.out.p + 4) == 7 && dt_le32(c.out.p + 8) == 12 &&
           c.out.len == 1024 + 4 * 12 && dt_le32(c.out.p + 1024) == 128000 && dt_le32(c.out.p + 1028) == 15496,
       "llmc write llama3: magic 20240801, version 7, uint32 tokens, the eot param first");
    if (!rc)
        rc = fmt_read(&dt_llmc_format, llama3, c.out.p, c.out.len, &r);
    ok(rc == SWARM_OK && recs_eq(&r.got, &src), "llmc llama3: write then read gives the records back");
    call_free(&r);
    call_free(&c);
    recs_free(&src);

    recs_init(&src);
    ids_add(&src, d3, 2);
    rc = fmt_write(&dt_llmc_format, gpt2, &src, &c);
    ok(bad(rc, &c, "record 0: token 70000 (at 1) does not fit uint16"), "llmc write gpt2: a token over 65535 refused");
    call_free(&c);
    rc = fmt_write(&dt_llmc_format, llama3, &src, &c);
    ok(rc == SWARM_OK, "llmc write llama3: token 70000 fits");
    call_free(&c);
    recs_adds(&src, "abc");
    rc = fmt_write(&dt_llmc_format, llama3, &src, &c);
    ok(bad(rc, &c, "record 1: 3 bytes is not a whole number"), "llmc write: a record of 3 bytes refused");
    call_free(&c);
    recs_free(&src);

    /* A shard starting mid-document: tokens before the first EOT form a record. */
    dt_buf_reserve(&f, 1024 + 12);
    memset(f.p, 0, 1024);
    memcpy(f.p, vec, 12);
    f.p[8] = 6;
    {
        static const uint16_t toks[6] = {5, 6, 50256, 7, 50256, 8};
        for (int i = 0; i < 6; i++)
            dt_put_le16(f.p + 1024 + 2 * i, toks[i]);
    }
    f.len = 1024 + 12;
    rc = fmt_read(&dt_llmc_format, gpt2, f.p, f.len, &r);
    {
        uint8_t a[8], b[4], d[4];
        dt_put_le32(a, 5), dt_put_le32(a + 4, 6), dt_put_le32(b, 7), dt_put_le32(d, 8);
        ok(rc == SWARM_OK && r.got.n == 3 && rec_is(&r.got, 0, a, 8) && rec_is(&r.got, 1, b, 4) &&
               rec_is(&r.got, 2, d, 4),
           "llmc read: tokens before the first EOT are a record (a document from the previous shard)");
    }
    call_free(&r);
    {
        swarm_param_value eot7[2] = {{.i = 0}, {.i = 7}};
        rc = fmt_read(&dt_llmc_format, eot7, f.p, f.len, &r);
        ok(rc == SWARM_OK && r.got.n == 2 && r.got.bytes.len == 4 * 5, "llmc read: the eot param picks the delimiter");
        call_free(&r);
    }

    rc = fmt_read(&dt_llmc_format, gpt2, f.p, f.len - 1, &r);
    ok(bad(rc, &r, "truncated"), "llmc read: a missing byte refused (truncated)");
    call_free(&r);
    rc = fmt_read(&dt_llmc_format, gpt2, f.p, 1000, &r);
    ok(bad(rc, &r, "truncated"), "llmc read: a short header refused");
    call_free(&r);
    dt_buf_put(&f, "\0\0", 2);
    rc = fmt_read(&dt_llmc_format, gpt2, f.p, f.len, &r);
    ok(bad(rc, &r, "trailing bytes"), "llmc read: trailing bytes refused");
    call_free(&r);
    f.len -= 2;
    f.p[0] ^= 1;
    rc = fmt_read(&dt_llmc_format, gpt2, f.p, f.len, &r);
    ok(bad(rc, &r, "bad magic"), "llmc read: a bad magic refused");
    call_free(&r);
    f.p[0] ^= 1;
    f.p[4] = 7;
    rc = fmt_read(&dt_llmc_format, gpt2, f.p, f.len, &r);
    ok(bad(rc, &r, "bad version 7 for magic 20240520"), "llmc read: a GPT-2 magic with version 7 refused");
    call_free(&r);
    f.p[4] = 1;
    f.p[11] = 0x80;
    rc = fmt_read(&dt_llmc_format, gpt2, f.p, f.len, &r);
    ok(bad(rc, &r, "negative token count"), "llmc read: a negative count refused");
    call_free(&r);
    rc = fmt_read(&dt_llmc_format, gpt2, "", 0, &r);
    ok(bad(rc, &r, "truncated"), "llmc read: an empty file refused");
    call_free(&r);
    dt_buf_free(&f);
}

static void test_nanogpt(void)
{
    swarm_param_value pv[1] = {{.i = 50256}};
    static const uint32_t d1[] = {1, 2}, d2[] = {3}, d3[] = {65536};
    static const uint8_t want[] = {1, 0, 2, 0, 0x50, 0xc4, 0x50, 0xc4, 3, 0, 0x50, 0xc4};
    recs src;
    swarm_call c, r;
    int rc;
    recs_init(&src);
    ids_add(&src, d1, 2);
    recs_add(&src, "", 0);
    ids_add(&src, d2, 1);
    rc = fmt_write(&dt_nanogpt_format, pv, &src, &c);
    ok(rc == SWARM_OK && c.out.len == sizeof want && !memcmp(c.out.p, want, sizeof want),
       "nanogpt write: uint16 tokens, EOT after each document");
    rc = fmt_read(&dt_nanogpt_format, pv, c.out.p, c.out.len, &r);
    ok(rc == SWARM_OK && recs_eq(&r.got, &src), "nanogpt: write then read gives the records back");
    call_free(&r);
    rc = fmt_read(&dt_nanogpt_format, pv, c.out.p, c.out.len - 2, &r);
    ok(rc == SWARM_OK && r.got.n == 3 && rec_is(&r.got, 2, "\3\0\0\0", 4),
       "nanogpt read: tokens after the last EOT are a record");
    call_free(&r);
    rc = fmt_read(&dt_nanogpt_format, pv, c.out.p, c.out.len - 1, &r);
    ok(bad(rc, &r, "an odd number of bytes"), "nanogpt read: an odd byte count refused");
    call_free(&r);
    call_free(&c);
    ids_add(&src, d3, 1);
    rc = fmt_write(&dt_nanogpt_format, pv, &src, &c);
    ok(bad(rc, &c, "record 3: token 65536"), "nanogpt write: a token over 65535 refused");
    call_free(&c);
    pv[0].i = 65536;
    rc = fmt_write(&dt_nanogpt_format, pv, &src, &c);
    ok(bad(rc, &c, "eot 65536 does not fit"), "nanogpt write: an eot over 65535 refused");
    call_free(&c);
    recs_free(&src);
}

/* ---- 5. Ops ------------------------------------------------------------------------------------ */

/* Runs an op's infer and run on one records input; the output's records land in out. */
static int op_call(const swarm_op *op, const swarm_param_value *pv, const recs *in, recs *out, swarm_call *c)
{
    swarm_value x, y;
    int rc;
    call_init(c);
    memset(&x, 0, sizeof x);
    memset(&y, 0, sizeof y);
    x.kind = y.kind = SWARM_KIND_RECORDS;
    x.u.records = recs_view(in);
    rc = op->variants[0]->infer(&host, c, pv, &x, &y);
    recs_init(out);
    if (rc)
        return rc;
    dt_buf_reserve(&out->offs, (size_t)(y.u.records.count + 1) * 8);
    dt_buf_reserve(&out->bytes, (size_t)y.u.records.nbytes + 1);
    y.u.records.offsets = (uint64_t *)(void *)out->offs.p;
    y.u.records.bytes = out->bytes.p;
    rc = op->variants[0]->run(&host, c, pv, &x, &y);
    if (!rc) {
        out->n = (size_t)y.u.records.count;
        out->offs.len = 8 * (out->n + 1);
        out->bytes.len = (size_t)y.u.records.offsets[y.u.records.count];
    }
    return rc;
}

/* The order of records "0".."n-1" after a shuffle, as a list of numbers; 0 when it is not a permutation. */
static int order_of(const recs *r, size_t n, unsigned *ord)
{
    char seen[1000] = {0};
    if (r->n != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const uint8_t *p = recs_at(r, i, &len);
        char buf[16];
        snprintf(buf, sizeof buf, "%.*s", (int)len, (const char *)p);
        ord[i] = (unsigned)atoi(buf);
        if (ord[i] >= n || seen[ord[i]]++)
            return 0;
    }
    return 1;
}

static void test_shuffle(void)
{
    /* Computed with Python from the algorithm in shuffle.c's comment (splitmix64, rejection, Fisher-Yates). */
    static const unsigned p0[10] = {6, 3, 2, 9, 8, 1, 4, 7, 0, 5}, p12345[10] = {8, 6, 7, 2, 1, 3, 9, 5, 0, 4},
                          pm1[10] = {3, 4, 2, 7, 5, 0, 8, 1, 9, 6};
    recs in, out, out2;
    swarm_call c;
    unsigned ord[1000], ord2[1000];
    swarm_param_value pv[1];
    int rc, same = 1;
    char buf[16];

    recs_init(&in);
    for (int i = 0; i < 10; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        recs_adds(&in, buf);
    }
    pv[0].i = 0;
    rc = op_call(&dt_shuffle_op, pv, &in, &out, &c);
    ok(rc == SWARM_OK && order_of(&out, 10, ord) && !memcmp(ord, p0, sizeof p0),
        "shuffle seed 0: the documented permutation");
    call_free(&c);
    recs_free(&out);
    pv[0].i = 12345;
    rc = op_call(&dt_shuffle_op, pv, &in, &out, &c);
    ok(rc == SWARM_OK && order_of(&out, 10, ord) && !memcmp(ord, p12345, sizeof p0),
        "shuffle seed 12345: the documented permutation");
    call_free(&c);
    recs_free(&out);
    pv[0].i = -1;
    rc = op_call(&dt_shuffle_op, pv, &in, &out, &c);
    ok(rc == SWARM_OK && order_of(&out, 10, ord) && !memcmp(ord, pm1, sizeof p0),
        "shuffle seed -1: the documented permutation");
    call_free(&c);
    recs_free(&out);
    recs_free(&in);

    recs_init(&in);
    for (int i = 0; i < 1000; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        recs_adds(&in, buf);
    }
    pv[0].i = 42;
    rc = op_call(&dt_shuffle_op, pv, &in, &out, &c);
    call_free(&c);
    ok(rc == SWARM_OK && order_of(&out, 1000, ord) && out.bytes.len == in.bytes.len,
       "shuffle: 1000 records give a permutation of them, same bytes in all");
    rc = op_call(&dt_shuffle_op, pv, &in, &out2, &c);
    call_free(&c);
    ok(rc == SWARM_OK && recs_eq(&out, &out2), "shuffle: the same seed gives the same bytes");
    recs_free(&out2);
    pv[0].i = 43;
    rc = op_call(&dt_shuffle_op, pv, &in, &out2, &c);
    call_free(&c);
    ok(rc == SWARM_OK && order_of(&out2, 1000, ord2) && memcmp(ord, ord2, sizeof(unsigned) * 1000),
       "shuffle: another seed gives another order");
    for (int i = 0; i < 1000; i++)
        same += ord[i] == (unsigned)i;
    ok(same < 20, "shuffle: few records stay in place (%d)", same - 1);
    recs_free(&out2);
    recs_free(&out);
    recs_free(&in);

    recs_init(&in);
    rc = op_call(&dt_shuffle_op, pv, &in, &out, &c);
    ok(rc == SWARM_OK && out.n == 0, "shuffle: no records");
    call_free(&c);
    recs_free(&out);
    recs_free(&in);
    ok(dt_shuffle_op.flags == (SWARM_OP_DETERMINISTIC | SWARM_OP_WHOLE), "shuffle: DETERMINISTIC | WHOLE");
}

/* Filter params: field, min_chars, max_chars, min_words, max_words, min_alpha, max_dup_lines. */
static void fparams(swarm_param_value *pv, const char *field, int64_t minc, int64_t maxc, int64_t minw, int64_t maxw,
                    double alpha, double dup)
{
    pv[0].s = field;
    pv[1].i = minc;
    pv[2].i = maxc;
    pv[3].i = minw;
    pv[4].i = maxw;
    pv[5].f = alpha;
    pv[6].f = dup;
}

/* Runs filter and says which records of in it kept, as a string of their indexes ("0,2,3"). */
static const char *kept(const swarm_param_value *pv, const recs *in, swarm_call *c, int *rc)
{
    static char out[256];
    recs o;
    size_t w = 0;
    out[0] = 0;
    *rc = op_call(&dt_filter_op, pv, in, &o, c);
    for (size_t i = 0, j = 0; !*rc && i < o.n; i++) {
        size_t len, ilen;
        const uint8_t *p = recs_at(&o, i, &len);
        while (j < in->n) {
            const uint8_t *q = recs_at(in, j++, &ilen);
            if (ilen == len && !memcmp(p, q, len)) {
                w += (size_t)snprintf(out + w, sizeof out - w, "%s%zu", w ? "," : "", j - 1);
                break;
            }
        }
    }
    recs_free(&o);
    return out;
}

static void test_filter(void)
{
    swarm_param_value pv[7];
    recs in;
    swarm_call c;
    int rc;
    recs_init(&in);
    recs_adds(&in, "hello world");                   /* 0: 11 chars, 2 words, alpha 10/11 */
    recs_adds(&in, "hi");                            /* 1: 2 chars, 1 word */
    /* 2: 10 chars (é t é, space, em space, space, c a f é), 2 words, alpha 7/10 */
    recs_adds(&in, "\xc3\xa9t\xc3\xa9 \xe2\x80\x83 caf\xc3\xa9");
    recs_adds(&in, "123 456 789");                   /* 3: alpha 0 */
    recs_adds(&in, "a\nb\r\na\n  \na\nc");           /* 4: counted lines a b a a c: 2 repeats of 5 = 0.4 */
    recs_adds(&in, "");                              /* 5: nothing */

#define KEPT(want, what)                                                                                               \
    do {                                                                                                               \
        const char *k = kept(pv, &in, &c, &rc);                                                                        \
        ok(rc == SWARM_OK && !strcmp(k, want), "filter: " what " (kept %s)", k);                                      \
        call_free(&c);                                                                                                 \
    } while (0)
    fparams(pv, "", 0, 0, 0, 0, 0, 1);
    KEPT("0,1,2,3,4,5", "the defaults keep everything");
    fparams(pv, "", 3, 0, 0, 0, 0, 1);
    KEPT("0,2,3,4", "min_chars 3 drops shorter texts");
    fparams(pv, "", 0, 10, 0, 0, 0, 1);
    KEPT("1,2,5", "max_chars 10 counts code points, not bytes");
    fparams(pv, "", 0, 0, 2, 0, 0, 1);
    KEPT("0,2,3,4", "min_words 2 (a Unicode em space separates words)");
    fparams(pv, "", 0, 0, 0, 2, 0, 1);
    KEPT("0,1,2,5", "max_words 2");
    fparams(pv, "", 0, 0, 0, 0, 0.5, 1);
    KEPT("0,1,2", "min_alpha 0.5 drops digits, mostly-space texts and empty texts");
    fparams(pv, "", 0, 0, 0, 0, 0, 0.4);
    KEPT("0,1,2,3,4,5", "max_dup_lines 0.4 keeps a text with exactly 0.4 repeated lines");
    fparams(pv, "", 0, 0, 0, 0, 0, 0.39);
    KEPT("0,1,2,3,5", "max_dup_lines 0.39 drops it (CRLF and blank lines handled)");
    fparams(pv, "", 3, 0, 2, 0, 0.5, 0.39);
    KEPT("0,2", "thresholds together");
    {
        recs o;
        fparams(pv, "", 3, 0, 0, 0, 0, 1);
        rc = op_call(&dt_filter_op, pv, &in, &o, &c);
        ok(rc == SWARM_OK && o.n == 4 && o.bytes.len == 11 + 15 + 11 + 13,
            "filter: run lowers the count, offsets end at the kept bytes");
        call_free(&c);
        recs_free(&o);
    }
    recs_add(&in, "bad\xc0\xaf", 5);
    fparams(pv, "", 0, 0, 0, 0, 0, 1);
    kept(pv, &in, &c, &rc);
    ok(bad(rc, &c, "record 6: not valid UTF-8"), "filter: invalid UTF-8 refused naming the record");
    call_free(&c);
    fparams(pv, "", -1, 0, 0, 0, 0, 1);
    kept(pv, &in, &c, &rc);
    ok(bad(rc, &c, "min_chars is negative"), "filter: a negative threshold refused");
    call_free(&c);
    fparams(pv, "", 0, 0, 0, 0, 1.5, 1);
    kept(pv, &in, &c, &rc);
    ok(bad(rc, &c, "min_alpha 1.5 is not in [0, 1]"), "filter: a fraction over 1 refused");
    call_free(&c);
    recs_free(&in);

    recs_init(&in);
    recs_adds(&in, "{\"id\":1,\"text\":\"hello world\"}");
    recs_adds(&in, "{\"id\":2,\"text\":\"hi\"}");
    recs_adds(&in, "{\"text\":\"caf\\u00e9s\"}");
    fparams(pv, "text", 3, 0, 0, 0, 0, 1);
    KEPT("0,2", "field=text filters on the decoded string, keeps whole objects");
    fparams(pv, "text", 0, 5, 0, 0, 0, 1);
    KEPT("1,2", "field=text: \\u00e9 is one character");
    recs_adds(&in, "{\"txt\":\"x\"}");
    kept(pv, &in, &c, &rc);
    ok(bad(rc, &c, "record 3: not a JSON object with a string \"text\""), "filter field=text: a missing key refused");
    call_free(&c);
    recs_free(&in);
    recs_init(&in);
    recs_adds(&in, "plain text");
    kept(pv, &in, &c, &rc);
    ok(bad(rc, &c, "record 0: "), "filter field=text: a record that is not JSON refused");
    call_free(&c);
    recs_free(&in);
#undef KEPT
}

/* ---- Mutated files ----------------------------------------------------------------------------- */

/* Reads 300 mutations of a sound file (cut short, bytes flipped, bytes set to 0x00 or 0xff): each must
 * read or be refused with BAD_INPUT and a message, never anything else (and never a crash: ASan). */
static int survives(const swarm_records_format *f, const swarm_param_value *pv, const dt_buf *file)
{
    uint64_t rng = 0x5eed;
    uint8_t *m = malloc(file->len);
    int pass = 1;
    for (int k = 0; k < 300; k++) {
        size_t len = file->len;
        swarm_call c;
        int rc;
        memcpy(m, file->p, len);
        if (k % 3 == 0) {
            len = (size_t)(rng_next(&rng) % len);
        } else {
            for (int j = 0; j < 1 + k % 4; j++) {
                size_t at = (size_t)(rng_next(&rng) % len);
                m[at] = k % 3 == 1 ? (uint8_t)(m[at] ^ (1u << (rng_next(&rng) % 8))) : (k & 4 ? 0xff : 0);
            }
        }
        rc = fmt_read(f, pv, m, len, &c);
        if (rc != SWARM_OK && !(rc == SWARM_E_BAD_INPUT && c.code == rc && c.err[0])) {
            printf("#   mutation %d: rc %d, error \"%s\"\n", k, rc, c.err);
            pass = 0;
        }
        call_free(&c);
    }
    free(m);
    return pass;
}

static void test_mutations(void)
{
    swarm_param_value whole[1] = {{.s = ""}}, text[1] = {{.s = "text"}}, gpt2[2] = {{.i = 0}, {.i = 50256}},
                      nano[1] = {{.i = 50256}};
    static const uint32_t d1[] = {1, 50256, 3, 4, 5}, d2[] = {6};
    static const tent t[] = {{"d/", 'd', NULL}, {"d/a.txt", 'f', "hello"}, {"d/a.json", 'f', "{}"},
                             {"d/b.cls", 'f', "1"}};
    const char *jl = "{\"text\":\"caf\\u00e9\",\"id\":1}\r\n\n{\"text\":\"b\\n\",\"x\":[1,{\"y\":null}]}\n";
    dt_buf file = {0};
    recs src;
    swarm_call c;

    dt_buf_put(&file, jl, strlen(jl));
    ok(survives(&dt_jsonl_format, whole, &file) && survives(&dt_jsonl_format, text, &file),
       "jsonl read: 600 mutated files read or are refused with BAD_INPUT");
    mk_tar(&file, t, 4, TAR_PAX);
    ok(survives(&dt_wds_format, NULL, &file), "webdataset read: 300 mutated tars read or are refused with BAD_INPUT");
    recs_init(&src);
    ids_add(&src, d1, 5);
    ids_add(&src, d2, 1);
    fmt_write(&dt_llmc_format, gpt2, &src, &c);
    ok(survives(&dt_llmc_format, gpt2, &c.out), "llmc read: 300 mutated shards read or are refused with BAD_INPUT");
    call_free(&c);
    fmt_write(&dt_nanogpt_format, nano, &src, &c);
    ok(survives(&dt_nanogpt_format, nano, &c.out), "nanogpt read: 300 mutated files read or are refused with BAD_INPUT");
    call_free(&c);
    recs_free(&src);
    dt_buf_free(&file);
}

/* ---- The descriptor ---------------------------------------------------------------------------- */

static void test_descriptor(void)
{
    const swarm_plugin *p = swarm_plugin_entry();
    int docs = 1;
    ok(p->abi_version == SWARM_PLUGIN_ABI_VERSION && !strcmp(p->id, "org.swarm.data") && !strcmp(p->version, "1.0.0") &&
           p->n_ops == 2 && p->n_formats == 0 && !p->formats && p->flags == 0 && p->n_records_formats == 4,
       "descriptor: org.swarm.data 1.0.0, two ops, four records formats, no tensor formats");
    ok(!strcmp(p->records_formats[0]->name, "jsonl") && !strcmp(p->records_formats[1]->name, "webdataset") &&
           !strcmp(p->records_formats[2]->name, "llmc") && !strcmp(p->records_formats[3]->name, "nanogpt") &&
           !strcmp(p->records_formats[1]->extension, "tar") && !strcmp(p->records_formats[2]->extension, "bin"),
       "descriptor: the formats' names and extensions");
    for (size_t i = 0; i < p->n_records_formats; i++)
        for (size_t k = 0; k < p->records_formats[i]->n_params; k++)
            docs &= p->records_formats[i]->params[k].doc && p->records_formats[i]->params[k].doc[0];
    for (size_t i = 0; i < p->n_ops; i++)
        for (size_t k = 0; k < p->ops[i]->n_params; k++)
            docs &= p->ops[i]->params[k].doc && p->ops[i]->params[k].doc[0];
    ok(docs, "descriptor: every param has a doc string");
}

int main(void)
{
    test_sample();
    test_jsonl();
    test_wds_read();
    test_wds_gnu_tar();
    test_wds_write();
    test_llmc();
    test_nanogpt();
    test_shuffle();
    test_filter();
    test_mutations();
    test_descriptor();
    return tap_done();
}
