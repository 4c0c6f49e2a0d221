// The notification-only fanotify group that feeds the policy runner's index (filesystem marks, DFID + name).
#include "tiercel/hsm/change_tracker.hpp"
#include "tiercel/hsm/guardian.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "tiercel/hsm/candidate_index.hpp"

namespace tiercel::hsm {
namespace {

constexpr uint64_t tracked_mask = FAN_CLOSE_WRITE | FAN_MODIFY | FAN_ATTRIB | FAN_CREATE | FAN_MOVED_TO |
                                  FAN_DELETE | FAN_MOVED_FROM | FAN_ONDIR;
constexpr uint64_t dirent_mask = FAN_CREATE | FAN_MOVED_TO | FAN_DELETE | FAN_MOVED_FROM;

// statfs() and the event records spell the fsid with different types; both are two ints.
template <typename Fsid>
std::pair<int32_t, int32_t> fsid_key(const Fsid& fsid) {
    static_assert(sizeof(Fsid) == 2 * sizeof(int32_t));
    int32_t val[2];
    std::memcpy(val, &fsid, sizeof val);
    return {val[0], val[1]};
}

// The path of a directory file handle, or "" when it is gone.
std::string resolve(int mount_fd, const unsigned char* raw_handle) {
    file_handle header{};
    std::memcpy(&header, raw_handle, sizeof header);
    std::vector<unsigned char> storage(sizeof(file_handle) + header.handle_bytes);
    std::memcpy(storage.data(), raw_handle, storage.size());
    int fd = ::open_by_handle_at(mount_fd, reinterpret_cast<file_handle*>(storage.data()), O_PATH | O_CLOEXEC);
    if (fd < 0)
        return {};
    char link[PATH_MAX];
    ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), link, sizeof link - 1);
    ::close(fd);
    if (n <= 0)
        return {};
    std::string path(link, static_cast<size_t>(n));
    constexpr std::string_view deleted = " (deleted)";
    if (path.size() > deleted.size() && path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0)
        return {};
    return path;
}

}  // namespace

Result<std::unique_ptr<ChangeTracker>> ChangeTracker::start(const std::vector<std::string>& roots,
                                                            std::function<void()> wake, const std::string& program) {
    int group = ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME,
                                O_RDONLY | O_CLOEXEC | O_LARGEFILE);
    if (group < 0)
        return Error::from_errno(errno, "fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME)");
    int stop = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop < 0) {
        int err = errno;
        ::close(group);
        return Error::from_errno(err, "eventfd");
    }
    std::unique_ptr<ChangeTracker> tracker(new ChangeTracker(group, stop, roots, std::move(wake)));
    for (const auto& root : roots) {
        struct statfs fs {};
        if (::statfs(root.c_str(), &fs) != 0)
            return Error::from_errno(errno, "statfs " + root);
        if (::fanotify_mark(group, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, tracked_mask, AT_FDCWD, root.c_str()) != 0)
            return Error::from_errno(errno, "fanotify_mark(FAN_MARK_FILESYSTEM) on " + root);
        auto key = fsid_key(fs.f_fsid);
        if (!tracker->mount_fds_.count(key)) {
            int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0)
                return Error::from_errno(errno, "open " + root);
            tracker->mount_fds_[key] = fd;
        }
    }
    TIERCEL_TRY(tracker->start_relay(program));
    tracker->thread_ = std::thread([t = tracker.get()] { t->run(); });
    return tracker;
}

// The relay process's loop (see the header): one fanotify read, one message.
void run_change_relay(int group, int socket_fd) {
    std::vector<char> buffer(ChangeTracker::relay_message);
    pollfd fds[2] = {{group, POLLIN, 0}, {socket_fd, 0, 0}};
    while (true) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            ::_exit(1);
        }
        if (fds[1].revents & (POLLHUP | POLLERR))
            ::_exit(0);
        if (!(fds[0].revents & POLLIN))
            continue;
        ssize_t n = ::read(group, buffer.data(), buffer.size());
        if (n > 0 && ::send(socket_fd, buffer.data(), static_cast<size_t>(n), MSG_NOSIGNAL) < 0)
            ::_exit(0);
    }
}

// The relay is a fresh image (fork + exec of this binary), like the guardian: a forked copy of the daemon would keep
// its io_uring rings, and with them its sockets, alive after the daemon dies. The child closes everything but the
// group (fd 3) and its socket (fd 4) before exec; only async-signal-safe calls run between fork and exec.
Status ChangeTracker::start_relay(const std::string& program) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        return Error::from_errno(errno, "socketpair for the change relay");
    pid_t pid = ::fork();
    if (pid < 0) {
        int err = errno;
        ::close(pair[0]);
        ::close(pair[1]);
        return Error::from_errno(err, "fork of the change relay");
    }
    if (pid == 0)  // the relay goes down with the daemon's socket (EOF), never with the terminal's Ctrl-C
        exec_helper_process(group_fd_, pair[1], program.c_str(), "hsm-relay", false);
    ::close(pair[1]);
    ::close(group_fd_);  // the relay holds the group now
    group_fd_ = pair[0];
    relay_pid_ = pid;
    return {};
}

