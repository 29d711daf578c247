/* torrent.h — swarm's C API over libtorrent-rasterbar 2.0. torrent.cpp and its disk I/O, torrent_disk.cpp,
 * are the only C++ in the project.
 *
 * A session is opaque; torrents in it are small integer ids; settings are passed by libtorrent's own
 * names ("name=value"); events are copied into plain C structs by a poll call (no callbacks into C),
 * and an fd becomes readable when events wait, for poll(2). Every function catches every C++ exception
 * and returns 0 or a negative SW_E* code with the message in the thread's error slot (error.h).
 *
 * Defaults every session gets before the caller's settings (facts measured with libtorrent 2.0.8 are
 * in ../shared/ARCHITECTURE.md): the shim's own disk I/O, torrent_disk.cpp (libtorrent's mmap backend
 * drives the downloader's RSS up to the file size, its posix one does all disk work on the network
 * thread), max_retry_port_bind=0 and listen_system_port_fallback off (a busy port is an error, not
 * port+1 or a port the OS picks), allow_multiple_connections_per_ip (several local peers), uTP off (11-15 MB/s
 * to hand-added peers against 300+ MB/s over TCP), stop_tracker_timeout=1 (shutdown waits for tracker
 * goodbyes that long), torrents added unmanaged (the queue would pause them), alerts for errors, status,
 * storage and peers.
 *
 * Ownership: sw_tsession_new returns a session freed with sw_tsession_free (NULL is fine), which shuts
 * it down within a bounded time. Buffers returned through out-parameters are malloc'd; the caller frees.
 * A session is used from one thread. */
#ifndef SW_TORRENT_H
#define SW_TORRENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SW_SHA1_LEN 20

/* ---- torrent files ------------------------------------------------------------------------------ */

typedef struct {
    const char *path; /* relative, '/'-separated, inside the torrent's root folder */
    uint64_t size;
} sw_tfile;

/* Builds a v1 multi-file torrent, deterministically: the files in the order given (callers sort them),
 * no pad files, no creation date, no file attributes or mtimes, "created by" fixed to "swarm". The
 * piece hashes (SHA-1 of each piece of the files' concatenation, npieces of them) are computed by the
 * caller. trackers: NULL-terminated list of announce URLs, or NULL. Writes the bencoded .torrent to
 * *out (length in *len) and the v1 info-hash as 40 hex digits to ih_hex. */
int sw_torrent_create(unsigned char **out, size_t *len, char ih_hex[41], const char *name, const sw_tfile *files,
                      size_t nfiles, uint32_t piece_size, const unsigned char (*pieces)[SW_SHA1_LEN],
                      size_t npieces, const char *const *trackers);

/* What a .torrent says, for checking it against a manifest. Paths are as in the torrent, relative to
 * its root folder `name` (callers validate them). Free with sw_torrent_info_free. */
typedef struct {
    char *name;
    char ih_hex[41]; /* v1 info-hash, or "" when the torrent has none */
    uint32_t piece_size;
    sw_tfile *files; /* paths owned by this struct; pad files left out */
    size_t nfiles;
} sw_torrent_info;
int sw_torrent_parse(sw_torrent_info *out, const void *data, size_t len);
void sw_torrent_info_free(sw_torrent_info *info);

/* A magnet link for the torrent: xt=urn:btih:<v1 hash>, dn=<name>, and a tr= per tracker in it. */
int sw_torrent_magnet(char **out, const void *data, size_t len);

/* ---- sessions ----------------------------------------------------------------------------------- */

typedef struct sw_tsession sw_tsession;

/* settings: NULL-terminated "name=value" strings with libtorrent's setting names, applied after the
 * defaults above, e.g. "listen_interfaces=127.0.0.1:6881", "enable_dht=false", "upload_rate_limit=1000000".
 * An unknown name or a bad value is SW_EINVALID naming it. Fails when the listen address is taken. */
int sw_tsession_new(sw_tsession **out, const char *const *settings);
void sw_tsession_free(sw_tsession *s);
/* The TCP port the session listens on (useful with port 0), or a negative code. */
int sw_tsession_port(sw_tsession *s);

enum {
    SW_TADD_SEED = 1,   /* the files are complete: seed without checking them (libtorrent's seed mode) */
    SW_TADD_PAUSED = 2, /* add paused */
};
/* Adds a torrent whose files live (or will be written) under save_dir/<name>/. Without SW_TADD_SEED,
 * existing files there are checked piece by piece first, so pieces already present are not fetched. */
int sw_tsession_add(int *id, sw_tsession *s, const void *torrent, size_t len, const char *save_dir, unsigned flags);
int sw_tsession_remove(sw_tsession *s, int id);
/* Turns libtorrent's super seeding of a complete torrent on or off: each peer is offered one piece at a
 * time, and another once that piece has reached some other peer, so that the peers trade among
 * themselves what the seeder sent once. It slows a lone downloader, so swarm seed turns it on only while
 * two or more peers are downloading. */
int sw_tsession_super_seed(sw_tsession *s, int id, int on);
/* Asks for pieces in order (on) or rarest first (off, libtorrent's default). */
int sw_tsession_sequential(sw_tsession *s, int id, int on);
/* Downloads only the files i with want[i] != 0 (n: the torrent's file count, in its order); the pieces at
 * their edges are fetched whole, so parts of neighbouring files may be written too. */
int sw_tsession_want_files(sw_tsession *s, int id, const unsigned char *want, size_t n);
/* Adds a peer to dial (IPv4 or IPv6 literal). */
int sw_tsession_connect(sw_tsession *s, int id, const char *host, int port);
/* Announces to another tracker. */
int sw_tsession_add_tracker(sw_tsession *s, int id, const char *url);

enum { SW_TS_CHECKING = 1, SW_TS_DOWNLOADING, SW_TS_SEEDING, SW_TS_PAUSED, SW_TS_ERROR };
typedef struct {
    int state;              /* SW_TS_* */
    uint64_t total;         /* bytes wanted */
    uint64_t done;          /* bytes held and verified */
    uint64_t prefix;        /* bytes from the start of the data held and verified, with no gap */
    uint64_t downloaded;    /* payload bytes received by this session for this torrent (all, incl. failed) */
    uint64_t uploaded;      /* payload bytes sent by this session for this torrent */
    uint64_t failed;        /* bytes that failed their piece hash */
    int download_rate, upload_rate; /* bytes per second */
    int peers, seeds;
    char error[256];        /* when state is SW_TS_ERROR */
} sw_tstatus;
int sw_tsession_status(sw_tstatus *out, sw_tsession *s, int id);

enum {
    SW_TEV_FINISHED = 1, /* id: every wanted piece held and verified */
    SW_TEV_ERROR,        /* id: a file or torrent error; msg says what */
    SW_TEV_HASH_FAILED,  /* id, piece: a piece failed its hash (bad data from a peer) */
    SW_TEV_PEER_BANNED,  /* id: a peer was banned; msg: its address */
    SW_TEV_LISTEN_FAILED,/* msg: the address and why */
    SW_TEV_TRACKER_ERROR,/* id: msg: the tracker and why */
};
typedef struct {
    int type;
    int id;
    int piece;
    char msg[256];
} sw_tevent;
/* Copies up to max pending events, without blocking; returns how many (0 when none) or a negative code. */
int sw_tsession_poll(sw_tevent *events, size_t max, sw_tsession *s);
/* An fd that is readable while events are pending (read it through sw_tsession_poll only). */
int sw_tsession_fd(sw_tsession *s);

#ifdef __cplusplus
}
#endif

#endif
