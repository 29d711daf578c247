/* plugin.c — the plugin loader and registry (see plugin.h): search path, dlopen, validation of every
 * descriptor before any other plugin code runs, merging GPU companions into the plugins they extend,
 * variant probes, and the host functions plugins call. */
#include "host/plugin.h"
#include "base/error.h"
#include "host/opcall.h"
#include "base/util.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The built-in plugin folders, relative to the program's folder: a build tree's swarm beside its
 * plugins/, an installed PREFIX/bin/swarm with PREFIX/lib/swarm/plugins. No path is compiled in. */
static const char *const sw_builtin_dirs[] = {"plugins", "../lib/swarm/plugins"};

#define SW_ABI_MAJOR(v) ((unsigned)((v) >> 16))
#define SW_ABI_MINOR(v) ((unsigned)((v)&0xffff))

/* Garbage guard on every array in a descriptor: no real plugin comes near it. */
#define SW_MAX_ITEMS 1024

/* The smallest struct_size a growable struct may have: its size in ABI 1.0, through its last field.
 * Fields a later minor appends are to be read only when struct_size covers them. */
#define SW_END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/* A companion found while loading, merged once every plugin is loaded. */
typedef struct {
    char *path;
    const swarm_plugin *desc;
} sw_companion;

struct sw_plugins {
    sw_plugin *v;
    size_t n, cap;
    sw_plugin_skip *skips;
    size_t nskips, skipcap;
    sw_companion *comps;
    size_t ncomps, compcap;
    sw_strlist dirs;     /* real paths of the directories searched, so each is searched once */
    sw_strlist deferred; /* SW_PLUGINS_DEFER_GPU: the companions not loaded yet, in search order */
    unsigned flags;
    int verbosity;
};

/* The host-owned descriptors that merging companions makes. They live as long as the libraries they
 * point into (for the process: never dlclose), so they are kept reachable from here and never freed.
 * Written only while plugins load (discovery: one thread). */
static void **sw_kept;
static size_t sw_nkept, sw_keptcap;

static void *sw_keep(void *p)
{
    sw_grow(&sw_kept, &sw_keptcap, sw_nkept + 1, sizeof *sw_kept);
    sw_kept[sw_nkept++] = p;
    return p;
}

/* ---- Validation ------------------------------------------------------------------------------------ */

/* A string fit to print in a one-line reason: at most 40 characters, unprintable ones as '?'. */
static const char *sw_shown(char buf[48], const char *s)
{
    size_t i = 0;
    for (; s[i] && i < 40; i++)
        buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    strcpy(buf + i, s[i] ? "..." : "");
    return buf;
}

/* Text of at most max bytes without control characters (newlines and tabs allowed when multiline). */
static int sw_text_ok(const char *s, size_t max, int multiline)
{
    if (!s)
        return 0;
    size_t n = 0;
    for (; s[n] && n <= max; n++) {
        unsigned char c = (unsigned char)s[n];
        if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t'))) || c == 0x7f)
            return 0;
    }
    return n <= max;
}

