/* test_place.c — placing held chunks into a file about to be downloaded (cache/place.h): a version
 * with 100 bytes inserted mid-file gets all its held chunks at their new offsets and most of the
 * changed run guessed right; a resumed file is left alone; with nothing held no file is made. */
#include "base/error.h"
#include "base/util.h"
#include "cache/place.h"
#include "cache/store.h"
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    const uint8_t *p;
    size_t n, off;
} memsrc;

static ssize_t mem_read(void *ctx, void *buf, size_t len)
{
    memsrc *m = ctx;
    size_t k = m->n - m->off < len ? m->n - m->off : len;
    memcpy(buf, m->p + m->off, k);
    m->off += k;
    return (ssize_t)k;
}

/* Deterministic bytes that do not repeat (xorshift64). */
static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)x;
    }
}

/* Reads a whole file into a new buffer; *n its size. */
static uint8_t *slurp(const char *path, size_t *n)
{
    char *data;
    if (sw_read_file(&data, n, path, 64u << 20))
        return NULL;
    return (uint8_t *)data;
}

int main(void)
{
    char tmpl[] = "/tmp/swarm-place-XXXXXX";
    char *home = mkdtemp(tmpl);
    sw_store *st = NULL;
    ok(home && sw_store_open(&st, home, SW_STORE_SHARED) == 0, "open a store");

    /* v1: 4 MiB held; v2: the same with 100 new bytes inserted at 1 MiB + 12345. */
    const size_t n1 = 4u << 20, at = (1u << 20) + 12345, ins = 100, n2 = n1 + ins;
    uint8_t *v1 = sw_malloc(n1), *v2 = sw_malloc(n2);
    fill(v1, n1, 42);
    memcpy(v2, v1, at);
    fill(v2 + at, ins, 7);
    memcpy(v2 + at + ins, v1 + at, n1 - at);
    memsrc src1 = {v1, n1, 0}, src2 = {v2, n2, 0};
    sw_object o1 = {0}, o2 = {0};
    ok(sw_store_put(&o1, st, mem_read, &src1, NULL, NULL) == 0, "store v1 (its chunks are indexed)");
    int hashed = sw_store_hash(&o2, mem_read, &src2, NULL, 0);
    ok(hashed == 0 && o2.nchunks > 4, "chunk v2 (%zu chunks)", o2.nchunks);

    char *path = sw_sprintf("%s/v2.bin", home);
    uint64_t reused = 0;
    ok(sw_place_file(&reused, st, o2.chunks, o2.nchunks, n2, path) == 0, "place v2's held chunks");
    size_t got_n = 0;
    uint8_t *got = slurp(path, &got_n);
    ok(got && got_n == n2, "the placed file has v2's size (%zu)", got_n);

    /* Every chunk of v2 whose bytes were placed right; the rest is the run around the insertion. */
    uint64_t placed = 0, run = 0;
    for (size_t k = 0; got && k < o2.nchunks; k++) {
        const sw_chunk *c = &o2.chunks[k];
        if (memcmp(got + c->offset, v2 + c->offset, c->length) == 0)
            placed += c->length;
        else
            run += c->length;
    }
    ok(reused > 0 && reused <= n2 - ins, "reused %llu bytes, not the inserted ones", (unsigned long long)reused);
    ok(placed >= reused, "every reused chunk holds v2's bytes (%llu placed right, %llu reused)",
       (unsigned long long)placed, (unsigned long long)reused);
    ok(run > 0 && run <= n2 / 16, "the chunks not placed right are one small run (%llu bytes)", (unsigned long long)run);

    /* The guess: the bytes of the unheld run come from their neighbours, so at most the inserted bytes and
     * half the run are wrong. */
    uint64_t wrong = 0;
    for (size_t i = 0; got && i < n2; i++)
        wrong += got[i] != v2[i];
    uint64_t unheld = n2 - reused;
    ok(wrong <= ins + unheld / 2 + 1, "guessing fills the unheld run: %llu wrong bytes of %llu unheld",
       (unsigned long long)wrong, (unsigned long long)unheld);
    ok(wrong >= 1, "the inserted bytes cannot be guessed");
    free(got);

    /* Resuming: a file that is there already is left as it is. */
    int fd = open(path, O_WRONLY | O_TRUNC);
    if (fd >= 0)
        close(fd);
    uint64_t again = 0;
    struct stat sb;
    ok(sw_place_file(&again, st, o2.chunks, o2.nchunks, n2, path) == 0 && again == 0 && stat(path, &sb) == 0 &&
           sb.st_size == 0,
       "an existing (resumed) file is not touched");

    /* Nothing held: no file, so the downloader does not hash a file of zeros. */
    uint8_t *other = sw_malloc(1u << 20);
    fill(other, 1u << 20, 99);
    memsrc src3 = {other, 1u << 20, 0};
    sw_object o3 = {0};
    char *none = sw_sprintf("%s/none.bin", home);
    uint64_t zero = 0;
    ok(sw_store_hash(&o3, mem_read, &src3, NULL, 0) == 0 &&
           sw_place_file(&zero, st, o3.chunks, o3.nchunks, 1u << 20, none) == 0 && zero == 0 && access(none, F_OK) != 0,
       "with no chunk held no file is made");
    char *empty = sw_sprintf("%s/empty.bin", home);
    ok(sw_place_file(&zero, st, NULL, 0, 0, empty) == 0 && stat(empty, &sb) == 0 && sb.st_size == 0,
       "an empty file is always made");

    sw_object_clear(&o1);
    sw_object_clear(&o2);
    sw_object_clear(&o3);
    free(v1);
    free(v2);
    free(other);
    free(path);
    free(none);
    free(empty);
    sw_store_free(st);
    sw_rm_rf(home);
    return tap_done();
}
