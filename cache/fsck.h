/* fsck.h — checking and collecting the store.
 *
 * sw_store_fsck re-hashes every object in one pass that also re-hashes its recorded chunks. An object
 * whose bytes do not match its name is moved to quarantine/ (corrupt). Chunk records that are missing,
 * do not tile the object or do not match its bytes are rebuilt from the object (repaired: this is what a
 * crash between an object's rename and its index commit leaves). Rows naming absent objects are dropped.
 *
 * sw_store_gc removes every object that nothing may still need, while other processes use the store
 * (seeders, gets, adds, pipeline runs): it opens the store shared, like them. Why that is safe:
 *   - Every object a version names is kept: the caller lists them from the catalog (a snapshot, read
 *     before the objects are walked), and pinned objects (the stage cache's, after its policy ran) too.
 *   - An object is committed before anything references it (a version, a stage record), so between its
 *     commit and that reference it looks unreferenced. Such objects are kept by time, as git's
 *     gc.pruneExpire does: sw_store_commit gives an object it writes, or finds already there, the mtime
 *     now, and gc keeps every object whose mtime is after `before` (the caller's grace period,
 *     one hour by default) or at or after the first commit of any process still running
 *     (sw_store_writers_since): a long add's first objects stay however long it runs. The mtime is read
 *     again just before each unlink, so only a write within that instant can race, as in git.
 *   - An object with more than one link is kept: a seeding view (HOME/seed/...) links it, and a running
 *     seeder reads it through that link; removing the store's name would free nothing anyway.
 *   - A live process's temp files are never touched (its owner lock says it is alive); a dead
 *     process's are removed, and any other file in tmp/ older than `before`.
 *   - A process that dies mid-gc (kill -9) leaves objects or index rows of objects no longer present
 *     (fsck drops those rows); it never removes a referenced object, since every removal is decided on
 *     its own from the snapshot.
 * With a grace period of zero ("--prune now") an add or pipeline that is between its commits and its
 * reference may lose objects: use it only when nothing else writes to the home. */
#ifndef SW_FSCK_H
#define SW_FSCK_H

#include "cache/store.h"

typedef struct {
    uint64_t objects, bytes;  /* checked */
    uint64_t corrupt;         /* quarantined */
    uint64_t reindexed;       /* chunk records rebuilt */
    uint64_t orphan_rows;     /* objects with rows but no file: rows dropped */
    uint64_t strays;          /* files under objects/ that are not objects */
    uint64_t temp_files;      /* left in tmp/ by interrupted writes */
} sw_fsck_report;

/* Each problem found is passed to report as one line. Returns 0 even when problems were found (see rep);
 * a negative code only when the check itself could not run. */
int sw_store_fsck(sw_store *st, sw_fsck_report *rep, void (*report)(void *ctx, const char *line), void *ctx);

typedef struct {
    uint64_t objects, bytes; /* removed, and the bytes freed (temp files' included) */
    uint64_t temp_files;     /* removed from tmp/ */
    uint64_t recent;         /* unreferenced but kept: made or freshened after the grace time */
    uint64_t linked;         /* unreferenced but kept: linked from a seeding view */
} sw_gc_report;

/* keep: the objects to keep besides pinned ones, in any order; before: objects whose mtime is after it
 * stay (the grace time). */
int sw_store_gc(sw_gc_report *rep, sw_store *st, const sw_hash *keep, size_t nkeep, time_t before);

/* Sorts hashes in memcmp order and removes duplicates; returns the new count. */
size_t sw_hash_sort_unique(sw_hash *v, size_t n);

#endif
