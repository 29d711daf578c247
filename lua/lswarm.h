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

/* What a pipeline is evaluated for. */
typedef enum {
    SW_LOAD_RUN,    /* to run: every required param set, every input present */
    SW_LOAD_GRAPH,  /* to draw: a required param not set reads "<NAME>", inputs need not exist yet */
    SW_LOAD_PARAMS, /* to list its params: evaluated up to its swarm.params call (sw_pipeline_params) */
} sw_load_mode;

/* Evaluates the pipeline at file into out, for mode (RUN or GRAPH). sets are the --set KEY=VALUE pairs
 * (keys[i], vals[i]); a key the pipeline does not declare is an error, naming the nearest declared one,
 * and so is reading an undeclared param. cat (may be NULL) is used to check that bundle inputs exist.
 * Errors (SW_EINVALID) read "FILE:LINE: what is wrong", pointing at the pipeline's line. */
int sw_pipeline_load(sw_graph *out, const char *file, const sw_plugins *ps, sw_catalog *cat,
                     const char *const *keys, const char *const *vals, size_t nsets, sw_load_mode mode);

/* A declared parameter: its name, default (NULL: required) and doc. */
typedef struct {
    char *name, *def, *doc;
} sw_pparam;

/* A pipeline's parameters, sorted by name; declared: whether it calls swarm.params at all. */
typedef struct {
    sw_pparam *v;
    size_t n;
    int declared;
} sw_pparams;
void sw_pparams_free(sw_pparams *p);

/* Lists the params the pipeline at file declares, without --set values: evaluates it only up to its
 * swarm.params call (a pipeline without one runs whole, inputs not needed). Fails as sw_pipeline_load
 * on an error before that call. */
int sw_pipeline_params(sw_pparams *out, const char *file, const sw_plugins *ps);

#endif
