/* runner.c — the pipeline runner (see runner.h).
 *
 * The main thread walks the graph in waves: every stage whose inputs are ready is prepared (its key is
 * built and looked up; a hit completes it at once), the work of the stages that missed is run on the
 * pool, then each is finished on the main thread (its outputs recorded under its key). Only the main
 * thread touches the index and the catalog; work items touch files only (sw_store_commit). Blobs (the
 * files holding tensor bytes) are store objects, or input files known by their hash. */
#include "pipeline/runner.h"
#include "net/bundle_torrent.h"
#include "pipeline/compress.h"
#include "base/error.h"
#include "bundle/filelist.h"
#include "bundle/manifest.h"
#include "base/pool.h"
#include "pipeline/records.h"
#include "pipeline/tstats.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SW_KEY_SCHEMA "swarm-stage-key/1"

/* A file of a files value: its path inside the value, hash, size, and where its bytes are on disk. */
typedef struct {
    char *rel, *disk;
    sw_hash hash;
    uint64_t size;
    int known; /* hash known (from the stat cache or a manifest) */
    sw_filestat fs;
} sw_rfile;

typedef struct sw_run sw_run;

/* A read-only mapping of a whole file. */
typedef struct {
    const uint8_t *p;
    size_t len;
} sw_map;

/* One unit of work for the pool, with its own result slot. */
typedef struct {
    sw_run *run;
    size_t stage, index;
    int err;
    char msg[1024];
    sw_tref out; /* op over tensors: the output tensor */
    /* op over records: the segment of the input it runs over (whole batches) and the framed output it
     * wrote, in a temp file of the store */
    const uint8_t *seg, *seg_end;
    char *tmp;
    sw_hash hash;
    int finished; /* set by the worker when the item is done, read by the progress line */
} sw_item;

/* The runner's state for one stage. */
typedef struct {
    int done, pending; /* pending: a dry run could not know its inputs */
    char *id;          /* the value id it yields */
    sw_rfile *files;   /* files values */
    size_t nfiles;
    sw_tensors tensors; /* tensors values, once loaded */
    int loaded;
    sw_hash key;
    char *parts; /* the key's parts as JSON, for --explain */
    sw_item *items;
    size_t nitems;
    sw_tensors made; /* read and op stages: the collection being made */
    sw_map in; /* op over records: the input, mapped while the stage runs */
    sw_framing framing;
    int no_cache; /* the op is not deterministic, or an item fell back to a variant with another numerics
                     tag: the result is not recorded under the key */
    double t0;
} sw_srun;

struct sw_run {
    const sw_graph *g;
    sw_store *st;
    sw_catalog *cat;
    const sw_run_opts *o;
    sw_srun *s;
    sw_run_report *rep;
};

void sw_run_report_free(sw_run_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->stages[i].reason);
        free(r->stages[i].output);
    }
    free(r->stages);
    memset(r, 0, sizeof *r);
}

/* ---- Small helpers ---------------------------------------------------------------------------------- */

static void sw_item_fail(sw_item *it, int code)
{
    it->err = code ? code : SW_ERROR;
    snprintf(it->msg, sizeof it->msg, "%s", sw_error_last());
}

static char *sw_hex(const sw_hash *h)
{
    char *s = sw_malloc(SW_HEX_LEN + 1);
    sw_hash_hex(s, h);
    return s;
}

static void sw_filestat_of(sw_filestat *fs, const struct stat *st)
{
    fs->dev = (uint64_t)st->st_dev;
    fs->ino = (uint64_t)st->st_ino;
    fs->size = (uint64_t)st->st_size;
    fs->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    fs->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

/* Writes buf as a store object (from the main thread or a worker). */
static int sw_put_buf(sw_hash *h, const sw_store *st, const void *buf, size_t len)
{
    char *tmp;
    int fd, added;
    if (sw_store_tmpfile(&tmp, &fd, st))
        return SW_ERROR;
    sw_sha256_buf(h, buf, len);
    int r = sw_write_all(fd, buf, len) < 0 ? sw_error_errno(SW_ERROR, "cannot write to the store") : 0;
    if (!r)
        r = sw_store_commit(st, fd, tmp, h, &added);
    close(fd);
    if (r)
        unlink(tmp);
    free(tmp);
    return r;
}

/* Reads a whole store object (small ones: collections). */
static int sw_read_object(char **out, size_t *len, const sw_store *st, const sw_hash *h)
{
    char *path = sw_store_object_path(st, h);
    int r = sw_read_file(out, len, path, (size_t)256 << 20);
    free(path);
    return r;
}

/* Where a blob's bytes are: a store object, or an input file of this run. Caller frees. */
static char *sw_blob_path(const sw_run *run, const sw_hash *h)
{
    if (sw_store_stat(run->st, h, NULL) == 0)
        return sw_store_object_path(run->st, h);
    for (size_t i = 0; i < run->g->n; i++) {
        const sw_srun *s = &run->s[i];
        if (run->g->v[i].kind != SW_STAGE_INPUT || !s->done)
            continue;
        for (size_t k = 0; k < s->nfiles; k++)
            if (s->files[k].known && sw_hash_eq(&s->files[k].hash, h))
                return sw_strdup(s->files[k].disk);
    }
    return NULL;
}


static int sw_map_open(sw_map *m, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    m->p = NULL;
    m->len = 0;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int r = sw_error_errno(SW_ERROR, "cannot open %s", path);
        if (fd >= 0)
            close(fd);
        return r;
    }
    m->len = (size_t)st.st_size;
    if (m->len) {
        void *p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return sw_error_errno(SW_ERROR, "cannot map %s", path);
        }
        madvise(p, m->len, MADV_SEQUENTIAL);
        m->p = p;
    }
    close(fd);
    return 0;
}

static void sw_map_close(sw_map *m)
{
    if (m->p)
        munmap((void *)m->p, m->len);
    m->p = NULL;
}

/* Maps the blob holding a tensor and checks the tensor lies inside it. */
static int sw_map_blob(sw_map *m, const sw_run *run, const sw_tref *t)
{
    char *path = sw_blob_path(run, &t->blob);
    if (!path) {
        char hex[SW_HEX_LEN + 1];
        sw_hash_hex(hex, &t->blob);
        return sw_error(SW_ENOTFOUND, "the bytes of tensor '%s' (in %.16s...) are neither in the store nor an "
                        "input of this run", t->name, hex);
    }
    int r = sw_map_open(m, path);
    free(path);
    if (!r && (t->offset > m->len || t->nbytes > m->len - t->offset)) {
        sw_map_close(m);
        r = sw_error(SW_EINVALID, "tensor '%s' lies outside its blob", t->name);
    }
    return r;
}

/* ---- Output buffers on files in the store's tmp/ ---------------------------------------------------- */

/* An op's tensor outputs are written straight into mapped temp files, which become objects without
 * being copied. Records outputs live on the heap. */
typedef struct {
    const sw_store *st;
    struct sw_tbuf {
        void *p;
        size_t size;
        int fd;
        char *tmp;
    } bufs[8];
    size_t n;
} sw_tmpalloc;

static void *sw_tmp_alloc(void *ctx, size_t size)
{
    sw_tmpalloc *a = ctx;
    if (a->n == sizeof a->bufs / sizeof *a->bufs)
        return NULL;
    struct sw_tbuf *b = &a->bufs[a->n];
    if (sw_store_tmpfile(&b->tmp, &b->fd, a->st))
        return NULL;
    void *p = MAP_FAILED;
    if (ftruncate(b->fd, (off_t)size) == 0)
        p = mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
    if (p == MAP_FAILED) {
        close(b->fd);
        unlink(b->tmp);
        free(b->tmp);
        return NULL;
    }
    b->p = p;
    b->size = size;
    a->n++;
    return p;
}

static void sw_tmp_free(void *ctx, void *ptr, size_t size)
{
    sw_tmpalloc *a = ctx;
    (void)size;
    for (size_t i = 0; i < a->n; i++) {
        struct sw_tbuf *b = &a->bufs[i];
        if (b->p != ptr)
            continue;
        munmap(b->p, b->size ? b->size : 1);
        close(b->fd);
        if (b->tmp)
            unlink(b->tmp);
        free(b->tmp);
        *b = a->bufs[--a->n];
        return;
    }
}

/* Makes the buffer at ptr a store object: hash, unmap, commit. */
static int sw_tmp_commit(sw_tmpalloc *a, void *ptr, sw_hash *h)
{
    for (size_t i = 0; i < a->n; i++) {
        struct sw_tbuf *b = &a->bufs[i];
        if (b->p != ptr)
            continue;
        int added;
        sw_sha256_buf(h, b->p, b->size);
        munmap(b->p, b->size ? b->size : 1);
        int r = sw_store_commit(a->st, b->fd, b->tmp, h, &added);
        close(b->fd);
        if (r)
            unlink(b->tmp);
        free(b->tmp);
        *b = a->bufs[--a->n];
        return r;
    }
    return sw_error(SW_ERROR, "an output buffer was lost");
}

/* ---- Keys and explanations -------------------------------------------------------------------------- */

/* The key's parts as a JSON object; the key is the SHA-256 of the text of PIPELINES.md's spec, built
 * from the same parts. */
static json_t *sw_parts_new(const char *kind, const char *plugin, const char *what, const char *name,
                            uint32_t version)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I}", "schema", SW_KEY_SCHEMA, "kind", kind, "plugin", plugin, what,
                     name, "version", (json_int_t)version);
}

