/* cmd_work.c — the compute swarm's commands: id, ledger, job (submit, status, tick, collect, verify) and
 * work. The work itself is core/work/; this file parses options, opens the home and prints. */
#include "cli/commands.h"
#include "base/error.h"
#include "bundle/ledger.h"
#include "net/seed.h"
#include "work/coord.h"
#include "work/hook.h"
#include "work/ident.h"
#include "work/job.h"
#include "work/provider.h"
#include "work/record.h"
#include "work/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { SW_OPT_SET = 0x5001, SW_OPT_SPLIT, SW_OPT_QUORUM, SW_OPT_MAXRES, SW_OPT_LEASE, SW_OPT_OUTPARAM, SW_OPT_REMOTE,
       SW_OPT_PPATH, SW_OPT_PUBLISH, SW_OPT_SAMPLE, SW_OPT_UNITS, SW_OPT_ONCE, SW_OPT_POLL, SW_OPT_TIMEOUT,
       SW_OPT_DEVICE };

/* Everything job and work take; each subcommand refuses what is not its own. */
typedef struct {
    sw_strlist keys, vals, plugin_dirs;
    sw_peer_opts peers;
    const char *split, *output_param, *remote, *publish;
    int quorum, max_results, jobs, units, once;
    long long lease;
    long sample;
    double poll, timeout;
} sw_work_args;

static void sw_work_args_free(sw_work_args *a)
{
    sw_strlist_free(&a->keys);
    sw_strlist_free(&a->vals);
    sw_strlist_free(&a->plugin_dirs);
    sw_peer_opts_free(&a->peers);
}

/* A positive integer option in [1, max]; -1 when bad. */
static long sw_int_arg(const char *s, long max)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *end || v < 1 || v > max ? -1 : v;
}