/* An op, param, port or enum choice name: [a-z][a-z0-9_]*, at most 64 characters. */
static int sw_ident_ok(const char *s)
{
    if (!s || !(*s >= 'a' && *s <= 'z'))
        return 0;
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= 64 || !((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
            return 0;
    return 1;
}

/* A plugin id: labels of [a-z0-9-] joined by dots, at least two labels, at most 128 characters. */
static int sw_id_ok(const char *s)
{
    if (!s)
        return 0;
    size_t n = 0, label = 0, dots = 0;
    for (; s[n]; n++) {
        if (n >= 128)
            return 0;
        if (s[n] == '.') {
            if (!label)
                return 0;
            label = 0;
            dots++;
        } else if ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-') {
            label++;
        } else {
            return 0;
        }
    }
    return label && dots;
}

/* A numerics tag: [a-z0-9][a-z0-9._-]*, at most 64 characters. */
static int sw_tag_ok(const char *s)
{
    if (!s || !*s || *s == '.' || *s == '_' || *s == '-')
        return 0;
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= 64 || !((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || strchr("._-", s[n])))
            return 0;
    return 1;
}

static int sw_check_size(const char *what, uint32_t got, size_t min, size_t max)
{
    if (got >= min && got <= max)
        return 0;
    if (min == max)
        return sw_error(SW_EINVALID, "%s.struct_size is %u, not %zu", what, (unsigned)got, min);
    return sw_error(SW_EINVALID, "%s.struct_size is %u, not %zu to %zu", what, (unsigned)got, min, max);
}

/* An array of n items: at most SW_MAX_ITEMS, at least min, and not NULL when n > 0. */
static int sw_check_array(const char *what, const void *arr, size_t n, size_t min)
{
    if (n < min)
        return sw_error(SW_EINVALID, "no %s", what);
    if (n > SW_MAX_ITEMS)
        return sw_error(SW_EINVALID, "%zu %s (at most %d)", n, what, SW_MAX_ITEMS);
    if (n && !arr)
        return sw_error(SW_EINVALID, "%zu %s but the array is NULL", n, what);
    return 0;
}

/* An enum's choices: 1 to SW_MAX_ITEMS distinct names, NULL-terminated. */
static int sw_check_choices(const swarm_param *p)
{
    if (!p->choices || !p->choices[0])
        return sw_error(SW_EINVALID, "an enum needs choices");
    for (size_t i = 0; p->choices[i]; i++) {
        char b[48];
        if (i >= SW_MAX_ITEMS)
            return sw_error(SW_EINVALID, "more than %d choices (is the list NULL-terminated?)", SW_MAX_ITEMS);
        if (!sw_ident_ok(p->choices[i]))
            return sw_error(SW_EINVALID, "choice '%s' is not a name ([a-z][a-z0-9_]*)", sw_shown(b, p->choices[i]));
        for (size_t k = 0; k < i; k++)
            if (!strcmp(p->choices[k], p->choices[i]))
                return sw_error(SW_EINVALID, "choice '%s' is listed twice", p->choices[i]);
    }
    return 0;
}

static int sw_check_param(const swarm_param *p)
{
    if (p->type < SWARM_PARAM_BOOL || p->type > SWARM_PARAM_PATH)
        return sw_error(SW_EINVALID, "unknown type %d", (int)p->type);
    if (p->type == SWARM_PARAM_ENUM && sw_check_choices(p))
        return SW_EINVALID;
    if (p->type != SWARM_PARAM_ENUM && p->choices)
        return sw_error(SW_EINVALID, "choices are for enums only");
    if (p->default_value && !sw_text_ok(p->default_value, 4096, 0))
        return sw_error(SW_EINVALID, "the default is not a line of at most 4096 bytes");
    swarm_param_value v;
    if (p->default_value && sw_param_parse(&v, p, p->default_value))
        return sw_error_wrap(SW_EINVALID, "default");
    if (!sw_text_ok(p->doc, 4096, 1))
        return sw_error(SW_EINVALID, "doc is NULL or not text of at most 4096 bytes");
    return 0;
}

/* A param schema (an op's or a records format's): distinct names, each param sound. */
static int sw_check_params(const swarm_param *params, size_t n)
{
    if (sw_check_array("params", params, n, 0))
        return SW_EINVALID;
    for (size_t i = 0; i < n; i++) {
        const swarm_param *p = &params[i];
        char b[48];
        if (!sw_ident_ok(p->name))
            return sw_error(SW_EINVALID, "param %zu: name '%s' is not a name ([a-z][a-z0-9_]*, at most 64)", i,
                            p->name ? sw_shown(b, p->name) : "(NULL)");
        for (size_t k = 0; k < i; k++)
            if (!strcmp(params[k].name, p->name))
                return sw_error(SW_EINVALID, "two params named '%s'", p->name);
        if (sw_check_param(p))
            return sw_error_wrap(SW_EINVALID, "param '%s'", p->name);
    }
    return 0;
}

/* Inputs (min 0) or outputs (min 1): distinct names, known kinds. */
static int sw_check_ports(const char *what, const swarm_port *ports, size_t n, size_t min)
{
    if (sw_check_array(what, ports, n, min))
        return SW_EINVALID;
    for (size_t i = 0; i < n; i++) {
        char b[48];
        if (!sw_ident_ok(ports[i].name))
            return sw_error(SW_EINVALID, "%s %zu: name '%s' is not a name ([a-z][a-z0-9_]*, at most 64)", what, i,
                            ports[i].name ? sw_shown(b, ports[i].name) : "(NULL)");
        for (size_t k = 0; k < i; k++)
            if (!strcmp(ports[k].name, ports[i].name))
                return sw_error(SW_EINVALID, "two %s named '%s'", what, ports[i].name);
        if (ports[i].kind != SWARM_KIND_TENSOR && ports[i].kind != SWARM_KIND_RECORDS)
            return sw_error(SW_EINVALID, "%s '%s': unknown kind %d", what, ports[i].name, (int)ports[i].kind);
        if (!sw_text_ok(ports[i].doc, 4096, 1))
            return sw_error(SW_EINVALID, "%s '%s': doc is NULL or not text of at most 4096 bytes", what,
                            ports[i].name);
    }
    return 0;
}

static int sw_check_variant(const swarm_variant *v)
{
    if (sw_check_size("swarm_variant", v->struct_size, SW_END_OF(swarm_variant, run), sizeof *v))
        return SW_EINVALID;
    if (v->device_type != SWARM_DEVICE_CPU && v->device_type != SWARM_DEVICE_ROCM &&
        v->device_type != SWARM_DEVICE_CUDA)
        return sw_error(SW_EINVALID, "unknown device type %d", (int)v->device_type);
    if (!sw_tag_ok(v->numerics)) {
        char b[48];
        return sw_error(SW_EINVALID, "numerics tag '%s' is not [a-z0-9][a-z0-9._-]* (at most 64)",
                        v->numerics ? sw_shown(b, v->numerics) : "(NULL)");
    }
    if (!v->probe || !v->infer || !v->run)
        return sw_error(SW_EINVALID, "%s is NULL", !v->probe ? "probe" : !v->infer ? "infer" : "run");
    return 0;
}

static int sw_check_op(const swarm_op *op)
{
    if (sw_check_size("swarm_op", op->struct_size, SW_END_OF(swarm_op, n_variants), sizeof *op))
        return SW_EINVALID;
    if (op->op_version < 1)
        return sw_error(SW_EINVALID, "op_version is 0 (versions start at 1)");
    if (op->flags & ~(uint32_t)(SWARM_OP_DETERMINISTIC | SWARM_OP_SERIAL | SWARM_OP_WHOLE | SWARM_OP_PASS))
        return sw_error(SW_EINVALID, "unknown flags 0x%x", (unsigned)op->flags);
    if (!sw_text_ok(op->doc, 4096, 1))
        return sw_error(SW_EINVALID, "doc is NULL or not text of at most 4096 bytes");
    if (sw_check_params(op->params, op->n_params) || sw_check_ports("inputs", op->inputs, op->n_inputs, 0) ||
        sw_check_ports("outputs", op->outputs, op->n_outputs, 1) ||
        sw_check_array("variants", op->variants, op->n_variants, 1))
        return SW_EINVALID;
    for (size_t i = 0; i < op->n_variants; i++) {
        if (!op->variants[i])
            return sw_error(SW_EINVALID, "variant %zu is NULL", i);
        if (sw_check_variant(op->variants[i]))
            return sw_error_wrap(SW_EINVALID, "variant %zu", i);
    }
    return 0;
}

const swarm_records_format *const *sw_plugin_records_formats(const swarm_plugin *d, size_t *n)
{
    int has = d->struct_size >= SW_END_OF(swarm_plugin, n_records_formats);
    *n = has ? d->n_records_formats : 0;
    return has ? d->records_formats : NULL;
}

/* Whether another format of the plugin, tensor or records, before records format i is named name. */
static int sw_format_name_taken(const swarm_plugin *d, const char *name, size_t i)
{
    size_t nr;
    const swarm_records_format *const *rf = sw_plugin_records_formats(d, &nr);
    for (size_t k = 0; k < d->n_formats; k++)
        if (!strcmp(d->formats[k]->name, name))
            return 1;
    for (size_t k = 0; k < i && k < nr; k++)
        if (!strcmp(rf[k]->name, name))
            return 1;
    return 0;
}

const char *const sw_records_options[] = {"name", "path", "publish", "file", "shard_records", "shard_bytes", "compress",
                                          NULL};

/* A plugin's records formats (1.2): names unique among all its formats, a version, an extension, a
 * param schema, read and write. */
static int sw_check_records_formats(const swarm_plugin *d)
{
    char b[48];
    size_t n;
    const swarm_records_format *const *rf = sw_plugin_records_formats(d, &n);
    if (sw_check_array("records formats", rf, n, 0))
        return SW_EINVALID;
    for (size_t i = 0; i < n; i++) {
        const swarm_records_format *f = rf[i];
        if (!f)
            return sw_error(SW_EINVALID, "records format %zu is NULL", i);
        if (sw_check_size("swarm_records_format", f->struct_size, SW_END_OF(swarm_records_format, write), sizeof *f))
            return sw_error_wrap(SW_EINVALID, "records format %zu", i);
        if (!sw_ident_ok(f->name))
            return sw_error(SW_EINVALID, "records format %zu: name '%s' is not a name ([a-z][a-z0-9_]*, at most 64)",
                            i, f->name ? sw_shown(b, f->name) : "(NULL)");
        if (sw_format_name_taken(d, f->name, i))
            return sw_error(SW_EINVALID, "two formats named '%s'", f->name);
        if (f->format_version < 1)
            return sw_error(SW_EINVALID, "format '%s': format_version is 0 (versions start at 1)", f->name);
        if (!sw_text_ok(f->doc, 4096, 1))
            return sw_error(SW_EINVALID, "format '%s': doc is NULL or not text of at most 4096 bytes", f->name);
        if (!f->extension || !sw_ident_ok(f->extension))
            return sw_error(SW_EINVALID, "format '%s': extension is not [a-z][a-z0-9_]* (at most 64)", f->name);
        if (sw_check_params(f->params, f->n_params))
            return sw_error_wrap(SW_EINVALID, "format '%s'", f->name);
        for (size_t k = 0; k < f->n_params; k++)
            for (size_t j = 0; sw_records_options[j]; j++)
                if (!strcmp(f->params[k].name, sw_records_options[j]))
                    return sw_error(SW_EINVALID, "format '%s': param '%s' has the name of an option of swarm.read "
                                    "or swarm.write", f->name, sw_records_options[j]);
        if (!f->read || !f->write)
            return sw_error(SW_EINVALID, "format '%s': %s is NULL", f->name, !f->read ? "read" : "write");
    }
    return 0;
}

/* A plugin's formats (at least one op or format in all): distinct names, a version, read and layout. */
static int sw_check_formats(const swarm_plugin *d)
{
    char b[48];
    size_t nrf;
    sw_plugin_records_formats(d, &nrf);
    if (sw_check_array("formats", d->formats, d->n_formats, 0))
        return SW_EINVALID;
    if (!d->n_ops && !d->n_formats && !nrf)
        return sw_error(SW_EINVALID, "no ops and no formats");
    for (size_t i = 0; i < d->n_formats; i++) {
        const swarm_format *f = d->formats[i];
        if (!f)
            return sw_error(SW_EINVALID, "format %zu is NULL", i);
        if (sw_check_size("swarm_format", f->struct_size, SW_END_OF(swarm_format, layout), sizeof *f))
            return sw_error_wrap(SW_EINVALID, "format %zu", i);
        if (!sw_ident_ok(f->name))
            return sw_error(SW_EINVALID, "format %zu: name '%s' is not a name ([a-z][a-z0-9_]*, at most 64)", i,
                            f->name ? sw_shown(b, f->name) : "(NULL)");
        for (size_t k = 0; k < i; k++)
            if (!strcmp(d->formats[k]->name, f->name))
                return sw_error(SW_EINVALID, "two formats named '%s'", f->name);
        if (f->format_version < 1)
            return sw_error(SW_EINVALID, "format '%s': format_version is 0 (versions start at 1)", f->name);
        if (!sw_text_ok(f->doc, 4096, 1))
            return sw_error(SW_EINVALID, "format '%s': doc is NULL or not text of at most 4096 bytes", f->name);
        if (!f->read || !f->layout)
            return sw_error(SW_EINVALID, "format '%s': %s is NULL", f->name, !f->read ? "read" : "layout");
    }
    return 0;
}

/* Everything in a descriptor whose ABI version has been accepted. */
static int sw_check_plugin(const swarm_plugin *d)
{
    char b[48];
    if (sw_check_size("swarm_plugin", d->struct_size, SW_END_OF(swarm_plugin, n_ops), sizeof *d))
        return SW_EINVALID;
    if (!sw_id_ok(d->id))
        return sw_error(SW_EINVALID, "id '%s' is not reverse-DNS (labels of a-z, 0-9 and '-' joined by dots, "
                        "like org.example.ops)", d->id ? sw_shown(b, d->id) : "(NULL)");
    if (!d->version || !*d->version || !sw_text_ok(d->version, 64, 0))
        return sw_error(SW_EINVALID, "version is not a non-empty line of at most 64 bytes");
    if (d->build && !sw_text_ok(d->build, 128, 0))
        return sw_error(SW_EINVALID, "build is not a line of at most 128 bytes");
    if (sw_check_array("ops", d->ops, d->n_ops, 0))
        return SW_EINVALID;
    for (size_t i = 0; i < d->n_ops; i++) {
        const swarm_op *op = d->ops[i];
        if (!op)
            return sw_error(SW_EINVALID, "op %zu is NULL", i);
        if (!sw_ident_ok(op->name))
            return sw_error(SW_EINVALID, "op %zu: name '%s' is not a name ([a-z][a-z0-9_]*, at most 64)", i,
                            op->name ? sw_shown(b, op->name) : "(NULL)");
        for (size_t k = 0; k < i; k++)
            if (!strcmp(d->ops[k]->name, op->name))
                return sw_error(SW_EINVALID, "two ops named '%s'", op->name);
        if (sw_check_op(op))
            return sw_error_wrap(SW_EINVALID, "op '%s'", op->name);
    }
    return sw_check_formats(d) ? SW_EINVALID : sw_check_records_formats(d);
}

/* Whether a (validated) descriptor is a companion: ABI 1.1's flags, read only when struct_size has them. */
static int sw_is_companion(const swarm_plugin *d)
{
    return d->struct_size >= SW_END_OF(swarm_plugin, flags) && (d->flags & SWARM_PLUGIN_COMPANION);
}

/* Two strings that may be NULL: both NULL, or equal. */
static int sw_same_text(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Param i of a companion's op (c) against the plugin's (p): name, type, default and choices. */
static int sw_param_same(const swarm_param *c, const swarm_param *p)
{
    if (strcmp(c->name, p->name) || c->type != p->type)
        return sw_error(SW_EINVALID, "param '%s' (%s) is not the plugin's '%s' (%s)", c->name,
                        sw_plugin_param_type_name(c->type), p->name, sw_plugin_param_type_name(p->type));
    if (!sw_same_text(c->default_value, p->default_value))
        return sw_error(SW_EINVALID, "param '%s': default %s, the plugin's %s", c->name,
                        c->default_value ? c->default_value : "(required)",
                        p->default_value ? p->default_value : "(required)");
    size_t k = 0;
    for (; c->type == SWARM_PARAM_ENUM && c->choices[k] && p->choices[k]; k++)
        if (strcmp(c->choices[k], p->choices[k]))
            break;
    if (c->type == SWARM_PARAM_ENUM && (c->choices[k] || p->choices[k]))
        return sw_error(SW_EINVALID, "param '%s': choices differ from the plugin's", c->name);
    return 0;
}

/* Ports: the same count, names and kinds. */
static int sw_ports_same(const char *what, const swarm_port *c, size_t nc, const swarm_port *p, size_t np)
{
    if (nc != np)
        return sw_error(SW_EINVALID, "%zu %s, the plugin's %zu", nc, what, np);
    for (size_t i = 0; i < nc; i++)
        if (strcmp(c[i].name, p[i].name) || c[i].kind != p[i].kind)
            return sw_error(SW_EINVALID, "%s %zu is '%s' (%s), the plugin's '%s' (%s)", what, i, c[i].name,
                            sw_plugin_kind_name(c[i].kind), p[i].name, sw_plugin_kind_name(p[i].kind));
    return 0;
}

/* A companion's op (c) is the plugin's (p) exactly, but for its variants, which are not for the CPU. */
static int sw_op_same(const swarm_op *c, const swarm_op *p)
{
    if (c->op_version != p->op_version)
        return sw_error(SW_EINVALID, "op_version %u, the plugin's %u", (unsigned)c->op_version,
                        (unsigned)p->op_version);
    if (c->flags != p->flags)
        return sw_error(SW_EINVALID, "flags 0x%x, the plugin's 0x%x", (unsigned)c->flags, (unsigned)p->flags);
    if (c->n_params != p->n_params)
        return sw_error(SW_EINVALID, "%zu params, the plugin's %zu", c->n_params, p->n_params);
    for (size_t i = 0; i < c->n_params; i++)
        if (sw_param_same(&c->params[i], &p->params[i]))
            return SW_EINVALID;
    if (sw_ports_same("inputs", c->inputs, c->n_inputs, p->inputs, p->n_inputs) ||
        sw_ports_same("outputs", c->outputs, c->n_outputs, p->outputs, p->n_outputs))
        return SW_EINVALID;
    for (size_t k = 0; k < c->n_variants; k++)
        if (c->variants[k]->device_type == SWARM_DEVICE_CPU)
            return sw_error(SW_EINVALID, "variant %zu is for the CPU (a companion adds GPU variants)", k);
    return 0;
}

/* The op of plugin d named name, or NULL. */
static const swarm_op *sw_op_named(const swarm_plugin *d, const char *name, size_t *index)
{
    for (size_t i = 0; i < d->n_ops; i++)
        if (!strcmp(d->ops[i]->name, name)) {
            *index = i;
            return d->ops[i];
        }
    return NULL;
}

/* Whether companion c may extend plugin d: no formats, and each of its ops one of d's exactly. */
static int sw_companion_check(const swarm_plugin *c, const swarm_plugin *d)
{
    size_t at, nrf;
    sw_plugin_records_formats(c, &nrf);
    if (c->n_formats || nrf)
        return sw_error(SW_EINVALID, "a companion has no formats");
    for (size_t i = 0; i < c->n_ops; i++) {
        const swarm_op *p = sw_op_named(d, c->ops[i]->name, &at);
        if (!p)
            return sw_error(SW_EINVALID, "op '%s' is not an op of %s", c->ops[i]->name, d->id);
        if (sw_op_same(c->ops[i], p))
            return sw_error_wrap(SW_EINVALID, "op '%s' differs from %s's", c->ops[i]->name, d->id);
    }
    return 0;
}

/* ---- Loading --------------------------------------------------------------------------------------- */

static void sw_plugins_skip(sw_plugins *ps, const char *path, const char *reason)
{
    sw_grow(&ps->skips, &ps->skipcap, ps->nskips + 1, sizeof *ps->skips);
    ps->skips[ps->nskips++] = (sw_plugin_skip){sw_strdup(path), sw_strdup(reason)};
}

/* Calls a variant's probe once, on device 0, and keeps its score and its reason for a 0. */
static sw_plugin_probe sw_probe(const sw_plugins *ps, const swarm_plugin *d, const swarm_variant *v)
{
    swarm_call call;
    sw_call_begin(&call, d->id, "probe", ps->verbosity);
    int score = v->probe(sw_host_table(), &call, 0);
    sw_plugin_probe r = {score, NULL, 0};
    if (score < 0 || score > 100) {
        r.score = 0;
        r.note = sw_sprintf("probe returned %d, not a score from 0 to 100", score);
    } else if (score == 0 && call.msg[0]) {
        r.note = sw_strdup(call.msg);
    }
    sw_call_end(&call);
    return r;
}

/* The skip of a copy of plugin id, in the folder of path, skipped as a duplicate; NULL when there is none. */
static sw_plugin_skip *sw_dup_beside(const sw_plugins *ps, const char *id, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path) : 0;
    char *head = sw_sprintf("duplicate id %s ", id);
    sw_plugin_skip *found = NULL;
    for (size_t i = 0; i < ps->nskips && !found; i++) {
        const char *p = ps->skips[i].path, *ps_slash = strrchr(p, '/');
        if (!strncmp(ps->skips[i].reason, head, strlen(head)) && ps_slash && (size_t)(ps_slash - p) == dir &&
            !strncmp(p, path, dir))
            found = &ps->skips[i];
    }
    free(head);
    return found;
}

/* The device node a companion named like name (NAME.hip.so, NAME.cuda.so) needs: without ROCm's /dev/kfd
 * or NVIDIA's /dev/nvidiactl no runtime finds a device. NULL for any other name. */
static const char *sw_companion_node(const char *name)
{
    size_t n = strlen(name);
    if (n > 7 && !strcmp(name + n - 7, ".hip.so"))
        return "/dev/kfd";
    if (n > 8 && !strcmp(name + n - 8, ".cuda.so"))
        return "/dev/nvidiactl";
    return NULL;
}

/* Loads the plugin at path: dlopen, entry, ABI version, validation, duplicate id, then the probes.
 * Appends it to ps, or a skip saying why not. A file named like a companion must be one: so loading the
 * companions late (sw_plugins_load_gpu) never adds a plugin. */
static void sw_plugins_load_file(sw_plugins *ps, const char *path)
{
    dlerror();
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        size_t n = strlen(path);
        if (!e)
            e = "dlopen failed";
        else if (!strncmp(e, path, n) && !strncmp(e + n, ": ", 2)) /* the skip line names the path already */
            e += n + 2;
        sw_plugins_skip(ps, path, e);
        return;
    }
    /* Never dlclose, even here: the library's constructors ran, and its destructors are plugin code. */
    swarm_plugin_entry_fn entry = (swarm_plugin_entry_fn)dlsym(lib, "swarm_plugin_entry");
    if (!entry) {
        sw_plugins_skip(ps, path, "no swarm_plugin_entry symbol (not a swarm plugin, or not exported)");
        return;
    }
    const swarm_plugin *d = entry();
    if (!d) {
        sw_plugins_skip(ps, path, "swarm_plugin_entry returned NULL");
        return;
    }
    uint32_t abi = d->abi_version;
    const sw_plugin *first;
    char *reason = NULL;
    if (SW_ABI_MAJOR(abi) != SWARM_PLUGIN_ABI_MAJOR)
        reason = sw_sprintf("built for plugin ABI %u.%u; this swarm loads ABI %d.x (up to %d.%d)", SW_ABI_MAJOR(abi),
                            SW_ABI_MINOR(abi), SWARM_PLUGIN_ABI_MAJOR, SWARM_PLUGIN_ABI_MAJOR,
                            SWARM_PLUGIN_ABI_MINOR);
    else if (SW_ABI_MINOR(abi) > SWARM_PLUGIN_ABI_MINOR)
        reason = sw_sprintf("built for plugin ABI %u.%u, newer than this swarm's ABI %d.%d", SW_ABI_MAJOR(abi),
                            SW_ABI_MINOR(abi), SWARM_PLUGIN_ABI_MAJOR, SWARM_PLUGIN_ABI_MINOR);
    else if (sw_check_plugin(d))
        reason = sw_strdup(sw_error_last());
    else if (!sw_is_companion(d) && sw_companion_node(path))
        reason = sw_sprintf("%s is not a companion, and only a companion (SWARM_PLUGIN_COMPANION) may be named "
                            "NAME.hip.so or NAME.cuda.so", d->id);
    else if (sw_is_companion(d)) {
        sw_grow(&ps->comps, &ps->compcap, ps->ncomps + 1, sizeof *ps->comps);
        ps->comps[ps->ncomps++] = (sw_companion){sw_strdup(path), d};
        return;
    } else if ((first = sw_plugins_find(ps, d->id)))
        reason = sw_sprintf("duplicate id %s (already loaded from %s)", d->id, first->path);
    if (reason) {
        sw_plugins_skip(ps, path, reason);
        free(reason);
        return;
    }
    sw_plugin pl = {d, sw_strdup(path), sw_calloc(d->n_ops, sizeof *pl.probes), NULL, 0, ps->verbosity};
    for (size_t i = 0; i < d->n_ops; i++) {
        pl.probes[i] = sw_calloc(d->ops[i]->n_variants, sizeof **pl.probes);
        for (size_t k = 0; k < d->ops[i]->n_variants; k++)
            pl.probes[i][k] = sw_probe(ps, d, d->ops[i]->variants[k]);
    }
    sw_grow(&ps->v, &ps->cap, ps->n + 1, sizeof *ps->v);
    ps->v[ps->n++] = pl;
}

