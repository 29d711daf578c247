/* wds.c — the "webdataset" records format: tar shards of samples (FORMATS.md, Datasets), one sample record
 * (common/sample.h) per sample. The naming rules shared by the reader and the writer live here; the
 * reader is wds_read.c, the writer wds_write.c.
 *
 * A member "dir/abc.seg.PNG" belongs to the sample with key "dir/abc" (the path up to the first dot of the
 * basename) as its field "seg.png" (the rest, lower-cased). Names that are absolute or hold a ".."
 * component are refused, as is a basename with no dot, nothing before it or nothing after it. Members
 * whose basename is "__*__" are WebDataset metadata and are skipped. */
#include "wds.h"

#include <string.h>

int dt_wds_unsafe(const char *path, size_t len)
{
    size_t i = 0;
    if (!len || path[0] == '/')
        return 1;
    while (i < len) {
        const char *slash = memchr(path + i, '/', len - i);
        size_t end = slash ? (size_t)(slash - path) : len;
        if (end - i == 2 && path[i] == '.' && path[i + 1] == '.')
            return 1;
        i = end + 1;
    }
    return 0;
}

size_t dt_wds_base(const char *path, size_t len)
{
    size_t b = len;
    while (b > 0 && path[b - 1] != '/')
        b--;
    return b;
}

int dt_wds_is_meta(const char *base, size_t len)
{
    return len >= 4 && !memcmp(base, "__", 2) && !memcmp(base + len - 2, "__", 2);
}

const char *dt_wds_show(char out[128], const void *name, size_t len)
{
    const unsigned char *s = name;
    size_t n = len > 120 ? 120 : len, i;
    for (i = 0; i < n; i++)
        out[i] = s[i] < 0x20 || s[i] == 0x7f ? '?' : (char)s[i];
    if (n < len) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = 0;
    return out;
}

const swarm_records_format dt_wds_format = {
    .struct_size = sizeof(swarm_records_format),
    .name = "webdataset",
    .format_version = 1,
    .doc = "WebDataset tar shards: members KEY.EXT grouped by key into samples, one sample record per sample "
           "(__key__ then the fields by extension); written reproducibly (pax, mtime 0, uid/gid 0, mode 0644, "
           "fields sorted by extension)",
    .extension = "tar",
    .params = NULL,
    .n_params = 0,
    .read = dt_wds_read,
    .write = dt_wds_write,
};
