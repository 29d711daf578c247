/* names.c — validation of bundle names, versions and paths (rules in names.h). */
#include "bundle/names.h"
#include "base/error.h"
#include "base/util.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

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

/* The length of the UTF-8 code point at p when HFS+ ignores it in names (git's list: U+200C..U+200F,
 * U+202A..U+202E, U+206A..U+206F, U+FEFF), else 0. */
static size_t sw_hfs_ignorable(const unsigned char *p, const unsigned char *end)
{
    if (end - p < 3)
        return 0;
    if (p[0] == 0xe2 && p[1] == 0x80 && ((p[2] >= 0x8c && p[2] <= 0x8f) || (p[2] >= 0xaa && p[2] <= 0xae)))
        return 3;
    if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xaa && p[2] <= 0xaf)
        return 3;
    return p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf ? 3 : 0;
}

/* 1 when a component (len <= 255 bytes) names git's folder on some file system: ".git" or its 8.3 short
 * name "git~1", in any ASCII case, with HFS+-ignorable code points anywhere, followed only by the dots
 * and spaces NTFS drops, or by an NTFS stream (":..."). The rules of git's verify_path. */
static int sw_component_is_git(const char *comp, size_t len)
{
    char t[256];
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)comp, *end = p + len;
    while (p < end) {
        size_t skip = sw_hfs_ignorable(p, end);
        if (skip)
            p += skip;
        else
            t[k++] = (char)tolower(*p++);
    }
    t[k] = 0;
    const char *rest = !strncmp(t, ".git", 4) ? t + 4 : !strncmp(t, "git~1", 5) ? t + 5 : NULL;
    if (!rest)
        return 0;
    rest += strspn(rest, ". ");
    return *rest == 0 || *rest == ':';
}

/* Checks one component of path (rules in names.h). */
static int sw_component_check(const char *path, const char *comp, size_t len)
{
    if (len == 0)
        return sw_error(SW_EINVALID, "path '%s' has an empty component", path);
    if ((len == 1 && comp[0] == '.') || (len == 2 && comp[0] == '.' && comp[1] == '.'))
        return sw_error(SW_EINVALID, "path '%s' has a '.' or '..' component", path);
    if (len > 255)
        return sw_error(SW_EINVALID, "path '%.60s...' has a component over 255 bytes", path);
    if (sw_component_is_git(comp, len))
        return sw_error(SW_EINVALID, "path '%.200s' has a component git reads as .git ('%.*s')", path, (int)len,
                        comp);
    return 0;
}

int sw_path_check(const char *path)
{
    size_t n = strlen(path), depth = 0;
    if (n == 0)
        return sw_error(SW_EINVALID, "empty path");
    if (n > SW_PATH_MAX)
        return sw_error(SW_EINVALID, "path longer than %d bytes: '%.60s...'", SW_PATH_MAX, path);
    if (path[0] == '/')
        return sw_error(SW_EINVALID, "absolute path '%s'", path);
    if (u8_check((const uint8_t *)path, n))
        return sw_error(SW_EINVALID, "a path is not valid UTF-8");
    const char *comp = path;
    for (const char *p = path;; p++) {
        if (*p == '/' || *p == 0) {
            if (++depth > SW_PATH_DEPTH_MAX)
                return sw_error(SW_EINVALID, "path '%.60s...' has more than %d components", path, SW_PATH_DEPTH_MAX);
            if (sw_component_check(path, comp, (size_t)(p - comp)))
                return SW_EINVALID;
            if (*p == 0)
                break;
            comp = p + 1;
        } else if (*p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f) {
            return sw_error(SW_EINVALID, "path '%s' has a backslash or a control character", path);
        }
    }
    return 0;
}

/* A path as a case-insensitive, normalizing file system sees it, with the path it came from. */
typedef struct {
    char *key;
    const char *path;
} sw_tree_key;

static int sw_tree_key_cmp(const void *a, const void *b)
{
    return strcmp(((const sw_tree_key *)a)->key, ((const sw_tree_key *)b)->key);
}

/* The key of a path: Unicode full case folding, then NFC (NUL-terminated, caller frees); NULL on bad UTF-8. */
static char *sw_fold(const char *path)
{
    size_t len = 0;
    uint8_t *k = u8_casefold((const uint8_t *)path, strlen(path), "", UNINORM_NFC, NULL, &len);
    if (!k)
        return NULL;
    char *out = sw_malloc(len + 1);
    memcpy(out, k, len);
    out[len] = 0;
    free(k);
    return out;
}

/* The first index j in sorted keys whose key is not below dir + "/" (a binary search). */
static size_t sw_tree_lower_bound(const sw_tree_key *keys, size_t n, const char *dir, size_t dlen)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *k = keys[mid].key;
        int c = strncmp(k, dir, dlen);
        if (!c)
            c = (unsigned char)k[dlen] - '/';
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Reports the clash between two paths whose keys are equal (file twice) or where a's key is a folder of b's. */
static int sw_tree_clash(const char *a, const char *b, int folder)
{
    size_t alen = strlen(a);
    if (!folder && !strcmp(a, b))
        return sw_error(SW_EINVALID, "two files have the path '%.200s'", a);
    if (!folder)
        return sw_error(SW_EINVALID, "'%.200s' and '%.200s' are one file on a case-insensitive or normalizing file "
                                     "system (macOS, Windows): they differ only in case or Unicode normalization",
                        a, b);
    if (!strncmp(a, b, alen) && b[alen] == '/')
        return sw_error(SW_EINVALID, "'%.200s' would be both a file and a folder", a);
    return sw_error(SW_EINVALID, "'%.200s' would be both a file and a folder ('%.200s') on a case-insensitive or "
                                 "normalizing file system (macOS, Windows)", a, b);
}

/* Sorted keys: the first clash, a key twice or a key that is also a folder of another. */
static int sw_tree_check_keys(const sw_tree_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(keys[i - 1].key, keys[i].key))
            return sw_tree_clash(keys[i - 1].path, keys[i].path, 0);
        size_t len = strlen(keys[i].key);
        size_t j = sw_tree_lower_bound(keys, n, keys[i].key, len);
        if (j < n && !strncmp(keys[j].key, keys[i].key, len) && keys[j].key[len] == '/')
            return sw_tree_clash(keys[i].path, keys[j].path, 1);
    }
    return 0;
}

int sw_path_check_tree(char *const *paths, size_t n)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += strlen(paths[i]) + 1;
    if (bytes > SW_TREE_PATH_BYTES_MAX)
        return sw_error(SW_EINVALID, "the paths of %zu files take %llu bytes, over the limit of %u MiB", n,
                        (unsigned long long)bytes, SW_TREE_PATH_BYTES_MAX >> 20);
    sw_tree_key *keys = sw_calloc(n ? n : 1, sizeof *keys);
    int r = 0;
    for (size_t i = 0; !r && i < n; i++) {
        keys[i].path = paths[i];
        if (!(keys[i].key = sw_fold(paths[i])))
            r = sw_error(SW_EINVALID, "a path is not valid UTF-8");
    }
    if (!r) {
        qsort(keys, n, sizeof *keys, sw_tree_key_cmp);
        r = sw_tree_check_keys(keys, n);
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i].key);
    free(keys);
    return r;
}
