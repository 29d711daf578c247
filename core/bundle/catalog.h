/* catalog.h — the catalog of bundle versions: a bare git repository in HOME/catalog (libgit2).
 *
 * Each version is one commit whose tree holds manifest.json and, when the version has bytes, its torrent
 * bundle.torrent (bundle_torrent.h), tagged NAME@VERSION (a lightweight tag);
 * its parent commit is the bundle's previous version. Tags are the truth: a bundle's versions are the
 * tags NAME@*, ordered by commit time, then by natural version order. Writers (add, pull's fetch and
 * import) hold HOME/locks/catalog, so concurrent `swarm add`s of one bundle get distinct versions, and
 * any git lock file found while holding it was left by a killed process and is removed. libgit2 fsyncs
 * what it writes.
 *
 * Push records each version the remote then holds as we do under refs/swarm/remotes/REMOTE/tags/, as
 * pull does: those refs tell rm and rename what was pushed, and add which vN a remote already holds.
 *
 * Pull fetches a remote's tags into refs/swarm/remotes/REMOTE/tags/, validates each version's manifest
 * (sw_manifest_parse, the tag must match the manifest's name and version, and the torrent must describe
 * exactly the manifest's files with the info-hash it records) and only then creates the local tag. It never moves an existing tag: a different manifest under a known tag is a conflict.
 *
 * Ownership: sw_catalog_open returns a catalog freed with sw_catalog_free (NULL is fine). */
#ifndef SW_CATALOG_H
#define SW_CATALOG_H

#include "bundle/manifest.h"
#include "bundle/summary.h"
#include "base/util.h"

typedef struct sw_catalog sw_catalog;

/* The catalog of home. Its git repository is opened (and, in a new home, made) when first used, so this
 * does not fail; the first function that reads or writes the catalog reports a catalog it cannot open. */
int sw_catalog_open(sw_catalog **out, const char *home);
/* Opens the catalog's repository now: for a command that would otherwise find a catalog it cannot open
 * only after long work (add, before it reads its files). 0, or SW_ERROR with the reason. */
int sw_catalog_ready(sw_catalog *c);
void sw_catalog_free(sw_catalog *c);
/* The home the catalog belongs to. */
const char *sw_catalog_home(const sw_catalog *c);

/* Bundle names, sorted. */
int sw_catalog_bundles(sw_strlist *out, sw_catalog *c);
/* A bundle's versions, oldest first; empty when the bundle is unknown. */
int sw_catalog_versions(sw_strlist *out, sw_catalog *c, const char *name);
/* Calls fn for every version of every bundle (bundles sorted, versions oldest first) until fn returns
 * non-zero, which is passed on. */
int sw_catalog_foreach(sw_catalog *c, int (*fn)(void *ctx, const char *name, const char *version), void *ctx);
/* A version's manifest: SW_ENOTFOUND when there is no such version. */
int sw_catalog_read(sw_manifest **out, sw_catalog *c, const char *name, const char *version);

/* A version's summary (summary.h): read from HOME/summaries/ when kept there (pull and add keep one for
 * each manifest they validated), else from its manifest, which is then parsed and validated once.
 * SW_ENOTFOUND when there is no such version. */
int sw_catalog_summary(sw_msummary *out, sw_catalog *c, const char *name, const char *version);

/* The torrent stored with a version (malloc'd); SW_ENOTFOUND when the version has none (no bytes). */
int sw_catalog_read_torrent(unsigned char **out, size_t *len, sw_catalog *c, const char *name, const char *version);

/* The version name that stands for a bundle's latest version wherever a version is taken. */
#define SW_VERSION_LATEST "latest"

/* A bundle's latest version (malloc'd): the plain auto-numbered version "vN" with the largest N, else
 * (no plain version) the newest in catalog order. Derived names such as v2-bf16 or rc1 are never the
 * latest while a vN exists. SW_ENOTFOUND ("unknown bundle") when the bundle has no version. */
int sw_catalog_latest(char **out, sw_catalog *c, const char *name);

/* Commits m, with its torrent when torrent is not NULL, as a new version. When m->version is NULL the
 * next free "vN" is assigned: one more than the largest N among the local versions and those the
 * configured remotes' tracking refs hold. m->parent is set to the bundle's newest version (catalog
 * order). SW_EEXISTS when the version is taken here or a remote holds it (its tracking ref);
 * SW_EINVALID for the reserved version "latest". */
