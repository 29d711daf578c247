/* archive_io.c — import and export through libarchive (see archive_io.h). */
#include "bundle/archive_io.h"
#include "base/error.h"
#include "bundle/names.h"
#include "base/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    struct archive *a;
    const char *path, *member;
    sw_progress_fn prog;
    void *pctx;
    int64_t consumed; /* compressed bytes of the archive read so far, for progress */
    uint64_t unpacked, limit; /* member bytes read so far, and their cap */
    int limit_given;          /* the cap came from --unpack-max */
} sw_areader;

uint64_t sw_archive_unpack_limit(uint64_t archive_bytes)
{
    uint64_t by_ratio = archive_bytes > SW_UNPACK_TOTAL / SW_UNPACK_RATIO ? SW_UNPACK_TOTAL
                                                                          : archive_bytes * SW_UNPACK_RATIO;
    uint64_t limit = by_ratio > SW_UNPACK_FLOOR ? by_ratio : SW_UNPACK_FLOOR;
    return limit < SW_UNPACK_TOTAL ? limit : SW_UNPACK_TOTAL;
}

/* The error for an archive that unpacks to more than its cap. */
static int sw_archive_too_big(const sw_areader *r)
{
    char cap[32];
    sw_fmt_bytes(cap, sizeof cap, r->limit);
    if (r->limit_given)
        return sw_error(SW_EINVALID, "%s unpacks to more than --unpack-max (%s)", r->path, cap);
    return sw_error(SW_EINVALID, "%s unpacks to more than %s (%ux its size, at least %llu MiB, at most %llu GiB): "
                                 "a compression bomb? If it is expected, raise the cap with --unpack-max SIZE",
                    r->path, cap, SW_UNPACK_RATIO, SW_UNPACK_FLOOR >> 20, SW_UNPACK_TOTAL >> 30);
}

static ssize_t sw_archive_read(void *ctx, void *buf, size_t len)
{
    sw_areader *r = ctx;
    la_ssize_t n = archive_read_data(r->a, buf, len);
    if (n < 0)
        return sw_error(SW_ERROR, "%s: member '%s': %s", r->path, r->member, archive_error_string(r->a));
    r->unpacked += (uint64_t)n;
    if (r->unpacked > r->limit)
        return sw_archive_too_big(r);
    if (r->prog) {
        int64_t now = archive_filter_bytes(r->a, -1);
        if (now > r->consumed)
            r->prog(r->pctx, (uint64_t)(now - r->consumed));
        r->consumed = now;
    }
    return n;
}

/* Strips leading "./" and trailing "/" from a member name (caller frees). */
static char *sw_member_path(const char *name)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    char *p = sw_strdup(name);
    size_t n = strlen(p);
    while (n && p[n - 1] == '/')
        p[--n] = 0;
    return p;
}

static const char *sw_entry_kind(struct archive_entry *e)
{
    if (archive_entry_hardlink(e))
        return "a hard link";
    switch (archive_entry_filetype(e)) {
    case AE_IFLNK: return "a symbolic link";
    case AE_IFCHR:
    case AE_IFBLK: return "a device file";
    case AE_IFIFO: return "a fifo";
    case AE_IFSOCK: return "a socket";
    default: return "not a regular file";
    }
}

int sw_archive_import(sw_manifest *m, sw_store *st, const char *path, uint64_t max_unpacked, uint64_t *added,
                      sw_progress_fn prog, void *pctx)
{
    struct stat s;
    if (stat(path, &s) < 0)
        return sw_error_errno(SW_EINVALID, "cannot read archive %s", path);
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_zip(a);
    if (archive_read_open_filename(a, path, 1 << 20) != ARCHIVE_OK) {
        int r = sw_error(SW_EINVALID, "%s: %s", path, archive_error_string(a));
        archive_read_free(a);
        return r;
    }
    sw_areader rd = {a, path, NULL, prog, pctx, 0, 0, max_unpacked, max_unpacked != 0};
    if (!max_unpacked)
        rd.limit = sw_archive_unpack_limit((uint64_t)s.st_size);
    struct archive_entry *e;
    int r = 0, rc;
    /* ARCHIVE_WARN: a name libarchive cannot convert to the C locale; it is read as UTF-8 below. */
    while (!r && ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN)) {
        const char *name = archive_entry_pathname_utf8(e) ? archive_entry_pathname_utf8(e) : archive_entry_pathname(e);
        char *member = sw_member_path(name ? name : "");
        rd.member = member;
        if (archive_entry_filetype(e) == AE_IFDIR || !member[0]) {
            free(member);
            continue;
        }
        if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
            r = sw_error(SW_EINVALID, "%s: member '%s' is %s; only regular files and directories can be imported",
                         path, member, sw_entry_kind(e));
        else if (sw_path_check(member))
            r = sw_error_wrap(SW_EINVALID, "%s: unsafe member name", path);
        if (!r) {
            sw_object obj;
            r = sw_store_put(&obj, st, sw_archive_read, &rd, prog, pctx);
            if (!r) {
                uint32_t mode = archive_entry_perm(e) & 0111 ? 0755 : 0644;
                sw_manifest_add_file(m, member, obj.size, mode, &obj.hash, obj.chunks, obj.nchunks);
                *added += obj.added ? obj.size : 0;
                sw_object_clear(&obj);
            }
        }
        free(member);
    }
    if (!r && rc != ARCHIVE_EOF)
        r = sw_error(SW_EINVALID, "%s: %s", path, archive_error_string(a));
    archive_read_free(a);
    return r;
}

