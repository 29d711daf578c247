/* catalog.c — bundle versions as git commits and tags, through libgit2 (see catalog.h); remotes, push
 * and pull are remote.c, over the same repository (catalog_git.h). */
#include "bundle/catalog.h"
#include "bundle/catalog_git.h"
#include "base/error.h"
#include "bundle/names.h"
#include "cache/home.h"
#include "bundle/summary.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define SW_RM_FORCE_MEANS "--force removes it here only: the remote keeps it, and a later pull brings it back " \
                          "unless it is removed there too"


/* Turns the last libgit2 error into ours. */
int sw_git_fail(const char *what)
{
    const git_error *e = git_error_last();
    return sw_error(SW_ERROR, "%s: %s", what, e && e->message ? e->message : "git error");
}

static int sw_catalog_lock_home(const char *home);

int sw_catalog_open(sw_catalog **out, const char *home)
{
    sw_catalog *c = sw_calloc(1, sizeof *c);
    c->home = sw_strdup(home);
    *out = c;
    return 0;
}

int sw_catalog_git(sw_catalog *c)
{
    if (c->repo)
        return 0;
    git_libgit2_init();
    git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
    char *path = sw_sprintf("%s/" SW_HOME_CATALOG, c->home);
    git_repository *repo = NULL;
    int r = git_repository_open_bare(&repo, path);
    if (r == GIT_ENOTFOUND) {
        /* First use: create it under the catalog lock, so two processes never both run git's init. */
        int lock = sw_catalog_lock_home(c->home);
        if (lock < 0) {
            free(path);
            git_libgit2_shutdown();
            return SW_ERROR;
        }
        r = git_repository_open_bare(&repo, path);
        if (r == GIT_ENOTFOUND)
            r = git_repository_init(&repo, path, 1);
        close(lock);
    }
    free(path);
    if (r < 0) {
        sw_git_fail("cannot open the catalog");
        git_libgit2_shutdown();
        return SW_ERROR;
    }
    c->repo = repo;
    return 0;
}

int sw_catalog_ready(sw_catalog *c)
{
    return sw_catalog_git(c);
}

const char *sw_catalog_home(const sw_catalog *c)
{
    return c->home;
}

void sw_catalog_free(sw_catalog *c)
{
    if (!c)
        return;
    if (c->repo) { /* libgit2 was started for it */
        git_repository_free(c->repo);
        git_libgit2_shutdown();
    }
    free(c->home);
    free(c);
}

/* Takes HOME/locks/catalog exclusively; returns the fd to close, or -1 with the error set. */
static int sw_catalog_lock_home(const char *home)
{
    char *dir = sw_sprintf("%s/" SW_HOME_LOCKS, home);
    char *path = sw_sprintf("%s/catalog", dir);
    int fd = -1;
    if (!sw_mkdir_p(dir)) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || flock(fd, LOCK_EX) < 0) {
            sw_error_errno(SW_ERROR, "cannot lock %s", path);
            if (fd >= 0)
                close(fd);
            fd = -1;
        }
    }
    free(dir);
    free(path);
    return fd;
}

/* Collects into found (paths relative to the catalog) the files named *.lock under the folder rel
 * (recursively). A folder that cannot be read is skipped: this is a sweep, not a check. */
static void sw_find_locks(sw_strlist *found, const char *gitdir, const char *rel)
{
    char *dir = sw_sprintf("%s%s", gitdir, rel);
    DIR *d = opendir(dir);
    free(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *sub = sw_sprintf("%s/%s", rel, e->d_name);
        size_t n = strlen(e->d_name);
        if (e->d_type == DT_DIR)
            sw_find_locks(found, gitdir, sub);
        else if (n > 5 && !strcmp(e->d_name + n - 5, ".lock"))
            sw_strlist_push(found, sub);
        free(sub);
    }
    if (d)
        closedir(d);
}

/* Removes the git lock files a swarm process killed while writing the catalog left: *.lock under refs/ and
 * packed-refs.lock (libgit2 would otherwise refuse those refs, and every later pull, forever). Called
 * with the catalog lock held: every swarm writer holds it while git writes, so any lock found is stale.
 * Lists what it removed in removed (relative to the catalog) when not NULL. */
