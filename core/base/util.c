/* util.c — allocation, string lists, paths and durable file operations (see util.h). */
#include "base/util.h"
#include "base/error.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void *sw_oom(void *p)
{
    if (!p) {
        fputs("swarm: error: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

void *sw_malloc(size_t n) { return sw_oom(malloc(n ? n : 1)); }
void *sw_calloc(size_t n, size_t size) { return sw_oom(calloc(n ? n : 1, size ? size : 1)); }
void *sw_realloc(void *p, size_t n) { return sw_oom(realloc(p, n ? n : 1)); }
char *sw_strdup(const char *s) { return s ? sw_oom(strdup(s)) : NULL; }

char *sw_sprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return sw_oom(n < 0 ? NULL : s);
}

void sw_grow(void *arr, size_t *cap, size_t need, size_t elem)
{
    void **p = arr;
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 8;
    while (c < need)
        c *= 2;
    *p = sw_realloc(*p, c * elem);
    *cap = c;
}

void sw_strlist_push(sw_strlist *l, const char *s)
{
    sw_grow(&l->v, &l->cap, l->n + 1, sizeof *l->v);
    l->v[l->n++] = sw_strdup(s);
}

void sw_strlist_free(sw_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static int sw_strcmp_p(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void sw_strlist_sort(sw_strlist *l)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, sw_strcmp_p);
}

int sw_natcmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0')
                a++;
            while (*b == '0')
                b++;
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la]))
                la++;
            while (isdigit((unsigned char)b[lb]))
                lb++;
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c)
                return c;
            a += la;
            b += lb;
        } else {
            if (*a != *b)
                return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++;
            b++;
        }
    }
    return *a ? 1 : *b ? -1 : 0;
}

int sw_mkdir_p(const char *dir)
{
    char *p = sw_strdup(dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            int r = sw_error_errno(SW_ERROR, "cannot create %s", p);
            free(p);
            return r;
        }
        *s = '/';
    }
    int r = 0;
    struct stat st;
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        r = sw_error_errno(SW_ERROR, "cannot create %s", p);
    else if (stat(p, &st) == 0 && !S_ISDIR(st.st_mode))
        r = sw_error(SW_ERROR, "cannot create %s: a file is in the way", p);
    free(p);
    return r;
}

int sw_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return sw_error_errno(SW_ERROR, "cannot open %s", dir);
    int r = fsync(fd) < 0 ? sw_error_errno(SW_ERROR, "cannot sync %s", dir) : 0;
    close(fd);
    return r;
}

int sw_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The loop of sw_read_full (offset < 0: read at the file position) and sw_pread_full. */
static ssize_t sw_read_at(int fd, void *buf, size_t len, int64_t offset)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = offset < 0 ? read(fd, (char *)buf + got, len - got)
                               : pread(fd, (char *)buf + got, len - got, (off_t)(offset + (int64_t)got));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

ssize_t sw_read_full(int fd, void *buf, size_t len)
{
    return sw_read_at(fd, buf, len, -1);
}

ssize_t sw_pread_full(int fd, void *buf, size_t len, uint64_t offset)
{
    return sw_read_at(fd, buf, len, (int64_t)offset);
}

int sw_read_file(char **out, size_t *len, const char *path, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sw_error_errno(errno == ENOENT ? SW_ENOTFOUND : SW_ERROR, "cannot open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        close(fd);
        return sw_error(SW_EINVALID, "%s: not a regular file, or larger than %zu bytes", path, max);
    }
    char *buf = sw_malloc((size_t)st.st_size + 1);
    ssize_t n = sw_read_full(fd, buf, (size_t)st.st_size);
    close(fd);
    if (n < 0) {
        free(buf);
        return sw_error_errno(SW_ERROR, "cannot read %s", path);
    }
    buf[n] = 0;
    *out = buf;
    if (len)
        *len = (size_t)n;
    return 0;
}

char *sw_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return sw_strdup(".");
    if (slash == path)
        return sw_strdup("/");
    return sw_oom(strndup(path, (size_t)(slash - path)));
}

/* The second half of an atomic write: fd (open on tmp, written) is given mode and fsync'd, closed,
 * and tmp renamed to path, whose directory is then fsync'd. On failure tmp is removed. Frees tmp. */
static int sw_commit_atomic(int fd, char *tmp, const char *path, mode_t mode, int r)
{
    if (!r && (fchmod(fd, mode) < 0 || fsync(fd) < 0))
        r = sw_error_errno(SW_ERROR, "cannot write %s", path);
    close(fd);
    if (!r && rename(tmp, path) < 0)
        r = sw_error_errno(SW_ERROR, "cannot rename to %s", path);
    if (r)
        unlink(tmp);
    free(tmp);
    if (!r) {
        char *dir = sw_dirname(path);
        r = sw_fsync_dir(dir);
        free(dir);
    }
    return r;
}

