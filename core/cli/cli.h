/* cli.h — what every command shares: global options, opening the home, errors and output.
 *
 * Output contract: results go to stdout (JSON with --json), notes and progress to stderr, errors as one
 * line "swarm: error: ..." on stderr. Exit status: 0 success, 1 failure, 2 usage error. -q silences notes
 * and progress, never results or errors; -v adds detail. */
#ifndef SW_CLI_H
#define SW_CLI_H

#include <getopt.h>
#include <signal.h>
#include <jansson.h>

#include "bundle/bundle.h"
#include "bundle/catalog.h"
#include "cache/store.h"

typedef struct {
    char *home;
    int json;
    int verbosity; /* -1 quiet, 0 normal, 1 verbose */
    int progress;  /* draw progress lines: stderr is a terminal and not quiet */
} sw_cli;

/* Each command: argv[0] is the command's name. Returns the exit status. */
typedef int (*sw_command_fn)(sw_cli *cli, int argc, char **argv);

/* Prints "swarm: error: <last error>" and returns 1. */
int sw_cli_fail(void);
/* Prints "swarm: error: MSG" and the command's usage line, returns 2. */
int sw_cli_usage(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A note on stderr, unless -q. */
void sw_cli_note(const sw_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints a JSON value on stdout (indented) and releases it. */
void sw_cli_print_json(json_t *v);

/* Long options every command accepts besides its own; put SW_CLI_COMMON_OPTS in each option table
 * and pass unknown option codes to sw_cli_common, which returns 1 when it handled the code. */
#define SW_CLI_OPT_JSON 0x1001
#define SW_CLI_COMMON_OPTS {"json", no_argument, NULL, SW_CLI_OPT_JSON}, {"quiet", no_argument, NULL, 'q'}, \
        {"verbose", no_argument, NULL, 'v'}
int sw_cli_common(sw_cli *cli, int c);
/* getopt_long for a command (start with optind = 0): handles the common options itself and returns the
 * next option of the command's own, -1 at the end (operands are then argv[optind..]), or '?' after
 * printing a usage error (unknown option, missing argument): the command then returns 2. */
int sw_cli_getopt(sw_cli *cli, int argc, char **argv, const char *shortopts, const struct option *longopts,
                  const char *usage);

/* Parses a command that takes only the common options and between min and max operands (then at
 * argv[optind..]). Returns 0, or 2 after printing a usage error. */
int sw_cli_operands(sw_cli *cli, int argc, char **argv, int min, int max, const char *usage);

/* Ctrl-C (SIGINT) and SIGTERM, the same way for every command. By default (sw_cli_interrupts, from main)
 * the process ends at once with one line, "swarm: interrupted: KEPT", and status 130 (SIGINT) or 143
 * (SIGTERM): everything swarm writes is atomic, so what finished is kept and nothing is half written.
 * A command that can stop cleanly (get, seed) calls sw_cli_catch_signals instead: the signal only sets
 * sw_cli_stop (the signal's number), which the command polls. These are the CLI's global state. */
extern volatile sig_atomic_t sw_cli_stop;
/* Installs the default handlers; kept (static text) says what an interrupted run of the command keeps. */
void sw_cli_interrupts(const char *kept);
/* Switches to stopping cleanly: the signals set sw_cli_stop. */
void sw_cli_catch_signals(void);
/* The exit status for a command stopped by sw_cli_stop: 130 for SIGINT, 143 for SIGTERM. */
int sw_cli_stopped(void);

/* Opens the store (shared) and/or the catalog of the home; on failure prints the error and returns 1. */
int sw_cli_open(sw_cli *cli, sw_store **st, sw_catalog **cat);
/* Parses NAME@VERSION and reads its manifest; prints the error and returns 1 on failure. */
int sw_cli_manifest(sw_manifest **out, sw_catalog *cat, const char *ref);

#endif
