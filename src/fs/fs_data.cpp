// Filesystem: the data path. A file is blocks of block_size_ bytes; a block with data is one pool object, replaced
// copy-on-write by put. Dirty blocks are buffered (Node::dirty) and written out by the writeback pool; reads come
// from dirty buffers, then the clean-block cache, then the pool (one fetch per block, shared by concurrent readers).
#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <boost/asio/post.hpp>

#include "tiercel/core/log.hpp"
#include "tiercel/fs/filesystem.hpp"

namespace tiercel::fs {

namespace {
constexpr uint64_t kPrefetchBlocks = 8;
}  // namespace

struct Filesystem::Fetch {
    bool done = false;
    int error = 0;
    std::shared_ptr<const std::vector<std::byte>> data;
};

// ---- clean-block cache

void Filesystem::cache_put(uint64_t ino, uint64_t block, std::shared_ptr<const std::vector<std::byte>> data) {
    cache_drop(ino, block);
    if (!data || data->size() > options_.cache_bytes)
        return;
    lru_.push_front({ino, block});
    cache_bytes_ += data->size();
    cache_[{ino, block}] = CacheEntry{std::move(data), lru_.begin()};
    while (cache_bytes_ > options_.cache_bytes && !lru_.empty()) {
        CacheKey victim = lru_.back();
        cache_drop(victim.ino, victim.block);
    }
}

void Filesystem::cache_drop(uint64_t ino, uint64_t block) {
    auto it = cache_.find({ino, block});
    if (it == cache_.end())
        return;
    cache_bytes_ -= it->second.data->size();
    lru_.erase(it->second.lru);
    cache_.erase(it);
}

// ---- reading blocks

int Filesystem::fetch_block(Lock& lock, uint64_t ino, uint64_t block,
                            std::shared_ptr<const std::vector<std::byte>>& out) {
    const CacheKey key{ino, block};
    if (auto it = cache_.find(key); it != cache_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        out = it->second.data;
        return 0;
    }
    if (auto it = fetches_.find(key); it != fetches_.end()) {
        auto pending = it->second;
        data_cv_.wait(lock, [&] { return pending->done; });
        out = pending->data;
        return pending->error;
    }
    Node* n = node(ino);
    auto stored = n ? n->stored.find(block) : decltype(n->stored.end()){};
    if (!n || stored == n->stored.end()) {
        out = std::make_shared<const std::vector<std::byte>>();
        return 0;
    }
    const uint32_t valid = stored->second;
    const uint64_t epoch = n->data_epoch;
    auto pending = std::make_shared<Fetch>();
    fetches_[key] = pending;
    lock.unlock();
    auto bytes = std::make_shared<std::vector<std::byte>>();
    bytes->reserve(valid);
    Status got = [&] {
        auto shared = options_.pool_gate.share();
        return pool_.get(fs_block_name(ino, block), 0, std::nullopt, [&](std::span<const std::byte> chunk) {
            bytes->insert(bytes->end(), chunk.begin(), chunk.end());
            return Status{};
        });
    }();
    lock.lock();
    if (got) {
        bytes->resize(valid);  // bytes past `valid` were cut off by a truncate: they read as zeros
        pending->data = bytes;
        n = node(ino);
        if (n && n->data_epoch == epoch)
            cache_put(ino, block, bytes);
    } else {
        log::error("fs", "reading block " + std::to_string(block) + " of inode " + std::to_string(ino) + ": " +
                             got.error().describe());
        pending->error = to_errno(got.error());
    }
    pending->done = true;
    fetches_.erase(key);
    data_cv_.notify_all();
    out = pending->data;
    return pending->error;
}

void Filesystem::prefetch(Lock&, uint64_t ino, uint64_t block) {
    Node* n = node(ino);
    if (!n || !n->stored.count(block) || n->dirty.count(block) || cache_.count({ino, block}) ||
        fetches_.count({ino, block}))
        return;
    boost::asio::post(writeback_, [this, ino, block] {
        Lock lock(mu_);
        std::shared_ptr<const std::vector<std::byte>> ignored;
        (void)fetch_block(lock, ino, block, ignored);
    });
}

int Filesystem::read(uint64_t ino, uint64_t offset, size_t size, std::vector<std::byte>& out) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n)
        return ENOENT;
    if (S_ISDIR(n->rec.mode))
        return EISDIR;
    out.clear();
    if (offset >= n->rec.size || size == 0)
        return 0;
    const uint64_t end = std::min<uint64_t>(offset + size, n->rec.size);
    out.assign(end - offset, std::byte{0});
    const bool sequential = offset == 0 || offset == n->last_read_end;
    for (uint64_t pos = offset; pos < end;) {
        const uint64_t block = pos / block_size_;
        const uint64_t in_block = pos % block_size_;
        const uint64_t take = std::min(end - pos, block_size_ - in_block);
        n = node(ino);
        if (!n)
            return ENOENT;
        std::shared_ptr<const std::vector<std::byte>> data;
        if (auto dirty = n->dirty.find(block); dirty != n->dirty.end()) {
            data = dirty->second.data;
        } else if (n->stored.count(block)) {
            if (int rc = fetch_block(lock, ino, block, data))
                return rc;
        }
        if (data && data->size() > in_block) {
            const size_t have = std::min<uint64_t>(take, data->size() - in_block);
            std::memcpy(out.data() + (pos - offset), data->data() + in_block, have);
        }
        pos += take;
    }
    n = node(ino);
    if (!n)
        return ENOENT;
    n->last_read_end = end;
    if (sequential) {
        // Keep kPrefetchBlocks fetches ahead of a sequential reader: they run in parallel across the disks.
        const uint64_t next = (end + block_size_ - 1) / block_size_;
        const uint64_t window = std::max<uint64_t>(1, std::min<uint64_t>(kPrefetchBlocks, options_.cache_bytes / block_size_ / 4));
        for (uint64_t b = next; b < next + window; ++b)
            prefetch(lock, ino, b);
    }
    relatime(*n);
    return 0;
}

