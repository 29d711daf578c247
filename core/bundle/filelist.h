/* filelist.h — the files a path stands for, as a bundle sees them: a file is itself; a directory is
 * its regular files, recursively, in path order. Symbolic links to files are followed (a Hugging Face
 * cache snapshot is links into blobs); `.git` folders are skipped; other special files and links to
 * directories below the top are refused. `swarm add` and pipeline inputs both list files this way. */
#ifndef SW_FILELIST_H
#define SW_FILELIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

typedef struct {
    char *src, *dst; /* where the file is; its path in the bundle */
    uint64_t size;
    uint32_t mode; /* 0644 or 0755 */
} sw_fileent;

typedef struct {
    sw_fileent *v;
    size_t n, cap;
    uint64_t bytes; /* total size */
} sw_filelist;

void sw_filelist_free(sw_filelist *l);
void sw_filelist_push(sw_filelist *l, const char *src, const char *dst, const struct stat *st);
/* Adds src (a file, or a directory's contents) under the bundle path prefix dst ("" for the root);
 * depth is 0 for a path the user gave. Fails with a one-line reason on what it refuses. */
int sw_filelist_collect(sw_filelist *l, const char *src, const char *dst, int depth);

#endif
