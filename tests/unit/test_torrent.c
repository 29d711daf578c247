/* test_torrent.c — the libtorrent shim: deterministic torrent files, parsing and magnets, settings
 * checks, then real transfers over 127.0.0.1 between this process and a forked seeder: a clean one
 * that must finish byte-exact, and one whose file has a flipped byte, which must not. */
#include "base/error.h"
#include "tap.h"
#include "net/torrent.h"
#include "base/util.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define PIECE (256u << 10)
#define NAME "bundle"

static const char *const quiet[] = {"listen_interfaces=127.0.0.1:0", "enable_dht=false", "enable_lsd=false",
                                    "enable_upnp=false", "enable_natpmp=false", NULL};

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || sw_write_all(fd, p, n) != 0 || close(fd) != 0) {
        perror(path);
        exit(1);
    }
}

/* Writes the two files under dir/NAME/; corrupt flips one byte in the middle of the big one. */
static void make_tree(const char *dir, const uint8_t *data, size_t n1, size_t n2, int corrupt)
{
    char *root = sw_sprintf("%s/%s", dir, NAME), *a = sw_sprintf("%s/a.bin", root), *b = sw_sprintf("%s/b.bin", root);
    sw_mkdir_p(root);
    write_file(a, data, n1);
    write_file(b, data + n1, n2);
    if (corrupt) {
        int fd = open(a, O_WRONLY);
        uint8_t x = data[n1 / 2] ^ 0x20;
        if (fd < 0 || pwrite(fd, &x, 1, (off_t)(n1 / 2)) != 1 || close(fd) != 0)
            exit(1);
    }
    free(root), free(a), free(b);
}

static int same_file(const char *path, const uint8_t *p, size_t n)
{
    char *got;
    size_t len;
    int same = sw_read_file(&got, &len, path, n + 1) == 0 && len == n && !memcmp(got, p, n);
    if (same)
        free(got);
    return same;
}

/* The seeder: its own session on an ephemeral port, reported through wfd, then serves until killed.
 * Without SW_TADD_SEED it checks the files first and only then has them corrupted (see main). */
static void serve(const char *dir, const unsigned char *t, size_t tlen, unsigned flags, const char *corrupt,
                  size_t off, int wfd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(120);
    sw_tsession *s;
    int id, port = -1;
    if (sw_tsession_new(&s, quiet) == 0 && sw_tsession_add(&id, s, t, tlen, dir, flags) == 0) {
        sw_tstatus st = {0};
        for (int i = 0; i < 1000 && !(flags & SW_TADD_SEED) && st.state != SW_TS_SEEDING; i++)
            if (sw_tsession_status(&st, s, id) == 0 && st.state != SW_TS_SEEDING)
                usleep(10000);
        if (corrupt) {
            int fd = open(corrupt, O_RDWR);
            uint8_t x;
            if (fd < 0 || pread(fd, &x, 1, (off_t)off) != 1)
                _exit(1);
            x ^= 0x20;
            if (pwrite(fd, &x, 1, (off_t)off) != 1 || close(fd) != 0)
                _exit(1);
        }
        port = (flags & SW_TADD_SEED) || st.state == SW_TS_SEEDING ? sw_tsession_port(s) : -1;
    }
    if (port <= 0)
        fprintf(stderr, "# seeder: %s\n", sw_error_last());
    if (write(wfd, &port, sizeof port) != (ssize_t)sizeof port || port <= 0)
        _exit(1);
    for (;;)
        pause();
}

static pid_t start_seeder(int *port, const char *dir, const unsigned char *t, size_t tlen, unsigned flags,
                          const char *corrupt, size_t off)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        serve(dir, t, tlen, flags, corrupt, off, p[1]);
    }
    close(p[1]);
    struct pollfd pfd = {p[0], POLLIN, 0};
    *port = -1;
    if (pid < 0 || poll(&pfd, 1, 30000) != 1 || read(p[0], port, sizeof *port) != (ssize_t)sizeof *port)
        *port = -1;
    close(p[0]);
    return pid;
}

