/* cmd_pipeline.c — swarm pipeline run, graph and params: load the plugins, evaluate the pipeline file in
 * the Lua sandbox (lua/lswarm.c), then run its graph (runner.c), print it in DOT, or list its params. */
#include "cli/commands.h"
#include "base/error.h"
#include "lua/lswarm.h"
#include "pipeline/runner.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { SW_OPT_SET = 0x4001, SW_OPT_DRY, SW_OPT_EXPLAIN, SW_OPT_FORCE, SW_OPT_PPATH, SW_OPT_PEER,
       SW_OPT_TRACKER, SW_OPT_LISTEN };

typedef struct {
    sw_cli *cli;
    int explain;
} sw_pipe_out;

/* One line per finished stage: status, name, time, and with --explain why it ran. With --explain the
 * lines are the command's result (stdout); otherwise they are notes (stderr, silenced by -q). */
static void sw_pipe_report(void *ctx, const sw_graph *g, const sw_run_report *rep, size_t i)
{
    const sw_pipe_out *o = ctx;
    const sw_stage_report *s = &rep->stages[i];
    if (o->cli->json || (!o->explain && o->cli->verbosity < 0))
        return;
    FILE *out = o->explain ? stdout : stderr;
    fprintf(out, "%-10s %-20s", s->status, g->v[i].name);
    if (!strcmp(s->status, "ran") || !strcmp(s->status, "hashed"))
        fprintf(out, " %7.2f s", s->seconds);
    if (o->explain && s->reason)
        fprintf(out, "  %s: %s", !strcmp(s->status, "ran") ? "because" : "would run because", s->reason);
    fputc('\n', out);
    fflush(out);
}

/* The runner's notes (a whole-stream stage starting), as notes of the command (silenced by -q). */
static void sw_pipe_note(void *ctx, const char *text)
{
    sw_cli_note(ctx, "%s", text);
}

/* Fetches, through the data plane (as swarm get does), every bundle version the graph takes as input
 * that the store does not hold whole, with get's peer options (--peer, --tracker, --listen) and the
 * catalog's trackers. Returns an exit status. */
static int sw_pipe_fetch(sw_cli *cli, const sw_graph *g, sw_store *st, sw_catalog *cat, sw_peer_opts *peers)
{
    int trackers = 0; /* read from the catalog at the first fetch */
    for (size_t i = 0; i < g->n; i++) {
        const sw_stage *s = &g->v[i];
        sw_manifest *m = NULL;
        if (s->kind != SW_STAGE_INPUT || !s->bundle || sw_catalog_read(&m, cat, s->bundle, s->version))
            continue;
        int rc = 0;
        if (!sw_bundle_held_under(m, st, s->subpath)) {
            if (!trackers++ && sw_catalog_trackers(&peers->trackers, cat)) {
                rc = sw_cli_fail();
            } else {
                sw_cli_note(cli, "input %s@%s is not held here: fetching it", s->bundle, s->version);
                int json = cli->json;
                cli->json = 0;
                rc = sw_cli_fetch(cli, st, cat, m, peers, 0);
                cli->json = json;
            }
        }
        sw_manifest_free(m);
        if (rc)
            return rc;
    }
    return 0;
}

/* The pipeline file a user names: a path as given, or the name of a shipped pipeline ("convert" or
 * "convert.lua"), looked for beside the program: PREFIX/share/swarm/pipelines for an installed swarm,
 * the source tree's pipelines/ for a built one. Caller frees. */
static char *sw_pipe_file(const char *name)
{
    static const char *const dirs[] = {"../share/swarm/pipelines", "../pipelines"};
    struct stat st;
    if (strchr(name, '/') || stat(name, &st) == 0)
        return sw_strdup(name);
    char *exe = sw_exe_dir();
    size_t n = strlen(name);
    int has_ext = n > 4 && !strcmp(name + n - 4, ".lua");
    for (size_t i = 0; exe && i < sizeof dirs / sizeof *dirs; i++) {
        char *path = sw_sprintf("%s/%s/%s%s", exe, dirs[i], name, has_ext ? "" : ".lua");
        char *real = realpath(path, NULL);
        free(path);
        if (real) {
            free(exe);
            return real;
        }
    }
    free(exe);
    return sw_strdup(name); /* not found: the loader says so, naming what was given */
}

