/* vocab.c — vocabularies by path, loaded once per process. The vocab param of the text ops names a
 * directory holding vocab.bpe + encoder.json, or a tokenizer.json file. Loading GPT-2's files costs tens
 * of milliseconds, far more than encoding a batch, so loaded vocabularies are kept in a process-wide
 * cache: the plugin's one piece of global mutable state, a list guarded by a pthread mutex.
 *
 * An entry is keyed by the canonical path and the (device, inode, size, mtime) of each file, so a file
 * replaced or rewritten in place is loaded again. A call holds its entry (a reference count) from acquire
 * to release; an entry superseded by a newer load of the same path is freed once nobody holds it. The
 * current entries live until the process exits, reachable from the list (nothing for LeakSanitizer).
 * Loading happens under the lock, so threads asking at once for one vocabulary load it once. */
#define _XOPEN_SOURCE 700 /* realpath, st_mtim */

#include "bpe_internal.h"
#include "vocab.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What identifies one file's content without reading it. */
typedef struct {
    uint64_t dev, ino, size;
    int64_t mtime_s, mtime_ns;
} file_key;

typedef struct entry {
    struct entry *next;
    char *path; /* canonical */
    int nfiles; /* 1: tokenizer.json; 2: encoder.json and vocab.bpe */
    file_key key[2];
    bpe_vocab *v;
    unsigned refs;  /* calls holding it */
    int superseded; /* a newer load of the same path replaced it: freed when refs drops to 0 */
} entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static entry *cache;

static const char *const gpt2_files[2] = {"encoder.json", "vocab.bpe"};

/* The identity of the file st describes. */
static file_key key_of(const struct stat *st)
{
    file_key k;
    k.dev = (uint64_t)st->st_dev;
    k.ino = (uint64_t)st->st_ino;
    k.size = (uint64_t)st->st_size;
    k.mtime_s = (int64_t)st->st_mtim.tv_sec;
    k.mtime_ns = (int64_t)st->st_mtim.tv_nsec;
    return k;
}

/* Whether two identities are the same file, unchanged. */
static int key_eq(const file_key *a, const file_key *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_s == b->mtime_s &&
           a->mtime_ns == b->mtime_ns;
}

/* Joins the canonical directory and a file name into buf (PATH_MAX + 32 bytes). */
static void file_path(char *buf, size_t size, const char *dir, int nfiles, int i)
{
    if (nfiles == 1)
        snprintf(buf, size, "%s", dir);
    else
        snprintf(buf, size, "%s/%s", dir, gpt2_files[i]);
}

/* Resolves path: its canonical form (malloc'd) and how many files it names (1 for a regular file, 2
 * for a directory). Fails when it does not exist or is neither. */
