// FsService: the FUSE session on the core loop. The /dev/fuse fd is non-blocking and watched by an Asio
// stream_descriptor; each time it is readable the loop receives and dispatches every queued request, and after a
// metadata request it polls a little longer for the next one (drain_requests).
#include "tiercel/fs/fs_service.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/fuse.h>
#include <sched.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "fuse_ops.hpp"
#include "fuse_killpriv.hpp"
#include "fuse_uring.hpp"
#include "tiercel/core/log.hpp"

namespace tiercel::fs {
namespace {

// Readahead of the mount (4 one-MiB requests in flight for a sequential reader; the kernel default is 128 KiB).
constexpr unsigned kReadaheadKib = 4096;

using Clock = std::chrono::steady_clock;
// How long the loop keeps polling the fd after a metadata request before it goes back to waiting on io_uring, and
// the longest one turn of reading may hold the loop before other handlers get theirs (docs/design.md, "Polling
// after metadata requests").
constexpr auto kSpinWindow = std::chrono::microseconds(100);
constexpr auto kMaxTurn = std::chrono::microseconds(1000);
// A yield that took longer than this, with no request after it, means other threads want this CPU: polling would
// take their time, so the loop goes back to sleeping.
constexpr auto kBusyYield = std::chrono::microseconds(20);

// Requests after which the next one usually follows within microseconds: a create is GETATTR of the directory (the
// kernel's permission check after the previous create changed it), LOOKUP, CREATE, RELEASE; an unlink is GETATTR and
// UNLINK; a walk is READDIRPLUS after READDIRPLUS. Data requests are left out: between them the loop's CPU belongs
// to the block writers and readers.
bool followed_closely(const fuse_buf& buf) {
    if (buf.size < sizeof(fuse_in_header) || !buf.mem)
        return false;
    switch (static_cast<const fuse_in_header*>(buf.mem)->opcode) {
    case FUSE_WRITE: {
        // A small write (an untar writes each file in 10 KiB records) is answered from memory and followed at once
        // by the next request of the same file; a large one is part of a data stream, where polling only burns CPU.
        constexpr uint32_t kSmallWrite = 64 << 10;
        if (buf.size < sizeof(fuse_in_header) + sizeof(fuse_write_in))
            return false;
        fuse_write_in write_in{};
        std::memcpy(&write_in, static_cast<const char*>(buf.mem) + sizeof(fuse_in_header), sizeof write_in);
        return write_in.size < kSmallWrite;
    }
    case FUSE_READ:
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR:
    case FUSE_FALLOCATE:
    case FUSE_COPY_FILE_RANGE:
        return false;
    default:
        return true;
    }
}

// mountinfo escapes space, tab, newline and backslash as \ooo (octal).
std::string unescape_mountinfo(const std::string& field) {
    auto octal = [](char c) { return c >= '0' && c <= '7'; };
    std::string out;
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() && octal(field[i + 1]) && octal(field[i + 2]) &&
            octal(field[i + 3])) {
            out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0'));
            i += 3;
        } else {
            out += field[i];
        }
    }
    return out;
}

// "major:minor" of the filesystem mounted last on `path`, read from /proc/self/mountinfo (a stat of the mountpoint
// would be a FUSE request to this very loop).
std::string mount_device(const std::string& path) {
    std::ifstream info("/proc/self/mountinfo");
    std::string line, device;
    while (std::getline(info, line)) {
        std::istringstream fields(line);
        std::string id, parent, dev, root, point;
        if (fields >> id >> parent >> dev >> root >> point && unescape_mountinfo(point) == path)
            device = dev;
    }
    return device;
}

ssize_t read_request(int fd, void* buf, size_t len, void*) { return ::read(fd, buf, len); }

}  // namespace

FsService::FsService(Daemon& daemon, std::function<pool::Pool*()> pool, MountOptions options)
    : daemon_(daemon),
      pool_(std::move(pool)),
      options_(std::move(options)),
      killpriv_(std::make_unique<KillPrivNegotiation>()) {}

FsService::~FsService() { finish(); }