static int sw_catalog_clear_locks_held(sw_catalog *c, sw_strlist *removed)
{
    const char *gitdir = git_repository_path(c->repo); /* ends in '/' */
    sw_strlist found = {0};
    sw_find_locks(&found, gitdir, "refs");
    char *packed = sw_sprintf("%spacked-refs.lock", gitdir);
    if (access(packed, F_OK) == 0)
        sw_strlist_push(&found, "packed-refs.lock");
    free(packed);
    int r = 0;
    for (size_t i = 0; i < found.n; i++) {
        char *path = sw_sprintf("%s%s", gitdir, found.v[i]);
        if (unlink(path) < 0 && errno != ENOENT && !r)
            r = sw_error_errno(SW_ERROR, "cannot remove the stale git lock %s", path);
        else if (removed)
            sw_strlist_push(removed, found.v[i]);
        free(path);
    }
    sw_strlist_free(&found);
    return r;
}

/* Takes the catalog lock and clears stale git locks; returns the fd to close, or -1 with the error set. */
int sw_catalog_lock(sw_catalog *c)
{
    if (sw_catalog_git(c)) /* first: opening a new home's catalog takes the lock itself */
        return -1;
    int fd = sw_catalog_lock_home(c->home);
    if (fd >= 0 && sw_catalog_clear_locks_held(c, NULL)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int sw_catalog_clear_locks(sw_strlist *removed, sw_catalog *c)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    int fd = sw_catalog_lock_home(c->home);
    if (fd < 0)
        return SW_ERROR;
    int r = sw_catalog_clear_locks_held(c, removed);
    close(fd);
    return r;
}

/* Creates the tag refs/tags/TAG at commit id. Called with the catalog lock held (stale git locks are
 * cleared when it is taken). */
int sw_catalog_tag(sw_catalog *c, const char *tag, const git_oid *id)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    char *ref = sw_sprintf("refs/tags/%s", tag);
    git_reference *created = NULL;
    int r = git_reference_create(&created, c->repo, ref, id, 0, "swarm") < 0 ? sw_git_fail("cannot tag the version")
                                                                            : 0;
    git_reference_free(created);
    free(ref);
    return r;
}

/* The commit a ref (full name) points at, peeled through annotated tags. */
int sw_ref_commit(git_commit **out, git_repository *repo, const char *refname)
{
    git_reference *ref = NULL;
    git_object *obj = NULL;
    int r = git_reference_lookup(&ref, repo, refname);
    if (r == GIT_ENOTFOUND)
        return SW_ENOTFOUND;
    if (r < 0)
        return sw_git_fail(refname);
    r = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
    git_reference_free(ref);
    if (r < 0)
        return sw_error(SW_EINVALID, "%s does not point at a commit", refname);
    *out = (git_commit *)obj;
    return 0;
}

/* A file of a version commit's tree, at most max bytes: SW_ENOTFOUND when the tree has no such file. */
static int sw_commit_blob(git_blob **out, git_commit *commit, const char *file, size_t max)
{
    git_tree *tree = NULL;
    if (git_commit_tree(&tree, commit) < 0)
        return sw_git_fail("cannot read a version's tree");
    const git_tree_entry *e = git_tree_entry_byname(tree, file);
    int r = 0;
    if (!e)
        r = sw_error(SW_ENOTFOUND, "the version's commit has no %s", file);
    else if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
        r = sw_error(SW_EINVALID, "the version's %s is not a file", file);
    else if (git_blob_lookup(out, git_commit_owner(commit), git_tree_entry_id(e)) < 0)
        r = sw_git_fail("cannot read a version's file");
    else if (git_blob_rawsize(*out) > max) {
        git_blob_free(*out);
        r = sw_error(SW_EINVALID, "the version's %s is larger than %zu bytes", file, max);
    }
    git_tree_free(tree);
    return r;
}

int sw_commit_manifest_blob(git_blob **out, git_commit *commit)
{
    int r = sw_commit_blob(out, commit, SW_MANIFEST_FILE, SW_MANIFEST_MAX);
    return r == SW_ENOTFOUND ? SW_EINVALID : r;
}

