/* wds_read.c — reading a WebDataset tar shard into sample records, with libarchive's tar reader (ustar,
 * pax and GNU tar, long names included) pulling the decompressed bytes from host->read_bytes.
 *
 * Members, in stored order: directories are skipped; symlinks, hard links, devices and FIFOs are refused
 * naming the member; a regular file goes through the naming rules of wds.c (unsafe names, "__*__"
 * metadata skipped, KEY.EXT). Consecutive members with the same key form one sample; when another key
 * comes the sample is reported (add_record). A key that comes back later, after another key, starts a new
 * sample: shards are streamed, so samples are never merged across the file. An extension repeated within
 * one sample, a member over 4 GiB or a sample record over 4 GiB is refused. An empty file is a shard of
 * no samples; a damaged or cut-short tar is refused with libarchive's reason. */
#include "wds.h"

#include "common/sample.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef DT_READ_CHUNK
#define DT_READ_CHUNK ((size_t)1 << 20)
#endif

typedef struct wds_reader {
    const swarm_host *host;
    swarm_call *call;
    uint8_t *chunk;
    int src_rc;          /* read_bytes' code, once it failed */
    dt_buf sample;       /* the open sample's record; its key is the first field's data */
    size_t key_len;
    int open;            /* whether a sample is open */
    uint64_t *slots;     /* the open sample's fields by extension: offset in sample + 1, 0 = free */
    size_t nslots, nfields;
    dt_buf ext;          /* the member's extension, lower-cased */
} wds_reader;

/* libarchive's read callback: the next chunk from the host. On failure keeps the host's code (its error
 * is set) and fails the archive. */
static la_ssize_t wds_pull(struct archive *a, void *data, const void **buf)
{
    wds_reader *r = data;
    int64_t got = r->host->read_bytes(r->call, r->chunk, DT_READ_CHUNK);
    if (got < 0 || (uint64_t)got > DT_READ_CHUNK) {
        r->src_rc = got < 0 ? (int)got : r->host->set_error(r->call, SWARM_E_INTERNAL, "read_bytes returned too much");
        archive_set_error(a, EIO, "read failed");
        return -1;
    }
    *buf = r->chunk;
    return (la_ssize_t)got;
}