// ---- writing blocks

int Filesystem::block_for_write(Lock& lock, uint64_t ino, uint64_t block, bool whole, DirtyBlock*& out) {
    Node* n = node(ino);
    if (auto it = n->dirty.find(block); it != n->dirty.end()) {
        out = &it->second;
        return 0;
    }
    std::shared_ptr<const std::vector<std::byte>> base;
    if (!whole && n->stored.count(block)) {
        if (int rc = fetch_block(lock, ino, block, base))
            return rc;
        n = node(ino);
        if (auto it = n->dirty.find(block); it != n->dirty.end()) {  // another writer got there first
            out = &it->second;
            return 0;
        }
    }
    DirtyBlock& dirty = n->dirty[block];
    dirty.data = base ? std::make_shared<std::vector<std::byte>>(*base) : std::make_shared<std::vector<std::byte>>();
    dirty_bytes_ += dirty.data->size();
    cache_drop(ino, block);
    out = &dirty;
    return 0;
}

void Filesystem::wait_for_dirty_room(Lock& lock) {
    if (dirty_bytes_ <= options_.dirty_limit)
        return;
    std::vector<std::pair<uint64_t, uint64_t>> blocks;
    for (const auto& [ino, n] : nodes_)
        for (const auto& [block, dirty] : n->dirty)
            if (!dirty.flushing && !dirty.failed)
                blocks.emplace_back(ino, block);
    for (auto [ino, block] : blocks)
        start_flush(lock, ino, block);
    data_cv_.wait(lock, [&] {
        if (dirty_bytes_ <= options_.dirty_limit)
            return true;
        // Failed blocks cannot drain: stop waiting once everything left is failed or idle.
        for (const auto& [ino, n] : nodes_)
            if (n->flushing)
                return false;
        return true;
    });
}