static int sw_commit_manifest(sw_manifest **out, git_commit *commit)
{
    git_blob *blob;
    int r = sw_commit_manifest_blob(&blob, commit);
    if (r)
        return r;
    r = sw_manifest_parse(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
    git_blob_free(blob);
    return r;
}

/* HOME/summaries/<blob id>: where the summary of the manifest blob id is kept (caller frees). */
static char *sw_summary_path(sw_catalog *c, const git_oid *blob)
{
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, blob);
    return sw_sprintf("%s/" SW_HOME_SUMMARIES "/%s", c->home, hex);
}

/* Keeps the summary of m, the validated manifest in blob. A summary that cannot be written is only a lost
 * shortcut: the error is dropped and the next listing parses the manifest again. */
void sw_summary_keep(sw_catalog *c, const git_oid *blob, const sw_manifest *m)
{
    char *dir = sw_sprintf("%s/" SW_HOME_SUMMARIES, c->home), *path = sw_summary_path(c, blob);
    sw_msummary s = {0};
    sw_msummary_of(&s, m);
    if (sw_mkdir_p(dir) == 0)
        sw_msummary_save(&s, path);
    sw_msummary_clear(&s);
    free(dir);
    free(path);
}

/* The commit of NAME@VERSION: SW_ENOTFOUND ("unknown version") when there is none. */
static int sw_version_commit(git_commit **out, sw_catalog *c, const char *name, const char *version)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    char *ref = sw_sprintf("refs/tags/%s@%s", name, version);
    int r = sw_ref_commit(out, c->repo, ref);
    free(ref);
    return r == SW_ENOTFOUND ? sw_error(SW_ENOTFOUND, "unknown version %s@%s", name, version) : r;
}

int sw_catalog_read(sw_manifest **out, sw_catalog *c, const char *name, const char *version)
{
    git_commit *commit;
    int r = sw_version_commit(&commit, c, name, version);
    if (r)
        return r;
    r = sw_commit_manifest(out, commit);
    git_commit_free(commit);
    if (r)
        return sw_error_wrap(r, "%s@%s", name, version);
    return 0;
}

int sw_catalog_summary(sw_msummary *out, sw_catalog *c, const char *name, const char *version)
{
    git_commit *commit;
    git_tree *tree = NULL;
    int r = sw_version_commit(&commit, c, name, version);
    if (r)
        return r;
    const git_tree_entry *e = NULL;
    if (git_commit_tree(&tree, commit) == 0)
        e = git_tree_entry_byname(tree, SW_MANIFEST_FILE);
    git_oid blob = {0};
    if (e)
        git_oid_cpy(&blob, git_tree_entry_id(e));
    git_tree_free(tree);
    char *path = e ? sw_summary_path(c, &blob) : NULL;
    r = path ? sw_msummary_load(out, path) : SW_ENOTFOUND;
    free(path);
    if (r) {
        /* No summary yet (or a damaged one): parse and validate the manifest once, and keep its summary. */
        sw_manifest *m;
        r = sw_commit_manifest(&m, commit);
        if (r)
            r = sw_error_wrap(r, "%s@%s", name, version);
        else {
            sw_msummary_of(out, m);
            sw_summary_keep(c, &blob, m);
            sw_manifest_free(m);
        }
    }
    git_commit_free(commit);
    return r;
}

int sw_catalog_read_torrent(unsigned char **out, size_t *len, sw_catalog *c, const char *name, const char *version)
{
    git_commit *commit;
    git_blob *blob;
    int r = sw_version_commit(&commit, c, name, version);
    if (r)
        return r;
    r = sw_commit_blob(&blob, commit, SW_TORRENT_FILE, SW_TORRENT_MAX);
    git_commit_free(commit);
    if (r == SW_ENOTFOUND)
        return sw_error(SW_ENOTFOUND, "%s@%s has no torrent (it holds no bytes)", name, version);
    if (r)
        return r;
    *len = (size_t)git_blob_rawsize(blob);
    *out = sw_malloc(*len ? *len : 1);
    memcpy(*out, git_blob_rawcontent(blob), *len);
    git_blob_free(blob);
    return 0;
}

