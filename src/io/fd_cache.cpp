#include "tiercel/io/fd_cache.hpp"

#include <unistd.h>

#include "tiercel/io/path.hpp"

namespace tiercel::io {

OpenFile::~OpenFile() {
    if (fd_ >= 0)
        ::close(fd_);
}

OpenFilePtr FdCache::find(const std::string& path) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(path);
    if (it == index_.end())
        return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
}

uint64_t FdCache::generation() const {
    std::lock_guard lock(mutex_);
    return generation_;
}

void FdCache::insert(const std::string& path, OpenFilePtr file, uint64_t generation_seen) {
    OpenFilePtr evicted;  // closed after the lock is released
    std::lock_guard lock(mutex_);
    if (capacity_ == 0 || generation_seen != generation_ || index_.contains(path))
        return;
    lru_.emplace_front(path, std::move(file));
    index_.emplace(path, lru_.begin());
    if (lru_.size() > capacity_) {
        evicted = std::move(lru_.back().second);
        index_.erase(lru_.back().first);
        lru_.pop_back();
    }
}

void FdCache::invalidate(std::string_view dir_or_file) {
    std::list<Entry> dropped;  // closed after the lock is released
    std::lock_guard lock(mutex_);
    ++generation_;
    for (auto it = lru_.begin(); it != lru_.end();) {
        auto next = std::next(it);
        if (is_same_or_under(it->first, dir_or_file)) {
            index_.erase(it->first);
            dropped.splice(dropped.end(), lru_, it);
        }
        it = next;
    }
}

size_t FdCache::size() const {
    std::lock_guard lock(mutex_);
    return lru_.size();
}

}  // namespace tiercel::io
