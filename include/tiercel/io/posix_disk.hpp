// Contract: PosixDisk is a Disk over one real directory (a NAS data disk's mount point or a subdirectory of it).
// - Data-path calls (read_at, write_at, append, read_file, write_file's data, fsyncs) go through the calling
//   thread's own io_uring (see io/uring.hpp), or pread/pwrite when io_uring is unavailable; uses_io_uring() tells.
//   Metadata calls (openat, renameat, unlinkat, mkdirat, readdir, statvfs) are plain syscalls relative to a
//   directory fd held on the root, so the root is resolved once.
// - Open fds are cached (LRU, keyed by path, see io/fd_cache.hpp) and dropped on rename and remove through this
//   disk; a file changed behind the disk's back is seen through its old fd until evicted.
// - write_file(sync=true) writes "<dir>/.tmp.<name>.<pid>.<seq>", fsyncs it (linked with the write), renames it
//   over the target and fsyncs the directory. Leftover ".tmp." entries come only from a crash in between and are
//   safe to delete when no daemon runs (is_temp_name()).
// - If the root directory is removed or replaced, calls fail with Errc::not_found saying the disk root is gone;
//   sync_file/sync_dir also refuse a file or directory that was unlinked, so a sync never reports lost data durable.
// - write_file(sync=false) of kDirectWriteMin bytes or more writes its 4 KiB-aligned prefix with O_DIRECT (through a
//   per-thread aligned buffer) and only the tail through the page cache: shards are not read back soon, and copying
//   them into the page cache was half the mount's CPU on a sequential write. A filesystem that refuses O_DIRECT
//   turns it off for this disk (direct_writes_active() tells). Durability is unchanged: sync_file/sync_all still
//   decide it (O_DIRECT alone does not flush the device cache or the file's extent metadata).
// - Paths follow io/path.hpp; symlinks inside the root are followed (the pool never creates any).
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "tiercel/io/disk.hpp"
#include "tiercel/io/fd_cache.hpp"

namespace tiercel::io {

struct PosixDiskOptions {
    bool use_io_uring = true;   // false forces the pread/pwrite path (tests, or a kernel with a broken io_uring)
    size_t open_file_cache = 64;  // cached fds; 0 disables the cache
    bool direct_writes = true;    // false keeps every write_file in the page cache
};

class PosixDisk final : public Disk {
public:
    static constexpr std::string_view kTempPrefix = ".tmp.";
    // Smallest write_file that bypasses the page cache, and the alignment of its direct part (any device's block).
    static constexpr size_t kDirectWriteMin = 256 << 10;
    static constexpr size_t kDirectAlign = 4096;

    // `name` is the short disk name ("disk3"); name() becomes "disk3 (/mnt/disk3)". The root must be a directory.
    static Result<std::shared_ptr<PosixDisk>> open(std::string_view name, const std::string& root_path,
                                                   PosixDiskOptions options = {});
    // True for the names write_file(sync=true) uses for its temporary files.
    static bool is_temp_name(std::string_view entry_name);

    ~PosixDisk() override;
    PosixDisk(const PosixDisk&) = delete;
    PosixDisk& operator=(const PosixDisk&) = delete;

    // Whether calls made from this thread go through io_uring.
    bool uses_io_uring() const;
    const std::string& root() const { return root_path_; }
    size_t cached_fds() const { return fd_cache_.size(); }
    // False once this disk's filesystem refused an O_DIRECT open or write (or when the options turned it off).
    bool direct_writes_active() const { return direct_writes_.load(std::memory_order_relaxed); }

    const std::string& name() const override { return name_; }
    Status write_file(std::string_view path, ByteSpan data, bool sync) override;
    Status write_at(std::string_view path, uint64_t offset, ByteSpan data) override;
    Result<uint64_t> append(std::string_view path, ByteSpan data) override;
    Result<size_t> read_at(std::string_view path, uint64_t offset, MutableByteSpan out) override;
    Result<Bytes> read_file(std::string_view path) override;
    Result<uint64_t> file_size(std::string_view path) override;
    Status truncate(std::string_view path, uint64_t size) override;
    Status sync_file(std::string_view path) override;
    Status sync_dir(std::string_view dir) override;
    Status sync_all() override;
    Status rename(std::string_view from, std::string_view to) override;
    Status remove(std::string_view path) override;
    Status make_dirs(std::string_view dir) override;
    Result<std::vector<std::string>> list(std::string_view dir) override;
    Result<bool> exists(std::string_view path) override;
    Result<DiskSpace> space() override;

private:
    PosixDisk(std::string name, std::string root_path, int root_fd, dev_t dev, ino_t ino, PosixDiskOptions options);

    enum class Create { no, yes };
    Result<OpenFilePtr> open_file(const std::string& path, Create create, std::string_view op);
    Status write_temp_and_rename(const std::string& path, ByteSpan data);
    // Writes `data` at offset 0 of the open file: the aligned prefix with O_DIRECT when possible, the rest buffered.
    Status write_whole(const std::string& path, int buffered_fd, ByteSpan data);
    // The O_DIRECT part: false (and direct writes off for this disk) when the filesystem refuses it.
    Result<bool> try_write_direct(const std::string& path, ByteSpan aligned_prefix);
    Status sync_open_dir(std::string_view dir, std::string_view op);
    // An error for a failed syscall; ENOENT turns into "disk root is gone" when that is the cause.
    Error os_error(int err, std::string_view op, std::string_view path) const;
    Status check_root_alive(std::string_view op, std::string_view path) const;
    bool root_gone() const;
    std::mutex& append_lock_for(std::string_view path);

    const std::string name_;
    const std::string root_path_;
    const int root_fd_;
    const dev_t root_dev_;
    const ino_t root_ino_;
    const PosixDiskOptions options_;
    FdCache fd_cache_;
    // Appends read the size then write there; striped locks keep two appends to one file from sharing an offset.
    std::array<std::mutex, 32> append_locks_;
    std::atomic<uint64_t> temp_sequence_{0};
    std::atomic<bool> direct_writes_;
};

}  // namespace tiercel::io
