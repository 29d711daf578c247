/* torrent.cpp — the C API of torrent.h over libtorrent-rasterbar 2.0, the only C++ in swarm.
 *
 * Each extern "C" function runs its body through guarded(), which turns every exception into a
 * negative SW_E* code and a message in the thread's error slot. A session owns an lt::session, a table
 * from small integer ids to torrent handles, and an eventfd that libtorrent's alert notification
 * bumps from its network thread; sw_tsession_poll drains the eventfd, pops the alerts and translates
 * the few kinds swarm cares about into sw_tevent structs, queued until the caller takes them. */
#include "net/torrent.h"
#include "net/torrent_disk.hpp"

extern "C" {
#include "base/error.h"
}

#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/announce_entry.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <sys/eventfd.h>
#include <unistd.h>

struct sw_tsession {
    std::unique_ptr<lt::session> ses;
    int efd = -1;
    int next_id = 1;
    std::map<int, lt::torrent_handle> torrents;
    std::deque<sw_tevent> pending; /* translated, not yet handed to the caller */
};

namespace {

/* Runs f, returning its result; any exception becomes SW_ERROR with `what` and the exception's text. */
template <class F> int guarded(const char *what, F &&f)
{
    try {
        return f();
    } catch (const std::exception &e) {
        return sw_error(SW_ERROR, "%s: %s", what, e.what());
    } catch (...) {
        return sw_error(SW_ERROR, "%s: unknown exception", what);
    }
}

std::string to_hex(const lt::sha1_hash &h)
{
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (char c : h) {
        s += digits[(unsigned char)c >> 4];
        s += digits[(unsigned char)c & 15];
    }
    return s;
}

std::string endpoint_str(const lt::address &a, int port)
{
    std::string ip = a.to_string();
    return (a.is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

void copy_msg(char (&dst)[256], const std::string &src)
{
    snprintf(dst, sizeof dst, "%s", src.c_str());
}

/* Parses one "name=value" into pack, by the setting's type as libtorrent records it in the index. */
int apply_setting(lt::settings_pack &pack, const char *setting)
{
    const char *eq = strchr(setting, '=');
    if (!eq)
        return sw_error(SW_EINVALID, "setting \"%s\": expected name=value", setting);
    std::string name(setting, (size_t)(eq - setting));
    const char *value = eq + 1;
    int idx = lt::setting_by_name(name);
    if (idx < 0)
        return sw_error(SW_EINVALID, "unknown libtorrent setting \"%s\"", name.c_str());
    switch (idx & lt::settings_pack::type_mask) {
    case lt::settings_pack::string_type_base:
        pack.set_str(idx, value);
        return 0;
    case lt::settings_pack::int_type_base: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 0);
        if (!*value || *end || errno || v < INT_MIN || v > INT_MAX)
            return sw_error(SW_EINVALID, "setting %s: \"%s\" is not an integer", name.c_str(), value);
        pack.set_int(idx, (int)v);
        return 0;
    }
    case lt::settings_pack::bool_type_base:
        if (!strcmp(value, "true") || !strcmp(value, "1"))
            pack.set_bool(idx, true);
        else if (!strcmp(value, "false") || !strcmp(value, "0"))
            pack.set_bool(idx, false);
        else
            return sw_error(SW_EINVALID, "setting %s: \"%s\" is not true or false", name.c_str(), value);
        return 0;
    default:
        return sw_error(SW_EINVALID, "setting %s: unsupported type", name.c_str());
    }
}

int id_of(const sw_tsession *s, const lt::torrent_handle &h)
{
    for (const auto &t : s->torrents)
        if (t.second == h)
            return t.first;
    return 0;
}

/* Turns one alert into an event on s->pending, when it is of a kind torrent.h reports. */
void translate(sw_tsession *s, const lt::alert *a)
{
    sw_tevent ev;
    memset(&ev, 0, sizeof ev);
    if (auto *ta = dynamic_cast<const lt::torrent_alert *>(a)) /* alert_cast matches exact types only */
        ev.id = id_of(s, ta->handle);
    if (lt::alert_cast<lt::torrent_finished_alert>(a)) {
        ev.type = SW_TEV_FINISHED;
    } else if (auto *e = lt::alert_cast<lt::torrent_error_alert>(a)) {
        ev.type = SW_TEV_ERROR;
        std::string file = e->filename();
        copy_msg(ev.msg, (file.empty() ? "" : file + ": ") + e->error.message());
    } else if (auto *f = lt::alert_cast<lt::file_error_alert>(a)) {
        ev.type = SW_TEV_ERROR;
        copy_msg(ev.msg, std::string(f->filename()) + ": " + lt::operation_name(f->op) + ": " + f->error.message());
    } else if (auto *h = lt::alert_cast<lt::hash_failed_alert>(a)) {
        ev.type = SW_TEV_HASH_FAILED;
        ev.piece = static_cast<int>(h->piece_index);
    } else if (auto *b = lt::alert_cast<lt::peer_ban_alert>(a)) {
        ev.type = SW_TEV_PEER_BANNED;
        lt::tcp::endpoint ep = b->endpoint;
        copy_msg(ev.msg, endpoint_str(ep.address(), ep.port()));
    } else if (auto *l = lt::alert_cast<lt::listen_failed_alert>(a)) {
        ev.type = SW_TEV_LISTEN_FAILED;
        copy_msg(ev.msg, endpoint_str(l->address, l->port) + ": " + lt::operation_name(l->op) + ": " +
                             l->error.message());
    } else if (auto *t = lt::alert_cast<lt::tracker_error_alert>(a)) {
        ev.type = SW_TEV_TRACKER_ERROR;
        std::string why = t->failure_reason();
        copy_msg(ev.msg, std::string(t->tracker_url()) + ": " + (why.empty() ? t->error.message() : why));
    } else {
        return;
    }
    s->pending.push_back(ev);
}

/* Pops every alert libtorrent holds and queues the translated ones; calls seen(alert) on each too. */
template <class F> void pump(sw_tsession *s, F &&seen)
{
    std::vector<lt::alert *> alerts;
    s->ses->pop_alerts(&alerts);
    for (const lt::alert *a : alerts) {
        translate(s, a);
        seen(a);
    }
}

/* Keeps the eventfd readable while translated events wait in the queue. */
void signal_pending(sw_tsession *s)
{
    uint64_t one = 1;
    if (!s->pending.empty() && write(s->efd, &one, sizeof one) < 0 && errno != EAGAIN)
        throw std::system_error(errno, std::generic_category(), "eventfd write");
}

int find(lt::torrent_handle *h, sw_tsession *s, int id)
{
    auto it = s->torrents.find(id);
    if (it == s->torrents.end())
        return sw_error(SW_ENOTFOUND, "no torrent with id %d in this session", id);
    *h = it->second;
    return 0;
}

/* Builds lt::torrent_info from bytes, reporting a parse failure as SW_EINVALID. */
int load_info(std::shared_ptr<lt::torrent_info> *ti, const void *data, size_t len)
{
    if (!data || len == 0 || len > (size_t)INT_MAX)
        return sw_error(SW_EINVALID, "not a valid torrent: %zu bytes", len);
    lt::error_code ec;
    auto info = std::make_shared<lt::torrent_info>(lt::span<const char>((const char *)data, (std::ptrdiff_t)len),
                                                   ec, lt::from_span);
    if (ec)
        return sw_error(SW_EINVALID, "not a valid torrent: %s", ec.message().c_str());
    *ti = std::move(info);
    return 0;
}

} // namespace

