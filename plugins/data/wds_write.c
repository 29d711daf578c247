/* wds_write.c — writing sample records as a reproducible WebDataset tar shard, with libarchive's
 * restricted pax writer (plain ustar headers, a pax extended header only where ustar cannot hold a name)
 * emitting through host->emit.
 *
 * Each sample becomes its fields' members, KEY.EXT, in order of extension (bytewise), whatever their order
 * in the record: regular files, mode 0644, mtime 0, uid/gid 0, no user or group names. The tar ends with
 * its two zero records, padded to 512 bytes, not to a 10 KiB block. The same records give the same bytes.
 * Names are handed to libarchive as raw bytes: an ASCII name fits a ustar header (or, over its 100 + 155
 * bytes, gets a pax "path"); a name with other bytes gets a pax header with hdrcharset=BINARY and the bytes
 * as they are (libarchive's warning about it is expected). That holds in the C locale, which swarm never
 * changes; a process that called setlocale could see libarchive convert such names differently.
 * A record is refused (BAD_INPUT naming it) when it is not a well-formed sample record, when its key is
 * empty, absolute, holds a ".." component, a NUL byte or a dot in its basename, or ends with '/'; when an
 * extension is empty, repeated, not lower-case, holds '/' or NUL, is "__key__", or makes a "__*__"
 * basename (which reads back as metadata); or when a field is over 4 GiB. So every shard it writes reads
 * back, with wds_read.c, as the same records, up to the order of fields. */
#include "wds.h"

#include "common/sample.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct wds_writer {
    const swarm_host *host;
    swarm_call *call;
    struct archive *a;
    struct archive_entry *e;
    int emit_rc;       /* emit's code, once it failed */
    dt_buf fields;     /* the record's fields, sw_sample_field */
    dt_buf name;       /* KEY.EXT, NUL-terminated */
    unsigned long long rec;
} wds_writer;

/* libarchive's write callback: hands the bytes to the host, keeping its code when emit fails. */
static la_ssize_t wds_push(struct archive *a, void *data, const void *buf, size_t len)
{
    wds_writer *w = data;
    if (!w->emit_rc)
        w->emit_rc = w->host->emit(w->call, buf, len);
    if (w->emit_rc) {
        archive_set_error(a, EIO, "emit failed");
        return -1;
    }
    return (la_ssize_t)len;
}

/* Orders fields by name, bytewise, a prefix first. */
static int wds_field_cmp(const void *x, const void *y)
{
    const sw_sample_field *f = x, *g = y;
    size_t n = f->name_len < g->name_len ? f->name_len : g->name_len;
    int c = n ? memcmp(f->name, g->name, n) : 0;
    return c ? c : (f->name_len > g->name_len) - (f->name_len < g->name_len);
}

/* Why a key cannot name members, or NULL when it can. */
static const char *wds_key_problem(const uint8_t *k, size_t n)
{
    size_t base = dt_wds_base((const char *)k, n);
    if (!n)
        return "empty key";
    if (memchr(k, 0, n))
        return "a NUL byte in the key";
    if (dt_wds_unsafe((const char *)k, n))
        return "unsafe key (absolute, or a \"..\" component)";
    if (base == n)
        return "the key's basename is empty";
    if (memchr(k + base, '.', n - base))
        return "a dot in the key's basename";
    return NULL;
}

/* Why an extension cannot name a member of the key whose basename is kb[0..kn), or NULL when it can. */
static const char *wds_ext_problem(const uint8_t *x, size_t n, const uint8_t *kb, size_t kn)
{
    if (!n)
        return "an empty extension";
    if (memchr(x, 0, n) || memchr(x, '/', n))
        return "an extension holding '/' or a NUL byte";
    for (size_t i = 0; i < n; i++)
        if (x[i] >= 'A' && x[i] <= 'Z')
            return "an extension that is not lower-case";
    if (n == SW_SAMPLE_KEY_LEN && !memcmp(x, SW_SAMPLE_KEY, n))
        return "a second __key__ field";
    if (kn >= 2 && !memcmp(kb, "__", 2) && n >= 2 && !memcmp(x + n - 2, "__", 2))
        return "a member name of the form __*__ (it would read back as metadata)";
    return NULL;
}

