/* ledger.h — the compute swarm's ledger in git (COMPUTE.md): chains of commits under refs/swarm/ in a
 * catalog remote, each commit one record (its message) and maybe a few files (its tree).
 *
 * On the remote a job is refs/swarm/jobs/JOB, its verdicts refs/swarm/verdicts/JOB, and each provider
 * writes only under refs/swarm/peers/KEY/. Here, a remote R's ledger refs are mirrored (fetched, forced)
 * under refs/swarm/ledger/R/ with the same names after refs/swarm/: readers verify every record
 * themselves (core/work/), so a mirror is only a copy. This file knows git, not records: the layer above
 * decides what a commit may say.
 *
 * Chains are linear: walks follow first parents only, and the hook refuses merges. Every walk takes a
 * bound on the commits it visits. Errors are SW_E* codes with a message. */
#ifndef SW_LEDGER_H
#define SW_LEDGER_H

#include <stddef.h>

#include "base/util.h"
#include "bundle/catalog.h"

#define SW_OID_HEX 40

/* Where remote's ref refs/swarm/NAME is mirrored here: refs/swarm/ledger/REMOTE/NAME (caller frees). */
char *sw_ledger_mirror(const char *remote, const char *name);
/* Fetches every refs/swarm/{jobs,verdicts,peers}/ ref of remote into its mirror. */
int sw_ledger_fetch(sw_catalog *c, const char *remote);
/* The refs matching a glob (full names), appended to out, which is then sorted. */
int sw_ledger_list(sw_strlist *out, sw_catalog *c, const char *glob);
/* The commit a ref points at (hex); SW_ENOTFOUND when there is no such ref. */
int sw_ledger_tip(char out[SW_OID_HEX + 1], sw_catalog *c, const char *ref);

/* Called per commit, oldest first: its id (hex), parent count, message. Non-zero stops the walk. */
typedef int (*sw_ledger_fn)(void *ctx, const char *commit, unsigned nparents, const char *msg, size_t len);
/* Walks the first-parent chain from `to` back to (not including) `from` (NULL: to the root), oldest
 * first. More than max commits is SW_EINVALID. A `from` that is not on the chain walks it all. */
int sw_ledger_walk(sw_catalog *c, const char *from, const char *to, size_t max, sw_ledger_fn fn, void *ctx);
/* A commit's message (caller frees) and its number of parents. */
int sw_ledger_commit(char **msg, unsigned *nparents, sw_catalog *c, const char *commit);
/* Whether commit `to` descends from `from` (a fast-forward): 1, 0, or a negative code. */
int sw_ledger_descends(sw_catalog *c, const char *to, const char *from);
/* A file of a commit's tree (caller frees *out; NUL-terminated): SW_ENOTFOUND when absent, SW_EINVALID
 * when it is larger than max or not a plain file. */
int sw_ledger_read(char **out, size_t *len, sw_catalog *c, const char *commit, const char *file, size_t max);
/* The names in a commit's tree, appended to out. */
int sw_ledger_files(sw_strlist *out, sw_catalog *c, const char *commit);

typedef struct {
    const char *name;
    const void *data;
    size_t len;
} sw_ledger_file;
/* Appends a commit with message msg and a tree of files to ref (its parent: ref's commit, none when the
 * ref does not exist) and moves ref to it; the new commit's id in out. */
int sw_ledger_append(char out[SW_OID_HEX + 1], sw_catalog *c, const char *ref, const char *msg,
                     const sw_ledger_file *files, size_t nfiles);
/* Pushes local ref to remote's dest. SW_ECONFLICT when the remote refuses it, with its reason (the
 * hook's message, or a non-fast-forward). */
int sw_ledger_push(sw_catalog *c, const char *remote, const char *local, const char *dest);

/* Creates a bare repository at path for a ledger (refused when path exists and is not empty) with the
 * pre-receive hook `hook` (its whole text). */
int sw_ledger_init(const char *path, const char *hook);
/* Opens the repository a git hook runs in, as git tells it ($GIT_DIR, and during a push the objects
 * not yet accepted through $GIT_OBJECT_DIRECTORY and $GIT_ALTERNATE_OBJECT_DIRECTORIES). */
int sw_ledger_open_env(sw_catalog **out);

#endif
