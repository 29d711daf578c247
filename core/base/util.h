/* util.h — small helpers shared by every module: checked allocation, growable arrays, paths and
 * durable file operations. */
#ifndef SW_UTIL_H
#define SW_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Allocation that cannot fail: on exhaustion it prints "swarm: error: out of memory" and exits 1.
 * The store is crash-safe (see cache/store.h), so exiting here loses nothing. */
/* Returns p, or exits as above when p is NULL (for allocations made by libraries). */
void *sw_oom(void *p);
void *sw_malloc(size_t n);
void *sw_calloc(size_t n, size_t size);
void *sw_realloc(void *p, size_t n);
char *sw_strdup(const char *s);
char *sw_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grows *arr (of elements of size elem) so it holds at least need elements; *cap tracks capacity. */
void sw_grow(void *arr, size_t *cap, size_t need, size_t elem);

/* A growable list of owned strings. */
typedef struct {
    char **v;
    size_t n, cap;
} sw_strlist;
void sw_strlist_push(sw_strlist *l, const char *s);
void sw_strlist_free(sw_strlist *l);
/* Sorts bytewise (strcmp order). */
void sw_strlist_sort(sw_strlist *l);
/* Natural order: digit runs compare by value ("v2" < "v10"), everything else bytewise. */
int sw_natcmp(const char *a, const char *b);

/* Creates dir and its parents (mode 0755); ok if it exists as a folder (a file there is an error). */
int sw_mkdir_p(const char *dir);
/* fsync()s a directory so a rename or create inside it is durable. */
int sw_fsync_dir(const char *dir);
/* Writes len bytes fully, retrying on EINTR and short writes. Returns 0 or -1 with errno set. */
int sw_write_all(int fd, const void *buf, size_t len);
/* Reads up to len bytes, retrying on EINTR and short reads; returns bytes read (< len only at EOF) or -1. */
ssize_t sw_read_full(int fd, void *buf, size_t len);
/* As sw_read_full, at offset (pread: the file position does not move). */
ssize_t sw_pread_full(int fd, void *buf, size_t len, uint64_t offset);
/* Reads a whole file into a NUL-terminated buffer (caller frees). Refuses files over max bytes. */
int sw_read_file(char **out, size_t *len, const char *path, size_t max);
/* Writes a file atomically: temp beside it, fsync, rename, fsync of the directory. */
int sw_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Copies src to path atomically, as sw_write_file_atomic writes: a temp file beside path, fsync,
 * rename over path, fsync of the directory. */
int sw_copy_file_atomic(const char *src, const char *path, mode_t mode);
/* As sw_copy_file_atomic (a temp file beside path renamed over it), without its fsyncs: for a copy of
 * bytes kept durably elsewhere (a store object), which the caller makes again when a crash lost it. */
int sw_copy_file_replace(const char *src, const char *path, mode_t mode);
/* Creates the temp file beside path that sw_copy_file_replace copies into, empty and open for writing
 * (*fd), with mode; *tmp names it (caller frees, renames over path or removes). */
int sw_create_beside(char **tmp, int *fd, const char *path, mode_t mode);
/* Removes the temp files beside path (PATH.tmp.PID) whose process is gone: what a kill -9 left. */
void sw_sweep_beside(const char *path);
/* Copies the file at src to a new file dst (which must not exist) with the given mode, in-kernel where
 * possible (copy_file_range); not fsync'd (callers that need durability sync it). On failure dst is removed. */
int sw_copy_file(const char *src, const char *dst, mode_t mode, void (*progress)(void *, uint64_t), void *pctx);
/* Resolves path through its symbolic links into *real (caller frees): the path itself, or, when it does not
 * exist yet, its deepest existing ancestor (what creating it would go through). Fails with SW_EINVALID when
 * a component exists but cannot be resolved (a dangling or looping link), SW_ERROR on other errors. */
int sw_path_resolve(char **real, const char *path);
/* Whether the resolved path real is root or lies beneath it (root resolved too: both from realpath). */
int sw_path_beneath(const char *root, const char *real);
/* The folder part of path: "." when it has no '/', "/" for a path right under the root (caller frees). */
char *sw_dirname(const char *path);
/* Removes a directory tree (files and folders); ok if it does not exist. */
int sw_rm_rf(const char *path);

/* The folder of the running program (/proc/self/exe, symbolic links resolved), caller frees; NULL when
 * the kernel does not say. Installed data (plugins, pipelines) is found relative to it, so a build tree,
 * an install under any prefix and a staged install (DESTDIR) each find their own. */
char *sw_exe_dir(void);

/* Monotonic seconds, for rates and progress. */
double sw_now(void);
/* Formats a byte count as "12.3 MiB" into buf. */
const char *sw_fmt_bytes(char *buf, size_t len, uint64_t bytes);
/* n bytes as 2n lower-case hex digits and a NUL. */
void sw_hex_encode(char *out, const void *bytes, size_t n);
/* Exactly 2n lower-case hex digits into n bytes: 0, or -1 for anything else (hex may be NULL). */
int sw_hex_decode(void *bytes, size_t n, const char *hex);
/* Parses a byte count: digits, then optionally K, M, G or T (powers of 1024). SW_EINVALID when s is
 * anything else or overflows 64 bits. */
int sw_parse_bytes(uint64_t *out, const char *s);
/* The name of known[0..n) nearest to name (at most 2 edits, or one that name is a prefix of, at least 2
 * characters), or NULL when none is near: for "did you mean". */
const char *sw_nearest(const char *name, const char *const *known, size_t n);
/* Parses an age in seconds: digits, then optionally s, m, h, d or w (seconds when none), or "now" (0).
 * SW_EINVALID when s is anything else or is absurdly large. */
int sw_parse_age(int64_t *out, const char *s);

#endif