int sw_catalog_check_pulled(sw_manifest **out, const char *tag, const void *manifest, size_t len,
                            const void *torrent, size_t torrent_len, const sw_pull_checks *checks)
{
    char *name = NULL, *version = NULL;
    sw_manifest *m = NULL;
    int r = sw_ref_parse(&name, &version, tag, 0);
    if (!r)
        r = sw_manifest_parse(&m, manifest, len);
    if (!r && (strcmp(m->name, name) || strcmp(m->version, version)))
        r = sw_error(SW_EINVALID, "the manifest inside is %s@%s", m->name, m->version);
    if (!r && !torrent && m->torrent_v1[0])
        r = sw_error(SW_EINVALID, "the manifest names a torrent the version lacks");
    if (!r && torrent && checks && checks->torrent)
        r = checks->torrent(checks->ctx, m, torrent, torrent_len);
    free(name);
    free(version);
    if (r) {
        sw_manifest_free(m);
        return r;
    }
    *out = m;
    return 0;
}

/* Checks a fetched version commit under tag (sw_catalog_check_pulled on its manifest and torrent). */
int sw_commit_check_pulled(sw_manifest **out, git_commit *commit, const char *tag, const sw_pull_checks *checks)
{
    git_blob *mblob = NULL, *tblob = NULL;
    int r = sw_commit_manifest_blob(&mblob, commit);
    if (!r && (r = sw_commit_blob(&tblob, commit, SW_TORRENT_FILE, SW_TORRENT_MAX)) == SW_ENOTFOUND) {
        r = 0;
        tblob = NULL;
    }
    if (!r)
        r = sw_catalog_check_pulled(out, tag, git_blob_rawcontent(mblob), (size_t)git_blob_rawsize(mblob),
                                    tblob ? git_blob_rawcontent(tblob) : NULL,
                                    tblob ? (size_t)git_blob_rawsize(tblob) : 0, checks);
    git_blob_free(mblob);
    git_blob_free(tblob);
    return r;
}

int sw_catalog_bundles(sw_strlist *out, sw_catalog *c)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    git_strarray tags = {0};
    if (git_tag_list(&tags, c->repo) < 0)
        return sw_git_fail("cannot list the catalog");
    sw_strlist all = {0};
    for (size_t i = 0; i < tags.count; i++) {
        const char *at = strchr(tags.strings[i], '@');
        if (!at)
            continue;
        char *name = strndup(tags.strings[i], (size_t)(at - tags.strings[i]));
        sw_strlist_push(&all, name);
        free(name);
    }
    git_strarray_dispose(&tags);
    sw_strlist_sort(&all);
    for (size_t i = 0; i < all.n; i++)
        if (i == 0 || strcmp(all.v[i], all.v[i - 1]))
            sw_strlist_push(out, all.v[i]);
    sw_strlist_free(&all);
    return 0;
}

typedef struct {
    const char *version;
    git_oid id;
    size_t rank; /* position in the topological walk, parents first */
} sw_vent;

static int sw_vent_by_id(const void *a, const void *b)
{
    return git_oid_cmp(&((const sw_vent *)a)->id, &((const sw_vent *)b)->id);
}

static int sw_vent_by_rank(const void *a, const void *b)
{
    const sw_vent *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return sw_natcmp(x->version, y->version);
}

/* Orders a bundle's versions by their commits: a topological walk (a parent always before its
 * children; unrelated commits by time), so the order is creation order even when versions share a
 * timestamp (SOURCE_DATE_EPOCH). */
