/* peers.c — sessions and their peers (see peers.h). */
#include "net/peers.h"
#include "base/error.h"

#include <stdlib.h>
#include <string.h>

void sw_peer_opts_free(sw_peer_opts *o)
{
    sw_strlist_free(&o->peers);
    sw_strlist_free(&o->trackers);
}

static int sw_is_loopback(const char *listen)
{
    return !strncmp(listen, "127.", 4) || !strncmp(listen, "[::1]", 5) || !strncmp(listen, "localhost", 9);
}

int sw_peer_session(sw_tsession **out, const sw_peer_opts *o, const char *default_listen)
{
    const char *listen = o->listen ? o->listen : default_listen;
    int local = sw_is_loopback(listen);
    char *iface = sw_sprintf("listen_interfaces=%s", listen);
    char *up = sw_sprintf("upload_rate_limit=%ld", o->up_limit);
    char *down = sw_sprintf("download_rate_limit=%ld", o->down_limit);
    const char *settings[] = {iface,
                              up,
                              down,
                              o->no_dht || local ? "enable_dht=false" : "enable_dht=true",
                              o->no_lsd || local ? "enable_lsd=false" : "enable_lsd=true",
                              "enable_upnp=false",
                              "enable_natpmp=false",
                              /* a collector fetching many small versions from a few peers opens a
                               * connection per version and peer: libtorrent's 30 a second would take
                               * seconds before the first byte */
                              "connection_speed=500",
                              NULL};
    int r = sw_tsession_new(out, settings);
    free(iface);
    free(up);
    free(down);
    return r;
}

int sw_peer_apply(sw_tsession *s, int id, const sw_peer_opts *o)
{
    for (size_t i = 0; i < o->peers.n; i++) {
        char *host = sw_strdup(o->peers.v[i]);
        char *colon = strrchr(host, ':');
        if (!colon) {
            free(host);
            return sw_error(SW_EINVALID, "a peer is HOST:PORT, not '%s'", o->peers.v[i]);
        }
        *colon = 0;
        char *h = host;
        if (h[0] == '[' && colon > h && colon[-1] == ']') { /* [::1]:port */
            h++;
            colon[-1] = 0;
        }
        int r = sw_tsession_connect(s, id, h, atoi(colon + 1));
        free(host);
        if (r)
            return r;
    }
    for (size_t i = 0; i < o->trackers.n; i++)
        if (sw_tsession_add_tracker(s, id, o->trackers.v[i]))
            return SW_ERROR;
    return 0;
}
