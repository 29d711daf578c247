/* catalog_git.h — the catalog's git repository, shared by catalog.c (versions as tags) and remote.c
 * (remotes, push and pull). Not an API: only those two files and ledger.c (the compute swarm's refs) include it.
 *
 * A version NAME@VERSION is the tag refs/tags/NAME@VERSION on a commit whose tree holds manifest.json and,
 * for a version with bytes, bundle.torrent; a remote's versions, as last pulled or pushed, are the refs
 * refs/swarm/remotes/REMOTE/tags/NAME@VERSION. */
#ifndef SW_CATALOG_GIT_H
#define SW_CATALOG_GIT_H

#include <git2.h>

#include "base/util.h"
#include "bundle/catalog.h"

#define SW_MANIFEST_FILE "manifest.json"
#define SW_TORRENT_FILE "bundle.torrent"
#define SW_TORRENT_MAX (64u << 20)
#define SW_MANIFEST_MAX (256u << 20)

struct sw_catalog {
    git_repository *repo; /* NULL until sw_catalog_git */
    char *home;
};

/* Opens the catalog's repository on first use (creating it in a new home), so that a command that never
 * reads the catalog (a pipeline of local files) does not pay libgit2's start-up: 8 ms, most of it loading
 * the CA certificates. Every function that touches c->repo calls it first, and never with the catalog
 * lock held: making a new home's catalog takes that lock (sw_catalog_lock opens the catalog first). */
int sw_catalog_git(sw_catalog *c);

/* Turns the last libgit2 error into ours. */
int sw_git_fail(const char *what);
/* Takes the catalog lock and clears stale git locks; returns the fd to close, or -1 with the error set. */
int sw_catalog_lock(sw_catalog *c);
/* Creates the tag refs/tags/TAG at commit id. Called with the catalog lock held (stale git locks are
 * cleared when it is taken). */
int sw_catalog_tag(sw_catalog *c, const char *tag, const git_oid *id);
/* The commit a ref (full name) points at, peeled through annotated tags. */
int sw_ref_commit(git_commit **out, git_repository *repo, const char *refname);
/* The manifest.json blob of a version's commit (SW_EINVALID when it has none or it is too large). */
int sw_commit_manifest_blob(git_blob **out, git_commit *commit);
/* Checks a fetched version commit under tag (sw_catalog_check_pulled on its manifest and torrent). */
int sw_commit_check_pulled(sw_manifest **out, git_commit *commit, const char *tag, const sw_pull_checks *checks);
/* Keeps the summary of m, the validated manifest in blob. A summary that cannot be written is only a lost
 * shortcut: the error is dropped and the next listing parses the manifest again. */
void sw_summary_keep(sw_catalog *c, const git_oid *blob, const sw_manifest *m);
/* A git_reference_foreach_glob callback: pushes each ref's name onto the sw_strlist at payload. */
int sw_collect_ref(const char *name, void *payload);
/* Where remote's tracking ref of tag lives (caller frees): refs/swarm/remotes/REMOTE/tags/TAG. */
char *sw_tracking_ref(const char *remote, const char *tag);

#endif