static void sw_key_of(sw_hash *key, json_t *parts)
{
    /* The spec's text: one "NAME VALUE" line per part, in this fixed order. */
    sw_sha256 *c = sw_sha256_new();
    static const char *const order[] = {"schema", "kind", "plugin", "op", "format", "version", "numerics", "batch", NULL};
    for (size_t i = 0; order[i]; i++) {
        json_t *v = json_object_get(parts, order[i]);
        if (!v)
            continue;
        char *line = json_is_string(v) ? sw_sprintf("%s %s\n", order[i], json_string_value(v))
                                       : sw_sprintf("%s %lld\n", order[i], (long long)json_integer_value(v));
        sw_sha256_update(c, line, strlen(line));
        free(line);
    }
    json_t *params = json_object_get(parts, "params"), *inputs = json_object_get(parts, "inputs");
    for (size_t i = 0; params && i < json_array_size(params); i++) {
        json_t *p = json_array_get(params, i);
        const char *v = json_string_value(json_array_get(p, 2));
        char *line = sw_sprintf("param %s %s %zu:%s\n", json_string_value(json_array_get(p, 0)),
                                json_string_value(json_array_get(p, 1)), strlen(v), v);
        sw_sha256_update(c, line, strlen(line));
        free(line);
    }
    for (size_t i = 0; inputs && i < json_array_size(inputs); i++) {
        json_t *p = json_array_get(inputs, i);
        char *line = sw_sprintf("input %s %s\n", json_string_value(json_array_get(p, 0)),
                                json_string_value(json_array_get(p, 1)));
        sw_sha256_update(c, line, strlen(line));
        free(line);
    }
    sw_sha256_final(c, key);
    sw_sha256_free(c);
}

/* Says which part of a stage's key differs from its last run's: "param dtype: bf16 -> f16". */
static char *sw_explain(const char *old_text, json_t *now)
{
    json_t *old = old_text ? json_loads(old_text, 0, NULL) : NULL;
    if (!old)
        return sw_strdup("first run of this stage");
    char *why = NULL;
    static const char *const order[] = {"kind", "plugin", "op", "format", "version", "numerics", "batch", NULL};
    for (size_t i = 0; order[i] && !why; i++) {
        json_t *a = json_object_get(old, order[i]), *b = json_object_get(now, order[i]);
        if ((a || b) && !json_equal(a, b)) {
            char *x = a ? json_dumps(a, JSON_ENCODE_ANY) : sw_strdup("none");
            char *y = b ? json_dumps(b, JSON_ENCODE_ANY) : sw_strdup("none");
            why = sw_sprintf("%s changed: %s -> %s", !strcmp(order[i], "version") ? "op version" : order[i], x, y);
            free(x);
            free(y);
        }
    }
    json_t *pa = json_object_get(old, "params"), *pb = json_object_get(now, "params");
    for (size_t i = 0; !why && i < json_array_size(pb); i++) {
        json_t *b = json_array_get(pb, i), *a = NULL;
        for (size_t k = 0; k < json_array_size(pa); k++)
            if (json_equal(json_array_get(json_array_get(pa, k), 0), json_array_get(b, 0)))
                a = json_array_get(pa, k);
        if (!a || !json_equal(a, b))
            why = sw_sprintf("param %s changed: %s -> %s", json_string_value(json_array_get(b, 0)),
                             a ? json_string_value(json_array_get(a, 2)) : "(none)",
                             json_string_value(json_array_get(b, 2)));
    }
    json_t *ia = json_object_get(old, "inputs"), *ib = json_object_get(now, "inputs");
    for (size_t i = 0; !why && i < json_array_size(ib); i++)
        if (!json_array_get(ia, i) || !json_equal(json_array_get(ia, i), json_array_get(ib, i)))
            why = sw_sprintf("input %s changed", json_string_value(json_array_get(json_array_get(ib, i), 0)));
    if (!why && (pa || pb) && !json_equal(pa, pb))
        why = sw_strdup("params changed");
    if (!why && json_array_size(ia) != json_array_size(ib))
        why = sw_strdup("inputs changed");
    json_decref(old);
    return why ? why : sw_strdup("no cached result (the key is unchanged: its output was removed)");
}

/* Adds the inputs to parts, builds the key, and looks it up: 1 on a hit (s->id set), 0 on a miss
 * (the report says why), negative on an error. */
static int sw_lookup(sw_run *run, size_t i, json_t *parts)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    sw_stage_report *r = &run->rep->stages[i];
    json_t *inputs = json_array();
    for (size_t k = 0; k < sg->ninputs; k++) {
        const char *port = sg->kind == SW_STAGE_OP ? sw_stage_op(sg)->inputs[k].name : "in";
        json_array_append_new(inputs, json_pack("[s,s]", port, run->s[sg->inputs[k]].id));
    }
    json_object_set_new(parts, "inputs", inputs);
    sw_key_of(&s->key, parts);
    s->parts = sw_oom(json_dumps(parts, JSON_COMPACT | JSON_PRESERVE_ORDER));
    int forced = run->o->force && !strcmp(run->o->force, sg->name);
    int nondet = sg->kind == SW_STAGE_OP && !(sw_stage_op(sg)->flags & SWARM_OP_DETERMINISTIC);
    char *out = NULL;
    if (nondet) {
        s->no_cache = 1;
        r->reason = sw_strdup("the op is not deterministic: its results are never cached");
        return 0;
    }
    int rc = forced ? SW_ENOTFOUND : sw_index_stage_get(&out, sw_store_index(run->st), &s->key);
    if (rc == 0) {
        /* A hit counts only while the collection or file it names is still in the store. */
        sw_hash h;
        const char *hex = strrchr(out, ':');
        if (hex && !sw_hash_parse(&h, hex + 1) && sw_store_stat(run->st, &h, NULL) == 0) {
            s->id = out;
            return 1;
        }
        free(out);
    } else if (rc != SW_ENOTFOUND) {
        return rc;
    }
    char *old = NULL;
    if (forced) {
        r->reason = sw_strdup("forced (--force)");
    } else {
        int g = sw_index_run_get(&old, sw_store_index(run->st), run->g->real, sg->name);
        if (g && g != SW_ENOTFOUND)
            return g;
        r->reason = sw_explain(old, parts);
    }
    free(old);
    return 0;
}

/* ---- Input stages ------------------------------------------------------------------------------------ */

static void sw_rfiles_push(sw_srun *s, const char *rel, const char *disk, size_t *cap)
{
    sw_grow(&s->files, cap, s->nfiles + 1, sizeof *s->files);
    sw_rfile *f = &s->files[s->nfiles++];
    memset(f, 0, sizeof *f);
    f->rel = sw_strdup(rel);
    f->disk = sw_strdup(disk);
}

static int sw_local_files(sw_run *run, sw_srun *s, const char *path, const char *what);

/* Lists an input's files and takes the hashes it can without reading (stat cache, manifest). Returns 1
 * when some file must be hashed. */
static int sw_input_prepare(sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    size_t cap = 0;
    if (sg->bundle) {
        sw_manifest *m;
        if (sw_catalog_read(&m, run->cat, sg->bundle, sg->version))
            return SW_ERROR;
        int r = 0;
        for (size_t k = 0; k < m->nfiles && !r; k++) {
            const sw_mfile *f = &m->files[k];
            if (sg->subpath && strcmp(f->path, sg->subpath))
                continue;
            /* One file taken out of a version is named by its base name, as a single input file is. */
            const char *slash = sg->subpath ? strrchr(f->path, '/') : NULL;
            char *disk = sw_store_object_path(run->st, &f->hash);
            sw_rfiles_push(s, slash ? slash + 1 : f->path, disk, &cap);
            free(disk);
            sw_rfile *rf = &s->files[s->nfiles - 1];
            rf->hash = f->hash;
            rf->size = f->size;
            rf->known = 1;
            if (sw_store_stat(run->st, &f->hash, NULL))
                r = sw_error(SW_ENOTFOUND, "input %s@%s: %s is not held here: fetch it first with swarm get %s@%s",
                             sg->bundle, sg->version, f->path, sg->bundle, sg->version);
        }
        sw_manifest_free(m);
        return r;
    }
    return sw_local_files(run, s, sg->path, "input");
}

/* Fails unless every file listed in s, resolved, lies beneath the directory dir: a symbolic link in a
 * folder must not lead a pipeline out of it (PIPELINES.md, the sandbox). */
static int sw_files_beneath(const sw_srun *s, const char *dir, const char *what)
{
    char *root;
    if (sw_path_resolve(&root, dir))
        return sw_error_wrap(SW_EINVALID, "%s %s", what, dir);
    int r = 0;
    for (size_t k = 0; k < s->nfiles && !r; k++)
        if (!sw_path_beneath(root, s->files[k].disk))
            r = sw_error(SW_EINVALID, "%s %s: %s leads out of the folder through a symbolic link", what, dir,
                         s->files[k].rel);
    free(root);
    return r;
}

/* Lists the files of a local path (a file, or a directory's files as swarm add takes them) into s, with
 * the hashes the stat cache knows; a directory's files must resolve beneath it. Returns 1 when some file
 * must be hashed. */
static int sw_local_files(sw_run *run, sw_srun *s, const char *path, const char *what)
{
    struct stat st;
    sw_filelist l = {0};
    size_t cap = 0;
    const char *base = strrchr(path, '/');
    int dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    if (sw_filelist_collect(&l, path, dir ? "" : base ? base + 1 : path, 0)) {
        sw_filelist_free(&l);
        return sw_error_wrap(SW_EINVALID, "%s %s", what, path);
    }
    for (size_t k = 0; k < l.n; k++)
        sw_rfiles_push(s, l.v[k].dst, l.v[k].src, &cap);
    sw_filelist_free(&l);
    int need = 0;
    for (size_t k = 0; k < s->nfiles; k++) {
        sw_rfile *f = &s->files[k];
        char *real = realpath(f->disk, NULL);
        if (!real || stat(real, &st) < 0) {
            free(real);
            return sw_error_errno(SW_ERROR, "cannot read %s", f->disk);
        }
        free(f->disk);
        f->disk = real;
        sw_filestat_of(&f->fs, &st);
        f->size = (uint64_t)st.st_size;
        int r = sw_index_file_get(&f->hash, sw_store_index(run->st), f->disk, &f->fs);
        if (r && r != SW_ENOTFOUND)
            return r;
        f->known = r == 0;
        need |= !f->known;
    }
    if (dir && sw_files_beneath(s, path, what))
        return SW_EINVALID;
    return need;
}