int sw_catalog_versions(sw_strlist *out, sw_catalog *c, const char *name)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    char *pattern = sw_sprintf("%s@*", name);
    git_strarray tags = {0};
    int r = git_tag_list_match(&tags, pattern, c->repo);
    free(pattern);
    if (r < 0)
        return sw_git_fail("cannot list the catalog");
    sw_vent *v = sw_calloc(tags.count, sizeof *v);
    size_t n = 0;
    git_revwalk *walk = NULL;
    r = git_revwalk_new(&walk, c->repo) < 0 ? sw_git_fail("cannot walk the catalog") : 0;
    if (!r)
        git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME | GIT_SORT_REVERSE);
    for (size_t i = 0; !r && i < tags.count; i++) {
        char *ref = sw_sprintf("refs/tags/%s", tags.strings[i]);
        git_commit *commit;
        if (sw_ref_commit(&commit, c->repo, ref) == 0) {
            v[n].version = tags.strings[i] + strlen(name) + 1;
            v[n].id = *git_commit_id(commit);
            git_revwalk_push(walk, &v[n++].id);
            git_commit_free(commit);
        }
        free(ref);
    }
    if (n > 1)
        qsort(v, n, sizeof *v, sw_vent_by_id);
    git_oid id;
    for (size_t rank = 0; !r && n && git_revwalk_next(&id, walk) == 0; rank++) {
        sw_vent key = {.id = id};
        sw_vent *hit = bsearch(&key, v, n, sizeof *v, sw_vent_by_id);
        /* Several tags may name one commit: rank them all. */
        for (sw_vent *e = hit; e && e >= v && !git_oid_cmp(&e->id, &id); e--)
            e->rank = rank;
        for (sw_vent *e = hit; e && e < v + n && !git_oid_cmp(&e->id, &id); e++)
            e->rank = rank;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, sw_vent_by_rank);
    for (size_t i = 0; !r && i < n; i++)
        sw_strlist_push(out, v[i].version);
    git_revwalk_free(walk);
    free(v);
    git_strarray_dispose(&tags);
    return r;
}

int sw_catalog_foreach(sw_catalog *c, int (*fn)(void *ctx, const char *name, const char *version), void *ctx)
{
    sw_strlist names = {0};
    int r = sw_catalog_bundles(&names, c);
    for (size_t i = 0; !r && i < names.n; i++) {
        sw_strlist versions = {0};
        r = sw_catalog_versions(&versions, c, names.v[i]);
        for (size_t k = 0; !r && k < versions.n; k++)
            r = fn(ctx, names.v[i], versions.v[k]);
        sw_strlist_free(&versions);
    }
    sw_strlist_free(&names);
    return r;
}

/* The N of a plain auto-numbered version "vN" (a 'v' and digits only): 1 with *n set, else 0. */
static int sw_plain_number(unsigned long *n, const char *v)
{
    if (v[0] != 'v' || v[1] < '0' || v[1] > '9')
        return 0;
    char *end;
    errno = 0;
    *n = strtoul(v + 1, &end, 10);
    return !*end && !errno;
}

/* The next free "vN": one more than the largest N in versions (local and remote-tracked together). */
static char *sw_next_version(const sw_strlist *versions)
{
    unsigned long max = 0, k;
    for (size_t i = 0; i < versions->n; i++)
        if (sw_plain_number(&k, versions->v[i]) && k > max)
            max = k;
    return sw_sprintf("v%lu", max + 1);
}

int sw_catalog_latest(char **out, sw_catalog *c, const char *name)
{
    sw_strlist versions = {0};
    int r = sw_catalog_versions(&versions, c, name);
    if (!r && !versions.n)
        r = sw_error(SW_ENOTFOUND, "unknown bundle '%s'", name);
    if (!r) {
        const char *best = NULL;
        unsigned long best_n = 0, k;
        for (size_t i = 0; i < versions.n; i++)
            if (sw_plain_number(&k, versions.v[i]) && (!best || k > best_n)) {
                best = versions.v[i];
                best_n = k;
            }
        *out = sw_strdup(best ? best : versions.v[versions.n - 1]);
    }
    sw_strlist_free(&versions);
    return r;
}

int sw_collect_ref(const char *name, void *payload)
{
    sw_strlist_push(payload, name);
    return 0;
}

/* Where remote's tracking ref of tag lives (caller frees): refs/swarm/remotes/REMOTE/tags/TAG. */
char *sw_tracking_ref(const char *remote, const char *tag)
{
    return sw_sprintf("refs/swarm/remotes/%s/tags/%s", remote, tag);
}

/* Appends to out the versions of bundle name that the remote-tracking refs of the configured remotes hold
 * (what the last pull or push saw there); a version several remotes hold appears once for each. */