/* Op i of plugin pl with companion c's variants of the same op appended (host-owned, kept), and probes
 * for them. Returns the op itself when c does not extend it. */
static const swarm_op *sw_op_merge(const sw_plugins *ps, sw_plugin *pl, size_t i, const swarm_plugin *c)
{
    const swarm_op *op = pl->desc->ops[i], *add = NULL;
    for (size_t k = 0; k < c->n_ops && !add; k++)
        if (!strcmp(c->ops[k]->name, op->name))
            add = c->ops[k];
    if (!add)
        return op;
    size_t n = op->n_variants + add->n_variants;
    const swarm_variant **v = sw_keep(sw_calloc(n, sizeof *v));
    memcpy(v, op->variants, op->n_variants * sizeof *v);
    memcpy(v + op->n_variants, add->variants, add->n_variants * sizeof *v);
    swarm_op *m = sw_keep(sw_calloc(1, sizeof *m));
    *m = (swarm_op){sizeof *m,      op->name,    op->op_version, op->flags,      op->doc,
                    op->params,     op->n_params, op->inputs,    op->n_inputs,   op->outputs,
                    op->n_outputs,  v,           n};
    pl->probes[i] = sw_realloc(pl->probes[i], n * sizeof **pl->probes);
    for (size_t k = op->n_variants; k < n; k++)
        pl->probes[i][k] = sw_probe(ps, pl->desc, v[k]);
    return m;
}