int Filesystem::write(uint64_t ino, uint64_t offset, std::span<const std::byte> data) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n)
        return ENOENT;
    if (!S_ISREG(n->rec.mode))
        return EINVAL;
    if (offset + data.size() > kMaxFileSize)
        return EFBIG;
    wait_for_dirty_room(lock);
    data_cv_.wait(lock, [&] { return !node(ino) || !node(ino)->truncating; });
    for (uint64_t pos = offset; pos < offset + data.size();) {
        const uint64_t block = pos / block_size_;
        const uint64_t in_block = pos % block_size_;
        const uint64_t take = std::min<uint64_t>(offset + data.size() - pos, block_size_ - in_block);
        DirtyBlock* dirty = nullptr;
        if (!node(ino))
            return ENOENT;
        if (int rc = block_for_write(lock, ino, block, in_block == 0 && take == block_size_, dirty))
            return rc;
        if (dirty->data.use_count() > 1)  // a flush holds this version: write into a copy
            dirty->data = std::make_shared<std::vector<std::byte>>(*dirty->data);
        if (dirty->data->size() < in_block + take) {
            dirty_bytes_ += in_block + take - dirty->data->size();
            dirty->data->resize(in_block + take, std::byte{0});
        }
        std::memcpy(dirty->data->data() + in_block, data.data() + (pos - offset), take);
        dirty->version++;
        dirty->failed = false;
        pos += take;
        n = node(ino);
        n->rec.size = std::max<uint64_t>(n->rec.size, pos);
        if (dirty->data->size() == block_size_)
            start_flush(lock, ino, block);  // a full block goes out now: sequential writers stream
    }
    n = node(ino);
    n->rec.mtime_ns = n->rec.ctime_ns = now_ns();
    mark(*n);
    return 0;
}

void Filesystem::start_flush(Lock&, uint64_t ino, uint64_t block) {
    Node* n = node(ino);
    if (!n || n->truncating)
        return;
    auto it = n->dirty.find(block);
    if (it == n->dirty.end() || it->second.flushing)
        return;
    DirtyBlock& dirty = it->second;
    const uint64_t start = block * block_size_;
    const uint64_t length = n->rec.size > start ? std::min<uint64_t>(dirty.data->size(), n->rec.size - start) : 0;
    dirty.flushing = true;
    n->flushing++;
    boost::asio::post(writeback_, [this, ino, block, data = dirty.data, version = dirty.version, length] {
        flush_job(ino, block, data, version, static_cast<uint32_t>(length));
    });
}

void Filesystem::flush_job(uint64_t ino, uint64_t block, std::shared_ptr<std::vector<std::byte>> data,
                           uint64_t version, uint32_t length) {
    size_t offset = 0;
    auto put = [&] {
        auto shared = options_.pool_gate.share();
        return pool_.put(fs_block_name(ino, block), [&](std::span<std::byte> buffer) -> Result<size_t> {
            const size_t n = std::min<size_t>(buffer.size(), length - offset);
            std::memcpy(buffer.data(), data->data() + offset, n);
            offset += n;
            return n;
        });
    }();
    Lock lock(mu_);
    Node* n = node(ino);
    n->flushing--;
    n->data_epoch++;
    auto it = n->dirty.find(block);
    if (!put) {
        log::error("fs", "writing block " + std::to_string(block) + " of inode " + std::to_string(ino) + ": " +
                             put.error().describe());
        n->write_error = to_errno(put.error());
        if (it != n->dirty.end()) {
            it->second.flushing = false;
            it->second.failed = true;
        }
    } else {
        n->stored[block] = length;
        if (it != n->dirty.end() && it->second.version == version) {
            dirty_bytes_ -= it->second.data->size();
            data->resize(length);
            n->dirty.erase(it);
            cache_put(ino, block, data);
        } else if (it != n->dirty.end()) {
            it->second.flushing = false;
        }
    }
    if (n->freeing && n->flushing == 0)
        maybe_free(lock, ino);
    data_cv_.notify_all();
}

