/* filelist.c — the files a path stands for, as a bundle sees them (see filelist.h). */
#include "bundle/filelist.h"
#include "base/error.h"
#include "bundle/names.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void sw_filelist_free(sw_filelist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].src);
        free(l->v[i].dst);
    }
    free(l->v);
}

void sw_filelist_push(sw_filelist *l, const char *src, const char *dst, const struct stat *st)
{
    sw_grow(&l->v, &l->cap, l->n + 1, sizeof *l->v);
    l->v[l->n++] = (sw_fileent){sw_strdup(src), sw_strdup(dst), (uint64_t)st->st_size,
                               st->st_mode & 0111 ? 0755u : 0644u};
    l->bytes += (uint64_t)st->st_size;
}

int sw_filelist_collect(sw_filelist *l, const char *src, const char *dst, int depth)
{
    struct stat st;
    if (stat(src, &st) < 0) {
        struct stat lst;
        if (lstat(src, &lst) == 0 && S_ISLNK(lst.st_mode))
            return sw_error(SW_EINVALID, "%s: dangling symbolic link", src);
        return sw_error_errno(SW_ENOTFOUND, "cannot read %s", src);
    }
    if (S_ISREG(st.st_mode)) {
        if (sw_path_check(dst))
            return sw_error_wrap(SW_EINVALID, "%s cannot be a path in a bundle", src);
        sw_filelist_push(l, src, dst, &st);
        return 0;
    }
    if (!S_ISDIR(st.st_mode))
        return sw_error(SW_EINVALID, "%s is not a regular file or directory", src);
    struct stat lst;
    if (depth > 0 && lstat(src, &lst) == 0 && S_ISLNK(lst.st_mode))
        return sw_error(SW_EINVALID, "%s is a symbolic link to a directory; only links to files are followed", src);
    if (depth > 64)
        return sw_error(SW_EINVALID, "%s: directories nested deeper than 64", src);
    DIR *d = opendir(src);
    if (!d)
        return sw_error_errno(SW_ERROR, "cannot read directory %s", src);
    sw_strlist names = {0};
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, ".git"))
            sw_strlist_push(&names, e->d_name);
    closedir(d);
    sw_strlist_sort(&names);
    int r = 0;
    for (size_t i = 0; i < names.n && !r; i++) {
        char *s = sw_sprintf("%s/%s", src, names.v[i]);
        char *t = *dst ? sw_sprintf("%s/%s", dst, names.v[i]) : sw_strdup(names.v[i]);
        r = sw_filelist_collect(l, s, t, depth + 1);
        free(s);
        free(t);
    }
    sw_strlist_free(&names);
    return r;
}

