// Filesystem: the read path. Reads come from dirty buffers, then the clean-block cache (LRU, `cache_bytes`), then
// the pool (one fetch per block, shared by concurrent readers); sequential readers get blocks prefetched.
#include <algorithm>
#include <cstring>

#include <boost/asio/post.hpp>

#include "tiercel/core/log.hpp"
#include "tiercel/fs/filesystem.hpp"

namespace tiercel::fs {

namespace {
constexpr uint64_t kPrefetchBlocks = 16;
}  // namespace

struct Filesystem::Fetch {
    bool started = false;  // a queued prefetch not yet started is run by the first reader that needs it
    bool done = false;
    int error = 0;
    BlockPtr data;
};

namespace {
// Appends views of bytes [from, from + take) of a block held in `pieces` (in order from the block's start); bytes
// past the pieces are zeros, sent as a piece without data.
void append_pieces(const std::shared_ptr<const void>& owner, std::span<const std::span<const std::byte>> pieces,
                   uint64_t from, uint64_t take, std::vector<Filesystem::ReadPiece>& out) {
    uint64_t start = 0;  // of the current piece, in the block
    for (const auto& piece : pieces) {
        if (take == 0)
            break;
        const uint64_t end = start + piece.size();
        if (from < end) {
            const uint64_t n = std::min(take, end - from);
            out.push_back(Filesystem::ReadPiece{owner, piece.data() + (from - start), n});
            from += n;
            take -= n;
        }
        start = end;
    }
    if (take > 0)
        out.push_back(Filesystem::ReadPiece{nullptr, nullptr, take});  // a hole, or bytes past a short block
}

}  // namespace

// ---- clean-block cache

void Filesystem::cache_put(uint64_t ino, uint64_t block, std::shared_ptr<const std::vector<std::byte>> data) {
    if (!data) {
        cache_drop(ino, block);
        return;
    }
    auto bytes = std::make_shared<BlockBytes>();
    bytes->pieces.push_back(std::span(*data));
    bytes->size = data->size();
    bytes->owner = data;
    bytes->whole = std::move(data);
    cache_put_block(ino, block, std::move(bytes));
}

void Filesystem::cache_put_block(uint64_t ino, uint64_t block, BlockPtr data) {
    cache_drop(ino, block);
    if (!data || data->size > options_.cache_bytes)
        return;
    lru_.push_front({ino, block});
    cache_bytes_ += data->size;
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
    cache_bytes_ -= it->second.data->size;
    lru_.erase(it->second.lru);
    cache_.erase(it);
}

// ---- reading blocks

int Filesystem::fetch_block(Lock& lock, uint64_t ino, uint64_t block,
                            std::shared_ptr<const std::vector<std::byte>>& out) {
    BlockPtr clean;
    if (int rc = fetch_clean(lock, ino, block, clean))
        return rc;
    if (clean->whole && clean->whole->size() == clean->size) {
        out = clean->whole;
        return 0;
    }
    auto bytes = std::make_shared<std::vector<std::byte>>();
    bytes->reserve(clean->size);
    for (const auto& piece : clean->pieces)
        bytes->insert(bytes->end(), piece.begin(), piece.end());
    bytes->resize(clean->size);  // zeros past the pieces
    out = std::move(bytes);
    return 0;
}

int Filesystem::fetch_clean(Lock& lock, uint64_t ino, uint64_t block, BlockPtr& out) {
    const CacheKey key{ino, block};
    if (auto it = cache_.find(key); it != cache_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        out = it->second.data;
        return 0;
    }
    std::shared_ptr<Fetch> pending;
    if (auto it = fetches_.find(key); it != fetches_.end()) {
        pending = it->second;
        if (pending->started) {
            data_cv_.wait(lock, [&] { return pending->done; });
            out = pending->data;
            return pending->error;
        }
        // A prefetch still waiting for a thread: this reader runs it rather than wait for the queue.
    } else {
        pending = std::make_shared<Fetch>();
        fetches_[key] = pending;
    }
    int rc = run_fetch(lock, ino, block, pending);
    out = pending->data;
    return rc;
}

int Filesystem::run_fetch(Lock& lock, uint64_t ino, uint64_t block, const std::shared_ptr<Fetch>& pending) {
    const CacheKey key{ino, block};
    pending->started = true;
    // What to read is decided now, not when a prefetch was queued: the block may have been rewritten or cut since.
    Node* n = node(ino);
    auto stored = n ? n->stored.find(block) : decltype(n->stored.end()){};
    if (!n || stored == n->stored.end()) {
        pending->data = std::make_shared<const BlockBytes>();
    } else {
        const uint32_t valid = stored->second;
        const uint64_t epoch = n->data_epoch;
        lock.unlock();
        // The pool verifies the bytes (shard and end-to-end checksums, or a rebuild from parity) before it hands
        // them over; bytes past `valid` were cut off by a truncate and are not asked for: they read as zeros.
        auto got = [&] {
            auto shared = options_.pool_gate.share();
            return pool_.get_view(fs_block_name(ino, block), 0, valid);
        }();
        lock.lock();
        fetches_done_++;
        if (got) {
            auto bytes = std::make_shared<BlockBytes>();
            bytes->owner = std::move(got->owner);
            bytes->pieces = std::move(got->views);
            bytes->size = valid;
            pending->data = bytes;
            n = node(ino);
            if (n && n->data_epoch == epoch)
                cache_put_block(ino, block, std::move(bytes));
        } else {
            log::error("fs", "reading block " + std::to_string(block) + " of inode " + std::to_string(ino) + ": " +
                                 got.error().describe());
            pending->error = to_errno(got.error());
        }
    }
    pending->done = true;
    if (auto it = fetches_.find(key); it != fetches_.end() && it->second == pending)
        fetches_.erase(it);
    data_cv_.notify_all();
    return pending->error;
}

// Queues a fetch of the block on the write-back threads, registered at once so that it is queued only once and a
// reader that needs the block before a thread is free runs it itself.
void Filesystem::prefetch(Lock&, uint64_t ino, uint64_t block) {
    Node* n = node(ino);
    const CacheKey key{ino, block};
    if (!n || !n->stored.count(block) || n->dirty.count(block) || cache_.count(key) || fetches_.count(key))
        return;
    auto pending = std::make_shared<Fetch>();
    fetches_[key] = pending;
    boost::asio::post(writeback_, [this, ino, block, pending] {
        Lock lock(mu_);
        if (!pending->started)
            (void)run_fetch(lock, ino, block, pending);
    });
}

int Filesystem::read(uint64_t ino, uint64_t offset, size_t size, std::vector<std::byte>& out) {
    std::vector<ReadPiece> pieces;
    out.clear();
    if (int rc = read(ino, offset, size, pieces))
        return rc;
    for (const auto& piece : pieces) {
        if (piece.data)
            out.insert(out.end(), piece.data, piece.data + piece.size);
        else
            out.resize(out.size() + piece.size, std::byte{0});
    }
    return 0;
}

int Filesystem::read(uint64_t ino, uint64_t offset, size_t size, std::vector<ReadPiece>& out) {
    return read_pieces(ino, offset, size, true, out);
}

int Filesystem::try_read(uint64_t ino, uint64_t offset, size_t size, std::vector<ReadPiece>& out) {
    return read_pieces(ino, offset, size, false, out);
}

int Filesystem::read_pieces(uint64_t ino, uint64_t offset, size_t size, bool may_wait, std::vector<ReadPiece>& out) {
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
    // Kernel readahead sends several requests at once and workers take them in any order, so "sequential" means
    // near where the last read ended, not exactly there (exact matching lost the prefetch on most blocks).
    const uint64_t slack = 2 * block_size_;
    const bool sequential = offset == 0 || (n->last_read_end != UINT64_MAX && offset + slack >= n->last_read_end &&
                                            offset <= n->last_read_end + slack);
    // Keep up to kPrefetchBlocks fetches ahead of a sequential reader: they run in parallel across the disks. The
    // window doubles with each read in a row (`in_a_row`), so a random reader that lands near its last read by
    // chance prefetches one or two blocks, not sixteen.
    auto prefetch_ahead = [&](uint32_t in_a_row) {
        const uint64_t next = (end + block_size_ - 1) / block_size_;
        const uint64_t ramp = uint64_t{1} << std::min<uint32_t>(in_a_row - 1, 5);
        const uint64_t window =
            std::max<uint64_t>(1, std::min({kPrefetchBlocks, ramp, options_.cache_bytes / block_size_ / 4}));
        for (uint64_t b = next; b < next + window; ++b)
            prefetch(lock, ino, b);
    };
    // A reader about to wait for its own block queues the blocks after it first, so they are fetched while it waits
    // (at the start of a file, the window otherwise opened only once the first block had arrived).
    if (sequential && may_wait)
        prefetch_ahead(n->sequential_reads + 1);
    for (uint64_t pos = offset; pos < end;) {
        const uint64_t block = pos / block_size_;
        const uint64_t in_block = pos % block_size_;
        const uint64_t take = std::min(end - pos, block_size_ - in_block);
        n = node(ino);
        if (!n)
            return ENOENT;
        if (auto dirty = n->dirty.find(block); dirty != n->dirty.end()) {
            // A writer copies a buffer someone else holds, so this view stays intact.
            const auto& data = dirty->second.data;
            const std::span<const std::byte> whole(*data);
            append_pieces(data, std::span(&whole, 1), in_block, take, out);
        } else if (n->stored.count(block)) {
            const bool cached = cache_.count({ino, block}) > 0;
            if (!cached && !may_wait)
                return -1;
            const auto started = std::chrono::steady_clock::now();
            BlockPtr data;
            if (int rc = fetch_clean(lock, ino, block, data))
                return rc;
            if (!cached) {
                read_waits_++;
                read_wait_ns_ += static_cast<uint64_t>((std::chrono::steady_clock::now() - started).count());
            }
            append_pieces(data->owner, data->pieces, in_block, take, out);
        } else {
            out.push_back(ReadPiece{nullptr, nullptr, take});  // a hole
        }
        pos += take;
    }
    n = node(ino);
    if (!n)
        return ENOENT;
    n->last_read_end = sequential && n->last_read_end != UINT64_MAX ? std::max(n->last_read_end, end) : end;
    n->sequential_reads = sequential ? n->sequential_reads + 1 : 0;
    if (sequential) {
        prefetch_ahead(n->sequential_reads);
        // Blocks a sequential reader has left behind are in the kernel's page cache (keep_cache): keeping a second
        // copy here only holds memory, and dropping it lets the next fetch reuse its buffers (pool arenas) instead
        // of faulting and zeroing fresh ones. The block three behind the one being read is dropped: readahead
        // requests arrive out of order, and a later request for a dropped block would fetch all of it again.
        if (const uint64_t current = offset / block_size_; current >= 3) {
            const uint64_t behind = current - 3;
            if (n->sequential_reads > 1 && !n->dirty.count(behind))
                cache_drop(ino, behind);
        }
    }
    relatime(*n);
    return 0;
}

}  // namespace tiercel::fs
