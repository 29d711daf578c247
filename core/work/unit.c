/* unit.c — one unit in a child process (see unit.h). */
#include "work/unit.h"
#include "base/error.h"
#include "bundle/bundle.h"
#include "bundle/filelist.h"
#include "cache/home.h"
#include "net/bundle_torrent.h"
#include "net/getcheck.h"
#include "work/record.h"
#include "work/view.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SW_ASAN 1
#endif
#endif

void sw_unit_output_clear(sw_unit_output *o)
{
    sw_manifest_free(o->m);
    free(o->torrent);
    json_decref(o->files);
    memset(o, 0, sizeof *o);
}

char *sw_unit_bundle(const char *unit)
{
    return sw_sprintf("unit-%.16s", unit);
}

size_t sw_unit_sweep(const char *home)
{
    char *work = sw_sprintf("%s/" SW_HOME_WORK, home);
    DIR *d = opendir(work);
    struct dirent *e;
    size_t n = 0;
    while (d && (e = readdir(d)) != NULL) {
        const char *dash = strrchr(e->d_name, '-');
        char *end;
        long pid = dash ? strtol(dash + 1, &end, 10) : 0;
        if (!dash || pid <= 0 || *end || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue;
        char *dir = sw_sprintf("%s/%s", work, e->d_name);
        n += sw_rm_rf(dir) == 0;
        free(dir);
    }
    if (d)
        closedir(d);
    free(work);
    return n;
}


/* Fetches version ref unless its files in only (NULL: all) are held. */
static int sw_fetch_part(sw_store *st, sw_catalog *cat, const char *ref, const sw_strlist *only, const sw_fetch_opts *o)
{
    sw_manifest *m = NULL;
    int r = sw_bundle_read(&m, cat, ref), held = 1;
    for (size_t i = 0; !r && i < m->nfiles; i++)
        if (sw_fetch_wants(only, m->files[i].path) && sw_store_stat(st, &m->files[i].hash, NULL))
            held = 0;
    if (!r && !held) {
        sw_fetch_opts fo = *o;
        fo.only = only;
        sw_fetch_report rep;
        r = sw_fetch(&rep, st, cat, m, &fo);
    }
    sw_manifest_free(m);
    return r;
}

int sw_unit_fetch(sw_store *st, sw_catalog *cat, const sw_job *j, const size_t *units, size_t n,
                  const sw_fetch_opts *o)
{
    sw_strlist only = {0};
    for (size_t i = 0; i < n; i++)
        sw_strlist_push(&only, j->units[units[i]].file);
    int r = sw_fetch_part(st, cat, sw_rec_str(j->spec, "input"), &only, o);
    sw_strlist_free(&only);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(j->spec, "bound"), k, v) {
        const char *ref = sw_rec_str(json_object_get(j->spec, "params"), k);
        if (!r)
            r = ref ? sw_fetch_part(st, cat, ref, NULL, o) : sw_error(SW_EINVALID, "param %s names no version", k);
    }
    return r;
}

/* A held version of the catalog, read and checked to be all held. */
static int sw_held_version(sw_manifest **m, sw_store *st, sw_catalog *cat, const char *ref)
{
    int r = sw_bundle_read(m, cat, ref);
    if (!r && !sw_bundle_held(*m, st)) {
        sw_manifest_free(*m);
        *m = NULL;
        r = sw_error(SW_ENOTFOUND, "%s is not held here", ref);
    }
    return r;
}

/* Lays out the unit's folder: pipeline.lua, out/, and p/PARAM/ for each bound param (checked to be the
 * job's version by its files id). single gets PARAM -> FILE for versions of one file. */
static int sw_unit_prepare(json_t *single, sw_store *st, sw_catalog *cat, const sw_job *j, const sw_unit *u,
                           const char *dir)
{
    sw_manifest *m = NULL;
    int r = sw_bundle_read(&m, cat, sw_rec_str(j->spec, "input"));
    const sw_mfile *f = r ? NULL : sw_manifest_find(m, u->file);
    char hex[SW_HEX_LEN + 1] = "";
    if (f)
        sw_hash_hex(hex, &f->hash);
    if (!r && strcmp(hex, u->sha256))
        r = sw_error(SW_EINVALID, "%s here has no %s with the job's SHA-256", sw_rec_str(j->spec, "input"), u->file);
    else if (!r && sw_store_stat(st, &f->hash, NULL))
        r = sw_error(SW_ENOTFOUND, "%s of %s is not held here", u->file, sw_rec_str(j->spec, "input"));
    sw_manifest_free(m);
    char *sub = sw_sprintf("%s/out", dir);
    if (!r)
        r = sw_mkdir_p(sub);
    free(sub);
    sub = sw_sprintf("%s/" SW_JOB_PIPELINE_FILE, dir);
    if (!r)
        r = sw_write_file_atomic(sub, j->pipeline, j->pipeline_len, 0444);
    free(sub);
    const char *k;
    json_t *id;
    json_object_foreach(json_object_get(j->spec, "bound"), k, id) {
        const char *ref = sw_rec_str(json_object_get(j->spec, "params"), k);
        char got[SW_HEX_LEN + 7];
        m = NULL;
        if (r || (r = sw_held_version(&m, st, cat, ref ? ref : "")))
            break;
        sw_job_files_id(got, m);
        if (strcmp(got, json_string_value(id) ? json_string_value(id) : ""))
            r = sw_error(SW_EINVALID, "param %s: %s here holds other files than the job's", k, ref);
        sub = sw_sprintf("%s/p/%s", dir, k);
        if (!r)
            r = sw_bundle_checkout(st, m, sub, 0, NULL, NULL);
        if (!r && m->nfiles == 1)
            json_object_set_new(single, k, json_string(m->files[0].path));
        free(sub);
        sw_manifest_free(m);
    }
    return r;
}