/* Parses the options of job and work; returns 0, or 2 after a usage error. */
static int sw_work_parse(sw_work_args *a, sw_cli *cli, int argc, char **argv, const char *usage)
{
    static const struct option opts[] = {
        {"set", required_argument, NULL, SW_OPT_SET},         {"split", required_argument, NULL, SW_OPT_SPLIT},
        {"quorum", required_argument, NULL, SW_OPT_QUORUM},   {"max-results", required_argument, NULL, SW_OPT_MAXRES},
        {"lease", required_argument, NULL, SW_OPT_LEASE},     {"output-param", required_argument, NULL, SW_OPT_OUTPARAM},
        {"remote", required_argument, NULL, SW_OPT_REMOTE},   {"plugin-path", required_argument, NULL, SW_OPT_PPATH},
        {"publish", required_argument, NULL, SW_OPT_PUBLISH}, {"sample", required_argument, NULL, SW_OPT_SAMPLE},
        {"units", required_argument, NULL, SW_OPT_UNITS},     {"once", no_argument, NULL, SW_OPT_ONCE},
        {"poll", required_argument, NULL, SW_OPT_POLL},       {"timeout", required_argument, NULL, SW_OPT_TIMEOUT},
        {"jobs", required_argument, NULL, 'j'},               {"device", required_argument, NULL, SW_OPT_DEVICE},
        SW_CLI_NET_OPTS,                                      SW_CLI_COMMON_OPTS,
        {0}};
    int c;
    long v;
    optind = 0;
    while ((c = sw_cli_getopt(cli, argc, argv, "j:qv", opts, usage)) != -1) {
        int net = sw_cli_netopt(&a->peers, c, optarg, usage);
        if (net == 1)
            continue;
        if (net == 2 || c == '?')
            return 2;
        switch (c) {
        case SW_OPT_SET: {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg)
                return sw_cli_usage(usage, "--set %s: expected KEY=VALUE", optarg);
            char *k = sw_sprintf("%.*s", (int)(eq - optarg), optarg);
            sw_strlist_push(&a->keys, k);
            sw_strlist_push(&a->vals, eq + 1);
            free(k);
            break;
        }
        case SW_OPT_SPLIT:
            a->split = optarg;
            break;
        case SW_OPT_OUTPARAM:
            a->output_param = optarg;
            break;
        case SW_OPT_REMOTE:
            a->remote = optarg;
            break;
        case SW_OPT_PUBLISH:
            a->publish = optarg;
            break;
        case SW_OPT_PPATH:
            sw_strlist_push(&a->plugin_dirs, optarg);
            break;
        case SW_OPT_ONCE:
            a->once = 1;
            break;
        case SW_OPT_DEVICE:
            if (strcmp(optarg, "auto") && strcmp(optarg, "cpu"))
                return sw_cli_usage(usage, "--device %s: this provider runs units on auto or cpu", optarg);
            break;
        case SW_OPT_POLL:
        case SW_OPT_TIMEOUT: {
            char *end;
            double d = strtod(optarg, &end);
            if (*end || d <= 0 || d > 86400)
                return sw_cli_usage(usage, "%s wants seconds, not '%s'", c == SW_OPT_POLL ? "--poll" : "--timeout", optarg);
            *(c == SW_OPT_POLL ? &a->poll : &a->timeout) = d;
            break;
        }
        default: {
            /* The integer options, with the largest value a job spec may hold (job.c checks the same). */
            static const struct {
                int code;
                const char *name;
                long max;
            } ints[] = {{SW_OPT_QUORUM, "--quorum", 16},  {SW_OPT_MAXRES, "--max-results", 64},
                        {SW_OPT_LEASE, "--lease", 7 * 86400}, {SW_OPT_SAMPLE, "--sample", 100000},
                        {SW_OPT_UNITS, "--units", 64},   {'j', "--jobs", 1024}};
            size_t k = 0, nints = sizeof ints / sizeof *ints;
            while (k < nints && ints[k].code != c)
                k++;
            if (k == nints)
                return sw_cli_usage(usage, "unknown option");
            if ((v = sw_int_arg(optarg, ints[k].max)) < 0)
                return sw_cli_usage(usage, "%s wants a number from 1 to %ld, not '%s'", ints[k].name, ints[k].max, optarg);
            if (c == SW_OPT_QUORUM)
                a->quorum = (int)v;
            else if (c == SW_OPT_MAXRES)
                a->max_results = (int)v;
            else if (c == SW_OPT_LEASE)
                a->lease = v;
            else if (c == SW_OPT_SAMPLE)
                a->sample = v;
            else if (c == SW_OPT_UNITS)
                a->units = (int)v;
            else
                a->jobs = (int)v;
        }
        }
    }
    return 0;
}

/* Opens store, catalog and identity, and resolves the remote (the default one when none is named). */
static int sw_work_open(sw_cli *cli, sw_store **st, sw_catalog **cat, sw_ident **id, char **remote,
                        const char *named)
{
    if (sw_cli_open(cli, st, cat))
        return 1;
    if ((id && sw_ident_open(id, cli->home)) ||
        (remote && (named ? (*remote = sw_strdup(named)) == NULL : sw_catalog_default_remote(remote, *cat))))
        return sw_cli_fail();
    return 0;
}

static void sw_work_close(sw_store *st, sw_catalog *cat, sw_ident *id, char *remote)
{
    sw_ident_free(id);
    sw_catalog_free(cat);
    sw_store_free(st);
    free(remote);
}

/* A job named by its id or a unique prefix of at least 8 digits, among remote's mirrored jobs. */
static int sw_job_arg(char **out, sw_catalog *cat, const char *remote, const char *arg)
{
    sw_strlist jobs = {0};
    char *glob = sw_ledger_mirror(remote, "jobs/*"), *prefix = sw_ledger_mirror(remote, "jobs/");
    int r = sw_ledger_list(&jobs, cat, glob);
    size_t found = 0;
    *out = NULL;
    for (size_t i = 0; !r && i < jobs.n; i++)
        if (strlen(arg) >= 8 && !strncmp(jobs.v[i] + strlen(prefix), arg, strlen(arg))) {
            found++;
            free(*out);
            *out = sw_strdup(jobs.v[i] + strlen(prefix));
        }
    if (!r && found != 1) {
        free(*out);
        *out = NULL;
        r = found ? sw_error(SW_ECONFLICT, "job prefix %s names %zu jobs: give more digits", arg, found)
                  : sw_error(SW_ENOTFOUND, "no job %s on %s (a job id, or 8 or more of its first digits)", arg, remote);
    }
    sw_strlist_free(&jobs);
    free(glob);
    free(prefix);
    return r;
}

