/* summary.c — version summaries for listing (see summary.h). */
#include "bundle/summary.h"
#include "base/error.h"
#include "base/util.h"
#include "cache/fsck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SW_SUMMARY_MAGIC "swarm-summary-1"
#define SW_SUMMARY_MAX (512u << 20)

void sw_msummary_clear(sw_msummary *s)
{
    free(s->objects);
    memset(s, 0, sizeof *s);
}

void sw_msummary_of(sw_msummary *out, const sw_manifest *m)
{
    out->nfiles = m->nfiles;
    out->bytes = sw_manifest_size(m);
    out->objects = sw_malloc((m->nfiles ? m->nfiles : 1) * sizeof *out->objects);
    for (size_t i = 0; i < m->nfiles; i++)
        out->objects[i] = m->files[i].hash;
    out->nobjects = sw_hash_sort_unique(out->objects, m->nfiles);
}

int sw_msummary_load(sw_msummary *out, const char *path)
{
    char *data;
    size_t len;
    int rr = sw_read_file(&data, &len, path, SW_SUMMARY_MAX);
    if (rr)
        return rr == SW_ENOTFOUND ? SW_ENOTFOUND : SW_EINVALID;
    unsigned long long files, bytes, objects;
    int header = 0;
    int r = SW_EINVALID;
    if (sscanf(data, SW_SUMMARY_MAGIC " %llu %llu %llu\n%n", &files, &bytes, &objects, &header) == 3 && header > 0 &&
        objects <= files && (len - (size_t)header) == objects * sizeof(sw_hash)) {
        out->nfiles = (size_t)files;
        out->bytes = bytes;
        out->nobjects = (size_t)objects;
        out->objects = sw_malloc((objects ? objects : 1) * sizeof *out->objects);
        memcpy(out->objects, data + header, objects * sizeof(sw_hash));
        r = 0;
    }
    free(data);
    return r ? sw_error(r, "%s is not a version summary", path) : 0;
}

int sw_msummary_save(const sw_msummary *s, const char *path)
{
    char *header = sw_sprintf(SW_SUMMARY_MAGIC " %llu %llu %llu\n", (unsigned long long)s->nfiles,
                              (unsigned long long)s->bytes, (unsigned long long)s->nobjects);
    size_t hlen = strlen(header), len = hlen + s->nobjects * sizeof(sw_hash);
    char *data = sw_malloc(len);
    memcpy(data, header, hlen);
    memcpy(data + hlen, s->objects, s->nobjects * sizeof(sw_hash));
    int r = sw_write_file_atomic(path, data, len, 0644);
    free(data);
    free(header);
    return r;
}
