/* cmd_inspect.c — swarm ls, log, show and diff: reading the catalog. */
#include "cli/cli.h"
#include "cli/commands.h"
#include "base/error.h"
#include "bundle/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *sw_held_word(size_t held, size_t n)
{
    return held == n ? "held" : held ? "partly held" : "not held";
}

/* How many of a summary's distinct objects the store holds. */
static size_t sw_held_objects(const sw_msummary *s, const sw_store *st)
{
    size_t held = 0;
    for (size_t i = 0; i < s->nobjects; i++)
        held += sw_store_stat(st, &s->objects[i], NULL) == 0;
    return held;
}

/* ls's row of one bundle: its latest version, how much of the latest the store holds (*state), how many
 * versions it holds whole (*held) of all (*n), and the latest's summary (s). */
typedef struct {
    char *latest;
    const char *state;
    size_t held, n;
    sw_msummary s;
} sw_ls_row;

/* Fills row for bundle name from version summaries, not manifests: listing never parses a (possibly huge)
 * manifest twice. */
static int sw_ls_row_read(sw_ls_row *row, sw_catalog *cat, const sw_store *st, const char *name)
{
    sw_strlist versions = {0};
    int r = sw_catalog_versions(&versions, cat, name);
    if (!r)
        r = sw_catalog_latest(&row->latest, cat, name);
    for (size_t k = 0; !r && k < versions.n; k++) {
        sw_msummary v = {0};
        if ((r = sw_catalog_summary(&v, cat, name, versions.v[k])))
            break;
        size_t held = sw_held_objects(&v, st);
        row->held += held == v.nobjects;
        if (!strcmp(versions.v[k], row->latest)) {
            row->state = sw_held_word(held, v.nobjects);
            row->s = v;
        } else
            sw_msummary_clear(&v);
    }
    row->n = versions.n;
    sw_strlist_free(&versions);
    return r;
}

static void sw_ls_row_clear(sw_ls_row *row)
{
    free(row->latest);
    sw_msummary_clear(&row->s);
}

int sw_cmd_ls(sw_cli *cli, int argc, char **argv)
{
    if (sw_cli_operands(cli, argc, argv, 0, 0, SW_USAGE_LS))
        return 2;
    sw_store *st;
    sw_catalog *cat;
    if (sw_cli_open(cli, &st, &cat))
        return 1;
    sw_strlist names = {0};
    int rc = 0;
    if (sw_catalog_bundles(&names, cat)) {
        rc = sw_cli_fail();
        goto done;
    }
    json_t *arr = json_array();
    if (!cli->json && names.n)
        printf("%-32s %-10s %8s %12s  %s\n", "NAME", "LATEST", "VERSIONS", "SIZE", "STATE");
    else if (!cli->json)
        sw_cli_note(cli, "no bundles here yet: add one with 'swarm add PATH --name NAME', or pull a catalog");
    for (size_t i = 0; i < names.n; i++) {
        sw_ls_row row = {0};
        char size[32];
        if (sw_ls_row_read(&row, cat, st, names.v[i]))
            rc = sw_cli_fail();
        else if (cli->json)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:I}", "name", names.v[i], "latest",
                                                 row.latest, "versions", (json_int_t)row.n, "bytes",
                                                 (json_int_t)row.s.bytes, "files", (json_int_t)row.s.nfiles, "state",
                                                 row.state, "held_versions", (json_int_t)row.held));
        else if (row.n > 1)
            printf("%-32s %-10s %8zu %12s  %s (%zu of %zu versions)\n", names.v[i], row.latest, row.n,
                   sw_fmt_bytes(size, sizeof size, row.s.bytes), row.state, row.held, row.n);
        else
            printf("%-32s %-10s %8zu %12s  %s\n", names.v[i], row.latest, row.n,
                   sw_fmt_bytes(size, sizeof size, row.s.bytes), row.state);
        sw_ls_row_clear(&row);
    }
    if (cli->json)
        sw_cli_print_json(arr);
    else
        json_decref(arr);
done:
    sw_strlist_free(&names);
    sw_catalog_free(cat);
    sw_store_free(st);
    return rc;
}