/* Writes text to a /proc file in one write; 0 or -1. */
static int sw_write_small(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    int r = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return r;
}

/* Maps id to itself in the new user namespace, so files keep their owner (git checks it). */
static int sw_map_id(const char *path, unsigned id)
{
    char line[64];
    snprintf(line, sizeof line, "%u %u 1\n", id, id);
    return sw_write_small(path, line);
}

/* In the child, before exec: limits, no network where possible, stdio to the log, and death with the
 * provider (parent): a provider killed mid-unit must not leave its unit computing. Never returns on
 * failure: exits 127. */
static void sw_unit_child(const char *dir, const sw_unit_opts *o, char **argv, pid_t parent)
{
    if (chdir(dir) < 0)
        _exit(127);
    int log = open("log", O_WRONLY | O_CREAT | O_TRUNC, 0644), null = open("/dev/null", O_RDONLY);
    if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
        _exit(127);
    setpgid(0, 0);
#ifndef SW_ASAN /* AddressSanitizer reserves terabytes of address space up front */
    struct rlimit as = {o->mem_limit ? o->mem_limit : 16ull << 30, o->mem_limit ? o->mem_limit : 16ull << 30};
    setrlimit(RLIMIT_AS, &as);
#endif
    rlim_t cpu = (rlim_t)(o->cpu_limit > 0 ? o->cpu_limit : 6 * 3600);
    struct rlimit c = {cpu, cpu}, fs = {64ull << 30, 64ull << 30}, nf = {4096, 4096};
    setrlimit(RLIMIT_CPU, &c);
    setrlimit(RLIMIT_FSIZE, &fs);
    setrlimit(RLIMIT_NOFILE, &nf);
    /* No network for the unit where the kernel allows an unprivileged user to make namespaces; where it
     * does not, the sandbox of the pipeline language is what keeps a unit off the network. */
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0 && sw_map_id("/proc/self/uid_map", uid) == 0 &&
        sw_write_small("/proc/self/setgroups", "deny") == 0 && sw_map_id("/proc/self/gid_map", gid) == 0)
        fprintf(stderr, "swarm: unit: running without network\n");
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(127);
    execv(argv[0], argv);
    _exit(127);
}

/* The last non-empty line of the unit's log (caller frees), for an error. */
static char *sw_unit_last_line(const char *dir)
{
    char *path = sw_sprintf("%s/log", dir), *text = NULL, *line = NULL;
    size_t len = 0;
    if (sw_read_file(&text, &len, path, 1 << 20) == 0) {
        while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
            text[--len] = 0;
        char *nl = strrchr(text, '\n');
        line = sw_strdup(nl ? nl + 1 : text);
    }
    free(text);
    free(path);
    return line ? line : sw_strdup("(no output)");
}

/* Runs the child and waits for it, killing its process group when *o->stop is set. */
static int sw_unit_exec(const char *dir, const sw_unit_opts *o, char **argv)
{
    pid_t parent = getpid(), pid = fork();
    if (pid < 0)
        return sw_error_errno(SW_ERROR, "cannot start the unit");
    if (pid == 0)
        sw_unit_child(dir, o, argv, parent);
    int status = 0, killed = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0)
            return sw_error_errno(SW_ERROR, "cannot wait for the unit");
        if (!killed && o->stop && *o->stop) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            killed = 1;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (killed)
        return sw_error(SW_ERROR, "stopped");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    char *last = sw_unit_last_line(dir);
    int r = WIFSIGNALED(status) ? sw_error(SW_ERROR, "the unit's pipeline was killed by signal %d (%s)",
                                           WTERMSIG(status), last)
                                : sw_error(SW_ERROR, "the unit's pipeline failed: %s", last);
    free(last);
    return r;
}

