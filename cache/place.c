/* place.c — held chunks into a file about to be downloaded (see place.h). */
#include "cache/place.h"
#include "base/error.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* Copies len bytes of the object obj at offset from into fd at offset to; whether all were copied. */
static int sw_place_copy(sw_store *st, const sw_hash *obj, uint64_t from, int fd, uint64_t to, size_t len)
{
    char *src = sw_store_object_path(st, obj);
    int in = open(src, O_RDONLY | O_CLOEXEC);
    free(src);
    if (in < 0)
        return 0; /* a stale index row: the bytes will be downloaded */
    loff_t f = (loff_t)from, t = (loff_t)to;
    while (len) {
        ssize_t n = copy_file_range(in, &f, fd, &t, len, 0);
        if (n <= 0)
            break;
        len -= (size_t)n;
    }
    close(in);
    return len == 0;
}

/* Where a held chunk's bytes are: in object obj at offset off (found is 0 when no object holds it). */
typedef struct {
    int found;
    sw_hash obj;
    uint64_t off;
} sw_held;

/* Guesses the bytes of a run of chunks [i, j) that no object holds from the held chunks around it. An
 * edit rarely fills its chunks: the bytes before it most likely continue the held chunk before the run
 * (forward from it), and the bytes after it most likely precede the held chunk after the run (backward
 * from it, which also holds after an insertion or a deletion). With both held, each gives half of the
 * run. Only a guess: the downloader checks every piece and downloads what the guess got wrong, but the
 * pieces that straddle an edit's unchanged neighbours no longer travel. */
static void sw_place_guess(sw_store *st, const sw_chunk *chunks, size_t n, uint64_t size, const sw_held *held,
                           size_t i, size_t j, int fd)
{
    const sw_held *prev = i > 0 ? &held[i - 1] : NULL, *next = j < n ? &held[j] : NULL;
    uint64_t from = chunks[i].offset, to = j < n ? chunks[j].offset : size;
    uint64_t mid = prev ? (next ? from + (to - from) / 2 : to) : from;
    if (prev)
        sw_place_copy(st, &prev->obj, prev->off + chunks[i - 1].length, fd, from, (size_t)(mid - from));
    if (next && next->off >= to - mid)
        sw_place_copy(st, &next->obj, next->off - (to - mid), fd, mid, (size_t)(to - mid));
}

int sw_place_file(uint64_t *reused, sw_store *st, const sw_chunk *chunks, size_t n, uint64_t size, const char *path)
{
    uint64_t before = *reused;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EEXIST ? 0 : sw_error_errno(SW_ERROR, "cannot create %s", path); /* resuming */
    sw_held *held = sw_calloc(n ? n : 1, sizeof *held);
    for (size_t k = 0; k < n; k++) {
        sw_held *h = &held[k];
        h->found = sw_index_find_chunk(&h->obj, &h->off, sw_store_index(st), &chunks[k].hash) == 0 &&
                   sw_place_copy(st, &h->obj, h->off, fd, chunks[k].offset, chunks[k].length);
        if (h->found)
            *reused += chunks[k].length;
    }
    for (size_t k = 0; k < n && *reused > before;) { /* each run of chunks not held */
        size_t end = k;
        while (end < n && !held[end].found)
            end++;
        if (end > k)
            sw_place_guess(st, chunks, n, size, held, k, end, fd);
        k = end + 1;
    }
    free(held);
    int r = 0;
    if (ftruncate(fd, (off_t)size) < 0)
        r = sw_error_errno(SW_ERROR, "cannot size %s", path);
    close(fd);
    if (!r && size && *reused == before)
        unlink(path);
    return r;
}