/* ---- torrent files ------------------------------------------------------------------------------ */

/* The files go into the storage as "name/path" so the torrent is always multi-file; v1_only keeps
 * libtorrent from adding pad files, and a zero creation date leaves that key out. */
extern "C" int sw_torrent_create(unsigned char **out, size_t *len, char ih_hex[41], const char *name,
                                 const sw_tfile *files, size_t nfiles, uint32_t piece_size,
                                 const unsigned char (*pieces)[SW_SHA1_LEN], size_t npieces,
                                 const char *const *trackers)
{
    return guarded("creating a torrent", [&]() -> int {
        if (!name || !*name || !files || nfiles == 0)
            return sw_error(SW_EINVALID, "a torrent needs a name and at least one file");
        if (piece_size < 16384 || piece_size > (1u << 30) || (piece_size & (piece_size - 1)))
            return sw_error(SW_EINVALID, "piece size %u is not a power of two from 16 KiB to 1 GiB", piece_size);
        lt::file_storage fs;
        uint64_t total = 0;
        for (size_t i = 0; i < nfiles; i++) {
            if (!files[i].path || !*files[i].path)
                return sw_error(SW_EINVALID, "file %zu has no path", i);
            fs.add_file(std::string(name) + "/" + files[i].path, (std::int64_t)files[i].size);
            total += files[i].size;
        }
        if (total == 0)
            return sw_error(SW_EINVALID, "torrent %s holds no bytes", name);
        if (npieces != (total + piece_size - 1) / piece_size)
            return sw_error(SW_EINVALID, "%zu piece hashes for %llu bytes in pieces of %u", npieces,
                            (unsigned long long)total, piece_size);
        lt::create_torrent ct(fs, (int)piece_size, lt::create_torrent::v1_only);
        for (size_t i = 0; i < npieces; i++)
            ct.set_hash(lt::piece_index_t((int)i), lt::sha1_hash((const char *)pieces[i]));
        for (size_t i = 0; trackers && trackers[i]; i++)
            ct.add_tracker(trackers[i]);
        ct.set_creator("swarm");
        ct.set_creation_date(0);
        std::vector<char> buf;
        lt::bencode(std::back_inserter(buf), ct.generate());

        lt::torrent_info ti(buf, lt::from_span);
        const lt::file_storage &got = ti.files();
        for (lt::file_index_t f : got.file_range())
            if (got.pad_file_at(f))
                return sw_error(SW_ERROR, "libtorrent added a pad file to %s", name);
        unsigned char *p = (unsigned char *)malloc(buf.size());
        if (!p)
            return sw_error(SW_ERROR, "out of memory");
        memcpy(p, buf.data(), buf.size());
        *out = p;
        *len = buf.size();
        snprintf(ih_hex, 41, "%s", to_hex(ti.info_hashes().v1).c_str());
        return 0;
    });
}

