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

/* Creates root/<bundle>/ and places the held chunks of each file there (cache/place.h). */
static int sw_fetch_prepare(uint64_t *reused, sw_store *st, const sw_manifest *m, const char *root)
{
    int r = 0;
    for (size_t i = 0; i < m->nfiles && !r; i++) {
        const sw_mfile *f = &m->files[i];
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

/* Waits for torrent id to finish, reporting progress and telling the checker how far the verified data
 * reaches; fails on timeout, stop or a torrent error. Pieces in order while every peer is a seed. */
static int sw_fetch_wait(sw_tsession *s, int id, const sw_fetch_opts *o, sw_tstatus *ts, sw_getcheck *gc)
{
    int in_order = 0;
    sw_tsession_status(ts, s, id);
    double start = sw_now();
    int r = 0, finished = 0, lonely = 0, seen_peer = 0;
    while (!finished && !r) {
        struct pollfd pfd = {sw_tsession_fd(s), POLLIN, 0};
        poll(&pfd, 1, 100);
        sw_tevent ev[16];
        int n = sw_tsession_poll(ev, 16, s);
        for (int i = 0; i < n; i++) {
            if (ev[i].type == SW_TEV_FINISHED && ev[i].id == id)
                finished = 1;
            else if (ev[i].type == SW_TEV_ERROR && ev[i].id == id)
                r = sw_error(SW_ERROR, "%s", ev[i].msg);
            else if (ev[i].type == SW_TEV_PEER_BANNED && o->banned)
                o->banned(o->ctx, ev[i].msg);
        }
        if (sw_tsession_status(ts, s, id) == 0) {
            finished = finished || ts->state == SW_TS_SEEDING;
            sw_getcheck_advance(gc, ts->prefix);
        }
        int want_order = ts->peers > 0 && ts->seeds == ts->peers;
        if (want_order != in_order && sw_tsession_sequential(s, id, want_order) == 0)
            in_order = want_order;
        if (o->progress)
            o->progress(o->ctx, ts);
        seen_peer = seen_peer || ts->peers > 0;
        if (!lonely && !seen_peer && !finished && sw_now() - start > SW_FETCH_LONELY_S) {
            lonely = 1;
            if (o->lonely)
                o->lonely(o->ctx, "no peer has been found; name one with --peer HOST:PORT or --tracker URL, or add "
                                  "a remote with trackers (swarm remote add NAME URL --tracker URL); still "
                                  "waiting (--timeout S bounds the wait)");
        }
        int stopped = o->stop && *o->stop;
        if (stopped || (o->timeout > 0 && sw_now() - start > o->timeout && !finished)) {
            char done[32], total[32], failed[32];
            sw_fmt_bytes(done, sizeof done, ts->done);
            sw_fmt_bytes(total, sizeof total, ts->total);
            r = stopped ? sw_error(SW_ERROR, "interrupted with %s of %s; run the same get again to resume", done, total)
                        : sw_error(SW_ERROR, "timed out after %g s with %s of %s (%d peer%s; %s failed their piece hash)",
                                   o->timeout, done, total, ts->peers, ts->peers == 1 ? "" : "s",
                                   sw_fmt_bytes(failed, sizeof failed, ts->failed));
        }
    }
    return r;
}

/* Downloads m's torrent into root, the checker following. */
static int sw_fetch_download(sw_tstatus *ts, sw_catalog *cat, const sw_manifest *m, const char *root,
                             const sw_fetch_opts *o, sw_getcheck *gc)
{
    unsigned char *t = NULL;
    size_t tlen = 0;
    sw_tsession *s = NULL;
    int id;
    int r = sw_catalog_read_torrent(&t, &tlen, cat, m->name, m->version);
    if (!r)
        r = sw_peer_session(&s, o->peers, "0.0.0.0:0");
    if (!r)
        r = sw_tsession_add(&id, s, t, tlen, root, 0);
    if (!r)
        r = sw_peer_apply(s, id, o->peers);
    if (!r)
        r = sw_fetch_wait(s, id, o, ts, gc);
    sw_tsession_free(s); /* closes the files before they move into the store */
    free(t);
    return r;
}

int sw_fetch(sw_fetch_report *rep, sw_store *st, sw_catalog *cat, const sw_manifest *m, const sw_fetch_opts *o)
{
    memset(rep, 0, sizeof *rep);
    char *root = sw_sprintf("%s/" SW_HOME_INCOMING "/%s", sw_store_home(st),
                            m->torrent_v1[0] ? m->torrent_v1 : "empty");
    sw_getcheck *gc = NULL;
    sw_tstatus ts = {0};
    int r = sw_fetch_prepare(&rep->reused, st, m, root);
    if (!r)
        r = sw_getcheck_start(&gc, m, root, st);
    if (!r && m->torrent_v1[0])
        r = sw_fetch_download(&ts, cat, m, root, o, gc);
    if (!r && sw_getcheck_finish(gc, st))
        r = sw_error_wrap(SW_EINVALID, "refused %s@%s", m->name, m->version);
    if (!r)
        sw_rm_rf(root);
    rep->downloaded = ts.downloaded;
    rep->failed = ts.failed;
    sw_getcheck_free(gc);
    free(root);
    return r;
}