static int sw_tracked_versions(sw_strlist *out, sw_catalog *c, const char *name)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    sw_strlist remotes = {0};
    int r = sw_catalog_remotes(&remotes, NULL, c);
    for (size_t i = 0; !r && i < remotes.n; i++) {
        char *bundle = sw_tracking_ref(remotes.v[i], name);
        char *prefix = sw_sprintf("%s@", bundle), *glob = sw_sprintf("%s@*", bundle);
        free(bundle);
        sw_strlist refs = {0};
        if (git_reference_foreach_glob(c->repo, glob, sw_collect_ref, &refs) < 0)
            r = sw_git_fail("cannot list a remote's versions");
        for (size_t k = 0; !r && k < refs.n; k++)
            sw_strlist_push(out, refs.v[k] + strlen(prefix));
        sw_strlist_free(&refs);
        free(glob);
        free(prefix);
    }
    sw_strlist_free(&remotes);
    return r;
}

int sw_catalog_remote_holders(sw_strlist *out, sw_catalog *c, const char *name, const char *version, int same)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    sw_strlist remotes = {0};
    char *tag = sw_sprintf("%s@%s", name, version), *local = sw_sprintf("refs/tags/%s", tag);
    git_oid ours, theirs;
    int r = sw_catalog_remotes(&remotes, NULL, c);
    if (!r && same && git_reference_name_to_id(&ours, c->repo, local) < 0)
        r = sw_error(SW_ENOTFOUND, "unknown version %s", tag);
    for (size_t i = 0; !r && i < remotes.n; i++) {
        char *ref = sw_tracking_ref(remotes.v[i], tag);
        if (git_reference_name_to_id(&theirs, c->repo, ref) == 0 && (!same || git_oid_equal(&ours, &theirs)))
            sw_strlist_push(out, remotes.v[i]);
        free(ref);
    }
    sw_strlist_free(&remotes);
    free(local);
    free(tag);
    return r;
}

/* 0 when NAME@VERSION may be created: not "latest" (reserved), not a local version, and held by no
 * configured remote as far as its tracking refs tell (a different version there would conflict at the
 * next pull or push). SW_EINVALID or SW_EEXISTS otherwise. */
static int sw_version_free(sw_catalog *c, const char *name, const char *version)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    if (!strcmp(version, SW_VERSION_LATEST))
        return sw_error(SW_EINVALID, "'%s' names a bundle's latest version: choose another version", version);
    char *ref = sw_sprintf("refs/tags/%s@%s", name, version);
    git_oid id;
    int exists = git_reference_name_to_id(&id, c->repo, ref) == 0;
    free(ref);
    if (exists)
        return sw_error(SW_EEXISTS, "%s@%s exists already", name, version);
    sw_strlist holders = {0};
    int r = sw_catalog_remote_holders(&holders, c, name, version, 0);
    if (!r && holders.n)
        r = sw_error(SW_EEXISTS, "%s holds %s@%s already (pull to get it): choose another version", holders.v[0],
                     name, version);
    sw_strlist_free(&holders);
    return r;
}

/* Splits "Name <email>" for a git signature; a bare string becomes the name. */
static int sw_signature(git_signature **out, const char *author, git_time_t when)
{
    const char *lt = strchr(author, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    char *name, *email;
    if (lt && gt) {
        size_t n = (size_t)(lt - author);
        while (n && author[n - 1] == ' ')
            n--;
        name = strndup(author, n);
        email = strndup(lt + 1, (size_t)(gt - lt - 1));
    } else {
        name = sw_strdup(author);
        email = sw_strdup("");
    }
    /* libgit2 refuses an empty e-mail; the manifest keeps the author exactly as given. */
    int r = git_signature_new(out, name && *name ? name : "swarm", email && *email ? email : "unknown", when, 0);
    free(name);
    free(email);
    return r < 0 ? sw_git_fail("bad author") : 0;
}

static git_time_t sw_parse_time(const char *s)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return end && !*end ? (git_time_t)timegm(&tm) : 0;
}