static int sw_export_file(struct archive *a, sw_store *st, const sw_mfile *f, time_t mtime, sw_progress_fn prog,
                          void *pctx, char *buf, size_t buflen)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, f->path);
    archive_entry_set_size(e, (la_int64_t)f->size);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, f->mode);
    archive_entry_set_mtime(e, mtime, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    int r = 0;
    if (archive_write_header(a, e) != ARCHIVE_OK)
        r = sw_error(SW_ERROR, "export: %s: %s", f->path, archive_error_string(a));
    archive_entry_free(e);
    if (r)
        return r;
    char *obj = sw_store_object_path(st, &f->hash);
    int fd = open(obj, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r = sw_error_errno(SW_ERROR, "export: %s: object missing", f->path);
        free(obj);
        return r;
    }
    /* Hash what goes out: a damaged object must not be exported as if it were right. */
    sw_sha256 *sha = sw_sha256_new();
    struct stat s;
    if (fstat(fd, &s) < 0 || (uint64_t)s.st_size != f->size)
        r = sw_error(SW_ERROR, "export: %s: object has the wrong size; run 'swarm fsck'", f->path);
    uint64_t left = f->size;
    while (!r && left) {
        ssize_t n = sw_read_full(fd, buf, left < buflen ? (size_t)left : buflen);
        if (n <= 0)
            r = sw_error(SW_ERROR, "export: %s: object is shorter than its manifest says", f->path);
        else if (archive_write_data(a, buf, (size_t)n) != n)
            r = sw_error(SW_ERROR, "export: %s", archive_error_string(a));
        else {
            sw_sha256_update(sha, buf, (size_t)n);
            left -= (uint64_t)n;
            if (prog)
                prog(pctx, (uint64_t)n);
        }
    }
    sw_hash h;
    sw_sha256_final(sha, &h);
    sw_sha256_free(sha);
    if (!r && !sw_hash_eq(&h, &f->hash))
        r = sw_error(SW_ERROR, "export: %s: object bytes do not match the SHA-256; run 'swarm fsck'", f->path);
    close(fd);
    free(obj);
    return r;
}

int sw_archive_export(sw_store *st, const sw_manifest *m, const char *out, sw_progress_fn prog, void *pctx)
{
    struct tm tm = {0};
    const char *end = strptime(m->time, "%Y-%m-%dT%H:%M:%SZ", &tm);
    time_t mtime = end && !*end ? timegm(&tm) : 0;
    char *tmp = sw_sprintf("%s.tmp-swarm-%ld", out, (long)getpid());
    struct archive *a = archive_write_new();
    int r = 0;
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "zstd", "compression-level", "3") != ARCHIVE_OK ||
        archive_write_open_filename(a, tmp) != ARCHIVE_OK)
        r = sw_error(SW_ERROR, "export: %s: %s", out, archive_error_string(a));
    size_t buflen = 1 << 20;
    char *buf = sw_malloc(buflen);
    for (size_t i = 0; !r && i < m->nfiles; i++)
        r = sw_export_file(a, st, &m->files[i], mtime, prog, pctx, buf, buflen);
    free(buf);
    if (archive_write_close(a) != ARCHIVE_OK && !r)
        r = sw_error(SW_ERROR, "export: %s: %s", out, archive_error_string(a));
    archive_write_free(a);
    if (!r && rename(tmp, out) < 0)
        r = sw_error_errno(SW_ERROR, "export: cannot write %s", out);
    if (r)
        unlink(tmp);
    free(tmp);
    return r;
}