int sw_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char *tmp = sw_sprintf("%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int r = sw_error_errno(SW_ERROR, "cannot create a file beside %s", path);
        free(tmp);
        return r;
    }
    int r = sw_write_all(fd, data, len) < 0 ? sw_error_errno(SW_ERROR, "cannot write %s", path) : 0;
    return sw_commit_atomic(fd, tmp, path, mode, r);
}

/* The temp file beside path that copies into path go through: PATH.tmp.PID (caller frees). */
static char *sw_copy_tmp(const char *path)
{
    char *tmp = sw_sprintf("%s.tmp.%ld", path, (long)getpid());
    unlink(tmp); /* left by a killed run of this same pid: never another's live file */
    return tmp;
}

void sw_sweep_beside(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = sw_dirname(path);
    const char *base = slash ? slash + 1 : path;
    size_t n = strlen(base);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strncmp(e->d_name, base, n) || strncmp(e->d_name + n, ".tmp.", 5))
            continue;
        const char *pid = e->d_name + n + 5, *p = pid;
        while (*p >= '0' && *p <= '9')
            p++;
        long v = p > pid && !*p && p - pid < 10 ? strtol(pid, NULL, 10) : 0;
        if (v > 0 && kill((pid_t)v, 0) < 0 && errno == ESRCH)
            unlinkat(dirfd(d), e->d_name, 0);
    }
    if (d)
        closedir(d);
    free(dir);
}

int sw_create_beside(char **tmp, int *fd, const char *path, mode_t mode)
{
    *tmp = sw_copy_tmp(path);
    *fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (*fd < 0 || fchmod(*fd, mode) < 0) {
        int r = sw_error_errno(SW_ERROR, "cannot create %s", *tmp);
        if (*fd >= 0) {
            close(*fd);
            unlink(*tmp);
        }
        free(*tmp);
        *tmp = NULL;
        *fd = -1;
        return r;
    }
    return 0;
}

int sw_copy_file_replace(const char *src, const char *path, mode_t mode)
{
    char *tmp = sw_copy_tmp(path);
    int r = sw_copy_file(src, tmp, mode, NULL, NULL);
    if (!r && rename(tmp, path) < 0) {
        r = sw_error_errno(SW_ERROR, "cannot rename to %s", path);
        unlink(tmp);
    }
    free(tmp);
    return r;
}

int sw_copy_file_atomic(const char *src, const char *path, mode_t mode)
{
    char *tmp = sw_copy_tmp(path);
    int r = sw_copy_file(src, tmp, mode, NULL, NULL);
    if (r) {
        free(tmp);
        return r;
    }
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r = sw_error_errno(SW_ERROR, "cannot write %s", path);
        unlink(tmp);
        free(tmp);
        return r;
    }
    return sw_commit_atomic(fd, tmp, path, mode, 0);
}

int sw_copy_file(const char *src, const char *dst, mode_t mode, void (*progress)(void *, uint64_t), void *pctx)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return sw_error_errno(SW_ERROR, "cannot open %s", src);
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        int r = sw_error_errno(errno == EEXIST ? SW_EEXISTS : SW_ERROR, "cannot create %s", dst);
        close(in);
        return r;
    }
    int r = 0;
    int use_cfr = 1;
    char *buf = NULL;
    for (;;) {
        ssize_t n;
        if (use_cfr) {
            n = copy_file_range(in, NULL, out, NULL, 8 << 20, 0);
            if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
                use_cfr = 0;
                continue;
            }
        } else {
            if (!buf)
                buf = sw_malloc(1 << 20);
            n = read(in, buf, 1 << 20);
            if (n > 0 && sw_write_all(out, buf, (size_t)n) < 0)
                n = -1;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = sw_error_errno(SW_ERROR, "cannot copy %s to %s", src, dst);
            break;
        }
        if (n == 0)
            break;
        if (progress)
            progress(pctx, (uint64_t)n);
    }
    free(buf);
    if (!r && fchmod(out, mode) < 0)
        r = sw_error_errno(SW_ERROR, "cannot write %s", dst);
    close(in);
    if (close(out) < 0 && !r)
        r = sw_error_errno(SW_ERROR, "cannot write %s", dst);
    if (r)
        unlink(dst);
    return r;
}

