/* bundle_torrent.h — a bundle version as a BitTorrent torrent, made deterministically from its manifest.
 *
 * The torrent is v1, multi-file, rooted at a folder named after the bundle (not the version: the same
 * content is the same torrent), files in manifest order (sorted by path), no pad files, no dates, and a
 * fixed piece-size rule (sw_piece_size). So every peer derives the same info-hash for the same files,
 * and stock clients (aria2, Transmission) can use it. */
#ifndef SW_BUNDLE_TORRENT_H
#define SW_BUNDLE_TORRENT_H

#include "bundle/catalog.h"
#include "bundle/manifest.h"
#include "cache/store.h"
#include "net/torrent.h"

/* The piece size for total bytes: the smallest power of two from 256 KiB up that keeps the torrent at
 * 16384 pieces or fewer, capped at 16 MiB. Small pieces keep delta fetches precise (a changed region
 * costs at most a piece on each side); the cap keeps .torrent files under about 330 KB up to 4 GiB. */
uint32_t sw_piece_size(uint64_t total);

/* Makes the version's torrent from its objects (all must be held), hashing pieces on two threads.
 * trackers: NULL-terminated announce URLs or NULL. */
int sw_bundle_torrent_make(unsigned char **out, size_t *len, char ih_hex[41], sw_store *st, const sw_manifest *m,
                           const char *const *trackers);

/* 0 when the torrent describes exactly the manifest's files (root folder = bundle name, same paths in
 * the same order, same sizes, the piece size of the rule, and the info-hash the manifest records);
 * otherwise SW_EINVALID saying what differs. */
int sw_bundle_torrent_check(const sw_torrent_info *ti, const sw_manifest *m);
/* The same for a torrent's bytes (bencoded): SW_EINVALID when they do not parse or differ. */
int sw_bundle_torrent_check_bytes(const sw_manifest *m, const void *torrent, size_t len);

/* Creates a bundle version: the one way to do it (swarm add, pipelines' publish). Sorts m's files,
 * makes its torrent from the held objects (recording the info-hash in m; none for a version with no
 * bytes) and commits manifest and torrent to the catalog (sw_catalog_add: its rules on names, parents
 * and tags apply). It lives beside the torrents, not in core/bundle/, because a version carries its
 * torrent and making one takes the libtorrent shim. */
int sw_bundle_commit(sw_catalog *cat, sw_store *st, sw_manifest *m);
/* sw_bundle_commit with the torrent's piece hashes made while the files were stored
 * (sw_store_put_file_pieces, one file after another in the manifest's order, then sw_pieces_end), so no
 * object is read again. pieces may be NULL; when they do not fit m's files (order, sizes, piece size),
 * the pieces are hashed from the objects as by sw_bundle_commit. Same torrent, byte for byte, either way. */
int sw_bundle_commit_pieces(sw_catalog *cat, sw_store *st, sw_manifest *m, const sw_pieces *pieces);

#endif