int sw_cmd_log(sw_cli *cli, int argc, char **argv)
{
    if (sw_cli_operands(cli, argc, argv, 1, 1, SW_USAGE_LOG))
        return 2;
    const char *name = argv[optind];
    if (sw_name_check("bundle name", name))
        return sw_cli_usage(SW_USAGE_LOG, "%s", sw_error_last());
    sw_catalog *cat;
    if (sw_cli_open(cli, NULL, &cat))
        return 1;
    sw_strlist versions = {0};
    int rc = 0;
    if (sw_catalog_versions(&versions, cat, name))
        rc = sw_cli_fail();
    else if (!versions.n)
        rc = (sw_error(SW_ENOTFOUND, "unknown bundle '%s'", name), sw_cli_fail());
    json_t *arr = json_array();
    for (size_t k = versions.n; !rc && k-- > 0;) {
        sw_manifest *m;
        if (sw_catalog_read(&m, cat, name, versions.v[k])) {
            rc = sw_cli_fail();
            break;
        }
        char size[32];
        if (cli->json)
            json_array_append_new(arr, json_pack("{s:s, s:s?, s:s, s:s, s:s, s:I, s:I}", "version", m->version,
                                                 "parent", m->parent, "time", m->time, "author", m->author,
                                                 "message", m->message, "bytes", (json_int_t)sw_manifest_size(m),
                                                 "files", (json_int_t)m->nfiles));
        else
            printf("%s@%s  %s  %s  %zu file%s, %s%s%s\n", m->name, m->version, m->time, m->author, m->nfiles,
                   m->nfiles == 1 ? "" : "s", sw_fmt_bytes(size, sizeof size, sw_manifest_size(m)),
                   *m->message ? "\n    " : "", m->message);
        sw_manifest_free(m);
    }
    if (cli->json && !rc)
        sw_cli_print_json(arr);
    else
        json_decref(arr);
    sw_strlist_free(&versions);
    sw_catalog_free(cat);
    return rc;
}

int sw_cmd_show(sw_cli *cli, int argc, char **argv)
{
    if (sw_cli_operands(cli, argc, argv, 1, 1, SW_USAGE_SHOW))
        return 2;
    sw_store *st;
    sw_catalog *cat;
    sw_manifest *m;
    if (sw_cli_open(cli, &st, &cat))
        return 1;
    if (sw_cli_manifest(&m, cat, argv[optind])) {
        sw_catalog_free(cat);
        sw_store_free(st);
        return 1;
    }
    size_t held = sw_bundle_held_files(m, st);
    char hex[SW_HEX_LEN + 1], size[32];
    if (cli->json) {
        json_t *files = json_array();
        for (size_t i = 0; i < m->nfiles; i++) {
            char mode[8];
            snprintf(mode, sizeof mode, "%04o", m->files[i].mode);
            sw_hash_hex(hex, &m->files[i].hash);
            json_array_append_new(files, json_pack("{s:s, s:I, s:s, s:s, s:I}", "path", m->files[i].path, "size",
                                                   (json_int_t)m->files[i].size, "mode", mode, "sha256", hex,
                                                   "chunks", (json_int_t)m->files[i].nchunks));
        }
        json_t *root = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:I, s:s, s:o}", "name", m->name, "version",
                                 m->version, "parent", m->parent, "time", m->time, "author", m->author, "message",
                                 m->message, "bytes", (json_int_t)sw_manifest_size(m), "state",
                                 sw_held_word(held, m->nfiles), "files", files);
        if (m->provenance)
            json_object_set_new(root, "provenance", json_loads(m->provenance, 0, NULL));
        sw_cli_print_json(root);
    } else {
        printf("%s@%s\n", m->name, m->version);
        printf("parent:  %s\ntime:    %s\nauthor:  %s\n", m->parent ? m->parent : "(none)", m->time, m->author);
        if (*m->message)
            printf("message: %s\n", m->message);
        if (m->provenance)
            printf("made by: %s\n", m->provenance);
        printf("size:    %s in %zu file%s (%s)\n\n", sw_fmt_bytes(size, sizeof size, sw_manifest_size(m)), m->nfiles,
               m->nfiles == 1 ? "" : "s", sw_held_word(held, m->nfiles));
        for (size_t i = 0; i < m->nfiles; i++) {
            sw_hash_hex(hex, &m->files[i].hash);
            printf("%04o %14llu %s  %s\n", m->files[i].mode, (unsigned long long)m->files[i].size, hex,
                   m->files[i].path);
        }
    }
    sw_manifest_free(m);
    sw_catalog_free(cat);
    sw_store_free(st);
    return 0;
}

static int sw_chunk_hash_cmp(const void *a, const void *b)
{
    return memcmp(((const sw_chunk *)a)->hash.b, ((const sw_chunk *)b)->hash.b, SW_HASH_LEN);
}