// Writes out every dirty block of the inode and waits; returns the first write error (and clears it).
int Filesystem::flush_inode(Lock& lock, uint64_t ino) {
    Node* n = node(ino);
    if (!n)
        return 0;
    for (auto& [block, dirty] : n->dirty)
        dirty.failed = false;  // fsync retries what failed before
    for (int pass = 0; pass < 3; ++pass) {
        n = node(ino);
        if (!n)
            return 0;
        std::vector<uint64_t> blocks;
        for (const auto& [block, dirty] : n->dirty)
            if (!dirty.failed)
                blocks.push_back(block);
        for (uint64_t block : blocks)
            start_flush(lock, ino, block);
        wait_idle(lock, ino);
        n = node(ino);
        if (!n || std::all_of(n->dirty.begin(), n->dirty.end(), [](const auto& kv) { return kv.second.failed; }))
            break;
    }
    n = node(ino);
    if (!n)
        return 0;
    int error = n->write_error;
    n->write_error = 0;
    if (!error && !n->dirty.empty())
        error = EIO;
    return error;
}

void Filesystem::wait_idle(Lock& lock, uint64_t ino) {
    data_cv_.wait(lock, [&] {
        Node* n = node(ino);
        return !n || n->flushing == 0;
    });
}

int Filesystem::fsync(uint64_t ino, bool) {
    Lock lock(mu_);
    if (!node(ino))
        return ENOENT;
    int rc = flush_inode(lock, ino);
    lock.unlock();
    int committed = commit_now();
    return rc ? rc : committed;
}

int Filesystem::fsyncdir(uint64_t ino) {
    {
        Lock lock(mu_);
        if (!node(ino))
            return ENOENT;
    }
    return commit_now();
}

// ---- open, release, freeing

int Filesystem::open(uint64_t ino, bool truncate) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n)
        return ENOENT;
    n->open_count++;
    if (truncate && S_ISREG(n->rec.mode) && n->rec.size > 0) {
        if (int rc = truncate_locked(lock, ino, 0)) {
            node(ino)->open_count--;
            return rc;
        }
        n = node(ino);
        n->rec.mtime_ns = n->rec.ctime_ns = now_ns();
        mark(*n);
    }
    return 0;
}

int Filesystem::release(uint64_t ino) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n)
        return 0;
    if (n->open_count > 0)
        n->open_count--;
    std::vector<uint64_t> blocks;
    for (const auto& [block, dirty] : n->dirty)
        blocks.push_back(block);
    for (uint64_t block : blocks)
        start_flush(lock, ino, block);
    maybe_free(lock, ino);
    return 0;
}

// Frees an inode nothing refers to any more: no link, no kernel reference, no open file. Its blocks are removed in
// the background once no flush of it is running (the last flush calls back here).
void Filesystem::maybe_free(Lock&, uint64_t ino) {
    Node* n = node(ino);
    if (!n || ino == kRootIno || n->rec.nlink > 0 || n->nlookup > 0 || n->open_count > 0)
        return;
    if (!n->freeing) {
        n->freeing = true;
        for (auto& [block, dirty] : n->dirty)
            if (!dirty.flushing)
                dirty_bytes_ -= dirty.data->size();
        std::erase_if(n->dirty, [](const auto& kv) { return !kv.second.flushing; });
        mark(*n);
    }
    if (n->flushing > 0)
        return;
    std::vector<uint64_t> blocks;
    for (const auto& [block, length] : n->stored) {
        blocks.push_back(block);
        cache_drop(ino, block);
    }
    for (const auto& [block, dirty] : n->dirty)
        dirty_bytes_ -= dirty.data->size();
    nodes_.erase(ino);
    dirty_inodes_.insert(ino);
    if (blocks.empty())
        return;
    pending_frees_++;
    boost::asio::post(writeback_, [this, ino, blocks = std::move(blocks)] {
        auto shared = options_.pool_gate.share();
        for (uint64_t block : blocks)
            if (Status removed = pool_.remove(fs_block_name(ino, block)); !removed && removed.error().code() != Errc::not_found)
                log::warning("fs", "freeing a block of deleted inode " + std::to_string(ino) + ": " +
                                       removed.error().describe());
        Lock lock(mu_);
        pending_frees_--;
        data_cv_.notify_all();
    });
}

