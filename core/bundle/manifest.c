/* manifest.c — manifests to and from canonical JSON, with strict validation (see manifest.h). */
#include "bundle/manifest.h"
#include "base/error.h"
#include "bundle/names.h"
#include "base/util.h"

#include <git2.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

sw_manifest *sw_manifest_new(void) { return sw_calloc(1, sizeof(sw_manifest)); }

void sw_manifest_free(sw_manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nfiles; i++) {
        free(m->files[i].path);
        free(m->files[i].chunks);
    }
    free(m->files);
    free(m->name);
    free(m->version);
    free(m->parent);
    free(m->message);
    free(m->author);
    free(m->time);
    free(m->provenance);
    free(m);
}

void sw_manifest_add_file(sw_manifest *m, const char *path, uint64_t size, uint32_t mode, const sw_hash *hash,
                          const sw_chunk *chunks, size_t nchunks)
{
    sw_grow(&m->files, &m->cap, m->nfiles + 1, sizeof *m->files);
    sw_mfile *f = &m->files[m->nfiles++];
    f->path = sw_strdup(path);
    f->size = size;
    f->mode = mode;
    f->hash = *hash;
    f->nchunks = nchunks;
    f->chunks = sw_malloc(nchunks * sizeof *chunks);
    if (nchunks)
        memcpy(f->chunks, chunks, nchunks * sizeof *chunks);
}

static int sw_mfile_cmp(const void *a, const void *b)
{
    return strcmp(((const sw_mfile *)a)->path, ((const sw_mfile *)b)->path);
}

/* The files' paths must form a tree (names.h); files must be sorted. */
static int sw_manifest_check_tree(const sw_manifest *m)
{
    char **paths = sw_malloc(m->nfiles * sizeof *paths);
    for (size_t i = 0; i < m->nfiles; i++)
        paths[i] = m->files[i].path;
    int r = sw_path_check_tree(paths, m->nfiles);
    free(paths);
    return r;
}

int sw_manifest_sort(sw_manifest *m)
{
    if (m->nfiles > 1)
        qsort(m->files, m->nfiles, sizeof *m->files, sw_mfile_cmp);
    return sw_manifest_check_tree(m);
}

uint64_t sw_manifest_size(const sw_manifest *m)
{
    uint64_t t = 0;
    for (size_t i = 0; i < m->nfiles; i++)
        t += m->files[i].size;
    return t;
}

const sw_mfile *sw_manifest_find(const sw_manifest *m, const char *path)
{
    sw_mfile key = {.path = (char *)path};
    return m->nfiles ? bsearch(&key, m->files, m->nfiles, sizeof *m->files, sw_mfile_cmp) : NULL;
}

int sw_manifest_same_files(const sw_manifest *a, const sw_manifest *b)
{
    if (a->nfiles != b->nfiles)
        return 0;
    for (size_t i = 0; i < a->nfiles; i++)
        if (strcmp(a->files[i].path, b->files[i].path) || a->files[i].mode != b->files[i].mode ||
            !sw_hash_eq(&a->files[i].hash, &b->files[i].hash))
            return 0;
    return 1;
}

static json_t *sw_json_str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

