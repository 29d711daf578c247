/* fuzz_archive.c — archives for `swarm add --unpack` (core/bundle/archive_io.c, libarchive): the input is
 * written to a file and imported into a scratch store as add does (import, then sort into a tree); a
 * version that imports is exported as swarm's tar.zst, which must import again to the same files (paths,
 * sizes, modes, hashes). The store is made afresh every 256 inputs, so that a long run stays small. */
#include "bundle/archive_io.h"
#include "fuzz.h"

#include <unistd.h>

static sw_store *fz_store;
static unsigned fz_count;

/* Imports the archive at path as `swarm add --unpack` does; NULL when it is refused. */
static sw_manifest *fz_import(const char *path)
{
    sw_manifest *m = sw_manifest_new();
    uint64_t added = 0;
    if (sw_archive_import(m, fz_store, path, 0, &added, NULL, NULL) || sw_manifest_sort(m)) {
        sw_manifest_free(m);
        return NULL;
    }
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz_count++ % 256 == 0) {
        char *home = sw_sprintf("%s/home", fz_scratch());
        sw_store_free(fz_store);
        sw_rm_rf(home);
        FZ_CHECK(sw_store_open(&fz_store, home, SW_STORE_SHARED) == 0);
        free(home);
    }
    char *in = sw_sprintf("%s/in", fz_scratch()), *out = sw_sprintf("%s/out.tar.zst", fz_scratch());
    FZ_CHECK(sw_write_file_atomic(in, data, size, 0644) == 0);
    sw_manifest *m = fz_import(in), *again = NULL;
    if (m) {
        m->name = sw_strdup("fuzz");
        m->version = sw_strdup("v1");
        m->time = sw_strdup("2024-01-01T00:00:00Z");
        int rc = sw_archive_export(fz_store, m, out, NULL, NULL);
        if (rc)
            fprintf(stderr, "export: %s\n", sw_error_last());
        FZ_CHECK(rc == 0);
        again = fz_import(out);
        FZ_CHECK(again && again->nfiles == m->nfiles);
        for (size_t i = 0; i < m->nfiles; i++) {
            const sw_mfile *a = &m->files[i], *b = &again->files[i];
            FZ_CHECK(!strcmp(a->path, b->path) && a->size == b->size && a->mode == b->mode &&
                     !memcmp(&a->hash, &b->hash, sizeof a->hash));
        }
    }
    sw_manifest_free(m);
    sw_manifest_free(again);
    unlink(out);
    free(in);
    free(out);
    return 0;
}