static void sw_input_hash_task(void *arg)
{
    sw_item *it = arg;
    sw_rfile *f = &it->run->s[it->stage].files[it->index];
    uint64_t size;
    int r = sw_sha256_file(&f->hash, &size, f->disk);
    if (r)
        sw_item_fail(it, r);
    else if (size != f->size)
        sw_item_fail(it, sw_error(SW_ECONFLICT, "%s changed while it was read", f->disk));
}

/* The id of a files value: file:HEX for one file, files:HEX of the listing for several. */
static char *sw_files_id(const sw_srun *s)
{
    char hex[SW_HEX_LEN + 1];
    if (s->nfiles == 1) {
        sw_hash_hex(hex, &s->files[0].hash);
        return sw_sprintf("file:%s", hex);
    }
    sw_sha256 *c = sw_sha256_new();
    for (size_t k = 0; k < s->nfiles; k++) {
        sw_hash_hex(hex, &s->files[k].hash);
        char *line = sw_sprintf("%s\t%s\n", s->files[k].rel, hex);
        sw_sha256_update(c, line, strlen(line));
        free(line);
    }
    sw_hash h;
    sw_sha256_final(c, &h);
    sw_sha256_free(c);
    sw_hash_hex(hex, &h);
    return sw_sprintf("files:%s", hex);
}

/* The content id of a path param's file or directory (file:HEX or files:HEX, as an input's), hashing
 * what the stat cache does not know. */
static int sw_path_id(char **out, sw_run *run, const char *name, const char *path)
{
    sw_srun tmp = {0};
    char *what = sw_sprintf("param %s", name);
    int r = sw_local_files(run, &tmp, path, what);
    free(what);
    for (size_t k = 0; r > 0 && k < tmp.nfiles; k++) {
        sw_rfile *f = &tmp.files[k];
        uint64_t size;
        if (f->known)
            continue;
        if ((r = sw_sha256_file(&f->hash, &size, f->disk)) ||
            (r = sw_index_file_put(sw_store_index(run->st), f->disk, &f->fs, &f->hash)))
            break;
        r = 1;
    }
    if (r >= 0)
        *out = sw_files_id(&tmp);
    for (size_t k = 0; k < tmp.nfiles; k++) {
        free(tmp.files[k].rel);
        free(tmp.files[k].disk);
    }
    free(tmp.files);
    return r < 0 ? r : 0;
}

/* ---- Loading values ------------------------------------------------------------------------------------ */

/* Parses "KIND:...:HEX" ids: the hash at the end, and for records the framing. */
static int sw_id_hash(sw_hash *h, const char *id)
{
    const char *hex = strrchr(id, ':');
    return hex ? sw_hash_parse(h, hex + 1) : sw_error(SW_EINVALID, "bad value id '%s'", id);
}

/* Loads stage i's tensor collection from the store (once). */
static int sw_load_tensors(sw_run *run, size_t i)
{
    sw_srun *s = &run->s[i];
    if (s->loaded)
        return 0;
    sw_hash h;
    char *json;
    size_t len;
    if (sw_id_hash(&h, s->id) || sw_read_object(&json, &len, run->st, &h))
        return SW_ERROR;
    int r = sw_tensors_parse(&s->tensors, json, len);
    free(json);
    s->loaded = r == 0;
    return r;
}

/* Commits stage i's collection (s->made) as an object, records the key, and sets the id. */
static int sw_commit_tensors(sw_run *run, size_t i)
{
    sw_srun *s = &run->s[i];
    char *json = sw_tensors_to_json(&s->made);
    sw_hash h;
    int r = sw_put_buf(&h, run->st, json, strlen(json));
    free(json);
    if (r)
        return r;
    char *hex = sw_hex(&h);
    s->id = sw_sprintf("tensors:%s", hex);
    free(hex);
    /* Pin the collection and every store object it holds (input files are not the store's). */
    sw_hash *objs = sw_malloc((s->made.n + 1) * sizeof *objs);
    size_t n = 0;
    objs[n++] = h;
    for (size_t k = 0; k < s->made.n; k++)
        if (sw_store_stat(run->st, &s->made.t[k].blob, NULL) == 0)
            objs[n++] = s->made.t[k].blob;
    r = s->no_cache ? 0 : sw_index_stage_put(sw_store_index(run->st), &s->key, s->id, objs, n);
    free(objs);
    s->tensors = s->made;
    memset(&s->made, 0, sizeof s->made);
    s->loaded = 1;
    return r;
}

/* ---- Read stages --------------------------------------------------------------------------------------- */

static void sw_read_task(void *arg)
{
    sw_item *it = arg;
    sw_run *run = it->run;
    const sw_stage *sg = &run->g->v[it->stage];
    sw_srun *s = &run->s[it->stage];
    const sw_srun *in = &run->s[sg->inputs[0]];
    for (size_t k = 0; k < in->nfiles; k++) {
        const sw_rfile *f = &in->files[k];
        sw_map m;
        sw_tindex ix;
        int r = sw_map_open(&m, f->disk);
        if (!r)
            r = sw_format_read(&ix, sg->plugin, sg->format, m.p, m.len, run->o->verbosity);
        sw_map_close(&m);
        if (r) {
            sw_error_wrap(r, "%s", f->rel);
            return sw_item_fail(it, r);
        }
        for (size_t t = 0; t < ix.ntensors; t++) {
            const swarm_tensor_entry *e = &ix.tensors[t];
            sw_tref *tr = sw_tensors_add(&s->made, e->name);
            tr->dtype = e->dtype;
            tr->ndim = e->ndim;
            memcpy(tr->shape, e->shape, sizeof tr->shape);
            tr->blob = f->hash;
            tr->offset = e->offset;
            tr->nbytes = e->nbytes;
        }
        /* Metadata: the same key in two shards must carry the same value. */
        for (size_t t = 0; t < ix.nmeta && !it->err; t++) {
            size_t j = 0;
            while (j < s->made.nmeta && strcmp(s->made.meta[j].key, ix.meta[t].key))
                j++;
            if (j == s->made.nmeta)
                sw_tensors_add_meta(&s->made, ix.meta[t].key, ix.meta[t].value);
            else if (strcmp(s->made.meta[j].value, ix.meta[t].value))
                sw_item_fail(it, sw_error(SW_EINVALID, "metadata '%s' differs between the input's files",
                                          ix.meta[t].key));
        }
        sw_tindex_free(&ix);
        if (it->err)
            return;
    }
    const char *dup = sw_first_dup(s->made.t, s->made.n, sizeof *s->made.t);
    if (dup)
        sw_item_fail(it, sw_error(SW_EINVALID, "tensor '%s' is in two of the input's files", dup));
}

/* A records format's read of one file: its bytes come decompressed, its records go framed into a temp
 * file of the store. */
typedef struct {
    sw_unpack *u;
    sw_fwriter *w;
} sw_rread;

static int64_t sw_rread_pull(void *ctx, void *buf, size_t cap)
{
    return sw_unpack_read(((sw_rread *)ctx)->u, buf, cap);
}

static int sw_rread_put(void *ctx, const void *data, size_t len)
{
    return sw_fwriter_record(((sw_rread *)ctx)->w, SW_FRAME_FRAMED, data, len);
}

/* Reads input file it->index through the stage's records format; the stage's finish joins the files'
 * records in path order. */
static void sw_rread_task(void *arg)
{
    sw_item *it = arg;
    sw_run *run = it->run;
    const sw_stage *sg = &run->g->v[it->stage];
    const sw_rfile *f = &run->s[sg->inputs[0]].files[it->index];
    int fd = -1, r;
    sw_map m = {0};
    sw_fwriter w;
    sw_rread ctx = {NULL, &w};
    if ((r = sw_store_tmpfile(&it->tmp, &fd, run->st)))
        return sw_item_fail(it, r);
    sw_fwriter_init(&w, fd);
    r = sw_map_open(&m, f->disk);
    if (!r)
        r = sw_unpack_open(&ctx.u, m.p, m.len, f->rel);
    if (!r) {
        sw_rio io = {.pull = sw_rread_pull, .put_record = sw_rread_put, .ctx = &ctx};
        r = sw_rformat_read(sg->plugin, sg->rformat, sg->params, &io, run->o->verbosity);
    }
    sw_unpack_free(ctx.u);
    sw_map_close(&m);
    r = r ? (sw_fwriter_abort(&w), r) : sw_fwriter_finish(&w, &it->hash);
    close(fd);
    if (r)
        sw_item_fail(it, sw_error_wrap(r, "%s", f->rel));
}

/* ---- Op stages ----------------------------------------------------------------------------------------- */

/* After a successful call by variant used: when it is not of the best variant's numerics (a fallback to
 * another tag), the stage's result must not be cached under the key, which names the best one's. */
static void sw_note_numerics(sw_run *run, size_t stage, const size_t *order, size_t used, int r)
{
    const swarm_op *op = sw_stage_op(&run->g->v[stage]);
    if (!r && strcmp(op->variants[used]->numerics, op->variants[order[0]]->numerics))
        __atomic_store_n(&run->s[stage].no_cache, 1, __ATOMIC_RELAXED);
}