static void stop_seeder(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

typedef struct {
    int id; /* the torrent every event should name */
    int finished, hash_failed, tracker_errors, errors, wrong_id;
} tally;

/* Waits on the session's fd for up to ms, counting events; stops early once *until is nonzero. */
static void watch(tally *t, sw_tsession *s, int ms, const int *until)
{
    double end = sw_now() + ms / 1000.0;
    while (!*until) {
        int left = (int)((end - sw_now()) * 1000);
        if (left <= 0)
            break;
        struct pollfd pfd = {sw_tsession_fd(s), POLLIN, 0};
        poll(&pfd, 1, left);
        sw_tevent ev[4];
        int n;
        while ((n = sw_tsession_poll(ev, 4, s)) > 0)
            for (int i = 0; i < n; i++) {
                t->finished += ev[i].type == SW_TEV_FINISHED;
                t->hash_failed += ev[i].type == SW_TEV_HASH_FAILED;
                t->tracker_errors += ev[i].type == SW_TEV_TRACKER_ERROR;
                t->errors += ev[i].type == SW_TEV_ERROR;
                t->wrong_id += ev[i].id != t->id;
                if (ev[i].type != SW_TEV_FINISHED)
                    printf("# event %d id %d piece %d: %s\n", ev[i].type, ev[i].id, ev[i].piece, ev[i].msg);
            }
    }
}

int main(void)
{
    char tmpl[] = "/tmp/swarm-unit-XXXXXX";
    char *home = mkdtemp(tmpl);
    size_t n1 = 3u << 20, n2 = 1, total = n1 + n2;
    uint8_t *data = malloc(total);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < total; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (uint8_t)x;
    }
    size_t npieces = (total + PIECE - 1) / PIECE;
    unsigned char(*pieces)[SW_SHA1_LEN] = calloc(npieces, SW_SHA1_LEN);
    for (size_t i = 0; i < npieces; i++) {
        size_t len = i + 1 < npieces ? PIECE : total - i * PIECE;
        EVP_Digest(data + i * PIECE, len, pieces[i], NULL, EVP_sha1(), NULL);
    }
    sw_tfile files[] = {{"a.bin", n1}, {"b.bin", n2}};
    const char *const trackers[] = {"http://127.0.0.1:1/announce", NULL};

    /* Torrent files: deterministic, parseable, no dates. */
    unsigned char *t1 = NULL, *t2 = NULL;
    size_t len1 = 0, len2 = 0;
    char ih1[41] = "", ih2[41] = "";
    ok(sw_torrent_create(&t1, &len1, ih1, NAME, files, 2, PIECE, pieces, npieces, trackers) == 0, "create a torrent");
    ok(sw_torrent_create(&t2, &len2, ih2, NAME, files, 2, PIECE, pieces, npieces, trackers) == 0, "create it again");
    ok(len1 == len2 && t1 && t2 && !memcmp(t1, t2, len1), "the two are byte-identical (%zu bytes)", len1);
    ok(strlen(ih1) == 40 && !strcmp(ih1, ih2), "and have the same info-hash %s", ih1);
    ok(!memmem(t1, len1, "creation date", 13), "no creation date");
    ok(memmem(t1, len1, "10:created by5:swarm", 20) != NULL, "created by swarm");

    sw_torrent_info ti;
    ok(sw_torrent_parse(&ti, t1, len1) == 0, "parse it");
    ok(ti.name && !strcmp(ti.name, NAME) && !strcmp(ti.ih_hex, ih1) && ti.piece_size == PIECE,
       "name, info-hash and piece size round-trip");
    ok(ti.nfiles == 2 && !strcmp(ti.files[0].path, "a.bin") && ti.files[0].size == n1 &&
           !strcmp(ti.files[1].path, "b.bin") && ti.files[1].size == n2,
       "files and sizes round-trip, in order, without pad files");
    sw_torrent_info_free(&ti);

    /* (Results go into variables first: the order in which ok()'s arguments are evaluated is unspecified.) */
    char *magnet = NULL, *btih = sw_sprintf("xt=urn:btih:%s", ih1);
    int rc = sw_torrent_magnet(&magnet, t1, len1);
    ok(rc == 0 && strstr(magnet, btih) && strstr(magnet, "dn=" NAME), "magnet: %s", rc ? sw_error_last() : magnet);
    free(magnet), free(btih);

    unsigned char *t3 = NULL;
    size_t len3;
    char ih3[41];
    rc = sw_torrent_create(&t3, &len3, ih3, NAME, files, 2, PIECE, pieces, npieces - 1, NULL);
    ok(rc == SW_EINVALID && !t3, "one piece hash short is refused: %s", sw_error_last());
    ok(sw_torrent_create(&t3, &len3, ih3, NAME, files, 2, 100000, pieces, npieces, NULL) == SW_EINVALID,
       "a piece size that is not a power of two is refused");
    rc = sw_torrent_parse(&ti, "d4:spam3:egge", 13);
    ok(rc == SW_EINVALID, "garbage is not a torrent: %s", sw_error_last());
    ok(sw_torrent_parse(&ti, t1, len1 / 2) == SW_EINVALID, "nor is half a torrent");
    ok(sw_torrent_magnet(&magnet, "xyz", 3) == SW_EINVALID, "no magnet from garbage");

    /* Sessions: settings are checked; a taken port is an error. */
    sw_tsession *s = NULL, *s2 = NULL;
    const char *bad_name[] = {"enable_dht=false", "no_such_setting=1", NULL};
    const char *bad_bool[] = {"enable_dht=maybe", NULL};
    const char *bad_int[] = {"upload_rate_limit=12abc", NULL};
    rc = sw_tsession_new(&s, bad_name);
    ok(rc == SW_EINVALID && !s && strstr(sw_error_last(), "no_such_setting"), "unknown setting refused: %s",
       sw_error_last());
    rc = sw_tsession_new(&s, bad_bool);
    ok(rc == SW_EINVALID && strstr(sw_error_last(), "enable_dht"), "bad boolean refused: %s", sw_error_last());
    rc = sw_tsession_new(&s, bad_int);
    ok(rc == SW_EINVALID, "bad integer refused: %s", sw_error_last());
    ok(sw_tsession_new(&s, quiet) == 0, "a session on 127.0.0.1:0");
    int port = sw_tsession_port(s);
    ok(port > 0, "it listens on port %d", port);
    char *taken = sw_sprintf("listen_interfaces=127.0.0.1:%d", port);
    const char *busy[] = {taken, "enable_dht=false", "enable_lsd=false", "enable_upnp=false", "enable_natpmp=false",
                          NULL};
    rc = sw_tsession_new(&s2, busy);
    ok(rc == SW_ERROR && !s2, "a taken port is an error: %s", sw_error_last());
    free(taken);
    int id, id2;
    sw_tstatus st;
    ok(sw_tsession_add(&id, s, t1, len1, home, SW_TADD_PAUSED) == 0 && id == 1, "add a torrent paused");
    ok(sw_tsession_status(&st, s, id) == 0 && st.state == SW_TS_PAUSED && st.done == 0 && st.prefix == 0,
       "it is paused, nothing held");
    rc = sw_tsession_add(&id2, s, t1, len1, home, 0);
    ok(rc == SW_EEXISTS, "adding it twice: %s", sw_error_last());
    ok(sw_tsession_add(&id2, s, "xyz", 3, home, 0) == SW_EINVALID, "adding garbage is refused");
    ok(sw_tsession_connect(s, id, "localhost", 1) == SW_EINVALID, "a peer must be an IP literal");
    ok(sw_tsession_remove(s, id) == 0 && sw_tsession_status(&st, s, id) == SW_ENOTFOUND, "remove it");

    /* A file where the torrent's folder should be: an error event, and the error state. */
    char *blocked = sw_sprintf("%s/blocked", home), *blocker = sw_sprintf("%s/blocked/%s", home, NAME);
    sw_mkdir_p(blocked);
    write_file(blocker, data, 1);
    tally te = {.id = 2};
    ok(sw_tsession_add(&id, s, t1, len1, blocked, 0) == 0 && id == 2, "add a torrent whose folder is a file");
    watch(&te, s, 10000, &te.errors);
    ok(te.errors > 0 && te.wrong_id == 0, "an error event names torrent 2");
    rc = sw_tsession_status(&st, s, id);
    ok(rc == 0 && st.state == SW_TS_ERROR && strstr(st.error, "Not a directory"), "status: error: %s", st.error);
    free(blocked), free(blocker);
    sw_tsession_free(s);
    s = NULL;

    /* A clean transfer from a forked seeder in seed mode into an empty directory. */
    char *src = sw_sprintf("%s/src", home), *dl = sw_sprintf("%s/dl", home), *bad = sw_sprintf("%s/bad", home);
    char *dl2 = sw_sprintf("%s/dl2", home);
    make_tree(src, data, n1, n2, 0);
    sw_mkdir_p(dl);
    sw_mkdir_p(dl2);
    int sport;
    pid_t pid = start_seeder(&sport, src, t1, len1, SW_TADD_SEED, NULL, 0);
    ok(pid > 0 && sport > 0, "the seeder listens on port %d", sport);
    tally tl = {.id = 1};
    double t0 = sw_now();
    ok(sw_tsession_new(&s, quiet) == 0 && sw_tsession_add(&id, s, t1, len1, dl, 0) == 0 &&
           sw_tsession_connect(s, id, "127.0.0.1", sport) == 0,
       "a downloader dials it");
    if (s)
        watch(&tl, s, 30000, &tl.finished);
    double took = sw_now() - t0;
    ok(tl.finished == 1, "the download finishes (%.2f s)", took);
    char *got_a = sw_sprintf("%s/%s/a.bin", dl, NAME), *got_b = sw_sprintf("%s/%s/b.bin", dl, NAME);
    ok(same_file(got_a, data, n1) && same_file(got_b, data + n1, n2), "the files arrive byte for byte");
    free(got_a), free(got_b);
    rc = s ? sw_tsession_status(&st, s, id) : SW_ERROR;
    ok(rc == 0 && st.state == SW_TS_SEEDING && st.total == total && st.done == total && st.prefix == total &&
           st.downloaded >= total && st.failed == 0,
       "status: seeding, %llu of %llu bytes held, %llu downloaded", (unsigned long long)st.done,
       (unsigned long long)st.total, (unsigned long long)st.downloaded);
    ok(tl.tracker_errors > 0 && tl.wrong_id == 0, "the dead tracker is reported; every event names torrent %d",
       tl.id);
    sw_tsession_free(s);
    s = NULL;
    stop_seeder(pid);

    /* A seeder whose copy goes bad after its check: the bad piece fails and the download never finishes. */
    make_tree(bad, data, n1, n2, 0);
    char *bad_a = sw_sprintf("%s/%s/a.bin", bad, NAME);
    pid = start_seeder(&sport, bad, t1, len1, 0, bad_a, n1 / 2);
    free(bad_a);
    ok(pid > 0 && sport > 0, "a corrupt seeder listens on port %d", sport);
    tally tb = {.id = 1};
    ok(sw_tsession_new(&s, quiet) == 0 && sw_tsession_add(&id, s, t1, len1, dl2, 0) == 0 &&
           sw_tsession_connect(s, id, "127.0.0.1", sport) == 0,
       "a downloader dials it");
    for (int i = 0; s && i < 20 && !tb.hash_failed; i++) /* about 1 s; 4 s under the sanitizers */
        watch(&tb, s, 1000, &tb.hash_failed);
    if (s)
        watch(&tb, s, 2000, &tb.finished);
    ok(tb.hash_failed > 0, "a piece fails its hash (%d events)", tb.hash_failed);
    ok(tb.finished == 0, "the download does not finish");
    rc = s ? sw_tsession_status(&st, s, id) : SW_ERROR;
    ok(rc == 0 && st.failed > 0 && st.done < total,
       "status: %llu bytes failed, %llu of %llu held", (unsigned long long)st.failed, (unsigned long long)st.done,
       (unsigned long long)st.total);
    ok(rc == 0 && st.prefix <= n1 / 2 && st.prefix <= st.done,
       "the verified prefix stops before the bad byte at %zu: %llu", n1 / 2, (unsigned long long)st.prefix);
    sw_tsession_free(s);
    stop_seeder(pid);

    free(src), free(dl), free(dl2), free(bad);
    free(t1), free(t2), free(pieces), free(data);
    sw_rm_rf(home);
    return tap_done();
}
