/* fetch.c — a bundle version from peers into the store (see fetch.h). */
#include "net/fetch.h"
#include "base/error.h"
#include "cache/home.h"
#include "cache/place.h"
#include "net/bundle_torrent.h"
#include "net/getcheck.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sw_catalog *cat;
    const char *ih;
    sw_manifest *found;
} sw_ih_ctx;

static int sw_match_ih(void *ctx, const char *name, const char *version)
{
    sw_ih_ctx *f = ctx;
    sw_manifest *m;
    if (sw_catalog_read(&m, f->cat, name, version))
        return 0;
    if (strcmp(m->torrent_v1, f->ih)) {
        sw_manifest_free(m);
        return 0;
    }
    f->found = m;
    return 1; /* stop */
}

/* Finds the version whose torrent has info-hash ih (40 lower-case hex digits). */
static int sw_find_by_infohash(sw_manifest **out, sw_catalog *cat, const char *ih)
{
    sw_ih_ctx f = {cat, ih, NULL};
    int r = sw_catalog_foreach(cat, sw_match_ih, &f);
    *out = f.found;
    if (f.found)
        return 0;
    return r ? r : sw_error(SW_ENOTFOUND, "no version in the catalog has info-hash %s; pull the catalog that lists it", ih);
}

int sw_fetch_resolve(sw_manifest **out, sw_catalog *cat, const char *what)
{
    if (!strncmp(what, "magnet:?", 8)) {
        const char *xt = strstr(what, "xt=urn:btih:");
        char ih[41] = {0};
        if (!xt || strspn(xt + 12, "0123456789abcdefABCDEF") < 40)
            return sw_error(SW_EINVALID, "the magnet link has no v1 info-hash (xt=urn:btih:<40 hex digits>)");
        for (int i = 0; i < 40; i++)
            ih[i] = (char)(xt[12 + i] | 0x20); /* lower-case */
        return sw_find_by_infohash(out, cat, ih);
    }
    char *data;
    size_t len;
    int r = sw_read_file(&data, &len, what, 64u << 20);
    if (r)
        return r;
    sw_torrent_info ti;
    r = sw_torrent_parse(&ti, data, len);
    free(data);
    if (r)
        return sw_error_wrap(r, "%s", what);
    r = sw_find_by_infohash(out, cat, ti.ih_hex);
    if (!r && (r = sw_bundle_torrent_check(&ti, *out))) {
        sw_manifest_free(*out);
        *out = NULL;
    }
    sw_torrent_info_free(&ti);
    return r;
}

/* Creates root/<bundle>/ and places the held chunks of each wanted file there (cache/place.h). */
static int sw_fetch_prepare(uint64_t *reused, sw_store *st, const sw_manifest *m, const char *root,
                            const sw_strlist *only)
{
    int r = 0;
    for (size_t i = 0; i < m->nfiles && !r; i++) {
        const sw_mfile *f = &m->files[i];
        if (!sw_fetch_wants(only, f->path))
            continue;
        char *path = sw_sprintf("%s/%s/%s", root, m->name, f->path);
        char *dir = sw_strdup(path);
        *strrchr(dir, '/') = 0;
        r = sw_mkdir_p(dir);
        if (!r)
            r = sw_place_file(reused, st, f->chunks, f->nchunks, f->size, path);
        free(dir);
        free(path);
    }
    return r;
}

/* One version of a fetch: where its files land, its checker, its torrent in the session. */
typedef struct {
    const sw_manifest *m;
    const void *torrent; /* its torrent's bytes, or NULL: the catalog's */
    size_t torrent_len;
    char *root;
    sw_getcheck *gc;
    int id;       /* 0 when it has no torrent (no bytes) */
    int finished;
    sw_tstatus ts;
} sw_fetching;