/* Calls the op on one tensor (zipped across the inputs), trying variants best first. */
static void sw_op_tensor_task(void *arg)
{
    sw_item *it = arg;
    sw_run *run = it->run;
    const sw_stage *sg = &run->g->v[it->stage];
    const swarm_op *op = sw_stage_op(sg);
    sw_map maps[64];
    swarm_value in[64];
    int64_t shapes[64][SWARM_MAX_NDIM];
    size_t nmapped = 0;
    for (size_t k = 0; k < sg->ninputs; k++) {
        const sw_tref *t = &run->s[sg->inputs[k]].tensors.t[it->index];
        int r = sw_map_blob(&maps[k], run, t);
        if (r) {
            sw_item_fail(it, r);
            goto done;
        }
        nmapped++;
        memcpy(shapes[k], t->shape, sizeof shapes[k]);
        in[k].kind = SWARM_KIND_TENSOR;
        in[k].u.tensor = (swarm_tensor){(void *)maps[k].p, {SWARM_DEVICE_CPU, 0}, t->ndim, t->dtype, shapes[k],
                                        NULL, t->offset};
    }
    size_t n, *order = sw_malloc(op->n_variants * sizeof *order);
    if (sw_op_variants(order, &n, sg->plugin, sg->op_index, sg->device)) {
        sw_item_fail(it, SW_ENOTFOUND);
        free(order);
        goto done;
    }
    sw_tmpalloc ta = {run->st, {{0}}, 0};
    sw_allocator a = {sw_tmp_alloc, sw_tmp_free, &ta};
    sw_op_outputs out;
    sw_op_outputs_init(&out, op);
    size_t used;
    int r = sw_op_call_first(&out, &used, sg->plugin, sg->op_index, order, n, sg->params, in, &a, run->o->verbosity);
    sw_note_numerics(run, it->stage, order, used, r);
    if (!r) {
        const swarm_tensor *y = &out.v[0].u.tensor;
        it->out.dtype = y->dtype;
        it->out.ndim = y->ndim;
        memcpy(it->out.shape, y->shape, sizeof(int64_t) * (size_t)y->ndim);
        sw_tensor_nbytes(&it->out.nbytes, y->dtype, y->ndim, y->shape);
        r = sw_tmp_commit(&ta, y->data, &it->out.blob);
        out.v[0].u.tensor.data = NULL;
    }
    if (r)
        sw_item_fail(it, r);
    sw_op_outputs_free(&out, &a);
    free(order);
done:
    for (size_t k = 0; k < nmapped; k++)
        sw_map_close(&maps[k]);
}

/* Streams one segment of the op's input (whole batches of records) through the op, writing the
 * output records framed into a temp file. Segments run in parallel; finish joins them in order. */
static void sw_op_records_task(void *arg)
{
    sw_item *it = arg;
    sw_run *run = it->run;
    const sw_stage *sg = &run->g->v[it->stage];
    const sw_srun *s = &run->s[it->stage];
    int fd = -1, r;
    size_t nv, *order = sw_malloc(sw_stage_op(sg)->n_variants * sizeof *order);
    if ((r = sw_op_variants(order, &nv, sg->plugin, sg->op_index, sg->device)) ||
        (r = sw_store_tmpfile(&it->tmp, &fd, run->st))) {
        free(order);
        return sw_item_fail(it, r);
    }
    sw_rcursor cur = {it->seg, it->seg_end, s->framing};
    sw_fwriter w;
    sw_fwriter_init(&w, fd);
    /* A whole op takes every record in one batch. */
    uint64_t batch = sw_stage_op(sg)->flags & SWARM_OP_WHOLE ? UINT64_MAX : sg->batch;
    uint64_t *offs = NULL, calls = 0;
    uint8_t *bytes = NULL;
    size_t bcap = 0, ocap = 0;
    /* Dropping pages of a private read-only file mapping only makes them read again if touched, so
     * pages shared with the neighbouring segment may go too. */
    const uint8_t *dropped = (const uint8_t *)(((uintptr_t)it->seg + 4095) & ~(uintptr_t)4095);
    for (;;) {
        /* Gather a batch: the records copied into one buffer, as the ABI's record batch lays them out. */
        uint64_t count = 0;
        size_t nb = 0, len;
        const uint8_t *rec;
        int got = 0;
        sw_grow(&offs, &ocap, 1, sizeof *offs);
        offs[0] = 0;
        while (count < batch && (got = sw_rcursor_next(&cur, &rec, &len)) == 1) {
            sw_grow(&offs, &ocap, (size_t)count + 2, sizeof *offs);
            sw_grow(&bytes, &bcap, nb + len, 1);
            memcpy(bytes + nb, rec, len);
            nb += len;
            offs[++count] = nb;
        }
        /* A whole op runs once even over no records (its output may say so: a report). */
        if (got < 0 || (!count && (batch != UINT64_MAX || calls))) {
            r = got < 0 ? got : 0;
            break;
        }
        calls++;
        swarm_value in = {SWARM_KIND_RECORDS, .u.records = {count, offs, bytes, nb}};
        sw_op_outputs out;
        sw_op_outputs_init(&out, sw_stage_op(sg));
        size_t variant;
        r = sw_op_call_first(&out, &variant, sg->plugin, sg->op_index, order, nv, sg->params, &in, &sw_heap_allocator,
                             run->o->verbosity);
        sw_note_numerics(run, it->stage, order, variant, r);
        const swarm_records *y = &out.v[0].u.records;
        for (uint64_t k = 0; !r && k < y->count; k++)
            r = sw_fwriter_record(&w, SW_FRAME_FRAMED, y->bytes + y->offsets[k], y->offsets[k + 1] - y->offsets[k]);
        sw_op_outputs_free(&out, &sw_heap_allocator);
        if (r)
            break;
        /* Keep memory bounded: drop the input pages already consumed (whole pages only). */
        size_t used = cur.p > dropped ? (size_t)(cur.p - dropped) & ~(size_t)0xfffff : 0;
        if (cur.p > dropped && used >= ((size_t)64 << 20)) {
            madvise((void *)dropped, used, MADV_DONTNEED);
            dropped += used;
        }
    }
    free(offs);
    free(bytes);
    free(order);
    if (!r)
        r = sw_fwriter_finish(&w, &it->hash);
    else
        sw_fwriter_abort(&w);
    close(fd);
    if (r)
        sw_item_fail(it, r);
}

/* Maps the records input of stage i and cuts it into segments of whole batches, about jobs × 4 of
 * them (at least 4 MiB each), so that batches run in parallel yet every batch holds the same records
 * whatever the number of threads. */
static int sw_records_split(sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    const char *id = run->s[sg->inputs[0]].id;
    sw_hash h;
    char *path = NULL;
    int r = sw_id_hash(&h, id);
    if (!r && !(path = sw_blob_path(run, &h)))
        r = sw_error(SW_ENOTFOUND, "the input records are not held");
    if (!r)
        r = sw_map_open(&s->in, path);
    free(path);
    if (r)
        return r;
    s->framing = strncmp(id, "records:lines:", 14) ? SW_FRAME_FRAMED : SW_FRAME_LINES;
    size_t target = s->in.len / ((size_t)run->o->jobs * 4);
    if (target < ((size_t)4 << 20))
        target = (size_t)4 << 20;
    sw_rcursor cur = {s->in.p, s->in.p + s->in.len, s->framing};
    const uint8_t *start = s->in.p, *rec;
    size_t len, cap = 0;
    uint64_t count = 0;
    int got, whole = (sw_stage_op(sg)->flags & SWARM_OP_WHOLE) != 0;
    while ((got = sw_rcursor_next(&cur, &rec, &len)) == 1)
        if (!whole && ++count % sg->batch == 0 && (size_t)(cur.p - start) >= target) {
            sw_grow(&s->items, &cap, s->nitems + 1, sizeof *s->items);
            s->items[s->nitems++] = (sw_item){.run = run, .stage = i, .seg = start, .seg_end = cur.p};
            start = cur.p;
        }
    if (got < 0)
        return got;
    if (start < cur.p || !s->nitems) {
        sw_grow(&s->items, &cap, s->nitems + 1, sizeof *s->items);
        s->items[s->nitems++] = (sw_item){.run = run, .stage = i, .seg = start, .seg_end = cur.p};
    }
    for (size_t k = 0; k < s->nitems; k++)
        s->items[k].index = k;
    return 0;
}

/* Joins the segments' outputs in order into one object (one segment is committed as it is). */
static int sw_records_join(sw_run *run, size_t i, sw_hash *out)
{
    sw_srun *s = &run->s[i];
    char *tmp = NULL;
    int fd = -1, added, r = 0;
    if (s->nitems == 1) {
        *out = s->items[0].hash;
        fd = open(s->items[0].tmp, O_RDONLY | O_CLOEXEC);
        r = fd < 0 ? sw_error_errno(SW_ERROR, "cannot open %s", s->items[0].tmp)
                   : sw_store_commit(run->st, fd, s->items[0].tmp, out, &added);
        if (fd >= 0)
            close(fd);
        return r;
    }
    if (sw_store_tmpfile(&tmp, &fd, run->st))
        return SW_ERROR;
    sw_fwriter w;
    sw_fwriter_init(&w, fd);
    for (size_t k = 0; k < s->nitems && !r; k++) {
        sw_map m;
        if (!(r = sw_map_open(&m, s->items[k].tmp))) {
            r = sw_fwriter_put(&w, m.p, m.len);
            sw_map_close(&m);
        }
    }
    r = r ? (sw_fwriter_abort(&w), r) : sw_fwriter_finish(&w, out);
    if (!r)
        r = sw_store_commit(run->st, fd, tmp, out, &added);
    close(fd);
    if (r)
        unlink(tmp);
    free(tmp);
    return r;
}

/* ---- Write stages -------------------------------------------------------------------------------------- */

/* The metadata a write stage lays out: the collection's pairs, each replaced by the stage's pair with the
 * same key, then the stage's other pairs. The array is the caller's to free; the strings are borrowed. */
static swarm_meta *sw_meta_merge(size_t *n, const sw_tensors *c, const sw_stage *sg)
{
    swarm_meta *m = sw_malloc((c->nmeta + sg->nmeta + 1) * sizeof *m);
    size_t k = 0;
    for (size_t i = 0; i < c->nmeta; i++) {
        m[k] = (swarm_meta){c->meta[i].key, c->meta[i].value};
        for (size_t j = 0; j < sg->nmeta; j++)
            if (!strcmp(sg->meta[j].key, c->meta[i].key))
                m[k].value = sg->meta[j].value;
        k++;
    }
    for (size_t j = 0; j < sg->nmeta; j++) {
        size_t i = 0;
        while (i < c->nmeta && strcmp(sg->meta[j].key, c->meta[i].key))
            i++;
        if (i == c->nmeta)
            m[k++] = sg->meta[j];
    }
    *n = k;
    return m;
}

/* Writes a collection through its format: the header, then each tensor's bytes at its offset, zeros
 * between. */
