/* bundle_torrent.c — deterministic torrents for bundle versions (see bundle_torrent.h). */
#include "net/bundle_torrent.h"
#include "base/error.h"
#include "base/util.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SW_PIECE_MIN (256u << 10)
#define SW_PIECE_MAX (16u << 20)
#define SW_MAX_PIECES 16384u

uint32_t sw_piece_size(uint64_t total)
{
    uint32_t p = SW_PIECE_MIN;
    while (p < SW_PIECE_MAX && (total + p - 1) / p > SW_MAX_PIECES)
        p <<= 1;
    return p;
}

/* The files of a version laid end to end, read by piece. */
typedef struct {
    sw_store *st;
    const sw_manifest *m;
    uint64_t *starts; /* offset of each file in the concatenation */
    uint32_t piece;
    size_t npieces;
    unsigned char (*hashes)[SW_SHA1_LEN];
    int error;
} sw_phash;

typedef struct {
    sw_phash *ph;
    size_t first, last; /* pieces [first, last) */
    int r;
} sw_phash_job;

/* Reads [off, off+len) of the concatenation into buf, opening objects as the range crosses files. */
static int sw_phash_read(sw_phash *ph, int *fds, uint64_t off, unsigned char *buf, size_t len)
{
    size_t f = 0;
    while (f + 1 < ph->m->nfiles && ph->starts[f + 1] <= off)
        f++;
    while (len) {
        const sw_mfile *file = &ph->m->files[f];
        uint64_t in = off - ph->starts[f];
        if (in >= file->size) { /* empty file, or the end of this one */
            f++;
            continue;
        }
        if (fds[f] < 0) {
            char *path = sw_store_object_path(ph->st, &file->hash);
            fds[f] = open(path, O_RDONLY | O_CLOEXEC);
            free(path);
            if (fds[f] < 0)
                return sw_error_errno(SW_ERROR, "cannot read the object of %s", file->path);
        }
        size_t take = file->size - in < len ? (size_t)(file->size - in) : len;
        ssize_t n = pread(fds[f], buf, take, (off_t)in);
        if (n != (ssize_t)take)
            return sw_error(SW_ERROR, "the object of %s is shorter than its manifest says", file->path);
        buf += take;
        off += take;
        len -= take;
    }
    return 0;
}