/* ---- id, ledger --------------------------------------------------------------------------------- */

int sw_cmd_id(sw_cli *cli, int argc, char **argv)
{
    if (sw_cli_operands(cli, argc, argv, 0, 0, SW_USAGE_ID))
        return 2;
    sw_ident *id = NULL;
    if (sw_ident_open(&id, cli->home))
        return sw_cli_fail();
    if (cli->json)
        sw_cli_print_json(json_pack("{s:s, s:s}", "key", sw_ident_key(id), "pub", sw_ident_pub(id)));
    else
        printf("%s\n", sw_ident_key(id));
    if (cli->verbosity > 0 && !cli->json)
        printf("public key %s\n", sw_ident_pub(id));
    sw_ident_free(id);
    return 0;
}

/* The pre-receive hook's text: this program, by its real path, checking the push. */
static char *sw_hook_text(void)
{
    char *exe = realpath("/proc/self/exe", NULL);
    char *text = exe && !strchr(exe, '\'') ? sw_sprintf("#!/bin/sh\n# swarm's ledger hook (swarm ledger init): refuses "
                                                        "unsigned or foreign-signed records and rewrites of swarm "
                                                        "refs.\nexec '%s' ledger hook\n", exe)
                                           : NULL;
    free(exe);
    return text;
}

/* swarm ledger hook: git's pre-receive lines on stdin; each refusal on stderr, status 1 if any. */
static int sw_ledger_hook(void)
{
    sw_catalog *c = NULL;
    sw_strlist refused = {0};
    if (sw_ledger_open_env(&c) || sw_hook_check(&refused, c, stdin)) {
        sw_catalog_free(c);
        return sw_cli_fail();
    }
    for (size_t i = 0; i < refused.n; i++)
        fprintf(stderr, "swarm: refused %s\n", refused.v[i]);
    int rc = refused.n ? 1 : 0;
    sw_strlist_free(&refused);
    sw_catalog_free(c);
    return rc;
}

int sw_cmd_ledger(sw_cli *cli, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (!strcmp(sub, "hook"))
        return sw_ledger_hook();
    if (strcmp(sub, "init"))
        return sw_cli_usage(SW_USAGE_LEDGER, "ledger wants a subcommand: init");
    if (sw_cli_operands(cli, argc - 1, argv + 1, 1, 1, SW_USAGE_LEDGER))
        return 2;
    const char *path = argv[optind + 1];
    char *hook = sw_hook_text();
    int r = hook ? sw_ledger_init(path, hook) : sw_error(SW_ERROR, "cannot name this program in a hook");
    free(hook);
    if (r)
        return sw_cli_fail();
    sw_cli_note(cli, "a ledger at %s: serve it (git daemon, ssh, a git host that runs hooks) and add it as a remote", path);
    if (cli->json)
        sw_cli_print_json(json_pack("{s:s}", "ledger", path));
    return 0;
}

/* ---- job ---------------------------------------------------------------------------------------- */

/* swarm job submit: builds, signs and pushes the job (after the catalog's versions, so providers can pull
 * its inputs); prints its id. */