/* Merges companion comp into the plugin it extends: a host-owned descriptor (kept) whose ops hold the
 * plugin's variants, then the companion's. A companion of no loaded plugin, or one that differs from it,
 * becomes a skip. A companion beside a copy of its plugin that was skipped as a duplicate belongs to that
 * copy, not to the one loaded: it is skipped with it, on the copy's line. */
static void sw_companion_merge(sw_plugins *ps, const sw_companion *comp)
{
    const swarm_plugin *c = comp->desc;
    sw_plugin *pl = NULL;
    char *reason = NULL;
    for (size_t i = 0; i < ps->n && !pl; i++)
        if (!strcmp(ps->v[i].desc->id, c->id))
            pl = &ps->v[i];
    sw_plugin_skip *dup = pl ? sw_dup_beside(ps, c->id, comp->path) : NULL;
    if (dup) {
        const char *base = strrchr(comp->path, '/');
        char *more = sw_sprintf("%s; its companion %s is skipped with it", dup->reason, base ? base + 1 : comp->path);
        free(dup->reason);
        dup->reason = more;
        return;
    }
    if (!pl)
        reason = sw_sprintf("a companion of %s, which is not loaded", c->id);
    else if (sw_companion_check(c, pl->desc))
        reason = sw_sprintf("companion of %s: %s", c->id, sw_error_last());
    if (reason) {
        sw_plugins_skip(ps, comp->path, reason);
        free(reason);
        return;
    }
    const swarm_plugin *d = pl->desc;
    const swarm_op **ops = sw_keep(sw_calloc(d->n_ops, sizeof *ops));
    for (size_t i = 0; i < d->n_ops; i++)
        ops[i] = sw_op_merge(ps, pl, i, c);
    swarm_plugin *m = sw_keep(sw_calloc(1, sizeof *m));
    size_t nrf;
    const swarm_records_format *const *rf = sw_plugin_records_formats(d, &nrf);
    *m = (swarm_plugin){SWARM_PLUGIN_ABI_VERSION, sizeof *m, d->id, d->version, d->build, ops, d->n_ops,
                        d->formats, d->n_formats, 0, rf, nrf};
    pl->desc = m;
    pl->companions = sw_realloc(pl->companions, (pl->ncompanions + 1) * sizeof *pl->companions);
    pl->companions[pl->ncompanions++] = sw_strdup(comp->path);
}

