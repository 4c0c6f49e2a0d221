// Filesystem: open files, freeing unlinked inodes, truncate, holes, fallocate, SEEK_DATA/SEEK_HOLE and
// copy_file_range. A block with data is one pool object; the read path is fs_read.cpp, buffering and write-back
// fs_writeback.cpp.
#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <boost/asio/post.hpp>

#include "tiercel/core/log.hpp"
#include "tiercel/fs/filesystem.hpp"

namespace tiercel::fs {

// ---- open, release, freeing

int Filesystem::open(uint64_t ino, bool truncate, bool kill_suidgid) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n)
        return ENOENT;
    n->open_count++;
    if (truncate && S_ISREG(n->rec.mode))
        remove_privileges(*n, kill_suidgid);  // O_TRUNC truncates even an empty file, as far as privileges go
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
            if (Status removed = pool_.remove(fs_block_name(ino, block), kBlockDurability);
                !removed && removed.error().code() != Errc::not_found)
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
            if (Status removed = pool_.remove(fs_block_name(ino, block), kBlockDurability);
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
                auto& data = it->second.data;
                if (data.use_count() > 1)  // a flush or a reader's reply holds this buffer: cut a copy
                    data = std::make_shared<std::vector<std::byte>>(data->begin(), data->begin() + keep);
                else
                    data->resize(keep);
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
                    return pool_.remove(fs_block_name(ino, block), kBlockDurability);
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

int Filesystem::fallocate(uint64_t ino, int mode, uint64_t offset, uint64_t length, bool kill_suidgid) {
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
    remove_privileges(*n, kill_suidgid);
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
                                size_t& copied, bool kill_suidgid) {
    // Copied through memory a block at a time: the pool has no shared extents to reflink.
    copied = 0;
    std::vector<std::byte> buffer;
    while (copied < length) {
        const size_t chunk = std::min<size_t>(length - copied, block_size_);
        if (int rc = read(in_ino, in_off + copied, chunk, buffer))
            return copied ? 0 : rc;
        if (buffer.empty())
            break;
        if (int rc = write(out_ino, out_off + copied, buffer, kill_suidgid))
            return copied ? 0 : rc;
        copied += buffer.size();
        if (buffer.size() < chunk)
            break;
    }
    return 0;
}

}  // namespace tiercel::fs