/* Prints the params the pipeline declares (swarm pipeline params, pipeline run FILE --help): one line
 * each, name, default or "(required)", doc; --json: {"params": [{name, default, required, doc}]}. Returns
 * an exit status. */
static int sw_pipe_params(sw_cli *cli, const char *file, const sw_plugins *ps)
{
    sw_pparams pp;
    if (sw_pipeline_params(&pp, file, ps))
        return sw_cli_fail();
    int wn = 4, wd = 10;
    for (size_t i = 0; i < pp.n; i++) {
        int n = (int)strlen(pp.v[i].name), d = pp.v[i].def ? (int)strlen(pp.v[i].def) + 2 : 10;
        wn = n > wn ? n : wn;
        wd = d > wd && d <= 40 ? d : wd;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < pp.n; i++) {
        const sw_pparam *p = &pp.v[i];
        if (cli->json) {
            json_array_append_new(arr, json_pack("{s:s, s:s?, s:b, s:s}", "name", p->name, "default", p->def,
                                                 "required", !p->def, "doc", p->doc));
            continue;
        }
        char *def = p->def ? sw_sprintf("\"%s\"", p->def) : sw_strdup("(required)");
        printf("%-*s  %-*s  %s\n", wn, p->name, wd, def, p->doc);
        free(def);
    }
    if (cli->json)
        sw_cli_print_json(json_pack("{s:o}", "params", arr));
    else
        json_decref(arr);
    if (!cli->json && !pp.n)
        sw_cli_note(cli, "%s declares no parameters", file);
    sw_pparams_free(&pp);
    return 0;
}

static json_t *sw_pipe_json(const sw_graph *g, const sw_run_report *rep)
{
    json_t *stages = json_array();
    for (size_t i = 0; i < rep->n; i++) {
        const sw_stage_report *s = &rep->stages[i];
        if (!s->status)
            continue;
        json_array_append_new(stages, json_pack("{s:s, s:s, s:s?, s:s?, s:f}", "name", g->v[i].name, "status",
                                                s->status, "reason", s->reason, "output", s->output, "seconds",
                                                s->seconds));
    }
    return json_pack("{s:o, s:I, s:I}", "stages", stages, "ran", (json_int_t)rep->ran, "cached",
                     (json_int_t)rep->cached);
}