/* Every chunk of every file of m, sorted by hash (caller frees). */
static sw_chunk *sw_sorted_chunks(const sw_manifest *m, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < m->nfiles; i++)
        *n += m->files[i].nchunks;
    sw_chunk *v = sw_malloc(*n * sizeof *v), *p = v;
    for (size_t i = 0; i < m->nfiles; i++)
        for (size_t k = 0; k < m->files[i].nchunks; k++)
            *p++ = m->files[i].chunks[k];
    if (*n > 1)
        qsort(v, *n, sizeof *v, sw_chunk_hash_cmp);
    return v;
}

/* Bytes of b's distinct chunks that are not among a's chunks: what a holder of a must fetch for b. */
static uint64_t sw_lacking_bytes(const sw_manifest *a, const sw_manifest *b)
{
    size_t na, nb;
    sw_chunk *have = sw_sorted_chunks(a, &na), *want = sw_sorted_chunks(b, &nb);
    uint64_t lack = 0;
    for (size_t i = 0; i < nb; i++)
        if ((i == 0 || !sw_hash_eq(&want[i - 1].hash, &want[i].hash)) &&
            (!na || !bsearch(&want[i], have, na, sizeof *have, sw_chunk_hash_cmp)))
            lack += want[i].length;
    free(have);
    free(want);
    return lack;
}

int sw_cmd_diff(sw_cli *cli, int argc, char **argv)
{
    if (sw_cli_operands(cli, argc, argv, 2, 2, SW_USAGE_DIFF))
        return 2;
    sw_catalog *cat;
    sw_manifest *a = NULL, *b = NULL;
    if (sw_cli_open(cli, NULL, &cat))
        return 1;
    if (sw_cli_manifest(&a, cat, argv[optind]) || sw_cli_manifest(&b, cat, argv[optind + 1])) {
        sw_manifest_free(a);
        sw_catalog_free(cat);
        return 1;
    }
    json_t *added = json_array(), *removed = json_array(), *changed = json_array();
    size_t i = 0, k = 0;
    while (i < a->nfiles || k < b->nfiles) {
        int c = i == a->nfiles ? 1 : k == b->nfiles ? -1 : strcmp(a->files[i].path, b->files[k].path);
        if (c < 0) {
            json_array_append_new(removed, json_pack("{s:s, s:I}", "path", a->files[i].path, "size",
                                                     (json_int_t)a->files[i].size));
            i++;
        } else if (c > 0) {
            json_array_append_new(added, json_pack("{s:s, s:I}", "path", b->files[k].path, "size",
                                                   (json_int_t)b->files[k].size));
            k++;
        } else {
            if (!sw_hash_eq(&a->files[i].hash, &b->files[k].hash) || a->files[i].mode != b->files[k].mode)
                json_array_append_new(changed, json_pack("{s:s, s:I, s:I, s:b}", "path", a->files[i].path, "old_size",
                                                         (json_int_t)a->files[i].size, "new_size",
                                                         (json_int_t)b->files[k].size, "mode_only",
                                                         sw_hash_eq(&a->files[i].hash, &b->files[k].hash)));
            i++;
            k++;
        }
    }
    uint64_t lack = sw_lacking_bytes(a, b), total = sw_manifest_size(b);
    if (cli->json) {
        sw_cli_print_json(json_pack("{s:o, s:o, s:o, s:I, s:I}", "added", added, "removed", removed, "changed", changed,
                                    "lacking_bytes", (json_int_t)lack, "bytes", (json_int_t)total));
    } else {
        size_t j;
        json_t *v;
        char x[32], y[32];
        json_array_foreach(added, j, v) printf("+ %s (%s)\n", json_string_value(json_object_get(v, "path")),
                                               sw_fmt_bytes(x, sizeof x, json_integer_value(json_object_get(v, "size"))));
        json_array_foreach(removed, j, v) printf("- %s\n", json_string_value(json_object_get(v, "path")));
        json_array_foreach(changed, j, v) printf("M %s (%s -> %s)\n", json_string_value(json_object_get(v, "path")),
                                                 sw_fmt_bytes(x, sizeof x, json_integer_value(json_object_get(v, "old_size"))),
                                                 sw_fmt_bytes(y, sizeof y, json_integer_value(json_object_get(v, "new_size"))));
        printf("%zu added, %zu removed, %zu changed; a holder of %s@%s lacks %s of %s (%.1f%%)\n",
               json_array_size(added), json_array_size(removed), json_array_size(changed), a->name, a->version,
               sw_fmt_bytes(x, sizeof x, lack), sw_fmt_bytes(y, sizeof y, total),
               total ? 100.0 * (double)lack / (double)total : 0.0);
        json_decref(added);
        json_decref(removed);
        json_decref(changed);
    }
    sw_manifest_free(a);
    sw_manifest_free(b);
    sw_catalog_free(cat);
    return 0;
}