/* The sum of the versions' statuses, for progress and messages. */
static void sw_fetch_total(sw_tstatus *sum, const sw_fetching *f, size_t n)
{
    memset(sum, 0, sizeof *sum);
    sum->state = SW_TS_DOWNLOADING;
    for (size_t i = 0; i < n; i++) {
        sum->total += f[i].ts.total;
        sum->done += f[i].ts.done;
        sum->prefix += f[i].ts.prefix;
        sum->downloaded += f[i].ts.downloaded;
        sum->failed += f[i].ts.failed;
        sum->download_rate += f[i].ts.download_rate;
        sum->peers = f[i].ts.peers > sum->peers ? f[i].ts.peers : sum->peers;
        sum->seeds = f[i].ts.seeds > sum->seeds ? f[i].ts.seeds : sum->seeds;
    }
}

/* Polls the session once: events, each torrent's status (the checkers follow the verified prefix),
 * pieces in order while every peer of a torrent is a seed. Returns how many torrents are unfinished, or
 * a negative code on a torrent error. */
static int sw_fetch_poll(sw_tsession *s, sw_fetching *f, size_t n, const sw_fetch_opts *o, int *in_order)
{
    struct pollfd pfd = {sw_tsession_fd(s), POLLIN, 0};
    poll(&pfd, 1, 100);
    sw_tevent ev[16];
    int nev = sw_tsession_poll(ev, 16, s), left = 0;
    for (int e = 0; e < nev; e++)
        for (size_t i = 0; i < n; i++) {
            if (ev[e].id != f[i].id || !f[i].id)
                continue;
            if (ev[e].type == SW_TEV_FINISHED)
                f[i].finished = 1;
            else if (ev[e].type == SW_TEV_ERROR)
                return sw_error(SW_ERROR, "%s", ev[e].msg);
            else if (ev[e].type == SW_TEV_PEER_BANNED && o->banned)
                o->banned(o->ctx, ev[e].msg);
        }
    for (size_t i = 0; i < n; i++) {
        if (!f[i].id)
            continue;
        if (sw_tsession_status(&f[i].ts, s, f[i].id) == 0) {
            f[i].finished = f[i].finished || f[i].ts.state == SW_TS_SEEDING;
            sw_getcheck_advance(f[i].gc, f[i].ts.prefix);
        }
        int want_order = f[i].ts.peers > 0 && f[i].ts.seeds == f[i].ts.peers;
        if (want_order != in_order[i] && sw_tsession_sequential(s, f[i].id, want_order) == 0)
            in_order[i] = want_order;
        left += !f[i].finished;
    }
    return left;
}

/* Waits for every torrent to finish, reporting progress; fails on timeout, stop or a torrent error. */
static int sw_fetch_wait(sw_tsession *s, sw_fetching *f, size_t n, const sw_fetch_opts *o, sw_tstatus *ts)
{
    int *in_order = sw_calloc(n, sizeof *in_order);
    double start = sw_now();
    int r = 0, left = 1, lonely = 0, seen_peer = 0;
    while (left > 0 && !r) {
        if ((left = sw_fetch_poll(s, f, n, o, in_order)) < 0)
            r = left;
        sw_fetch_total(ts, f, n);
        if (o->progress)
            o->progress(o->ctx, ts);
        seen_peer = seen_peer || ts->peers > 0;
        if (!lonely && !seen_peer && left > 0 && sw_now() - start > SW_FETCH_LONELY_S) {
            lonely = 1;
            if (o->lonely)
                o->lonely(o->ctx, "no peer has been found; name one with --peer HOST:PORT or --tracker URL, or add "
                                  "a remote with trackers (swarm remote add NAME URL --tracker URL); still "
                                  "waiting (--timeout S bounds the wait)");
        }
        int stopped = o->stop && *o->stop;
        if (!r && left > 0 && (stopped || (o->timeout > 0 && sw_now() - start > o->timeout))) {
            char done[32], total[32], failed[32];
            sw_fmt_bytes(done, sizeof done, ts->done);
            sw_fmt_bytes(total, sizeof total, ts->total);
            r = stopped ? sw_error(SW_ERROR, "interrupted with %s of %s; run the same get again to resume", done, total)
                        : sw_error(SW_ERROR, "timed out after %g s with %s of %s (%d peer%s; %s failed their piece hash)",
                                   o->timeout, done, total, ts->peers, ts->peers == 1 ? "" : "s",
                                   sw_fmt_bytes(failed, sizeof failed, ts->failed));
        }
    }
    free(in_order);
    return r;
}