/* Paths are reported relative to the root folder: libtorrent's paths carry "name/" in multi-file
 * torrents and are just the file name in single-file ones. */
extern "C" int sw_torrent_parse(sw_torrent_info *out, const void *data, size_t len)
{
    memset(out, 0, sizeof *out);
    return guarded("reading a torrent", [&]() -> int {
        std::shared_ptr<lt::torrent_info> ti;
        if (int rc = load_info(&ti, data, len))
            return rc;
        const lt::file_storage &fs = ti->files();
        std::string prefix = ti->name() + "/";
        std::vector<sw_tfile> files;
        sw_torrent_info info;
        memset(&info, 0, sizeof info);
        try {
            for (lt::file_index_t f : fs.file_range()) {
                if (fs.file_flags(f) & lt::file_storage::flag_pad_file)
                    continue;
                std::string path = fs.file_path(f);
                if (path.compare(0, prefix.size(), prefix) == 0)
                    path.erase(0, prefix.size());
                files.push_back({strdup(path.c_str()), (uint64_t)fs.file_size(f)});
                if (!files.back().path)
                    throw std::bad_alloc();
            }
            info.name = strdup(ti->name().c_str());
            info.files = (sw_tfile *)calloc(files.size() ? files.size() : 1, sizeof *info.files);
            if (!info.name || !info.files)
                throw std::bad_alloc();
        } catch (...) {
            for (auto &f : files)
                free((void *)f.path);
            free(info.name);
            free(info.files);
            throw;
        }
        std::copy(files.begin(), files.end(), info.files);
        info.nfiles = files.size();
        if (ti->info_hashes().has_v1())
            snprintf(info.ih_hex, sizeof info.ih_hex, "%s", to_hex(ti->info_hashes().v1).c_str());
        info.piece_size = (uint32_t)ti->piece_length();
        *out = info;
        return 0;
    });
}

