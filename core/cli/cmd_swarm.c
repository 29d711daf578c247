/* cmd_swarm.c — swarm seed, get, torrent and magnet: bundle versions over BitTorrent.
 *
 * seed serves versions straight from the store: a version's files are hard links to its read-only
 * objects under HOME/seed/<info-hash>/<bundle>/ (no second copy; a complete torrent never writes).
 * get downloads into HOME/incoming/<info-hash>/<bundle>/, first placing every chunk the store already
 * holds at its offset in the new files (copies, never links: libtorrent writes into these files), so
 * libtorrent's check finds those pieces present and fetches only the rest. When every piece is in,
 * each file is hashed and must match its manifest SHA-256 before it is renamed into the store; a file
 * that does not match is deleted and nothing of the version is recorded. An interrupted get leaves
 * its incoming files, and the next get resumes from them (libtorrent re-checks them on add).
 *
 * Discovery: explicit peers (--peer), trackers (--tracker, and those of the catalog's remotes); DHT and local peer discovery are on
 * unless turned off (--no-dht, --no-lsd) or the session listens on a loopback address, where there is
 * nothing to discover. UPnP and NAT-PMP are never used: they would probe the local gateway. */
#include "net/bundle_torrent.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "base/error.h"
#include "net/getcheck.h"
#include "bundle/names.h"
#include "cli/progress.h"
#include "net/torrent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t sw_stop; /* set by SIGINT/SIGTERM: the one piece of global state here */

static void sw_on_signal(int sig)
{
    (void)sig;
    sw_stop = 1;
}

static void sw_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sw_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Options shared by seed and get. */
typedef struct {
    const char *listen;
    sw_strlist peers, trackers;
    int no_dht, no_lsd;
    long up_limit, down_limit; /* bytes per second, 0 = none */
    double timeout; /* get: seconds, 0 = none */
    int super_seed; /* seed: super seed while two or more peers download */
} sw_netopts;

enum { SW_OPT_LISTEN = 0x2001, SW_OPT_PEER, SW_OPT_TRACKER, SW_OPT_NO_DHT, SW_OPT_NO_LSD, SW_OPT_TIMEOUT,
       SW_OPT_UP, SW_OPT_DOWN, SW_OPT_V1, SW_OPT_SUPER };

static const struct option sw_net_opts[] = {
    {"listen", required_argument, NULL, SW_OPT_LISTEN}, {"peer", required_argument, NULL, SW_OPT_PEER},
    {"tracker", required_argument, NULL, SW_OPT_TRACKER}, {"no-dht", no_argument, NULL, SW_OPT_NO_DHT},
    {"no-lsd", no_argument, NULL, SW_OPT_NO_LSD}, {"timeout", required_argument, NULL, SW_OPT_TIMEOUT},
    {"upload-limit", required_argument, NULL, SW_OPT_UP}, {"download-limit", required_argument, NULL, SW_OPT_DOWN},
    {"super-seed", no_argument, NULL, SW_OPT_SUPER},
    SW_CLI_COMMON_OPTS, {0}};

/* Parses a rate: bytes per second with an optional K, M or G (binary) suffix. Returns -1 when bad. */
static long sw_parse_rate(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    double mult = *end == 'K' ? 1024.0 : *end == 'M' ? 1048576.0 : *end == 'G' ? 1073741824.0 : 1.0;
    if (mult > 1)
        end++;
    return *end || v <= 0 || v * mult > 2e9 ? -1 : (long)(v * mult);
}

