// Filesystem: loading the namespace, the committer thread, shutdown, attributes and statfs.
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstring>
#include <latch>

#include <boost/asio/post.hpp>

#include "tiercel/core/log.hpp"
#include "tiercel/fs/filesystem.hpp"

namespace tiercel::fs {

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

namespace {

unsigned small_put_thread_count(const FsOptions& options) {
    return options.small_put_threads ? options.small_put_threads : std::max(1u, std::thread::hardware_concurrency());
}

// Block puts, frees and prefetches are background work. Under SCHED_BATCH their wake-ups do not preempt the thread
// that woke them: measured on 2 vCPUs, a put posted by RELEASE preempted the FUSE queue thread on its own CPU, and
// the client's next request (the untar's GETATTR) waited 20-30 us for it. They still get their fair share of CPU,
// and the idle CPU picks them up. Each thread sets its own policy, so every one of them runs a task once, all
// together (the latch keeps one thread from taking two).
void make_background_threads(boost::asio::thread_pool& threads, unsigned count, const char* name) {
    auto all_started = std::make_shared<std::latch>(count);
    for (unsigned i = 0; i < count; ++i)
        boost::asio::post(threads, [all_started, name] {
            const sched_param normal{};
            (void)::sched_setscheduler(0, SCHED_BATCH, &normal);  // best effort: without it, only slower
            pthread_setname_np(pthread_self(), name);
            all_started->arrive_and_wait();
        });
}

}  // namespace

Filesystem::Filesystem(pool::Pool& pool, FsOptions options)
    : pool_(pool),
      options_(options),
      writeback_(std::max(1u, options.writeback_threads)),
      small_puts_(small_put_thread_count(options)) {
    make_background_threads(writeback_, std::max(1u, options.writeback_threads), "fs-writeback");
    make_background_threads(small_puts_, small_put_thread_count(options), "fs-small-put");
}

Result<std::unique_ptr<Filesystem>> Filesystem::open(pool::Pool& pool, FsOptions options) {
    std::unique_ptr<Filesystem> fs(new Filesystem(pool, options));
    TIERCEL_TRY(fs->load());
    TIERCEL_TRY(fs->remove_crash_leftovers());
    fs->committer_ = std::thread([raw = fs.get()] { raw->committer_loop(); });
    return fs;
}

Filesystem::~Filesystem() {
    (void)shutdown();
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    commit_cv_.notify_all();
    if (committer_.joinable())
        committer_.join();
    writeback_.join();
    small_puts_.join();
}

Status Filesystem::load() {
    auto shared = options_.pool_gate.share();
    auto& meta = pool_.meta();
    if (auto stored = meta.get(kBlockSizeKey)) {
        TIERCEL_ASSIGN(block_size_, decode_u64_le(*stored, kBlockSizeKey));
    } else {
        block_size_ = pool_.stripe_size();
    }
    if (block_size_ == 0 || block_size_ > (64ull << 20))
        return make_error(Errc::corruption, "filesystem block size " + std::to_string(block_size_) + " is impossible");
    if (auto stored = meta.get(kNextInoKey)) {
        TIERCEL_ASSIGN(next_ino_, decode_u64_le(*stored, kNextInoKey));
    }

    Status failure;
    meta.scan(kInodePrefix, [&](std::string_view key, std::string_view value) {
        auto record = decode_inode(value, key);
        if (!record) {
            failure = record.error();
            return false;
        }
        auto n = std::make_unique<Node>();
        n->rec = std::move(*record);
        next_ino_ = std::max(next_ino_, n->rec.ino + 1);
        nodes_[n->rec.ino] = std::move(n);
        return true;
    });
    TIERCEL_TRY(failure);
    meta.scan(kDentryPrefix, [&](std::string_view key, std::string_view value) {
        auto parsed = parse_dentry_key(key);
        auto child = decode_u64_le(value, key);
        if (!parsed || !child) {
            failure = make_error(Errc::corruption, "malformed directory entry record");
            return false;
        }
        Node* dir = node(parsed->first);
        Node* target = node(*child);
        if (!dir || !target) {
            log::warning("fs", "directory entry '" + parsed->second + "' in " + std::to_string(parsed->first) +
                                   " names a missing inode; dropped");
            mark_entry(parsed->first, parsed->second);
            return true;
        }
        add_entry(*dir, parsed->second, *child);
        if (S_ISDIR(target->rec.mode))
            target->parent = parsed->first;
        return true;
    });
    TIERCEL_TRY(failure);

    if (!node(kRootIno)) {
        auto root = std::make_unique<Node>();
        root->rec.ino = kRootIno;
        root->rec.mode = S_IFDIR | 0755;
        root->rec.nlink = 2;
        root->rec.atime_ns = root->rec.mtime_ns = root->rec.ctime_ns = now_ns();
        nodes_[kRootIno] = std::move(root);
        dirty_inodes_.insert(kRootIno);
        pool::MetaBatch batch;
        batch.put(kBlockSizeKey, encode_u64_le(block_size_));
        batch.put(inode_key(kRootIno), encode_inode(nodes_[kRootIno]->rec));
        batch.put(kNextInoKey, encode_u64_le(next_ino_));
        TIERCEL_TRY(meta.commit(batch));
        dirty_inodes_.clear();
    }
    node(kRootIno)->parent = kRootIno;
    node(kRootIno)->nlookup = 1 << 30;  // the kernel never forgets the root
    log::info("fs", "loaded " + std::to_string(nodes_.size()) + " inodes, block size " + std::to_string(block_size_));
    return {};
}

// Blocks of inodes that no longer exist and blocks past a file's end are what a crash between a data put and the
// namespace commit leaves; nothing references them, so they are removed (and never read: `stored` caps reads).
Status Filesystem::remove_crash_leftovers() {
    std::vector<std::string> garbage;
    auto shared = options_.pool_gate.share();
    for (const auto& object : pool_.list(kBlockObjectPrefix)) {
        auto parsed = parse_fs_block_name(object.name);
        if (!parsed)
            continue;
        auto [ino, block] = *parsed;
        Node* n = node(ino);
        const uint64_t start = block * block_size_;
        if (!n || n->rec.nlink == 0 || !S_ISREG(n->rec.mode) || start >= n->rec.size) {
            garbage.push_back(object.name);
            continue;
        }
        n->stored[block] = static_cast<uint32_t>(std::min<uint64_t>(object.size, n->rec.size - start));
    }
    for (const auto& name : garbage)
        if (Status removed = pool_.remove(name, kBlockDurability); !removed)
            log::warning("fs", "cannot remove leftover block: " + removed.error().describe());
    if (!garbage.empty())
        log::notice("fs", "removed " + std::to_string(garbage.size()) + " blocks left behind by an interrupted run");
    // Inodes with no links (unlinked while open when the process died) are freed now.
    std::vector<uint64_t> unlinked;
    for (const auto& [ino, n] : nodes_)
        if (n->rec.nlink == 0)
            unlinked.push_back(ino);
    for (uint64_t ino : unlinked) {
        nodes_.erase(ino);
        dirty_inodes_.insert(ino);
    }
    return {};
}

Filesystem::Node* Filesystem::node(uint64_t ino) {
    auto it = nodes_.find(ino);
    return it == nodes_.end() ? nullptr : it->second.get();
}

void Filesystem::add_entry(Node& dir, std::string_view name, uint64_t ino) {
    uint64_t cookie = dir.next_cookie++;
    dir.entries[std::string(name)] = DirSlot{ino, cookie};
    dir.by_cookie[cookie] = std::string(name);
}

void Filesystem::remove_entry(Node& dir, std::string_view name) {
    auto it = dir.entries.find(name);
    if (it == dir.entries.end())
        return;
    dir.by_cookie.erase(it->second.cookie);
    dir.entries.erase(it);
}

uint64_t Filesystem::allocated_bytes(const Node& n) const {
    uint64_t bytes = 0;
    auto round = [](uint64_t v) { return (v + 4095) / 4096 * 4096; };
    for (const auto& [block, length] : n.stored)
        if (!n.dirty.count(block))
            bytes += round(length);
    for (const auto& [block, dirty] : n.dirty)
        bytes += round(dirty.data->size());
    return bytes;
}

void Filesystem::fill_stat(const Node& n, struct stat& out) const {
    out = {};
    const InodeRecord& r = n.rec;
    out.st_ino = r.ino;
    out.st_mode = r.mode;
    out.st_nlink = r.nlink;
    out.st_uid = r.uid;
    out.st_gid = r.gid;
    out.st_rdev = r.rdev;
    out.st_size = static_cast<off_t>(S_ISDIR(r.mode) ? 4096 : r.size);
    out.st_blksize = static_cast<blksize_t>(std::min<uint64_t>(block_size_, 1u << 20));
    out.st_blocks = static_cast<blkcnt_t>(allocated_bytes(n) / 512);
    auto ts = [](int64_t ns) {
        struct timespec t {};
        t.tv_sec = ns / 1'000'000'000;
        t.tv_nsec = ns % 1'000'000'000;
        return t;
    };
    out.st_atim = ts(r.atime_ns);
    out.st_mtim = ts(r.mtime_ns);
    out.st_ctim = ts(r.ctime_ns);
}

int Filesystem::getattr(uint64_t ino, struct stat& out) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n)
        return ENOENT;
    fill_stat(*n, out);
    return 0;
}

