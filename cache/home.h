/* home.h — the folders and files of a swarm home, declared in one place.
 *
 *   objects/XX/<64 hex>   immutable, read-only object files (XX = the first two hex digits) (cache/store.c)
 *   tmp/                  objects being written; anything here after a crash is garbage (gc, fsck)
 *   quarantine/           objects fsck found corrupt, kept for inspection
 *   index.db              chunk index, pins, the stage cache and its latest runs (cache/index.c)
 *   catalog/              the git catalog of bundle versions (core/bundle/catalog.c)
 *   locks/                flock files: "store" (shared by every process using the store, gc included),
 *                         "catalog" (exclusive while a version is committed), "owner-TOKEN" (one per
 *                         process with the store open, locked while it lives: its temp files are
 *                         tmp/put-TOKEN-*, removed by the next process once the owner is gone; its
 *                         mtime is when the process first committed an object, which gc keeps)
 *   summaries/<blob id>   small summaries of validated manifests (name, version, sizes, object ids), so
 *                         that ls need not parse every manifest (core/bundle/catalog.c)
 *   seed/<info-hash>/     seeding views: hard links to a version's objects, remade by every seed
 *                         (core/net/seed.c); they hold no bytes of their own
 *   keys/ed25519.pem      the home's private key, 0600 in a 0700 folder (core/work/ident.c)
 *   work/                 units being computed, one folder each, removed when done (core/work/unit.c)
 *   ledger.db             ledger chains already checked, as rows (core/work/chain.c)
 *   incoming/<info-hash>/ a get's files while they download (core/net/fetch.c); kept after an
 *                         interrupted get, which the next get of that version resumes, removed when
 *                         the version is in the store
 *
 * Every path below a home is built from these names, never spelled out elsewhere. */
#ifndef SW_HOME_H
#define SW_HOME_H

#define SW_HOME_OBJECTS "objects"
#define SW_HOME_TMP "tmp"
#define SW_HOME_QUARANTINE "quarantine"
#define SW_HOME_INDEX "index.db"
#define SW_HOME_CATALOG "catalog"
#define SW_HOME_LOCKS "locks"
#define SW_HOME_SUMMARIES "summaries"
#define SW_HOME_SEED "seed"
#define SW_HOME_INCOMING "incoming"
#define SW_HOME_KEYS "keys"
#define SW_HOME_WORK "work"
#define SW_HOME_LEDGER_DB "ledger.db"

#endif
