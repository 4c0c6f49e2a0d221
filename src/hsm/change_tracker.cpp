// The notification-only fanotify group that feeds the policy runner's index (filesystem marks, DFID + name).
#include "tiercel/hsm/change_tracker.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/statfs.h>
#include <unistd.h>

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
                                                            std::function<void()> wake) {
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
    tracker->thread_ = std::thread([t = tracker.get()] { t->run(); });
    return tracker;
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
    ::close(group_fd_);
    ::close(stop_fd_);
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
    std::vector<char> buffer(64 * 1024);
    pollfd fds[2] = {{group_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    while (true) {
        if (::poll(fds, 2, -1) < 0 && errno != EINTR)
            return;
        if (fds[1].revents)
            return;
        if (!(fds[0].revents & POLLIN))
            continue;
        while (true) {
            ssize_t n = ::read(group_fd_, buffer.data(), buffer.size());
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