FsStats Filesystem::statfs() {
    FsStats stats = statfs_unlocked();
    std::lock_guard lock(mu_);
    stats.files = nodes_.size();
    return stats;
}

FsStats Filesystem::statfs_unlocked() {
    auto shared = options_.pool_gate.share();
    pool::PoolSpace space = pool_.space();
    FsStats stats;
    const uint64_t k = static_cast<uint64_t>(pool_.k()), width = k + static_cast<uint64_t>(pool_.m());
    stats.total_bytes = space.total_bytes / width * k;
    stats.free_bytes = space.free_bytes / width * k;
    return stats;
}

// ---- namespace commits

int Filesystem::commit_locked(Lock& lock) {
    pool::MetaBatch batch;
    auto inodes = std::move(dirty_inodes_);
    auto entries = std::move(dirty_entries_);
    dirty_inodes_.clear();
    dirty_entries_.clear();
    for (uint64_t ino : inodes) {
        Node* n = node(ino);
        if (n && n->rec.nlink > 0)
            batch.put(inode_key(ino), encode_inode(n->rec));
        else
            batch.remove(inode_key(ino));
    }
    for (const auto& [parent, name] : entries) {
        Node* dir = node(parent);
        auto it = dir ? dir->entries.find(name) : decltype(dir->entries.end()){};
        if (dir && it != dir->entries.end())
            batch.put(dentry_key(parent, name), encode_u64_le(it->second.ino));
        else
            batch.remove(dentry_key(parent, name));
    }
    if (!batch.empty())
        batch.put(kNextInoKey, encode_u64_le(next_ino_));
    committing_ = true;
    lock.unlock();
    // An empty namespace batch still flushes: deferred block puts and removes may be waiting (pool.sync()).
    auto committed = [&]() -> Result<uint64_t> {
        auto shared = options_.pool_gate.share();
        if (batch.empty()) {
            TIERCEL_TRY(pool_.sync());
            return pool_.meta().last_sequence();
        }
        return pool_.meta().commit(batch);
    }();
    lock.lock();
    committing_ = false;
    if (committed)
        return 0;
    log::error("fs", "namespace commit failed (will retry): " + committed.error().describe());
    // The records are written again with the next commit, from the state of that moment.
    dirty_inodes_.insert(inodes.begin(), inodes.end());
    dirty_entries_.insert(entries.begin(), entries.end());
    return to_errno(committed.error());
}

