/* help.h — the command table, `swarm help [COMMAND]`, and suggestions for mistyped names. */
#ifndef SW_HELP_H
#define SW_HELP_H

#include <stdio.h>

#include "cli/cli.h"

typedef struct {
    const char *name;
    sw_command_fn fn;
    const char *usage;
    const char *summary;
    const char *options; /* one "  OPTION  what it does (units, costs)" line each, or NULL */
} sw_command;

/* The command called name, or NULL. */
const sw_command *sw_help_find(const char *name);
/* The list of commands and the global options. */
void sw_help_all(FILE *f);
/* What an interrupted run of the command keeps, for the one line Ctrl-C prints (cli.h). */
const char *sw_help_kept(const sw_command *c);
/* Whether the command honours --json (the others refuse it: a usage error, not output in another form). */
int sw_help_json(const sw_command *c);
/* One command's usage, summary and options. */
void sw_help_command(FILE *f, const sw_command *c);
/* The nearest command name, as sw_nearest (base/util.h). */
const char *sw_help_nearest_command(const char *name);

#endif
