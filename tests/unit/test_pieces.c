/* test_pieces.c — torrent pieces hashed while files are stored (cache/pieces): the SHA-1 of each piece of
 * the files laid end to end, pieces spanning files, fed in any increments; and the torrent made from
 * them is byte for byte the one made by reading the objects again (net/bundle_torrent). */
#include "base/error.h"
#include "base/util.h"
#include "cache/pieces.h"
#include "cache/store.h"
#include "net/bundle_torrent.h"
#include "tap.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Deterministic bytes (xorshift). */
static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
}

/* The reference: SHA-1 of each piece of p[0..n), hashed in one call each. */
static unsigned char (*ref_pieces(const uint8_t *p, size_t n, uint32_t piece, size_t *count))[SW_PIECE_HASH_LEN]
{
    *count = (n + piece - 1) / piece;
    unsigned char(*h)[SW_PIECE_HASH_LEN] = sw_malloc((*count ? *count : 1) * SW_PIECE_HASH_LEN);
    for (size_t k = 0; k < *count; k++) {
        size_t len = n - k * piece < piece ? n - k * piece : piece;
        unsigned int hl = 0;
        EVP_Digest(p + k * piece, len, h[k], &hl, EVP_sha1(), NULL);
    }
    return h;
}

int main(void)
{
    /* 1. Fed in odd increments, with a small piece size: every boundary case. */
    size_t n = 100000;
    uint8_t *data = sw_malloc(n);
    fill(data, n, 1);
    const uint32_t sizes[] = {1, 999, 1000, 1001, 4096};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        sw_pieces pc;
        sw_pieces_init(&pc, 1000);
        for (size_t off = 0, step = 1; off < n; step = step * 7 % 3001 + 1) {
            size_t take = n - off < step * sizes[s] % 5000 + 1 ? n - off : step * sizes[s] % 5000 + 1;
            sw_pieces_update(&pc, data + off, take);
            off += take;
        }
        sw_pieces_end(&pc);
        size_t count;
        unsigned char(*want)[SW_PIECE_HASH_LEN] = ref_pieces(data, n, 1000, &count);
        ok(pc.nhashes == count && !memcmp(pc.hashes, want, count * SW_PIECE_HASH_LEN) && pc.total == n,
           "pieces of 1000 bytes fed in increments of pattern %u: %zu, as hashed at once", sizes[s], pc.nhashes);
        free(want);
        sw_pieces_clear(&pc);
    }
    sw_pieces pc;
    sw_pieces_init(&pc, 1000);
    sw_pieces_update(&pc, data, 2500);
    sw_pieces_end(&pc);
    sw_pieces_end(&pc);
    ok(pc.nhashes == 3, "the short last piece is hashed once, however often the run is ended");
    sw_pieces_clear(&pc);
    free(data);

    /* 2. Through the store: files of odd sizes (two span several of the store's blocks, one is empty) added one
     * after another into one run of pieces. */
    char tmpl[] = "/tmp/swarm-unit-XXXXXX";
    char *dir = mkdtemp(tmpl);
    char *home = sw_sprintf("%s/home", dir);
    sw_store *st;
    ok(sw_store_open(&st, home, SW_STORE_SHARED) == 0, "open a new store");
    const size_t fsizes[] = {9000001, 0, 300000, (6u << 20) + 17};
    const char *names[] = {"a.bin", "b/a-empty", "b/c.bin", "d.bin"}; /* sorted, as in a manifest */
    size_t total = 0;
    for (size_t i = 0; i < 4; i++)
        total += fsizes[i];
    data = sw_malloc(total);
    fill(data, total, 2);
    uint32_t piece = sw_piece_size(total);
    sw_pieces_init(&pc, piece);
    sw_manifest *m = sw_manifest_new();
    m->name = sw_strdup("bundle");
    int stored = 1;
    for (size_t i = 0, at = 0; i < 4; at += fsizes[i], i++) {
        char *path = sw_sprintf("%s/f%zu", dir, i);
        sw_object o = {0};
        stored &= sw_write_file_atomic(path, data + at, fsizes[i], 0644) == 0 &&
                  sw_store_put_file_pieces(&o, st, path, &pc, NULL, NULL) == 0;
        if (stored)
            sw_manifest_add_file(m, names[i], o.size, 0644, &o.hash, o.chunks, o.nchunks);
        sw_object_clear(&o);
        free(path);
    }
    ok(stored, "four files stored with their pieces hashed (%s)", stored ? "ok" : sw_error_last());
    sw_pieces_end(&pc);
    size_t count;
    unsigned char(*want)[SW_PIECE_HASH_LEN] = ref_pieces(data, total, piece, &count);
    ok(pc.nhashes == count && count > 40 && !memcmp(pc.hashes, want, count * SW_PIECE_HASH_LEN),
       "%zu pieces of %u bytes, equal to the pieces of the files laid end to end", pc.nhashes, piece);
    ok(pc.nstreams == 4 && pc.streams[1].size == 0 && sw_hash_eq(&pc.streams[3].hash, &m->files[3].hash),
       "the run records the four objects in order");
    free(want);

    /* The torrent from the pieces, and the one made by reading the objects again. */
    unsigned char *t1 = NULL, *t2 = NULL;
    size_t len1 = 0, len2 = 0;
    char ih1[41], ih2[41];
    sw_tfile files[4];
    for (size_t i = 0; i < 4; i++)
        files[i] = (sw_tfile){m->files[i].path, m->files[i].size};
    ok(sw_bundle_torrent_make(&t1, &len1, ih1, st, m, NULL) == 0, "the torrent read from the objects");
    ok(sw_torrent_create(&t2, &len2, ih2, m->name, files, 4, pc.piece,
                         (const unsigned char(*)[SW_SHA1_LEN])pc.hashes, pc.nhashes, NULL) == 0,
       "the torrent from the pieces hashed while storing");
    ok(len1 == len2 && t1 && t2 && !memcmp(t1, t2, len1) && !strcmp(ih1, ih2), "byte-identical, info-hash %s",
       ih1);
    free(t1);
    free(t2);
    sw_pieces_clear(&pc);
    sw_manifest_free(m);
    sw_store_free(st);
    free(data);
    char *cmd = sw_sprintf("rm -rf '%s'", dir);
    ok(system(cmd) == 0, "clean up");
    free(cmd);
    free(home);
    return tap_done();
}