/* The child's argument vector (NULL-terminated, caller frees with sw_strlist_free). */
static void sw_unit_argv(sw_strlist *a, const char *home, const sw_unit_opts *o, const sw_strlist *keys,
                         const sw_strlist *vals)
{
    char *exe = sw_exe_dir(), *self = sw_sprintf("%s/swarm", exe ? exe : ".");
    char *abs = realpath(home, NULL); /* the child runs in the unit's folder */
    char jobs[16];
    snprintf(jobs, sizeof jobs, "%d", o->jobs > 0 ? o->jobs : 1);
    const char *head[] = {self, "--home", abs ? abs : home, "-q", "pipeline", "run", SW_JOB_PIPELINE_FILE, "--jobs", jobs};
    for (size_t i = 0; i < sizeof head / sizeof *head; i++)
        sw_strlist_push(a, head[i]);
    for (size_t i = 0; o->plugin_dirs && i < o->plugin_dirs->n; i++) {
        char *real = realpath(o->plugin_dirs->v[i], NULL);
        sw_strlist_push(a, "--plugin-path");
        sw_strlist_push(a, real ? real : o->plugin_dirs->v[i]);
        free(real);
    }
    for (size_t i = 0; i < keys->n; i++) {
        char *set = sw_sprintf("%s=%s", keys->v[i], vals->v[i]);
        sw_strlist_push(a, "--set");
        sw_strlist_push(a, set);
        free(set);
    }
    sw_grow(&a->v, &a->cap, a->n + 1, sizeof *a->v);
    a->v[a->n] = NULL;
    free(abs);
    free(self);
    free(exe);
}

/* Stores the files under out/ and lists them in the unit's manifest, with its torrent. */
static int sw_unit_collect(sw_unit_output *out, sw_store *st, const char *dir, const char *unit)
{
    sw_filelist l = {0};
    char *outdir = sw_sprintf("%s/out", dir);
    int r = sw_filelist_collect(&l, outdir, "", 0);
    out->m = sw_manifest_new();
    out->m->name = sw_unit_bundle(unit);
    out->m->version = sw_strdup("v1");
    out->m->time = sw_strdup("1970-01-01T00:00:00Z");
    out->m->author = sw_strdup("swarm");
    out->m->message = sw_sprintf("unit %s", unit);
    if (!r && l.n == 0)
        r = sw_error(SW_EINVALID, "the unit wrote no output");
    for (size_t i = 0; i < l.n && !r; i++) {
        sw_object obj;
        if ((r = sw_store_put_file(&obj, st, l.v[i].src, NULL, NULL)) == 0) {
            sw_manifest_add_file(out->m, l.v[i].dst, obj.size, l.v[i].mode, &obj.hash, obj.chunks, obj.nchunks);
            sw_object_clear(&obj);
        }
    }
    if (!r)
        r = sw_manifest_sort(out->m);
    if (!r)
        r = sw_bundle_torrent_make(&out->torrent, &out->torrent_len, out->m->torrent_v1, st, out->m, NULL);
    if (!r) {
        out->files = json_array();
        for (size_t i = 0; i < out->m->nfiles; i++) {
            char hex[SW_HEX_LEN + 1];
            sw_hash_hex(hex, &out->m->files[i].hash);
            json_array_append_new(out->files, json_pack("[s, I, s]", out->m->files[i].path,
                                                        (json_int_t)out->m->files[i].size, hex));
        }
        sw_outputs_id(out->outputs_id, out->files, out->m->torrent_v1);
    }
    sw_filelist_free(&l);
    free(outdir);
    return r;
}

int sw_unit_run(sw_unit_output *out, sw_store *st, sw_catalog *cat, const sw_job *j, const sw_unit *u,
                const sw_unit_opts *o)
{
    memset(out, 0, sizeof *out);
    const char *home = sw_store_home(st);
    char *dir = sw_sprintf("%s/" SW_HOME_WORK "/%.16s-%ld", home, u->id, (long)getpid());
    json_t *single = json_object();
    sw_strlist keys = {0}, vals = {0}, argv = {0};
    sw_rm_rf(dir);
    int r = sw_unit_prepare(single, st, cat, j, u, dir);
    if (!r)
        r = sw_job_unit_sets(&keys, &vals, j, u, single);
    if (!r) {
        sw_unit_argv(&argv, home, o, &keys, &vals);
        r = sw_unit_exec(dir, o, argv.v);
    }
    if (!r)
        r = sw_unit_collect(out, st, dir, u->id);
    if (r)
        sw_unit_output_clear(out);
    sw_rm_rf(dir);
    sw_strlist_free(&argv);
    sw_strlist_free(&keys);
    sw_strlist_free(&vals);
    json_decref(single);
    free(dir);
    return r;
}