char *sw_manifest_to_json(const sw_manifest *m)
{
    json_t *root = json_object();
    json_object_set_new(root, "schema", json_integer(SW_MANIFEST_SCHEMA));
    json_object_set_new(root, "name", json_string(m->name));
    json_object_set_new(root, "version", json_string(m->version));
    json_object_set_new(root, "parent", sw_json_str_or_null(m->parent));
    json_object_set_new(root, "time", json_string(m->time));
    json_object_set_new(root, "author", json_string(m->author ? m->author : ""));
    json_object_set_new(root, "message", json_string(m->message ? m->message : ""));
    json_object_set_new(root, "chunker", json_string(SW_CHUNKER_FORMAT));
    if (m->torrent_v1[0])
        json_object_set_new(root, "torrents", json_pack("{s:s}", "v1", m->torrent_v1));
    if (m->provenance)
        json_object_set_new(root, "provenance", json_loads(m->provenance, 0, NULL));
    json_t *files = json_array();
    for (size_t i = 0; i < m->nfiles; i++) {
        const sw_mfile *f = &m->files[i];
        char hex[SW_HEX_LEN + 1], mode[8];
        json_t *jf = json_object();
        json_object_set_new(jf, "path", json_string(f->path));
        json_object_set_new(jf, "size", json_integer((json_int_t)f->size));
        snprintf(mode, sizeof mode, "%04o", f->mode);
        json_object_set_new(jf, "mode", json_string(mode));
        sw_hash_hex(hex, &f->hash);
        json_object_set_new(jf, "sha256", json_string(hex));
        json_t *chunks = json_array();
        for (size_t k = 0; k < f->nchunks; k++) {
            sw_hash_hex(hex, &f->chunks[k].hash);
            json_array_append_new(chunks, json_pack("[I,I,s]", (json_int_t)f->chunks[k].offset,
                                                    (json_int_t)f->chunks[k].length, hex));
        }
        json_object_set_new(jf, "chunks", chunks);
        json_array_append_new(files, jf);
    }
    json_object_set_new(root, "files", files);
    char *s = sw_oom(json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER));
    json_decref(root);
    char *out = sw_sprintf("%s\n", s);
    free(s);
    return out;
}

/* Reads a required string member; NULL (with the error set) when absent or not a string. */
static const char *sw_json_str(json_t *o, const char *key, int nullable, int *err)
{
    json_t *v = json_object_get(o, key);
    if (nullable && (!v || json_is_null(v)))
        return NULL;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        *err = sw_error(SW_EINVALID, "manifest: '%s' is missing or not a string", key);
        return NULL;
    }
    return json_string_value(v);
}

static int sw_parse_chunks(sw_mfile *f, json_t *arr)
{
    if (!json_is_array(arr))
        return sw_error(SW_EINVALID, "manifest: %s: 'chunks' is not an array", f->path);
    f->nchunks = json_array_size(arr);
    f->chunks = sw_malloc(f->nchunks * sizeof *f->chunks);
    uint64_t at = 0;
    for (size_t k = 0; k < f->nchunks; k++) {
        json_int_t off, len;
        const char *hex;
        if (json_unpack(json_array_get(arr, k), "[IIs!]", &off, &len, &hex))
            return sw_error(SW_EINVALID, "manifest: %s: chunk %zu is not [offset, length, sha256]", f->path, k);
        if (off < 0 || (uint64_t)off != at || len <= 0 || len > SW_CHUNK_MAX)
            return sw_error(SW_EINVALID, "manifest: %s: chunks do not tile the file at chunk %zu", f->path, k);
        if (sw_hash_parse(&f->chunks[k].hash, hex))
            return sw_error_wrap(SW_EINVALID, "manifest: %s: chunk %zu", f->path, k);
        f->chunks[k].offset = (uint64_t)off;
        f->chunks[k].length = (uint32_t)len;
        at += (uint64_t)len;
    }
    if (at != f->size)
        return sw_error(SW_EINVALID, "manifest: %s: size %llu does not match its chunks (%llu bytes)", f->path,
                        (unsigned long long)f->size, (unsigned long long)at);
    if (f->nchunks == 1 && !sw_hash_eq(&f->chunks[0].hash, &f->hash))
        return sw_error(SW_EINVALID, "manifest: %s: sha256 does not match its only chunk", f->path);
    return 0;
}

