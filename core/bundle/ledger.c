/* ledger.c — the ledger's refs and commits in git (see ledger.h), over the catalog's repository. */
#include "bundle/ledger.h"
#include "bundle/catalog_git.h"
#include "base/error.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *sw_ledger_mirror(const char *remote, const char *name)
{
    return sw_sprintf("refs/swarm/ledger/%s/%s", remote, name);
}

int sw_ledger_fetch(sw_catalog *c, const char *remote_name)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    git_remote *remote = NULL;
    int r = git_remote_lookup(&remote, c->repo, remote_name);
    if (r == GIT_ENOTFOUND || r == GIT_EINVALIDSPEC)
        return sw_error(SW_ENOTFOUND, "no remote named '%s'", remote_name);
    if (r < 0)
        return sw_git_fail("cannot read the remote");
    static const char *const kinds[] = {"jobs", "verdicts", "peers"};
    char *specs[3];
    for (int i = 0; i < 3; i++)
        specs[i] = sw_sprintf("+refs/swarm/%s/*:refs/swarm/ledger/%s/%s/*", kinds[i], remote_name, kinds[i]);
    git_strarray arr = {specs, 3};
    git_fetch_options opts;
    git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
    opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    int lock = sw_catalog_lock(c);
    r = lock < 0 ? SW_ERROR : git_remote_fetch(remote, &arr, &opts, "swarm ledger") < 0 ? sw_git_fail("fetch failed") : 0;
    /* A ledger has a ref per provider: packed into one file, listing them reads one file, not thousands. */
    git_refdb *db = NULL;
    if (!r && git_repository_refdb(&db, c->repo) == 0)
        git_refdb_compress(db);
    git_refdb_free(db);
    if (lock >= 0)
        close(lock);
    for (int i = 0; i < 3; i++)
        free(specs[i]);
    git_remote_free(remote);
    return r;
}

int sw_ledger_list(sw_strlist *out, sw_catalog *c, const char *glob)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    if (git_reference_foreach_glob(c->repo, glob, sw_collect_ref, out) < 0)
        return sw_git_fail("cannot list the ledger's refs");
    sw_strlist_sort(out);
    return 0;
}

int sw_ledger_tip(char out[SW_OID_HEX + 1], sw_catalog *c, const char *ref)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    git_oid id;
    int r = git_reference_name_to_id(&id, c->repo, ref);
    if (r == GIT_ENOTFOUND || r == GIT_EINVALIDSPEC)
        return sw_error(SW_ENOTFOUND, "no ref %s", ref);
    if (r < 0)
        return sw_git_fail("cannot read a ledger ref");
    git_oid_tostr(out, SW_OID_HEX + 1, &id);
    return 0;
}

static int sw_oid(git_oid *out, const char *hex)
{
    return hex && strlen(hex) == SW_OID_HEX && git_oid_fromstr(out, hex) == 0 ? 0
                                                                           : sw_error(SW_EINVALID, "not a commit id: %.60s", hex ? hex : "");
}

int sw_ledger_walk(sw_catalog *c, const char *from, const char *to, size_t max, sw_ledger_fn fn, void *ctx)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    git_oid at, stop;
    int has_stop = from != NULL;
    if (sw_oid(&at, to) || (has_stop && sw_oid(&stop, from)))
        return SW_EINVALID;
    /* The chain, newest first, collected before any callback: then oldest first. */
    git_oid *chain = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    for (;;) {
        if (has_stop && git_oid_equal(&at, &stop))
            break;
        if (n == max) {
            r = sw_error(SW_EINVALID, "a ledger chain longer than %zu commits", max);
            break;
        }
        sw_grow(&chain, &cap, n + 1, sizeof *chain);
        chain[n++] = at;
        git_commit *cm = NULL;
        if (git_commit_lookup(&cm, c->repo, &at) < 0) {
            r = sw_git_fail("cannot read a ledger commit");
            break;
        }
        int root = git_commit_parentcount(cm) == 0;
        if (!root)
            at = *git_commit_parent_id(cm, 0);
        git_commit_free(cm);
        if (root)
            break;
    }
    for (size_t i = n; !r && i-- > 0;) {
        git_commit *cm = NULL;
        if (git_commit_lookup(&cm, c->repo, &chain[i]) < 0) {
            r = sw_git_fail("cannot read a ledger commit");
            break;
        }
        char hex[SW_OID_HEX + 1];
        git_oid_tostr(hex, sizeof hex, &chain[i]);
        const char *msg = git_commit_message_raw(cm);
        r = fn(ctx, hex, git_commit_parentcount(cm), msg, strlen(msg));
        git_commit_free(cm);
    }
    free(chain);
    return r;
}

