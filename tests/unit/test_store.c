/* test_store.c — the object store: hashing, atomic puts, dedup, the chunk index, failure cleanup,
 * fsck's quarantine and re-indexing, gc and pins. */
#include "base/error.h"
#include "cache/fsck.h"
#include "cache/store.h"
#include "tap.h"
#include "base/util.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    const uint8_t *p;
    size_t n, off, fail_at;
} memsrc;

static ssize_t mem_read(void *ctx, void *buf, size_t len)
{
    memsrc *m = ctx;
    if (m->fail_at && m->off >= m->fail_at)
        return sw_error(SW_ERROR, "injected read failure");
    size_t k = m->n - m->off < len ? m->n - m->off : len;
    if (k > 1000003)
        k = 1000003; /* odd-sized reads: blocks are filled across calls */
    memcpy(buf, m->p + m->off, k);
    m->off += k;
    return (ssize_t)k;
}

static size_t count_dir(const char *home, const char *sub)
{
    char *path = sw_sprintf("%s/%s", home, sub);
    DIR *d = opendir(path);
    free(path);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* Whether two chunk lists are the same, field by field (sw_chunk has padding). */
static int same_chunks(const sw_chunk *a, const sw_chunk *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].offset != b[i].offset || a[i].length != b[i].length || !sw_hash_eq(&a[i].hash, &b[i].hash))
            return 0;
    return 1;
}

static int put(sw_object *o, sw_store *st, const uint8_t *p, size_t n)
{
    memsrc m = {p, n, 0, 0};
    return sw_store_put(o, st, mem_read, &m, NULL, NULL);
}

