/* bundle.c — bundle versions against the store (see bundle.h). */
#include "bundle/bundle.h"
#include "base/error.h"
#include "bundle/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sw_bundle_version(char **version, sw_catalog *cat, const char *name)
{
    if (*version && strcmp(*version, SW_VERSION_LATEST))
        return 0;
    char *latest;
    int r = sw_catalog_latest(&latest, cat, name);
    if (r)
        return r;
    free(*version);
    *version = latest;
    return 0;
}

int sw_bundle_resolve(char **name, char **version, sw_catalog *cat, const char *ref)
{
    int r = sw_ref_parse(name, version, ref, 1);
    if (!r && (r = sw_bundle_version(version, cat, *name))) {
        free(*name);
        free(*version);
        *name = *version = NULL;
    }
    return r;
}

int sw_bundle_read(sw_manifest **out, sw_catalog *cat, const char *ref)
{
    char *name, *version;
    int r = sw_bundle_resolve(&name, &version, cat, ref);
    if (r)
        return r;
    r = sw_catalog_read(out, cat, name, version);
    free(name);
    free(version);
    return r;
}

size_t sw_bundle_held_files(const sw_manifest *m, const sw_store *st)
{
    size_t held = 0;
    for (size_t i = 0; i < m->nfiles; i++)
        held += sw_store_stat(st, &m->files[i].hash, NULL) == 0;
    return held;
}

int sw_bundle_held(const sw_manifest *m, const sw_store *st)
{
    return sw_bundle_held_files(m, st) == m->nfiles;
}

int sw_bundle_held_under(const sw_manifest *m, const sw_store *st, const char *path)
{
    if (!path)
        return sw_bundle_held(m, st);
    size_t n = strlen(path);
    for (size_t i = 0; i < m->nfiles; i++) {
        const char *p = m->files[i].path;
        if ((!strncmp(p, path, n) && (p[n] == 0 || p[n] == '/')) && sw_store_stat(st, &m->files[i].hash, NULL))
            return 0;
    }
    return 1;
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

int sw_bundle_checkout(sw_store *st, const sw_manifest *m, const char *dir, int verify, sw_progress_fn progress,
                       void *pctx)
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
    int r = 0;
    for (size_t i = 0; i < m->nfiles && !r; i++) {
        const sw_mfile *f = &m->files[i];
        if ((r = sw_make_parents(dir, f->path)))
            break;
        char *obj = sw_store_object_path(st, &f->hash);
        char *target = sw_sprintf("%s/%s", dir, f->path);
        char *tmp = sw_sprintf("%s.swarm-tmp-%ld", target, (long)getpid());
        r = sw_copy_file(obj, tmp, f->mode, progress, pctx);
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
    return r;
}
