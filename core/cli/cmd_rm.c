/* cmd_rm.c — swarm rm and rename: taking a local version back, or giving it another name (the way out of
 * two peers' auto-numbered versions under one tag). The rules live in the catalog (sw_catalog_remove,
 * sw_catalog_rename); this file parses references and reports. */
#include "cli/cli.h"
#include "cli/commands.h"
#include "base/error.h"
#include "bundle/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses an operand that must name a version (NAME@VERSION or NAME@latest, not a bare NAME, which could
 * be read as the whole bundle) and resolves latest. Returns 0, 1 after an error or 2 after a usage error. */
static int sw_rm_ref(char **name, char **version, sw_catalog *cat, const char *ref, const char *usage)
{
    if (!strchr(ref, '@'))
        return sw_cli_usage(usage, "'%s' names no version: give NAME@VERSION", ref);
    if (sw_ref_parse(name, version, ref, 0))
        return sw_cli_usage(usage, "%s", sw_error_last());
    if (sw_bundle_version(version, cat, *name)) {
        free(*name);
        free(*version);
        return sw_cli_fail();
    }
    return 0;
}

int sw_cmd_rm(sw_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, SW_CLI_COMMON_OPTS, {0}};
    int force = 0, c;
    optind = 0;
    while ((c = sw_cli_getopt(cli, argc, argv, "fqv", opts, SW_USAGE_RM)) != -1)
        if (c == '?')
            return 2;
        else if (c == 'f')
            force = 1;
    if (argc - optind != 1)
        return sw_cli_usage(SW_USAGE_RM, argc - optind ? "too many arguments" : "missing argument");
    sw_catalog *cat;
    char *name, *version;
    if (sw_cli_open(cli, NULL, &cat))
        return 1;
    int rc = sw_rm_ref(&name, &version, cat, argv[optind], SW_USAGE_RM);
    if (!rc) {
        sw_strlist pushed = {0};
        if (sw_catalog_remove(&pushed, cat, name, version, force))
            rc = sw_cli_fail();
        else if (pushed.n)
            sw_cli_note(cli, "removed %s@%s here; %s still holds it, and a later pull brings it back unless it is "
                        "removed there too", name, version, pushed.v[0]);
        else
            sw_cli_note(cli, "removed %s@%s (gc frees the bytes no other version uses)", name, version);
        sw_strlist_free(&pushed);
        free(name);
        free(version);
    }
    sw_catalog_free(cat);
    return rc;
}

int sw_cmd_rename(sw_cli *cli, int argc, char **argv)
{
    if (sw_cli_operands(cli, argc, argv, 2, 2, SW_USAGE_RENAME))
        return 2;
    sw_catalog *cat;
    char *name, *from, *to_name = NULL, *to = NULL;
    if (sw_cli_open(cli, NULL, &cat))
        return 1;
    int rc = sw_rm_ref(&name, &from, cat, argv[optind], SW_USAGE_RENAME);
    if (rc) {
        sw_catalog_free(cat);
        return rc;
    }
    if (!strchr(argv[optind + 1], '@') || sw_ref_parse(&to_name, &to, argv[optind + 1], 0))
        rc = sw_cli_usage(SW_USAGE_RENAME, "the new name must be NAME@VERSION");
    else if (strcmp(name, to_name))
        rc = sw_cli_usage(SW_USAGE_RENAME, "rename keeps the bundle: %s@%s cannot become a version of %s", name,
                          from, to_name);
    else if (sw_catalog_rename(cat, name, from, to))
        rc = sw_cli_fail();
    else {
        printf("%s@%s\n", name, to);
        sw_cli_note(cli, "renamed %s@%s to %s@%s", name, from, name, to);
    }
    free(name);
    free(from);
    free(to_name);
    free(to);
    sw_catalog_free(cat);
    return rc;
}