// ---- truncate, holes, fallocate

int Filesystem::remove_blocks(Lock& lock, uint64_t ino, uint64_t from_block) {
    Node* n = node(ino);
    std::vector<uint64_t> blocks;
    for (auto it = n->stored.lower_bound(from_block); it != n->stored.end();) {
        blocks.push_back(it->first);
        cache_drop(ino, it->first);
        it = n->stored.erase(it);
    }
    n->data_epoch++;
    if (blocks.empty())
        return 0;
    lock.unlock();
    int error = 0;
    {
        auto shared = options_.pool_gate.share();
        for (uint64_t block : blocks)
            if (Status removed = pool_.remove(fs_block_name(ino, block));
                !removed && removed.error().code() != Errc::not_found && !error)
                error = to_errno(removed.error());
    }
    lock.lock();
    return error;
}

int Filesystem::truncate_locked(Lock& lock, uint64_t ino, uint64_t size) {
    if (size > kMaxFileSize)
        return EFBIG;
    data_cv_.wait(lock, [&] { return !node(ino) || !node(ino)->truncating; });
    Node* n = node(ino);
    if (!n)
        return ENOENT;
    n->truncating = true;
    wait_idle(lock, ino);
    n = node(ino);
    int rc = 0;
    if (size < n->rec.size) {
        const uint64_t first_gone = (size + block_size_ - 1) / block_size_;
        for (auto it = n->dirty.lower_bound(first_gone); it != n->dirty.end();) {
            dirty_bytes_ -= it->second.data->size();
            it = n->dirty.erase(it);
        }
        if (size % block_size_) {
            const uint64_t tail = size / block_size_;
            const uint64_t keep = size % block_size_;
            if (auto it = n->dirty.find(tail); it != n->dirty.end() && it->second.data->size() > keep) {
                dirty_bytes_ -= it->second.data->size() - keep;
                it->second.data->resize(keep);
                it->second.version++;
            }
            if (auto it = n->stored.find(tail); it != n->stored.end() && it->second > keep) {
                // The object still holds the cut bytes: rewrite it soon so no stale byte survives a crash.
                it->second = static_cast<uint32_t>(keep);
                cache_drop(ino, tail);
                n->truncating = false;
                DirtyBlock* dirty = nullptr;
                rc = block_for_write(lock, ino, tail, false, dirty);
                n = node(ino);
                n->truncating = true;
                if (!rc)
                    dirty->version++;
            }
        }
        if (int removed = remove_blocks(lock, ino, first_gone))
            rc = removed;
        n = node(ino);
    }
    n->rec.size = size;
    n->truncating = false;
    n->data_epoch++;
    mark(*n);
    data_cv_.notify_all();
    return rc;
}

int Filesystem::zero_range(Lock& lock, uint64_t ino, uint64_t offset, uint64_t length) {
    // Whole blocks inside the range are dropped (they become holes); partial ones are zeroed in place.
    const uint64_t end = offset + length;
    for (uint64_t pos = offset; pos < end;) {
        const uint64_t block = pos / block_size_;
        const uint64_t in_block = pos % block_size_;
        const uint64_t take = std::min(end - pos, block_size_ - in_block);
        Node* n = node(ino);
        if (in_block == 0 && take == block_size_) {
            if (auto it = n->dirty.find(block); it != n->dirty.end() && !it->second.flushing) {
                dirty_bytes_ -= it->second.data->size();
                n->dirty.erase(it);
            }
            if (n->stored.count(block)) {
                n->stored.erase(block);
                cache_drop(ino, block);
                n->data_epoch++;
                lock.unlock();
                Status removed = [&] {
                    auto shared = options_.pool_gate.share();
                    return pool_.remove(fs_block_name(ino, block));
                }();
                lock.lock();
                if (!removed && removed.error().code() != Errc::not_found)
                    return to_errno(removed.error());
            }
        } else if (n->stored.count(block) || n->dirty.count(block)) {
            DirtyBlock* dirty = nullptr;
            if (int rc = block_for_write(lock, ino, block, false, dirty))
                return rc;
            if (dirty->data.use_count() > 1)
                dirty->data = std::make_shared<std::vector<std::byte>>(*dirty->data);
            if (dirty->data->size() > in_block)
                std::memset(dirty->data->data() + in_block, 0, std::min<uint64_t>(take, dirty->data->size() - in_block));
            dirty->version++;
        }
        pos += take;
    }
    return 0;
}

