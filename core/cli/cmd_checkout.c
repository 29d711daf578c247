/* cmd_checkout.c — swarm checkout and export: a version's files out of the store.
 *
 * checkout copies (never links) each object, so editing the checkout cannot change the store. Objects
 * are trusted as the store keeps them (hashed when written, re-hashed by verify and fsck); checkout
 * checks each copy's size, and with --verify re-hashes every copy before it takes its name. It refuses
 * to overwrite: if any target file exists, nothing is written. Each file is written beside its target
 * and renamed into place, so a file in DIR is either absent or complete. Folders inside DIR that are
 * symbolic links are refused, so a crafted DIR cannot redirect writes outside it. */
#include "bundle/archive_io.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "base/error.h"
#include "cache/hash.h"
#include "cli/progress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens store, catalog and manifest of a version whose files must all be held. */
static int sw_open_held(sw_cli *cli, const char *ref, sw_store **st, sw_catalog **cat, sw_manifest **m)
{
    if (sw_cli_open(cli, st, cat))
        return 1;
    if (sw_cli_manifest(m, *cat, ref))
        return 1;
    size_t held = sw_bundle_held_files(*m, *st);
    if (held != (*m)->nfiles) {
        sw_error(SW_ENOTFOUND, "%s is not held here (%zu of %zu files missing): fetch it with 'swarm get %s'", ref,
                 (*m)->nfiles - held, (*m)->nfiles, ref);
        return sw_cli_fail();
    }
    return 0;
}

/* Creates the folders leading to dir/path, refusing any that is a symbolic link. */
static int sw_make_parents(const char *dir, const char *path)
{
    char *full = sw_sprintf("%s/%s", dir, path);
    int r = 0;
    for (char *s = full + strlen(dir) + 1; !r && (s = strchr(s, '/')); s++) {
        *s = 0;
        struct stat st;
        if (lstat(full, &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                r = sw_error(SW_EINVALID, "%s exists and is not a directory", full);
        } else if (mkdir(full, 0755) < 0) {
            r = sw_error_errno(SW_ERROR, "cannot create %s", full);
        }
        *s = '/';
    }
    free(full);
    return r;
}

static int sw_checkout(sw_cli *cli, sw_store *st, const sw_manifest *m, const char *dir, int verify)
{
    struct stat s;
    if (lstat(dir, &s) == 0 && !S_ISDIR(s.st_mode))
        return sw_error(SW_EINVALID, "%s exists and is not a directory", dir);
    for (size_t i = 0; i < m->nfiles; i++) {
        char *target = sw_sprintf("%s/%s", dir, m->files[i].path);
        int exists = lstat(target, &s) == 0;
        free(target);
        if (exists)
            return sw_error(SW_EEXISTS, "%s/%s exists; checkout never overwrites (choose an empty directory)", dir,
                            m->files[i].path);
    }
    if (sw_mkdir_p(dir))
        return SW_ERROR;
    sw_progress p;
    sw_progress_begin(&p, cli->progress, "checkout", sw_manifest_size(m));
    int r = 0;
    for (size_t i = 0; i < m->nfiles && !r; i++) {
        const sw_mfile *f = &m->files[i];
        if ((r = sw_make_parents(dir, f->path)))
            break;
        char *obj = sw_store_object_path(st, &f->hash);
        char *target = sw_sprintf("%s/%s", dir, f->path);
        char *tmp = sw_sprintf("%s.swarm-tmp-%ld", target, (long)getpid());
        r = sw_copy_file(obj, tmp, f->mode, sw_progress_step, &p);
        sw_hash h;
        uint64_t size = 0;
        if (!r && verify)
            r = sw_sha256_file(&h, &size, tmp);
        else if (!r)
            size = stat(tmp, &s) == 0 ? (uint64_t)s.st_size : UINT64_MAX;
        if (!r && (size != f->size || (verify && !sw_hash_eq(&h, &f->hash))))
            r = sw_error(SW_ERROR, "object of %s is corrupt (%s); run 'swarm fsck'", f->path,
                         size != f->size ? "wrong size" : "bytes do not match the SHA-256");
        if (!r && rename(tmp, target) < 0)
            r = sw_error_errno(SW_ERROR, "cannot write %s", target);
        if (r)
            unlink(tmp);
        free(obj);
        free(target);
        free(tmp);
    }
    sw_progress_end(&p);
    return r;
}

int sw_cmd_checkout(sw_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"verify", no_argument, NULL, 'V'}, SW_CLI_COMMON_OPTS, {0}};
    int c, verify = 0;
    optind = 0;
    while ((c = sw_cli_getopt(cli, argc, argv, "qv", opts, SW_USAGE_CHECKOUT)) != -1)
        if (c == '?')
            return 2;
        else if (c == 'V')
            verify = 1;
    if (argc - optind != 2)
        return sw_cli_usage(SW_USAGE_CHECKOUT, argc - optind < 2 ? "missing argument" : "too many arguments");
    sw_store *st = NULL;
    sw_catalog *cat = NULL;
    sw_manifest *m = NULL;
    int rc = sw_open_held(cli, argv[optind], &st, &cat, &m);
    if (!rc && sw_checkout(cli, st, m, argv[optind + 1], verify))
        rc = sw_cli_fail();
    if (!rc) {
        char size[32];
        sw_cli_note(cli, "checked out %s@%s into %s: %zu files, %s", m->name, m->version, argv[optind + 1],
                    m->nfiles, sw_fmt_bytes(size, sizeof size, sw_manifest_size(m)));
    }
    sw_manifest_free(m);
    sw_catalog_free(cat);
    sw_store_free(st);
    return rc;
}

int sw_cmd_export(sw_cli *cli, int argc, char **argv)
{
    if (sw_cli_operands(cli, argc, argv, 2, 2, SW_USAGE_EXPORT))
        return 2;
    sw_store *st = NULL;
    sw_catalog *cat = NULL;
    sw_manifest *m = NULL;
    int rc = sw_open_held(cli, argv[optind], &st, &cat, &m);
    if (!rc) {
        sw_progress p;
        sw_progress_begin(&p, cli->progress, "export", sw_manifest_size(m));
        if (sw_archive_export(st, m, argv[optind + 1], sw_progress_step, &p))
            rc = sw_cli_fail();
        sw_progress_end(&p);
    }
    if (!rc)
        sw_cli_note(cli, "exported %s@%s to %s", m->name, m->version, argv[optind + 1]);
    sw_manifest_free(m);
    sw_catalog_free(cat);
    sw_store_free(st);
    return rc;
}