/* The commit given in hex (caller frees). */
static int sw_commit_at(git_commit **out, sw_catalog *c, const char *commit)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    git_oid id;
    if (sw_oid(&id, commit))
        return SW_EINVALID;
    return git_commit_lookup(out, c->repo, &id) < 0 ? sw_git_fail("cannot read a ledger commit") : 0;
}

int sw_ledger_commit(char **msg, unsigned *nparents, sw_catalog *c, const char *commit)
{
    git_commit *cm = NULL;
    int r = sw_commit_at(&cm, c, commit);
    if (r)
        return r;
    *msg = sw_strdup(git_commit_message_raw(cm));
    *nparents = git_commit_parentcount(cm);
    git_commit_free(cm);
    return 0;
}

int sw_ledger_descends(sw_catalog *c, const char *to, const char *from)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    git_oid a, b;
    if (sw_oid(&a, to) || sw_oid(&b, from))
        return SW_EINVALID;
    if (git_oid_equal(&a, &b))
        return 1;
    int r = git_graph_descendant_of(c->repo, &a, &b);
    return r < 0 ? sw_git_fail("cannot compare ledger commits") : r;
}

/* The tree of a commit given in hex. */
static int sw_commit_tree(git_tree **out, sw_catalog *c, const char *commit)
{
    git_commit *cm = NULL;
    int r = sw_commit_at(&cm, c, commit);
    if (r)
        return r;
    r = git_commit_tree(out, cm) < 0 ? sw_git_fail("cannot read a ledger commit's tree") : 0;
    git_commit_free(cm);
    return r;
}

int sw_ledger_read(char **out, size_t *len, sw_catalog *c, const char *commit, const char *file, size_t max)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    git_tree *tree = NULL;
    int r = sw_commit_tree(&tree, c, commit);
    if (r)
        return r;
    const git_tree_entry *e = git_tree_entry_byname(tree, file);
    git_blob *blob = NULL;
    if (!e)
        r = sw_error(SW_ENOTFOUND, "commit %.12s has no %s", commit, file);
    else if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
        r = sw_error(SW_EINVALID, "commit %.12s: %s is not a file", commit, file);
    else if (git_blob_lookup(&blob, c->repo, git_tree_entry_id(e)) < 0)
        r = sw_git_fail("cannot read a ledger file");
    else if ((size_t)git_blob_rawsize(blob) > max)
        r = sw_error(SW_EINVALID, "commit %.12s: %s is larger than %zu bytes", commit, file, max);
    if (!r) {
        *len = (size_t)git_blob_rawsize(blob);
        *out = sw_malloc(*len + 1);
        memcpy(*out, git_blob_rawcontent(blob), *len);
        (*out)[*len] = 0;
    }
    git_blob_free(blob);
    git_tree_free(tree);
    return r;
}

int sw_ledger_files(sw_strlist *out, sw_catalog *c, const char *commit)
{
    git_tree *tree = NULL;
    int r = sw_commit_tree(&tree, c, commit);
    for (size_t i = 0; !r && i < git_tree_entrycount(tree); i++)
        sw_strlist_push(out, git_tree_entry_name(git_tree_entry_byindex(tree, i)));
    git_tree_free(tree);
    return r;
}

