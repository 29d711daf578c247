/* remote.c — the catalog's remotes, push and pull (rules in catalog.h), over the repository of
 * catalog_git.h. */
#include "bundle/catalog.h"
#include "bundle/catalog_git.h"
#include "base/error.h"
#include "bundle/names.h"
#include "bundle/summary.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sw_catalog_remote_add(sw_catalog *c, const char *name, const char *url, const sw_strlist *trackers)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    for (size_t i = 0; trackers && i < trackers->n; i++)
        if (strncmp(trackers->v[i], "http://", 7) && strncmp(trackers->v[i], "https://", 8) &&
            strncmp(trackers->v[i], "udp://", 6))
            return sw_error(SW_EINVALID, "tracker '%s' is not an http://, https:// or udp:// URL", trackers->v[i]);
    git_remote *remote = NULL;
    int r = git_remote_create(&remote, c->repo, name, url);
    git_remote_free(remote);
    if (r == GIT_EEXISTS)
        return sw_error(SW_EEXISTS, "remote '%s' exists already", name);
    if (r == GIT_EINVALIDSPEC)
        return sw_error(SW_EINVALID, "'%s' is not a valid remote name", name);
    if (r < 0)
        return sw_git_fail("cannot add the remote");
    git_config *cfg = NULL;
    char *key = sw_sprintf("remote.%s.tracker", name);
    r = git_repository_config(&cfg, c->repo) < 0 ? sw_git_fail("cannot open the catalog's config") : 0;
    for (size_t i = 0; !r && trackers && i < trackers->n; i++)
        if (git_config_set_multivar(cfg, key, "^$", trackers->v[i]) < 0)
            r = sw_git_fail("cannot record the tracker");
    git_config_free(cfg);
    free(key);
    return r;
}

static int sw_collect_tracker(const git_config_entry *e, void *payload)
{
    sw_strlist *l = payload;
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], e->value))
            return 0;
    sw_strlist_push(l, e->value);
    return 0;
}

int sw_catalog_trackers(sw_strlist *out, sw_catalog *c)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    git_config *cfg = NULL;
    if (git_repository_config(&cfg, c->repo) < 0)
        return sw_git_fail("cannot open the catalog's config");
    int r = git_config_foreach_match(cfg, "^remote\\..*\\.tracker$", sw_collect_tracker, out);
    git_config_free(cfg);
    return r < 0 ? sw_git_fail("cannot read trackers") : 0;
}

int sw_catalog_remotes(sw_strlist *names, sw_strlist *urls, sw_catalog *c)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    git_strarray list = {0};
    if (git_remote_list(&list, c->repo) < 0)
        return sw_git_fail("cannot list remotes");
    for (size_t i = 0; i < list.count; i++) {
        git_remote *remote;
        if (git_remote_lookup(&remote, c->repo, list.strings[i]) < 0)
            continue;
        sw_strlist_push(names, list.strings[i]);
        if (urls)
            sw_strlist_push(urls, git_remote_url(remote) ? git_remote_url(remote) : "");
        git_remote_free(remote);
    }
    git_strarray_dispose(&list);
    return 0;
}

int sw_catalog_default_remote(char **out, sw_catalog *c)
{
    sw_strlist names = {0};
    int r = sw_catalog_remotes(&names, NULL, c);
    if (r)
        return r;
    *out = NULL;
    for (size_t i = 0; i < names.n; i++)
        if (!strcmp(names.v[i], "origin"))
            *out = sw_strdup("origin");
    if (!*out && names.n == 1)
        *out = sw_strdup(names.v[0]);
    if (!*out)
        r = sw_error(SW_EINVALID, names.n ? "several remotes and none is 'origin': name one"
                                          : "no remote: add one with 'swarm remote add NAME URL'");
    sw_strlist_free(&names);
    return r;
}

static int sw_lookup_remote(git_remote **out, sw_catalog *c, const char *name)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    int r = git_remote_lookup(out, c->repo, name);
    if (r == GIT_ENOTFOUND || r == GIT_EINVALIDSPEC)
        return sw_error(SW_ENOTFOUND, "no remote named '%s'", name);
    return r < 0 ? sw_git_fail("cannot read the remote") : 0;
}

static int sw_push_update(const char *refname, const char *status, void *payload)
{
    if (status) {
        const char *tag = !strncmp(refname, "refs/tags/", 10) ? refname + 10 : refname;
        char *line = sw_sprintf("%s: %s", tag, status);
        sw_strlist_push(payload, line);
        free(line);
    }
    return 0;
}

