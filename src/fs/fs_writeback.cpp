// Filesystem: the write-back path. Writes land in per-block dirty buffers (Node::dirty); a block goes to the pool
// (one copy-on-write put) when it is full, at release, every `writeback_interval`, at fsync, and when dirty memory
// passes `dirty_limit`. fsync waits for the file's puts, then forces a namespace commit.
#include <algorithm>
#include <cstring>

#include <boost/asio/post.hpp>

#include "tiercel/core/log.hpp"
#include "tiercel/fs/filesystem.hpp"

namespace tiercel::fs {

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

void Filesystem::flush_all_dirty(Lock& lock) {
    std::vector<std::pair<uint64_t, uint64_t>> blocks;
    for (const auto& [ino, n] : nodes_)
        for (const auto& [block, dirty] : n->dirty)
            if (!dirty.flushing && !dirty.failed)
                blocks.emplace_back(ino, block);
    for (auto [ino, block] : blocks)
        start_flush(lock, ino, block);
}

void Filesystem::wait_for_dirty_room(Lock& lock) {
    if (dirty_bytes_ <= options_.dirty_limit)
        return;
    flush_all_dirty(lock);
    const auto waited_from = std::chrono::steady_clock::now();
    data_cv_.wait(lock, [&] {
        if (dirty_bytes_ <= options_.dirty_limit)
            return true;
        // Failed blocks cannot drain: stop waiting once everything left is failed or idle.
        for (const auto& [ino, n] : nodes_)
            if (n->flushing)
                return false;
        return true;
    });
    dirty_wait_ns_ += static_cast<uint64_t>((std::chrono::steady_clock::now() - waited_from).count());
}

int Filesystem::check_write(Node* n, uint64_t offset, size_t size) const {
    if (!n)
        return ENOENT;
    if (!S_ISREG(n->rec.mode))
        return EINVAL;
    if (offset + size > kMaxFileSize)
        return EFBIG;
    return 0;
}

int Filesystem::write(uint64_t ino, uint64_t offset, std::span<const std::byte> data, bool kill_suidgid) {
    Lock lock(mu_);
    if (int rc = check_write(node(ino), offset, data.size()))
        return rc;
    wait_for_dirty_room(lock);
    data_cv_.wait(lock, [&] { return !node(ino) || !node(ino)->truncating; });
    return write_locked(lock, ino, offset, data, kill_suidgid);
}

int Filesystem::try_write(uint64_t ino, uint64_t offset, std::span<const std::byte> data, bool kill_suidgid) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (int rc = check_write(n, offset, data.size()))
        return rc;
    if (dirty_bytes_ + data.size() > options_.dirty_limit || n->truncating)
        return -1;
    for (uint64_t pos = offset; pos < offset + data.size();) {
        const uint64_t block = pos / block_size_;
        const uint64_t in_block = pos % block_size_;
        const uint64_t take = std::min<uint64_t>(offset + data.size() - pos, block_size_ - in_block);
        const bool whole = in_block == 0 && take == block_size_;
        // A partial write over a stored block needs its bytes: only a cached copy keeps that off the disks.
        if (!whole && !n->dirty.count(block) && n->stored.count(block) && !cache_.count({ino, block}))
            return -1;
        pos += take;
    }
    return write_locked(lock, ino, offset, data, kill_suidgid);
}

// Writes `bytes` at `in_block` of a block buffer, growing it. A sequential writer appends: its bytes are copied once,
// not zero-filled first, and a block that starts with a large write gets its whole size reserved up front so the
// buffer is not reallocated (and copied again) as it grows.
void Filesystem::copy_into_block(std::vector<std::byte>& block, uint64_t in_block, std::span<const std::byte> bytes) {
    constexpr size_t kLargeWrite = 64 << 10;
    if (block.empty() && in_block == 0 && bytes.size() >= kLargeWrite)
        block.reserve(block_size_);
    const uint64_t end = in_block + bytes.size();
    if (end > block.size())
        dirty_bytes_ += end - block.size();
    if (in_block == block.size()) {
        block.insert(block.end(), bytes.begin(), bytes.end());
        return;
    }
    if (end > block.size())
        block.resize(end, std::byte{0});
    std::memcpy(block.data() + in_block, bytes.data(), bytes.size());
}

int Filesystem::write_locked(Lock& lock, uint64_t ino, uint64_t offset, std::span<const std::byte> data,
                             bool kill_suidgid) {
    Node* n = nullptr;
    for (uint64_t pos = offset; pos < offset + data.size();) {
        const uint64_t block = pos / block_size_;
        const uint64_t in_block = pos % block_size_;
        const uint64_t take = std::min<uint64_t>(offset + data.size() - pos, block_size_ - in_block);
        DirtyBlock* dirty = nullptr;
        if (!node(ino))
            return ENOENT;
        if (int rc = block_for_write(lock, ino, block, in_block == 0 && take == block_size_, dirty))
            return rc;
        if (dirty->data.use_count() > 1)  // a flush or a reader's reply holds this version: write into a copy
            dirty->data = std::make_shared<std::vector<std::byte>>(*dirty->data);
        copy_into_block(*dirty->data, in_block, data.subspan(pos - offset, take));
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
    remove_privileges(*n, kill_suidgid);
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
    auto& threads = length < kSmallPutBytes ? small_puts_ : writeback_;
    boost::asio::post(threads, [this, ino, block, data = dirty.data, version = dirty.version, length] {
        flush_job(ino, block, data, version, static_cast<uint32_t>(length));
    });
}

void Filesystem::flush_job(uint64_t ino, uint64_t block, std::shared_ptr<std::vector<std::byte>> data,
                           uint64_t version, uint32_t length) {
    const auto started = std::chrono::steady_clock::now();
    auto put = [&] {
        auto shared = options_.pool_gate.share();
        // `data` is this block's immutable version (writers copy a shared version before changing it).
        return pool_.put_shared(fs_block_name(ino, block), data, length, kBlockDurability);
    }();
    Lock lock(mu_);
    puts_++;
    put_ns_ += static_cast<uint64_t>((std::chrono::steady_clock::now() - started).count());
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
            if (length < block_size_)
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

}  // namespace tiercel::fs
