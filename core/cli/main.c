/* main.c — the swarm program: global options, the home, and dispatch to a command. */
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "base/crash.h"
#include "base/error.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SW_VERSION "0.1.0"

/* An unknown command or global option: one line, a suggestion when a name is near, and where to look. */
static int sw_unknown(const char *what, const char *name, const char *near)
{
    if (near)
        fprintf(stderr, "swarm: error: unknown %s '%s' (did you mean '%s'?)\n", what, name, near);
    else
        fprintf(stderr, "swarm: error: unknown %s '%s'\n", what, name);
    fputs("run 'swarm help' for the commands and options\n", stderr);
    return 2;
}

/* Takes --home DIR and --home=DIR out of a command's arguments (up to "--"), so the global option may
 * follow the command's name as well; the last one given wins. Returns 2 when DIR is missing. */
static int sw_take_home(int *argc, char **argv, const char **home)
{
    int out = 1, i = 1;
    for (; i < *argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--home")) {
            if (i + 1 >= *argc) {
                fputs("swarm: error: --home wants a directory\n", stderr);
                return 2;
            }
            *home = argv[++i];
        } else if (!strncmp(argv[i], "--home=", 7)) {
            *home = argv[i] + 7;
        } else {
            argv[out++] = argv[i];
        }
    }
    while (i < *argc)
        argv[out++] = argv[i++];
    argv[out] = NULL;
    *argc = out;
    return 0;
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

/* Whether the command line (argv[0]: the command) answers --help itself: `pipeline run FILE --help`
 * lists the pipeline's params rather than the command's options. */
static int sw_own_help(int argc, char **argv)
{
    return !strcmp(argv[0], "pipeline") && argc >= 3 && !strcmp(argv[1], "run") && argv[2][0] != '-';
}

int main(int argc, char **argv)
{
    sw_crash_install();
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
            sw_help_all(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            puts("swarm " SW_VERSION);
            return 0;
        } else if (!sw_cli_common(&cli, !strcmp(a, "--json") ? SW_CLI_OPT_JSON
                                        : !strcmp(a, "-q") || !strcmp(a, "--quiet") ? 'q'
                                        : !strcmp(a, "-v") || !strcmp(a, "--verbose") ? 'v' : 0)) {
            return sw_unknown("option", a, NULL);
        }
    }
    if (i == argc) {
        sw_help_all(stderr);
        return 2;
    }
    if (!strcmp(argv[i], "version")) {
        puts("swarm " SW_VERSION);
        return 0;
    }
    if (!strcmp(argv[i], "help")) {
        const sw_command *c = i + 1 < argc ? sw_help_find(argv[i + 1]) : NULL;
        if (i + 1 < argc && !c)
            return sw_unknown("command", argv[i + 1], sw_help_nearest_command(argv[i + 1]));
        if (c)
            sw_help_command(stdout, c);
        else
            sw_help_all(stdout);
        return 0;
    }
    const sw_command *cmd = sw_help_find(argv[i]);
    if (!cmd)
        return sw_unknown("command", argv[i], sw_help_nearest_command(argv[i]));
    for (int k = i + 1; k < argc && strcmp(argv[k], "--") && !sw_own_help(argc - i, argv + i); k++)
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            sw_help_command(stdout, cmd);
            return 0;
        }
    for (int k = i + 1; k < argc && strcmp(argv[k], "--") && !cli.json; k++)
        cli.json = !strcmp(argv[k], "--json");
    if (cli.json && !sw_help_json(cmd)) {
        fprintf(stderr, "swarm: error: %s has no --json output\nusage: %s\n", cmd->name, cmd->usage);
        return 2;
    }
    int cargc = argc - i;
    if (sw_take_home(&cargc, argv + i, &home))
        return 2;
    cli.home = home ? sw_strdup(home) : sw_default_home();
    if (!cli.home || !*cli.home) {
        fputs("swarm: error: no home: pass --home DIR or set SWARM_HOME\n", stderr);
        return 2;
    }
    sw_cli_interrupts(sw_help_kept(cmd));
    int rc = cmd->fn(&cli, cargc, argv + i);
    free(cli.home);
    return rc;
}
