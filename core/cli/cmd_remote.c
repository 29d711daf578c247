/* cmd_remote.c — swarm remote, push and pull: syncing the catalog with other peers over git. */
#include "cli/cli.h"
#include "cli/commands.h"
#include "base/error.h"
#include "net/bundle_torrent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sw_cmd_remote(sw_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"tracker", required_argument, NULL, 't'}, SW_CLI_COMMON_OPTS, {0}};
    sw_strlist trackers = {0};
    int c;
    optind = 0;
    while ((c = sw_cli_getopt(cli, argc, argv, "qv", opts, SW_USAGE_REMOTE)) != -1) {
        if (c == '?') {
            sw_strlist_free(&trackers);
            return 2;
        }
        sw_strlist_push(&trackers, optarg);
    }
    int n = argc - optind;
    char **a = argv + optind;
    int list = n == 0 || (n == 1 && !strcmp(a[0], "ls"));
    int add = n == 3 && !strcmp(a[0], "add");
    if ((!list && !add) || (list && trackers.n)) {
        sw_strlist_free(&trackers);
        return sw_cli_usage(SW_USAGE_REMOTE, "expected 'ls' or 'add NAME URL [--tracker URL]...'");
    }
    sw_catalog *cat;
    if (sw_cli_open(cli, NULL, &cat)) {
        sw_strlist_free(&trackers);
        return 1;
    }
    int rc = 0;
    if (add) {
        if (sw_catalog_remote_add(cat, a[1], a[2], &trackers))
            rc = sw_cli_fail();
    } else {
        sw_strlist names = {0}, urls = {0};
        if (sw_catalog_remotes(&names, &urls, cat))
            rc = sw_cli_fail();
        json_t *arr = json_array();
        for (size_t i = 0; i < names.n; i++) {
            if (cli->json)
                json_array_append_new(arr, json_pack("{s:s, s:s}", "name", names.v[i], "url", urls.v[i]));
            else
                printf("%s\t%s\n", names.v[i], urls.v[i]);
        }
        if (cli->json && !rc)
            sw_cli_print_json(arr);
        else
            json_decref(arr);
        sw_strlist_free(&names);
        sw_strlist_free(&urls);
    }
    sw_catalog_free(cat);
    sw_strlist_free(&trackers);
    return rc;
}

/* Opens the catalog and resolves the remote argument (or the default remote). */
static int sw_remote_arg(sw_cli *cli, int argc, char **argv, const char *usage, sw_catalog **cat, char **remote)
{
    int u = sw_cli_operands(cli, argc, argv, 0, 1, usage);
    if (u)
        return u;
    if (sw_cli_open(cli, NULL, cat))
        return 1;
    if (optind < argc)
        *remote = sw_strdup(argv[optind]);
    else if (sw_catalog_default_remote(remote, *cat))
        return sw_cli_fail();
    return 0;
}

int sw_cmd_push(sw_cli *cli, int argc, char **argv)
{
    sw_catalog *cat = NULL;
    char *remote = NULL;
    int rc = sw_remote_arg(cli, argc, argv, SW_USAGE_PUSH, &cat, &remote);
    sw_strlist rejected = {0};
    size_t pushed = 0;
    if (!rc && sw_catalog_push(cat, remote, &pushed, &rejected))
        rc = sw_cli_fail();
    if (!rc) {
        for (size_t i = 0; i < rejected.n; i++)
            fprintf(stderr, "swarm: error: %s refused %s\n", remote, rejected.v[i]);
        sw_cli_note(cli, "pushed %zu version%s to %s%s", pushed, pushed == 1 ? "" : "s", remote,
                    rejected.n ? "; some were refused: pull, rename yours (swarm rename NAME@V NAME@V-local), "
                                 "then push again" : "");
        rc = rejected.n ? 1 : 0;
    }
    sw_strlist_free(&rejected);
    free(remote);
    sw_catalog_free(cat);
    return rc;
}

/* A pulled manifest must agree with the objects already held: same hash, same size. */
static int sw_pull_check_torrent(void *ctx, const sw_manifest *m, const void *torrent, size_t len)
{
    (void)ctx;
    return sw_bundle_torrent_check_bytes(m, torrent, len);
}

static int sw_pull_check(void *ctx, const sw_manifest *m)
{
    sw_store *st = ctx;
    for (size_t i = 0; i < m->nfiles; i++) {
        uint64_t size;
        if (sw_store_stat(st, &m->files[i].hash, &size) == 0 && size != m->files[i].size)
            return sw_error(SW_EINVALID, "%s: size %llu disagrees with the held object of that hash (%llu bytes)",
                            m->files[i].path, (unsigned long long)m->files[i].size, (unsigned long long)size);
    }
    return 0;
}

int sw_cmd_pull(sw_cli *cli, int argc, char **argv)
{
    sw_catalog *cat = NULL;
    sw_store *st = NULL;
    char *remote = NULL;
    int rc = sw_remote_arg(cli, argc, argv, SW_USAGE_PULL, &cat, &remote);
    if (!rc && sw_cli_open(cli, &st, NULL))
        rc = 1;
    sw_pull_report rep = {0};
    sw_pull_checks checks = {sw_pull_check_torrent, sw_pull_check, st};
    if (!rc && sw_catalog_pull(cat, remote, &rep, &checks))
        rc = sw_cli_fail();
    if (!rc) {
        for (size_t i = 0; i < rep.added.n; i++)
            if (!cli->json)
                printf("%s\n", rep.added.v[i]);
        for (size_t i = 0; i < rep.rejected.n; i++) { /* "TAG: reason" */
            const char *v = rep.rejected.v[i], *sep = strstr(v, ": ");
            int n = sep ? (int)(sep - v) : (int)strlen(v);
            fprintf(stderr, "swarm: error: refused %.*s from %s: %s\n", n, v, remote, sep ? sep + 2 : "invalid");
        }
        for (size_t i = 0; i < rep.conflicts.n; i++)
            fprintf(stderr, "swarm: error: conflict: %s differs between here and %s; kept the local version. To take "
                    "%s's, rename yours and pull again: swarm rename %s %s-local && swarm pull %s\n",
                    rep.conflicts.v[i], remote, remote, rep.conflicts.v[i], rep.conflicts.v[i], remote);
        if (cli->json) {
            json_t *added = json_array(), *conflicts = json_array(), *rejected = json_array();
            for (size_t i = 0; i < rep.added.n; i++)
                json_array_append_new(added, json_string(rep.added.v[i]));
            for (size_t i = 0; i < rep.conflicts.n; i++)
                json_array_append_new(conflicts, json_string(rep.conflicts.v[i]));
            for (size_t i = 0; i < rep.rejected.n; i++)
                json_array_append_new(rejected, json_string(rep.rejected.v[i]));
            sw_cli_print_json(json_pack("{s:o, s:o, s:o, s:I}", "added", added, "conflicts", conflicts, "rejected",
                                        rejected, "unchanged", (json_int_t)rep.unchanged));
        }
        sw_cli_note(cli, "pulled from %s: %zu new, %zu unchanged, %zu conflicts, %zu refused", remote, rep.added.n,
                    rep.unchanged, rep.conflicts.n, rep.rejected.n);
        rc = rep.conflicts.n || rep.rejected.n ? 1 : 0;
    }
    sw_pull_report_free(&rep);
    free(remote);
    sw_store_free(st);
    sw_catalog_free(cat);
    return rc;
}