int sw_cmd_pipeline(sw_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"set", required_argument, NULL, SW_OPT_SET},     {"jobs", required_argument, NULL, 'j'},
        {"dry-run", no_argument, NULL, SW_OPT_DRY},       {"explain", no_argument, NULL, SW_OPT_EXPLAIN},
        {"force", required_argument, NULL, SW_OPT_FORCE}, {"plugin-path", required_argument, NULL, SW_OPT_PPATH},
        {"peer", required_argument, NULL, SW_OPT_PEER},   {"tracker", required_argument, NULL, SW_OPT_TRACKER},
        {"listen", required_argument, NULL, SW_OPT_LISTEN}, {"help", no_argument, NULL, 'h'},
        SW_CLI_COMMON_OPTS,                               {0}};
    sw_strlist keys = {0}, vals = {0}, dirs = {0}, force = {0};
    sw_peer_opts net = {0};
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    sw_run_opts ro = {.jobs = ncpu > 0 ? (int)ncpu : 1, .verbosity = cli->verbosity, .progress = cli->progress};
    int c, rc = 2, help = 0;
    optind = 0;
    while ((c = sw_cli_getopt(cli, argc, argv, "hj:qv", opts, SW_USAGE_PIPELINE)) != -1) {
        char *end;
        switch (c) {
        case '?':
            goto done;
        case SW_OPT_SET: {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                sw_cli_usage(SW_USAGE_PIPELINE, "--set %s: expected KEY=VALUE", optarg);
                goto done;
            }
            char *k = sw_sprintf("%.*s", (int)(eq - optarg), optarg);
            for (size_t i = 0; i < keys.n; i++)
                if (!strcmp(keys.v[i], k)) {
                    sw_cli_usage(SW_USAGE_PIPELINE, "--set %s given twice", k);
                    free(k);
                    goto done;
                }
            sw_strlist_push(&keys, k);
            sw_strlist_push(&vals, eq + 1);
            free(k);
            break;
        }
        case 'j':
            ro.jobs = (int)strtol(optarg, &end, 10);
            if (*end || ro.jobs < 1 || ro.jobs > 1024) {
                sw_cli_usage(SW_USAGE_PIPELINE, "--jobs %s: expected a number from 1 to 1024", optarg);
                goto done;
            }
            break;
        case 'h': /* pipeline run FILE --help: the pipeline's params (main.c leaves it to the command) */
            help = 1;
            break;
        case SW_OPT_DRY:
            ro.dry_run = 1;
            break;
        case SW_OPT_EXPLAIN:
            ro.explain = 1;
            break;
        case SW_OPT_FORCE:
            sw_strlist_push(&force, optarg);
            ro.force = (const char *const *)force.v;
            ro.nforce = force.n;
            break;
        case SW_OPT_PPATH:
            sw_strlist_push(&dirs, optarg);
            break;
        case SW_OPT_PEER:
            if (!strrchr(optarg, ':')) {
                sw_cli_usage(SW_USAGE_PIPELINE, "--peer wants HOST:PORT, not '%s'", optarg);
                goto done;
            }
            sw_strlist_push(&net.peers, optarg);
            break;
        case SW_OPT_TRACKER:
            sw_strlist_push(&net.trackers, optarg);
            break;
        case SW_OPT_LISTEN:
            net.listen = optarg;
            break;
        }
    }
    ro.verbosity = cli->verbosity;
    ro.progress = cli->progress;
    ro.note = sw_pipe_note;
    ro.note_ctx = cli;
    int n = argc - optind;
    char **a = argv + optind;
    const char *sub = n >= 1 ? a[0] : "";
    int run = !strcmp(sub, "run"), graph = !strcmp(sub, "graph"), params = !strcmp(sub, "params") || (run && help);
    if ((!run && !graph && !params) || n != 2) {
        int known = run || graph || params;
        sw_cli_usage(SW_USAGE_PIPELINE, known || !n ? "expected 'run FILE.lua', 'graph FILE.lua' or 'params FILE.lua'%s"
                                                    : "unknown subcommand '%s' (run, graph or params)",
                     known || !n ? "" : sub);
        goto done;
    }
    rc = 1;
    sw_store *st = NULL;
    sw_catalog *cat = NULL;
    sw_plugins *ps = sw_plugins_load((const char *const *)dirs.v, dirs.n, cli->verbosity, SW_PLUGINS_DEFER_GPU);
    ro.gpu_later = ps;
    sw_graph g = {0};
    sw_run_report rep = {0};
    char *file = sw_pipe_file(a[1]);
    if (params) {
        rc = sw_pipe_params(cli, file, ps);
        goto out;
    }
    if (run && sw_cli_open(cli, &st, &cat))
        goto out;
    if (sw_pipeline_load(&g, file, ps, cat, (const char *const *)keys.v, (const char *const *)vals.v, keys.n,
                         graph ? SW_LOAD_GRAPH : SW_LOAD_RUN)) {
        rc = sw_cli_fail();
        goto out;
    }
    if (graph) {
        sw_graph_dot(stdout, &g);
        rc = 0;
        goto out;
    }
    if (!ro.dry_run && (rc = sw_pipe_fetch(cli, &g, st, cat, &net)))
        goto out;
    rc = 1;
    sw_pipe_out po = {cli, ro.explain};
    int r = sw_pipeline_run(&rep, &g, st, cat, &ro, sw_pipe_report, &po);
    if (cli->json)
        sw_cli_print_json(sw_pipe_json(&g, &rep));
    if (r) {
        rc = sw_cli_fail();
        goto out;
    }
    if (!cli->json)
        sw_cli_note(cli, "%s: %zu stage%s ran, %zu cached%s", a[1], rep.ran, rep.ran == 1 ? "" : "s", rep.cached,
                    ro.dry_run ? " (dry run: nothing was run)" : "");
    rc = 0;
out:
    free(file);
    sw_run_report_free(&rep);
    sw_graph_free(&g);
    sw_plugins_free(ps);
    sw_catalog_free(cat);
    sw_store_free(st);
done:
    sw_strlist_free(&keys);
    sw_strlist_free(&vals);
    sw_strlist_free(&dirs);
    sw_strlist_free(&force);
    sw_peer_opts_free(&net);
    return rc;
}
