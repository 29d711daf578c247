/* cmd_add.c — swarm add: files, directories and archives become a new bundle version.
 *
 * Paths in the bundle: a file argument is added under its own name; a directory argument adds its
 * contents (recursively) at the bundle's root, like a model folder; symbolic links to files are followed
 * (a Hugging Face cache snapshot is links into blobs); `.git` folders are skipped; other special files
 * and links to directories are refused. Every check runs before any byte is stored. */
#include "bundle/archive_io.h"
#include "net/bundle_torrent.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "base/error.h"
#include "bundle/filelist.h"
#include "bundle/names.h"
#include "cli/progress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *sw_basename(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    const char *p = path + n;
    while (p > path && p[-1] != '/')
        p--;
    return p;
}

static int sw_fileent_cmp(const void *a, const void *b)
{
    return strcmp(((const sw_fileent *)a)->dst, ((const sw_fileent *)b)->dst);
}

/* Collects every path argument and refuses duplicates, before anything is stored. */
static int sw_add_collect(sw_filelist *l, char **paths, int n)
{
    for (int i = 0; i < n; i++) {
        struct stat st;
        int r;
        if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            r = sw_filelist_collect(l, paths[i], "", 0);
        } else {
            char *base = strndup(sw_basename(paths[i]), strcspn(sw_basename(paths[i]), "/"));
            r = sw_filelist_collect(l, paths[i], base ? base : "", 0);
            free(base);
        }
        if (r)
            return r;
    }
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, sw_fileent_cmp);
    for (size_t i = 1; i < l->n; i++)
        if (!strcmp(l->v[i].dst, l->v[i - 1].dst))
            return sw_error(SW_EINVALID, "%s and %s would both be '%s' in the bundle", l->v[i - 1].src, l->v[i].src,
                            l->v[i].dst);
    char **dst = sw_malloc(l->n * sizeof *dst);
    for (size_t i = 0; i < l->n; i++)
        dst[i] = l->v[i].dst;
    int r = sw_path_check_tree(dst, l->n);
    free(dst);
    return r;
}

/* Stores the files of l (sorted, as the manifest will be) and the archives' entries into m. The files'
 * torrent pieces are hashed into pieces as they are stored (files only: entries of archives are not in
 * the manifest's order). */
static int sw_add_store(sw_cli *cli, sw_manifest *m, sw_store *st, const sw_filelist *l, char **archives,
                        int narchives, uint64_t max_unpacked, uint64_t *added_bytes, sw_pieces *pieces)
{
    sw_progress p;
    uint64_t total = l->bytes;
    for (int i = 0; i < narchives; i++) {
        struct stat s;
        if (stat(archives[i], &s) == 0)
            total += (uint64_t)s.st_size;
    }
    sw_progress_begin(&p, cli->progress, "adding", total);
    int r = 0;
    for (size_t i = 0; i < l->n && !r; i++) {
        sw_object obj;
        r = sw_store_put_file_pieces(&obj, st, l->v[i].src, pieces, sw_progress_step, &p);
        if (!r) {
            if (obj.size != l->v[i].size)
                sw_cli_note(cli, "note: %s changed size while it was being added", l->v[i].src);
            *added_bytes += obj.added ? obj.size : 0;
            sw_manifest_add_file(m, l->v[i].dst, obj.size, l->v[i].mode, &obj.hash, obj.chunks, obj.nchunks);
            sw_object_clear(&obj);
        }
    }
    sw_pieces_end(pieces);
    for (int i = 0; i < narchives && !r; i++)
        r = sw_archive_import(m, st, archives[i], max_unpacked, added_bytes, sw_progress_step, &p);
    sw_progress_end(&p);
    return r;
}

/* The bundle's latest version when it holds the same files as m (sorted here) in *same, else NULL: what an
 * auto-numbered add of m would only repeat. A bundle with no version yet is no error. */
static int sw_add_unchanged(sw_manifest **same, sw_catalog *cat, sw_manifest *m)
{
    sw_manifest *latest = NULL;
    *same = NULL;
    int r = sw_manifest_sort(m);
    if (!r && (r = sw_bundle_read(&latest, cat, m->name)) == SW_ENOTFOUND)
        return 0;
    if (!r && sw_manifest_same_files(latest, m))
        *same = latest;
    else
        sw_manifest_free(latest);
    return r;
}