static int sw_is_so(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && !strcmp(name + n - 3, ".so");
}

/* Loads dir's *.so files in name order. A directory searched before is skipped; one that cannot be
 * read is a skip entry when explicit, and ignored otherwise (the built-in folders need not exist). */
static void sw_plugins_load_dir(sw_plugins *ps, const char *dir, int explicit)
{
    char *real = realpath(dir, NULL);
    DIR *d = real ? opendir(real) : NULL;
    if (!d) {
        if (explicit) {
            char *why = sw_sprintf("cannot read the directory: %s", strerror(errno));
            sw_plugins_skip(ps, dir, why);
            free(why);
        }
        free(real);
        return;
    }
    for (size_t i = 0; i < ps->dirs.n; i++)
        if (!strcmp(ps->dirs.v[i], real)) {
            closedir(d);
            free(real);
            return;
        }
    sw_strlist_push(&ps->dirs, real);
    free(real);
    sw_strlist names = {0};
    for (struct dirent *e; (e = readdir(d));)
        if (sw_is_so(e->d_name))
            sw_strlist_push(&names, e->d_name);
    closedir(d);
    sw_strlist_sort(&names);
    size_t len = strlen(dir);
    for (size_t i = 0; i < names.n; i++) {
        char *path = sw_sprintf("%s%s%s", dir, len && dir[len - 1] == '/' ? "" : "/", names.v[i]);
        const char *node = sw_companion_node(names.v[i]);
        if ((ps->flags & SW_PLUGINS_DEFER_GPU) && node && access(node, F_OK))
            sw_strlist_push(&ps->deferred, path);
        else
            sw_plugins_load_file(ps, path);
        free(path);
    }
    sw_strlist_free(&names);
}

