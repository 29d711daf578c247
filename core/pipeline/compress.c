/* compress.c — records files' compression (see compress.h): zlib inflates gzip, libarchive's raw format
 * with one filter reads zstd, xz and bzip2 and writes gzip and zstd. */
#include "pipeline/compress.h"
#include "pipeline/records.h"
#include "base/error.h"
#include "base/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <zlib.h>
#include <stdlib.h>
#include <string.h>

int sw_compress_parse(sw_compress *out, const char *name)
{
    if (!strcmp(name, "none"))
        *out = SW_COMPRESS_NONE;
    else if (!strcmp(name, "gz"))
        *out = SW_COMPRESS_GZIP;
    else if (!strcmp(name, "zst"))
        *out = SW_COMPRESS_ZSTD;
    else
        return sw_error(SW_EINVALID, "unknown compression '%s' (none, gz or zst)", name);
    return 0;
}

const char *sw_compress_name(sw_compress c)
{
    return c == SW_COMPRESS_GZIP ? "gz" : c == SW_COMPRESS_ZSTD ? "zst" : "none";
}

/* Whether name ends in suffix, with something before it. */
static int sw_has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n > k && !strcmp(name + n - k, suffix);
}

sw_compress sw_compress_of_name(const char *name)
{
    return sw_has_suffix(name, ".gz") ? SW_COMPRESS_GZIP : sw_has_suffix(name, ".zst") ? SW_COMPRESS_ZSTD : SW_COMPRESS_NONE;
}

/* ---- Reading ------------------------------------------------------------------------------------------- */

/* Compressions read by file name. gzip goes through zlib, which checks each member's CRC-32 and length
 * (libarchive's raw reader does not); zstd, xz and bzip2 through libarchive, with only that one filter
 * registered, so that nothing inside is decompressed a second time and no external program ever runs. */
typedef enum { SW_UNPACK_RAW = 0, SW_UNPACK_GZIP, SW_UNPACK_ARCHIVE } sw_unpack_kind;

struct sw_unpack {
    sw_unpack_kind kind;
    struct archive *a;
    z_stream z;
    int end; /* gzip: the last member ended */
    const uint8_t *p;
    size_t n, at; /* at: the input fed to zlib so far, or served raw */
    const uint8_t *dropped; /* the input's pages before this are dropped (sw_drop_behind) */
};

/* The libarchive filters read by file name (gzip is zlib's). */
typedef struct {
    const char *suffix;
    int (*reg)(struct archive *);
} sw_unpack_filter;
static const sw_unpack_filter sw_unpack_filters[] = {{".zst", archive_read_support_filter_zstd},
                                                     {".xz", archive_read_support_filter_xz},
                                                     {".bz2", archive_read_support_filter_bzip2}};

/* The libarchive filter for a name's suffix, or NULL (gzip, or no compression). */
static const sw_unpack_filter *sw_unpack_filter_of(const char *name)
{
    for (size_t i = 0; i < sizeof sw_unpack_filters / sizeof *sw_unpack_filters; i++)
        if (sw_has_suffix(name, sw_unpack_filters[i].suffix))
            return &sw_unpack_filters[i];
    return NULL;
}

static const char *sw_archive_msg(struct archive *a)
{
    const char *m = a ? archive_error_string(a) : NULL;
    return m ? m : "unknown error";
}

int sw_unpack_open(sw_unpack **out, const uint8_t *p, size_t n, const char *name)
{
    sw_unpack *u = sw_calloc(1, sizeof *u);
    const sw_unpack_filter *f = sw_unpack_filter_of(name);
    u->p = p;
    u->n = n;
    *out = u;
    if (sw_compress_of_name(name) == SW_COMPRESS_GZIP) {
        u->kind = SW_UNPACK_GZIP;
        if (inflateInit2(&u->z, 16 + MAX_WBITS) != Z_OK)
            sw_oom(NULL);
        return 0;
    }
    if (!f)
        return 0;
    u->kind = SW_UNPACK_ARCHIVE;
    struct archive_entry *e;
    u->a = archive_read_new();
    int ok = u->a && f->reg(u->a) == ARCHIVE_OK && archive_read_support_format_raw(u->a) == ARCHIVE_OK &&
             archive_read_open_memory(u->a, p, n) == ARCHIVE_OK && archive_read_next_header(u->a, &e) == ARCHIVE_OK;
    if (ok && archive_filter_count(u->a) != 2)
        ok = 0, archive_set_error(u->a, EINVAL, "not %s data, or compressed twice", f->suffix);
    if (!ok) {
        int r = sw_error(SW_EINVALID, "cannot decompress: %s", sw_archive_msg(u->a));
        sw_unpack_free(u);
        *out = NULL;
        return r;
    }
    return 0;
}

/* Inflates gzip members, one after another, into buf. */
static int64_t sw_gunzip(sw_unpack *u, void *buf, size_t cap)
{
    u->z.next_out = buf;
    u->z.avail_out = cap > UINT_MAX ? UINT_MAX : (uInt)cap;
    uInt want = u->z.avail_out;
    while (u->z.avail_out == want && !u->end) {
        if (!u->z.avail_in && u->at < u->n) {
            size_t k = u->n - u->at < ((size_t)1 << 30) ? u->n - u->at : (size_t)1 << 30;
            u->z.next_in = (Bytef *)(uintptr_t)(u->p + u->at);
            u->z.avail_in = (uInt)k;
            u->at += k;
        }
        int rc = inflate(&u->z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            if (!u->z.avail_in && u->at == u->n)
                u->end = 1;
            else if (inflateReset(&u->z) != Z_OK)
                return sw_error(SW_EINVALID, "cannot decompress: a gzip member does not follow");
        } else if (rc == Z_BUF_ERROR && !u->z.avail_in && u->at == u->n) {
            return sw_error(SW_EINVALID, "cannot decompress: the gzip data is truncated");
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return sw_error(SW_EINVALID, "cannot decompress: gzip: %s", u->z.msg ? u->z.msg : "corrupt data");
        }
    }
    return (int64_t)(want - u->z.avail_out);
}

