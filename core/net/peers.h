/* peers.h — how a session finds and talks to peers: the options seed, get and pipeline inputs share.
 *
 * Discovery: explicit peers (connect to HOST:PORT), trackers, and DHT and local peer discovery unless
 * turned off or the session listens on a loopback address, where there is nothing to discover. UPnP
 * and NAT-PMP are never used: they would probe the local gateway. */
#ifndef SW_PEERS_H
#define SW_PEERS_H

#include "base/util.h"
#include "net/torrent.h"

typedef struct {
    const char *listen;        /* ADDRESS:PORT, or NULL for the caller's default */
    sw_strlist peers;          /* HOST:PORT (IPv6 as [ADDR]:PORT) */
    sw_strlist trackers;       /* announce URLs */
    int no_dht, no_lsd;
    long up_limit, down_limit; /* bytes per second, 0 = none */
} sw_peer_opts;
/* Releases the lists (not the struct). */
void sw_peer_opts_free(sw_peer_opts *o);

/* Starts a session listening on o->listen (default_listen when NULL), with o's discovery settings. */
int sw_peer_session(sw_tsession **out, const sw_peer_opts *o, const char *default_listen);
/* Points torrent id at o's peers and trackers. SW_EINVALID for a peer that is not HOST:PORT. */
int sw_peer_apply(sw_tsession *s, int id, const sw_peer_opts *o);

#endif
