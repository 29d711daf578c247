/* compress.c — records files' compression (see compress.h), through libarchive's raw format and its
 * filters: libarchive finds the compression by magic when reading, and compresses when writing. */
#include "compress.h"
#include "error.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
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

sw_compress sw_compress_of_name(const char *name)
{
    size_t n = strlen(name);
    if (n > 3 && !strcmp(name + n - 3, ".gz"))
        return SW_COMPRESS_GZIP;
    if (n > 4 && !strcmp(name + n - 4, ".zst"))
        return SW_COMPRESS_ZSTD;
    return SW_COMPRESS_NONE;
}

/* ---- Reading ------------------------------------------------------------------------------------------- */

struct sw_unpack {
    struct archive *a; /* NULL: the bytes are not compressed and are served as they are */
    const uint8_t *p;
    size_t n, at;
};

/* Whether the bytes start with the magic of a compressor libarchive undoes. */
static int sw_compressed(const uint8_t *p, size_t n)
{
    static const struct {
        const char *magic;
        size_t len;
    } m[] = {{"\x1f\x8b", 2}, {"\x28\xb5\x2f\xfd", 4}, {"\xfd" "7zXZ\0", 6}, {"BZh", 3}};
    for (size_t i = 0; i < sizeof m / sizeof *m; i++)
        if (n >= m[i].len && !memcmp(p, m[i].magic, m[i].len))
            return 1;
    return 0;
}

int sw_unpack_open(sw_unpack **out, const uint8_t *p, size_t n)
{
    sw_unpack *u = sw_calloc(1, sizeof *u);
    *u = (sw_unpack){NULL, p, n, 0};
    if (sw_compressed(p, n)) {
        struct archive_entry *e;
        u->a = archive_read_new();
        if (!u->a || archive_read_support_filter_all(u->a) != ARCHIVE_OK ||
            archive_read_support_format_raw(u->a) != ARCHIVE_OK ||
            archive_read_open_memory(u->a, p, n) != ARCHIVE_OK || archive_read_next_header(u->a, &e) != ARCHIVE_OK) {
            int r = sw_error(SW_EINVALID, "cannot decompress: %s", u->a ? archive_error_string(u->a) : "out of memory");
            sw_unpack_free(u);
            return r;
        }
    }
    *out = u;
    return 0;
}

int64_t sw_unpack_read(sw_unpack *u, void *buf, size_t cap)
{
    if (!u->a) {
        size_t k = u->n - u->at < cap ? u->n - u->at : cap;
        memcpy(buf, u->p + u->at, k);
        u->at += k;
        return (int64_t)k;
    }
    la_ssize_t got = archive_read_data(u->a, buf, cap);
    if (got < 0)
        return sw_error(SW_EINVALID, "cannot decompress: %s", archive_error_string(u->a));
    return got;
}

void sw_unpack_free(sw_unpack *u)
{
    if (!u)
        return;
    if (u->a)
        archive_read_free(u->a);
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
    return pk->failed ? SW_ERROR : sw_error(SW_ERROR, "cannot compress: %s", archive_error_string(pk->a));
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
