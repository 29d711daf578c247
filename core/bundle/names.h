/* names.h — what a bundle name, a version and a path inside a bundle may be.
 *
 * Names and versions: 1 to 200 characters from [A-Za-z0-9._-], starting with a letter or digit, with no
 * "..", not ending in "." or ".lock" (both are git tag names, NAME@VERSION). Paths inside a bundle: relative,
 * '/'-separated, valid UTF-8, no empty, "." or ".." component, no backslash or control character, components
 * of at most 255 bytes, at most SW_PATH_DEPTH_MAX components and SW_PATH_MAX bytes in all, and no component
 * git would take for its own folder: ".git" in any case, with trailing dots or spaces or an NTFS stream
 * (".git. ", ".git:x"), the 8.3 short name "git~1", or with HFS+-ignorable code points inside (git's
 * verify_path, CVE-2014-9390): a checkout into a git work tree must never write into .git. Everything read
 * from a manifest, torrent, archive, folder or peer is checked here. */
#ifndef SW_NAMES_H
#define SW_NAMES_H

#include <stddef.h>

#define SW_NAME_MAX 200
#define SW_PATH_MAX 4096                /* bytes of one path */
#define SW_PATH_DEPTH_MAX 64            /* components of one path (add's folder nesting limit) */
#define SW_TREE_PATH_BYTES_MAX (64u << 20) /* bytes of all of a tree's paths together */

/* 0 when s is a valid name; otherwise SW_EINVALID with a message naming what (e.g. "bundle name"). */
int sw_name_check(const char *what, const char *s);
/* Splits "NAME@VERSION" (or "NAME" when allow_bare) into owned strings; *version is NULL for a bare name. */
int sw_ref_parse(char **name, char **version, const char *ref, int allow_bare);
/* 0 when path is a safe relative path (rules above), else SW_EINVALID. */
int sw_path_check(const char *path);
/* Checks that n paths (each passed sw_path_check; any order) can all be files of one tree on every file
 * system: their bytes together at most SW_TREE_PATH_BYTES_MAX, no path twice and none that is also a
 * folder of another ("a" beside "a/b"), also after Unicode case folding and NFC normalization, which
 * macOS and Windows apply ("Config.json" beside "config.json", "é" composed beside "é" decomposed).
 * Runs in O(total bytes * log n). SW_EINVALID naming the paths. */
int sw_path_check_tree(char *const *paths, size_t n);

#endif