/* Parses the options; returns 0, or 2 after a usage error. */
static int sw_netopts_parse(sw_netopts *o, sw_cli *cli, int argc, char **argv, const char *usage, int get)
{
    int c;
    optind = 0;
    while ((c = sw_cli_getopt(cli, argc, argv, "qv", sw_net_opts, usage)) != -1) {
        switch (c) {
        case '?':
            return 2;
        case SW_OPT_LISTEN:
            o->listen = optarg;
            break;
        case SW_OPT_PEER:
            if (!strrchr(optarg, ':'))
                return sw_cli_usage(usage, "--peer wants HOST:PORT, not '%s'", optarg);
            sw_strlist_push(&o->peers, optarg);
            break;
        case SW_OPT_TRACKER:
            sw_strlist_push(&o->trackers, optarg);
            break;
        case SW_OPT_NO_DHT:
            o->no_dht = 1;
            break;
        case SW_OPT_NO_LSD:
            o->no_lsd = 1;
            break;
        case SW_OPT_UP:
        case SW_OPT_DOWN: {
            long v = sw_parse_rate(optarg);
            if (v < 0)
                return sw_cli_usage(usage, "a rate is bytes per second, e.g. 500K or 20M, not '%s'", optarg);
            *(c == SW_OPT_UP ? &o->up_limit : &o->down_limit) = v;
            break;
        }
        case SW_OPT_SUPER:
            if (get)
                return sw_cli_usage(usage, "--super-seed is for seed");
            o->super_seed = 1;
            break;
        case SW_OPT_TIMEOUT: {
            char *end;
            o->timeout = strtod(optarg, &end);
            if (!get || *end || o->timeout <= 0)
                return sw_cli_usage(usage, get ? "--timeout wants a number of seconds" : "--timeout is for get");
            break;
        }
        }
    }
    return 0;
}

static void sw_netopts_free(sw_netopts *o)
{
    sw_strlist_free(&o->peers);
    sw_strlist_free(&o->trackers);
}

static int sw_is_loopback(const char *listen)
{
    return !strncmp(listen, "127.", 4) || !strncmp(listen, "[::1]", 5) || !strncmp(listen, "localhost", 9);
}

/* Starts a session with the options' listen address and discovery settings. */
static int sw_netopts_session(sw_tsession **out, const sw_netopts *o, const char *default_listen)
{
    const char *listen = o->listen ? o->listen : default_listen;
    int local = sw_is_loopback(listen);
    char *iface = sw_sprintf("listen_interfaces=%s", listen);
    char *up = sw_sprintf("upload_rate_limit=%ld", o->up_limit);
    char *down = sw_sprintf("download_rate_limit=%ld", o->down_limit);
    const char *settings[] = {iface,
                              up,
                              down,
                              o->no_dht || local ? "enable_dht=false" : "enable_dht=true",
                              o->no_lsd || local ? "enable_lsd=false" : "enable_lsd=true",
                              "enable_upnp=false",
                              "enable_natpmp=false",
                              NULL};
    int r = sw_tsession_new(out, settings);
    free(iface);
    free(up);
    free(down);
    return r;
}

/* Points a torrent at the options' peers and trackers. */
static int sw_netopts_apply(sw_tsession *s, int id, const sw_netopts *o)
{
    for (size_t i = 0; i < o->peers.n; i++) {
        char *host = sw_strdup(o->peers.v[i]);
        char *colon = strrchr(host, ':');
        *colon = 0;
        char *h = host;
        if (h[0] == '[' && colon[-1] == ']') { /* [::1]:port */
            h++;
            colon[-1] = 0;
        }
        int r = sw_tsession_connect(s, id, h, atoi(colon + 1));
        free(host);
        if (r)
            return r;
    }
    for (size_t i = 0; i < o->trackers.n; i++)
        if (sw_tsession_add_tracker(s, id, o->trackers.v[i]))
            return SW_ERROR;
    return 0;
}

/* ---- seed --------------------------------------------------------------------------------------- */

/* Makes HOME/seed/<ih>/<bundle>/<path> hard links to the version's objects; returns the save folder. */
static int sw_seed_view(char **out, sw_store *st, const sw_manifest *m)
{
    char *root = sw_sprintf("%s/seed/%s", sw_store_home(st), m->torrent_v1);
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
    if (m->torrent_v1[0] && sw_cli_held_files(m, h->st) == m->nfiles) {
        char *ref = sw_sprintf("%s@%s", name, version);
        sw_strlist_push(h->out, ref);
        free(ref);
    }
    sw_manifest_free(m);
    return 0;
}

/* Every held version with a torrent, as NAME@VERSION. */
static int sw_held_versions(sw_strlist *out, sw_store *st, sw_catalog *cat)
{
    sw_held_ctx h = {st, cat, out};
    return sw_catalog_foreach(cat, sw_push_if_held, &h);
}