/* Writes the version's tree and commit; the tag is made by the caller. */
static int sw_catalog_commit(git_oid *out, sw_catalog *c, const sw_manifest *m, git_commit *parent,
                             const unsigned char *torrent, size_t torrent_len)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    char *json = sw_manifest_to_json(m);
    git_oid blob_id, tree_id, torrent_id;
    git_treebuilder *tb = NULL;
    git_tree *tree = NULL;
    git_signature *sig = NULL;
    int r = SW_ERROR;
    if (git_blob_create_from_buffer(&blob_id, c->repo, json, strlen(json)) < 0 ||
        git_treebuilder_new(&tb, c->repo, NULL) < 0 ||
        git_treebuilder_insert(NULL, tb, SW_MANIFEST_FILE, &blob_id, GIT_FILEMODE_BLOB) < 0 ||
        (torrent && (git_blob_create_from_buffer(&torrent_id, c->repo, torrent, torrent_len) < 0 ||
                     git_treebuilder_insert(NULL, tb, SW_TORRENT_FILE, &torrent_id, GIT_FILEMODE_BLOB) < 0)) ||
        git_treebuilder_write(&tree_id, tb) < 0 || git_tree_lookup(&tree, c->repo, &tree_id) < 0) {
        sw_git_fail("cannot write to the catalog");
        goto done;
    }
    if (sw_signature(&sig, m->author ? m->author : "", sw_parse_time(m->time)))
        goto done;
    char *msg = m->message && *m->message ? sw_sprintf("%s\n", m->message)
                                          : sw_sprintf("%s@%s\n", m->name, m->version);
    const git_commit *parents[1] = {parent};
    if (git_commit_create(out, c->repo, NULL, sig, sig, NULL, msg, tree, parent ? 1 : 0, parents) < 0)
        sw_git_fail("cannot commit to the catalog");
    else
        r = 0;
    free(msg);
done:
    git_signature_free(sig);
    git_tree_free(tree);
    git_treebuilder_free(tb);
    free(json);
    return r;
}

int sw_catalog_add(sw_catalog *c, sw_manifest *m, const unsigned char *torrent, size_t torrent_len)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    int lock = sw_catalog_lock(c);
    if (lock < 0)
        return SW_ERROR;
    sw_strlist versions = {0}, known = {0};
    git_commit *parent = NULL;
    int r = sw_catalog_versions(&versions, c, m->name);
    if (!r && !m->version) {
        for (size_t i = 0; i < versions.n; i++)
            sw_strlist_push(&known, versions.v[i]);
        if (!(r = sw_tracked_versions(&known, c, m->name)))
            m->version = sw_next_version(&known);
    }
    if (r || (r = sw_version_free(c, m->name, m->version)))
        goto done;
    free(m->parent);
    m->parent = versions.n ? sw_strdup(versions.v[versions.n - 1]) : NULL;
    if (m->parent) {
        char *ref = sw_sprintf("refs/tags/%s@%s", m->name, m->parent);
        r = sw_ref_commit(&parent, c->repo, ref);
        free(ref);
        if (r)
            goto done;
    }
    git_oid id;
    if ((r = sw_catalog_commit(&id, c, m, parent, torrent, torrent_len)))
        goto done;
    char *tag = sw_sprintf("%s@%s", m->name, m->version);
    r = sw_catalog_tag(c, tag, &id);
    free(tag);
done:
    git_commit_free(parent);
    sw_strlist_free(&versions);
    sw_strlist_free(&known);
    close(lock);
    return r;
}

/* A version of bundle name built on the commit id (its commit's parent), or NULL (caller frees). */
static char *sw_version_child(sw_catalog *c, const char *name, const git_oid *id)
{
    if (sw_catalog_git(c))
        return NULL;
    char *pattern = sw_sprintf("%s@*", name), *child = NULL;
    git_strarray tags = {0};
    if (git_tag_list_match(&tags, pattern, c->repo) < 0)
        tags.count = 0;
    for (size_t i = 0; !child && i < tags.count; i++) {
        char *ref = sw_sprintf("refs/tags/%s", tags.strings[i]);
        git_commit *commit;
        if (sw_ref_commit(&commit, c->repo, ref) == 0) {
            if (git_commit_parentcount(commit) > 0 && git_oid_equal(git_commit_parent_id(commit, 0), id))
                child = sw_strdup(tags.strings[i]);
            git_commit_free(commit);
        }
        free(ref);
    }
    git_strarray_dispose(&tags);
    free(pattern);
    return child;
}

