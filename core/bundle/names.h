/* names.h — what a bundle name, a version and a path inside a bundle may be.
 *
 * Names and versions: 1 to 200 characters from [A-Za-z0-9._-], starting with a letter or digit, with no
 * "..", not ending in "." or ".lock" (both are git tag names, NAME@VERSION). Paths inside a bundle: relative,
 * '/'-separated, valid UTF-8, no empty, "." or ".." component, no backslash or control character,
 * components of at most 255 bytes, 4096 bytes in all. Everything read from a manifest, archive or peer is checked here. */
#ifndef SW_NAMES_H
#define SW_NAMES_H

#include <stddef.h>

#define SW_NAME_MAX 200

/* 0 when s is a valid name; otherwise SW_EINVALID with a message naming what (e.g. "bundle name"). */
int sw_name_check(const char *what, const char *s);
/* Splits "NAME@VERSION" (or "NAME" when allow_bare) into owned strings; *version is NULL for a bare name. */
int sw_ref_parse(char **name, char **version, const char *ref, int allow_bare);
/* 0 when path is a safe relative path (rules above), else SW_EINVALID. */
int sw_path_check(const char *path);
/* Checks that n paths, sorted bytewise, can all be files of one tree: no path twice, and none that is
 * also a folder of another ("a" beside "a/b", which no checkout could write). SW_EINVALID naming it. */
int sw_path_check_tree(char *const *paths, size_t n);

#endif