/* Adds one version to the seeding session. */
static int sw_seed_one(sw_tsession *s, sw_store *st, sw_catalog *cat, const char *ref, const sw_netopts *o)
{
    sw_manifest *m;
    if (sw_cli_manifest(&m, cat, ref))
        return SW_ERROR;
    unsigned char *t = NULL;
    size_t tlen = 0;
    char *save = NULL;
    int id, r = 0;
    if (sw_cli_held_files(m, st) != m->nfiles)
        r = sw_error(SW_ENOTFOUND, "%s is not held here; fetch it with 'swarm get %s'", ref, ref);
    else if (!m->torrent_v1[0])
        r = sw_error(SW_EINVALID, "%s holds no bytes: there is nothing to seed", ref);
    if (!r)
        r = sw_catalog_read_torrent(&t, &tlen, cat, m->name, m->version);
    if (!r)
        r = sw_seed_view(&save, st, m);
    if (!r)
        r = sw_tsession_add(&id, s, t, tlen, save, SW_TADD_SEED);
    if (!r)
        r = sw_netopts_apply(s, id, o);
    free(t);
    free(save);
    sw_manifest_free(m);
    return r ? sw_error_wrap(r, "%s", ref) : 0;
}

/* With --super-seed: super seeds each of the n torrents (ids 1..n) while two or more peers download it,
 * and seeds it plainly otherwise, so a lone downloader gets the seeder's full speed and a crowd trades
 * what the seeder sent once. Opt-in: a peer gets one piece at a time from a super seeder, which starves
 * peers that cannot reach one another (behind NAT, or told only of the seeder). on[id] is what was set
 * last. A failure leaves the torrent as it was. */
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

int sw_cmd_seed(sw_cli *cli, int argc, char **argv)
{
    sw_netopts o = {0};
    int rc = sw_netopts_parse(&o, cli, argc, argv, SW_USAGE_SEED, 0);
    if (rc) {
        sw_netopts_free(&o);
        return rc;
    }
    sw_store *st = NULL;
    sw_catalog *cat = NULL;
    sw_tsession *s = NULL;
    sw_strlist refs = {0};
    if (sw_cli_open(cli, &st, &cat)) {
        rc = 1;
        goto done;
    }
    for (int i = optind; i < argc; i++)
        sw_strlist_push(&refs, argv[i]);
    if (sw_catalog_trackers(&o.trackers, cat)) {
        rc = sw_cli_fail();
        goto done;
    }
    if (!refs.n && sw_held_versions(&refs, st, cat)) {
        rc = sw_cli_fail();
        goto done;
    }
    if (!refs.n) {
        sw_error(SW_ENOTFOUND, "nothing to seed: no version with bytes is held here");
        rc = sw_cli_fail();
        goto done;
    }
    if (sw_netopts_session(&s, &o, "0.0.0.0:6881")) {
        rc = sw_cli_fail();
        goto done;
    }
    for (size_t i = 0; i < refs.n; i++)
        if (sw_seed_one(s, st, cat, refs.v[i], &o)) {
            rc = sw_cli_fail();
            goto done;
        }
    sw_cli_note(cli, "seeding %zu version%s on port %d (Ctrl-C stops)", refs.n, refs.n == 1 ? "" : "s",
                sw_tsession_port(s));
    sw_catch_signals();
    double drawn = 0;
    char *super = sw_calloc(refs.n + 1, 1);
    while (!sw_stop) {
        struct pollfd pfd = {sw_tsession_fd(s), POLLIN, 0};
        poll(&pfd, 1, 200);
        sw_tevent ev[16];
        int n = sw_tsession_poll(ev, 16, s);
        for (int i = 0; i < n; i++)
            if (ev[i].type == SW_TEV_ERROR || ev[i].type == SW_TEV_LISTEN_FAILED)
                fprintf(stderr, "swarm: warning: %s\n", ev[i].msg);
        if (o.super_seed)
            sw_seed_super(s, super, refs.n);
        if (cli->progress && sw_now() - drawn >= 1) {
            uint64_t up = 0;
            int peers = 0, rate = 0;
            for (size_t i = 1; i <= refs.n; i++) {
                sw_tstatus ts;
                if (sw_tsession_status(&ts, s, (int)i) == 0) {
                    up += ts.uploaded;
                    peers += ts.peers;
                    rate += ts.upload_rate;
                }
            }
            char b[32];
            fprintf(stderr, "\r\033[Kseeding %zu: %d peer%s, up %.1f MB/s, %s uploaded", refs.n, peers,
                    peers == 1 ? "" : "s", rate / 1e6, sw_fmt_bytes(b, sizeof b, up));
            drawn = sw_now();
        }
    }
    free(super);
    if (cli->progress)
        fputs("\r\033[K", stderr);
    sw_cli_note(cli, "stopped seeding");
done:
    sw_tsession_free(s);
    sw_strlist_free(&refs);
    sw_catalog_free(cat);
    sw_store_free(st);
    sw_netopts_free(&o);
    return rc;
}