/* Downloads the versions' torrents into their roots in one session, the checkers following. */
static int sw_fetch_download(sw_tstatus *ts, sw_catalog *cat, sw_fetching *f, size_t n, const sw_fetch_opts *o)
{
    sw_tsession *s = NULL;
    int r = sw_peer_session(&s, o->peers, "0.0.0.0:0");
    for (size_t i = 0; i < n && !r; i++) {
        unsigned char *t = NULL;
        size_t tlen = 0;
        if (!f[i].m->torrent_v1[0])
            continue;
        if (f[i].torrent)
            r = sw_tsession_add(&f[i].id, s, f[i].torrent, f[i].torrent_len, f[i].root, 0);
        else if ((r = sw_catalog_read_torrent(&t, &tlen, cat, f[i].m->name, f[i].m->version)) == 0)
            r = sw_tsession_add(&f[i].id, s, t, tlen, f[i].root, 0);
        if (!r && o->only) {
            unsigned char *want = sw_calloc(f[i].m->nfiles ? f[i].m->nfiles : 1, 1);
            for (size_t k = 0; k < f[i].m->nfiles; k++)
                want[k] = (unsigned char)sw_fetch_wants(o->only, f[i].m->files[k].path);
            r = sw_tsession_want_files(s, f[i].id, want, f[i].m->nfiles);
            free(want);
        }
        if (!r)
            r = sw_peer_apply(s, f[i].id, o->peers);
        free(t);
    }
    if (!r)
        r = sw_fetch_wait(s, f, n, o, ts);
    sw_tsession_free(s); /* closes the files before they move into the store */
    return r;
}

int sw_fetch_all(sw_fetch_report *rep, sw_store *st, sw_catalog *cat, const sw_fetch_item *items, size_t n,
                 const sw_fetch_opts *o)
{
    memset(rep, 0, sizeof *rep);
    sw_fetching *f = sw_calloc(n ? n : 1, sizeof *f);
    sw_tstatus ts = {0};
    int r = 0, any = 0;
    for (size_t i = 0; i < n && !r; i++) {
        const sw_manifest *m = items[i].m;
        f[i].m = m;
        f[i].torrent = items[i].torrent;
        f[i].torrent_len = items[i].torrent_len;
        f[i].root = sw_sprintf("%s/" SW_HOME_INCOMING "/%s", sw_store_home(st), m->torrent_v1[0] ? m->torrent_v1 : "empty");
        r = sw_fetch_prepare(&rep->reused, st, m, f[i].root, o->only);
        if (!r)
            r = sw_getcheck_start(&f[i].gc, m, f[i].root, st, o->only);
        any |= m->torrent_v1[0] != 0;
    }
    if (!r && any)
        r = sw_fetch_download(&ts, cat, f, n, o);
    for (size_t i = 0; i < n && !r; i++) {
        if (sw_getcheck_finish(f[i].gc, st))
            r = sw_error_wrap(SW_EINVALID, "refused %s@%s", f[i].m->name, f[i].m->version);
        else
            sw_rm_rf(f[i].root);
    }
    rep->downloaded = ts.downloaded;
    rep->failed = ts.failed;
    for (size_t i = 0; i < n; i++) {
        sw_getcheck_free(f[i].gc);
        free(f[i].root);
    }
    free(f);
    return r;
}

int sw_fetch(sw_fetch_report *rep, sw_store *st, sw_catalog *cat, const sw_manifest *m, const sw_fetch_opts *o)
{
    sw_fetch_item item = {m, NULL, 0};
    return sw_fetch_all(rep, st, cat, &item, 1, o);
}
