/* test_manifest.c — manifests round-trip through canonical JSON, and the parser refuses every malformed
 * or hostile manifest; name and path rules. */
#include "base/error.h"
#include "bundle/manifest.h"
#include "bundle/names.h"
#include "tap.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static sw_manifest *sample(void)
{
    sw_manifest *m = sw_manifest_new();
    m->name = sw_strdup("tiny-llama");
    m->version = sw_strdup("v2");
    m->parent = sw_strdup("v1");
    m->message = sw_strdup("fine-tuned \"chat\" ✓");
    m->author = sw_strdup("Ada <ada@example.org>");
    m->time = sw_strdup("2026-11-26T10:00:00Z");
    sw_chunk c[3];
    const char *parts[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        c[i].offset = (uint64_t)i * 20000;
        c[i].length = 20000;
        sw_sha256_buf(&c[i].hash, parts[i], 1);
    }
    sw_hash h;
    sw_sha256_buf(&h, "whole", 5);
    sw_manifest_add_file(m, "weights/model.safetensors", 60000, 0644, &h, c, 3);
    sw_manifest_add_file(m, "config.json", 20000, 0755, &h, c, 1);
    c[0].hash = h; /* a single-chunk file: its chunk is the file */
    m->files[1].chunks[0].hash = h;
    sw_manifest_add_file(m, "empty", 0, 0644, &h, NULL, 0);
    sw_sha256_buf(&m->files[2].hash, "", 0);
    return m;
}

/* Parses a variant of the sample's JSON with one substitution; returns the parse result. */
static int parse_with(const char *json, const char *from, const char *to)
{
    const char *at = strstr(json, from);
    if (!at)
        return 999;
    char *s = sw_sprintf("%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
    sw_manifest *m = NULL;
    int r = sw_manifest_parse(&m, s, strlen(s));
    sw_manifest_free(m);
    free(s);
    return r;
}

/* Every spelling of .git that git's verify_path refuses (CVE-2014-9390) is refused in any component. */
static void sw_test_git_paths(void)
{
    const char *bad[] = {".git/hooks/pre-commit", "a/.git/config", ".GIT/hooks/x", "a/.Git", ".git./hooks/x",
                         ".git . ./x", ".git /x", "git~1/hooks/x", "GIT~1/x", ".git:x/y",
                         ".g\u200cit/hooks/x", "\u200f.git/x", ".gi\u202at/x", ".git\u206f/x", "\ufeff.GIT/x",
                         "a/.g\u200dit"};
    int all = 1;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int r = sw_path_check(bad[i]);
        all &= r == SW_EINVALID && strstr(sw_error_last(), ".git") != NULL;
        if (r != SW_EINVALID)
            printf("# accepted: %s\n", bad[i]);
    }
    ok(all, "a .git component is refused in every spelling git refuses (case, NTFS dots/spaces, git~1, HFS+)");
    const char *good[] = {".gitignore", ".github/workflows/x", "git/x", "a.git/x", "git~2/x", ".gitx/y",
                          "x/.git2", "\u200c/x"};
    all = 1;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        all &= sw_path_check(good[i]) == 0;
    ok(all, "names that only resemble .git pass");
    ok(sw_path_check("a/\xff\xfe") == SW_EINVALID && strstr(sw_error_last(), "UTF-8"), "a path not in UTF-8 is refused");
}

/* A tree's paths: depth cap, and no two paths a case-insensitive or normalizing file system would merge. */
static void sw_test_tree_rules(void)
{
    char deep[2 * (SW_PATH_DEPTH_MAX + 1)];
    for (int i = 0; i <= SW_PATH_DEPTH_MAX; i++)
        memcpy(deep + 2 * i, "a/", 2);
    deep[2 * SW_PATH_DEPTH_MAX + 1] = 0;
    ok(sw_path_check(deep) == SW_EINVALID && strstr(sw_error_last(), "components"), "%d components refused",
       SW_PATH_DEPTH_MAX + 1);
    deep[2 * SW_PATH_DEPTH_MAX - 1] = 0;
    ok(sw_path_check(deep) == 0, "%d components pass", SW_PATH_DEPTH_MAX);
    char *twins[] = {"Config.json", "config.json"};
    ok(sw_path_check_tree(twins, 2) == SW_EINVALID && strstr(sw_error_last(), "case"), "Config.json beside config.json refused");
    char *nfd[] = {"caf\u00e9", "cafe\u0301"};
    ok(sw_path_check_tree(nfd, 2) == SW_EINVALID && strstr(sw_error_last(), "normalization"), "NFC and NFD twins refused");
    char *dirs[] = {"A/x", "a/x"};
    ok(sw_path_check_tree(dirs, 2) == SW_EINVALID, "A/x beside a/x refused");
    char *filedir[] = {"A", "a-b", "a.c", "a/b"};
    ok(sw_path_check_tree(filedir, 4) == SW_EINVALID && strstr(sw_error_last(), "file and a folder"),
       "a file A beside a folder a refused");
    char *exact[] = {"a", "a!", "a/b"};
    ok(sw_path_check_tree(exact, 3) == SW_EINVALID && strstr(sw_error_last(), "'a' would be both"),
       "a file beside its own folder, with a path sorting between them, refused");
    char *fine[] = {"a", "a!", "ab/c", "b/c/d", "b/c/e"};
    ok(sw_path_check_tree(fine, 5) == 0, "a tree of distinct paths passes");
}

