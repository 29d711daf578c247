/* torrent_disk.hpp — the disk I/O the shim gives libtorrent sessions (torrent_disk.cpp): files kept open,
 * pread/pwrite and hashing on a worker thread, memory bounded. Internal to the shim (C++). */
#ifndef SW_TORRENT_DISK_HPP
#define SW_TORRENT_DISK_HPP

#include <libtorrent/disk_interface.hpp>
#include <libtorrent/io_context.hpp>
#include <libtorrent/performance_counters.hpp>
#include <libtorrent/settings_pack.hpp>

#include <memory>

std::unique_ptr<lt::disk_interface> sw_disk_io_constructor(lt::io_context &ios, lt::settings_interface const &sett,
                                                           lt::counters &cnt);

#endif