int sw_path_resolve(char **real, const char *path)
{
    char *p = sw_strdup(*path ? path : ".");
    while (!(*real = realpath(p, NULL))) {
        int e = errno;
        struct stat st;
        char *slash = strrchr(p, '/');
        if (e != ENOENT && e != ENOTDIR && e != ELOOP) {
            errno = e;
            int r = sw_error_errno(SW_ERROR, "cannot resolve %s", p);
            free(p);
            return r;
        }
        if (lstat(p, &st) == 0 || !strcmp(p, ".")) { /* it exists, yet does not resolve */
            int r = sw_error(SW_EINVALID, "%s: a symbolic link leads nowhere", p);
            free(p);
            return r;
        }
        if (slash == p)
            strcpy(p, "/");
        else if (slash)
            *slash = 0;
        else
            strcpy(p, ".");
    }
    free(p);
    return 0;
}

int sw_path_beneath(const char *root, const char *real)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return real[0] == '/';
    return !strncmp(real, root, n) && (real[n] == 0 || real[n] == '/');
}

int sw_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : sw_error_errno(SW_ERROR, "cannot stat %s", path);
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 ? sw_error_errno(SW_ERROR, "cannot remove %s", path) : 0;
    DIR *d = opendir(path);
    if (!d)
        return sw_error_errno(SW_ERROR, "cannot open %s", path);
    struct dirent *e;
    int r = 0;
    while (!r && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *sub = sw_sprintf("%s/%s", path, e->d_name);
        r = sw_rm_rf(sub);
        free(sub);
    }
    closedir(d);
    if (!r && rmdir(path) < 0)
        r = sw_error_errno(SW_ERROR, "cannot remove %s", path);
    return r;
}

double sw_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sw_parse_bytes(uint64_t *out, const char *s)
{
    static const char units[] = "KMGT";
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = 0;
    if (*end && end[1] == 0 && strchr(units, *end))
        shift = 10 * (int)(strchr(units, *end) - units + 1), end++;
    if (end == s || *end || errno || !isdigit((unsigned char)s[0]) || (shift && v > (UINT64_MAX >> shift)))
        return sw_error(SW_EINVALID, "'%s' is not a byte count (digits, then optionally K, M, G or T)", s);
    *out = (uint64_t)v << shift;
    return 0;
}

int sw_parse_age(int64_t *out, const char *s)
{
    static const char units[] = "smhdw";
    static const int64_t secs[] = {1, 60, 3600, 86400, 604800};
    if (!strcmp(s, "now")) {
        *out = 0;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    int64_t unit = 1;
    if (*end && end[1] == 0 && strchr(units, *end))
        unit = secs[strchr(units, *end) - units], end++;
    if (end == s || *end || errno || !isdigit((unsigned char)s[0]) || v > (unsigned long long)(INT64_MAX / 2 / unit))
        return sw_error(SW_EINVALID, "'%s' is not an age (digits, then optionally s, m, h, d or w; or now)", s);
    *out = (int64_t)v * unit;
    return 0;
}

const char *sw_fmt_bytes(char *buf, size_t len, uint64_t bytes)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, len, "%.1f %s", v, units[u]);
    return buf;
}

char *sw_exe_dir(void)
{
    char *path = realpath("/proc/self/exe", NULL);
    if (!path)
        return NULL;
    char *slash = strrchr(path, '/');
    if (slash && slash != path)
        *slash = 0;
    return path;
}

/* Levenshtein distance of a and b, stopping once it exceeds cap (then cap + 1). */
static size_t sw_edits(const char *a, const char *b, size_t cap)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 64 || nb > 64)
        return cap + 1;
    size_t row[65];
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0], best = row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t v = diag + (a[i - 1] != b[j - 1]);
            v = v < up + 1 ? v : up + 1;
            v = v < row[j - 1] + 1 ? v : row[j - 1] + 1;
            row[j] = v;
            diag = up;
            best = v < best ? v : best;
        }
        if (best > cap)
            return cap + 1;
    }
    return row[nb];
}

const char *sw_nearest(const char *name, const char *const *known, size_t n)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < n; i++) {
        size_t d = sw_edits(name, known[i], 2);
        if (d == 0)
            return known[i];
        if (strlen(name) >= 2 && !strncmp(known[i], name, strlen(name)))
            d = 1; /* a prefix: "pip" -> "pipeline" */
        if (d < best_d) {
            best = known[i];
            best_d = d;
        }
    }
    return best;
}

void sw_hex_encode(char *out, const void *bytes, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = bytes;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = 0;
}

int sw_hex_decode(void *bytes, size_t n, const char *hex)
{
    unsigned char *b = bytes;
    if (!hex || strlen(hex) != 2 * n)
        return -1;
    for (size_t i = 0; i < 2 * n; i++) {
        char c = hex[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        b[i / 2] = (unsigned char)(i % 2 ? b[i / 2] << 4 | v : v);
    }
    return 0;
}