int main(void)
{
    sw_manifest *m = sample();
    ok(sw_manifest_sort(m) == 0 && !strcmp(m->files[0].path, "config.json"), "files sort by path");
    char *json = sw_manifest_to_json(m);
    sw_manifest *back = NULL;
    ok(sw_manifest_parse(&back, json, strlen(json)) == 0, "canonical JSON parses");
    char *again = back ? sw_manifest_to_json(back) : sw_strdup("");
    ok(!strcmp(json, again), "round trip gives the same bytes");
    ok(back && back->files[0].mode == 0755 && back->files[2].mode == 0644, "modes survive");
    ok(back && !strcmp(back->message, m->message) && !strcmp(back->parent, "v1"), "strings survive");
    ok(back && sw_manifest_find(back, "weights/model.safetensors") && !sw_manifest_find(back, "nope"), "find by path");
    ok(sw_manifest_size(m) == 80000, "total size");

    /* Hostile or malformed variants. */
    ok(parse_with(json, "\"weights/model.safetensors\"", "\"../model.safetensors\"") == SW_EINVALID, "'..' path");
    ok(parse_with(json, "\"weights/model.safetensors\"", "\"/etc/passwd\"") == SW_EINVALID, "absolute path");
    ok(parse_with(json, "\"weights/model.safetensors\"", "\"weights//m\"") == SW_EINVALID, "empty component");
    ok(parse_with(json, "\"size\":60000", "\"size\":60001") == SW_EINVALID, "size differs from its chunks");
    ok(parse_with(json, "\"size\":60000", "\"size\":-1") == SW_EINVALID, "negative size");
    ok(parse_with(json, "[20000,20000,", "[20001,20000,") == SW_EINVALID, "chunks with a hole");
    ok(parse_with(json, "\"mode\":\"0755\"", "\"mode\":\"4755\"") == SW_EINVALID, "setuid mode");
    ok(parse_with(json, "\"schema\":1", "\"schema\":2") == SW_EINVALID, "newer schema");
    ok(parse_with(json, "\"name\":\"tiny-llama\"", "\"name\":\"a/b\"") == SW_EINVALID, "bad bundle name");
    ok(parse_with(json, "\"chunker\":\"fastcdc-1\"", "\"chunker\":\"rabin\"") == SW_EINVALID, "unknown chunker");
    ok(parse_with(json, "{\"schema\":1,", "{\"schema\":1,\"schema\":1,") == SW_EINVALID, "duplicate keys");
    ok(parse_with(json, "\"path\":\"empty\"", "\"path\":\"config.json\"") == SW_EINVALID, "duplicate path");
    ok(parse_with(json, "\"path\":\"empty\"", "\"path\":\"a\\u0000b\"") == SW_EINVALID, "NUL in a path");
    ok(parse_with(json, "\"files\":[", "\"files\":7,\"x\":[") == SW_EINVALID, "files not an array");
    ok(parse_with(json, "{", "[") == SW_EINVALID, "not JSON");
    ok(parse_with(json, "2026-11-26T10:00:00Z", "yesterday") == SW_EINVALID, "bad time");
    char hex[SW_HEX_LEN + 1];
    sw_hash_hex(hex, &m->files[0].hash);
    char *single = sw_sprintf("[0,20000,\"%s\"]", hex), *swapped = sw_sprintf("[0,20000,\"%064d\"]", 0);
    ok(parse_with(json, single, swapped) == SW_EINVALID, "single chunk whose hash is not the file's");
    free(single);
    free(swapped);

    /* Names and paths. */
    const char *good_names[] = {"tiny-llama", "a", "v1", "2024.01_b", "x.y"};
    const char *bad_names[] = {"", "..", "a..b", "-x", ".x", "a/b", "a b", "x.lock", "x.", "a@b", "é"};
    int all = 1;
    for (size_t i = 0; i < sizeof good_names / sizeof *good_names; i++)
        all &= sw_name_check("name", good_names[i]) == 0;
    ok(all, "good names pass");
    all = 1;
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++)
        all &= sw_name_check("name", bad_names[i]) == SW_EINVALID;
    ok(all, "bad names are refused");
    char longname[202];
    memset(longname, 'a', 201);
    longname[201] = 0;
    ok(sw_name_check("name", longname) == SW_EINVALID && strstr(sw_error_last(), "200"), "201 characters refused");
    char *n, *v;
    ok(sw_ref_parse(&n, &v, "model@v3", 0) == 0 && !strcmp(n, "model") && !strcmp(v, "v3"), "NAME@VERSION parses");
    free(n);
    free(v);
    ok(sw_ref_parse(&n, &v, "model", 0) == SW_EINVALID, "a bare name is not a version");
    ok(sw_ref_parse(&n, &v, "model@", 0) == SW_EINVALID, "empty version refused");
    const char *bad_paths[] = {"", "/a", "a/../b", "./a", "a/", "a\\b", "a\nb", "a/./b"};
    all = 1;
    for (size_t i = 0; i < sizeof bad_paths / sizeof *bad_paths; i++)
        all &= sw_path_check(bad_paths[i]) == SW_EINVALID;
    ok(all, "unsafe paths are refused");
    ok(sw_path_check("a/b c/.hidden/ü.bin") == 0, "ordinary paths pass");
    sw_test_git_paths();
    sw_test_tree_rules();

    sw_manifest_free(m);
    sw_manifest_free(back);
    free(json);
    free(again);
    return tap_done();
}
