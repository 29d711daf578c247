/* graph.c — the pipeline graph: stages, unique names, DOT output (see graph.h). */
#include "pipeline/graph.h"
#include "base/error.h"

#include <stdlib.h>
#include <string.h>

static void sw_stage_clear(sw_stage *s)
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
}

int sw_stage_stats(const sw_stage *s)
{
    return !s->plugin && s->format_name && !strcmp(s->format_name, "stats");
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
    memset(g, 0, sizeof *g);
}

sw_stage *sw_graph_find(sw_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n; i++)
        if (!strcmp(g->v[i].name, name))
            return &g->v[i];
    return NULL;
}

int sw_graph_add(sw_stage **out, sw_graph *g, sw_stagekind kind, const char *name, const char *base,
                 const char *where)
{
    char *chosen;
    if (name) {
        if (sw_graph_find(g, name))
            return sw_error(SW_EEXISTS, "a stage named '%s' exists already", name);
        chosen = sw_strdup(name);
    } else {
        chosen = sw_strdup(base);
        for (int k = 2; sw_graph_find(g, chosen); k++) {
            free(chosen);
            chosen = sw_sprintf("%s-%d", base, k);
        }
    }
    sw_grow(&g->v, &g->cap, g->n + 1, sizeof *g->v);
    sw_stage *s = &g->v[g->n];
    memset(s, 0, sizeof *s);
    s->index = g->n++;
    s->name = chosen;
    s->kind = kind;
    s->where = sw_strdup(where);
    *out = s;
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
