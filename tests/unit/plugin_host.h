/* plugin_host.h — how a unit test reaches a plugin: the plugin built by make (SWARM_BUILD/plugins, else
 * build/plugins), loaded by swarm's own loader (core/host/plugin.h), its ops and formats called through
 * swarm's own host table (core/host/opcall.h). Tests of a plugin's internal functions, which the ABI does
 * not expose, compile those sources in as well (test_text, test_data, test_dedup: see tests/README.md). */
#ifndef SW_TEST_PLUGIN_HOST_H
#define SW_TEST_PLUGIN_HOST_H

#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "host/opcall.h"
#include "host/plugin.h"

/* Loads the build tree's plugins (caller frees with sw_plugins_free) and prints a TAP comment for each
 * one the loader skipped. */
static sw_plugins *test_plugins_load(void)
{
    const char *build = getenv("SWARM_BUILD");
    char *dir = sw_sprintf("%s/plugins", build && *build ? build : "build");
    const char *dirs[1] = {dir};
    sw_plugins *ps = sw_plugins_load(dirs, 1, -1, 0);
    for (size_t i = 0; ps && sw_plugins_skipped(ps, i); i++)
        printf("# skipped %s: %s\n", sw_plugins_skipped(ps, i)->path, sw_plugins_skipped(ps, i)->reason);
    free(dir);
    return ps;
}

#endif
