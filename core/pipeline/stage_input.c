/* stage_input.c — input stages: a file, a folder or a bundle version's files, known by their SHA-256
 * (from the stat cache, the manifest, or hashed on the pool), and the content ids of path params. */
#include "pipeline/run.h"
#include "bundle/filelist.h"
#include "base/error.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

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
int sw_path_id(char **out, sw_run *run, const char *name, const char *path)
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

/* Lists the input's files; queues the hashing of those neither the stat cache nor a manifest knows. */
static int sw_input_kind_prepare(sw_run *run, size_t i, sw_pool *pool)
{
    sw_srun *s = &run->s[i];
    sw_stage_report *rep = &run->rep->stages[i];
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
    sw_run_items(run, i, s->nfiles);
    for (size_t k = 0; k < s->nfiles; k++)
        if (!s->files[k].known)
            sw_run_submit(pool, sw_input_hash_task, &s->items[k]);
        else
            s->items[k].finished = 1;
    return 1;
}

/* Remembers the hashed files in the stat cache and names the value. */
static int sw_input_finish(sw_run *run, size_t i)
{
    sw_srun *s = &run->s[i];
    for (size_t k = 0; k < s->nfiles; k++) {
        s->files[k].known = 1;
        if (sw_index_file_put(sw_store_index(run->st), s->files[k].disk, &s->files[k].fs, &s->files[k].hash))
            return SW_ERROR;
    }
    s->id = sw_files_id(s);
    return 0;
}

/* Inputs have no key: they are known by their content. */
const sw_stage_kind sw_kind_input = {sw_input_kind_prepare, NULL, NULL, NULL, sw_input_finish, NULL};