static int sw_write_tensors(sw_run *run, const sw_stage *sg, const sw_tensors *c, sw_fwriter *w)
{
    swarm_tensor_entry *e = sw_calloc(c->n, sizeof *e);
    for (size_t k = 0; k < c->n; k++) {
        e[k].name = c->t[k].name;
        e[k].dtype = c->t[k].dtype;
        e[k].ndim = c->t[k].ndim;
        memcpy(e[k].shape, c->t[k].shape, sizeof e[k].shape);
        e[k].nbytes = c->t[k].nbytes;
    }
    uint8_t *header = NULL;
    size_t hlen, nmeta = 0;
    uint64_t total;
    swarm_meta *meta = sw_meta_merge(&nmeta, c, sg);
    int r = sw_format_layout(&header, &hlen, &total, sg->plugin, sg->format, e, c->n, meta, nmeta,
                             run->o->verbosity);
    free(meta);
    if (!r)
        r = sw_fwriter_put(w, header, hlen);
    free(header);
    /* Tensors in file order. */
    size_t *order = sw_malloc((c->n ? c->n : 1) * sizeof *order);
    for (size_t k = 0; k < c->n; k++) {
        size_t at = k;
        while (at > 0 && e[order[at - 1]].offset > e[k].offset) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = k;
    }
    static const uint8_t zeros[4096];
    for (size_t j = 0; j < c->n && !r; j++) {
        size_t k = order[j];
        while (!r && w->total < e[k].offset) {
            uint64_t gap = e[k].offset - w->total;
            r = sw_fwriter_put(w, zeros, gap < sizeof zeros ? (size_t)gap : sizeof zeros);
        }
        sw_map m;
        if (!r && !(r = sw_map_blob(&m, run, &c->t[k]))) {
            r = sw_fwriter_put(w, m.p + c->t[k].offset, (size_t)c->t[k].nbytes);
            sw_map_close(&m);
        }
    }
    free(order);
    free(e);
    return r;
}

/* A JSON number, or null when there is none (have is 0) or it is not finite (a sum of huge f64 values). */
static json_t *sw_json_finite(int have, double v)
{
    return have && isfinite(v) ? json_real(v) : json_null();
}

/* The built-in "stats" writer: a JSON manifest of a tensor collection, each tensor with its dtype,
 * shape, byte count, SHA-256 and statistics of its elements (core/tstats.h: count, NaN and Inf counts,
 * and min, max, mean and standard deviation over the finite elements, null when there are none or the
 * dtype has no numbers to summarize), then the metadata. Deterministic: the same collection always
 * gives the same bytes. */
static int sw_stats_tensor(json_t **out, sw_run *run, const sw_tref *t)
{
    sw_map m;
    int r = sw_map_blob(&m, run, t);
    if (r)
        return r;
    const uint8_t *p = m.p + t->offset;
    size_t unit = t->dtype.code == SWARM_DTYPE_Q8_0 ? 34 : t->dtype.code == SWARM_DTYPE_Q4_0 ? 18
                  : t->dtype.bits >= 8                ? (size_t)t->dtype.bits / 8 * t->dtype.lanes
                                                      : 1;
    size_t chunk = unit * 65536;
    sw_sha256 *sha = sw_sha256_new();
    sw_tstats *st = sw_malloc(sizeof *st);
    sw_tstats_init(st);
    int numeric = 1;
    for (uint64_t at = 0; at < t->nbytes; at += chunk) {
        size_t n = t->nbytes - at < chunk ? (size_t)(t->nbytes - at) : chunk;
        sw_sha256_update(sha, p + at, n);
        if (numeric && sw_tstats_add(st, t->dtype, p + at, n))
            numeric = 0;
    }
    sw_hash h;
    sw_sha256_final(sha, &h);
    sw_sha256_free(sha);
    sw_map_close(&m);
    char hex[SW_HEX_LEN + 1], dt[32];
    sw_hash_hex(hex, &h);
    json_t *shape = json_array();
    for (int32_t d = 0; d < t->ndim; d++)
        json_array_append_new(shape, json_integer(t->shape[d]));
    json_t *o = json_pack("{s:s, s:s, s:o, s:I, s:s}", "name", t->name, "dtype", sw_dtype_name(dt, t->dtype),
                          "shape", shape, "nbytes", (json_int_t)t->nbytes, "sha256", hex);
    int have = numeric && st->finite;
    if (numeric) {
        json_object_set_new(o, "count", json_integer((json_int_t)st->count));
        json_object_set_new(o, "nan", json_integer((json_int_t)st->nan));
        json_object_set_new(o, "inf", json_integer((json_int_t)st->inf));
    }
    json_object_set_new(o, "min", sw_json_finite(have, st->min));
    json_object_set_new(o, "max", sw_json_finite(have, st->max));
    json_object_set_new(o, "mean", sw_json_finite(have, st->mean));
    json_object_set_new(o, "std", sw_json_finite(have, sw_tstats_std(st)));
    free(st);
    *out = o;
    return 0;
}

static int sw_write_stats(sw_run *run, const sw_tensors *c, sw_fwriter *w)
{
    json_t *tensors = json_array(), *meta = json_object();
    int r = 0;
    for (size_t k = 0; k < c->n && !r; k++) {
        json_t *o = NULL;
        if (!(r = sw_stats_tensor(&o, run, &c->t[k])))
            json_array_append_new(tensors, o);
    }
    for (size_t k = 0; k < c->nmeta; k++)
        json_object_set_new(meta, c->meta[k].key, json_string(c->meta[k].value));
    json_t *doc = json_pack("{s:s, s:o, s:o}", "schema", "swarm-tensor-stats/1", "tensors", tensors, "meta", meta);
    char *text = r ? NULL : sw_oom(json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)));
    json_decref(doc);
    if (text)
        r = sw_fwriter_put(w, text, strlen(text)) || sw_fwriter_put(w, "\n", 1) ? SW_ERROR : 0;
    free(text);
    return r;
}

/* The records a records write hands out, file by file: a file takes records until its shard is full
 * (shard_records records, or the next record would pass shard_bytes counted framed); a record that
 * does not fit is held and starts the next file. */
typedef struct {
    const sw_stage *sg;
    sw_rcursor cur;
    const uint8_t *rec; /* the held record, when held */
    size_t len;
    int held;
    uint64_t n, bytes; /* records and framed bytes handed to the current file */
    int drained;       /* the current file was told it has no more records */
    sw_pack *pk;       /* where the current file's bytes go */
} sw_rwrite;

/* Holds the next input record unless one is held: 1, 0 at the end, or an error. */
static int sw_rwrite_peek(sw_rwrite *c)
{
    if (c->held)
        return 1;
    int got = sw_rcursor_next(&c->cur, &c->rec, &c->len);
    c->held = got == 1;
    return got;
}

static int sw_rwrite_next(void *ctx, const uint8_t **data, size_t *len)
{
    sw_rwrite *c = ctx;
    int got = c->drained ? 0 : sw_rwrite_peek(c);
    if (got == 1 && c->n &&
        ((c->sg->shard_records && c->n >= c->sg->shard_records) ||
         (c->sg->shard_bytes && c->bytes + 4 + c->len > c->sg->shard_bytes)))
        got = 0;
    if (got != 1) {
        c->drained = got == 0;
        return got;
    }
    c->held = 0;
    c->n++;
    c->bytes += 4 + c->len;
    *data = c->rec;
    *len = c->len;
    return 1;
}

static int sw_rwrite_put(void *ctx, const void *data, size_t len)
{
    return sw_pack_put(((sw_rwrite *)ctx)->pk, data, len);
}

/* The built-in "lines" format's write: each record and a newline. */
static int sw_lines_write(const sw_rio *io)
{
    const uint8_t *rec;
    size_t len;
    int got;
    while ((got = io->next_record(io->ctx, &rec, &len)) == 1) {
        if (memchr(rec, '\n', len))
            return sw_error(SW_EINVALID, "a record holds a newline, so it cannot be written as a line");
        if (io->put_bytes(io->ctx, rec, len) || io->put_bytes(io->ctx, "\n", 1))
            return SW_ERROR;
    }
    return got;
}

/* Whether a write stage shards its records into several files. */
static int sw_sharded(const sw_stage *sg)
{
    return !sg->format && (sg->shard_records || sg->shard_bytes);
}

/* The name of file k of a write stage: its file name, or for shards PREFIX_NNNNNN.EXT[.gz|.zst]. */
static char *sw_shard_name(const sw_stage *sg, size_t k)
{
    if (!sw_sharded(sg))
        return sw_strdup(sg->file_name);
    return sw_sprintf("%s_%06zu.%s%s%s", sg->file_name, k, sg->rformat ? sg->rformat->extension : "txt",
                      sg->compress ? "." : "", sg->compress ? sw_compress_name(sg->compress) : "");
}

/* Writes one file of a records write into the store and adds it to the stage's files. */
static int sw_write_records_file(sw_run *run, sw_srun *s, const sw_stage *sg, sw_rwrite *c, size_t k, size_t *cap)
{
    char *tmp;
    int fd, added, r;
    sw_hash h;
    if ((r = sw_store_tmpfile(&tmp, &fd, run->st)))
        return r;
    sw_fwriter w;
    sw_fwriter_init(&w, fd);
    c->n = c->bytes = 0;
    c->drained = 0;
    r = sw_pack_open(&c->pk, (sw_compress)sg->compress, &w);
    if (!r) {
        sw_rio io = {.next_record = sw_rwrite_next, .put_bytes = sw_rwrite_put, .ctx = c};
        r = sg->rformat ? sw_rformat_write(sg->plugin, sg->rformat, sg->params, &io, run->o->verbosity)
                        : sw_lines_write(&io);
        if (!r && !c->drained)
            r = sw_error(SW_EPLUGIN, "%s format %s: write returned before taking all of its records",
                         sg->plugin->desc->id, sg->rformat->name);
        r = r ? (sw_pack_abort(c->pk), r) : sw_pack_finish(c->pk);
        c->pk = NULL;
    }
    uint64_t size = w.total;
    r = r ? (sw_fwriter_abort(&w), r) : sw_fwriter_finish(&w, &h);
    if (!r)
        r = sw_store_commit(run->st, fd, tmp, &h, &added);
    close(fd);
    if (r)
        unlink(tmp);
    free(tmp);
    if (r)
        return r;
    char *disk = sw_store_object_path(run->st, &h), *name = sw_shard_name(sg, k);
    sw_rfiles_push(s, name, disk, cap);
    free(disk);
    free(name);
    sw_rfile *f = &s->files[s->nfiles - 1];
    f->hash = h;
    f->size = size;
    f->known = 1;
    return 0;
}