/* Splits record d[0..n) into w->fields, key first, the others sorted by extension, checking them all. */
static int wds_fields(wds_writer *w, const uint8_t *d, size_t n)
{
    const swarm_host *host = w->host;
    sw_sample_iter it;
    sw_sample_field f, *fs;
    size_t nf, kb;
    const char *why = NULL;
    int st;
    w->fields.len = 0;
    sw_sample_iter_init(&it, d, n);
    while ((st = sw_sample_next(&it, &f)) > 0)
        if (dt_buf_put(&w->fields, &f, sizeof f))
            return host->set_error(w->call, SWARM_E_INTERNAL, "out of memory");
    if (st < 0)
        return host->set_error(w->call, SWARM_E_BAD_INPUT, "record %llu: not a sample record: %s", w->rec, it.error);
    fs = (sw_sample_field *)(void *)w->fields.p;
    nf = w->fields.len / sizeof f;
    if ((why = wds_key_problem(fs[0].data, fs[0].data_len)))
        return host->set_error(w->call, SWARM_E_BAD_INPUT, "record %llu: %s", w->rec, why);
    kb = dt_wds_base((const char *)fs[0].data, fs[0].data_len);
    if (nf > 2)
        qsort(fs + 1, nf - 1, sizeof f, wds_field_cmp);
    for (size_t i = 1; i < nf && !why; i++) {
        why = wds_ext_problem(fs[i].name, fs[i].name_len, fs[0].data + kb, fs[0].data_len - kb);
        if (!why && i > 1 && !wds_field_cmp(&fs[i - 1], &fs[i]))
            why = "a repeated extension";
        if (!why && (uint64_t)fs[i].data_len > DT_WDS_MAX)
            why = "a field over 4 GiB";
    }
    return why ? host->set_error(w->call, SWARM_E_BAD_INPUT, "record %llu: %s", w->rec, why) : SWARM_OK;
}

/* The archive's error, or emit's code when that is what failed. */
static int wds_fail(wds_writer *w, const char *what)
{
    const char *why = archive_error_string(w->a);
    return w->emit_rc ? w->emit_rc
                      : w->host->set_error(w->call, SWARM_E_INTERNAL, "record %llu: %s: %s", w->rec, what,
                                           why ? why : "libarchive failed");
}

/* Writes one member, KEY.EXT, holding the field's data. */
static int wds_put_member(wds_writer *w, const sw_sample_field *key, const sw_sample_field *f)
{
    const uint8_t *p = f->data;
    size_t left = f->data_len;
    w->name.len = 0;
    if (dt_buf_reserve(&w->name, key->data_len + f->name_len + 2))
        return w->host->set_error(w->call, SWARM_E_INTERNAL, "out of memory");
    dt_buf_put(&w->name, key->data, key->data_len);
    dt_buf_put(&w->name, ".", 1);
    dt_buf_put(&w->name, f->name, f->name_len);
    dt_buf_put(&w->name, "", 1);
    archive_entry_clear(w->e);
    archive_entry_copy_pathname(w->e, (const char *)w->name.p); /* raw bytes: no charset conversion */
    archive_entry_set_filetype(w->e, AE_IFREG);
    archive_entry_set_perm(w->e, 0644);
    archive_entry_set_size(w->e, (la_int64_t)f->data_len);
    archive_entry_set_mtime(w->e, 0, 0);
    archive_entry_set_uid(w->e, 0);
    archive_entry_set_gid(w->e, 0);
    if (archive_write_header(w->a, w->e) < ARCHIVE_WARN)
        return wds_fail(w, "writing a tar header");
    while (left) {
        la_ssize_t k = archive_write_data(w->a, p, left > ((size_t)1 << 30) ? (size_t)1 << 30 : left);
        if (k <= 0)
            return wds_fail(w, "writing member data");
        p += k;
        left -= (size_t)k;
    }
    return SWARM_OK;
}

/* Takes every record and writes its members. */
static int wds_records(wds_writer *w)
{
    for (w->rec = 0;; w->rec++) {
        const uint8_t *d;
        size_t n, nf;
        sw_sample_field *fs;
        int more = w->host->next_record(w->call, &d, &n), rc;
        if (more <= 0)
            return more;
        if ((rc = wds_fields(w, d, n)))
            return rc;
        fs = (sw_sample_field *)(void *)w->fields.p;
        nf = w->fields.len / sizeof *fs;
        for (size_t i = 1; i < nf; i++)
            if ((rc = wds_put_member(w, &fs[0], &fs[i])))
                return rc;
    }
}

/* Writes one shard as described at the top; fails with BAD_INPUT naming the first record it cannot write,
 * INTERNAL when libarchive or memory fails, or the host's code when emit fails. */
int dt_wds_write(const swarm_host *host, swarm_call *call, const swarm_param_value *params)
{
    wds_writer w;
    int rc;
    (void)params;
    memset(&w, 0, sizeof w);
    w.host = host;
    w.call = call;
    w.a = archive_write_new();
    w.e = archive_entry_new();
    if (!w.a || !w.e) {
        rc = host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    } else if (archive_write_set_format_pax_restricted(w.a) || archive_write_set_bytes_in_last_block(w.a, 1) ||
               archive_write_open(w.a, &w, NULL, wds_push, NULL)) {
        rc = wds_fail(&w, "opening the tar writer");
    } else {
        rc = wds_records(&w);
        if (!rc && archive_write_close(w.a))
            rc = wds_fail(&w, "closing the tar");
    }
    if (rc && !w.emit_rc)
        w.emit_rc = rc; /* archive_write_free closes the archive: emit nothing more after a failure */
    if (w.e)
        archive_entry_free(w.e);
    if (w.a)
        archive_write_free(w.a);
    dt_buf_free(&w.fields);
    dt_buf_free(&w.name);
    return rc;
}