/* ---- get ---------------------------------------------------------------------------------------- */

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

/* Resolves a magnet link or a .torrent file to a version of the catalog; a .torrent must describe
 * exactly that version's files. */
static int sw_get_resolve(sw_manifest **out, sw_catalog *cat, const char *what)
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

/* Copies len bytes of the object obj at offset from into fd at offset to; whether all were copied. */
static int sw_get_copy(sw_store *st, const sw_hash *obj, uint64_t from, int fd, uint64_t to, size_t len)
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
 * run. Only a guess: libtorrent checks every piece before counting it and downloads what the guess got
 * wrong, but the pieces that straddle an edit's unchanged neighbours no longer travel. */
static void sw_get_guess(sw_store *st, const sw_mfile *f, const sw_held *held, size_t i, size_t j, int fd)
{
    const sw_held *prev = i > 0 ? &held[i - 1] : NULL, *next = j < f->nchunks ? &held[j] : NULL;
    uint64_t from = f->chunks[i].offset, to = j < f->nchunks ? f->chunks[j].offset : f->size;
    uint64_t mid = prev ? (next ? from + (to - from) / 2 : to) : from;
    if (prev)
        sw_get_copy(st, &prev->obj, prev->off + f->chunks[i - 1].length, fd, from, (size_t)(mid - from));
    if (next && next->off >= to - mid)
        sw_get_copy(st, &next->obj, next->off - (to - mid), fd, mid, (size_t)(to - mid));
}

/* Writes every chunk the store holds into a new incoming file at its offset (adding their bytes to
 * *reused), then guesses the runs of chunks between them (sw_get_guess). */
static int sw_get_prefill(sw_store *st, const sw_mfile *f, const char *path, uint64_t *reused)
{
    uint64_t before = *reused;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EEXIST ? 0 : sw_error_errno(SW_ERROR, "cannot create %s", path); /* resuming */
    sw_held *held = sw_calloc(f->nchunks ? f->nchunks : 1, sizeof *held);
    for (size_t k = 0; k < f->nchunks; k++) {
        const sw_chunk *c = &f->chunks[k];
        sw_held *h = &held[k];
        h->found = sw_index_find_chunk(&h->obj, &h->off, sw_store_index(st), &c->hash) == 0 &&
                   sw_get_copy(st, &h->obj, h->off, fd, c->offset, c->length);
        if (h->found)
            *reused += c->length;
    }
    for (size_t k = 0; k < f->nchunks && *reused > before;) { /* each run of chunks not held */
        size_t end = k;
        while (end < f->nchunks && !held[end].found)
            end++;
        if (end > k)
            sw_get_guess(st, f, held, k, end, fd);
        k = end + 1;
    }
    free(held);
    int r = 0;
    if (ftruncate(fd, (off_t)f->size) < 0)
        r = sw_error_errno(SW_ERROR, "cannot size %s", path);
    close(fd);
    /* Nothing reused: leave the file to libtorrent, which would otherwise read and hash all of it
     * (a sparse file of zeros) before asking for a single piece. Empty files stay: nothing fetches them. */
    if (!r && f->size && *reused == before)
        unlink(path);
    return r;
}

/* Waits for the torrent to finish, drawing progress and telling the checker how far the verified data
 * reaches; fails on timeout, interrupt or error. While every connected peer is a seed, pieces are asked
 * for in order: rarest-first only pays where peers trade with one another, and in order the checker
 * hashes each file while the rest arrives. With other downloaders around it is rarest-first again. */