/* Writes records through the stage's records format (or as lines) into one file, or into shards: files
 * until the records run out, at least one. */
static int sw_write_records(sw_run *run, sw_srun *s, const sw_stage *sg)
{
    const char *id = run->s[sg->inputs[0]].id;
    sw_hash h;
    sw_map m;
    char *path = NULL;
    int r = sw_id_hash(&h, id);
    if (!r && !(path = sw_blob_path(run, &h)))
        r = sw_error(SW_ENOTFOUND, "the records are not held");
    if (!r)
        r = sw_map_open(&m, path);
    free(path);
    if (r)
        return r;
    sw_rwrite c = {.sg = sg,
                   .cur = {m.p, m.p + m.len, strncmp(id, "records:lines:", 14) ? SW_FRAME_FRAMED : SW_FRAME_LINES}};
    size_t cap = 0;
    for (size_t k = 0; !r; k++) {
        if (k && (r = sw_rwrite_peek(&c)) <= 0)
            break;
        r = sw_write_records_file(run, s, sg, &c, k, &cap);
    }
    sw_map_close(&m);
    return r < 0 ? r : 0;
}

static void sw_write_task(void *arg)
{
    sw_item *it = arg;
    sw_run *run = it->run;
    const sw_stage *sg = &run->g->v[it->stage];
    sw_srun *s = &run->s[it->stage];
    if (!sg->format && !sw_stage_stats(sg)) {
        int r = sw_write_records(run, s, sg);
        if (r)
            sw_item_fail(it, r);
        return;
    }
    char *tmp;
    int fd, added;
    sw_hash h;
    if (sw_store_tmpfile(&tmp, &fd, run->st))
        return sw_item_fail(it, SW_ERROR);
    sw_fwriter w;
    sw_fwriter_init(&w, fd);
    int r = sg->format ? sw_write_tensors(run, sg, &run->s[sg->inputs[0]].tensors, &w)
                       : sw_write_stats(run, &run->s[sg->inputs[0]].tensors, &w);
    uint64_t size = w.total;
    if (!r)
        r = sw_fwriter_finish(&w, &h);
    else
        sw_fwriter_abort(&w);
    if (!r)
        r = sw_store_commit(run->st, fd, tmp, &h, &added);
    close(fd);
    if (r) {
        unlink(tmp);
        sw_item_fail(it, r);
    } else {
        size_t cap = 0;
        char *disk = sw_store_object_path(run->st, &h);
        sw_rfiles_push(s, sg->file_name, disk, &cap);
        free(disk);
        s->files[0].hash = h;
        s->files[0].size = size;
        s->files[0].known = 1;
    }
    free(tmp);
}

/* A sharded write's files as a store object: their listing, "PATH\tHEX\n" per file in order, whose
 * SHA-256 is the files:HEX id (values.h). */
static int sw_listing_put(sw_hash *h, const sw_run *run, const sw_srun *s)
{
    char *text = sw_strdup(""), hex[SW_HEX_LEN + 1];
    size_t len = 0, cap = 1;
    for (size_t k = 0; k < s->nfiles; k++) {
        sw_hash_hex(hex, &s->files[k].hash);
        char *line = sw_sprintf("%s\t%s\n", s->files[k].rel, hex);
        size_t n = strlen(line);
        sw_grow(&text, &cap, len + n + 1, 1);
        memcpy(text + len, line, n + 1);
        len += n;
        free(line);
    }
    int r = sw_put_buf(h, run->st, text, len);
    free(text);
    return r;
}

/* Loads the files of a write stage's id (file:HEX, or files:HEX naming a listing) from the store. */
static int sw_written_load(sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    sw_hash h;
    size_t cap = 0;
    char *text = NULL;
    size_t len;
    int r = sw_id_hash(&h, s->id);
    if (r)
        return r;
    if (strncmp(s->id, "files:", 6)) {
        char *disk = sw_store_object_path(run->st, &h);
        sw_rfiles_push(s, sg->file_name, disk, &cap);
        free(disk);
        s->files[0].hash = h;
        s->files[0].known = 1;
        return sw_store_stat(run->st, &h, &s->files[0].size);
    }
    if ((r = sw_read_object(&text, &len, run->st, &h)))
        return r;
    for (char *line = text, *nl; !r && (nl = memchr(line, '\n', len - (size_t)(line - text))); line = nl + 1) {
        *nl = 0;
        char *tab = strchr(line, '\t');
        sw_hash fh;
        if (!tab || (*tab = 0, sw_hash_parse(&fh, tab + 1))) {
            r = sw_error(SW_ERROR, "the listing of %s is damaged", s->id);
            break;
        }
        char *disk = sw_store_object_path(run->st, &fh);
        sw_rfiles_push(s, line, disk, &cap);
        free(disk);
        sw_rfile *f = &s->files[s->nfiles - 1];
        f->hash = fh;
        f->known = 1;
        r = sw_store_stat(run->st, &fh, &f->size);
    }
    free(text);
    return r;
}

/* ---- Sinks: saving and publishing a written file --------------------------------------------------------- */

/* Copies a written file to dest (atomically: a temp file beside it, fsync, rename) unless dest holds
 * those bytes already, as the stat cache knows. */
static int sw_save_file(sw_run *run, const sw_rfile *f, const char *dest)
{
    struct stat st;
    sw_filestat fs;
    sw_hash h;
    char *real = realpath(dest, NULL);
    if (real && stat(real, &st) == 0) {
        sw_filestat_of(&fs, &st);
        int r = sw_index_file_get(&h, sw_store_index(run->st), real, &fs);
        if (r == 0 && sw_hash_eq(&h, &f->hash)) {
            free(real);
            return 0;
        }
    }
    free(real);
    int r = sw_copy_file_atomic(f->disk, dest, 0644);
    if (r)
        return r;
    real = realpath(dest, NULL);
    if (real && stat(real, &st) == 0) {
        sw_filestat_of(&fs, &st);
        r = sw_index_file_put(sw_store_index(run->st), real, &fs, &f->hash);
    }
    free(real);
    return r;
}

/* Whether name is a shard of exactly this stage's naming (PREFIX_, six or more digits, then the stage's
 * extension and compression suffix) that the run did not write: one left in the folder by an earlier run
 * with more shards. */
static int sw_stale_shard(const sw_stage *sg, const sw_srun *s, const char *name)
{
    size_t n = strlen(sg->file_name), d = 0;
    if (strncmp(name, sg->file_name, n) || name[n] != '_')
        return 0;
    while (name[n + 1 + d] >= '0' && name[n + 1 + d] <= '9')
        d++;
    char *tail = sw_shard_name(sg, 0); /* PREFIX_000000.EXT[.gz|.zst]: its part after the digits */
    int same = d >= 6 && !strcmp(name + n + 1 + d, tail + n + 7);
    free(tail);
    if (!same)
        return 0;
    for (size_t k = 0; k < s->nfiles; k++)
        if (!strcmp(s->files[k].rel, name))
            return 0;
    return 1;
}

/* Saves what a write stage made: its file to the path, or its shards into the folder at the path, whose
 * stale shards of the same naming (from an earlier run that made more) are removed, so the folder holds
 * exactly this run's shards of that name. */
static int sw_save(sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
    const sw_srun *s = &run->s[i];
    if (!sw_sharded(sg))
        return sw_save_file(run, &s->files[0], sg->save_path);
    int r = sw_mkdir_p(sg->save_path);
    for (size_t k = 0; !r && k < s->nfiles; k++) {
        char *dest = sw_sprintf("%s/%s", sg->save_path, s->files[k].rel);
        r = sw_save_file(run, &s->files[k], dest);
        free(dest);
    }
    DIR *dir = r ? NULL : opendir(sg->save_path);
    for (struct dirent *e; dir && (e = readdir(dir));)
        if (sw_stale_shard(sg, s, e->d_name) && unlinkat(dirfd(dir), e->d_name, 0) && errno != ENOENT)
            r = sw_error_errno(SW_ERROR, "cannot remove the stale shard %s/%s", sg->save_path, e->d_name);
    if (dir)
        closedir(dir);
    return r;
}

/* Publishes the written file as bundle version NAME@VERSION with the stage's provenance; a version
 * that exists with the same file is left as it is. */
static int sw_publish(sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
    const sw_srun *s = &run->s[i];
    sw_manifest *m = NULL;
    int r = sw_catalog_read(&m, run->cat, sg->publish_name, sg->publish_version);
    if (r == 0) {
        int same = m->nfiles == s->nfiles;
        for (size_t k = 0; same && k < s->nfiles; k++) {
            size_t j = 0;
            while (j < m->nfiles && strcmp(m->files[j].path, s->files[k].rel))
                j++;
            same = j < m->nfiles && sw_hash_eq(&m->files[j].hash, &s->files[k].hash);
        }
        sw_manifest_free(m);
        return same ? 0
                    : sw_error(SW_EEXISTS, "%s@%s exists already with other content: publish a new version",
                               sg->publish_name, sg->publish_version);
    }
    if (r != SW_ENOTFOUND)
        return r;
    r = 0;
    m = sw_manifest_new();
    m->name = sw_strdup(sg->publish_name);
    m->version = sw_strdup(sg->publish_version);
    m->message = sw_sprintf("made by pipeline %s, stage %s", run->g->file, sg->name);
    sw_manifest_stamp(m);
    uint64_t total = 0;
    for (size_t k = 0; !r && k < s->nfiles; k++) {
        const sw_rfile *f = &s->files[k];
        sw_chunk *chunks = NULL;
        size_t n = 0;
        r = sw_index_get_chunks(&chunks, &n, sw_store_index(run->st), &f->hash);
        if (!r && !n && f->size) {
            free(chunks);
            chunks = NULL;
            if (!(r = sw_store_reindex(run->st, &f->hash)))
                r = sw_index_get_chunks(&chunks, &n, sw_store_index(run->st), &f->hash);
        }
        if (!r)
            sw_manifest_add_file(m, f->rel, f->size, 0644, &f->hash, chunks, n);
        free(chunks);
        total += f->size;
    }
    if (r) {
        sw_manifest_free(m);
        return r;
    }
    char hex[SW_HEX_LEN + 1], key[SW_HEX_LEN + 1];
    sw_hash_hex(hex, &run->g->file_hash);
    sw_hash_hex(key, &s->key);
    const char *base = strrchr(run->g->file, '/');
    json_t *inputs = json_array();
    for (size_t k = 0; k < sg->ninputs; k++)
        json_array_append_new(inputs, json_string(run->s[sg->inputs[k]].id));
    json_t *prov = json_pack("{s:s, s:s, s:s, s:s, s:o}", "pipeline", base ? base + 1 : run->g->file,
                             "pipeline_sha256", hex, "stage", sg->name, "key", key, "inputs", inputs);
    m->provenance = sw_oom(json_dumps(prov, JSON_COMPACT | JSON_SORT_KEYS));
    json_decref(prov);
    unsigned char *torrent = NULL;
    size_t tlen = 0;
    r = sw_manifest_sort(m);
    if (!r && total)
        r = sw_bundle_torrent_make(&torrent, &tlen, m->torrent_v1, run->st, m, NULL);
    if (!r)
        r = sw_catalog_add(run->cat, m, torrent, tlen);
    free(torrent);
    sw_manifest_free(m);
    return r;
}