static int sw_parse_file(sw_manifest *m, json_t *jf, size_t i)
{
    if (!json_is_object(jf))
        return sw_error(SW_EINVALID, "manifest: file %zu is not an object", i);
    int err = 0;
    const char *path = sw_json_str(jf, "path", 0, &err);
    const char *mode = path ? sw_json_str(jf, "mode", 0, &err) : NULL;
    const char *hex = mode ? sw_json_str(jf, "sha256", 0, &err) : NULL;
    if (err)
        return sw_error_wrap(err, "file %zu", i);
    if (sw_path_check(path))
        return sw_error_wrap(SW_EINVALID, "manifest");
    json_t *size = json_object_get(jf, "size");
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return sw_error(SW_EINVALID, "manifest: %s: 'size' is not a non-negative integer", path);
    if (strcmp(mode, "0644") && strcmp(mode, "0755"))
        return sw_error(SW_EINVALID, "manifest: %s: mode '%s' is not 0644 or 0755", path, mode);
    sw_grow(&m->files, &m->cap, m->nfiles + 1, sizeof *m->files);
    sw_mfile *f = &m->files[m->nfiles++];
    memset(f, 0, sizeof *f);
    f->path = sw_strdup(path);
    f->size = (uint64_t)json_integer_value(size);
    f->mode = strcmp(mode, "0755") ? 0644 : 0755;
    if (sw_hash_parse(&f->hash, hex))
        return sw_error_wrap(SW_EINVALID, "manifest: %s", path);
    return sw_parse_chunks(f, json_object_get(jf, "chunks"));
}

/* An optional object of strings and arrays of strings, kept in its canonical text. */
static int sw_parse_provenance(sw_manifest *m, json_t *prov)
{
    const char *k;
    json_t *v;
    if (!prov)
        return 0;
    if (!json_is_object(prov))
        return sw_error(SW_EINVALID, "manifest: 'provenance' is not an object");
    json_object_foreach(prov, k, v) {
        int ok = json_is_string(v) || json_is_array(v);
        for (size_t i = 0; ok && json_is_array(v) && i < json_array_size(v); i++)
            ok = json_is_string(json_array_get(v, i));
        if (!ok)
            return sw_error(SW_EINVALID, "manifest: provenance '%.40s' is not a string or a list of strings", k);
    }
    m->provenance = sw_oom(json_dumps(prov, JSON_COMPACT | JSON_SORT_KEYS));
    return 0;
}

static int sw_manifest_from_json(sw_manifest *m, json_t *root)
{
    if (!json_is_object(root))
        return sw_error(SW_EINVALID, "manifest: not a JSON object");
    json_t *schema = json_object_get(root, "schema");
    if (!json_is_integer(schema) || json_integer_value(schema) != SW_MANIFEST_SCHEMA)
        return sw_error(SW_EINVALID, "manifest: schema is not %d (made by a newer swarm?)", SW_MANIFEST_SCHEMA);
    int err = 0;
    const char *name = sw_json_str(root, "name", 0, &err);
    const char *version = sw_json_str(root, "version", 0, &err);
    const char *parent = sw_json_str(root, "parent", 1, &err);
    const char *time = sw_json_str(root, "time", 0, &err);
    const char *author = sw_json_str(root, "author", 0, &err);
    const char *message = sw_json_str(root, "message", 0, &err);
    const char *chunker = sw_json_str(root, "chunker", 0, &err);
    if (err)
        return err;
    if (sw_name_check("manifest: name", name) || sw_name_check("manifest: version", version) ||
        (parent && sw_name_check("manifest: parent", parent)))
        return SW_EINVALID;
    struct tm tm = {0};
    const char *end = strptime(time, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end)
        return sw_error(SW_EINVALID, "manifest: time '%.40s' is not YYYY-MM-DDTHH:MM:SSZ", time);
    if (strcmp(chunker, SW_CHUNKER_FORMAT))
        return sw_error(SW_EINVALID, "manifest: unknown chunker '%s'", chunker);
    json_t *torrents = json_object_get(root, "torrents");
    if (torrents) {
        const char *v1 = NULL;
        if (json_unpack(torrents, "{s:s}", "v1", &v1) || strlen(v1) != 40 || strspn(v1, "0123456789abcdef") != 40)
            return sw_error(SW_EINVALID, "manifest: 'torrents' is not {\"v1\": 40 lower-case hex digits}");
        memcpy(m->torrent_v1, v1, 41);
    }
    if (sw_parse_provenance(m, json_object_get(root, "provenance")))
        return SW_EINVALID;
    m->name = sw_strdup(name);
    m->version = sw_strdup(version);
    m->parent = sw_strdup(parent);
    m->time = sw_strdup(time);
    m->author = sw_strdup(author);
    m->message = sw_strdup(message);
    json_t *files = json_object_get(root, "files");
    if (!json_is_array(files))
        return sw_error(SW_EINVALID, "manifest: 'files' is not an array");
    for (size_t i = 0; i < json_array_size(files); i++)
        if (sw_parse_file(m, json_array_get(files, i), i))
            return SW_EINVALID;
    for (size_t i = 1; i < m->nfiles; i++)
        if (strcmp(m->files[i - 1].path, m->files[i].path) > 0)
            return sw_error(SW_EINVALID, "manifest: files are not sorted by path at '%s'", m->files[i].path);
    return sw_manifest_check_tree(m) ? sw_error_wrap(SW_EINVALID, "manifest") : 0;
}