/* Merges the companions loaded since the last merge into their plugins. */
static void sw_plugins_merge(sw_plugins *ps)
{
    for (size_t i = 0; i < ps->ncomps; i++) {
        sw_companion_merge(ps, &ps->comps[i]);
        free(ps->comps[i].path);
    }
    free(ps->comps);
    ps->comps = NULL;
    ps->ncomps = ps->compcap = 0;
}

sw_plugins *sw_plugins_load(const char *const *dirs, size_t ndirs, int verbosity, unsigned flags)
{
    sw_plugins *ps = sw_calloc(1, sizeof *ps);
    ps->verbosity = verbosity;
    ps->flags = flags;
    for (size_t i = 0; i < ndirs; i++)
        sw_plugins_load_dir(ps, dirs[i], 1);
    const char *env = getenv("SWARM_PLUGIN_PATH");
    while (env && *env) {
        size_t n = strcspn(env, ":");
        if (n) {
            char *dir = sw_sprintf("%.*s", (int)n, env);
            sw_plugins_load_dir(ps, dir, 1);
            free(dir);
        }
        env += n + (env[n] == ':');
    }
    char *exe = sw_exe_dir();
    for (size_t i = 0; exe && i < sizeof sw_builtin_dirs / sizeof *sw_builtin_dirs; i++) {
        char *dir = sw_sprintf("%s/%s", exe, sw_builtin_dirs[i]), *real = realpath(dir, NULL);
        sw_plugins_load_dir(ps, real ? real : dir, 0);
        free(real);
        free(dir);
    }
    free(exe);
    sw_plugins_merge(ps);
    return ps;
}

