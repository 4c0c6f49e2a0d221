#include "tiercel/io/posix_disk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "tiercel/io/path.hpp"
#include "tiercel/io/uring.hpp"

namespace tiercel::io {

namespace {

constexpr mode_t kFileMode = 0644;
constexpr mode_t kDirMode = 0755;
// Keeps ".tmp.<name>.<pid>.<seq>" under NAME_MAX (255) for long target names.
constexpr size_t kMaxNameInTempName = 200;

Status check(std::string_view disk, std::string_view op, std::string_view path, PathKind kind) {
    return validate_path(disk, op, path, kind);
}

const char* dir_arg(const std::string& dir) { return dir.empty() ? "." : dir.c_str(); }

}  // namespace

Result<std::shared_ptr<PosixDisk>> PosixDisk::open(std::string_view name, const std::string& root_path,
                                                   PosixDiskOptions options) {
    std::string full_name = std::string(name) + " (" + root_path + ")";
    struct stat st {};
    if (::stat(root_path.c_str(), &st) != 0)
        return disk_error(errno == ENOENT ? Errc::not_found : Errc::io_error, full_name, "open", root_path,
                          std::strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return disk_error(Errc::invalid_input, full_name, "open", root_path, "not a directory");
    int fd = ::open(root_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return disk_error(Errc::io_error, full_name, "open", root_path, std::strerror(errno));
    return std::shared_ptr<PosixDisk>(
        new PosixDisk(std::move(full_name), root_path, fd, st.st_dev, st.st_ino, options));
}

bool PosixDisk::is_temp_name(std::string_view entry_name) { return entry_name.starts_with(kTempPrefix); }

PosixDisk::PosixDisk(std::string name, std::string root_path, int root_fd, dev_t dev, ino_t ino,
                     PosixDiskOptions options)
    : name_(std::move(name)), root_path_(std::move(root_path)), root_fd_(root_fd), root_dev_(dev), root_ino_(ino),
      options_(options), fd_cache_(options.open_file_cache), direct_writes_(options.direct_writes) {}

PosixDisk::~PosixDisk() { ::close(root_fd_); }

bool PosixDisk::uses_io_uring() const { return uring::pick_backend(options_.use_io_uring) == uring::Backend::io_uring; }

bool PosixDisk::root_gone() const {
    struct stat held {};
    if (::fstat(root_fd_, &held) != 0 || held.st_nlink == 0)
        return true;
    struct stat named {};
    return ::stat(root_path_.c_str(), &named) != 0 || named.st_dev != root_dev_ || named.st_ino != root_ino_;
}

Status PosixDisk::check_root_alive(std::string_view op, std::string_view path) const {
    if (root_gone())
        return disk_error(Errc::not_found, name_, op, path, "disk root directory is gone");
    return {};
}

Error PosixDisk::os_error(int err, std::string_view op, std::string_view path) const {
    if ((err == ENOENT || err == ENOTDIR) && root_gone())
        return disk_error(Errc::not_found, name_, op, path, "disk root directory is gone");
    return Error::from_errno(err, name_ + ": " + std::string(op) + " " + std::string(path));
}

std::mutex& PosixDisk::append_lock_for(std::string_view path) {
    return append_locks_[std::hash<std::string_view>{}(path) % append_locks_.size()];
}

Result<OpenFilePtr> PosixDisk::open_file(const std::string& path, Create create, std::string_view op) {
    if (OpenFilePtr cached = fd_cache_.find(path))
        return cached;
    uint64_t generation = fd_cache_.generation();
    int flags = O_RDWR | O_CLOEXEC | (create == Create::yes ? O_CREAT : 0);
    int fd;
    do {
        fd = ::openat(root_fd_, path.c_str(), flags, kFileMode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return os_error(errno, op, path);
    auto file = std::make_shared<OpenFile>(fd);
    fd_cache_.insert(path, file, generation);
    return file;
}

Status PosixDisk::write_file(std::string_view path_view, ByteSpan data, bool sync) {
    TIERCEL_TRY(check(name_, "write_file", path_view, PathKind::file));
    std::string path(path_view);
    if (sync)
        return write_temp_and_rename(path, data);
    TIERCEL_ASSIGN(OpenFilePtr file, open_file(path, Create::yes, "write_file"));
    TIERCEL_TRY(write_whole(path, file->fd(), data));
    // Truncating after the write (not before) means a reader never sees the file empty in between. Only a file
    // that was longer needs it: fstat is far cheaper than ftruncate, which journals even when nothing changes.
    struct stat written {};
    if (::fstat(file->fd(), &written) != 0)
        return os_error(errno, "write_file", path);
    if (static_cast<uint64_t>(written.st_size) > data.size() &&
        ::ftruncate(file->fd(), static_cast<off_t>(data.size())) != 0)
        return os_error(errno, "write_file", path);
    return {};
}

namespace {

// A page-aligned buffer kept by each writing thread and reused: O_DIRECT needs an aligned source, and a buffer that
// stays mapped costs no page faults (fresh pages are expensive on a virtual machine).
class AlignedScratch {
public:
    ~AlignedScratch() { std::free(data_); }
    std::byte* reserve(size_t size) {
        if (size > capacity_) {
            std::free(data_);
            capacity_ = (size + PosixDisk::kDirectAlign - 1) & ~(PosixDisk::kDirectAlign - 1);
            data_ = static_cast<std::byte*>(std::aligned_alloc(PosixDisk::kDirectAlign, capacity_));
            if (data_ == nullptr)
                capacity_ = 0;
        }
        return data_;
    }

private:
    std::byte* data_ = nullptr;
    size_t capacity_ = 0;
};

}  // namespace

Status PosixDisk::write_whole(const std::string& path, int buffered_fd, ByteSpan data) {
    size_t direct = 0;
    if (data.size() >= kDirectWriteMin && direct_writes_active()) {
        size_t aligned = data.size() & ~(kDirectAlign - 1);
        TIERCEL_ASSIGN(bool written, try_write_direct(path, data.first(aligned)));
        direct = written ? aligned : 0;
    }
    // A small buffered write is a copy into the page cache: io_uring would hand it to an io-wq worker thread and back
    // (a profile of many small shard writes showed those hand-offs), so pwrite does it on this thread.
    constexpr size_t kSmallBufferedWrite = 256 << 10;
    ByteSpan rest = data.subspan(direct);
    auto backend = uring::pick_backend(options_.use_io_uring && rest.size() > kSmallBufferedWrite);
    if (int64_t put = uring::write_full(backend, buffered_fd, direct, rest); put < 0)
        return os_error(static_cast<int>(-put), "write_file", path);
    return {};
}

Result<bool> PosixDisk::try_write_direct(const std::string& path, ByteSpan aligned_prefix) {
    thread_local AlignedScratch scratch;
    std::byte* bounce = scratch.reserve(aligned_prefix.size());
    if (bounce == nullptr)
        return false;
    int fd;
    do {
        fd = ::openat(root_fd_, path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0 && errno == EINVAL) {  // this filesystem has no direct I/O
        direct_writes_.store(false, std::memory_order_relaxed);
        return false;
    }
    if (fd < 0)
        return os_error(errno, "write_file", path);
    std::memcpy(bounce, aligned_prefix.data(), aligned_prefix.size());
    int64_t put = uring::write_full(uring::pick_backend(options_.use_io_uring), fd,
                                    0, std::span<const std::byte>(bounce, aligned_prefix.size()));
    ::close(fd);
    if (put == -EINVAL) {  // direct I/O that this filesystem or device cannot align to 4 KiB: buffered from now on
        direct_writes_.store(false, std::memory_order_relaxed);
        return false;
    }
    if (put < 0)
        return os_error(static_cast<int>(-put), "write_file", path);
    return true;
}

Status PosixDisk::write_temp_and_rename(const std::string& path, ByteSpan data) {
    std::string dir(parent_dir(path));
    std::string temp_name(kTempPrefix);
    temp_name += base_name(path).substr(0, kMaxNameInTempName);
    temp_name += "." + std::to_string(::getpid()) + "." + std::to_string(temp_sequence_.fetch_add(1));
    std::string temp = join_path(dir, temp_name);

    int fd = ::openat(root_fd_, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
    if (fd < 0)
        return os_error(errno, "write_file", path);
    int written = uring::write_full_and_sync(uring::pick_backend(options_.use_io_uring), fd, 0, data);
    ::close(fd);
    if (written < 0) {
        ::unlinkat(root_fd_, temp.c_str(), 0);
        return os_error(-written, "write_file", path + " (temp " + temp + ")");
    }
    if (::renameat(root_fd_, temp.c_str(), root_fd_, path.c_str()) != 0) {
        int err = errno;
        ::unlinkat(root_fd_, temp.c_str(), 0);
        return os_error(err, "write_file", path);
    }
    fd_cache_.invalidate(path);
    return sync_open_dir(dir, "write_file");
}

Status PosixDisk::write_at(std::string_view path_view, uint64_t offset, ByteSpan data) {
    TIERCEL_TRY(check(name_, "write_at", path_view, PathKind::file));
    std::string path(path_view);
    TIERCEL_ASSIGN(OpenFilePtr file, open_file(path, Create::yes, "write_at"));
    if (int64_t put = uring::write_full(uring::pick_backend(options_.use_io_uring), file->fd(), offset, data); put < 0)
        return os_error(static_cast<int>(-put), "write_at", path);
    return {};
}

Result<uint64_t> PosixDisk::append(std::string_view path_view, ByteSpan data) {
    TIERCEL_TRY(check(name_, "append", path_view, PathKind::file));
    std::string path(path_view);
    TIERCEL_ASSIGN(OpenFilePtr file, open_file(path, Create::yes, "append"));
    std::lock_guard lock(append_lock_for(path));
    struct stat st {};
    if (::fstat(file->fd(), &st) != 0)
        return os_error(errno, "append", path);
    auto offset = static_cast<uint64_t>(st.st_size);
    if (int64_t put = uring::write_full(uring::pick_backend(options_.use_io_uring), file->fd(), offset, data); put < 0)
        return os_error(static_cast<int>(-put), "append", path);
    return offset;
}

Result<size_t> PosixDisk::read_at(std::string_view path_view, uint64_t offset, MutableByteSpan out) {
    TIERCEL_TRY(check(name_, "read_at", path_view, PathKind::file));
    std::string path(path_view);
    TIERCEL_ASSIGN(OpenFilePtr file, open_file(path, Create::no, "read_at"));
    int64_t got = uring::read_full(uring::pick_backend(options_.use_io_uring), file->fd(), offset, out);
    if (got < 0)
        return os_error(static_cast<int>(-got), "read_at", path);
    return static_cast<size_t>(got);
}

Result<Bytes> PosixDisk::read_file(std::string_view path_view) {
    TIERCEL_TRY(check(name_, "read_file", path_view, PathKind::file));
    std::string path(path_view);
    TIERCEL_ASSIGN(OpenFilePtr file, open_file(path, Create::no, "read_file"));
    struct stat st {};
    if (::fstat(file->fd(), &st) != 0)
        return os_error(errno, "read_file", path);
    if (st.st_nlink == 0) {
        // Unlinked behind our back (an outside rm): the cached fd shows a ghost, so look the name up again.
        fd_cache_.invalidate(path);
        TIERCEL_ASSIGN(file, open_file(path, Create::no, "read_file"));
        if (::fstat(file->fd(), &st) != 0)
            return os_error(errno, "read_file", path);
    }
    Bytes content(static_cast<size_t>(st.st_size));
    int64_t got = uring::read_full(uring::pick_backend(options_.use_io_uring), file->fd(), 0, content);
    if (got < 0)
        return os_error(static_cast<int>(-got), "read_file", path);
    if (static_cast<size_t>(got) != content.size())
        return disk_error(Errc::corruption, name_, "read_file", path,
                          "short read: " + std::to_string(got) + " of " + std::to_string(content.size()) + " bytes");
    return content;
}

Result<uint64_t> PosixDisk::file_size(std::string_view path_view) {
    TIERCEL_TRY(check(name_, "file_size", path_view, PathKind::file));
    std::string path(path_view);
    struct stat st {};
    if (::fstatat(root_fd_, path.c_str(), &st, 0) != 0)
        return os_error(errno, "file_size", path);
    if (S_ISDIR(st.st_mode))
        return disk_error(Errc::invalid_input, name_, "file_size", path, "is a directory");
    return static_cast<uint64_t>(st.st_size);
}

Status PosixDisk::truncate(std::string_view path_view, uint64_t size) {
    TIERCEL_TRY(check(name_, "truncate", path_view, PathKind::file));
    std::string path(path_view);
    // Through the (cached) fd: the inode stays the same, so no cache entry goes stale.
    TIERCEL_ASSIGN(OpenFilePtr file, open_file(path, Create::no, "truncate"));
    if (::ftruncate(file->fd(), static_cast<off_t>(size)) != 0)
        return os_error(errno, "truncate", path);
    return {};
}

Status PosixDisk::sync_file(std::string_view path_view) {
    TIERCEL_TRY(check(name_, "sync_file", path_view, PathKind::file));
    std::string path(path_view);
    TIERCEL_ASSIGN(OpenFilePtr file, open_file(path, Create::no, "sync_file"));
    if (int err = uring::sync(uring::pick_backend(options_.use_io_uring), file->fd(), false); err < 0)
        return os_error(-err, "sync_file", path);
    struct stat st {};
    if (::fstat(file->fd(), &st) != 0)
        return os_error(errno, "sync_file", path);
    if (st.st_nlink == 0) {
        fd_cache_.invalidate(path);
        TIERCEL_TRY(check_root_alive("sync_file", path));
        return disk_error(Errc::not_found, name_, "sync_file", path, "file was removed outside this disk");
    }
    return {};
}

Status PosixDisk::sync_dir(std::string_view dir) {
    TIERCEL_TRY(check(name_, "sync_dir", dir, PathKind::dir));
    return sync_open_dir(dir, "sync_dir");
}

Status PosixDisk::sync_all() {
    if (::syncfs(root_fd_) != 0)
        return os_error(errno, "sync_all", "");
    // syncfs of a filesystem whose disk directory was removed succeeds: the data it wrote there is gone all the same.
    return check_root_alive("sync_all", "");
}

Status PosixDisk::sync_open_dir(std::string_view dir_view, std::string_view op) {
    std::string dir(dir_view);
    int fd = ::openat(root_fd_, dir_arg(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return os_error(errno, op, dir);
    int err = uring::sync(uring::pick_backend(options_.use_io_uring), fd, false);
    struct stat st {};
    bool removed = ::fstat(fd, &st) != 0 || st.st_nlink == 0;
    ::close(fd);
    if (err < 0)
        return os_error(-err, op, dir);
    if (removed || root_gone()) {
        TIERCEL_TRY(check_root_alive(op, dir));
        return disk_error(Errc::not_found, name_, op, dir, "directory was removed");
    }
    return {};
}

Status PosixDisk::rename(std::string_view from_view, std::string_view to_view) {
    TIERCEL_TRY(check(name_, "rename", from_view, PathKind::file));
    TIERCEL_TRY(check(name_, "rename", to_view, PathKind::file));
    std::string from(from_view);
    std::string to(to_view);
    if (::renameat(root_fd_, from.c_str(), root_fd_, to.c_str()) != 0)
        return os_error(errno, "rename", from + " -> " + to);
    fd_cache_.invalidate(from);
    fd_cache_.invalidate(to);
    return {};
}

Status PosixDisk::remove(std::string_view path_view) {
    TIERCEL_TRY(check(name_, "remove", path_view, PathKind::file));
    std::string path(path_view);
    int rc = ::unlinkat(root_fd_, path.c_str(), 0);
    if (rc != 0 && errno == EISDIR)
        rc = ::unlinkat(root_fd_, path.c_str(), AT_REMOVEDIR);
    int err = errno;
    fd_cache_.invalidate(path);
    if (rc == 0)
        return {};
    if (err == ENOENT && !root_gone())
        return {};  // already gone: cleanup may be retried
    return os_error(err, "remove", path);
}

Status PosixDisk::make_dirs(std::string_view dir_view) {
    TIERCEL_TRY(check(name_, "make_dirs", dir_view, PathKind::dir));
    std::string dir(dir_view);
    for (size_t end = 0; end != std::string::npos && !dir.empty();) {
        end = dir.find('/', end + 1);
        std::string prefix = dir.substr(0, end);
        if (::mkdirat(root_fd_, prefix.c_str(), kDirMode) != 0 && errno != EEXIST)
            return os_error(errno, "make_dirs", prefix);
    }
    struct stat st {};
    if (::fstatat(root_fd_, dir_arg(dir), &st, 0) != 0)
        return os_error(errno, "make_dirs", dir);
    if (!S_ISDIR(st.st_mode))
        return disk_error(Errc::already_exists, name_, "make_dirs", dir, "exists and is not a directory");
    return check_root_alive("make_dirs", dir);
}

Result<std::vector<std::string>> PosixDisk::list(std::string_view dir_view) {
    TIERCEL_TRY(check(name_, "list", dir_view, PathKind::dir));
    std::string dir(dir_view);
    TIERCEL_TRY(check_root_alive("list", dir));
    int fd = ::openat(root_fd_, dir_arg(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return os_error(errno, "list", dir);
    DIR* stream = ::fdopendir(fd);
    if (stream == nullptr) {
        int err = errno;
        ::close(fd);
        return os_error(err, "list", dir);
    }
    std::vector<std::string> names;
    errno = 0;
    while (dirent* entry = ::readdir(stream)) {
        std::string_view entry_name = entry->d_name;
        if (entry_name != "." && entry_name != "..")
            names.emplace_back(entry_name);
        errno = 0;
    }
    int err = errno;
    ::closedir(stream);
    if (err != 0)
        return os_error(err, "list", dir);
    std::sort(names.begin(), names.end());
    return names;
}

Result<bool> PosixDisk::exists(std::string_view path_view) {
    TIERCEL_TRY(check(name_, "exists", path_view, PathKind::file));
    std::string path(path_view);
    struct stat st {};
    if (::fstatat(root_fd_, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        return true;
    int err = errno;
    if (err != ENOENT && err != ENOTDIR)
        return os_error(err, "exists", path);
    TIERCEL_TRY(check_root_alive("exists", path));
    return false;
}

Result<DiskSpace> PosixDisk::space() {
    TIERCEL_TRY(check_root_alive("space", ""));
    struct statvfs vfs {};
    if (::fstatvfs(root_fd_, &vfs) != 0)
        return os_error(errno, "space", "");
    return DiskSpace{static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize,
                     static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize};
}

}  // namespace tiercel::io