extern "C" void sw_torrent_info_free(sw_torrent_info *info)
{
    if (!info)
        return;
    for (size_t i = 0; i < info->nfiles; i++)
        free((void *)info->files[i].path);
    free(info->files);
    free(info->name);
    memset(info, 0, sizeof *info);
}

extern "C" int sw_torrent_magnet(char **out, const void *data, size_t len)
{
    return guarded("making a magnet link", [&]() -> int {
        std::shared_ptr<lt::torrent_info> ti;
        if (int rc = load_info(&ti, data, len))
            return rc;
        std::string uri = lt::make_magnet_uri(*ti);
        if (!(*out = strdup(uri.c_str())))
            return sw_error(SW_ERROR, "out of memory");
        return 0;
    });
}

/* ---- sessions ----------------------------------------------------------------------------------- */

/* The defaults of torrent.h go into the pack first and the caller's settings after them. The session
 * starts on its network thread; listen_port() is a call into that thread, so once it returns the
 * listen results are in the alert queue, and a TCP listen socket that failed fails the call. Both
 * max_retry_port_bind=0 and listen_system_port_fallback=false are needed for a busy port to fail:
 * the fallback would quietly take a port from the OS instead. */
/* libtorrent puts loopback and LAN peers in a "local" peer class that no rate limit or choker applies
 * to. A user who sets --upload-limit means it for every peer, and local tests must see the limit work,
 * so every address is mapped to the global class instead. */
static void put_all_peers_in_global_class(lt::session &ses)
{
    lt::ip_filter f;
    const std::uint32_t global = 1u << static_cast<std::uint32_t>(lt::session::global_peer_class_id);
    f.add_rule(lt::make_address("0.0.0.0"), lt::make_address("255.255.255.255"), global);
    f.add_rule(lt::make_address("::"), lt::make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), global);
    ses.set_peer_class_filter(f);
}

extern "C" int sw_tsession_new(sw_tsession **out, const char *const *settings)
{
    *out = nullptr;
    return guarded("starting a torrent session", [&]() -> int {
        lt::settings_pack pack;
        pack.set_int(lt::settings_pack::alert_mask, lt::alert_category::error | lt::alert_category::status |
                                                        lt::alert_category::storage | lt::alert_category::peer);
        pack.set_int(lt::settings_pack::max_retry_port_bind, 0);
        pack.set_bool(lt::settings_pack::listen_system_port_fallback, false);
        pack.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);
        pack.set_bool(lt::settings_pack::enable_outgoing_utp, false);
        pack.set_bool(lt::settings_pack::enable_incoming_utp, false);
        pack.set_int(lt::settings_pack::stop_tracker_timeout, 1);
        for (size_t i = 0; settings && settings[i]; i++)
            if (int rc = apply_setting(pack, settings[i]))
                return rc;

        auto s = std::make_unique<sw_tsession>();
        s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (s->efd < 0)
            return sw_error_errno(SW_ERROR, "eventfd");
        try {
            lt::session_params params(std::move(pack));
            params.disk_io_constructor = sw_disk_io_constructor;
            s->ses = std::make_unique<lt::session>(std::move(params));
            put_all_peers_in_global_class(*s->ses);
            int efd = s->efd;
            s->ses->set_alert_notify([efd] {
                uint64_t one = 1;
                (void)!write(efd, &one, sizeof one);
            });
            std::string failed;
            s->ses->listen_port();
            pump(s.get(), [&](const lt::alert *a) {
                auto *l = lt::alert_cast<lt::listen_failed_alert>(a);
                if (l && failed.empty() &&
                    (l->socket_type == lt::socket_type_t::tcp || l->socket_type == lt::socket_type_t::tcp_ssl))
                    failed = endpoint_str(l->address, l->port) + ": " + l->error.message();
            });
            if (!failed.empty()) {
                sw_tsession_free(s.release());
                return sw_error(SW_ERROR, "cannot listen on %s", failed.c_str());
            }
            signal_pending(s.get());
        } catch (...) {
            sw_tsession_free(s.release());
            throw;
        }
        *out = s.release();
        return 0;
    });
}

/* abort() hands back a proxy whose destructor waits for libtorrent's threads; stop_tracker_timeout
 * (1 s by default here) bounds the goodbye announces it waits for. */
