/* lswarm.h — the pipeline language: runs a pipeline file in a sandboxed Lua 5.4 state whose only
 * library beyond the safe standard ones is `require "swarm"` (luaopen_swarm), and returns the graph the
 * file declared. Lua runs only here, on the calling thread, and no plugin code runs while it does: the
 * file only declares stages, checked against the plugins' descriptors, and core/runner.c runs them.
 * PIPELINES.md documents the language. */
#ifndef SW_LSWARM_H
#define SW_LSWARM_H

#include <stddef.h>

#include "bundle/catalog.h"
#include "pipeline/graph.h"

/* Evaluates the pipeline at file into out. sets are the --set KEY=VALUE pairs (keys[i], vals[i]); a key
 * the pipeline does not declare is an error. cat (may be NULL) is used to check that bundle inputs
 * exist. Errors (SW_EINVALID) read "FILE:LINE: what is wrong", pointing at the pipeline's line. */
int sw_pipeline_load(sw_graph *out, const char *file, const sw_plugins *ps, sw_catalog *cat,
                     const char *const *keys, const char *const *vals, size_t nsets);

#endif