/* Records that remote holds each of tags as we do: refs/swarm/remotes/REMOTE/tags/TAG, what pull's fetch
 * writes, so rm and rename know the version was pushed. Under the catalog lock; a ref that cannot be
 * written only leaves the view stale until the next pull rewrites it, so errors are dropped. */
static void sw_track_pushed(sw_catalog *c, const char *remote, const sw_strlist *tags)
{
    if (sw_catalog_git(c))
        return;
    int lock = sw_catalog_lock(c);
    if (lock < 0)
        return;
    for (size_t i = 0; i < tags->n; i++) {
        char *local = sw_sprintf("refs/tags/%s", tags->v[i]), *tracking = sw_tracking_ref(remote, tags->v[i]);
        git_oid id;
        git_reference *ref = NULL;
        if (git_reference_name_to_id(&id, c->repo, local) == 0)
            git_reference_create(&ref, c->repo, tracking, &id, 1, "swarm push");
        git_reference_free(ref);
        free(local);
        free(tracking);
    }
    close(lock);
}

/* Whether rejected (from index from on) holds a line "TAG: ..." for tag. */
static int sw_was_rejected(const sw_strlist *rejected, size_t from, const char *tag)
{
    size_t n = strlen(tag);
    for (size_t i = from; i < rejected->n; i++)
        if (!strncmp(rejected->v[i], tag, n) && !strncmp(rejected->v[i] + n, ": ", 2))
            return 1;
    return 0;
}

int sw_catalog_push(sw_catalog *c, const char *remote_name, size_t *pushed, sw_strlist *rejected)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    git_remote *remote;
    int r = sw_lookup_remote(&remote, c, remote_name);
    if (r)
        return r;
    git_strarray tags = {0};
    if (git_tag_list(&tags, c->repo) < 0) {
        git_remote_free(remote);
        return sw_git_fail("cannot list the catalog");
    }
    git_push_options opts;
    git_push_options_init(&opts, GIT_PUSH_OPTIONS_VERSION);
    opts.callbacks.push_update_reference = sw_push_update;
    opts.callbacks.payload = rejected;
    /* Tags the remote already has are never sent: the same commit needs nothing, and a different one is
     * refused here (libgit2 would fail the whole push, or move the tag when it is a fast-forward). */
    const git_remote_head **heads = NULL;
    size_t nheads = 0;
    if (git_remote_connect(remote, GIT_DIRECTION_PUSH, &opts.callbacks, &opts.proxy_opts, NULL) < 0 ||
        git_remote_ls(&heads, &nheads, remote) < 0)
        r = sw_git_fail("push failed");
    sw_strlist specs = {0}, sent = {0}, held = {0}; /* refspecs, their tags, tags the remote holds as we do */
    for (size_t i = 0; !r && i < tags.count; i++) {
        char *ref = sw_sprintf("refs/tags/%s", tags.strings[i]);
        git_oid ours;
        const git_remote_head *theirs = NULL;
        for (size_t k = 0; k < nheads && !theirs; k++)
            if (!strcmp(heads[k]->name, ref))
                theirs = heads[k];
        if (git_reference_name_to_id(&ours, c->repo, ref) < 0)
            r = sw_git_fail("cannot read a version tag");
        else if (theirs && !git_oid_equal(&theirs->oid, &ours))
            sw_push_update(ref, "it holds a different version under that tag", rejected);
        else if (theirs)
            sw_strlist_push(&held, tags.strings[i]);
        else {
            char *spec = sw_sprintf("%s:%s", ref, ref);
            sw_strlist_push(&specs, spec);
            sw_strlist_push(&sent, tags.strings[i]);
            free(spec);
        }
        free(ref);
    }
    git_strarray_dispose(&tags);
    size_t before_push = rejected->n;
    if (!r && specs.n) {
        git_strarray arr = {specs.v, specs.n};
        if (git_remote_push(remote, &arr, &opts) < 0)
            r = sw_git_fail("push failed");
    }
    git_remote_disconnect(remote);
    *pushed = r ? 0 : specs.n - (rejected->n - before_push);
    for (size_t i = 0; !r && i < sent.n; i++)
        if (!sw_was_rejected(rejected, before_push, sent.v[i]))
            sw_strlist_push(&held, sent.v[i]);
    if (!r)
        sw_track_pushed(c, remote_name, &held);
    sw_strlist_free(&specs);
    sw_strlist_free(&sent);
    sw_strlist_free(&held);
    git_remote_free(remote);
    return r;
}