static int resolve(const char *path, char **canon, int *nfiles, char *err)
{
    struct stat st;
    *canon = NULL;
    if (!path || !*path)
        return bpe_fail(err, BPE_E_INPUT, "vocab: the path is empty");
    if (!(*canon = realpath(path, NULL)))
        return bpe_fail(err, errno == ENOMEM ? BPE_E_NOMEM : BPE_E_INPUT, "vocab %.180s: %s", path, strerror(errno));
    if (stat(*canon, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
        *nfiles = S_ISDIR(st.st_mode) ? 2 : 1;
        return BPE_OK;
    }
    free(*canon);
    *canon = NULL;
    return bpe_fail(err, BPE_E_INPUT, "vocab %.180s: not a tokenizer.json file nor a directory of vocab.bpe + "
                                      "encoder.json", path);
}

/* Stats the files of a resolved path into keys. */
static int stat_files(const char *canon, int nfiles, file_key *keys, char *err)
{
    char p[PATH_MAX + 32];
    struct stat st;
    for (int i = 0; i < nfiles; i++) {
        file_path(p, sizeof p, canon, nfiles, i);
        if (stat(p, &st) != 0)
            return bpe_fail(err, BPE_E_INPUT, "vocab %.180s: %s", p, strerror(errno));
        if (!S_ISREG(st.st_mode))
            return bpe_fail(err, BPE_E_INPUT, "vocab %.180s: not a regular file", p);
        keys[i] = key_of(&st);
    }
    return BPE_OK;
}

/* Reads a whole file (at most BPE_MAX_FILE bytes) into *buf (malloc'd), with its key from the open file. */
static int read_file(const char *p, char **buf, size_t *len, file_key *key, char *err)
{
    struct stat st;
    size_t got = 0;
    int fd = open(p, O_RDONLY | O_CLOEXEC), rc = BPE_OK;
    *buf = NULL;
    if (fd < 0)
        return bpe_fail(err, BPE_E_INPUT, "vocab %.180s: %s", p, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = bpe_fail(err, BPE_E_INPUT, "vocab %.180s: not a readable regular file", p);
    else if ((uint64_t)st.st_size > BPE_MAX_FILE)
        rc = bpe_fail(err, BPE_E_INPUT, "vocab %.180s: %llu bytes, more than %zu", p, (unsigned long long)st.st_size,
                      BPE_MAX_FILE);
    else if (!(*buf = malloc((size_t)st.st_size + 1)))
        rc = bpe_fail(err, BPE_E_NOMEM, "vocab %.180s: out of memory", p);
    while (!rc && got < (size_t)st.st_size) {
        ssize_t r = read(fd, *buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            rc = bpe_fail(err, BPE_E_INPUT, "vocab %.180s: %s", p, r < 0 ? strerror(errno) : "shorter than its size");
        else
            got += (size_t)r;
    }
    close(fd);
    if (rc) {
        free(*buf);
        *buf = NULL;
        return rc;
    }
    *len = got;
    *key = key_of(&st);
    return BPE_OK;
}

/* Reads and parses the files of a resolved path into a new entry's vocabulary and keys. */
static int load(entry *e, char *err)
{
    char p[PATH_MAX + 32], *buf[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    int rc = BPE_OK;
    for (int i = 0; !rc && i < e->nfiles; i++) {
        file_path(p, sizeof p, e->path, e->nfiles, i);
        rc = read_file(p, &buf[i], &len[i], &e->key[i], err);
    }
    if (!rc)
        rc = e->nfiles == 1 ? bpe_vocab_hf(&e->v, buf[0], len[0], err)
                            : bpe_vocab_gpt2(&e->v, buf[0], len[0], buf[1], len[1], err);
    free(buf[0]);
    free(buf[1]);
    return rc;
}

/* Unlinks and frees entry e of the cache (lock held). */
static void drop(entry *e)
{
    for (entry **p = &cache; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            break;
        }
    bpe_vocab_free(e->v);
    free(e->path);
    free(e);
}

/* The current entry for canon whose files have these keys (lock held), or NULL. */
static entry *find(const char *canon, int nfiles, const file_key *keys)
{
    for (entry *e = cache; e; e = e->next)
        if (!e->superseded && e->nfiles == nfiles && !strcmp(e->path, canon) && key_eq(&e->key[0], &keys[0]) &&
            (nfiles == 1 || key_eq(&e->key[1], &keys[1])))
            return e;
    return NULL;
}

/* Loads canon into a new entry at the head of the cache, superseding older entries of the same path
 * (lock held; takes canon). */
static int insert(entry **out, char *canon, int nfiles, char *err)
{
    entry *e = calloc(1, sizeof *e), *next;
    int rc;
    if (!e) {
        free(canon);
        return bpe_fail(err, BPE_E_NOMEM, "vocab: out of memory");
    }
    e->path = canon;
    e->nfiles = nfiles;
    if ((rc = load(e, err))) {
        free(canon);
        free(e);
        return rc;
    }
    for (entry *o = cache; o; o = next) {
        next = o->next;
        if (!strcmp(o->path, canon)) {
            o->superseded = 1;
            if (!o->refs)
                drop(o);
        }
    }
    e->next = cache;
    cache = e;
    *out = e;
    return BPE_OK;
}

int text_vocab_acquire(const bpe_vocab **v, void **handle, const char *path, char *err)
{
    file_key keys[2];
    char *canon;
    entry *e;
    int nfiles = 0, rc;
    *v = NULL;
    *handle = NULL;
    if ((rc = resolve(path, &canon, &nfiles, err)))
        return rc;
    if ((rc = stat_files(canon, nfiles, keys, err))) {
        free(canon);
        return rc;
    }
    pthread_mutex_lock(&cache_lock);
    if ((e = find(canon, nfiles, keys)))
        free(canon);
    else
        rc = insert(&e, canon, nfiles, err);
    if (!rc) {
        e->refs++;
        *v = e->v;
        *handle = e;
    }
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

void text_vocab_release(void *handle)
{
    entry *e = handle;
    if (!e)
        return;
    pthread_mutex_lock(&cache_lock);
    if (!--e->refs && e->superseded)
        drop(e);
    pthread_mutex_unlock(&cache_lock);
}
