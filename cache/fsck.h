/* fsck.h — checking and collecting the store.
 *
 * sw_store_fsck re-hashes every object in one pass that also re-hashes its recorded chunks. An object
 * whose bytes do not match its name is moved to quarantine/ (corrupt). Chunk records that are missing,
 * do not tile the object or do not match its bytes are rebuilt from the object (repaired: this is what a
 * crash between an object's rename and its index commit leaves). Rows naming absent objects are dropped.
 *
 * sw_store_gc removes every object that is neither in keep nor pinned, and every file in tmp/. It needs
 * the store opened SW_STORE_EXCLUSIVE, so no other process is writing. */
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

/* keep: the objects to keep besides pinned ones, in any order. */
int sw_store_gc(sw_store *st, const sw_hash *keep, size_t nkeep, uint64_t *objects, uint64_t *bytes,
                uint64_t *temp_files);

/* Sorts hashes in memcmp order and removes duplicates; returns the new count. */
size_t sw_hash_sort_unique(sw_hash *v, size_t n);

#endif