void sw_plugins_load_gpu(sw_plugins *ps)
{
    for (size_t i = 0; i < ps->deferred.n; i++)
        sw_plugins_load_file(ps, ps->deferred.v[i]);
    sw_strlist_free(&ps->deferred);
    sw_plugins_merge(ps);
}

void sw_plugins_free(sw_plugins *ps)
{
    if (!ps)
        return;
    for (size_t i = 0; i < ps->n; i++) {
        for (size_t k = 0; k < ps->v[i].desc->n_ops; k++) {
            for (size_t j = 0; j < ps->v[i].desc->ops[k]->n_variants; j++)
                free(ps->v[i].probes[k][j].note);
            free(ps->v[i].probes[k]);
        }
        free(ps->v[i].probes);
        free(ps->v[i].path);
        for (size_t k = 0; k < ps->v[i].ncompanions; k++)
            free(ps->v[i].companions[k]);
        free(ps->v[i].companions);
    }
    for (size_t i = 0; i < ps->nskips; i++) {
        free(ps->skips[i].path);
        free(ps->skips[i].reason);
    }
    free(ps->v);
    free(ps->skips);
    sw_strlist_free(&ps->dirs);
    sw_strlist_free(&ps->deferred);
    free(ps);
}

const sw_plugin *sw_plugins_get(const sw_plugins *ps, size_t i)
{
    return i < ps->n ? &ps->v[i] : NULL;
}