static int sw_job_submit(sw_cli *cli, sw_work_args *a, const char *file)
{
    sw_store *st = NULL;
    sw_catalog *cat = NULL;
    sw_ident *id = NULL;
    char *remote = NULL;
    if (!a->split)
        return sw_cli_usage(SW_USAGE_JOB, "job submit wants --split PARAM: the param whose version's files are the units");
    if (sw_work_open(cli, &st, &cat, &id, &remote, a->remote))
        return 1;
    sw_plugins *ps = sw_plugins_load((const char *const *)a->plugin_dirs.v, a->plugin_dirs.n, cli->verbosity, 0);
    sw_job_opts o = {.pipeline = file, .keys = (const char *const *)a->keys.v, .vals = (const char *const *)a->vals.v,
                     .nsets = a->keys.n, .split = a->split, .output_param = a->output_param ? a->output_param : "output",
                     .quorum = a->quorum ? a->quorum : 2, .lease = a->lease ? a->lease : 600};
    o.max_results = a->max_results ? a->max_results : o.quorum + 3;
    sw_job_draft d;
    size_t pushed = 0;
    sw_strlist rejected = {0};
    int r = o.max_results < o.quorum ? sw_error(SW_EINVALID, "--max-results must be at least --quorum")
                                     : sw_job_make(&d, cat, ps, id, &o);
    if (!r)
        r = sw_catalog_push(cat, remote, &pushed, &rejected);
    if (!r) {
        sw_ledger_file files[] = {{SW_JOB_PIPELINE_FILE, d.pipeline, d.pipeline_len},
                                  {SW_JOB_UNITS_FILE, d.units, strlen(d.units)}};
        char *name = sw_sprintf("jobs/%s", d.id), *local = sw_ledger_mirror(remote, name);
        char *dest = sw_sprintf("refs/swarm/%s", name), commit[SW_OID_HEX + 1];
        r = sw_ledger_append(commit, cat, local, d.msg, files, 2);
        if (!r)
            r = sw_ledger_push(cat, remote, local, dest);
        free(dest);
        free(local);
        free(name);
    }
    if (!r && cli->json)
        sw_cli_print_json(json_pack("{s:s, s:s}", "job", d.id, "remote", remote));
    else if (!r)
        printf("%s\n", d.id);
    if (!r)
        sw_cli_note(cli, "job %.16s on %s: providers run it with 'swarm work %s'", d.id, remote, remote);
    if (!r)
        sw_job_draft_clear(&d);
    sw_strlist_free(&rejected);
    sw_plugins_free(ps);
    sw_work_close(st, cat, id, remote);
    return r ? sw_cli_fail() : 0;
}

/* The job view as JSON: units by state, each unit, each key, what was ignored. */
static json_t *sw_status_json(const sw_view *v)
{
    json_t *units = json_array(), *keys = json_array(), *ignored = json_array(), *counts = json_object();
    for (size_t i = 0; i < v->job->nunits; i++) {
        const sw_unit_view *u = &v->units[i];
        const char *state = sw_unit_state_name(u->state);
        json_object_set_new(counts, state, json_integer(json_integer_value(json_object_get(counts, state)) + 1));
        json_t *agreed = json_array();
        for (size_t k = 0; k < u->agreed.n; k++)
            json_array_append_new(agreed, json_string(u->agreed.v[k]));
        json_array_append_new(units, json_pack("{s:s, s:s, s:s, s:s?, s:s, s:I, s:I, s:o}", "unit", v->job->units[i].id,
                                               "file", v->job->units[i].file, "state", state, "accepted",
                                               u->accepted[0] ? u->accepted : NULL, "verdict", u->verdict, "results",
                                               (json_int_t)u->nresults, "claims", (json_int_t)u->claims.n, "agreed", agreed));
    }
    for (size_t i = 0; i < v->nkeys; i++)
        json_array_append_new(keys, json_pack("{s:s, s:I, s:I, s:I}", "key", v->keys[i].key, "results",
                                              (json_int_t)v->keys[i].results, "agreed", (json_int_t)v->keys[i].agreed,
                                              "strikes", (json_int_t)v->keys[i].strikes));
    for (size_t i = 0; i < v->ignored.n; i++)
        json_array_append_new(ignored, json_string(v->ignored.v[i]));
    return json_pack("{s:s, s:s, s:i, s:o, s:o, s:o, s:o}", "job", v->job->id, "owner", v->job->owner, "quorum",
                     v->job->quorum, "counts", counts, "units", units, "keys", keys, "ignored", ignored);
}