static uint64_t wds_hash(const uint8_t *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

/* The name of the field stored at offset off of the open sample. */
static const uint8_t *wds_field_name(const wds_reader *r, uint64_t off, size_t *len)
{
    *len = dt_le32(r->sample.p + off);
    return r->sample.p + off + 4;
}

/* Puts a field offset into the table at the first free slot of its probe sequence. */
static void wds_slot_put(uint64_t *slots, size_t nslots, uint64_t h, uint64_t off)
{
    size_t i = (size_t)h & (nslots - 1);
    while (slots[i])
        i = (i + 1) & (nslots - 1);
    slots[i] = off + 1;
}

/* Doubles the extension table (at most half full), rehashing the fields it holds. -1 when out of memory. */
static int wds_slots_grow(wds_reader *r)
{
    size_t n = r->nslots ? 2 * r->nslots : 16;
    uint64_t *s = calloc(n, sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < r->nslots; i++)
        if (r->slots[i]) {
            size_t len;
            const uint8_t *name = wds_field_name(r, r->slots[i] - 1, &len);
            wds_slot_put(s, n, wds_hash(name, len), r->slots[i] - 1);
        }
    free(r->slots);
    r->slots = s;
    r->nslots = n;
    return 0;
}

/* Whether the open sample already has the extension in r->ext: 1 yes, 0 no (and it is recorded as the
 * field at offset off), -1 out of memory. */
static int wds_ext_seen(wds_reader *r, uint64_t off)
{
    uint64_t h = wds_hash(r->ext.p, r->ext.len);
    size_t i;
    if (2 * (r->nfields + 1) > r->nslots && wds_slots_grow(r))
        return -1;
    for (i = (size_t)h & (r->nslots - 1); r->slots[i]; i = (i + 1) & (r->nslots - 1)) {
        size_t len;
        const uint8_t *name = wds_field_name(r, r->slots[i] - 1, &len);
        if (len == r->ext.len && !memcmp(name, r->ext.p, len))
            return 1;
    }
    r->slots[i] = off + 1;
    r->nfields++;
    return 0;
}

/* Reports the open sample, if any. */
static int wds_flush(wds_reader *r)
{
    if (!r->open)
        return SWARM_OK;
    r->open = 0;
    return r->host->add_record(r->call, r->sample.p, r->sample.len);
}

/* Opens a sample with key path[0..key_len): its record starts with the __key__ field. */
static int wds_start(wds_reader *r, const char *path, size_t key_len)
{
    size_t n = SW_SAMPLE_FRAMING + SW_SAMPLE_KEY_LEN + key_len;
    r->sample.len = 0;
    if (dt_buf_reserve(&r->sample, n))
        return -1;
    sw_sample_put_header(r->sample.p, SW_SAMPLE_KEY, SW_SAMPLE_KEY_LEN, key_len);
    memcpy(r->sample.p + n - key_len, path, key_len);
    r->sample.len = n;
    r->key_len = key_len;
    r->open = 1;
    r->nfields = 0;
    if (r->nslots > 64) { /* a huge sample's table would cost every later sample a big memset */
        free(r->slots);
        r->slots = NULL;
        r->nslots = 0;
    } else if (r->slots) {
        memset(r->slots, 0, r->nslots * sizeof *r->slots);
    }
    return 0;
}

/* Appends the member's data to the open sample as field r->ext, reading it from the archive. */
static int wds_add_field(wds_reader *r, struct archive *a, const char *show, uint64_t size)
{
    const swarm_host *host = r->host;
    size_t off = r->sample.len, pos, hdr = SW_SAMPLE_FRAMING + r->ext.len;
    int seen;
    if ((uint64_t)r->sample.len + hdr + size > DT_WDS_MAX) /* each term is far below 2^63 */
        return host->set_error(r->call, SWARM_E_BAD_INPUT, "member %s: its sample is over %llu bytes", show,
                               (unsigned long long)DT_WDS_MAX);
    if (dt_buf_reserve(&r->sample, hdr + (size_t)size) || (seen = wds_ext_seen(r, off)) < 0)
        return host->set_error(r->call, SWARM_E_INTERNAL, "out of memory for member %s", show);
    if (seen)
        return host->set_error(r->call, SWARM_E_BAD_INPUT, "member %s: extension repeated within one sample", show);
    pos = off + sw_sample_put_header(r->sample.p + off, (const char *)r->ext.p, r->ext.len, size);
    for (uint64_t left = size; left;) {
        la_ssize_t got = archive_read_data(a, r->sample.p + pos, (size_t)left);
        if (got <= 0) {
            const char *why = got ? archive_error_string(a) : "data cut short";
            if (r->src_rc)
                return r->src_rc;
            return host->set_error(r->call, SWARM_E_BAD_INPUT, "member %s: %s", show, why ? why : "read error");
        }
        pos += (size_t)got;
        left -= (uint64_t)got;
    }
    r->sample.len = pos;
    return SWARM_OK;
}

/* Handles one tar member as the top of the file says. */
static int wds_member(wds_reader *r, struct archive *a, struct archive_entry *e)
{
    const swarm_host *host = r->host;
    const char *path = archive_entry_pathname_utf8(e), *dot;
    char show[128];
    size_t len, base, key_len;
    int64_t size;
    if (!path)
        path = archive_entry_pathname(e);
    if (!path)
        return host->set_error(r->call, SWARM_E_BAD_INPUT, "a member without a name");
    len = strlen(path);
    dt_wds_show(show, path, len);
    if (dt_wds_unsafe(path, len))
        return host->set_error(r->call, SWARM_E_BAD_INPUT, "member %s: unsafe member name", show);
    if (archive_entry_hardlink(e))
        return host->set_error(r->call, SWARM_E_BAD_INPUT, "member %s: a hard link, not a regular file", show);
    if (archive_entry_filetype(e) == AE_IFDIR)
        return SWARM_OK;
    if (archive_entry_filetype(e) != AE_IFREG)
        return host->set_error(r->call, SWARM_E_BAD_INPUT, "member %s: not a regular file (%s)", show,
                               archive_entry_filetype(e) == AE_IFLNK ? "a symlink" : "a device, FIFO or socket");
    base = dt_wds_base(path, len);
    if (dt_wds_is_meta(path + base, len - base))
        return SWARM_OK;
    if (!(dot = memchr(path + base, '.', len - base)))
        return host->set_error(r->call, SWARM_E_BAD_INPUT, "member %s: no extension (no dot in its basename)", show);
    key_len = (size_t)(dot - path);
    if (key_len == base || key_len + 1 == len)
        return host->set_error(r->call, SWARM_E_BAD_INPUT, "member %s: empty %s", show,
                               key_len == base ? "key (basename starts with a dot)" : "extension");
    r->ext.len = 0;
    if (dt_buf_put(&r->ext, dot + 1, len - key_len - 1))
        return host->set_error(r->call, SWARM_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < r->ext.len; i++)
        if (r->ext.p[i] >= 'A' && r->ext.p[i] <= 'Z')
            r->ext.p[i] = (uint8_t)(r->ext.p[i] - 'A' + 'a');
    if (r->ext.len == SW_SAMPLE_KEY_LEN && !memcmp(r->ext.p, SW_SAMPLE_KEY, SW_SAMPLE_KEY_LEN))
        return host->set_error(r->call, SWARM_E_BAD_INPUT, "member %s: extension __key__ is reserved", show);
    size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
    if (size < 0)
        return host->set_error(r->call, SWARM_E_BAD_INPUT, "member %s: no size", show);
    if ((uint64_t)size > DT_WDS_MAX)
        return host->set_error(r->call, SWARM_E_BAD_INPUT, "member %s: over %llu bytes", show,
                               (unsigned long long)DT_WDS_MAX);
    if (r->open && (key_len != r->key_len || memcmp(path, r->sample.p + SW_SAMPLE_FRAMING + SW_SAMPLE_KEY_LEN,
                                                    key_len))) {
        int rc = wds_flush(r);
        if (rc)
            return rc;
    }
    if (!r->open && wds_start(r, path, key_len))
        return host->set_error(r->call, SWARM_E_INTERNAL, "out of memory");
    return wds_add_field(r, a, show, (uint64_t)size);
}

/* Walks the archive's members, reporting each sample as it closes. */
static int wds_walk(wds_reader *r, struct archive *a)
{
    for (;;) {
        struct archive_entry *e;
        int st = archive_read_next_header(a, &e), rc;
        if (st == ARCHIVE_EOF)
            return wds_flush(r);
        if (st < ARCHIVE_WARN) {
            const char *why = archive_error_string(a);
            if (r->src_rc)
                return r->src_rc;
            return r->host->set_error(r->call, SWARM_E_BAD_INPUT, "not a sound tar: %s", why ? why : "read error");
        }
        if ((rc = wds_member(r, a, e)))
            return rc;
    }
}

/* Reads one shard as described at the top; fails with BAD_INPUT and the reason (naming the member where
 * there is one), INTERNAL when memory runs out, or the host's code when read_bytes or add_record fail. */
int dt_wds_read(const swarm_host *host, swarm_call *call, const swarm_param_value *params)
{
    wds_reader r;
    struct archive *a = archive_read_new();
    int rc;
    (void)params;
    memset(&r, 0, sizeof r);
    r.host = host;
    r.call = call;
    if (!a || !(r.chunk = malloc(DT_READ_CHUNK))) {
        archive_read_free(a);
        return host->set_error(call, SWARM_E_INTERNAL, "out of memory");
    }
    if (archive_read_support_format_tar(a) || archive_read_support_format_empty(a) ||
        archive_read_open(a, &r, NULL, wds_pull, NULL)) {
        const char *why = archive_error_string(a);
        rc = r.src_rc ? r.src_rc
                      : host->set_error(call, SWARM_E_BAD_INPUT, "not a sound tar: %s", why ? why : "open failed");
    } else {
        rc = wds_walk(&r, a);
    }
    archive_read_free(a);
    free(r.chunk);
    free(r.slots);
    dt_buf_free(&r.sample);
    dt_buf_free(&r.ext);
    return rc;
}