static int sw_get_wait(sw_cli *cli, sw_tsession *s, int id, const sw_netopts *o, sw_tstatus *ts, sw_getcheck *gc)
{
    int in_order = 0;
    sw_progress p;
    sw_tsession_status(ts, s, id);
    sw_progress_begin(&p, cli->progress, "get", ts->total);
    double start = sw_now();
    int r = 0, finished = 0;
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
            else if (ev[i].type == SW_TEV_PEER_BANNED && cli->verbosity > 0)
                fprintf(stderr, "swarm: note: banned peer %s (sent bad data)\n", ev[i].msg);
        }
        if (sw_tsession_status(ts, s, id) == 0) {
            finished = finished || ts->state == SW_TS_SEEDING;
            sw_getcheck_advance(gc, ts->prefix);
        }
        int want_order = ts->peers > 0 && ts->seeds == ts->peers;
        if (want_order != in_order && sw_tsession_sequential(s, id, want_order) == 0)
            in_order = want_order;
        p.done = 0;
        p.peers = ts->peers;
        sw_progress_step(&p, ts->done);
        if (sw_stop)
            r = sw_error(SW_ERROR, "interrupted with %llu of %llu bytes; run the same get again to resume",
                         (unsigned long long)ts->done, (unsigned long long)ts->total);
        else if (o->timeout > 0 && sw_now() - start > o->timeout && !finished)
            r = sw_error(SW_ERROR, "timed out after %g s with %llu of %llu bytes (%d peer%s; %llu bytes failed their piece hash)",
                         o->timeout, (unsigned long long)ts->done, (unsigned long long)ts->total, ts->peers,
                         ts->peers == 1 ? "" : "s", (unsigned long long)ts->failed);
    }
    sw_progress_end(&p);
    return r;
}

int sw_cmd_get(sw_cli *cli, int argc, char **argv)
{
    sw_netopts o = {0};
    int rc = sw_netopts_parse(&o, cli, argc, argv, SW_USAGE_GET, 1);
    if (!rc && argc - optind != 1)
        rc = sw_cli_usage(SW_USAGE_GET, argc - optind ? "give one version, magnet or .torrent" : "missing argument");
    if (rc) {
        sw_netopts_free(&o);
        return rc;
    }
    const char *what = argv[optind];
    sw_store *st = NULL;
    sw_catalog *cat = NULL;
    sw_manifest *m = NULL;
    sw_tsession *s = NULL;
    unsigned char *t = NULL;
    size_t tlen = 0;
    char *root = NULL;
    uint64_t reused = 0;
    sw_tstatus ts = {0};
    sw_getcheck *gc = NULL;
    if (sw_cli_open(cli, &st, &cat)) {
        rc = 1;
        goto done;
    }
    if (sw_catalog_trackers(&o.trackers, cat)) {
        rc = sw_cli_fail();
        goto done;
    }
    struct stat sb;
    if (strncmp(what, "magnet:", 7) && stat(what, &sb) < 0) { /* NAME@VERSION */
        if (sw_cli_manifest(&m, cat, what)) {
            rc = 1;
            goto done;
        }
    } else if (sw_get_resolve(&m, cat, what)) {
        rc = sw_cli_fail();
        goto done;
    }
    if (sw_cli_held_files(m, st) == m->nfiles) {
        sw_cli_note(cli, "%s@%s is already held", m->name, m->version);
        goto done;
    }
    root = sw_sprintf("%s/incoming/%s", sw_store_home(st), m->torrent_v1[0] ? m->torrent_v1 : "empty");
    for (size_t i = 0; i < m->nfiles && !rc; i++) {
        char *path = sw_sprintf("%s/%s/%s", root, m->name, m->files[i].path);
        char *dir = sw_strdup(path);
        *strrchr(dir, '/') = 0;
        if (sw_mkdir_p(dir) || sw_get_prefill(st, &m->files[i], path, &reused))
            rc = sw_cli_fail();
        free(dir);
        free(path);
    }
    if (!rc && sw_getcheck_start(&gc, m, root, st))
        rc = sw_cli_fail();
    if (!rc && m->torrent_v1[0]) {
        int id;
        sw_catch_signals();
        if (sw_catalog_read_torrent(&t, &tlen, cat, m->name, m->version) ||
            sw_netopts_session(&s, &o, "0.0.0.0:0") || sw_tsession_add(&id, s, t, tlen, root, 0) ||
            sw_netopts_apply(s, id, &o) || sw_get_wait(cli, s, id, &o, &ts, gc))
            rc = sw_cli_fail();
        sw_tsession_free(s); /* closes the files before they move into the store */
        s = NULL;
    }
    if (!rc && sw_getcheck_finish(gc, st)) {
        sw_error_wrap(SW_EINVALID, "refused %s@%s", m->name, m->version);
        rc = sw_cli_fail();
    }
    if (!rc) {
        sw_rm_rf(root);
        char a[32], b[32];
        if (cli->json)
            sw_cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "name", m->name, "version", m->version,
                                        "bytes", (json_int_t)sw_manifest_size(m), "downloaded",
                                        (json_int_t)ts.downloaded, "reused", (json_int_t)reused, "failed",
                                        (json_int_t)ts.failed));
        else
            printf("%s@%s\n", m->name, m->version);
        sw_cli_note(cli, "got %s@%s: %s downloaded, %s reused from chunks held here", m->name, m->version,
                    sw_fmt_bytes(a, sizeof a, ts.downloaded), sw_fmt_bytes(b, sizeof b, reused));
    }
