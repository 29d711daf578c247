/* bundle.c — bundle versions against the store (see bundle.h). */
#include "bundle/bundle.h"
#include "bundle/names.h"

#include <stdlib.h>
#include <string.h>

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