int main(void)
{
    char tmpl[] = "/tmp/swarm-unit-XXXXXX";
    char *home = mkdtemp(tmpl);
    sw_store *st;
    ok(sw_store_open(&st, home, SW_STORE_SHARED) == 0, "open a new store");

    sw_hash h;
    char hex[SW_HEX_LEN + 1];
    sw_sha256_buf(&h, "", 0);
    sw_hash_hex(hex, &h);
    ok(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "sha256 of empty");
    sw_hash back;
    ok(sw_hash_parse(&back, hex) == 0 && sw_hash_eq(&back, &h), "hex round trip");
    ok(sw_hash_parse(&back, "E3B0") != 0, "bad hex refused");

    /* A small object: inline path. */
    const char *text = "hello, swarm\n";
    sw_object o;
    ok(put(&o, st, (const uint8_t *)text, strlen(text)) == 0 && o.added, "put a small object");
    sw_sha256_buf(&h, text, strlen(text));
    ok(sw_hash_eq(&o.hash, &h) && o.size == strlen(text), "its name is the SHA-256 of its bytes");
    ok(o.nchunks == 1 && sw_hash_eq(&o.chunks[0].hash, &h), "one chunk, equal to the object");
    char *path = sw_store_object_path(st, &o.hash);
    struct stat s;
    ok(stat(path, &s) == 0 && (s.st_mode & 0777) == 0444, "the object file is read-only");
    free(path);
    sw_object_clear(&o);
    ok(put(&o, st, (const uint8_t *)text, strlen(text)) == 0 && !o.added, "identical content adds no bytes");
    sw_object_clear(&o);

    /* A large object: threaded path, chunks tile and hash correctly, index agrees. */
    size_t n = 23u << 20;
    uint8_t *big = malloc(n);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        big[i] = (uint8_t)x;
    }
    ok(put(&o, st, big, n) == 0 && o.added, "put a 23 MiB object");
    sw_sha256_buf(&h, big, n);
    ok(sw_hash_eq(&o.hash, &h) && o.size == n, "large object hash equals the one-shot hash");
    int tiles = 1;
    uint64_t at = 0;
    for (size_t i = 0; i < o.nchunks; i++) {
        sw_hash ch;
        sw_sha256_buf(&ch, big + o.chunks[i].offset, o.chunks[i].length);
        tiles &= o.chunks[i].offset == at && sw_hash_eq(&ch, &o.chunks[i].hash);
        at += o.chunks[i].length;
    }
    ok(tiles && at == n, "%zu chunks tile the object and hash their bytes", o.nchunks);
    sw_chunk *rows;
    size_t nrows;
    int same = sw_index_get_chunks(&rows, &nrows, sw_store_index(st), &o.hash) == 0 && nrows == o.nchunks &&
               same_chunks(rows, o.chunks, nrows);
    ok(same, "the index holds the same chunk list");
    free(rows);
    sw_hash where;
    uint64_t off;
    ok(sw_index_find_chunk(&where, &off, sw_store_index(st), &o.chunks[3].hash) == 0 &&
           sw_hash_eq(&where, &o.hash) && off == o.chunks[3].offset,
       "find_chunk locates a chunk");
    sw_hash big_hash = o.hash;
    sw_object_clear(&o);

    /* Adopting a downloaded file: hashed at the cuts its manifest lists, checked, then moved in. */
    big[n / 2] ^= 0x5a; /* another object than big's */
    sw_object found, known;
    memsrc m1 = {big, n, 0, 0}, m2 = {big, n, 0, 0};
    ok(sw_store_hash(&found, mem_read, &m1, NULL, 0) == 0 && found.nchunks > 3, "hash a stream, chunker's cuts");
    ok(sw_store_hash(&known, mem_read, &m2, found.chunks, found.nchunks) == 0 && sw_hash_eq(&known.hash, &found.hash) &&
           known.nchunks == found.nchunks && same_chunks(known.chunks, found.chunks, found.nchunks),
       "hashing at known cuts gives the same object");
    ok(count_dir(home, "tmp") == 0 && sw_store_stat(st, &found.hash, NULL) == SW_ENOTFOUND, "hashing stores nothing");
    char *dl = sw_sprintf("%s/downloaded", home);
    FILE *f = fopen(dl, "w");
    ok(f && fwrite(big, 1, n, f) == n && fclose(f) == 0, "write the downloaded file");
    sw_chunk *cuts = sw_malloc(found.nchunks * sizeof *cuts);
    memcpy(cuts, found.chunks, found.nchunks * sizeof *cuts);
    cuts[2].hash.b[7] ^= 1;
    ok(sw_store_adopt(st, dl, &known, &found.hash, cuts, found.nchunks) == SW_EINVALID &&
           strstr(sw_error_last(), "chunk 2 does not match"),
       "a chunk list with a wrong hash is refused: %s", sw_error_last());
    cuts[2].hash.b[7] ^= 1;
    cuts[1].length += 1, cuts[2].offset += 1, cuts[2].length -= 1; /* still tiles the file */
    sw_object shifted;
    memsrc m3 = {big, n, 0, 0};
    ok(sw_store_hash(&shifted, mem_read, &m3, cuts, found.nchunks) == 0 &&
           sw_store_adopt(st, dl, &shifted, &found.hash, cuts, found.nchunks) == SW_EINVALID &&
           strstr(sw_error_last(), "chunk 1 does not match"),
       "so is one with a cut moved by a byte");
    sw_object_clear(&shifted);
    ok(sw_store_adopt(st, dl, &known, &big_hash, found.chunks, found.nchunks) == SW_EINVALID &&
           strstr(sw_error_last(), "not the expected"),
       "and a file whose SHA-256 is not the one expected");
    ok(access(dl, F_OK) == 0 && sw_store_stat(st, &found.hash, NULL) == SW_ENOTFOUND,
       "a refused file stays where it is, outside the store");
    ok(sw_store_adopt(st, dl, &known, &found.hash, found.chunks, found.nchunks) == 0 && known.added &&
           access(dl, F_OK) != 0 && sw_store_stat(st, &found.hash, NULL) == 0,
       "a matching file is moved into the store");
    ok(sw_index_get_chunks(&rows, &nrows, sw_store_index(st), &found.hash) == 0 && nrows == found.nchunks &&
           same_chunks(rows, found.chunks, nrows),
       "with its chunk rows");
    free(rows);
    free(cuts);
    free(dl);
    sw_hash adopted = found.hash;
    sw_object_clear(&found);
    sw_object_clear(&known);
    big[n / 2] ^= 0x5a;

    /* A failing source leaves nothing behind. */
    memsrc bad = {big, n, 0, 9u << 20};
    big[0] ^= 1;
    ok(sw_store_put(&o, st, mem_read, &bad, NULL, NULL) != 0, "a failing source fails the put");
    ok(strstr(sw_error_last(), "injected") != NULL, "with the source's message");
    ok(count_dir(home, "tmp") == 0, "and leaves no temp file");

    /* fsck: corrupt an object, drop another's chunk rows. */
    sw_fsck_report rep;
    ok(sw_store_fsck(st, &rep, NULL, NULL) == 0 && rep.corrupt == 0 && rep.reindexed == 0 && rep.objects == 3,
       "fsck of a healthy store finds nothing");
    sw_index_drop_object(sw_store_index(st), &big_hash);
    sw_hash small;
    sw_sha256_buf(&small, text, strlen(text));
    char *small_path = sw_store_object_path(st, &small);
    chmod(small_path, 0644);
    f = fopen(small_path, "r+");
    fputc('H', f);
    fclose(f);
    free(small_path);
    ok(sw_store_fsck(st, &rep, NULL, NULL) == 0 && rep.corrupt == 1 && rep.reindexed == 1, "fsck finds both");
    ok(sw_store_stat(st, &small, NULL) == SW_ENOTFOUND, "the corrupt object left objects/");
    ok(count_dir(home, "quarantine") == 1, "and sits in quarantine/");
    ok(sw_index_get_chunks(&rows, &nrows, sw_store_index(st), &big_hash) == 0 && nrows > 0,
       "the dropped chunk rows were rebuilt");
    free(rows);
    ok(sw_store_fsck(st, &rep, NULL, NULL) == 0 && rep.corrupt == 0 && rep.reindexed == 0, "a second fsck is clean");

    /* gc needs the store to itself, keeps what is asked for and what is pinned. */
    sw_store *excl;
    ok(sw_store_open(&excl, home, SW_STORE_EXCLUSIVE) == SW_ECONFLICT, "gc's exclusive open waits for no one");
    sw_store_free(st);
    ok(sw_store_open(&excl, home, SW_STORE_EXCLUSIVE) == 0, "exclusive open once alone");
    ok(put(&o, excl, (const uint8_t *)"pinned", 6) == 0, "put an object to pin");
    ok(sw_index_pin(sw_store_index(excl), &o.hash, "test") == 0, "pin it");
    sw_hash pinned = o.hash;
    sw_object_clear(&o);
    ok(put(&o, excl, (const uint8_t *)"garbage", 7) == 0, "put an unreferenced object");
    sw_object_clear(&o);
    sw_hash keep[2] = {big_hash, adopted};
    sw_gc_report g;
    int gc = sw_store_gc(&g, excl, keep, 2, time(NULL) - 3600);
    ok(gc == 0 && g.objects == 0 && g.recent == 1, "gc keeps an unreferenced object younger than the grace time");
    gc = sw_store_gc(&g, excl, keep, 2, time(NULL) + 1);
    ok(gc == 0 && g.objects == 1 && g.bytes == 7, "gc removes only the unreferenced object (%llu removed, %llu bytes)",
       (unsigned long long)g.objects, (unsigned long long)g.bytes);
    ok(sw_store_stat(excl, &pinned, NULL) == 0 && sw_store_stat(excl, &big_hash, NULL) == 0,
       "kept and pinned objects survive");
    ok(put(&o, excl, (const uint8_t *)"seeded", 6) == 0, "put an object a seeding view links");
    char *obj = sw_store_object_path(excl, &o.hash), *view = sw_sprintf("%s/seeded-view", home);
    ok(link(obj, view) == 0, "link it from outside objects/");
    gc = sw_store_gc(&g, excl, keep, 2, time(NULL) + 1);
    ok(gc == 0 && g.objects == 0 && g.linked == 1 && sw_store_stat(excl, &o.hash, NULL) == 0,
       "gc keeps an unreferenced object that is linked elsewhere");
    unlink(view);
    free(obj);
    free(view);
    sw_object_clear(&o);
    sw_store_free(excl);

    /* Temp files of a process that died are swept by the next open; those of a live one are kept. */
    sw_store *live, *next;
    char *tmp_live = NULL, *tmp_dead = NULL;
    int fd;
    ok(sw_store_open(&live, home, SW_STORE_SHARED) == 0 && sw_store_tmpfile(&tmp_live, &fd, live) == 0,
       "a live writer's temp file");
    close(fd);
    int pipefd[2];
    ok(pipe(pipefd) == 0, "a pipe to hear from a child");
    pid_t child = fork();
    if (child == 0) { /* opens the store, starts a temp file, and dies without closing anything */
        sw_store *cs;
        char *t = NULL;
        int cfd;
        if (sw_store_open(&cs, home, SW_STORE_SHARED) == 0 && sw_store_tmpfile(&t, &cfd, cs) == 0)
            sw_write_all(pipefd[1], t, strlen(t) + 1);
        _exit(0);
    }
    char buf[4096] = {0};
    close(pipefd[1]);
    ok(child > 0 && sw_read_full(pipefd[0], buf, sizeof buf - 1) > 0 && waitpid(child, NULL, 0) == child,
       "a child left a temp file and died");
    close(pipefd[0]);
    tmp_dead = buf;
    ok(access(tmp_dead, F_OK) == 0, "its temp file is there");
    ok(sw_store_open(&next, home, SW_STORE_SHARED) == 0, "the next open");
    ok(access(tmp_dead, F_OK) != 0, "... removes the dead process's temp file");
    ok(access(tmp_live, F_OK) == 0, "... and keeps the live store's");
    sw_store_free(next);
    unlink(tmp_live);
    free(tmp_live);
    sw_store_free(live);

    free(big);
    sw_rm_rf(home);
    return tap_done();
}