extern "C" void sw_tsession_free(sw_tsession *s)
{
    if (!s)
        return;
    guarded("stopping a torrent session", [&]() -> int {
        if (s->ses) {
            lt::session_proxy proxy = s->ses->abort();
            s->ses.reset();
        }
        return 0;
    });
    if (s->efd >= 0)
        close(s->efd);
    delete s;
}

/* The listen sockets are settled by the time sw_tsession_new returns (see there): no wait is needed. */
extern "C" int sw_tsession_port(sw_tsession *s)
{
    return guarded("reading the listen port", [&]() -> int {
        int port = s->ses->listen_port();
        if (port == 0)
            return sw_error(SW_ENOTFOUND, "the session has no TCP listen socket");
        return port;
    });
}

/* Added unmanaged (the queue would pause it), paused only when asked, and with duplicate_is_error: by
 * default libtorrent answers a second add of the same torrent with the first one's handle. */
extern "C" int sw_tsession_add(int *id, sw_tsession *s, const void *torrent, size_t len, const char *save_dir,
                               unsigned flags)
{
    return guarded("adding a torrent", [&]() -> int {
        lt::add_torrent_params p;
        if (int rc = load_info(&p.ti, torrent, len))
            return rc;
        if (!save_dir || !*save_dir)
            return sw_error(SW_EINVALID, "no directory to keep torrent %s in", p.ti->name().c_str());
        p.save_path = save_dir;
        p.flags &= ~(lt::torrent_flags::auto_managed | lt::torrent_flags::paused);
        p.flags |= lt::torrent_flags::duplicate_is_error;
        if (flags & SW_TADD_PAUSED)
            p.flags |= lt::torrent_flags::paused;
        if (flags & SW_TADD_SEED)
            p.flags |= lt::torrent_flags::seed_mode;
        std::string name = p.ti->name();
        lt::error_code ec;
        lt::torrent_handle h = s->ses->add_torrent(std::move(p), ec);
        if (ec == lt::errors::duplicate_torrent)
            return sw_error(SW_EEXISTS, "torrent %s is in the session already", name.c_str());
        if (ec)
            return sw_error(SW_ERROR, "adding torrent %s: %s", name.c_str(), ec.message().c_str());
        *id = s->next_id++;
        s->torrents[*id] = h;
        return 0;
    });
}

/* Sets or clears one of a torrent's flags. */
static int set_torrent_flag(sw_tsession *s, int id, lt::torrent_flags_t flag, int on, const char *what)
{
    return guarded(what, [&]() -> int {
        lt::torrent_handle h;
        if (int rc = find(&h, s, id))
            return rc;
        if (on)
            h.set_flags(flag);
        else
            h.unset_flags(flag);
        return 0;
    });
}

extern "C" int sw_tsession_super_seed(sw_tsession *s, int id, int on)
{
    return set_torrent_flag(s, id, lt::torrent_flags::super_seeding, on, "setting super seeding");
}

extern "C" int sw_tsession_sequential(sw_tsession *s, int id, int on)
{
    return set_torrent_flag(s, id, lt::torrent_flags::sequential_download, on, "setting the piece order");
}

extern "C" int sw_tsession_want_files(sw_tsession *s, int id, const unsigned char *want, size_t n)
{
    return guarded("choosing the files to download", [&]() -> int {
        lt::torrent_handle h;
        if (int rc = find(&h, s, id))
            return rc;
        std::vector<lt::download_priority_t> prio(n);
        for (size_t i = 0; i < n; i++)
            prio[i] = want[i] ? lt::default_priority : lt::dont_download;
        h.prioritize_files(prio);
        return 0;
    });
}

extern "C" int sw_tsession_remove(sw_tsession *s, int id)
{
    return guarded("removing a torrent", [&]() -> int {
        lt::torrent_handle h;
        if (int rc = find(&h, s, id))
            return rc;
        s->ses->remove_torrent(h);
        s->torrents.erase(id);
        return 0;
    });
}

