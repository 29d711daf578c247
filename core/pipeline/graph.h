/* graph.h — a pipeline as the runner sees it: stages in the order the pipeline declared them, each
 * naming the stages it takes values from. A stage can only take values that exist when it is declared,
 * so the order is topological and a cycle cannot be written. lua/lswarm.c builds graphs; core/runner.c
 * runs them; sw_graph_dot prints one.
 *
 * Ownership: a graph owns its stages and everything in them, except the plugin descriptors they point
 * at (owned by the sw_plugins the graph was built with, which must outlive it). */
#ifndef SW_GRAPH_H
#define SW_GRAPH_H

#include <stddef.h>
#include <stdio.h>

#include "host/opcall.h"
#include "base/util.h"
#include "pipeline/values.h"

typedef enum {
    SW_STAGE_INPUT = 1, /* a file, a directory or a bundle version: files */
    SW_STAGE_READ,      /* files → tensors (a format) or records (lines) */
    SW_STAGE_OP,        /* a plugin op mapped over tensors or record batches */
    SW_STAGE_WRITE      /* tensors (a format) or records (lines) → a file, optionally saved and published */
} sw_stagekind;

typedef struct {
    size_t index;       /* its place in the graph */
    char *name;         /* unique in the graph: [A-Za-z0-9_.-]+ */
    sw_stagekind kind;
    sw_valkind out;     /* the kind of value it yields */
    char *where;        /* "FILE:LINE" of its declaration, for messages */
    size_t *inputs;     /* indexes of the stages it takes values from, in port order */
    size_t ninputs;

    /* INPUT: a path (file or directory) or a bundle version (NAME@VERSION, optionally /PATH inside). */
    char *path;
    char *bundle, *version, *subpath;

    /* READ and WRITE: a plugin's tensor format or records format, or neither for the built-in "lines". */
    const sw_plugin *plugin;
    const swarm_format *format;
    const swarm_records_format *rformat;
    char *format_name; /* "lines" or the format's name */

    /* OP: op op_index of plugin, its params and how it is mapped. OP, and READ and WRITE of a records
     * format: the params of its schema (canonical text per schema entry, and bound values). */
    size_t op_index;
    char **param_text;
    swarm_param_value *params;
    size_t nparams;
    sw_device_choice device;
    uint64_t batch; /* records per call when mapped over records */

    /* WRITE: where the file goes (may be NULL) and the bundle version to publish it as (may be NULL). */
    char *save_path;
    char *publish_name, *publish_version;
    char *file_name; /* the file's name in a published version */
    /* WRITE of tensors: metadata pairs (sorted by key) that replace or join the collection's own in the
     * file's header; they are part of the stage's key. */
    swarm_meta *meta;
    size_t nmeta;
    /* WRITE of records: a new file every shard_records records or before shard_bytes bytes of records (each
     * counted as stored framed: 4 + its length) would be passed (0: no limit; both 0: one file), and the
     * compression of the files. */
    uint64_t shard_records, shard_bytes;
    int compress; /* sw_compress */
} sw_stage;

typedef struct sw_names sw_names; /* the graph's stage names, hashed (graph.c) */

typedef struct {
    sw_stage *v;
    size_t n, cap;
    sw_names *names;   /* name -> index, and for each automatic name's base its next number */
    char *file;        /* the pipeline file as given */
    char *real;        /* its real path: names the pipeline in the stage-run records */
    sw_hash file_hash; /* SHA-256 of its text: provenance of published versions */
} sw_graph;

void sw_graph_free(sw_graph *g);
/* Frees what a stage owns and zeroes it (a stage being built that is never added). */
void sw_stage_clear(sw_stage *s);
/* Moves the fully built stage *s into the graph (then *s is zeroed), naming it name (NULL: a name from
 * base, numbered when taken: base, base-2, base-3...) and setting its index (also to *index) and where
 * (copied). Fails with SW_EEXISTS when an explicit name is taken, leaving *s as it was. Names are
 * hashed: adding n stages takes O(n) time. */
int sw_graph_add(size_t *index, sw_graph *g, sw_stage *s, const char *name, const char *base, const char *where);
/* The stage named name, or NULL. */
sw_stage *sw_graph_find(const sw_graph *g, const char *name);
/* Whether a write stage uses the built-in "stats" writer (a tensor collection to a JSON manifest). */
int sw_stage_stats(const sw_stage *s);
/* The op a stage calls (SW_STAGE_OP only). */
const swarm_op *sw_stage_op(const sw_stage *s);
/* The graph in DOT: one node per stage (labelled with its kind and op or format), one edge per input. */
void sw_graph_dot(FILE *out, const sw_graph *g);

#endif
