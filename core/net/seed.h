/* seed.h — serving held bundle versions to peers.
 *
 * A seeded version is served straight from the store: its files are hard links to the read-only
 * objects under HOME/seed/<info-hash>/<bundle>/ (cache/home.h), so there is no second copy and a
 * complete torrent never writes. Seeds answer libtorrent's seed-mode piece checks from the torrent
 * (core/net/torrent_disk.cpp): store objects are named by their SHA-256. */
#ifndef SW_SEED_H
#define SW_SEED_H

#include <signal.h>
#include <stdint.h>

#include "base/util.h"
#include "bundle/catalog.h"
#include "cache/store.h"
#include "net/peers.h"

/* Every held version with a torrent, as NAME@VERSION, appended to *out. A version whose manifest does
 * not read is skipped (it is fsck's business). */
int sw_seed_held(sw_strlist *out, sw_store *st, sw_catalog *cat);

/* Adds version ref (NAME@VERSION) to the session as a seed and points it at o's peers and trackers.
 * SW_ENOTFOUND when the version is not held whole, SW_EINVALID when it holds no bytes. */
int sw_seed_add(sw_tsession *s, sw_store *st, sw_catalog *cat, const char *ref, const sw_peer_opts *o);

/* What the seeder did so far, over all its torrents. */
typedef struct {
    int peers;
    int upload_rate;   /* bytes per second */
    uint64_t uploaded; /* payload bytes sent */
} sw_seed_stats;

typedef struct {
    int super_seed;                    /* super seed a version while two or more peers download it */
    const volatile sig_atomic_t *stop; /* returns once *stop is set */
    void (*tick)(void *ctx, const sw_seed_stats *st); /* about once a second; may be NULL */
    void (*warn)(void *ctx, const char *msg);          /* session errors; may be NULL */
    void *ctx;
} sw_seed_opts;

/* Serves the session's n torrents (ids 1..n, added by sw_seed_add) until *o->stop is set. With
 * super_seed, libtorrent's super seeding is on for a torrent while two or more peers download it and off
 * otherwise, so a lone downloader gets the seeder's full speed and a crowd trades what the seeder sent
 * once. It is opt-in: a peer gets one piece at a time from a super seeder, which starves peers that
 * cannot reach one another (behind NAT, or told only of the seeder). */
void sw_seed_run(sw_tsession *s, size_t n, const sw_seed_opts *o);

#endif
