// Contract: the pool mounted as a filesystem, as a daemon service (FUSE low-level API, libfuse 3.14).
//  - start() opens the Filesystem over the pool, mounts it and puts the session fd on the core loop: the loop reads
//    requests and answers metadata requests at once (they touch memory only); reads, writes, truncates, fsyncs and
//    the other requests that may wait for disks run on a worker pool and reply when done (deferred replies), so the
//    loop never blocks and many reads run at once across disks. After a metadata request the loop polls the fd for
//    100 us more before it sleeps (the next request of a create or unlink follows within microseconds), at most
//    1 ms per turn (docs/design.md, "Polling after metadata requests").
//  - Once the kernel has answered INIT, requests move to io_uring where the kernel allows it (FuseUring: a queue
//    and a thread per CPU, so a request is answered on its caller's CPU); /dev/fuse then carries only FORGET and
//    INTERRUPT, and the loop stops polling it. Replies from any thread go through write_reply(), which sends each to
//    the ring or /dev/fuse its request came from (docs/design.md, "FUSE over io_uring").
//  - stop() stops reading requests, waits for the requests in flight, writes out every dirty block, commits the
//    namespace and unmounts. It blocks for that final flush: the pool service closes the pool right after it.
//  - Once the kernel has answered INIT, the mount's readahead is raised to 4 MiB via sysfs (the kernel starts every FUSE
//    mount at 128 KiB, which keeps a sequential reader one small request ahead).
//  - An external unmount (fusermount3 -u, umount) ends the session the same way (flush + commit); with
//    stop_daemon_on_unmount (`tiercel mount`) it then stops the daemon.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/thread_pool.hpp>

#include "tiercel/core/daemon.hpp"
#include "tiercel/core/service.hpp"
#include "tiercel/fs/filesystem.hpp"

struct fuse_session;
struct fuse_buf;

namespace tiercel::fs {
class FuseUring;
class KillPrivNegotiation;
}

namespace tiercel::fs {

struct MountOptions {
    std::string mountpoint;
    std::string options;  // extra -o options, comma-separated
    bool stop_daemon_on_unmount = false;
    // Take requests over io_uring, one queue per CPU, where the kernel allows it (FuseUring); /dev/fuse otherwise.
    bool fuse_io_uring = true;
    unsigned worker_threads = 16;
    FsOptions fs;
};

class FsService : public Service {
public:
    FsService(Daemon& daemon, std::function<pool::Pool*()> pool, MountOptions options);
    ~FsService() override;
    std::string_view name() const override { return "fs"; }
    Status start() override;
    void stop() override;

    Filesystem* filesystem() { return fs_.get(); }
    // The kernel accepted the session (FUSE INIT answered): the mount's readahead can be raised now. It may also
    // handle opendir/releasedir itself (FUSE_CAP_NO_OPENDIR_SUPPORT), with readdir caching.
    void on_init(bool opendir_in_kernel) {
        init_seen_ = true;
        opendir_in_kernel_ = opendir_in_kernel;
    }
    bool opendir_in_kernel() const { return opendir_in_kernel_; }
    boost::asio::thread_pool& workers() { return *workers_; }

private:
    void wait_for_requests();
    void drain_requests();
    void on_unmounted();
    void finish();
    void raise_readahead();
    void start_uring();
    static ssize_t write_reply(int fd, struct iovec* iov, int count, void* userdata);

    Daemon& daemon_;
    std::function<pool::Pool*()> pool_;
    MountOptions options_;
    std::unique_ptr<Filesystem> fs_;
    std::unique_ptr<boost::asio::thread_pool> workers_;
    std::unique_ptr<boost::asio::posix::stream_descriptor> fd_;
    struct fuse_session* session_ = nullptr;
    std::unique_ptr<struct fuse_buf> buffer_;
    // Set (and published in uring_replies_) before the rings register; lives until the workers are joined.
    std::unique_ptr<FuseUring> uring_;
    std::atomic<FuseUring*> uring_replies_{nullptr};  // what write_reply() consults, from any thread
    std::unique_ptr<FuseUring> refused_uring_;  // rings the kernel refused: stopped, kept until the service goes
    std::unique_ptr<KillPrivNegotiation> killpriv_;   // FUSE_HANDLE_KILLPRIV_V2 in the INIT answer
    std::string mount_path_;  // the mountpoint's real path, as /proc/self/mountinfo shows it
    bool init_seen_ = false;
    bool opendir_in_kernel_ = false;
    bool readahead_set_ = false;
    bool uring_tried_ = false;
    bool mounted_ = false;
    bool finished_ = false;
};

}  // namespace tiercel::fs