void sw_pull_report_free(sw_pull_report *r)
{
    sw_strlist_free(&r->added);
    sw_strlist_free(&r->conflicts);
    sw_strlist_free(&r->rejected);
}

static void sw_reject(sw_pull_report *rep, const char *tag)
{
    char *line = sw_sprintf("%s: %s", tag, sw_error_last());
    sw_strlist_push(&rep->rejected, line);
    free(line);
}

/* Imports one fetched tag (refname under refs/swarm/remotes/R/tags/) as described in catalog.h. */
static void sw_pull_one(sw_catalog *c, const char *refname, const char *tag, sw_pull_report *rep,
                        const sw_pull_checks *checks)
{
    if (sw_catalog_git(c))
        return;
    char *local_ref = NULL;
    git_commit *theirs = NULL, *ours = NULL;
    git_blob *their_blob = NULL, *our_blob = NULL;
    sw_manifest *m = NULL;
    if (sw_ref_commit(&theirs, c->repo, refname) || sw_commit_check_pulled(&m, theirs, tag, checks) ||
        sw_commit_manifest_blob(&their_blob, theirs)) {
        sw_reject(rep, tag);
        goto done;
    }
    local_ref = sw_sprintf("refs/tags/%s", tag);
    int r = sw_ref_commit(&ours, c->repo, local_ref);
    if (r == 0) {
        if (sw_commit_manifest_blob(&our_blob, ours) == 0 &&
            git_oid_equal(git_blob_id(our_blob), git_blob_id(their_blob)))
            rep->unchanged++;
        else
            sw_strlist_push(&rep->conflicts, tag);
        goto done;
    }
    /* A version built on a parent we hold differently would fork the bundle's history: refuse it. */
    if (m->parent && git_commit_parentcount(theirs) > 0) {
        char *parent_ref = sw_sprintf("refs/tags/%s@%s", m->name, m->parent);
        git_oid parent_here;
        int differs = git_reference_name_to_id(&parent_here, c->repo, parent_ref) == 0 &&
                      !git_oid_equal(&parent_here, git_commit_parent_id(theirs, 0));
        free(parent_ref);
        if (differs) {
            sw_error(SW_ECONFLICT, "its parent %s@%s differs here", m->name, m->parent);
            sw_reject(rep, tag);
            goto done;
        }
    }
    if ((checks && checks->manifest && checks->manifest(checks->ctx, m)) || sw_catalog_tag(c, tag, git_commit_id(theirs)))
        sw_reject(rep, tag);
    else {
        sw_strlist_push(&rep->added, tag);
        sw_summary_keep(c, git_blob_id(their_blob), m);
    }
done:
    sw_manifest_free(m);
    git_blob_free(their_blob);
    git_blob_free(our_blob);
    git_commit_free(theirs);
    git_commit_free(ours);
    free(local_ref);
}

int sw_catalog_pull(sw_catalog *c, const char *remote_name, sw_pull_report *rep, const sw_pull_checks *checks)
{
    if (sw_catalog_git(c))
        return SW_ERROR;
    git_remote *remote;
    int r = sw_lookup_remote(&remote, c, remote_name);
    if (r)
        return r;
    char *prefix = sw_sprintf("refs/swarm/remotes/%s/tags/", remote_name);
    char *spec = sw_sprintf("+refs/tags/*:%s*", prefix);
    git_fetch_options opts;
    git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
    opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    opts.prune = GIT_FETCH_PRUNE;
    char *specs[] = {spec};
    git_strarray arr = {specs, 1};
    /* The fetch writes refs/swarm/remotes/REMOTE/: under the catalog lock, like every catalog write. */
    int lock = sw_catalog_lock(c);
    if (lock < 0) {
        r = SW_ERROR;
        goto done;
    }
    if (git_remote_fetch(remote, &arr, &opts, "swarm pull") < 0) {
        r = sw_git_fail("fetch failed");
        close(lock);
        goto done;
    }
    sw_strlist refs = {0};
    char *glob = sw_sprintf("%s*", prefix);
    if (git_reference_foreach_glob(c->repo, glob, sw_collect_ref, &refs) < 0)
        r = sw_git_fail("cannot list fetched versions");
    for (size_t i = 0; !r && i < refs.n; i++)
        sw_pull_one(c, refs.v[i], refs.v[i] + strlen(prefix), rep, checks);
    free(glob);
    sw_strlist_free(&refs);
    close(lock);
done:
    free(spec);
    free(prefix);
    git_remote_free(remote);
    return r;
}