/* ---- Preparing and finishing stages ---------------------------------------------------------------------- */

/* The task the pool runs: an item's own task, then its mark for the progress line. */
typedef struct {
    sw_task_fn fn;
    sw_item *it;
} sw_job;

static void sw_run_item(void *arg)
{
    sw_job *j = arg;
    j->fn(j->it);
    __atomic_store_n(&j->it->finished, 1, __ATOMIC_RELEASE);
    free(j);
}

static void sw_submit(sw_pool *pool, sw_task_fn fn, sw_item *it)
{
    sw_job *j = sw_malloc(sizeof *j);
    *j = (sw_job){fn, it};
    sw_pool_submit(pool, sw_run_item, j);
}

/* On a terminal: one line naming the stages at work and how many of their items are done. */
static void sw_progress_line(const sw_run *run, const size_t *queued, size_t nq)
{
    char line[512];
    size_t n = (size_t)snprintf(line, sizeof line, "  running:");
    for (size_t q = 0; q < nq && n < sizeof line - 64; q++) {
        const sw_srun *s = &run->s[queued[q]];
        size_t done = 0;
        for (size_t k = 0; k < s->nitems; k++)
            done += (size_t)__atomic_load_n(&s->items[k].finished, __ATOMIC_ACQUIRE);
        n += (size_t)snprintf(line + n, sizeof line - n, "%s %.40s %zu/%zu", q ? "," : "", run->g->v[queued[q]].name,
                              done, s->nitems);
    }
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
}

static void sw_items_new(sw_run *run, size_t i, size_t n)
{
    sw_srun *s = &run->s[i];
    s->items = sw_calloc(n, sizeof *s->items);
    s->nitems = n;
    for (size_t k = 0; k < n; k++)
        s->items[k] = (sw_item){.run = run, .stage = i, .index = k};
}

/* Sets the key's "params" part: [NAME, TYPE, VALUE] for each param of the schema, in schema order; a
 * path's VALUE is its content's id. */
static int sw_params_part(json_t *parts, sw_run *run, const swarm_param *schema, size_t n, char *const *text)
{
    json_t *params = json_array();
    int r = 0;
    for (size_t k = 0; k < n && !r; k++) {
        char *id = NULL;
        if (schema[k].type == SWARM_PARAM_PATH && (r = sw_path_id(&id, run, schema[k].name, text[k])))
            break;
        json_array_append_new(params, json_pack("[s,s,s]", schema[k].name, sw_plugin_param_type_name(schema[k].type),
                                                id ? id : text[k]));
        free(id);
    }
    json_object_set_new(parts, "params", params);
    return r;
}

/* The parts of an op stage's key: the op, its version, the numerics tag of the variant it will run,
 * every param (schema order, canonical text), the batch size over records. */
static int sw_op_parts(json_t **out, sw_run *run, const sw_stage *sg)
{
    const swarm_op *op = sw_stage_op(sg);
    size_t n, *order = sw_malloc(op->n_variants * sizeof *order);
    if (sw_op_variants(order, &n, sg->plugin, sg->op_index, sg->device)) {
        free(order);
        return SW_ENOTFOUND;
    }
    size_t best = order[0];
    free(order);
    json_t *parts = sw_parts_new("op", sg->plugin->desc->id, "op", op->name, op->op_version);
    json_object_set_new(parts, "numerics", json_string(op->variants[best]->numerics));
    if (run->g->v[sg->inputs[0]].out == SW_VAL_RECORDS && !(op->flags & SWARM_OP_WHOLE))
        json_object_set_new(parts, "batch", json_integer((json_int_t)sg->batch));
    *out = parts;
    return sw_params_part(parts, run, op->params, op->n_params, sg->param_text);
}

/* The key parts of a read or write stage through a plugin's format (records formats with their params),
 * or through the built-in lines. */
static int sw_format_parts(json_t **out, sw_run *run, const char *kind, const sw_stage *sg)
{
    const char *plugin = sg->plugin ? sg->plugin->desc->id : "swarm";
    uint32_t version = sg->format ? sg->format->format_version : sg->rformat ? sg->rformat->format_version : 1;
    json_t *parts = sw_parts_new(kind, plugin, "format", sg->format_name, version);
    *out = parts;
    return sg->rformat ? sw_params_part(parts, run, sg->rformat->params, sg->rformat->n_params, sg->param_text) : 0;
}

/* Appends a param [NAME, TYPE, VALUE] to the key's params. */
static void sw_parts_param(json_t *parts, const char *name, const char *type, const char *value)
{
    json_t *params = json_object_get(parts, "params");
    if (!params)
        json_object_set_new(parts, "params", params = json_array());
    json_array_append_new(params, json_pack("[s,s,s]", name, type, value));
}

/* The key parts of a write stage: a records format's params, then the write's own choices as params of
 * the types "meta" (metadata pairs, "meta.KEY") and "write" (compression, shards and their names). */
static int sw_write_parts(json_t **out, sw_run *run, const sw_stage *sg)
{
    json_t *parts;
    int r = sw_format_parts(&parts, run, "write", sg);
    *out = parts;
    for (size_t k = 0; k < sg->nmeta; k++) {
        char *name = sw_sprintf("meta.%s", sg->meta[k].key);
        sw_parts_param(parts, name, "meta", sg->meta[k].value);
        free(name);
    }
    if (!sg->format && sg->compress)
        sw_parts_param(parts, "write.compress", "write", sw_compress_name(sg->compress));
    if (sw_sharded(sg)) {
        char n[32];
        snprintf(n, sizeof n, "%llu", (unsigned long long)sg->shard_records);
        sw_parts_param(parts, "write.shard_records", "write", n);
        snprintf(n, sizeof n, "%llu", (unsigned long long)sg->shard_bytes);
        sw_parts_param(parts, "write.shard_bytes", "write", n);
        sw_parts_param(parts, "write.file", "write", sg->file_name);
        sw_parts_param(parts, "write.ext", "write", sg->rformat ? sg->rformat->extension : "txt");
    }
    return r;
}

/* Checks that an op's tensor inputs hold the same tensor names in the same order. */
static int sw_zip_check(sw_run *run, const sw_stage *sg)
{
    const sw_tensors *a = &run->s[sg->inputs[0]].tensors;
    for (size_t k = 1; k < sg->ninputs; k++) {
        const sw_tensors *b = &run->s[sg->inputs[k]].tensors;
        int same = a->n == b->n;
        for (size_t j = 0; same && j < a->n; j++)
            same = !strcmp(a->t[j].name, b->t[j].name);
        if (!same)
            return sw_error(SW_EINVALID, "inputs '%s' and '%s' hold different tensors", run->g->v[sg->inputs[0]].name,
                            run->g->v[sg->inputs[k]].name);
    }
    return 0;
}

/* Builds the key of a read, op or write stage and looks it up; on a miss queues the stage's work.
 * Returns 0 when the stage is complete (or, in a dry run, judged), 1 when work was queued. */
static int sw_prepare_keyed(sw_run *run, size_t i, sw_pool *pool)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    sw_stage_report *rep = &run->rep->stages[i];
    json_t *parts = NULL;
    int r = 0;
    if (sg->kind == SW_STAGE_READ)
        r = sw_format_parts(&parts, run, "read", sg);
    else if (sg->kind == SW_STAGE_WRITE)
        r = sw_write_parts(&parts, run, sg);
    else
        r = sw_op_parts(&parts, run, sg);
    for (size_t k = 0; !r && k < sg->ninputs; k++)
        if (run->g->v[sg->inputs[k]].out == SW_VAL_TENSORS && (sg->kind != SW_STAGE_READ))
            r = sw_load_tensors(run, sg->inputs[k]);
    if (!r && sg->kind == SW_STAGE_OP && run->g->v[sg->inputs[0]].out == SW_VAL_TENSORS)
        r = sw_zip_check(run, sg);
    if (!r)
        r = sw_lookup(run, i, parts);
    json_decref(parts);
    if (r < 0)
        return r;
    if (r == 1) {
        rep->status = "cached";
        return sg->kind == SW_STAGE_WRITE ? sw_written_load(run, i) : 0;
    }
    if (run->o->dry_run) {
        rep->status = "would run";
        s->pending = 1;
        return 0;
    }
    rep->status = "ran";
    sw_task_fn fn = sg->kind == SW_STAGE_READ    ? (sg->rformat ? sw_rread_task : sw_read_task)
                    : sg->kind == SW_STAGE_WRITE ? sw_write_task
                    : run->g->v[sg->inputs[0]].out == SW_VAL_TENSORS ? sw_op_tensor_task
                                                                     : sw_op_records_task;
    if (fn == sw_op_records_task) {
        if ((r = sw_records_split(run, i)))
            return r;
    } else {
        sw_items_new(run, i, fn == sw_op_tensor_task ? run->s[sg->inputs[0]].tensors.n
                             : fn == sw_rread_task   ? run->s[sg->inputs[0]].nfiles
                                                     : 1);
    }
    for (size_t k = 0; k < s->nitems; k++)
        sw_submit(pool, fn, &s->items[k]);
    return 1;
}