/* Prints add's result: the version made, or (unchanged) the latest version that holds the same files. */
static void sw_add_report(sw_cli *cli, const sw_manifest *m, const sw_manifest *same, uint64_t added)
{
    const char *version = same ? same->version : m->version;
    char a[32], b[32];
    if (cli->json)
        sw_cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:I, s:b}", "name", m->name, "version", version, "files",
                                    (json_int_t)m->nfiles, "bytes", (json_int_t)sw_manifest_size(m), "new_bytes",
                                    (json_int_t)added, "unchanged", same != NULL));
    else
        printf("%s@%s\n", m->name, version);
    if (same)
        sw_cli_note(cli, "nothing changed: %s@%s holds the same files (--allow-same makes a new version anyway)",
                    m->name, version);
    else
        sw_cli_note(cli, "added %s@%s: %zu file%s, %s (%s in files the store did not hold; 'swarm diff' counts "
                         "new bytes by chunk)", m->name, version, m->nfiles,
                    m->nfiles == 1 ? "" : "s", sw_fmt_bytes(a, sizeof a, sw_manifest_size(m)),
                    sw_fmt_bytes(b, sizeof b, added));
}

int sw_cmd_add(sw_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'}, {"message", required_argument, NULL, 'm'},
        {"unpack", no_argument, NULL, 'u'}, {"unpack-max", required_argument, NULL, 'U'},
        {"allow-same", no_argument, NULL, 'S'}, SW_CLI_COMMON_OPTS, {0}};
    const char *ref = NULL, *message = "";
    int unpack = 0, allow_same = 0, c;
    uint64_t max_unpacked = 0;
    optind = 0; /* GNU getopt permutes: paths may stand before, between or after options */
    while ((c = sw_cli_getopt(cli, argc, argv, "n:m:qv", opts, SW_USAGE_ADD)) != -1) {
        if (c == '?')
            return 2;
        if (c == 'n')
            ref = optarg;
        else if (c == 'm')
            message = optarg;
        else if (c == 'u')
            unpack = 1;
        else if (c == 'S')
            allow_same = 1;
        else if (c == 'U' && sw_parse_bytes(&max_unpacked, optarg))
            return sw_cli_usage(SW_USAGE_ADD, "--unpack-max: %s", sw_error_last());
    }
    sw_strlist paths = {0};
    for (int i = optind; i < argc; i++)
        sw_strlist_push(&paths, argv[i]);
    int rc = 1;
    sw_manifest *m = NULL, *same = NULL;
    sw_store *st = NULL;
    sw_catalog *cat = NULL;
    sw_filelist l = {0};
    sw_pieces pieces = {0};
    char *name = NULL, *version = NULL;
    if (!ref) {
        rc = sw_cli_usage(SW_USAGE_ADD, "missing --name");
        goto done;
    }
    if (paths.n == 0) {
        rc = sw_cli_usage(SW_USAGE_ADD, "nothing to add: give files, directories or archives");
        goto done;
    }
    if (sw_ref_parse(&name, &version, ref, 1)) {
        rc = sw_cli_usage(SW_USAGE_ADD, "%s", sw_error_last());
        goto done;
    }
    if (!unpack && sw_add_collect(&l, paths.v, (int)paths.n)) {
        rc = sw_cli_fail();
        goto done;
    }
    for (size_t i = 0; unpack && i < paths.n; i++) {
        struct stat s;
        int bad = stat(paths.v[i], &s) < 0;
        if (bad || !S_ISREG(s.st_mode)) {
            if (bad)
                sw_error_errno(SW_EINVALID, "--unpack: cannot read archive %s", paths.v[i]);
            else
                sw_error(SW_EINVALID, "--unpack: %s is not a regular file (an archive)", paths.v[i]);
            rc = sw_cli_fail();
            goto done;
        }
    }
    if (sw_cli_open(cli, &st, &cat))
        goto done;
    if (sw_catalog_ready(cat)) { /* before the files are read, not after */
        rc = sw_cli_fail();
        goto done;
    }
    m = sw_manifest_new();
    m->name = sw_strdup(name);
    m->version = sw_strdup(version);
    m->message = sw_strdup(message);
    sw_manifest_stamp(m);
    uint64_t added = 0;
    sw_pieces_init(&pieces, sw_piece_size(l.bytes));
    if (sw_add_store(cli, m, st, &l, unpack ? paths.v : NULL, unpack ? (int)paths.n : 0, max_unpacked, &added,
                     &pieces) ||
        (!version && !allow_same && sw_add_unchanged(&same, cat, m)) ||
        (!same && sw_bundle_commit_pieces(cat, st, m, &pieces))) {
        rc = sw_cli_fail();
        goto done;
    }
    sw_add_report(cli, m, same, added);
    rc = 0;
done:
    sw_pieces_clear(&pieces);
    sw_filelist_free(&l);
    sw_strlist_free(&paths);
    sw_manifest_free(m);
    sw_manifest_free(same);
    sw_catalog_free(cat);
    sw_store_free(st);
    free(name);
    free(version);
    return rc;
}
