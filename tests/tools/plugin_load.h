/* plugin_load.h — how the standalone benchmark and GPU test tools reach a plugin without linking swarm:
 * dlopen its .so, call its entry point, find an op by name. Header-only (static functions), for C and
 * C++. swarm itself loads plugins through core/host/plugin.c, which also checks the ABI. */
#ifndef SW_TOOLS_PLUGIN_LOAD_H
#define SW_TOOLS_PLUGIN_LOAD_H

#include "swarm_plugin.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The plugin in the shared object at path, or NULL (dlerror() says why when the load failed). The object
 * stays loaded for the life of the process. */
static const swarm_plugin *tool_load_plugin(const char *path)
{
    void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    swarm_plugin_entry_fn entry = so ? (swarm_plugin_entry_fn)(uintptr_t)dlsym(so, "swarm_plugin_entry") : NULL;
    return entry ? entry() : NULL;
}

/* The op of plugin p called name, or NULL (also when p is NULL). */
static const swarm_op *tool_find_op(const swarm_plugin *p, const char *name)
{
    for (size_t i = 0; p && i < p->n_ops; i++)
        if (!strcmp(p->ops[i]->name, name))
            return p->ops[i];
    return NULL;
}

#endif