int Filesystem::fallocate(uint64_t ino, int mode, uint64_t offset, uint64_t length) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n)
        return ENOENT;
    if (!S_ISREG(n->rec.mode))
        return ENODEV;
    if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
        return EOPNOTSUPP;
    if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
        return EOPNOTSUPP;
    if (offset + length > kMaxFileSize)
        return EFBIG;
    if (mode & FALLOC_FL_PUNCH_HOLE) {
        const uint64_t end = std::min<uint64_t>(offset + length, n->rec.size);
        if (offset >= end)
            return 0;
        data_cv_.wait(lock, [&] { return !node(ino) || !node(ino)->truncating; });
        wait_idle(lock, ino);
        int rc = zero_range(lock, ino, offset, end - offset);
        n = node(ino);
        n->rec.mtime_ns = n->rec.ctime_ns = now_ns();
        mark(*n);
        return rc;
    }
    // Mode 0 / KEEP_SIZE: the pool allocates on write (copy-on-write), so reserving means checking for room and
    // extending the size; the range reads as zeros either way.
    FsStats stats = statfs_unlocked();
    if (length > stats.free_bytes)
        return ENOSPC;
    if (!(mode & FALLOC_FL_KEEP_SIZE) && offset + length > n->rec.size) {
        n->rec.size = offset + length;
        n->rec.ctime_ns = now_ns();
        mark(*n);
    }
    return 0;
}

int Filesystem::lseek(uint64_t ino, uint64_t offset, int whence, uint64_t& out) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n)
        return ENOENT;
    if (offset >= n->rec.size)
        return ENXIO;
    std::set<uint64_t> data_blocks;
    for (const auto& [block, length] : n->stored)
        if (length > 0)
            data_blocks.insert(block);
    for (const auto& [block, dirty] : n->dirty)
        if (!dirty.data->empty())
            data_blocks.insert(block);
    uint64_t block = offset / block_size_;
    if (whence == SEEK_DATA) {
        auto it = data_blocks.lower_bound(block);
        if (it == data_blocks.end())
            return ENXIO;
        out = std::max(offset, *it * block_size_);
        return out < n->rec.size ? 0 : ENXIO;
    }
    if (whence != SEEK_HOLE)
        return EINVAL;
    while (data_blocks.count(block))
        ++block;
    out = std::min(std::max(offset, block * block_size_), n->rec.size);
    return 0;
}

int Filesystem::copy_file_range(uint64_t in_ino, uint64_t in_off, uint64_t out_ino, uint64_t out_off, size_t length,
                                size_t& copied) {
    // Copied through memory a block at a time: the pool has no shared extents to reflink.
    copied = 0;
    std::vector<std::byte> buffer;
    while (copied < length) {
        const size_t chunk = std::min<size_t>(length - copied, block_size_);
        if (int rc = read(in_ino, in_off + copied, chunk, buffer))
            return copied ? 0 : rc;
        if (buffer.empty())
            break;
        if (int rc = write(out_ino, out_off + copied, buffer))
            return copied ? 0 : rc;
        copied += buffer.size();
        if (buffer.size() < chunk)
            break;
    }
    return 0;
}

}  // namespace tiercel::fs