Status FsService::start() {
    pool::Pool* pool = pool_();
    if (!pool)
        return make_error(Errc::invalid_input, "cannot mount " + options_.mountpoint + ": no pool is configured");
    TIERCEL_ASSIGN(fs_, Filesystem::open(*pool, options_.fs));
    workers_ = std::make_unique<boost::asio::thread_pool>(options_.worker_threads);

    // allow_other: a NAS share is for every user, and default_permissions makes the kernel check modes and ACLs.
    std::string opts = std::string(kBaseMountOptions) + ",fsname=tiercel,subtype=tiercel";
    if (!options_.options.empty())
        opts += "," + options_.options;
    std::vector<std::string> argv_strings = {"tiercel", "-o", opts};
    std::vector<char*> argv;
    for (auto& arg : argv_strings)
        argv.push_back(arg.data());
    fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
    const fuse_lowlevel_ops& ops = fuse_operations();
    session_ = fuse_session_new(&args, &ops, sizeof ops, this);
    fuse_opt_free_args(&args);  // fuse_session_new parses (and may grow) the list; the session keeps copies
    if (!session_)
        return make_error(Errc::invalid_input, "cannot start a FUSE session with options '" + opts + "'");
    if (char* real = ::realpath(options_.mountpoint.c_str(), nullptr)) {  // before mounting: after, it is FUSE's
        mount_path_ = real;
        std::free(real);
    }
    if (fuse_session_mount(session_, options_.mountpoint.c_str()) != 0) {
        fuse_session_destroy(session_);
        session_ = nullptr;
        return make_error(Errc::io_error, "cannot mount the pool on " + options_.mountpoint +
                                              " (is it an existing directory, and is /dev/fuse usable?)");
    }
    mounted_ = true;
    const int fd = fuse_session_fd(session_);
    // Replies go through write_reply(), which knows the requests that came over io_uring.
    const fuse_custom_io io{&FsService::write_reply, &read_request, nullptr, nullptr};
    if (fuse_session_custom_io(session_, &io, fd) != 0)
        log::warning("fs", "libfuse refused custom I/O; FUSE requests stay on /dev/fuse");
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    // The descriptor watches a duplicate: libfuse closes its own fd when the session ends.
    fd_ = std::make_unique<boost::asio::posix::stream_descriptor>(daemon_.loop(), ::dup(fd));
    buffer_ = std::make_unique<fuse_buf>();
    *buffer_ = fuse_buf{};
    wait_for_requests();
    log::notice("fs", "mounted the pool on " + options_.mountpoint + " (block size " +
                          std::to_string(fs_->block_size()) + " bytes)");
    return {};
}

void FsService::wait_for_requests() {
    fd_->async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
        if (ec || finished_)
            return;
        drain_requests();
    });
}

// Reads and answers requests until the queue is empty, then keeps polling for kSpinWindow if the last request was
// one that is usually followed closely by the next. A sleep in io_uring between two requests costs a wakeup of this
// thread on another CPU when the next one comes: on a VM whose idle vCPUs halt, tens of microseconds per request,
// several times what answering a metadata request takes. Between polls the thread yields, so a client waiting on
// this CPU runs at once; a long yield that brought no request means the CPU is contended, and polling stops. A turn
// ends after kMaxTurn even while requests keep coming: the loop has other handlers.
void FsService::drain_requests() {
    const Clock::time_point turn_start = Clock::now();
    Clock::time_point last_request = turn_start;
    bool keep_polling = false;
    bool yield_was_long = false;
    for (;;) {
        const int received = fuse_session_receive_buf(session_, buffer_.get());
        if (received == -EINTR)
            continue;
        if (received == -EAGAIN) {
            const Clock::time_point now = Clock::now();
            if (!keep_polling || yield_was_long || now - last_request > kSpinWindow || now - turn_start > kMaxTurn)
                break;
            ::sched_yield();
            yield_was_long = Clock::now() - now > kBusyYield;
            continue;
        }
        yield_was_long = false;
        if (received <= 0 || fuse_session_exited(session_)) {
            on_unmounted();
            return;
        }
        keep_polling = !uring_ && followed_closely(*buffer_);
        killpriv_->on_request(buffer_->mem, static_cast<size_t>(received));
        note_request_hints(buffer_->mem, static_cast<size_t>(received));
        fuse_session_process_buf(session_, buffer_.get());
        if (init_seen_ && !readahead_set_)
            raise_readahead();
        if (init_seen_ && !uring_tried_)
            start_uring();
        last_request = Clock::now();
        if (last_request - turn_start > kMaxTurn)
            break;
    }
    wait_for_requests();
}