int sw_catalog_add(sw_catalog *c, sw_manifest *m, const unsigned char *torrent, size_t torrent_len);

/* Removes the local version NAME@VERSION (its tag; gc then collects objects no other version uses).
 * Refuses (SW_ECONFLICT) a version another version is built on (its parent), naming it, and, unless
 * force, one a configured remote holds at the same commit (pushed, or pulled from it). The remotes that
 * hold it are appended to pushed (may be NULL). */
int sw_catalog_remove(sw_strlist *pushed, sw_catalog *c, const char *name, const char *version, int force);
/* Renames the local version NAME@FROM to NAME@TO: a new commit of the same manifest (version TO), parent
 * and torrent, tagged TO; FROM's tag is removed. Refuses what remove refuses (never forced), and a TO that
 * add would refuse. */
int sw_catalog_rename(sw_catalog *c, const char *name, const char *from, const char *to);
/* Appends to out the configured remotes whose tracking ref (refs/swarm/remotes/R/tags/, written by pull
 * and push) holds NAME@VERSION: at the local version's commit when same, else at any commit. */
int sw_catalog_remote_holders(sw_strlist *out, sw_catalog *c, const char *name, const char *version, int same);

/* Removes the git lock files (*.lock under refs/, packed-refs.lock) left by a process killed while writing the
 * catalog, under the catalog lock (every swarm writer also clears them when it takes the lock). Appends
 * each removed one, relative to the catalog folder, to removed. */
int sw_catalog_clear_locks(sw_strlist *removed, sw_catalog *c);

/* Remotes: plain git remotes of the catalog. A remote may list BitTorrent trackers (kept in the catalog's
 * git config as remote.NAME.tracker); seed and get announce to the trackers of every remote. */
int sw_catalog_remote_add(sw_catalog *c, const char *name, const char *url, const sw_strlist *trackers);
int sw_catalog_trackers(sw_strlist *out, sw_catalog *c);
int sw_catalog_remotes(sw_strlist *names, sw_strlist *urls, sw_catalog *c);
/* The remote to use when none is named: "origin", else the only one. */
int sw_catalog_default_remote(char **out, sw_catalog *c);

typedef struct {
    sw_strlist added;     /* NAME@VERSION newly known */
    sw_strlist conflicts; /* "NAME@VERSION" whose remote manifest differs from ours */
    sw_strlist rejected;  /* "NAME@VERSION: reason" refused by validation */
    size_t unchanged;
} sw_pull_report;
void sw_pull_report_free(sw_pull_report *r);

/* Pushes every version tag to the remote. *rejected lists "TAG: reason" for tags the remote refused
 * (e.g. it holds a different version under that tag); the call still returns 0 then. */
int sw_catalog_push(sw_catalog *c, const char *remote, size_t *pushed, sw_strlist *rejected);
/* What the caller checks of each pulled version, from the layers above the catalog (the data plane knows
 * torrents, the store knows objects). Each returns non-zero with sw_error set to refuse the version.
 * torrent: asked about every validated manifest that names its torrent, with the version's torrent bytes
 * (a version that names one it lacks is refused before). manifest: asked about each new manifest, last. */
typedef struct {
    int (*torrent)(void *ctx, const sw_manifest *m, const void *torrent, size_t len);
    int (*manifest)(void *ctx, const sw_manifest *m);
    void *ctx;
} sw_pull_checks;

/* Fetches and imports the remote's versions (rules above), asking checks (NULL: none) about each. */
int sw_catalog_pull(sw_catalog *c, const char *remote, sw_pull_report *rep, const sw_pull_checks *checks);
/* The checks of a fetched version before its tag is imported (rules above): tag is NAME@VERSION, the
 * manifest (len bytes) parses and is that version, a version that names a torrent has one (torrent NULL
 * when it has none), and checks->torrent accepts it. *out gets the manifest; SW_EINVALID with the reason. */
int sw_catalog_check_pulled(sw_manifest **out, const char *tag, const void *manifest, size_t len,
                            const void *torrent, size_t torrent_len, const sw_pull_checks *checks);

#endif
