/* store.c — the store's layout, lock and object bookkeeping (see store.h; writing is in ingest.c). */
#include "cache/store.h"
#include "cache/home.h"
#include "base/error.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct sw_store {
    char *home;
    sw_index *index;
    int lock_fd;
    int owner_fd;      /* flock'd while this store is open: locks/owner-TOKEN */
    char owner[7];     /* TOKEN, which names this process's temp files: tmp/put-TOKEN-XXXXXX */
};

/* The owner file's mtime until its process first commits an object (see sw_store_writers_since). */
#define SW_OWNER_NOT_WRITING ((time_t)4102444800) /* 2100-01-01 */

/* Takes this process's owner lock: a new file locks/owner-TOKEN, locked (flock) for as long as the store is
 * open, so that any process can tell whether the writer of a temp file is still alive (a lock dies with
 * its process, kill -9 included). It is made under another name and renamed once locked, so no sweeper
 * ever sees it unlocked. Its mtime says when the process first committed an object: far in the future
 * until it does. */
static int sw_store_own(sw_store *st)
{
    char *tmp = sw_sprintf("%s/" SW_HOME_LOCKS "/making-owner-XXXXXX", st->home);
    int r = 0;
    st->owner_fd = mkostemp(tmp, O_CLOEXEC);
    struct timespec never[2] = {{SW_OWNER_NOT_WRITING, 0}, {SW_OWNER_NOT_WRITING, 0}};
    if (st->owner_fd < 0 || flock(st->owner_fd, LOCK_EX) < 0 || futimens(st->owner_fd, never) < 0) {
        r = sw_error_errno(SW_ERROR, "cannot make a lock file in %s/" SW_HOME_LOCKS, st->home);
    } else {
        memcpy(st->owner, tmp + strlen(tmp) - 6, 7);
        char *path = sw_sprintf("%s/" SW_HOME_LOCKS "/owner-%s", st->home, st->owner);
        if (rename(tmp, path) < 0)
            r = sw_error_errno(SW_ERROR, "cannot make %s", path);
        free(path);
    }
    if (r)
        unlink(tmp);
    free(tmp);
    return r;
}

/* Whether the owner TOKEN of a temp file is gone: its lock file is missing, or nobody holds its lock. */
static int sw_owner_gone(const char *home, const char *token)
{
    char *path = sw_sprintf("%s/" SW_HOME_LOCKS "/owner-%.6s", home, token);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int gone = fd < 0 ? errno == ENOENT : flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (fd >= 0 && gone)
        unlink(path); /* still locked by us: no live owner can hold it */
    if (fd >= 0)
        close(fd);
    free(path);
    return gone;
}

/* Whether tmp/NAME is named as sw_store_tmpfile names them: put-TOKEN-XXXXXX. */
static int sw_tmp_named(const char *n) { return !strncmp(n, "put-", 4) && strlen(n) == 17 && n[10] == '-'; }

int sw_store_sweep_tmp(sw_store *st, time_t before, uint64_t *count, uint64_t *bytes)
{
    char *dir = sw_sprintf("%s/" SW_HOME_TMP, st->home);
    DIR *d = opendir(dir);
    int r = d ? 0 : sw_error_errno(SW_ERROR, "cannot open %s", dir);
    struct dirent *e;
    while (d && !r && (e = readdir(d))) {
        const char *n = e->d_name;
        int named = sw_tmp_named(n);
        if (!strcmp(n, ".") || !strcmp(n, "..") || (named && !strncmp(n + 4, st->owner, 6)) ||
            (named && !sw_owner_gone(st->home, n + 4)))
            continue; /* this process's, or a live one's */
        char *p = sw_sprintf("%s/%s", dir, n);
        struct stat s;
        if (lstat(p, &s) == 0 && (named || s.st_mtime < before)) {
            r = sw_rm_rf(p);
            if (!r && count)
                (*count)++;
            if (!r && bytes && S_ISREG(s.st_mode))
                *bytes += (uint64_t)s.st_size;
        }
        free(p);
    }
    if (d)
        closedir(d);
    free(dir);
    return r;
}

