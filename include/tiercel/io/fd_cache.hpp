// Contract: a small LRU of open file descriptors keyed by disk path, shared by all threads of one PosixDisk.
// A handle stays valid while anyone holds it: eviction or invalidation only drops the cache's reference, and the fd
// is closed when the last holder lets go, so an I/O in flight on another thread never sees its fd closed or reused.
// The cache never hands out a descriptor opened before an invalidation of its path: callers read generation()
// before opening and pass it to insert(), which refuses (the caller still uses its fd, uncached) when any
// invalidation happened in between.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace tiercel::io {

class OpenFile {
public:
    explicit OpenFile(int fd) : fd_(fd) {}
    ~OpenFile();
    OpenFile(const OpenFile&) = delete;
    OpenFile& operator=(const OpenFile&) = delete;

    int fd() const { return fd_; }

private:
    int fd_;
};

using OpenFilePtr = std::shared_ptr<OpenFile>;

class FdCache {
public:
    explicit FdCache(size_t capacity) : capacity_(capacity) {}

    // The cached handle for `path` (now most recently used), or null.
    OpenFilePtr find(const std::string& path);
    uint64_t generation() const;
    // Caches `file` unless an invalidation happened since `generation_seen`; evicts the least recently used.
    void insert(const std::string& path, OpenFilePtr file, uint64_t generation_seen);
    // Drops `dir_or_file` and every path below it (a renamed or removed directory takes its files along).
    void invalidate(std::string_view dir_or_file);
    size_t size() const;

private:
    using Entry = std::pair<std::string, OpenFilePtr>;

    const size_t capacity_;
    mutable std::mutex mutex_;  // guards everything below; never held during I/O
    std::list<Entry> lru_;      // front = most recently used
    std::unordered_map<std::string, std::list<Entry>::iterator> index_;
    uint64_t generation_ = 0;
};

}  // namespace tiercel::io