const sw_plugin *sw_plugins_find(const sw_plugins *ps, const char *id)
{
    for (size_t i = 0; i < ps->n; i++)
        if (!strcmp(ps->v[i].desc->id, id))
            return &ps->v[i];
    return NULL;
}

int sw_plugins_lookup(const sw_plugin **out, const sw_plugins *ps, const char *name, size_t len)
{
    const sw_plugin *found = NULL;
    for (size_t i = 0; i < ps->n; i++) {
        const char *id = ps->v[i].desc->id, *last = strrchr(id, '.');
        if (strlen(id) == len && !strncmp(id, name, len)) {
            *out = &ps->v[i];
            return 0;
        }
        if (!last || strlen(last + 1) != len || strncmp(last + 1, name, len))
            continue;
        if (found) {
            char *label = sw_sprintf("%.*s", (int)len, name);
            int r = sw_error(SW_ECONFLICT, "both %s and %s end in '%s': use the full id", found->desc->id, id, label);
            free(label);
            return r;
        }
        found = &ps->v[i];
    }
    *out = found;
    if (found)
        return 0;
    char *label = sw_sprintf("%.*s", (int)len, name);
    int r = sw_error(SW_ENOTFOUND, "no plugin '%s' is loaded (see swarm plugin ls)", label);
    free(label);
    return r;
}

const sw_plugin_skip *sw_plugins_skipped(const sw_plugins *ps, size_t i)
{
    return i < ps->nskips ? &ps->skips[i] : NULL;
}

const char *sw_plugin_device_name(int32_t device_type)
{
    return device_type == SWARM_DEVICE_CPU    ? "cpu"
           : device_type == SWARM_DEVICE_ROCM ? "hip"
           : device_type == SWARM_DEVICE_CUDA ? "cuda"
                                              : "?";
}

const char *sw_plugin_kind_name(int32_t kind)
{
    return kind == SWARM_KIND_TENSOR ? "tensor" : kind == SWARM_KIND_RECORDS ? "records" : "?";
}

const char *sw_plugin_param_type_name(int32_t type)
{
    static const char *const names[] = {"?", "bool", "int", "float", "string", "enum", "path"};
    return type >= SWARM_PARAM_BOOL && type <= SWARM_PARAM_PATH ? names[type] : "?";
}