time_t sw_store_writers_since(sw_store *st)
{
    char *dir = sw_sprintf("%s/" SW_HOME_LOCKS, st->home);
    DIR *d = opendir(dir);
    time_t first = SW_OWNER_NOT_WRITING;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *n = e->d_name;
        if (strncmp(n, "owner-", 6) || strlen(n) != 12 || !strcmp(n + 6, st->owner))
            continue;
        char *p = sw_sprintf("%s/%s", dir, n);
        struct stat s;
        if (stat(p, &s) == 0 && s.st_mtime < first && !sw_owner_gone(st->home, n + 6))
            first = s.st_mtime;
        free(p);
    }
    if (d)
        closedir(d);
    free(dir);
    return first;
}

int sw_store_open(sw_store **out, const char *home, int mode)
{
    static const char *dirs[] = {SW_HOME_OBJECTS, SW_HOME_TMP, SW_HOME_QUARANTINE, SW_HOME_LOCKS};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char *d = sw_sprintf("%s/%s", home, dirs[i]);
        int r = sw_mkdir_p(d);
        free(d);
        if (r)
            return sw_error_wrap(r, "cannot set up the store in %s", home);
    }
    sw_store *st = sw_calloc(1, sizeof *st);
    st->home = sw_strdup(home);
    st->lock_fd = -1;
    st->owner_fd = -1;

    char *lock = sw_sprintf("%s/" SW_HOME_LOCKS "/store", home);
    st->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    int r = 0;
    if (st->lock_fd < 0)
        r = sw_error_errno(SW_ERROR, "cannot open %s", lock);
    else if (mode == SW_STORE_EXCLUSIVE && flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0)
        r = errno == EWOULDBLOCK
                ? sw_error(SW_ECONFLICT, "another swarm process is using %s; try again when it has finished", home)
                : sw_error_errno(SW_ERROR, "cannot lock %s", lock);
    else if (mode == SW_STORE_SHARED && flock(st->lock_fd, LOCK_SH) < 0)
        r = sw_error_errno(SW_ERROR, "cannot lock %s", lock);
    free(lock);

    if (!r && !(r = sw_store_own(st)))
        sw_store_sweep_tmp(st, 0, NULL, NULL); /* best effort: what cannot be removed is left for gc */
    if (!r) {
        char *db = sw_sprintf("%s/" SW_HOME_INDEX, home);
        r = sw_index_open(&st->index, db);
        free(db);
    }
    if (r) {
        sw_store_free(st);
        return r;
    }
    *out = st;
    return 0;
}

void sw_store_free(sw_store *st)
{
    if (!st)
        return;
    sw_index_free(st->index);
    if (st->owner_fd >= 0) {
        char *path = sw_sprintf("%s/" SW_HOME_LOCKS "/owner-%s", st->home, st->owner);
        unlink(path);
        free(path);
        close(st->owner_fd);
    }
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    free(st->home);
    free(st);
}

const char *sw_store_home(const sw_store *st) { return st->home; }
sw_index *sw_store_index(sw_store *st) { return st->index; }

char *sw_store_object_path(const sw_store *st, const sw_hash *h)
{
    char hex[SW_HEX_LEN + 1];
    sw_hash_hex(hex, h);
    return sw_sprintf("%s/" SW_HOME_OBJECTS "/%.2s/%s", st->home, hex, hex);
}

int sw_store_stat(const sw_store *st, const sw_hash *h, uint64_t *size)
{
    char *p = sw_store_object_path(st, h);
    struct stat s;
    int r = stat(p, &s);
    int e = errno;
    free(p);
    if (r < 0)
        return e == ENOENT ? SW_ENOTFOUND : sw_error(SW_ERROR, "cannot stat an object: %s", strerror(e));
    if (size)
        *size = (uint64_t)s.st_size;
    return 0;
}

void sw_object_clear(sw_object *o)
{
    free(o->chunks);
    memset(o, 0, sizeof *o);
}

int sw_store_quarantine(sw_store *st, const sw_hash *h)
{
    char hex[SW_HEX_LEN + 1];
    sw_hash_hex(hex, h);
    char *from = sw_store_object_path(st, h);
    char *to = sw_sprintf("%s/" SW_HOME_QUARANTINE "/%s", st->home, hex);
    int r = rename(from, to) < 0 ? sw_error_errno(SW_ERROR, "cannot quarantine %s", from) : 0;
    free(from);
    free(to);
    return r ? r : sw_index_drop_object(st->index, h);
}

