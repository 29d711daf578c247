/* main.c — the swarm program: global options, the home, and dispatch to a command. */
#include "cli/cli.h"
#include "cli/commands.h"
#include "base/error.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SW_VERSION "0.1.0"

typedef struct {
    const char *name;
    sw_command_fn fn;
    const char *usage;
    const char *summary;
} sw_command;

static const sw_command sw_commands[] = {
    {"add", sw_cmd_add, SW_USAGE_ADD, "add files, directories or archives as a new bundle version"},
    {"ls", sw_cmd_ls, SW_USAGE_LS, "list bundles"},
    {"log", sw_cmd_log, SW_USAGE_LOG, "list a bundle's versions, newest first"},
    {"show", sw_cmd_show, SW_USAGE_SHOW, "a version's files, sizes and hashes"},
    {"diff", sw_cmd_diff, SW_USAGE_DIFF, "files added, removed and changed, and bytes B adds to A"},
    {"checkout", sw_cmd_checkout, SW_USAGE_CHECKOUT, "write a version's files into DIR"},
    {"export", sw_cmd_export, SW_USAGE_EXPORT, "write a version as a reproducible .tar.zst"},
    {"verify", sw_cmd_verify, SW_USAGE_VERIFY, "re-hash a version's files (all held versions by default)"},
    {"fsck", sw_cmd_fsck, SW_USAGE_FSCK, "check every object and chunk record; quarantine corrupt ones"},
    {"gc", sw_cmd_gc, SW_USAGE_GC, "remove objects no version or pin references"},
    {"remote", sw_cmd_remote, SW_USAGE_REMOTE, "list or add catalog remotes (git URLs)"},
    {"push", sw_cmd_push, SW_USAGE_PUSH, "push every version to a remote catalog"},
    {"pull", sw_cmd_pull, SW_USAGE_PULL, "fetch versions from a remote catalog"},
    {"seed", sw_cmd_seed, SW_USAGE_SEED, "seed held versions to other peers (BitTorrent)"},
    {"get", sw_cmd_get, SW_USAGE_GET, "fetch a version from peers, reusing every chunk held here"},
    {"torrent", sw_cmd_torrent, SW_USAGE_TORRENT, "write a version's .torrent, for stock clients"},
    {"magnet", sw_cmd_magnet, SW_USAGE_MAGNET, "print a version's magnet link"},
    {"pipeline", sw_cmd_pipeline, SW_USAGE_PIPELINE, "run a Lua pipeline (stages cached in the store), or print its graph"},
    {"plugin", sw_cmd_plugin, SW_USAGE_PLUGIN, "list op plugins, or show one's ops, params and variants"},
};
#define SW_NCOMMANDS (sizeof sw_commands / sizeof *sw_commands)

static void sw_help(FILE *f)
{
    fputs("usage: swarm [--home DIR] [--json] [-q|-v] COMMAND ...\n\ncommands:\n", f);
    for (size_t i = 0; i < SW_NCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", sw_commands[i].name, sw_commands[i].summary);
    fputs("\nThe home is --home DIR, else $SWARM_HOME, else ${XDG_DATA_HOME:-~/.local/share}/swarm.\n"
          "Run 'swarm COMMAND --help' for a command's usage.\n",
          f);
}

/* --home > $SWARM_HOME > ${XDG_DATA_HOME:-$HOME/.local/share}/swarm. */
static char *sw_default_home(void)
{
    const char *e = getenv("SWARM_HOME");
    if (e && *e)
        return sw_strdup(e);
    e = getenv("XDG_DATA_HOME");
    if (e && *e)
        return sw_sprintf("%s/swarm", e);
    e = getenv("HOME");
    if (!e || !*e)
        return NULL;
    return sw_sprintf("%s/.local/share/swarm", e);
}

int main(int argc, char **argv)
{
    sw_cli cli = {0};
    cli.progress = isatty(2);
    const char *home = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--home") && i + 1 < argc)
            home = argv[++i];
        else if (!strncmp(a, "--home=", 7))
            home = a + 7;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            sw_help(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            puts("swarm " SW_VERSION);
            return 0;
        } else if (!sw_cli_common(&cli, !strcmp(a, "--json") ? SW_CLI_OPT_JSON
                                        : !strcmp(a, "-q") || !strcmp(a, "--quiet") ? 'q'
                                        : !strcmp(a, "-v") || !strcmp(a, "--verbose") ? 'v' : 0)) {
            fprintf(stderr, "swarm: error: unknown option '%s'\n", a);
            sw_help(stderr);
            return 2;
        }
    }
    if (i == argc) {
        sw_help(stderr);
        return 2;
    }
    const sw_command *cmd = NULL;
    for (size_t k = 0; k < SW_NCOMMANDS; k++)
        if (!strcmp(argv[i], sw_commands[k].name))
            cmd = &sw_commands[k];
    if (!cmd) {
        fprintf(stderr, "swarm: error: unknown command '%s'\n", argv[i]);
        sw_help(stderr);
        return 2;
    }
    for (int k = i + 1; k < argc && strcmp(argv[k], "--"); k++)
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            printf("usage: %s\n%s\n", cmd->usage, cmd->summary);
            return 0;
        }
    cli.home = home ? sw_strdup(home) : sw_default_home();
    if (!cli.home || !*cli.home) {
        fputs("swarm: error: no home: pass --home DIR or set SWARM_HOME\n", stderr);
        return 2;
    }
    int rc = cmd->fn(&cli, argc - i, argv + i);
    free(cli.home);
    return rc;
}