static void sw_status_print(const sw_view *v)
{
    size_t n[5] = {0};
    for (size_t i = 0; i < v->job->nunits; i++)
        n[v->units[i].state]++;
    printf("job %s (owner %s, quorum %d): %zu units\n", v->job->id, v->job->owner, v->job->quorum, v->job->nunits);
    printf("units: %zu accepted, %zu disputed, %zu non-deterministic, %zu running, %zu waiting\n", n[SW_UNIT_ACCEPTED],
           n[SW_UNIT_DISPUTED], n[SW_UNIT_NONDET], n[SW_UNIT_RUNNING], n[SW_UNIT_WAITING]);
    for (size_t i = 0; i < v->job->nunits; i++)
        if (v->units[i].state == SW_UNIT_NONDET || v->units[i].state == SW_UNIT_DISPUTED)
            printf("  %s %s: %s (%zu results)\n", sw_unit_state_name(v->units[i].state), v->job->units[i].file,
                   v->job->units[i].id, v->units[i].nresults);
    if (v->nkeys)
        printf("%-32s  %7s  %6s  %7s\n", "key", "results", "agreed", "strikes");
    for (size_t i = 0; i < v->nkeys; i++)
        printf("%-32s  %7zu  %6zu  %7zu%s\n", v->keys[i].key, v->keys[i].results, v->keys[i].agreed,
               v->keys[i].strikes, v->keys[i].strikes ? "  (results that lost a vote: not counted)" : "");
    for (size_t i = 0; i < v->ignored.n; i++)
        printf("ignored %s\n", v->ignored.v[i]);
}

/* swarm job status / tick / collect / verify, on one job of the remote's ledger. */
static int sw_job_on(sw_cli *cli, sw_work_args *a, const char *sub, const char *arg)
{
    sw_store *st = NULL;
    sw_catalog *cat = NULL;
    sw_ident *id = NULL;
    char *remote = NULL, *job = NULL;
    if (!strcmp(sub, "collect") && !a->publish)
        return sw_cli_usage(SW_USAGE_JOB, "job collect wants --publish NAME[@VERSION]");
    if (sw_work_open(cli, &st, &cat, !strcmp(sub, "tick") ? &id : NULL, &remote, a->remote))
        return 1;
    int r = sw_work_sync(cat, remote);
    if (!r)
        r = sw_job_arg(&job, cat, remote, arg);
    sw_collect_opts co = {.remote = remote, .publish = a->publish, .peers = &a->peers,
                          .timeout = a->timeout ? a->timeout : 600, .stop = &sw_cli_stop};
    if (!r && !strcmp(sub, "status")) {
        sw_view *v = NULL;
        if ((r = sw_view_load(&v, cat, remote, job, (double)time(NULL))) == 0) {
            if (cli->json)
                sw_cli_print_json(sw_status_json(v));
            else
                sw_status_print(v);
        }
        sw_view_free(v);
    } else if (!r && !strcmp(sub, "tick")) {
        sw_tick_report t;
        if ((r = sw_job_tick(&t, cat, id, remote, job)) == 0 && cli->json)
            sw_cli_print_json(json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "job", job, "changed", (json_int_t)t.changed,
                                        "accepted", (json_int_t)t.accepted, "disputed", (json_int_t)t.disputed,
                                        "non_deterministic", (json_int_t)t.nondet, "open", (json_int_t)t.open));
        else if (!r)
            printf("job %.16s: %zu units in a new verdict; %zu accepted, %zu disputed, %zu non-deterministic, %zu "
                   "open\n", job, t.changed, t.accepted, t.disputed, t.nondet, t.open);
    } else if (!r && !strcmp(sub, "collect")) {
        sw_manifest *m = NULL;
        sw_cli_catch_signals();
        if ((r = sw_job_collect(&m, st, cat, job, &co)) == 0 && cli->json)
            sw_cli_print_json(json_pack("{s:s, s:s, s:I}", "name", m->name, "version", m->version, "files",
                                        (json_int_t)m->nfiles));
        else if (!r)
            printf("%s@%s\n", m->name, m->version);
        sw_manifest_free(m);
    } else if (!r) {
        sw_verify_report vr;
        sw_unit_opts uo = {.jobs = a->jobs ? a->jobs : 1, .plugin_dirs = &a->plugin_dirs, .stop = &sw_cli_stop};
        sw_cli_catch_signals();
        if ((r = sw_job_verify(&vr, st, cat, job, a->sample ? (size_t)a->sample : 1, &co, &uo)) == 0) {
            if (cli->json) {
                json_t *mm = json_array();
                for (size_t i = 0; i < vr.mismatches.n; i++)
                    json_array_append_new(mm, json_string(vr.mismatches.v[i]));
                sw_cli_print_json(json_pack("{s:s, s:I, s:I, s:o}", "job", job, "checked", (json_int_t)vr.checked,
                                            "matched", (json_int_t)vr.matched, "mismatches", mm));
            } else {
                for (size_t i = 0; i < vr.mismatches.n; i++)
                    printf("MISMATCH %s\n", vr.mismatches.v[i]);
                printf("job %.16s: %zu of %zu units recomputed here match the accepted outputs\n", job, vr.matched,
                       vr.checked);
            }
            if (vr.mismatches.n)
                r = sw_error(SW_ECONFLICT, "%zu accepted units of job %.16s do not match what this machine computes",
                             vr.mismatches.n, job);
            sw_verify_report_free(&vr);
        }
    }
    free(job);
    sw_work_close(st, cat, id, remote);
    return r ? sw_cli_fail() : 0;
}