done:
    sw_getcheck_free(gc);
    sw_tsession_free(s);
    free(t);
    free(root);
    sw_manifest_free(m);
    sw_catalog_free(cat);
    sw_store_free(st);
    sw_netopts_free(&o);
    return rc;
}

/* ---- torrent, magnet ---------------------------------------------------------------------------- */

/* Reads a version's stored torrent. */
static int sw_read_version_torrent(sw_cli *cli, const char *ref, unsigned char **t, size_t *len)
{
    sw_catalog *cat;
    char *name, *version;
    if (sw_cli_open(cli, NULL, &cat))
        return 1;
    int rc = 0;
    if (sw_ref_parse(&name, &version, ref, 0)) {
        rc = sw_cli_fail();
    } else {
        if (sw_catalog_read_torrent(t, len, cat, name, version))
            rc = sw_cli_fail();
        free(name);
        free(version);
    }
    sw_catalog_free(cat);
    return rc;
}

int sw_cmd_torrent(sw_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'}, {"v1", no_argument, NULL, SW_OPT_V1},
                                         SW_CLI_COMMON_OPTS, {0}};
    const char *outpath = NULL;
    int c;
    optind = 0;
    while ((c = sw_cli_getopt(cli, argc, argv, "o:qv", opts, SW_USAGE_TORRENT)) != -1)
        if (c == '?')
            return 2;
        else if (c == 'o')
            outpath = optarg;
    /* --v1 is accepted for clarity: swarm's torrents are v1 (README, "Torrents"). */
    if (argc - optind != 1)
        return sw_cli_usage(SW_USAGE_TORRENT, argc - optind ? "too many arguments" : "missing argument");
    unsigned char *t;
    size_t len;
    if (sw_read_version_torrent(cli, argv[optind], &t, &len))
        return 1;
    int rc = 0;
    if (!outpath && isatty(1)) {
        rc = sw_cli_usage(SW_USAGE_TORRENT, "a .torrent is binary: give -o FILE or redirect stdout");
    } else if (outpath ? sw_write_file_atomic(outpath, t, len, 0644) : sw_write_all(1, t, len)) {
        if (!outpath)
            sw_error_errno(SW_ERROR, "cannot write the torrent");
        rc = sw_cli_fail();
    }
    free(t);
    return rc;
}

int sw_cmd_magnet(sw_cli *cli, int argc, char **argv)
{
    if (sw_cli_operands(cli, argc, argv, 1, 1, SW_USAGE_MAGNET))
        return 2;
    unsigned char *t;
    size_t len;
    if (sw_read_version_torrent(cli, argv[optind], &t, &len))
        return 1;
    char *uri;
    int rc = sw_torrent_magnet(&uri, t, len) ? sw_cli_fail() : 0;
    if (!rc) {
        printf("%s\n", uri);
        free(uri);
    }
    free(t);
    return rc;
}