int sw_manifest_parse(sw_manifest **out, const char *json, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return sw_error(SW_EINVALID, "manifest: bad JSON at line %d: %s", jerr.line, jerr.text);
    sw_manifest *m = sw_manifest_new();
    int r = sw_manifest_from_json(m, root);
    json_decref(root);
    if (r) {
        sw_manifest_free(m);
        return r;
    }
    *out = m;
    return 0;
}

/* The version's time: $SOURCE_DATE_EPOCH when set (reproducible builds), else now. */
static char *sw_manifest_time(void)
{
    const char *e = getenv("SOURCE_DATE_EPOCH");
    time_t t = e && *e ? (time_t)strtoll(e, NULL, 10) : time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return sw_strdup(buf);
}

/* git's user.name and user.email from the user's git configuration (global, XDG, system), as
 * "NAME <EMAIL>", or NULL when there is no user.name. */
static char *sw_git_config_author(void)
{
    git_config *cfg = NULL;
    git_buf name = {0}, email = {0};
    char *out = NULL;
    git_libgit2_init();
    if (git_config_open_default(&cfg) == 0 && git_config_get_string_buf(&name, cfg, "user.name") == 0 &&
        name.ptr[0]) {
        int have_email = git_config_get_string_buf(&email, cfg, "user.email") == 0;
        out = sw_sprintf("%s <%s>", name.ptr, have_email ? email.ptr : "");
    }
    git_buf_dispose(&name);
    git_buf_dispose(&email);
    git_config_free(cfg);
    git_libgit2_shutdown();
    return out;
}

/* $SWARM_AUTHOR, else $GIT_AUTHOR_NAME <$GIT_AUTHOR_EMAIL>, else git's user.name <user.email>, else the
 * login name. */
static char *sw_manifest_author(void)
{
    const char *a = getenv("SWARM_AUTHOR");
    if (a && *a)
        return sw_strdup(a);
    const char *n = getenv("GIT_AUTHOR_NAME"), *e = getenv("GIT_AUTHOR_EMAIL");
    if (n && *n)
        return sw_sprintf("%s <%s>", n, e ? e : "");
    char *git = sw_git_config_author();
    if (git)
        return git;
    const char *u = getenv("USER");
    return sw_sprintf("%s <%s@localhost>", u && *u ? u : "swarm", u && *u ? u : "swarm");
}

void sw_manifest_stamp(sw_manifest *m)
{
    free(m->time);
    free(m->author);
    m->time = sw_manifest_time();
    m->author = sw_manifest_author();
}
