/* torrent_disk.cpp — the shim's disk I/O: libtorrent's storage interface over plain files, on a thread.
 *
 * Why not libtorrent's own backends: the default (mmap) maps whole files, so a downloader's resident
 * memory grows to the file size; the posix backend keeps memory flat but runs every job on the network
 * thread and opens, seeks and closes the file through stdio for each 16 KiB block, so that thread spends
 * a third of its time in open/close and SHA-1 and a fetch over loopback runs at about 230 MB/s.
 *
 * This one keeps memory flat too (a read or write buffer per block, a bounded queue of pending writes)
 * and runs every job, in the order libtorrent issued them, on one worker thread that keeps each file
 * open and uses pread/pwrite; completions are posted back to the network thread. One FIFO keeps the
 * orderings libtorrent relies on: a block is written before it is read or its piece hashed, and a
 * torrent's jobs finish before the files are released.
 *
 * A torrent added as a seed is trusted: its piece checks are answered from the torrent, not by reading
 * (see async_hash). What swarm does not use is refused with operation_not_supported: moving storage,
 * renaming and deleting files. Pad files read as zeros and are never written. */
#include "net/torrent_disk.hpp"

#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/disk_buffer_holder.hpp>
#include <libtorrent/disk_observer.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/io_context.hpp>
#include <libtorrent/peer_request.hpp>
#include <libtorrent/storage_defs.hpp>
#include <libtorrent/torrent_flags.hpp>
#include <libtorrent/torrent_info.hpp>

#include <boost/asio/executor_work_guard.hpp>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

constexpr int block_size = 0x4000;                   /* a BitTorrent block: libtorrent's default_block_size */
constexpr std::size_t queue_high = 8u << 20;         /* pending write bytes that pause downloading ... */
constexpr std::size_t queue_low = 4u << 20;          /* ... until the queue is back under this */
constexpr std::size_t max_open_files = 256;          /* per torrent; past it every handle is closed */

lt::storage_error file_error(int err, lt::file_index_t file, lt::operation_t op)
{
    return lt::storage_error(lt::error_code(err, lt::system_category()), file, op);
}