/* Returns 0 (complete), 1 (work queued) or an error. */
static int sw_prepare(sw_run *run, size_t i, sw_pool *pool)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    sw_stage_report *rep = &run->rep->stages[i];
    s->t0 = sw_now();
    for (size_t k = 0; k < sg->ninputs; k++)
        if (run->s[sg->inputs[k]].pending) {
            s->pending = 1;
            rep->status = "pending";
            return 0;
        }
    if (sg->kind == SW_STAGE_INPUT) {
        int need = sw_input_prepare(run, i);
        if (need < 0)
            return need;
        if (!need) {
            s->id = sw_files_id(s);
            rep->status = "unchanged";
            return 0;
        }
        rep->status = run->o->dry_run ? "would hash" : "hashed";
        if (run->o->dry_run) {
            s->pending = 1;
            return 0;
        }
        sw_items_new(run, i, s->nfiles);
        for (size_t k = 0; k < s->nfiles; k++)
            if (!s->files[k].known)
                sw_submit(pool, sw_input_hash_task, &s->items[k]);
            else
                s->items[k].finished = 1;
        return 1;
    }
    if (sg->kind == SW_STAGE_READ && !sg->format && !sg->rformat) {
        const sw_srun *in = &run->s[sg->inputs[0]];
        if (in->nfiles != 1)
            return sw_error(SW_EINVALID, "format lines reads one file; %s has %zu", run->g->v[sg->inputs[0]].name,
                            in->nfiles);
        char *hex = sw_hex(&in->files[0].hash);
        s->id = sw_sprintf("records:lines:%s", hex);
        free(hex);
        rep->status = "unchanged"; /* lines are read in place: a view of the input, nothing to run */
        return 0;
    }
    if (sg->kind == SW_STAGE_OP && !run->o->dry_run && run->g->v[sg->inputs[0]].out == SW_VAL_TENSORS)
        sw_tensors_free(&s->made);
    return sw_prepare_keyed(run, i, pool);
}

/* Collects a finished stage's work: the first failed item fails the stage; otherwise its outputs are
 * committed and recorded under its key. */
static int sw_finish(sw_run *run, size_t i)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    for (size_t k = 0; k < s->nitems; k++)
        if (s->items[k].err)
            return sw_error(s->items[k].err, "%s", s->items[k].msg);
    if (sg->kind == SW_STAGE_INPUT) {
        for (size_t k = 0; k < s->nfiles; k++) {
            s->files[k].known = 1;
            if (sw_index_file_put(sw_store_index(run->st), s->files[k].disk, &s->files[k].fs, &s->files[k].hash))
                return SW_ERROR;
        }
        s->id = sw_files_id(s);
        return 0;
    }
    if (sg->kind == SW_STAGE_OP && run->g->v[sg->inputs[0]].out == SW_VAL_TENSORS) {
        const sw_tensors *in = &run->s[sg->inputs[0]].tensors;
        for (size_t k = 0; k < in->n; k++) {
            sw_tref *t = sw_tensors_add(&s->made, in->t[k].name);
            char *name = t->name;
            *t = s->items[k].out;
            t->name = name;
        }
        for (size_t k = 0; k < in->nmeta; k++)
            sw_tensors_add_meta(&s->made, in->meta[k].key, in->meta[k].value);
    }
    if ((sg->kind == SW_STAGE_READ && !sg->rformat) ||
        (sg->kind == SW_STAGE_OP && run->g->v[sg->inputs[0]].out == SW_VAL_TENSORS))
        return sw_commit_tensors(run, i);
    sw_hash h;
    if (sg->kind == SW_STAGE_WRITE && sw_sharded(sg)) {
        /* Pin the listing and every shard. */
        sw_hash *objs = sw_malloc((s->nfiles + 1) * sizeof *objs);
        if (sw_listing_put(&objs[0], run, s)) {
            free(objs);
            return SW_ERROR;
        }
        for (size_t k = 0; k < s->nfiles; k++)
            objs[k + 1] = s->files[k].hash;
        char *hex = sw_hex(&objs[0]);
        s->id = sw_sprintf("files:%s", hex);
        free(hex);
        int r = s->no_cache ? 0 : sw_index_stage_put(sw_store_index(run->st), &s->key, s->id, objs, s->nfiles + 1);
        free(objs);
        return r;
    } else if (sg->kind == SW_STAGE_WRITE) {
        char *hex = sw_hex(&s->files[0].hash);
        s->id = sw_sprintf("file:%s", hex);
        free(hex);
    } else {
        if (sw_records_join(run, i, &h))
            return SW_ERROR;
        char *hex = sw_hex(&h);
        s->id = sw_sprintf("records:framed:%s", hex);
        free(hex);
    }
    if (sw_id_hash(&h, s->id))
        return SW_ERROR;
    return s->no_cache ? 0 : sw_index_stage_put(sw_store_index(run->st), &s->key, s->id, &h, 1);
}

/* Marks a stage complete: its sinks (not in a dry run), its run record, its report line. */
static int sw_complete(sw_run *run, size_t i, void (*report)(void *, const sw_graph *, const sw_run_report *, size_t),
                       void *ctx)
{
    const sw_stage *sg = &run->g->v[i];
    sw_srun *s = &run->s[i];
    sw_stage_report *rep = &run->rep->stages[i];
    int r = 0;
    s->done = 1;
    if (!s->pending && !run->o->dry_run) {
        if (sg->kind == SW_STAGE_WRITE && sg->save_path)
            r = sw_save(run, i);
        if (!r && sg->kind == SW_STAGE_WRITE && sg->publish_name)
            r = sw_publish(run, i);
        if (!r && s->parts) {
            char *old = NULL;
            int g = sw_index_run_get(&old, sw_store_index(run->st), run->g->real, sg->name);
            if (g == SW_ENOTFOUND || (!g && strcmp(old, s->parts)))
                r = sw_index_run_put(sw_store_index(run->st), run->g->real, sg->name, s->parts);
            else
                r = g;
            free(old);
        }
        if (r)
            return r;
    }
    rep->output = s->id ? sw_strdup(s->id) : NULL;
    rep->seconds = sw_now() - s->t0;
    if (!strcmp(rep->status, "ran") || !strcmp(rep->status, "hashed"))
        run->rep->ran++;
    else if (!strcmp(rep->status, "cached") || !strcmp(rep->status, "unchanged"))
        run->rep->cached++;
    if (report)
        report(ctx, run->g, run->rep, i);
    return 0;
}

static void sw_srun_clear(sw_srun *s)
{
    free(s->id);
    for (size_t k = 0; k < s->nfiles; k++) {
        free(s->files[k].rel);
        free(s->files[k].disk);
    }
    free(s->files);
    sw_tensors_free(&s->tensors);
    sw_tensors_free(&s->made);
    free(s->parts);
    for (size_t k = 0; k < s->nitems; k++) {
        if (s->items[k].tmp)
            unlink(s->items[k].tmp); /* segments joined, committed or failed: never needed again */
        free(s->items[k].tmp);
    }
    free(s->items);
    sw_map_close(&s->in);
}

int sw_pipeline_run(sw_run_report *rep, const sw_graph *g, sw_store *st, sw_catalog *cat, const sw_run_opts *o,
                    void (*report)(void *ctx, const sw_graph *g, const sw_run_report *rep, size_t stage), void *ctx)
{
    memset(rep, 0, sizeof *rep);
    rep->n = g->n;
    rep->stages = sw_calloc(g->n, sizeof *rep->stages);
    if (o->force && !sw_graph_find((sw_graph *)g, o->force))
        return sw_error(SW_ENOTFOUND, "--force %s: the pipeline has no stage '%s'", o->force, o->force);
    sw_run run = {g, st, cat, o, sw_calloc(g->n, sizeof(sw_srun)), rep};
    sw_pool *pool = o->dry_run ? NULL : sw_pool_new(o->jobs);
    size_t *wave = sw_malloc(g->n * sizeof *wave), *queued = sw_malloc(g->n * sizeof *queued);
    int r = 0;
    while (!r) {
        size_t nw = 0, nq = 0;
        for (size_t i = 0; i < g->n; i++) {
            int ready = !run.s[i].done;
            for (size_t k = 0; ready && k < g->v[i].ninputs; k++)
                ready = run.s[g->v[i].inputs[k]].done;
            if (ready)
                wave[nw++] = i;
        }
        if (!nw)
            break;
        for (size_t w = 0; w < nw && !r; w++) {
            int p = sw_prepare(&run, wave[w], pool);
            if (p == 1)
                queued[nq++] = wave[w];
            else if (p == 0)
                r = sw_complete(&run, wave[w], report, ctx);
            else
                r = p;
            if (r)
                sw_error_wrap(r, "stage '%s' (%s)", g->v[wave[w]].name, g->v[wave[w]].where);
        }
        if (pool && o->progress && nq) {
            while (!sw_pool_wait_for(pool, 0.2))
                sw_progress_line(&run, queued, nq);
            fputs("\r\033[K", stderr);
        } else if (pool) {
            sw_pool_wait(pool);
        }
        for (size_t q = 0; q < nq && !r; q++) {
            r = sw_finish(&run, queued[q]);
            if (!r)
                r = sw_complete(&run, queued[q], report, ctx);
            if (r)
                sw_error_wrap(r, "stage '%s' (%s)", g->v[queued[q]].name, g->v[queued[q]].where);
        }
    }
    sw_pool_free(pool);
    for (size_t i = 0; i < g->n; i++)
        sw_srun_clear(&run.s[i]);
    free(run.s);
    free(wave);
    free(queued);
    return r;
}
