/* names.c — validation of bundle names, versions and paths (rules in names.h). */
#include "bundle/names.h"
#include "common/utf8.h"
#include "base/error.h"
#include "base/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int sw_name_check(const char *what, const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return sw_error(SW_EINVALID, "%s is empty", what);
    if (n > SW_NAME_MAX)
        return sw_error(SW_EINVALID, "%s is longer than %d characters", what, SW_NAME_MAX);
    if (!isalnum((unsigned char)s[0]))
        return sw_error(SW_EINVALID, "%s '%s' must start with a letter or digit", what, s);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '.' || c == '_' || c == '-'))
            return sw_error(SW_EINVALID, "%s '%s' has a character other than letters, digits, '.', '_' and '-'",
                            what, s);
    }
    if (strstr(s, ".."))
        return sw_error(SW_EINVALID, "%s '%s' contains '..'", what, s);
    if (s[n - 1] == '.' || (n >= 5 && !strcmp(s + n - 5, ".lock")))
        return sw_error(SW_EINVALID, "%s '%s' must not end in '.' or '.lock'", what, s);
    return 0;
}

int sw_ref_parse(char **name, char **version, const char *ref, int allow_bare)
{
    const char *at = strchr(ref, '@');
    *name = *version = NULL;
    if (!at && !allow_bare)
        return sw_error(SW_EINVALID, "'%s' is not NAME@VERSION", ref);
    char *n = at ? strndup(ref, (size_t)(at - ref)) : sw_strdup(ref);
    if (!n)
        n = sw_strdup("");
    int r = sw_name_check("bundle name", n);
    if (!r && at)
        r = sw_name_check("version", at + 1);
    if (r) {
        free(n);
        return r;
    }
    *name = n;
    *version = at ? sw_strdup(at + 1) : NULL;
    return 0;
}

int sw_path_check(const char *path)
{
    size_t n = strlen(path);
    if (n == 0)
        return sw_error(SW_EINVALID, "empty path");
    if (n > 4096)
        return sw_error(SW_EINVALID, "path longer than 4096 bytes: '%.60s...'", path);
    if (path[0] == '/')
        return sw_error(SW_EINVALID, "absolute path '%s'", path);
    const char *comp = path;
    for (const char *p = path;; p++) {
        if (*p == '/' || *p == 0) {
            size_t len = (size_t)(p - comp);
            if (len == 0)
                return sw_error(SW_EINVALID, "path '%s' has an empty component", path);
            if ((len == 1 && comp[0] == '.') || (len == 2 && comp[0] == '.' && comp[1] == '.'))
                return sw_error(SW_EINVALID, "path '%s' has a '.' or '..' component", path);
            if (len > 255)
                return sw_error(SW_EINVALID, "path '%.60s...' has a component over 255 bytes", path);
            if (*p == 0)
                break;
            comp = p + 1;
        } else if (*p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f) {
            return sw_error(SW_EINVALID, "path '%s' has a backslash or a control character", path);
        }
    }
    /* A manifest is JSON: a path that is not UTF-8 could not be written into it. */
    if (!sw_utf8_valid((const uint8_t *)path, n))
        return sw_error(SW_EINVALID, "a path that is not valid UTF-8");
    return 0;
}

static int sw_strcmp_p(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int sw_path_check_tree(char *const *paths, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(paths[i - 1], paths[i]))
            return sw_error(SW_EINVALID, "two files have the path '%s'", paths[i]);
        for (const char *s = strchr(paths[i], '/'); s; s = strchr(s + 1, '/')) {
            char *dir = strndup(paths[i], (size_t)(s - paths[i]));
            int clash = dir && bsearch(&dir, paths, n, sizeof *paths, sw_strcmp_p) != NULL;
            free(dir);
            if (clash)
                return sw_error(SW_EINVALID, "'%.*s' would be both a file and a folder", (int)(s - paths[i]),
                                paths[i]);
        }
    }
    return 0;
}