/* The checks before a local version leaves its tag (rm, rename), with the catalog lock held: it exists
 * (*out gets its commit), no version is built on it, and, unless force, no configured remote holds it
 * (the remotes that do are appended to pushed, which may be NULL). rm: for rm (else rename), which the
 * messages name. */
static int sw_version_movable(git_commit **out, sw_strlist *pushed, sw_catalog *c, const char *name,
                              const char *version, int force, int rm)
{
    int r = sw_version_commit(out, c, name, version);
    if (r)
        return r;
    char *child = sw_version_child(c, name, git_commit_id(*out));
    sw_strlist holders = {0};
    if (child)
        r = sw_error(SW_ECONFLICT, "%s@%s is the parent of %s: %s", name, version, child,
                     rm ? "remove that first" : "only a version nothing is built on can be renamed");
    else if (!(r = sw_catalog_remote_holders(&holders, c, name, version, 1)) && holders.n && !force)
        r = sw_error(SW_ECONFLICT, "%s@%s was pushed to %s (others may depend on it); %s", name, version,
                     holders.v[0], rm ? SW_RM_FORCE_MEANS : "it cannot be renamed");
    for (size_t i = 0; pushed && i < holders.n; i++)
        sw_strlist_push(pushed, holders.v[i]);
    free(child);
    sw_strlist_free(&holders);
    if (r) {
        git_commit_free(*out);
        *out = NULL;
    }
    return r;
}

/* Deletes the local tag NAME@VERSION. */
static int sw_untag(sw_catalog *c, const char *name, const char *version)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    char *tag = sw_sprintf("%s@%s", name, version);
    int r = git_tag_delete(c->repo, tag) < 0 ? sw_git_fail("cannot remove the version's tag") : 0;
    free(tag);
    return r;
}

int sw_catalog_remove(sw_strlist *pushed, sw_catalog *c, const char *name, const char *version, int force)
{
    int lock = sw_catalog_lock(c);
    if (lock < 0)
        return SW_ERROR;
    git_commit *commit = NULL;
    int r = sw_version_movable(&commit, pushed, c, name, version, force, 1);
    if (!r)
        r = sw_untag(c, name, version);
    git_commit_free(commit);
    close(lock);
    return r;
}

/* Commits version's manifest, renamed to, with the same parent commit and torrent as commit. */
static int sw_recommit_as(git_oid *out, sw_catalog *c, git_commit *commit, const char *to)
{
    sw_manifest *m = NULL;
    git_blob *torrent = NULL;
    git_commit *parent = NULL;
    int r = sw_commit_manifest(&m, commit);
    if (!r && (r = sw_commit_blob(&torrent, commit, SW_TORRENT_FILE, SW_TORRENT_MAX)) == SW_ENOTFOUND)
        r = 0;
    if (!r && git_commit_parentcount(commit) > 0 && git_commit_parent(&parent, commit, 0) < 0)
        r = sw_git_fail("cannot read the version's parent");
    if (!r) {
        free(m->version);
        m->version = sw_strdup(to);
        r = sw_catalog_commit(out, c, m, parent, torrent ? git_blob_rawcontent(torrent) : NULL,
                              torrent ? (size_t)git_blob_rawsize(torrent) : 0);
    }
    git_commit_free(parent);
    git_blob_free(torrent);
    sw_manifest_free(m);
    return r;
}

int sw_catalog_rename(sw_catalog *c, const char *name, const char *from, const char *to)
{
    int lock = sw_catalog_lock(c);
    if (lock < 0)
        return SW_ERROR;
    git_commit *commit = NULL;
    git_oid id;
    int r = sw_version_free(c, name, to);
    if (!r)
        r = sw_version_movable(&commit, NULL, c, name, from, 0, 0);
    if (!r)
        r = sw_recommit_as(&id, c, commit, to);
    if (!r) {
        char *tag = sw_sprintf("%s@%s", name, to);
        r = sw_catalog_tag(c, tag, &id);
        free(tag);
    }
    if (!r)
        r = sw_untag(c, name, from);
    git_commit_free(commit);
    close(lock);
    return r;
}