/* Reads the next decompressed bytes. */
static int64_t sw_unpack_next(sw_unpack *u, void *buf, size_t cap)
{
    if (u->kind == SW_UNPACK_GZIP)
        return sw_gunzip(u, buf, cap);
    if (u->kind == SW_UNPACK_RAW) {
        size_t k = u->n - u->at < cap ? u->n - u->at : cap;
        memcpy(buf, u->p + u->at, k);
        u->at += k;
        return (int64_t)k;
    }
    la_ssize_t got = archive_read_data(u->a, buf, cap);
    if (got < 0)
        return sw_error(SW_EINVALID, "cannot decompress: %s", sw_archive_msg(u->a));
    return got;
}

/* How much of the input the decompressor has consumed. */
static size_t sw_unpack_consumed(const sw_unpack *u)
{
    if (u->kind == SW_UNPACK_GZIP)
        return u->at - u->z.avail_in;
    if (u->kind == SW_UNPACK_RAW)
        return u->at;
    la_int64_t n = archive_filter_bytes(u->a, -1);
    return n > 0 && (uint64_t)n <= u->n ? (size_t)n : 0;
}

int64_t sw_unpack_read(sw_unpack *u, void *buf, size_t cap)
{
    int64_t got = sw_unpack_next(u, buf, cap);
    if (got > 0) {
        if (!u->dropped)
            u->dropped = u->p;
        sw_drop_behind(&u->dropped, u->p + sw_unpack_consumed(u)); /* a mapped input's pages, read once */
    }
    return got;
}

void sw_unpack_free(sw_unpack *u)
{
    if (!u)
        return;
    if (u->a)
        archive_read_free(u->a);
    if (u->kind == SW_UNPACK_GZIP)
        inflateEnd(&u->z);
    free(u);
}

/* ---- Writing ------------------------------------------------------------------------------------------- */

struct sw_pack {
    struct archive *a; /* NULL for SW_COMPRESS_NONE */
    sw_fwriter *w;
    int failed; /* the fwriter failed: its sw_error is the one to report */
};

static la_ssize_t sw_pack_out(struct archive *a, void *ctx, const void *buf, size_t len)
{
    sw_pack *pk = ctx;
    if (sw_fwriter_put(pk->w, buf, len)) {
        pk->failed = 1;
        archive_set_error(a, EIO, "%s", sw_error_last());
        return -1;
    }
    return (la_ssize_t)len;
}

/* libarchive's failure, or the writer's when it was the one that failed. */
static int sw_pack_error(sw_pack *pk)
{
    return pk->failed ? SW_ERROR : sw_error(SW_ERROR, "cannot compress: %s", sw_archive_msg(pk->a));
}

int sw_pack_open(sw_pack **out, sw_compress c, sw_fwriter *w)
{
    sw_pack *pk = sw_calloc(1, sizeof *pk);
    pk->w = w;
    *out = pk;
    if (c == SW_COMPRESS_NONE)
        return 0;
    struct archive_entry *e = archive_entry_new();
    pk->a = archive_write_new();
    if (!pk->a || !e)
        sw_oom(NULL);
    int ok = (c == SW_COMPRESS_GZIP ? archive_write_add_filter_gzip(pk->a) : archive_write_add_filter_zstd(pk->a)) ==
                 ARCHIVE_OK &&
             (c != SW_COMPRESS_GZIP || archive_write_set_filter_option(pk->a, "gzip", "timestamp", NULL) == ARCHIVE_OK) &&
             archive_write_set_format_raw(pk->a) == ARCHIVE_OK &&
             archive_write_set_bytes_per_block(pk->a, 0) == ARCHIVE_OK &&
             archive_write_open2(pk->a, pk, NULL, sw_pack_out, NULL, NULL) == ARCHIVE_OK;
    archive_entry_set_pathname(e, "data");
    archive_entry_set_filetype(e, AE_IFREG);
    ok = ok && archive_write_header(pk->a, e) == ARCHIVE_OK;
    archive_entry_free(e);
    if (!ok) {
        int r = sw_pack_error(pk);
        sw_pack_abort(pk);
        *out = NULL;
        return r;
    }
    return 0;
}

int sw_pack_put(sw_pack *pk, const void *data, size_t len)
{
    if (!pk->a)
        return sw_fwriter_put(pk->w, data, len);
    for (size_t at = 0; at < len;) {
        la_ssize_t k = archive_write_data(pk->a, (const uint8_t *)data + at, len - at);
        if (k <= 0)
            return sw_pack_error(pk);
        at += (size_t)k;
    }
    return 0;
}

int sw_pack_finish(sw_pack *pk)
{
    int r = 0;
    if (pk->a && (archive_write_finish_entry(pk->a) != ARCHIVE_OK || archive_write_close(pk->a) != ARCHIVE_OK))
        r = sw_pack_error(pk);
    sw_pack_abort(pk);
    return r;
}

void sw_pack_abort(sw_pack *pk)
{
    if (!pk)
        return;
    if (pk->a)
        archive_write_free(pk->a);
    free(pk);
}