int sw_cmd_job(sw_cli *cli, int argc, char **argv)
{
    static const char *const subs[] = {"submit", "status", "tick", "collect", "verify"};
    const char *sub = argc > 1 ? argv[1] : "";
    int known = 0;
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
        known |= !strcmp(sub, subs[i]);
    if (!known)
        return sw_cli_usage(SW_USAGE_JOB, "job wants a subcommand: submit, status, tick, collect or verify");
    sw_work_args a = {0};
    int rc = sw_work_parse(&a, cli, argc - 1, argv + 1, SW_USAGE_JOB);
    if (!rc && optind + 1 != argc - 1)
        rc = sw_cli_usage(SW_USAGE_JOB, "job %s wants one %s", sub, !strcmp(sub, "submit") ? "pipeline file" : "job id");
    if (!rc)
        rc = !strcmp(sub, "submit") ? sw_job_submit(cli, &a, argv[optind + 1]) : sw_job_on(cli, &a, sub, argv[optind + 1]);
    sw_work_args_free(&a);
    return rc;
}

/* ---- work --------------------------------------------------------------------------------------- */

/* The provider's live line on a terminal, and its notes above it. */
typedef struct {
    sw_cli *cli;
    double start;
    int drawn;
} sw_work_line;

static void sw_work_note_cli(void *ctx, const char *text)
{
    sw_work_line *l = ctx;
    if (l->drawn)
        fputs("\r\033[K", stderr);
    l->drawn = 0;
    sw_cli_note(l->cli, "%s", text);
}

static void sw_work_status_cli(void *ctx, const sw_work_report *rep)
{
    sw_work_line *l = ctx;
    if (!l->cli->progress)
        return;
    double min = (sw_now() - l->start) / 60;
    fprintf(stderr, "\r\033[Kwork: %zu units done (%.1f a minute), %zu failed, pass %zu", rep->done,
            min > 0 ? (double)rep->done / min : 0.0, rep->failed, rep->passes);
    l->drawn = 1;
}