/* Creates every missing directory above path (which is a file's). */
int make_parents(const std::string &path)
{
    for (std::size_t at = path.find('/', 1); at != std::string::npos; at = path.find('/', at + 1)) {
        std::string dir = path.substr(0, at);
        if (mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

/* One torrent's files, as the worker thread sees them: its own copy of the layout (libtorrent's may go
 * away with the torrent while a job is queued), and an open descriptor per file touched. Only the worker
 * thread uses a storage once it is created. */
class storage {
public:
    storage(lt::storage_params const &p)
        : files_(p.mapped_files ? *p.mapped_files : p.files), root_(p.path), fds_(std::size_t(files_.num_files()), -1),
          writable_(fds_.size(), false)
    {
    }
    ~storage() { release(); }

    lt::file_storage const &files() const { return files_; }

    /* A torrent added as a seed from the store: its piece hashes are taken as they are (see
     * async_hash). NULL for every other torrent. */
    std::shared_ptr<const lt::torrent_info> trusted;

    /* Reads len bytes at (piece, start) into buf; a short file or a missing one is an error (eof or
     * ENOENT), which libtorrent takes for "this piece is not here" while checking. */
    lt::storage_error read(char *buf, lt::piece_index_t piece, int start, int len)
    {
        for (auto const &s : files_.map_block(piece, start, len)) {
            std::size_t n = std::size_t(s.size);
            if (files_.pad_file_at(s.file_index)) {
                std::memset(buf, 0, n);
            } else {
                int fd;
                if (lt::storage_error e = open(&fd, s.file_index, false))
                    return e;
                ssize_t got = pread(fd, buf, n, off_t(s.offset));
                if (got < 0)
                    return file_error(errno, s.file_index, lt::operation_t::file_read);
                if (std::size_t(got) < n)
                    return lt::storage_error(boost::asio::error::eof, s.file_index, lt::operation_t::file_read);
            }
            buf += n;
        }
        return {};
    }

    /* Writes len bytes at (piece, start), creating files and directories as needed. */
    lt::storage_error write(char const *buf, lt::piece_index_t piece, int start, int len)
    {
        for (auto const &s : files_.map_block(piece, start, len)) {
            std::size_t n = std::size_t(s.size);
            if (!files_.pad_file_at(s.file_index)) {
                int fd;
                if (lt::storage_error e = open(&fd, s.file_index, true))
                    return e;
                for (std::size_t done = 0; done < n;) {
                    ssize_t put = pwrite(fd, buf + done, n - done, off_t(s.offset) + off_t(done));
                    if (put < 0)
                        return file_error(errno, s.file_index, lt::operation_t::file_write);
                    done += std::size_t(put);
                }
            }
            buf += n;
        }
        return {};
    }

    /* Whether any file of the torrent is there with bytes in it (then a download checks them first);
     * a path that cannot be looked at (a file where a folder should be) is an error. */
    lt::storage_error any_file(bool *found) const
    {
        *found = false;
        for (lt::file_index_t i : files_.file_range()) {
            struct stat st;
            if (files_.pad_file_at(i))
                continue;
            if (stat(path(i).c_str(), &st) == 0)
                *found = *found || st.st_size > 0;
            else if (errno != ENOENT)
                return file_error(errno, i, lt::operation_t::file_stat);
        }
        return {};
    }

    /* Creates the empty files a download wants: no piece ever writes them. */
    lt::storage_error create_empty_files(lt::aux::vector<lt::download_priority_t, lt::file_index_t> const &prio)
    {
        for (lt::file_index_t i : files_.file_range()) {
            if (files_.file_size(i) != 0 || files_.pad_file_at(i) ||
                (std::size_t(static_cast<int>(i)) < prio.size() && prio[i] == lt::dont_download))
                continue;
            std::string p = path(i);
            int fd = make_parents(p) == 0 ? ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644) : -1;
            if (fd < 0)
                return file_error(errno, i, lt::operation_t::file_open);
            ::close(fd);
        }
        return {};
    }

    void release()
    {
        for (std::size_t i = 0; i < fds_.size(); i++)
            if (fds_[i] >= 0) {
                ::close(fds_[i]);
                fds_[i] = -1;
            }
        open_count_ = 0;
    }

private:
    std::string path(lt::file_index_t i) const { return files_.file_path(i, root_); }

    /* The descriptor of file i, opened (read-only, or read-write and created when writing) on first use;
     * a file opened read-only is reopened for writing when a write comes. */
    lt::storage_error open(int *out, lt::file_index_t i, bool write)
    {
        std::size_t k = std::size_t(static_cast<int>(i));
        if (fds_[k] >= 0 && (writable_[k] || !write)) {
            *out = fds_[k];
            return {};
        }
        if (fds_[k] >= 0) {
            ::close(fds_[k]);
            fds_[k] = -1;
            open_count_--;
        }
        if (open_count_ >= max_open_files)
            release();
        std::string p = path(i);
        if (write && make_parents(p) < 0)
            return file_error(errno, i, lt::operation_t::mkdir);
        int fd = write ? ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644) : ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return file_error(errno, i, lt::operation_t::file_open);
        fds_[k] = *out = fd;
        writable_[k] = write;
        open_count_++;
        return {};
    }

    lt::file_storage files_;
    std::string root_;
    std::vector<int> fds_;
    std::vector<bool> writable_;
    std::size_t open_count_ = 0;
};

lt::error_code not_supported()
{
    return lt::error_code(boost::system::errc::operation_not_supported, lt::system_category());
}

class disk_io final : public lt::disk_interface, public lt::buffer_allocator_interface {
public:
    explicit disk_io(lt::io_context &ios) : ios_(ios), work_(ios.get_executor()), worker_([this] { run(); }) {}
    ~disk_io() override { abort(true); }

    lt::storage_holder new_torrent(lt::storage_params const &p, std::shared_ptr<void> const &) override
    {
        lt::storage_index_t idx(next_index_++);
        torrents_[idx] = std::make_shared<storage>(p);
        return lt::storage_holder(idx, *this);
    }

    /* Pending jobs hold their own reference, so the storage (and its open files) lives until they have
     * run; abort(true) waits for them. */
    void remove_torrent(lt::storage_index_t idx) override { torrents_.erase(idx); }

    void async_read(lt::storage_index_t idx, lt::peer_request const &r,
                    std::function<void(lt::disk_buffer_holder, lt::storage_error const &)> handler,
                    lt::disk_job_flags_t) override
    {
        enqueue([this, st = torrents_.at(idx), r, h = std::move(handler)]() mutable {
            std::unique_ptr<char, void (*)(void *)> buf(static_cast<char *>(std::malloc(std::size_t(r.length))), std::free);
            lt::storage_error e = buf ? st->read(buf.get(), r.piece, r.start, r.length)
                                      : lt::storage_error(lt::errors::no_memory, lt::operation_t::alloc_cache_piece);
            if (e)
                buf.reset();
            int len = e ? 0 : r.length;
            /* buf travels owned: a handler that never runs (the session is ending) still frees it */
            lt::post(ios_, [this, buf = std::move(buf), len, e, h = std::move(h)]() mutable {
                h(lt::disk_buffer_holder(*this, buf.release(), len), e);
            });
        }, 0);
    }

    /* Copies the block and queues it; says "exceeded" (and calls the observer back later) while more than
     * queue_high bytes wait, so that a slow disk slows the download instead of filling memory. */
    bool async_write(lt::storage_index_t idx, lt::peer_request const &r, char const *buf,
                     std::shared_ptr<lt::disk_observer> o, std::function<void(lt::storage_error const &)> handler,
                     lt::disk_job_flags_t) override
    {
        std::shared_ptr<char> copy(static_cast<char *>(std::malloc(std::size_t(r.length))), std::free);
        if (!copy) {
            lt::post(ios_, [h = std::move(handler)] {
                h(lt::storage_error(lt::errors::no_memory, lt::operation_t::alloc_cache_piece));
            });
            return false;
        }
        std::memcpy(copy.get(), buf, std::size_t(r.length));
        bool exceeded = enqueue([this, st = torrents_.at(idx), r, copy, h = std::move(handler)]() mutable {
            lt::storage_error e = st->write(copy.get(), r.piece, r.start, r.length);
            lt::post(ios_, [e, h = std::move(h)] { h(e); });
        }, std::size_t(r.length));
        if (exceeded && o) {
            std::lock_guard<std::mutex> lock(mu_);
            observers_.push_back(std::move(o));
        }
        return exceeded;
    }

    /* SHA-1 of the piece (v1) and SHA-256 of each of its 16 KiB blocks (v2, when asked for). A seed's
     * pieces are not read: libtorrent's seed mode hashes each piece before it first sends it, but a
     * swarm seed serves read-only store objects, named by their SHA-256 and checked by fsck, so the
     * torrent's own hash is the answer (a corrupt object costs the receiver a rejected piece, and the
     * seeder a ban). That saves the seeder a SHA-1 pass over everything it serves. */
    void async_hash(lt::storage_index_t idx, lt::piece_index_t piece, lt::span<lt::sha256_hash> v2,
                    lt::disk_job_flags_t flags,
                    std::function<void(lt::piece_index_t, lt::sha1_hash const &, lt::storage_error const &)> handler)
        override
    {
        enqueue([this, st = torrents_.at(idx), piece, v2, v1 = bool(flags & lt::disk_interface::v1_hash),
                 h = std::move(handler)]() mutable {
            if (st->trusted && v1 && v2.empty()) {
                lt::sha1_hash hash = st->trusted->hash_for_piece(piece);
                lt::post(ios_, [piece, hash, h = std::move(h)] { h(piece, hash, lt::storage_error()); });
                return;
            }
            lt::file_storage const &fs = st->files();
            int len = v1 ? fs.piece_size(piece) : 0;
            int len2 = v2.empty() ? 0 : fs.piece_size2(piece);
            int total = std::max(len, len2);
            std::vector<char> &buf = hash_buffer_;
            buf.resize(std::size_t(total));
            lt::storage_error e = st->read(buf.data(), piece, 0, total);
            lt::sha1_hash hash;
            if (!e && v1)
                hash = lt::hasher(buf.data(), len).final();
            for (int b = 0; !e && b * block_size < len2 && b < int(v2.size()); b++)
                v2[b] = lt::hasher256(buf.data() + b * block_size, std::min(block_size, len2 - b * block_size)).final();
            lt::post(ios_, [piece, hash, e, h = std::move(h)] { h(piece, hash, e); });
        }, 0);
    }

    void async_hash2(lt::storage_index_t idx, lt::piece_index_t piece, int offset, lt::disk_job_flags_t,
                     std::function<void(lt::piece_index_t, lt::sha256_hash const &, lt::storage_error const &)> handler)
        override
    {
        enqueue([this, st = torrents_.at(idx), piece, offset, h = std::move(handler)]() mutable {
            int len = std::min(block_size, st->files().piece_size2(piece) - offset);
            char buf[block_size];
            lt::storage_error e = st->read(buf, piece, offset, len);
            lt::sha256_hash hash;
            if (!e)
                hash = lt::hasher256(buf, len).final();
            lt::post(ios_, [piece, hash, e, h = std::move(h)] { h(piece, hash, e); });
        }, 0);
    }

    void async_move_storage(lt::storage_index_t, std::string p, lt::move_flags_t,
                            std::function<void(lt::status_t, std::string const &, lt::storage_error const &)> handler)
        override
    {
        lt::post(ios_, [p, h = std::move(handler)] {
            h(lt::status_t::fatal_disk_error, p, lt::storage_error(not_supported()));
        });
    }

    void async_release_files(lt::storage_index_t idx, std::function<void()> handler) override
    {
        enqueue([this, st = torrents_.at(idx), h = std::move(handler)]() mutable {
            st->release();
            if (h)
                lt::post(ios_, std::move(h));
        }, 0);
    }

    /* Without resume data (swarm never passes any), a torrent whose files are partly there is checked
     * in full, one that is added as a seed is trusted, and one with no files starts from nothing. */
    void async_check_files(lt::storage_index_t idx, lt::add_torrent_params const *rd,
                           lt::aux::vector<std::string, lt::file_index_t>,
                           std::function<void(lt::status_t, lt::storage_error const &)> handler) override
    {
        bool seed = rd && (rd->flags & lt::torrent_flags::seed_mode);
        lt::aux::vector<lt::download_priority_t, lt::file_index_t> prio;
        if (rd)
            prio.assign(rd->file_priorities.begin(), rd->file_priorities.end());
        std::shared_ptr<const lt::torrent_info> ti = seed ? rd->ti : nullptr;
        enqueue([this, st = torrents_.at(idx), seed, ti, prio, h = std::move(handler)]() mutable {
            st->trusted = ti;
            bool found = false;
            lt::storage_error e;
            if (!seed && !(e = st->any_file(&found)))
                e = st->create_empty_files(prio);
            lt::status_t s = e ? lt::status_t::fatal_disk_error
                               : found ? lt::status_t::need_full_check : lt::status_t::no_error;
            lt::post(ios_, [s, e, h = std::move(h)] { h(s, e); });
        }, 0);
    }

    void async_stop_torrent(lt::storage_index_t idx, std::function<void()> handler) override
    {
        async_release_files(idx, std::move(handler));
    }

    void async_rename_file(lt::storage_index_t, lt::file_index_t index, std::string name,
                           std::function<void(std::string const &, lt::file_index_t, lt::storage_error const &)>
                               handler) override
    {
        lt::post(ios_, [index, name, h = std::move(handler)] {
            h(name, index, lt::storage_error(not_supported(), index, lt::operation_t::file_rename));
        });
    }

    void async_delete_files(lt::storage_index_t, lt::remove_flags_t,
                            std::function<void(lt::storage_error const &)> handler) override
    {
        lt::post(ios_, [h = std::move(handler)] { h(lt::storage_error(not_supported(), lt::operation_t::file_remove)); });
    }

    void async_set_file_priority(lt::storage_index_t, lt::aux::vector<lt::download_priority_t, lt::file_index_t> prio,
                                 std::function<void(lt::storage_error const &,
                                                    lt::aux::vector<lt::download_priority_t, lt::file_index_t>)>
                                     handler) override
    {
        lt::post(ios_, [prio = std::move(prio), h = std::move(handler)]() mutable { h(lt::storage_error(), std::move(prio)); });
    }

    void async_clear_piece(lt::storage_index_t, lt::piece_index_t index,
                           std::function<void(lt::piece_index_t)> handler) override
    {
        lt::post(ios_, [index, h = std::move(handler)] { h(index); });
    }

    void update_stats_counters(lt::counters &) const override {}
    std::vector<lt::open_file_state> get_status(lt::storage_index_t) const override { return {}; }
    void submit_jobs() override {}
    void settings_updated() override {}

    /* Runs what is queued, then stops the worker (waiting for it when asked to; the destructor always
     * does). The session's network thread keeps running until the worker has posted its last
     * completion: the worker holds work on the io_context until then. */
    void abort(bool wait) override
    {
        {
            std::lock_guard<std::mutex> lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        if (wait && worker_.joinable())
            worker_.join();
    }

    void free_disk_buffer(char *b) override { std::free(b); }

private:
    using job = std::function<void()>;

    /* Queues a job carrying `bytes` of write data; true when the queue is over queue_high. */
    bool enqueue(job j, std::size_t bytes)
    {
        bool exceeded;
        {
            std::lock_guard<std::mutex> lock(mu_);
            jobs_.push_back({std::move(j), bytes});
            queued_ += bytes;
            exceeded = queued_ > queue_high;
        }
        cv_.notify_one();
        return exceeded;
    }

    /* The worker: runs jobs in order until stopped with nothing left; tells the waiting observers once
     * the write queue has drained under queue_low. Its last act lets the network thread finish. */
    void run()
    {
        std::unique_lock<std::mutex> lock(mu_);
        for (;;) {
            cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty())
                break;
            auto [j, bytes] = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            j();
            j = nullptr; /* drops the job's references (a storage, a buffer) outside the lock */
            lock.lock();
            queued_ -= bytes;
            if (queued_ < queue_low && !observers_.empty()) {
                std::vector<std::shared_ptr<lt::disk_observer>> wake;
                wake.swap(observers_);
                lt::post(ios_, [wake] {
                    for (auto const &o : wake)
                        o->on_disk();
                });
            }
        }
        lock.unlock();
        work_.reset();
    }

    lt::io_context &ios_;
    std::map<lt::storage_index_t, std::shared_ptr<storage>> torrents_; /* the network thread's */
    int next_index_ = 0;
    std::vector<char> hash_buffer_; /* the worker's */

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::pair<job, std::size_t>> jobs_;
    std::size_t queued_ = 0;
    std::vector<std::shared_ptr<lt::disk_observer>> observers_;
    bool stopping_ = false;
    boost::asio::executor_work_guard<lt::io_context::executor_type> work_; /* the worker's */
    std::thread worker_; /* last: starts once everything above is built */
};

} // namespace

std::unique_ptr<lt::disk_interface> sw_disk_io_constructor(lt::io_context &ios, lt::settings_interface const &,
                                                           lt::counters &)
{
    return std::make_unique<disk_io>(ios);
}
