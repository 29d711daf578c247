/* seed.c — serving held versions (see seed.h). */
#include "net/seed.h"
#include "base/error.h"
#include "bundle/bundle.h"
#include "cache/home.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Makes HOME/seed/<ih>/<bundle>/<path> hard links to the version's objects; returns the save folder. */
static int sw_seed_view(char **out, sw_store *st, const sw_manifest *m)
{
    char *root = sw_sprintf("%s/" SW_HOME_SEED "/%s", sw_store_home(st), m->torrent_v1);
    int r = 0;
    for (size_t i = 0; i < m->nfiles && !r; i++) {
        char *lnk = sw_sprintf("%s/%s/%s", root, m->name, m->files[i].path);
        char *obj = sw_store_object_path(st, &m->files[i].hash);
        char *dir = sw_strdup(lnk);
        *strrchr(dir, '/') = 0;
        struct stat a, b;
        if (lstat(lnk, &a) == 0 && stat(obj, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
            /* already there */
        } else if (sw_mkdir_p(dir)) {
            r = SW_ERROR;
        } else {
            unlink(lnk);
            if (link(obj, lnk) < 0)
                r = sw_error_errno(SW_ERROR, "cannot link %s into the seeding view", m->files[i].path);
        }
        free(dir);
        free(obj);
        free(lnk);
    }
    if (r)
        free(root);
    else
        *out = root;
    return r;
}

typedef struct {
    sw_store *st;
    sw_catalog *cat;
    sw_strlist *out;
} sw_held_ctx;

static int sw_push_if_held(void *ctx, const char *name, const char *version)
{
    sw_held_ctx *h = ctx;
    sw_manifest *m;
    if (sw_catalog_read(&m, h->cat, name, version))
        return 0; /* a bad manifest is fsck's business; it is simply not seeded */
    if (m->torrent_v1[0] && sw_bundle_held(m, h->st)) {
        char *ref = sw_sprintf("%s@%s", name, version);
        sw_strlist_push(h->out, ref);
        free(ref);
    }
    sw_manifest_free(m);
    return 0;
}

int sw_seed_held(sw_strlist *out, sw_store *st, sw_catalog *cat)
{
    sw_held_ctx h = {st, cat, out};
    return sw_catalog_foreach(cat, sw_push_if_held, &h);
}

int sw_seed_add(sw_tsession *s, sw_store *st, sw_catalog *cat, const char *ref, const sw_peer_opts *o)
{
    sw_manifest *m;
    int r = sw_bundle_read(&m, cat, ref);
    if (r)
        return r;
    unsigned char *t = NULL;
    size_t tlen = 0;
    char *save = NULL;
    int id;
    if (!sw_bundle_held(m, st))
        r = sw_error(SW_ENOTFOUND, "%s is not held here; fetch it with 'swarm get %s'", ref, ref);
    else if (!m->torrent_v1[0])
        r = sw_error(SW_EINVALID, "%s holds no bytes: there is nothing to seed", ref);
    if (r) { /* these name the version already */
        sw_manifest_free(m);
        return r;
    }
    r = sw_catalog_read_torrent(&t, &tlen, cat, m->name, m->version);
    if (!r)
        r = sw_seed_view(&save, st, m);
    if (!r)
        r = sw_tsession_add(&id, s, t, tlen, save, SW_TADD_SEED);
    if (!r)
        r = sw_peer_apply(s, id, o);
    free(t);
    free(save);
    sw_manifest_free(m);
    return r ? sw_error_wrap(r, "%s", ref) : 0;
}

/* Super seeds each of the n torrents while two or more peers download it (see seed.h); on[id] is what
 * was set last. A failure leaves the torrent as it was. */
static void sw_seed_super(sw_tsession *s, char *on, size_t n)
{
    for (size_t id = 1; id <= n; id++) {
        sw_tstatus ts;
        if (sw_tsession_status(&ts, s, (int)id))
            continue;
        char want = ts.peers - ts.seeds >= 2;
        if (want != on[id] && !sw_tsession_super_seed(s, (int)id, want))
            on[id] = want;
    }
}

/* The seeder's totals over torrents 1..n. */
static void sw_seed_totals(sw_seed_stats *out, sw_tsession *s, size_t n)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 1; i <= n; i++) {
        sw_tstatus ts;
        if (sw_tsession_status(&ts, s, (int)i) == 0) {
            out->uploaded += ts.uploaded;
            out->peers += ts.peers;
            out->upload_rate += ts.upload_rate;
        }
    }
}

void sw_seed_run(sw_tsession *s, size_t n, const sw_seed_opts *o)
{
    double ticked = 0;
    char *super = sw_calloc(n + 1, 1);
    while (!*o->stop) {
        struct pollfd pfd = {sw_tsession_fd(s), POLLIN, 0};
        poll(&pfd, 1, 200);
        sw_tevent ev[16];
        int k = sw_tsession_poll(ev, 16, s);
        for (int i = 0; i < k; i++)
            if ((ev[i].type == SW_TEV_ERROR || ev[i].type == SW_TEV_LISTEN_FAILED) && o->warn)
                o->warn(o->ctx, ev[i].msg);
        if (o->super_seed)
            sw_seed_super(s, super, n);
        if (o->tick && sw_now() - ticked >= 1) {
            sw_seed_stats stats;
            sw_seed_totals(&stats, s, n);
            o->tick(o->ctx, &stats);
            ticked = sw_now();
        }
    }
    free(super);
}
