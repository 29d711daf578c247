/* cli.c — helpers shared by the commands (see cli.h). */
#include "cli/cli.h"
#include "base/error.h"
#include "bundle/names.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t sw_cli_stop;
static const char *sw_cli_kept;
static int sw_cli_tty; /* stderr is a terminal: a progress line may need clearing first */

/* The default handler: one line and the conventional status (async-signal-safe: write and _exit). */
static void sw_cli_on_interrupt(int sig)
{
    static const char clear[] = "\r\033[K", head[] = "swarm: interrupted: ";
    ssize_t w = sw_cli_tty ? write(2, clear, sizeof clear - 1) : 0;
    w = write(2, head, sizeof head - 1);
    w = write(2, sw_cli_kept, strlen(sw_cli_kept));
    w = write(2, "\n", 1);
    (void)w;
    _exit(128 + sig);
}

static void sw_cli_on_stop(int sig)
{
    sw_cli_stop = sig;
}

static void sw_cli_handle(void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void sw_cli_interrupts(const char *kept)
{
    sw_cli_kept = kept;
    sw_cli_tty = isatty(2);
    sw_cli_handle(sw_cli_on_interrupt);
}

void sw_cli_catch_signals(void)
{
    sw_cli_handle(sw_cli_on_stop);
}

int sw_cli_stopped(void)
{
    return 128 + (sw_cli_stop ? (int)sw_cli_stop : SIGINT);
}

int sw_cli_fail(void)
{
    fprintf(stderr, "swarm: error: %s\n", sw_error_last());
    return 1;
}

int sw_cli_usage(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("swarm: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: %s\n", usage);
    return 2;
}

void sw_cli_note(const sw_cli *cli, const char *fmt, ...)
{
    if (cli->verbosity < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void sw_cli_print_json(json_t *v)
{
    json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(v);
}

int sw_cli_common(sw_cli *cli, int c)
{
    switch (c) {
    case SW_CLI_OPT_JSON:
        cli->json = 1;
        return 1;
    case 'q':
        cli->verbosity = -1;
        cli->progress = 0;
        return 1;
    case 'v':
        cli->verbosity = 1;
        return 1;
    }
    return 0;
}

int sw_cli_getopt(sw_cli *cli, int argc, char **argv, const char *shortopts, const struct option *longopts,
                  const char *usage)
{
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, shortopts, longopts, NULL);
        if (c == '?' || c == ':') {
            const char *arg = argv[optind - 1];
            /* optopt is the option's code when its value is missing: a short option's letter, or a
             * long-only option's code (above any letter); it is 0 for an unknown long option. */
            if (optopt && (optopt > 0xff || strchr(shortopts, optopt)) && !strchr(arg, '='))
                sw_cli_usage(usage, "option '%s' needs a value", arg);
            else
                sw_cli_usage(usage, "unknown option '%s'", arg);
            return '?';
        }
        if (c == -1 || !sw_cli_common(cli, c))
            return c;
    }
}

int sw_cli_operands(sw_cli *cli, int argc, char **argv, int min, int max, const char *usage)
{
    static const struct option opts[] = {SW_CLI_COMMON_OPTS, {0}};
    int c;
    optind = 0;
    while ((c = sw_cli_getopt(cli, argc, argv, "qv", opts, usage)) != -1)
        if (c == '?')
            return 2;
    int have = argc - optind;
    if (have < min)
        return sw_cli_usage(usage, "missing argument");
    if (have > max)
        return sw_cli_usage(usage, "too many arguments");
    return 0;
}

int sw_cli_open(sw_cli *cli, sw_store **st, sw_catalog **cat)
{
    if (st && sw_store_open(st, cli->home, SW_STORE_SHARED))
        return sw_cli_fail();
    if (cat && sw_catalog_open(cat, cli->home)) {
        if (st) {
            sw_store_free(*st);
            *st = NULL;
        }
        return sw_cli_fail();
    }
    return 0;
}

int sw_cli_manifest(sw_manifest **out, sw_catalog *cat, const char *ref)
{
    return sw_bundle_read(out, cat, ref) ? sw_cli_fail() : 0;
}