ChangeTracker::ChangeTracker(int group_fd, int stop_fd, std::vector<std::string> roots, std::function<void()> wake)
    : group_fd_(group_fd), stop_fd_(stop_fd), roots_(std::move(roots)), wake_(std::move(wake)) {}

ChangeTracker::~ChangeTracker() {
    uint64_t one = 1;
    if (::write(stop_fd_, &one, sizeof one) < 0) {
        // the eventfd cannot be full after one write; nothing else to do
    }
    if (thread_.joinable())
        thread_.join();
    for (const auto& [key, fd] : mount_fds_)
        ::close(fd);
    ::close(group_fd_);  // the relay sees the hang-up and exits
    ::close(stop_fd_);
    // Reap the relay if it is done within a second; its exit may wait for readers blocked on a recall, and then it is
    // left to finish on its own (its parent reaps it, or init once the daemon is gone).
    for (int i = 0; relay_pid_ > 0 && i < 100; ++i) {
        if (::waitpid(relay_pid_, nullptr, WNOHANG) != 0)
            break;
        ::usleep(10'000);
    }
}

std::vector<Change> ChangeTracker::take(bool& overflowed) {
    std::lock_guard lock(mutex_);
    std::vector<Change> out;
    out.reserve(pending_.size());
    for (auto& [path, directory] : pending_)
        out.push_back({path, directory});
    pending_.clear();
    overflowed = overflowed_;
    overflowed_ = false;
    return out;
}

void ChangeTracker::run() {
    std::vector<char> buffer(relay_message);
    pollfd fds[2] = {{group_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    while (true) {
        if (::poll(fds, 2, -1) < 0 && errno != EINTR)
            return;
        if (fds[1].revents)
            return;
        if (fds[0].revents & (POLLHUP | POLLERR)) {
            // The relay is gone: what changed from now on is unknown, so report an overflow (a rescan).
            {
                std::lock_guard lock(mutex_);
                overflowed_ = true;
                alive_ = false;
            }
            if (wake_)
                wake_();
            return;
        }
        if (!(fds[0].revents & POLLIN))
            continue;
        while (true) {
            ssize_t n = ::recv(group_fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
            if (n <= 0)
                break;
            dispatch(buffer.data(), static_cast<size_t>(n));
        }
        if (wake_)
            wake_();
    }
}

void ChangeTracker::dispatch(const char* buffer, size_t length) {
    size_t offset = 0;
    while (offset + sizeof(fanotify_event_metadata) <= length) {
        fanotify_event_metadata meta{};
        std::memcpy(&meta, buffer + offset, sizeof meta);
        if (meta.event_len < sizeof meta || offset + meta.event_len > length)
            return;
        ++events_;
        if (meta.mask & FAN_Q_OVERFLOW) {
            std::lock_guard lock(mutex_);
            overflowed_ = true;
        }
        bool directory = (meta.mask & FAN_ONDIR) != 0;
        size_t info = offset + meta.metadata_len;
        // Directory events matter only when the tree changes shape (a subdirectory appears, goes or moves).
        if (directory && !(meta.mask & dirent_mask))
            info = offset + meta.event_len;
        while (info + sizeof(fanotify_event_info_fid) <= offset + meta.event_len) {
            fanotify_event_info_fid fid{};
            std::memcpy(&fid, buffer + info, sizeof fid);
            if (fid.hdr.len == 0)
                break;
            if (fid.hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME || fid.hdr.info_type == FAN_EVENT_INFO_TYPE_DFID) {
                auto mount = mount_fds_.find(fsid_key(fid.fsid));
                const auto* handle = reinterpret_cast<const unsigned char*>(buffer + info + sizeof fid);
                std::string dir = mount == mount_fds_.end() ? std::string() : resolve(mount->second, handle);
                std::string name;
                if (fid.hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME) {
                    file_handle h{};
                    std::memcpy(&h, handle, sizeof h);
                    name = reinterpret_cast<const char*>(handle + sizeof(file_handle) + h.handle_bytes);
                }
                if (!dir.empty())
                    queue(name.empty() || name == "." ? dir : (dir == "/" ? "/" + name : dir + "/" + name),
                          directory);
            }
            info += fid.hdr.len;
        }
        offset += meta.event_len;
    }
}

void ChangeTracker::queue(std::string path, bool directory) {
    bool watched = false;
    for (const auto& root : roots_)
        watched = watched || below(path, root);
    if (!watched)
        return;
    std::lock_guard lock(mutex_);
    auto& entry = pending_[path];
    entry = entry || directory;
}

}  // namespace tiercel::hsm