// The INIT answer sets the mount's readahead to min(128 KiB, max_readahead); only sysfs raises it, and only after
// INIT (before, the INIT answer would lower it again). Root only; without it reads still work, in smaller requests.
void FsService::raise_readahead() {
    readahead_set_ = true;
    const std::string device = mount_path_.empty() ? std::string() : mount_device(mount_path_);
    std::ofstream knob("/sys/class/bdi/" + device + "/read_ahead_kb");
    if (device.empty() || !(knob << kReadaheadKib << std::flush))
        log::notice("fs", "cannot raise the readahead of " + options_.mountpoint + " (device '" + device +
                              "'); sequential reads use the kernel's 128 KiB");
}

// After INIT's answer (the kernel refuses ring entries before it knows max_write). A refusal leaves the mount on
// /dev/fuse, which works the same, only with a cross-CPU wake-up per request.
void FsService::start_uring() {
    uring_tried_ = true;
    log::notice("fs", killpriv_->accepted()
                          ? "setuid/setgid and file capabilities are cleared here on write, truncate and chown "
                            "(FUSE_HANDLE_KILLPRIV_V2)"
                          : "the kernel clears setuid/setgid itself (no FUSE_HANDLE_KILLPRIV_V2 on this kernel)");
    if (!options_.fuse_io_uring)
        return;
    if (Status enabled = enable_fuse_uring(); !enabled) {
        log::notice("fs", "FUSE requests stay on /dev/fuse: " + enabled.error().describe());
        return;
    }
    // Published before the queues start: the first ring request can come (and be answered, on any thread) before
    // start() returns.
    uring_ = FuseUring::create(session_, fuse_session_fd(session_), FuseUring::Options{});
    uring_replies_.store(uring_.get());
    if (Status started = uring_->start(); !started) {
        // No ring request came (the kernel switches only once every queue is registered), so no reply needs it;
        // the stopped object stays until shutdown, as a reply on another thread may still be looking through it.
        uring_replies_.store(nullptr);
        refused_uring_ = std::move(uring_);
        log::notice("fs", "FUSE requests stay on /dev/fuse: " + started.error().describe());
        return;
    }
    log::notice("fs", "FUSE requests over io_uring: " + std::to_string(uring_->queue_count()) +
                          " queues, one per CPU");
}

ssize_t FsService::write_reply(int fd, struct iovec* iov, int count, void* userdata) {
    auto* self = static_cast<FsService*>(userdata);
    self->killpriv_->on_reply(iov, count);
    ssize_t written = 0;
    if (FuseUring* uring = self->uring_replies_.load(); uring && uring->reply(iov, count, written))
        return written;
    return ::writev(fd, iov, count);
}

void FsService::on_unmounted() {
    log::notice("fs", options_.mountpoint + " was unmounted");
    mounted_ = false;  // the kernel already let go of the mount
    if (options_.stop_daemon_on_unmount) {
        daemon_.request_stop("the filesystem was unmounted");
        return;
    }
    finish();
}

void FsService::stop() { finish(); }

// Stops reading, lets the requests in flight finish, writes everything out, then unmounts.
void FsService::finish() {
    if (finished_ || !fs_)
        return;
    finished_ = true;
    if (uring_)
        uring_->stop();  // no new requests from the rings; replies of those in flight still find their entries
    if (fd_) {
        boost::system::error_code ignored;
        fd_->cancel(ignored);
        fd_->close(ignored);
    }
    if (workers_)
        workers_->join();
    uring_replies_.store(nullptr);
    uring_.reset();
    if (Status flushed = fs_->shutdown(); !flushed)
        log::error("fs", "final flush: " + flushed.error().describe());
    if (session_) {
        // Called even when the kernel already let go of the mount (external umount): libfuse then skips the
        // unmount itself (the fd reports POLLERR) but still frees the mountpoint it copied.
        fuse_session_unmount(session_);
        fuse_session_destroy(session_);
        session_ = nullptr;
    }
    if (buffer_ && buffer_->mem)
        std::free(buffer_->mem);
    buffer_.reset();
    fs_.reset();
    log::notice("fs", "unmounted " + options_.mountpoint + "; the namespace is committed");
}

}  // namespace tiercel::fs
