/* graph.c — the pipeline graph: stages, unique names, DOT output (see graph.h). */
#include "pipeline/graph.h"
#include "base/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void sw_stage_clear(sw_stage *s)
{
    free(s->name);
    free(s->where);
    free(s->inputs);
    free(s->path);
    free(s->bundle);
    free(s->version);
    free(s->subpath);
    free(s->format_name);
    for (size_t i = 0; s->param_text && i < s->nparams; i++)
        free(s->param_text[i]);
    free(s->param_text);
    free(s->params);
    free(s->save_path);
    free(s->publish_name);
    free(s->publish_version);
    free(s->file_name);
    for (size_t i = 0; i < s->nmeta; i++) {
        free((char *)s->meta[i].key);
        free((char *)s->meta[i].value);
    }
    free(s->meta);
    memset(s, 0, sizeof *s);
}

int sw_stage_stats(const sw_stage *s)
{
    return !s->plugin && s->format_name && !strcmp(s->format_name, "stats");
}

/* ---- Names: an open-addressing hash table of owned strings to numbers -------------------------------- */

typedef struct {
    char *key; /* NULL: empty slot */
    size_t val;
} sw_name_slot;

typedef struct {
    sw_name_slot *v;
    size_t n, cap; /* cap: a power of two, or 0 */
} sw_name_table;

struct sw_names {
    sw_name_table index; /* stage name -> its index */
    sw_name_table next;  /* base of automatic names -> the next number to try */
};

static size_t sw_name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

/* The slot of key in t: its own, or the empty one where it would go. t->cap must be non-zero. */
static sw_name_slot *sw_name_slot_of(const sw_name_table *t, const char *key)
{
    size_t i = sw_name_hash(key) & (t->cap - 1);
    while (t->v[i].key && strcmp(t->v[i].key, key))
        i = (i + 1) & (t->cap - 1);
    return &t->v[i];
}

/* The value of key, or NULL when absent. */
static size_t *sw_name_get(const sw_name_table *t, const char *key)
{
    if (!t->cap)
        return NULL;
    sw_name_slot *e = sw_name_slot_of(t, key);
    return e->key ? &e->val : NULL;
}

/* Sets key (copied when new) to val, growing the table to keep it at most half full. */
static void sw_name_put(sw_name_table *t, const char *key, size_t val)
{
    if (2 * (t->n + 1) > t->cap) {
        sw_name_table big = {sw_calloc(t->cap ? 2 * t->cap : 64, sizeof *big.v), t->n, t->cap ? 2 * t->cap : 64};
        for (size_t i = 0; i < t->cap; i++)
            if (t->v[i].key)
                *sw_name_slot_of(&big, t->v[i].key) = t->v[i];
        free(t->v);
        *t = big;
    }
    sw_name_slot *e = sw_name_slot_of(t, key);
    if (!e->key) {
        e->key = sw_strdup(key);
        t->n++;
    }
    e->val = val;
}

static void sw_name_table_free(sw_name_table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->v[i].key);
    free(t->v);
}

void sw_graph_free(sw_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        sw_stage_clear(&g->v[i]);
    free(g->v);
    free(g->file);
    free(g->real);
    if (g->names) {
        sw_name_table_free(&g->names->index);
        sw_name_table_free(&g->names->next);
        free(g->names);
    }
    memset(g, 0, sizeof *g);
}

sw_stage *sw_graph_find(const sw_graph *g, const char *name)
{
    size_t *i = g->names ? sw_name_get(&g->names->index, name) : NULL;
    return i ? &g->v[*i] : NULL;
}

/* A free name for a stage: name itself (NULL when taken), or base, else base-K for the first free K from
 * the number the last name from base took (each base remembers it, so n names from one base cost O(n)). */
static char *sw_graph_name(sw_graph *g, const char *name, const char *base)
{
    if (name)
        return sw_graph_find(g, name) ? NULL : sw_strdup(name);
    if (!sw_graph_find(g, base))
        return sw_strdup(base);
    size_t *next = sw_name_get(&g->names->next, base);
    size_t k = next ? *next : 2;
    char *chosen = sw_sprintf("%s-%zu", base, k);
    while (sw_graph_find(g, chosen)) {
        free(chosen);
        chosen = sw_sprintf("%s-%zu", base, ++k);
    }
    sw_name_put(&g->names->next, base, k + 1);
    return chosen;
}

int sw_graph_add(size_t *index, sw_graph *g, sw_stage *s, const char *name, const char *base, const char *where)
{
    if (!g->names)
        g->names = sw_calloc(1, sizeof *g->names);
    char *chosen = sw_graph_name(g, name, base);
    if (!chosen)
        return sw_error(SW_EEXISTS, "a stage named '%s' exists already", name);
    sw_grow(&g->v, &g->cap, g->n + 1, sizeof *g->v);
    sw_stage *d = &g->v[g->n];
    *d = *s;
    memset(s, 0, sizeof *s);
    d->index = *index = g->n++;
    d->name = chosen;
    d->where = sw_strdup(where);
    sw_name_put(&g->names->index, chosen, d->index);
    return 0;
}

const swarm_op *sw_stage_op(const sw_stage *s)
{
    return s->plugin->desc->ops[s->op_index];
}

/* Writes s as a DOT string literal body (quotes and backslashes escaped). */
static void sw_dot_str(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s == '\n' ? ' ' : *s, out);
    }
}

void sw_graph_dot(FILE *out, const sw_graph *g)
{
    fputs("digraph pipeline {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n", out);
    for (size_t i = 0; i < g->n; i++) {
        const sw_stage *s = &g->v[i];
        fprintf(out, "  s%zu [label=\"", i);
        sw_dot_str(out, s->name);
        fputs("\\n", out);
        switch (s->kind) {
        case SW_STAGE_INPUT:
            fputs("input ", out);
            if (s->bundle) {
                sw_dot_str(out, s->bundle);
                fputc('@', out);
                sw_dot_str(out, s->version);
            } else {
                sw_dot_str(out, s->path);
            }
            break;
        case SW_STAGE_READ:
        case SW_STAGE_WRITE:
            fputs(s->kind == SW_STAGE_READ ? "read " : "write ", out);
            sw_dot_str(out, s->format_name);
            break;
        case SW_STAGE_OP:
            sw_dot_str(out, s->plugin->desc->id);
            fputc('/', out);
            sw_dot_str(out, sw_stage_op(s)->name);
            break;
        }
        fprintf(out, "\", shape=%s];\n", s->kind == SW_STAGE_INPUT ? "note" : s->kind == SW_STAGE_WRITE ? "folder" : "box");
        for (size_t k = 0; k < s->ninputs; k++)
            fprintf(out, "  s%zu -> s%zu [label=\"%s\"];\n", s->inputs[k], i, sw_valkind_name(g->v[s->inputs[k]].out));
    }
    fputs("}\n", out);
}