int sw_ledger_append(char out[SW_OID_HEX + 1], sw_catalog *c, const char *ref, const char *msg,
                     const sw_ledger_file *files, size_t nfiles)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    git_treebuilder *tb = NULL;
    git_tree *tree = NULL;
    git_signature *sig = NULL;
    git_commit *parent = NULL;
    git_oid tree_id, id;
    int r = SW_ERROR, lock = sw_catalog_lock(c);
    if (lock < 0)
        return SW_ERROR;
    if (git_treebuilder_new(&tb, c->repo, NULL) < 0)
        goto fail;
    for (size_t i = 0; i < nfiles; i++) {
        git_oid blob;
        if (git_blob_create_from_buffer(&blob, c->repo, files[i].data, files[i].len) < 0 ||
            git_treebuilder_insert(NULL, tb, files[i].name, &blob, GIT_FILEMODE_BLOB) < 0)
            goto fail;
    }
    if (git_treebuilder_write(&tree_id, tb) < 0 || git_tree_lookup(&tree, c->repo, &tree_id) < 0 ||
        git_signature_now(&sig, "swarm", "swarm@localhost") < 0)
        goto fail;
    int rr = sw_ref_commit(&parent, c->repo, ref);
    if (rr && rr != SW_ENOTFOUND) {
        r = rr;
        goto done;
    }
    const git_commit *parents[1] = {parent};
    if (git_commit_create(&id, c->repo, NULL, sig, sig, NULL, msg, tree, parent ? 1 : 0, parents) < 0)
        goto fail;
    git_reference *newref = NULL;
    if (git_reference_create(&newref, c->repo, ref, &id, 1, "swarm ledger") < 0)
        goto fail;
    git_reference_free(newref);
    git_oid_tostr(out, SW_OID_HEX + 1, &id);
    r = 0;
    goto done;
fail:
    r = sw_git_fail("cannot write to the ledger");
done:
    git_commit_free(parent);
    git_signature_free(sig);
    git_tree_free(tree);
    git_treebuilder_free(tb);
    close(lock);
    return r;
}

/* A push's per-ref status: a refusal (the hook's or git's) is kept for the caller. */
static int sw_ledger_push_status(const char *refname, const char *status, void *payload)
{
    (void)refname;
    char **why = payload;
    if (status && !*why)
        *why = sw_strdup(status);
    return 0;
}

/* Remote messages (the hook's stderr) as a push runs: the last line is kept as the refusal's reason. */
static int sw_ledger_sideband(const char *str, int len, void *payload)
{
    char **last = (char **)payload + 1;
    while (len > 0 && (str[len - 1] == '\n' || str[len - 1] == '\r'))
        len--;
    if (len > 0) {
        free(*last);
        *last = sw_sprintf("%.*s", len, str);
    }
    return 0;
}

int sw_ledger_push(sw_catalog *c, const char *remote_name, const char *local, const char *dest)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    git_remote *remote = NULL;
    int r = git_remote_lookup(&remote, c->repo, remote_name);
    if (r < 0)
        return r == GIT_ENOTFOUND ? sw_error(SW_ENOTFOUND, "no remote named '%s'", remote_name)
                                  : sw_git_fail("cannot read the remote");
    char *why[2] = {NULL, NULL}; /* git's refusal, the remote's last message */
    git_push_options opts;
    git_push_options_init(&opts, GIT_PUSH_OPTIONS_VERSION);
    opts.callbacks.push_update_reference = sw_ledger_push_status;
    opts.callbacks.sideband_progress = sw_ledger_sideband;
    opts.callbacks.payload = why;
    char *spec = sw_sprintf("%s:%s", local, dest);
    git_strarray arr = {&spec, 1};
    r = git_remote_push(remote, &arr, &opts) < 0 ? sw_git_fail("push failed") : 0;
    if (!r && why[0])
        r = sw_error(SW_ECONFLICT, "the ledger refused %s: %s", dest, why[1] ? why[1] : why[0]);
    free(why[0]);
    free(why[1]);
    free(spec);
    git_remote_free(remote);
    return r;
}

int sw_ledger_init(const char *path, const char *hook)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        int empty = 1;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                empty = 0;
        closedir(d);
        if (!empty)
            return sw_error(SW_EEXISTS, "%s exists and is not empty", path);
    }
    git_libgit2_init();
    git_repository *repo = NULL;
    int r = git_repository_init(&repo, path, 1) < 0 ? sw_git_fail("cannot create the ledger") : 0;
    git_repository_free(repo);
    git_libgit2_shutdown();
    char *hookpath = sw_sprintf("%s/hooks/pre-receive", path);
    if (!r)
        r = sw_write_file_atomic(hookpath, hook, strlen(hook), 0755);
    free(hookpath);
    return r;
}

int sw_ledger_open_env(sw_catalog **out)
{
    git_libgit2_init();
    git_repository *repo = NULL;
    if (git_repository_open_ext(&repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL) < 0) {
        int r = sw_git_fail("cannot open the repository the hook runs in");
        git_libgit2_shutdown();
        return r;
    }
    sw_catalog *c = sw_calloc(1, sizeof *c);
    c->repo = repo;
    c->home = NULL;
    *out = c;
    return 0;
}
