/* cmd_checkout.c — swarm checkout and export: a version's files out of the store.
 *
 * checkout copies (never links) each object, so editing the checkout cannot change the store. Objects
 * are trusted as the store keeps them (hashed when written, re-hashed by verify and fsck); checkout
 * checks each copy's size, and with --verify re-hashes every copy before it takes its name. It refuses
 * to overwrite: if any target file exists, nothing is written. Each file is written beside its target
 * and renamed into place, so a file in DIR is either absent or complete. Folders inside DIR that are
 * symbolic links are refused, so a crafted DIR cannot redirect writes outside it. */
#include "bundle/archive_io.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "base/error.h"
#include "cache/hash.h"
#include "cli/progress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens store, catalog and manifest of a version whose files must all be held. */
static int sw_open_held(sw_cli *cli, const char *ref, sw_store **st, sw_catalog **cat, sw_manifest **m)
{
    if (sw_cli_open(cli, st, cat))
        return 1;
    if (sw_cli_manifest(m, *cat, ref))
        return 1;
    size_t held = sw_bundle_held_files(*m, *st);
    if (held != (*m)->nfiles) {
        sw_error(SW_ENOTFOUND, "%s is not held here (%zu of %zu files missing): fetch it with 'swarm get %s'", ref,
                 (*m)->nfiles - held, (*m)->nfiles, ref);
        return sw_cli_fail();
    }
    return 0;
}

static int sw_checkout(sw_cli *cli, sw_store *st, const sw_manifest *m, const char *dir, int verify)
{
    sw_progress p;
    sw_progress_begin(&p, cli->progress, "checkout", sw_manifest_size(m));
    int r = sw_bundle_checkout(st, m, dir, verify, sw_progress_step, &p);
    sw_progress_end(&p);
    return r;
}

int sw_cmd_checkout(sw_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"verify", no_argument, NULL, 'V'}, SW_CLI_COMMON_OPTS, {0}};
    int c, verify = 0;
    optind = 0;
    while ((c = sw_cli_getopt(cli, argc, argv, "qv", opts, SW_USAGE_CHECKOUT)) != -1)
        if (c == '?')
            return 2;
        else if (c == 'V')
            verify = 1;
    if (argc - optind != 2)
        return sw_cli_usage(SW_USAGE_CHECKOUT, argc - optind < 2 ? "missing argument" : "too many arguments");
    sw_store *st = NULL;
    sw_catalog *cat = NULL;
    sw_manifest *m = NULL;
    int rc = sw_open_held(cli, argv[optind], &st, &cat, &m);
    if (!rc && sw_checkout(cli, st, m, argv[optind + 1], verify))
        rc = sw_cli_fail();
    if (!rc) {
        char size[32];
        sw_cli_note(cli, "checked out %s@%s into %s: %zu files, %s", m->name, m->version, argv[optind + 1],
                    m->nfiles, sw_fmt_bytes(size, sizeof size, sw_manifest_size(m)));
    }
    sw_manifest_free(m);
    sw_catalog_free(cat);
    sw_store_free(st);
    return rc;
}

int sw_cmd_export(sw_cli *cli, int argc, char **argv)
{
    if (sw_cli_operands(cli, argc, argv, 2, 2, SW_USAGE_EXPORT))
        return 2;
    sw_store *st = NULL;
    sw_catalog *cat = NULL;
    sw_manifest *m = NULL;
    int rc = sw_open_held(cli, argv[optind], &st, &cat, &m);
    if (!rc) {
        sw_progress p;
        sw_progress_begin(&p, cli->progress, "export", sw_manifest_size(m));
        if (sw_archive_export(st, m, argv[optind + 1], sw_progress_step, &p))
            rc = sw_cli_fail();
        sw_progress_end(&p);
    }
    if (!rc)
        sw_cli_note(cli, "exported %s@%s to %s", m->name, m->version, argv[optind + 1]);
    sw_manifest_free(m);
    sw_catalog_free(cat);
    sw_store_free(st);
    return rc;
}