void Filesystem::committer_loop() {
    Lock lock(mu_);
    auto next_writeback = std::chrono::steady_clock::now() + options_.writeback_interval;
    while (!stopping_) {
        commit_cv_.wait_for(lock, options_.commit_interval,
                            [&] { return stopping_ || commits_requested_ > commits_done_; });
        if (stopping_)
            break;
        if (std::chrono::steady_clock::now() >= next_writeback) {
            next_writeback = std::chrono::steady_clock::now() + options_.writeback_interval;
            flush_all_dirty(lock);
        }
        const uint64_t target = commits_requested_;
        commit_error_ = commit_locked(lock);
        commits_done_ = std::max(commits_done_, target);
        commit_cv_.notify_all();
    }
}

int Filesystem::commit_now() {
    Lock lock(mu_);
    if (committer_.get_id() == std::thread::id() || stopping_)
        return commit_locked(lock);
    const uint64_t target = ++commits_requested_;
    commit_cv_.notify_all();
    commit_cv_.wait(lock, [&] { return commits_done_ >= target || stopping_; });
    return commit_error_;
}

Status Filesystem::shutdown() {
    Lock lock(mu_);
    if (shut_down_)
        return {};
    // Every dirty block goes out, then the namespace; unlinked inodes that were still open are freed.
    std::vector<uint64_t> inos;
    for (const auto& [ino, n] : nodes_)
        inos.push_back(ino);
    int first_error = 0;
    for (uint64_t ino : inos)
        if (Node* n = node(ino); n && !n->dirty.empty())
            if (int rc = flush_inode(lock, ino); rc && !first_error)
                first_error = rc;
    std::vector<uint64_t> unlinked;
    for (const auto& [ino, n] : nodes_)
        if (n->rec.nlink == 0) {
            n->nlookup = 0;
            n->open_count = 0;
            unlinked.push_back(ino);
        }
    for (uint64_t ino : unlinked)
        maybe_free(lock, ino);
    data_cv_.wait(lock, [&] { return pending_frees_ == 0; });
    if (int rc = commit_locked(lock); rc && !first_error)
        first_error = rc;
    shut_down_ = true;
    log::notice("fs", "write-back: " + std::to_string(puts_) + " block puts, " + std::to_string(put_ns_ / 1'000'000) +
                        " ms in puts, writers waited " + std::to_string(dirty_wait_ns_ / 1'000'000) +
                        " ms for dirty room; " + std::to_string(fetches_done_) + " block fetches, " +
                        std::to_string(read_waits_) + " reads waited " + std::to_string(read_wait_ns_ / 1'000'000) +
                        " ms for their block");
    if (first_error)
        return make_error(Errc::io_error, std::string("filesystem shutdown: ") + std::strerror(first_error));
    return {};
}

}  // namespace tiercel::fs
