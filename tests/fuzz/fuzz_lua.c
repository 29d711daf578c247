/* fuzz_lua.c — the pipeline language (lua/lswarm.c): any text is declared as `swarm pipeline run` declares
 * a pipeline file (sw_pipeline_load: the sandboxed Lua state, its memory cap, instruction hook and 10 s
 * limit) against the plugins of the build tree, and the graph it makes is freed. Metamethods that call
 * back into swarm.* while a declaration is under way are in the seeds (re-entrancy). */
#include "lua/lswarm.h"
#include "fuzz.h"

static sw_plugins *fz_plugins;

static void fz_plugins_free(void)
{
    sw_plugins_free(fz_plugins);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    /* The build tree's plugins: this program is BUILD/fuzz/NAME, they are in BUILD/plugins. */
    char *exe = sw_exe_dir(), *dir = sw_sprintf("%s/../plugins", exe ? exe : ".");
    const char *dirs[1] = {dir};
    fz_plugins = sw_plugins_load(dirs, 1, -1, 0);
    free(dir);
    free(exe);
    atexit(fz_plugins_free);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = sw_sprintf("%s/pipeline.lua", fz_scratch());
    FZ_CHECK(sw_write_file_atomic(path, data, size, 0644) == 0);
    sw_graph g;
    if (sw_pipeline_load(&g, path, fz_plugins, NULL, NULL, NULL, 0, SW_LOAD_RUN) == 0)
        FZ_CHECK(g.n > 0);
    sw_graph_free(&g);
    free(path);
    return 0;
}
