/* fetch.h — getting a bundle version from peers into the store.
 *
 * The version's files download into HOME/incoming/<info-hash>/<bundle>/ (cache/home.h). First every
 * chunk the store already holds is placed at its offset in the new files (cache/place.h: copies, never
 * links, since libtorrent writes into these files), so libtorrent's check finds those pieces present
 * and fetches only the rest. While the download runs, a checker hashes each file as soon as the
 * verified prefix covers it (getcheck.h); when every piece is in, each file must match its manifest
 * SHA-256 before it is renamed into the store. A file that does not match is deleted and nothing of the
 * version is recorded. An interrupted fetch leaves its incoming files, and the next fetch of the same
 * version resumes from them (libtorrent re-checks them on add).
 *
 * While every connected peer is a seed, pieces are asked for in order: rarest-first only pays where
 * peers trade with one another, and in order the checker hashes each file while the rest arrives. With
 * other downloaders around it is rarest-first again. */
#ifndef SW_FETCH_H
#define SW_FETCH_H

#include <signal.h>
#include <stdint.h>

#include "bundle/catalog.h"
#include "bundle/manifest.h"
#include "cache/store.h"
#include "net/peers.h"

#define SW_FETCH_LONELY_S 5.0

typedef struct {
    const sw_peer_opts *peers;
    double timeout;                    /* seconds, 0 = none */
    const volatile sig_atomic_t *stop; /* the fetch stops with an error once *stop is set; NULL = never */
    /* Only these paths of each version (libtorrent's file priorities; the pieces at their edges are
     * fetched whole, and only these files are checked and admitted); NULL = every file. */
    const sw_strlist *only;
    /* Called after each poll of the session (about ten times a second) with the torrent's status. */
    void (*progress)(void *ctx, const sw_tstatus *ts);
    /* Called for each peer banned for sending bad data ("ADDRESS:PORT"). */
    void (*banned)(void *ctx, const char *peer);
    /* Called once when no peer has connected SW_FETCH_LONELY_S seconds into the download, with a message
     * naming the ways to give one. */
    void (*lonely)(void *ctx, const char *msg);
    void *ctx; /* for the callbacks, which may be NULL */
} sw_fetch_opts;

typedef struct {
    uint64_t downloaded; /* payload bytes received (all, including those that failed their piece hash) */
    uint64_t reused;     /* bytes placed from chunks held here */
    uint64_t failed;     /* bytes that failed their piece hash */
} sw_fetch_report;

/* Resolves a magnet link ("magnet:?xt=urn:btih:...") or the path of a .torrent file to the version of
 * the catalog with that info-hash (caller frees *out); a .torrent must describe exactly that version's
 * files. SW_ENOTFOUND when no version has it, SW_EINVALID for a bad link or torrent. */
int sw_fetch_resolve(sw_manifest **out, sw_catalog *cat, const char *what);

/* Fetches version m (which need not be missing: held files are simply not downloaded again) and admits
 * its files to the store; *rep says what moved. Fails on a timeout, *o->stop, a torrent error or a file
 * that does not match the manifest, with sw_error saying which; what was downloaded stays in incoming/
 * for a later fetch to resume. */
int sw_fetch(sw_fetch_report *rep, sw_store *st, sw_catalog *cat, const sw_manifest *m, const sw_fetch_opts *o);
/* The same for n versions in one session, at once (a collector gathering many small versions waits for
 * peers once, not once per version); progress reports their sum. A version's torrent is the item's
 * bytes when given (they must describe the manifest: sw_bundle_torrent_check_bytes), else the
 * catalog's; so a version need not be in the catalog to be fetched. */
typedef struct {
    const sw_manifest *m;
    const void *torrent; /* or NULL */
    size_t torrent_len;
} sw_fetch_item;
int sw_fetch_all(sw_fetch_report *rep, sw_store *st, sw_catalog *cat, const sw_fetch_item *items, size_t n,
                 const sw_fetch_opts *o);

#endif
