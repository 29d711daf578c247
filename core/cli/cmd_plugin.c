/* cmd_plugin.c — swarm plugin ls and info: the plugins on the search path, their ops and param schemas. */
#include "cli/cli.h"
#include "cli/commands.h"
#include "base/error.h"
#include "host/plugin.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SW_OPT_PLUGIN_PATH = 0x3001 };

static json_t *sw_variants_json(const swarm_op *op, const sw_plugin_probe *probes)
{
    json_t *arr = json_array();
    for (size_t k = 0; k < op->n_variants; k++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:s?}", "device",
                                             sw_plugin_device_name(op->variants[k]->device_type), "numerics",
                                             op->variants[k]->numerics, "score", probes[k].score, "note",
                                             probes[k].note));
    return arr;
}

static json_t *sw_ports_json(const swarm_port *ports, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "name", ports[i].name, "kind",
                                             sw_plugin_kind_name(ports[i].kind), "doc", ports[i].doc));
    return arr;
}

static json_t *sw_params_json(const swarm_param *params, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const swarm_param *p = &params[i];
        json_t *o = json_pack("{s:s, s:s, s:s?}", "name", p->name, "type", sw_plugin_param_type_name(p->type),
                              "default", p->default_value);
        if (p->type == SWARM_PARAM_ENUM) {
            json_t *choices = json_array();
            for (size_t k = 0; p->choices[k]; k++)
                json_array_append_new(choices, json_string(p->choices[k]));
            json_object_set_new(o, "choices", choices);
        }
        json_object_set_new(o, "doc", json_string(p->doc));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* A plugin as JSON; with detail (info), each op's doc, flags, params and ports too. */
static json_t *sw_plugin_json(const sw_plugin *pl, int detail)
{
    const swarm_plugin *d = pl->desc;
    json_t *ops = json_array();
    for (size_t i = 0; i < d->n_ops; i++) {
        const swarm_op *op = d->ops[i];
        json_t *o = json_pack("{s:s, s:I}", "name", op->name, "version", (json_int_t)op->op_version);
        if (detail) {
            json_object_set_new(o, "doc", json_string(op->doc));
            json_object_set_new(o, "deterministic", json_boolean(op->flags & SWARM_OP_DETERMINISTIC));
            json_object_set_new(o, "serial", json_boolean(op->flags & SWARM_OP_SERIAL));
            json_object_set_new(o, "params", sw_params_json(op->params, op->n_params));
            json_object_set_new(o, "whole", json_boolean(op->flags & SWARM_OP_WHOLE));
            json_object_set_new(o, "inputs", sw_ports_json(op->inputs, op->n_inputs));
            json_object_set_new(o, "outputs", sw_ports_json(op->outputs, op->n_outputs));
        }
        json_object_set_new(o, "variants", sw_variants_json(op, pl->probes[i]));
        json_array_append_new(ops, o);
    }
    json_t *formats = json_array();
    for (size_t i = 0; i < d->n_formats; i++) {
        json_t *f = json_pack("{s:s, s:I}", "name", d->formats[i]->name, "version",
                              (json_int_t)d->formats[i]->format_version);
        if (detail)
            json_object_set_new(f, "doc", json_string(d->formats[i]->doc));
        json_array_append_new(formats, f);
    }
    size_t nrf;
    const swarm_records_format *const *rf = sw_plugin_records_formats(d, &nrf);
    for (size_t i = 0; i < nrf; i++) {
        json_t *f = json_pack("{s:s, s:I, s:s, s:s}", "name", rf[i]->name, "version",
                              (json_int_t)rf[i]->format_version, "kind", "records", "extension", rf[i]->extension);
        if (detail) {
            json_object_set_new(f, "doc", json_string(rf[i]->doc));
            json_object_set_new(f, "params", sw_params_json(rf[i]->params, rf[i]->n_params));
        }
        json_array_append_new(formats, f);
    }
    json_t *companions = json_array();
    for (size_t i = 0; i < pl->ncompanions; i++)
        json_array_append_new(companions, json_string(pl->companions[i]));
    return json_pack("{s:s, s:s, s:s?, s:s, s:o, s:o, s:o}", "id", d->id, "version", d->version, "build", d->build,
                     "path", pl->path, "companions", companions, "ops", ops, "formats", formats);
}

static void sw_plugin_ls(const sw_cli *cli, const sw_plugins *ps)
{
    const sw_plugin *pl;
    const sw_plugin_skip *sk;
    if (cli->json) {
        json_t *plugins = json_array(), *skipped = json_array();
        for (size_t i = 0; (pl = sw_plugins_get(ps, i)); i++)
            json_array_append_new(plugins, sw_plugin_json(pl, 0));
        for (size_t i = 0; (sk = sw_plugins_skipped(ps, i)); i++)
            json_array_append_new(skipped, json_pack("{s:s, s:s}", "path", sk->path, "reason", sk->reason));
        sw_cli_print_json(json_pack("{s:o, s:o}", "plugins", plugins, "skipped", skipped));
        return;
    }
    for (size_t i = 0; (pl = sw_plugins_get(ps, i)); i++) {
        printf("%s %s  %s", pl->desc->id, pl->desc->version, pl->path);
        for (size_t k = 0; k < pl->ncompanions; k++)
            printf(" + %s", pl->companions[k]);
        putchar('\n');
        for (size_t k = 0; k < pl->desc->n_ops; k++) {
            const swarm_op *op = pl->desc->ops[k];
            printf("  %s v%u ", op->name, (unsigned)op->op_version);
            for (size_t j = 0; j < op->n_variants; j++) {
                const sw_plugin_probe *pr = &pl->probes[k][j];
                printf(" %s:%d", sw_plugin_device_name(op->variants[j]->device_type), pr->score);
                if (!pr->score && pr->note)
                    printf(" (%s)", pr->note);
            }
            putchar('\n');
        }
        for (size_t k = 0; k < pl->desc->n_formats; k++)
            printf("  format %s v%u\n", pl->desc->formats[k]->name, (unsigned)pl->desc->formats[k]->format_version);
        size_t nrf;
        const swarm_records_format *const *rf = sw_plugin_records_formats(pl->desc, &nrf);
        for (size_t k = 0; k < nrf; k++)
            printf("  format %s v%u (records, .%s)\n", rf[k]->name, (unsigned)rf[k]->format_version, rf[k]->extension);
    }
    for (size_t i = 0; (sk = sw_plugins_skipped(ps, i)); i++)
        printf("skipped: %s: %s\n", sk->path, sk->reason);
    if (!sw_plugins_get(ps, 0) && !sw_plugins_skipped(ps, 0))
        sw_cli_note(cli, "no plugins on the search path");
}

/* Prints text after indent, repeating the indent after each of its newlines. */
static void sw_print_doc(const char *indent, const char *text)
{
    fputs(indent, stdout);
    for (; *text; text++) {
        putchar(*text);
        if (*text == '\n')
            fputs(indent, stdout);
    }
    putchar('\n');
}

/* One param as "factor float = 1.0" (names padded to line up), then its doc. */
static void sw_print_param(const swarm_param *p, int name_w)
{
    printf("    %-*s %s", name_w, p->name, sw_plugin_param_type_name(p->type));
    if (p->type == SWARM_PARAM_ENUM)
        for (size_t k = 0; p->choices[k]; k++)
            printf("%s%s%s", k ? "|" : "(", p->choices[k], p->choices[k + 1] ? "" : ")");
    const char *quote = p->type == SWARM_PARAM_STRING || p->type == SWARM_PARAM_PATH ? "\"" : "";
    if (p->default_value)
        printf(" = %s%s%s\n", quote, p->default_value, quote);
    else
        puts(" (required)");
    if (*p->doc)
        sw_print_doc("        ", p->doc);
}

/* A param schema under "params:", names lined up. */
static void sw_print_params(const swarm_param *params, size_t n)
{
    if (!n)
        return;
    int name_w = 0;
    for (size_t k = 0; k < n; k++)
        if ((int)strlen(params[k].name) > name_w)
            name_w = (int)strlen(params[k].name);
    puts("  params:");
    for (size_t k = 0; k < n; k++)
        sw_print_param(&params[k], name_w);
}

static void sw_print_ports(const char *title, const swarm_port *ports, size_t n)
{
    if (!n)
        return;
    printf("  %s:\n", title);
    for (size_t i = 0; i < n; i++)
        printf("    %s  %s%s%s\n", ports[i].name, sw_plugin_kind_name(ports[i].kind), *ports[i].doc ? "  " : "",
               ports[i].doc);
}

static void sw_plugin_info(const sw_cli *cli, const sw_plugin *pl)
{
    const swarm_plugin *d = pl->desc;
    if (cli->json) {
        sw_cli_print_json(sw_plugin_json(pl, 1));
        return;
    }
    printf("%s %s\npath:  %s\n", d->id, d->version, pl->path);
    for (size_t i = 0; i < pl->ncompanions; i++)
        printf("companion: %s\n", pl->companions[i]);
    if (d->build)
        printf("build: %s\n", d->build);
    for (size_t i = 0; i < d->n_ops; i++) {
        const swarm_op *op = d->ops[i];
        printf("\n%s v%u%s%s%s\n", op->name, (unsigned)op->op_version,
               op->flags & SWARM_OP_DETERMINISTIC ? ", deterministic" : "",
               op->flags & SWARM_OP_SERIAL ? ", serial" : "", op->flags & SWARM_OP_WHOLE ? ", whole" : "");
        if (*op->doc)
            sw_print_doc("  ", op->doc);
        sw_print_params(op->params, op->n_params);
        sw_print_ports("inputs", op->inputs, op->n_inputs);
        sw_print_ports("outputs", op->outputs, op->n_outputs);
        puts("  variants:");
        for (size_t k = 0; k < op->n_variants; k++) {
            const sw_plugin_probe *pr = &pl->probes[i][k];
            printf("    %s  numerics %s  score %d%s%s%s\n", sw_plugin_device_name(op->variants[k]->device_type),
                   op->variants[k]->numerics, pr->score, pr->note ? " (" : "", pr->note ? pr->note : "",
                   pr->note ? ")" : "");
        }
    }
    for (size_t i = 0; i < d->n_formats; i++) {
        printf("\nformat %s v%u\n", d->formats[i]->name, (unsigned)d->formats[i]->format_version);
        if (*d->formats[i]->doc)
            sw_print_doc("  ", d->formats[i]->doc);
    }
    size_t nrf;
    const swarm_records_format *const *rf = sw_plugin_records_formats(d, &nrf);
    for (size_t i = 0; i < nrf; i++) {
        printf("\nformat %s v%u (records, .%s)\n", rf[i]->name, (unsigned)rf[i]->format_version, rf[i]->extension);
        if (*rf[i]->doc)
            sw_print_doc("  ", rf[i]->doc);
        sw_print_params(rf[i]->params, rf[i]->n_params);
    }
}

int sw_cmd_plugin(sw_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"plugin-path", required_argument, NULL, SW_OPT_PLUGIN_PATH},
                                         SW_CLI_COMMON_OPTS, {0}};
    sw_strlist dirs = {0};
    int c;
    optind = 0;
    while ((c = sw_cli_getopt(cli, argc, argv, "qv", opts, SW_USAGE_PLUGIN)) != -1) {
        if (c == '?') {
            sw_strlist_free(&dirs);
            return 2;
        }
        if (c == SW_OPT_PLUGIN_PATH)
            sw_strlist_push(&dirs, optarg);
    }
    int n = argc - optind;
    char **a = argv + optind;
    int ls = n == 0 || (n == 1 && !strcmp(a[0], "ls"));
    int info = n == 2 && !strcmp(a[0], "info");
    if (!ls && !info) {
        sw_strlist_free(&dirs);
        return sw_cli_usage(SW_USAGE_PLUGIN, "expected 'ls' or 'info ID'");
    }
    sw_plugins *ps = sw_plugins_load((const char *const *)dirs.v, dirs.n, cli->verbosity, 0);
    sw_strlist_free(&dirs);
    int rc = 0;
    if (ls) {
        sw_plugin_ls(cli, ps);
    } else {
        const sw_plugin *pl;
        if (sw_plugins_lookup(&pl, ps, a[1], strlen(a[1])) == 0)
            sw_plugin_info(cli, pl);
        else
            rc = sw_cli_fail();
    }
    sw_plugins_free(ps);
    return rc;
}