static void *sw_phash_main(void *arg)
{
    sw_phash_job *job = arg;
    sw_phash *ph = job->ph;
    int *fds = sw_malloc(ph->m->nfiles * sizeof *fds);
    for (size_t i = 0; i < ph->m->nfiles; i++)
        fds[i] = -1;
    unsigned char *buf = sw_malloc(ph->piece);
    uint64_t total = sw_manifest_size(ph->m);
    for (size_t p = job->first; p < job->last && !job->r; p++) {
        uint64_t off = (uint64_t)p * ph->piece;
        size_t len = total - off < ph->piece ? (size_t)(total - off) : ph->piece;
        job->r = sw_phash_read(ph, fds, off, buf, len);
        unsigned int n = 0;
        if (!job->r)
            EVP_Digest(buf, len, ph->hashes[p], &n, EVP_sha1(), NULL);
    }
    for (size_t i = 0; i < ph->m->nfiles; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    free(buf);
    return NULL;
}

int sw_bundle_torrent_make(unsigned char **out, size_t *len, char ih_hex[41], sw_store *st, const sw_manifest *m,
                           const char *const *trackers)
{
    uint64_t total = sw_manifest_size(m);
    sw_phash ph = {st, m, sw_malloc((m->nfiles + 1) * sizeof(uint64_t)), sw_piece_size(total), 0, NULL, 0};
    ph.npieces = (size_t)((total + ph.piece - 1) / ph.piece);
    ph.hashes = sw_malloc((ph.npieces ? ph.npieces : 1) * SW_SHA1_LEN);
    sw_tfile *files = sw_malloc((m->nfiles ? m->nfiles : 1) * sizeof *files);
    uint64_t at = 0;
    for (size_t i = 0; i < m->nfiles; i++) {
        ph.starts[i] = at;
        at += m->files[i].size;
        files[i] = (sw_tfile){m->files[i].path, m->files[i].size};
    }
    /* Two workers, each a contiguous half of the pieces. */
    sw_phash_job jobs[2] = {{&ph, 0, ph.npieces / 2, 0}, {&ph, ph.npieces / 2, ph.npieces, 0}};
    pthread_t th;
    int threaded = ph.npieces >= 8 && pthread_create(&th, NULL, sw_phash_main, &jobs[1]) == 0;
    sw_phash_main(&jobs[0]);
    if (threaded)
        pthread_join(th, NULL);
    else
        sw_phash_main(&jobs[1]);
    int r = jobs[0].r ? jobs[0].r : jobs[1].r;
    if (!r)
        r = sw_torrent_create(out, len, ih_hex, m->name, files, m->nfiles, ph.piece,
                              (const unsigned char(*)[SW_SHA1_LEN])ph.hashes, ph.npieces, trackers);
    free(files);
    free(ph.hashes);
    free(ph.starts);
    return r;
}

/* Whether pc holds the pieces of exactly m's files: fed in m's order (by object and size), ended, at
 * the piece size of the rule. A file that changed while it was added, or files added in another order,
 * fail this and the pieces are read again from the objects. */
static int sw_pieces_fit(const sw_pieces *pc, const sw_manifest *m)
{
    uint64_t total = sw_manifest_size(m);
    if (!pc || !pc->ended || pc->piece != sw_piece_size(total) || pc->total != total ||
        pc->nstreams != m->nfiles || pc->nhashes != (total + pc->piece - 1) / pc->piece)
        return 0;
    for (size_t i = 0; i < m->nfiles; i++)
        if (pc->streams[i].size != m->files[i].size || !sw_hash_eq(&pc->streams[i].hash, &m->files[i].hash))
            return 0;
    return 1;
}

/* sw_bundle_torrent_make, taking the piece hashes from pc when they fit m instead of reading the
 * objects. */
static int sw_bundle_torrent_make_from(unsigned char **out, size_t *len, char ih_hex[41], sw_store *st,
                                       const sw_manifest *m, const sw_pieces *pc, const char *const *trackers)
{
    _Static_assert(SW_PIECE_HASH_LEN == SW_SHA1_LEN, "a piece hash is a SHA-1");
    if (!sw_pieces_fit(pc, m))
        return sw_bundle_torrent_make(out, len, ih_hex, st, m, trackers);
    sw_tfile *files = sw_malloc((m->nfiles ? m->nfiles : 1) * sizeof *files);
    for (size_t i = 0; i < m->nfiles; i++)
        files[i] = (sw_tfile){m->files[i].path, m->files[i].size};
    int r = sw_torrent_create(out, len, ih_hex, m->name, files, m->nfiles, pc->piece,
                              (const unsigned char(*)[SW_SHA1_LEN])pc->hashes, pc->nhashes, trackers);
    free(files);
    return r;
}

int sw_bundle_torrent_check(const sw_torrent_info *ti, const sw_manifest *m)
{
    if (strcmp(ti->name, m->name))
        return sw_error(SW_EINVALID, "torrent: its folder is '%s', not '%s'", ti->name, m->name);
    if (ti->nfiles != m->nfiles)
        return sw_error(SW_EINVALID, "torrent: %zu files, the manifest has %zu", ti->nfiles, m->nfiles);
    for (size_t i = 0; i < m->nfiles; i++)
        if (strcmp(ti->files[i].path, m->files[i].path) || ti->files[i].size != m->files[i].size)
            return sw_error(SW_EINVALID, "torrent: file %zu is '%s' (%llu bytes), the manifest says '%s' (%llu)", i,
                            ti->files[i].path, (unsigned long long)ti->files[i].size, m->files[i].path,
                            (unsigned long long)m->files[i].size);
    if (ti->piece_size != sw_piece_size(sw_manifest_size(m)))
        return sw_error(SW_EINVALID, "torrent: piece size %u is not swarm's %u", ti->piece_size,
                        sw_piece_size(sw_manifest_size(m)));
    if (strcmp(ti->ih_hex, m->torrent_v1))
        return sw_error(SW_EINVALID, "torrent: info-hash %s is not the manifest's %s", ti->ih_hex,
                        m->torrent_v1[0] ? m->torrent_v1 : "(none)");
    return 0;
}

int sw_bundle_torrent_check_bytes(const sw_manifest *m, const void *torrent, size_t len)
{
    sw_torrent_info ti;
    int r = sw_torrent_parse(&ti, torrent, len);
    if (r)
        return r;
    r = sw_bundle_torrent_check(&ti, m);
    sw_torrent_info_free(&ti);
    return r;
}

int sw_bundle_commit(sw_catalog *cat, sw_store *st, sw_manifest *m)
{
    return sw_bundle_commit_pieces(cat, st, m, NULL);
}

int sw_bundle_commit_pieces(sw_catalog *cat, sw_store *st, sw_manifest *m, const sw_pieces *pieces)
{
    unsigned char *torrent = NULL;
    size_t len = 0;
    int r = sw_manifest_sort(m);
    if (!r && sw_manifest_size(m))
        r = sw_bundle_torrent_make_from(&torrent, &len, m->torrent_v1, st, m, pieces, NULL);
    if (!r)
        r = sw_catalog_add(cat, m, torrent, len);
    free(torrent);
    return r;
}
