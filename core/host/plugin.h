/* plugin.h — finding, loading and validating op plugins (the ABI is plugins/swarm_plugin.h).
 *
 * An sw_plugins object is the registry: the plugins found on a search path, each validated before any of
 * its code but the entry function runs, and the files skipped with a one-line reason each. The caller
 * owns it; there is no global registry. Loaded libraries stay mapped for the life of the process (never
 * dlclose: a descriptor, or a pointer into it, may outlive the object). */
#ifndef SW_PLUGIN_H
#define SW_PLUGIN_H

#include <stddef.h>

#include "swarm_plugin.h"

typedef struct sw_plugins sw_plugins;

/* What a variant's probe said at load time, on device 0 of its type. */
typedef struct {
    int score;  /* 0 (cannot run here) to 100 */
    char *note; /* why it cannot run (the probe's message, or what was wrong with its answer), or NULL */
    int noticed; /* set (atomically) once the host has told the user it fell back from this variant */
} sw_plugin_probe;

/* One loaded plugin. Everything in desc has passed validation. */
typedef struct {
    /* The plugin's descriptor: its own static memory, or, when companions extend it, a host-owned copy
     * whose ops hold the plugin's variants then the companions' (never freed, like the libraries). */
    const swarm_plugin *desc;
    char *path;               /* the file it was loaded from */
    sw_plugin_probe **probes; /* probes[i][k]: variant k of op i */
    char **companions;        /* the files of the companions merged into it, in load order */
    size_t ncompanions;
    int verbosity; /* the registry's, for notes printed while its ops run */
} sw_plugin;

/* A file (or directory) that yielded no plugin, and why, in one line. */
typedef struct {
    char *path;
    char *reason;
} sw_plugin_skip;

/* Loads every *.so in the search path's directories, each directory's files in name order. The path is,
 * in order: dirs (from --plugin-path), the entries of $SWARM_PLUGIN_PATH (colon-separated), the build
 * tree's plugin folder, then PREFIX/lib/swarm/plugins; a directory met twice is searched once. Then the
 * companions found (SWARM_PLUGIN_COMPANION: GPU variants in NAME.hip.so) are merged into the plugins
 * they extend, each checked to describe that plugin's ops exactly. Nothing fails: a bad plugin, a
 * duplicate id, a companion that matches no plugin or differs from it, a library that does not load (a
 * companion whose GPU runtime is not installed), a file named NAME.hip.so or NAME.cuda.so that is not a
 * companion, or a directory named in dirs or $SWARM_PLUGIN_PATH that cannot be read becomes a skip entry.
 * verbosity (-1, 0, 1, as sw_cli's) decides which plugin log messages and notes show. flags: 0 or
 * SW_PLUGINS_DEFER_GPU. */
sw_plugins *sw_plugins_load(const char *const *dirs, size_t ndirs, int verbosity, unsigned flags);

/* Flags of sw_plugins_load. */
enum {
    /* A companion named NAME.hip.so (NAME.cuda.so) when this machine has no /dev/kfd (/dev/nvidiactl), so
     * that its runtime could find no device, is not loaded (its runtime's libraries cost a start-up 20 ms)
     * until sw_plugins_load_gpu. Its variants could not run: the plugins' ops choose the same variants
     * with it or without it, and keys do not change. */
    SW_PLUGINS_DEFER_GPU = 1u << 0
};

/* Loads and merges the companions SW_PLUGINS_DEFER_GPU left out, as sw_plugins_load would have; a no-op
 * once done. It changes the variants (and the descriptor) of the plugins they extend: call it while no
 * op of ps runs. */
void sw_plugins_load_gpu(sw_plugins *ps);
void sw_plugins_free(sw_plugins *ps);

/* The i-th loaded plugin, in load order, or NULL past the end. */
const sw_plugin *sw_plugins_get(const sw_plugins *ps, size_t i);
/* The loaded plugin with this id, or NULL. */
const sw_plugin *sw_plugins_find(const sw_plugins *ps, const char *id);
/* The plugin a user names: its id, or the last label of exactly one plugin's id ("convert" for
 * org.swarm.convert), given as the first len bytes of name. SW_ENOTFOUND when none is loaded,
 * SW_ECONFLICT when two ids end in that label, with sw_error set. */
int sw_plugins_lookup(const sw_plugin **out, const sw_plugins *ps, const char *name, size_t len);
/* The i-th skipped file, in search order, or NULL past the end. */
const sw_plugin_skip *sw_plugins_skipped(const sw_plugins *ps, size_t i);

/* A plugin's records formats (ABI 1.2), none for a descriptor whose struct_size predates them. */
const swarm_records_format *const *sw_plugin_records_formats(const swarm_plugin *d, size_t *n);
/* The options swarm.read and swarm.write take beside a records format's params (NULL-terminated): the
 * loader refuses a format with a param of one of these names. */
extern const char *const sw_records_options[];

/* Names for the ABI's codes, for output: "cpu"/"hip"/"cuda", "tensor"/"records", "bool"/"int"/...; "?"
 * when unknown. */
const char *sw_plugin_device_name(int32_t device_type);
const char *sw_plugin_kind_name(int32_t kind);
const char *sw_plugin_param_type_name(int32_t type);

#endif
