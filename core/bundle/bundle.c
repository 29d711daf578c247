/* bundle.c — bundle versions against the store (see bundle.h). */
#include "bundle/bundle.h"
#include "bundle/names.h"

#include <stdlib.h>

int sw_bundle_read(sw_manifest **out, sw_catalog *cat, const char *ref)
{
    char *name, *version;
    int r = sw_ref_parse(&name, &version, ref, 0);
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