extern "C" int sw_tsession_connect(sw_tsession *s, int id, const char *host, int port)
{
    return guarded("adding a peer", [&]() -> int {
        lt::torrent_handle h;
        if (int rc = find(&h, s, id))
            return rc;
        lt::error_code ec;
        lt::address addr = lt::make_address(host ? host : "", ec);
        if (ec)
            return sw_error(SW_EINVALID, "peer address \"%s\" is not an IP address", host ? host : "");
        if (port < 1 || port > 65535)
            return sw_error(SW_EINVALID, "peer port %d out of range", port);
        h.connect_peer(lt::tcp::endpoint(addr, (unsigned short)port));
        return 0;
    });
}

extern "C" int sw_tsession_add_tracker(sw_tsession *s, int id, const char *url)
{
    return guarded("adding a tracker", [&]() -> int {
        lt::torrent_handle h;
        if (int rc = find(&h, s, id))
            return rc;
        if (!url || !*url)
            return sw_error(SW_EINVALID, "empty tracker URL");
        h.add_tracker(lt::announce_entry(url));
        return 0;
    });
}

/* An error outranks the paused flag (libtorrent pauses a torrent that fails), which outranks the state. */
/* How many bytes from the start of the torrent's data are held and verified, with no gap (status
 * carries the pieces held and the torrent file by default). */
static uint64_t verified_prefix(const lt::torrent_status &st)
{
    auto ti = st.torrent_file.lock();
    if (!ti)
        return 0;
    if (st.is_seeding)
        return (uint64_t)ti->total_size();
    int held = 0;
    while (held < st.pieces.size() && st.pieces[lt::piece_index_t(held)])
        held++;
    return (uint64_t)std::min(std::int64_t(held) * ti->piece_length(), ti->total_size());
}

extern "C" int sw_tsession_status(sw_tstatus *out, sw_tsession *s, int id)
{
    memset(out, 0, sizeof *out);
    return guarded("reading torrent status", [&]() -> int {
        lt::torrent_handle h;
        if (int rc = find(&h, s, id))
            return rc;
        lt::torrent_status st = h.status();
        if (st.errc) {
            out->state = SW_TS_ERROR;
            std::string file;
            auto ti = h.torrent_file();
            if (ti && st.error_file >= lt::file_index_t(0) && st.error_file < ti->files().end_file())
                file = ti->files().file_path(st.error_file) + ": ";
            copy_msg(out->error, file + st.errc.message());
        } else if (st.flags & lt::torrent_flags::paused) {
            out->state = SW_TS_PAUSED;
        } else {
            switch (st.state) {
            case lt::torrent_status::checking_files:
            case lt::torrent_status::checking_resume_data:
                out->state = SW_TS_CHECKING;
                break;
            case lt::torrent_status::finished:
            case lt::torrent_status::seeding:
                out->state = SW_TS_SEEDING;
                break;
            default:
                out->state = SW_TS_DOWNLOADING;
                break;
            }
        }
        out->total = (uint64_t)st.total_wanted;
        out->done = (uint64_t)st.total_wanted_done;
        out->prefix = verified_prefix(st);
        out->downloaded = (uint64_t)st.total_payload_download;
        out->uploaded = (uint64_t)st.total_payload_upload;
        out->failed = (uint64_t)st.total_failed_bytes;
        out->download_rate = st.download_payload_rate;
        out->upload_rate = st.upload_payload_rate;
        out->peers = st.num_peers;
        out->seeds = st.num_seeds;
        return 0;
    });
}

/* The eventfd is drained before pop_alerts, so an alert posted in between bumps it again. */
extern "C" int sw_tsession_poll(sw_tevent *events, size_t max, sw_tsession *s)
{
    return guarded("reading torrent events", [&]() -> int {
        uint64_t n;
        if (read(s->efd, &n, sizeof n) < 0 && errno != EAGAIN)
            return sw_error_errno(SW_ERROR, "reading the session's eventfd");
        pump(s, [](const lt::alert *) {});
        size_t k = 0;
        for (; k < max && k < (size_t)INT_MAX && !s->pending.empty(); k++) {
            events[k] = s->pending.front();
            s->pending.pop_front();
        }
        signal_pending(s);
        return (int)k;
    });
}

extern "C" int sw_tsession_fd(sw_tsession *s)
{
    return s->efd;
}
