/* cmd_swarm.c — swarm seed, get, torrent and magnet: bundle versions over BitTorrent. The work is the data
 * plane's (core/net/: seed.h, fetch.h, peers.h); this file parses options, draws progress and prints
 * results. Ctrl-C (SIGINT) or SIGTERM stops seed cleanly and interrupts get, which a later get resumes. */
#include "cli/cli.h"
#include "cli/commands.h"
#include "base/error.h"
#include "bundle/names.h"
#include "cli/progress.h"
#include "net/fetch.h"
#include "net/seed.h"
#include "net/torrent.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Options of seed and get: the peers' (core/net/peers.h), then each command's own. */
typedef struct {
    sw_peer_opts peers;
    double timeout; /* get: seconds, 0 = none */
    int super_seed; /* seed: super seed while two or more peers download */
} sw_netopts;

enum { SW_OPT_TIMEOUT = 0x2001, SW_OPT_UP, SW_OPT_DOWN, SW_OPT_V1, SW_OPT_SUPER };

static const struct option sw_net_opts[] = {
    SW_CLI_NET_OPTS, {"timeout", required_argument, NULL, SW_OPT_TIMEOUT},
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

int sw_cli_netopt(sw_peer_opts *p, int c, const char *arg, const char *usage)
{
    switch (c) {
    case SW_OPT_NET_LISTEN:
        p->listen = arg;
        return 1;
    case SW_OPT_NET_PEER:
        if (!strrchr(arg, ':'))
            return sw_cli_usage(usage, "--peer wants HOST:PORT, not '%s'", arg);
        sw_strlist_push(&p->peers, arg);
        return 1;
    case SW_OPT_NET_TRACKER:
        sw_strlist_push(&p->trackers, arg);
        return 1;
    case SW_OPT_NET_NO_DHT:
        p->no_dht = 1;
        return 1;
    case SW_OPT_NET_NO_LSD:
        p->no_lsd = 1;
        return 1;
    }
    return 0;
}

/* Parses the options; returns 0, or 2 after a usage error. */
static int sw_netopts_parse(sw_netopts *o, sw_cli *cli, int argc, char **argv, const char *usage, int get)
{
    int c;
    optind = 0;
    while ((c = sw_cli_getopt(cli, argc, argv, "qv", sw_net_opts, usage)) != -1) {
        int net = sw_cli_netopt(&o->peers, c, optarg, usage);
        if (net == 2)
            return 2;
        if (net)
            continue;
        switch (c) {
        case '?':
            return 2;
        case SW_OPT_UP:
        case SW_OPT_DOWN: {
            long v = sw_parse_rate(optarg);
            if (v < 0)
                return sw_cli_usage(usage, "a rate is bytes per second, e.g. 500K or 20M, not '%s'", optarg);
            *(c == SW_OPT_UP ? &o->peers.up_limit : &o->peers.down_limit) = v;
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

/* ---- seed --------------------------------------------------------------------------------------- */

static void sw_seed_tick(void *ctx, const sw_seed_stats *st)
{
    const size_t *n = ctx;
    char b[32];
    fprintf(stderr, "\r\033[Kseeding %zu: %d peer%s, up %.1f MB/s, %s uploaded", *n, st->peers,
            st->peers == 1 ? "" : "s", st->upload_rate / 1e6, sw_fmt_bytes(b, sizeof b, st->uploaded));
}

static void sw_seed_warn(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "swarm: warning: %s\n", msg);
}

int sw_cmd_seed(sw_cli *cli, int argc, char **argv)
{
    sw_netopts o = {0};
    int rc = sw_netopts_parse(&o, cli, argc, argv, SW_USAGE_SEED, 0);
    if (rc) {
        sw_peer_opts_free(&o.peers);
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
    if (sw_catalog_trackers(&o.peers.trackers, cat) || (!refs.n && sw_seed_held(&refs, st, cat))) {
        rc = sw_cli_fail();
        goto done;
    }
    if (!refs.n) {
        sw_error(SW_ENOTFOUND, "nothing to seed: no version with bytes is held here");
        rc = sw_cli_fail();
        goto done;
    }
    if (sw_peer_session(&s, &o.peers, "0.0.0.0:6881")) {
        rc = sw_cli_fail();
        goto done;
    }
    for (size_t i = 0; i < refs.n; i++)
        if (sw_seed_add(s, st, cat, refs.v[i], &o.peers)) {
            rc = sw_cli_fail();
            goto done;
        }
    sw_cli_note(cli, "seeding %zu version%s on port %d (Ctrl-C stops)", refs.n, refs.n == 1 ? "" : "s",
                sw_tsession_port(s));
    sw_cli_catch_signals();
    sw_seed_opts so = {o.super_seed, &sw_cli_stop, cli->progress ? sw_seed_tick : NULL, sw_seed_warn, &refs.n};
    sw_seed_run(s, refs.n, &so);
    if (cli->progress)
        fputs("\r\033[K", stderr);
    sw_cli_note(cli, "stopped seeding");
    if (sw_cli_stop == SIGINT)
        rc = sw_cli_stopped(); /* Ctrl-C; SIGTERM is a service's normal stop (0) */
done:
    sw_tsession_free(s);
    sw_strlist_free(&refs);
    sw_catalog_free(cat);
    sw_store_free(st);
    sw_peer_opts_free(&o.peers);
    return rc;
}

/* ---- get ---------------------------------------------------------------------------------------- */

/* The progress line of a fetch, begun at its first status (when the total is known). */
typedef struct {
    const sw_cli *cli;
    sw_progress p;
    int begun;
} sw_get_show;

static void sw_get_progress(void *ctx, const sw_tstatus *ts)
{
    sw_get_show *g = ctx;
    if (!g->begun) {
        sw_progress_begin(&g->p, g->cli->progress, "get", ts->total);
        g->begun = 1;
    }
    g->p.done = 0;
    g->p.peers = ts->peers;
    sw_progress_step(&g->p, ts->done);
}

static void sw_get_lonely(void *ctx, const char *msg)
{
    sw_get_show *g = ctx;
    if (g->begun)
        sw_progress_end(&g->p); /* the note on its own line; the progress line starts again */
    g->begun = 0;
    sw_cli_note(g->cli, "%s", msg);
}

static void sw_get_banned(void *ctx, const char *peer)
{
    const sw_get_show *g = ctx;
    if (g->cli->verbosity > 0)
        fprintf(stderr, "swarm: note: banned peer %s (sent bad data)\n", peer);
}

/* Fetches version m through the data plane with the given peer options, drawing progress; prints its
 * result (the version, or JSON) and a note. Returns an exit status. */
int sw_cli_fetch(sw_cli *cli, sw_store *st, sw_catalog *cat, const sw_manifest *m, const sw_peer_opts *peers,
                 double timeout)
{
    sw_get_show show = {cli, {0}, 0};
    sw_fetch_opts fo = {.peers = peers, .timeout = timeout, .stop = &sw_cli_stop, .progress = sw_get_progress,
                        .banned = sw_get_banned, .lonely = sw_get_lonely, .ctx = &show};
    sw_fetch_report rep;
    sw_cli_catch_signals();
    int r = sw_fetch(&rep, st, cat, m, &fo);
    if (show.begun)
        sw_progress_end(&show.p);
    if (r)
        return sw_cli_stop ? (sw_cli_fail(), sw_cli_stopped()) : sw_cli_fail();
    char a[32], b[32];
    if (cli->json)
        sw_cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "name", m->name, "version", m->version,
                                    "bytes", (json_int_t)sw_manifest_size(m), "downloaded",
                                    (json_int_t)rep.downloaded, "reused", (json_int_t)rep.reused, "failed",
                                    (json_int_t)rep.failed));
    else
        printf("%s@%s\n", m->name, m->version);
    sw_cli_note(cli, "got %s@%s: %s downloaded, %s reused from chunks held here", m->name, m->version,
                sw_fmt_bytes(a, sizeof a, rep.downloaded), sw_fmt_bytes(b, sizeof b, rep.reused));
    return 0;
}

int sw_cmd_get(sw_cli *cli, int argc, char **argv)
{
    sw_netopts o = {0};
    int rc = sw_netopts_parse(&o, cli, argc, argv, SW_USAGE_GET, 1);
    if (!rc && argc - optind != 1)
        rc = sw_cli_usage(SW_USAGE_GET, argc - optind ? "give one version, magnet or .torrent" : "missing argument");
    if (rc) {
        sw_peer_opts_free(&o.peers);
        return rc;
    }
    const char *what = argv[optind];
    sw_store *st = NULL;
    sw_catalog *cat = NULL;
    sw_manifest *m = NULL;
    if (sw_cli_open(cli, &st, &cat)) {
        rc = 1;
        goto done;
    }
    if (sw_catalog_trackers(&o.peers.trackers, cat)) {
        rc = sw_cli_fail();
        goto done;
    }
    struct stat sb;
    if (strncmp(what, "magnet:", 7) && stat(what, &sb) < 0) { /* NAME@VERSION */
        if (sw_cli_manifest(&m, cat, what)) {
            rc = 1;
            goto done;
        }
    } else if (sw_fetch_resolve(&m, cat, what)) {
        rc = sw_cli_fail();
        goto done;
    }
    if (sw_bundle_held(m, st))
        sw_cli_note(cli, "%s@%s is already held", m->name, m->version);
    else
        rc = sw_cli_fetch(cli, st, cat, m, &o.peers, o.timeout);
done:
    sw_manifest_free(m);
    sw_catalog_free(cat);
    sw_store_free(st);
    sw_peer_opts_free(&o.peers);
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
    if (sw_bundle_resolve(&name, &version, cat, ref)) {
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