/* Seeds every unit output version held here, so a provider that restarts serves what it computed. */
static void sw_seed_units(sw_tsession *s, sw_store *st, sw_catalog *cat, const sw_peer_opts *peers)
{
    sw_strlist held = {0};
    sw_seed_held(&held, st, cat);
    for (size_t i = 0; i < held.n; i++)
        if (!strncmp(held.v[i], "unit-", 5))
            sw_seed_add(s, st, cat, held.v[i], peers);
    sw_strlist_free(&held);
}

int sw_cmd_work(sw_cli *cli, int argc, char **argv)
{
    sw_work_args a = {0};
    int rc = sw_work_parse(&a, cli, argc, argv, SW_USAGE_WORK);
    if (!rc && argc - optind > 1)
        rc = sw_cli_usage(SW_USAGE_WORK, "work takes at most one remote");
    sw_store *st = NULL;
    sw_catalog *cat = NULL;
    sw_ident *id = NULL;
    char *remote = NULL;
    sw_tsession *s = NULL;
    sw_plugins *ps = NULL;
    if (!rc && sw_work_open(cli, &st, &cat, &id, &remote, optind < argc ? argv[optind] : a.remote))
        rc = 1;
    if (!rc && (sw_catalog_trackers(&a.peers.trackers, cat) || sw_peer_session(&s, &a.peers, "0.0.0.0:0")))
        rc = sw_cli_fail();
    if (!rc) {
        ps = sw_plugins_load((const char *const *)a.plugin_dirs.v, a.plugin_dirs.n, cli->verbosity, 0);
        sw_seed_units(s, st, cat, &a.peers);
        sw_cli_catch_signals();
        sw_work_line line = {.cli = cli, .start = sw_now()};
        /* Results name where this provider seeds when it listens on a given address (the port it got when
         * it asked for port 0); on every interface (0.0.0.0) it names none: peers find it by tracker. */
        const char *colon = a.peers.listen ? strrchr(a.peers.listen, ':') : NULL;
        char *listen = colon && strncmp(a.peers.listen, "0.0.0.0:", 8)
                           ? sw_sprintf("%.*s:%d", (int)(colon - a.peers.listen), a.peers.listen, sw_tsession_port(s))
                           : NULL;
        sw_work_opts o = {.remote = remote, .units = a.units ? a.units : 4, .once = a.once, .poll = a.poll ? a.poll : 5,
                          .fetch_timeout = a.timeout ? a.timeout : 600, .peers = &a.peers, .listen = listen,
                          .seeds = s, .stop = &sw_cli_stop, .note = sw_work_note_cli,
                          .status = sw_work_status_cli, .ctx = &line,
                          .unit = {.jobs = a.jobs ? a.jobs : 1, .plugin_dirs = &a.plugin_dirs, .stop = &sw_cli_stop}};
        sw_cli_note(cli, "working for %s as %s%s", remote, sw_ident_key(id), a.once ? " (one pass)" : "; Ctrl-C stops");
        sw_work_report rep;
        int r = sw_work(&rep, st, cat, id, ps, &o);
        if (line.drawn)
            fputs("\r\033[K", stderr);
        if (r)
            rc = sw_cli_fail();
        else if (cli->json)
            sw_cli_print_json(json_pack("{s:I, s:I, s:I, s:I}", "passes", (json_int_t)rep.passes, "done",
                                        (json_int_t)rep.done, "failed", (json_int_t)rep.failed, "skipped",
                                        (json_int_t)rep.skipped));
        else
            printf("%zu units done, %zu failed, %zu jobs skipped\n", rep.done, rep.failed, rep.skipped);
        if (!rc && sw_cli_stop)
            rc = sw_cli_stopped();
        free(listen);
    }
    sw_tsession_free(s);
    sw_plugins_free(ps);
    sw_work_close(st, cat, id, remote);
    sw_work_args_free(&a);
    return rc;
}