int sw_store_remove(sw_store *st, const sw_hash *h)
{
    char *p = sw_store_object_path(st, h);
    int r = unlink(p) < 0 && errno != ENOENT ? sw_error_errno(SW_ERROR, "cannot remove %s", p) : 0;
    free(p);
    return r ? r : sw_index_drop_object(st->index, h);
}

int sw_store_foreach(sw_store *st, int (*fn)(void *ctx, const sw_hash *h, uint64_t size),
                     void (*bad)(void *ctx, const char *path), void *ctx)
{
    char *root = sw_sprintf("%s/" SW_HOME_OBJECTS, st->home);
    DIR *d = opendir(root);
    if (!d) {
        int r = sw_error_errno(SW_ERROR, "cannot open %s", root);
        free(root);
        return r;
    }
    /* Collect the fan-out folders first, sorted, so the walk is in hash order. */
    sw_strlist subs = {0};
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            sw_strlist_push(&subs, e->d_name);
    closedir(d);
    sw_strlist_sort(&subs);
    int r = 0;
    for (size_t i = 0; i < subs.n && !r; i++) {
        char *sub = sw_sprintf("%s/%s", root, subs.v[i]);
        DIR *sd = opendir(sub);
        if (!sd) {
            if (bad)
                bad(ctx, sub);
            free(sub);
            continue;
        }
        while (!r && (e = readdir(sd))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *p = sw_sprintf("%s/%s", sub, e->d_name);
            sw_hash h;
            struct stat s;
            if (strncmp(e->d_name, subs.v[i], 2) || strlen(subs.v[i]) != 2 || sw_hash_parse(&h, e->d_name) ||
                stat(p, &s) < 0 || !S_ISREG(s.st_mode)) {
                if (bad)
                    bad(ctx, p);
            } else {
                r = fn(ctx, &h, (uint64_t)s.st_size);
            }
            free(p);
        }
        closedir(sd);
        free(sub);
    }
    sw_strlist_free(&subs);
    free(root);
    return r;
}

int sw_store_tmpfile(char **path, int *fd, const sw_store *st)
{
    char *tmp = sw_sprintf("%s/" SW_HOME_TMP "/put-%s-XXXXXX", st->home, st->owner);
    *fd = mkostemp(tmp, O_CLOEXEC);
    if (*fd < 0) {
        int r = sw_error_errno(SW_ERROR, "cannot create a temp file in the store");
        free(tmp);
        return r;
    }
    *path = tmp;
    return 0;
}

/* Marks this process as a writer in its owner file (its mtime, when still in the future, becomes now), so
 * that gc keeps what it commits until it exits. Threads racing here all write about the same time. */
static void sw_store_mark_writer(const sw_store *st)
{
    struct stat s;
    if (fstat(st->owner_fd, &s) == 0 && s.st_mtime > time(NULL))
        futimens(st->owner_fd, NULL);
}

int sw_store_commit(const sw_store *st, int fd, const char *tmp, const sw_hash *h, int *added)
{
    *added = 0;
    sw_store_mark_writer(st);
    char *have = sw_store_object_path(st, h);
    /* An object written again is freshened, as git does, so that gc's grace period covers it too. */
    int exists = utimensat(AT_FDCWD, have, NULL, 0) == 0 || (errno != ENOENT && sw_store_stat(st, h, NULL) == 0);
    free(have);
    if (exists) {
        unlink(tmp);
        return 0;
    }
    char hex[SW_HEX_LEN + 1];
    sw_hash_hex(hex, h);
    char *dir = sw_sprintf("%s/" SW_HOME_OBJECTS "/%.2s", st->home, hex);
    char *dst = sw_sprintf("%s/%s", dir, hex);
    int r = 0;
    if (futimens(fd, NULL) < 0 || fchmod(fd, 0444) < 0 || fsync(fd) < 0)
        r = sw_error_errno(SW_ERROR, "cannot write to the store");
    if (!r && mkdir(dir, 0755) == 0) {
        char *objects = sw_sprintf("%s/" SW_HOME_OBJECTS, st->home);
        r = sw_fsync_dir(objects);
        free(objects);
    } else if (!r && errno != EEXIST) {
        r = sw_error_errno(SW_ERROR, "cannot create %s", dir);
    }
    if (!r && rename(tmp, dst) < 0)
        r = sw_error_errno(SW_ERROR, "cannot move an object into %s", dir);
    if (!r)
        r = sw_fsync_dir(dir);
    if (!r)
        *added = 1;
    free(dir);
    free(dst);
    return r;
}
