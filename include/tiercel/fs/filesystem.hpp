// Contract: the POSIX filesystem over a pool, independent of FUSE (fs_service.hpp is the FUSE glue).
//  - Namespace (inodes, directory entries, xattrs, symlinks) is held in memory and persisted in the pool's replicated
//    metadata store (inode.hpp). Metadata operations never wait for a disk: they change memory and mark records dirty;
//    a committer thread writes every dirty record in one atomic batch each `commit_interval` (ext4's journal commit),
//    so after a crash the namespace is the state after some prefix of operations. fsync, fdatasync and fsyncdir force a
//    durable commit, and fsync first makes the file's data durable.
//  - File data is split into blocks of block_size() bytes (one pool stripe); each block that holds data is one pool
//    object (fs_block_name). A block is replaced copy-on-write by put, so a small write rewrites one block, never the
//    file. Writes are buffered per block; a block is written out when it is full, at release, every
//    `writeback_interval`, at fsync, and when dirty memory passes `dirty_limit` (writers then wait).
//  - Block puts and removes are the pool's deferred kind: durable with the next namespace commit, which syncs the
//    shards first (the pool's contract), as ext4's data=ordered journal commit writes data blocks before metadata.
//  - Reads are served from dirty buffers, a clean-block cache, or pool reads; sequential readers get up to 16 blocks
//    prefetched. A cached block is the pool's verified shard buffers (Pool::get_view), not a copy. A block that
//    was written whole is not cached after its put (the mount's page cache has it).
//  - All methods are thread-safe and return 0 or a positive errno. Metadata methods do not block on I/O; read, write,
//    truncate (setattr with a size), fsync, fallocate, copy_file_range and release of the last link may.
//  - Permission checks are the kernel's (default_permissions); this layer implements what the kernel leaves to the
//    filesystem: setgid directories, default ACL inheritance, mode/ACL consistency, name length, non-empty rmdir.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "tiercel/fs/inode.hpp"
#include "tiercel/pool/pool.hpp"
#include "tiercel/pool/pool_gate.hpp"

namespace tiercel::fs {

inline constexpr auto kBlockDurability = pool::Pool::Durability::deferred;
inline constexpr uint64_t kSmallPutBytes = 256 << 10;  // see FsOptions::small_put_threads

struct FsOptions {
    std::chrono::milliseconds commit_interval{1000};
    std::chrono::milliseconds writeback_interval{5000};
    uint64_t dirty_limit = 256ull << 20;   // buffered bytes before writers wait
    uint64_t cache_bytes = 256ull << 20;   // clean blocks kept for reads
    unsigned writeback_threads = 16;  // block puts and prefetches in flight
    // Puts of blocks under kSmallPutBytes only copy into the page cache (durability is deferred): CPU work, for
    // which threads beyond the CPUs only add lock contention. They get their own pool of this many threads
    // (0: one per CPU).
    unsigned small_put_threads = 0;
    pool::PoolGate pool_gate;         // held shared around every pool call (the daemon's PoolService gate)
};

struct Caller {
    uint32_t uid = 0;
    uint32_t gid = 0;
    uint32_t umask = 022;
};

struct DirEntry {
    std::string name;
    struct stat attr {};
    uint64_t cookie = 0;  // readdir offset of the next entry
};

struct FsStats {
    uint64_t total_bytes = 0;  // usable after redundancy
    uint64_t free_bytes = 0;
    uint64_t files = 0;
};

class Filesystem {
public:
    // Loads the namespace from the pool's metadata (creating the root on first use) and removes blocks a crash left
    // behind (objects of deleted inodes, and data past a file's end).
    static Result<std::unique_ptr<Filesystem>> open(pool::Pool& pool, FsOptions options = {});
    ~Filesystem();
    Filesystem(const Filesystem&) = delete;
    Filesystem& operator=(const Filesystem&) = delete;

    // Writes out every dirty block, commits the namespace, frees unlinked inodes still open. Idempotent.
    Status shutdown();

    uint64_t block_size() const { return block_size_; }

    // --- names and attributes (lookup and creation count one kernel lookup reference on the result)
    int lookup(uint64_t parent, std::string_view name, struct stat& out);
    void forget(uint64_t ino, uint64_t nlookup);
    // One more kernel lookup reference (an entry readdirplus returned).
    void retain(uint64_t ino);
    int getattr(uint64_t ino, struct stat& out);
    struct SetAttr {
        std::optional<uint32_t> mode, uid, gid;
        std::optional<uint64_t> size;
        std::optional<int64_t> atime_ns, mtime_ns;  // already resolved ("now" is the caller's job)
        bool kill_suidgid = false;  // a truncate by a caller without CAP_FSETID (the kernel says so)
    };
    int setattr(uint64_t ino, const SetAttr& change, struct stat& out);
    int mknod(uint64_t parent, std::string_view name, uint32_t mode, uint64_t rdev, const Caller& caller,
              struct stat& out);
    int mkdir(uint64_t parent, std::string_view name, uint32_t mode, const Caller& caller, struct stat& out);
    int symlink(uint64_t parent, std::string_view name, std::string_view target, const Caller& caller,
                struct stat& out);
    int link(uint64_t ino, uint64_t new_parent, std::string_view new_name, struct stat& out);
    int unlink(uint64_t parent, std::string_view name);
    int rmdir(uint64_t parent, std::string_view name);
    int rename(uint64_t parent, std::string_view name, uint64_t new_parent, std::string_view new_name,
               unsigned flags);
    int readlink(uint64_t ino, std::string& out);
    // Entries after `cookie` (0 = from the start, "." and ".." included), at most max_entries.
    int readdir(uint64_t ino, uint64_t cookie, size_t max_entries, std::vector<DirEntry>& out);
    FsStats statfs();

    // --- open files
    // `kill_suidgid` here and in write(): the caller lacks CAP_FSETID, so the write or truncate clears setuid, and
    // setgid with group execute, as ext4 does (this server takes FUSE_HANDLE_KILLPRIV_V2: the kernel leaves it to us).
    int open(uint64_t ino, bool truncate, bool kill_suidgid = false);
    int release(uint64_t ino);
    int read(uint64_t ino, uint64_t offset, size_t size, std::vector<std::byte>& out);
    // The same bytes as views into the block buffers, without copying them: `owner` keeps a view's bytes alive and
    // unchanged (writers copy a buffer that is shared); data == nullptr means `size` zero bytes.
    struct ReadPiece {
        std::shared_ptr<const void> owner;
        const std::byte* data = nullptr;
        size_t size = 0;
    };
    int read(uint64_t ino, uint64_t offset, size_t size, std::vector<ReadPiece>& out);
    // read() if every block is in memory (dirty or cached); otherwise -1, and the caller runs read() where waiting is
    // fine. Lets the FUSE loop answer prefetched reads without a hop to a worker.
    int try_read(uint64_t ino, uint64_t offset, size_t size, std::vector<ReadPiece>& out);
    int write(uint64_t ino, uint64_t offset, std::span<const std::byte> data, bool kill_suidgid = false);
    // write() if it can finish without waiting (dirty room, no truncate running, no stored block to read first);
    // otherwise -1 and nothing is written. Lets the FUSE loop take buffered writes without a thread hop.
    int try_write(uint64_t ino, uint64_t offset, std::span<const std::byte> data, bool kill_suidgid = false);
    // The group of a regular file whose setgid bit survives a write or truncate by a caller without CAP_FSETID
    // (setgid without group execute). A caller outside that group loses it too (ext4's setattr_should_drop_sgid);
    // only the FUSE layer can ask the kernel for the caller's groups, so it checks, then calls clear_setgid().
    std::optional<uint32_t> lone_setgid_group(uint64_t ino);
    void clear_setgid(uint64_t ino);
    int fsync(uint64_t ino, bool datasync);
    int fsyncdir(uint64_t ino);
    int fallocate(uint64_t ino, int mode, uint64_t offset, uint64_t length, bool kill_suidgid = false);
    // SEEK_DATA / SEEK_HOLE; ENXIO past the end or when no data follows.
    int lseek(uint64_t ino, uint64_t offset, int whence, uint64_t& out);
    int copy_file_range(uint64_t in_ino, uint64_t in_off, uint64_t out_ino, uint64_t out_off, size_t length,
                        size_t& copied, bool kill_suidgid = false);

    // --- extended attributes (getxattr/listxattr with size 0 report the needed size)
    int setxattr(uint64_t ino, std::string_view name, std::string_view value, int flags);
    int getxattr(uint64_t ino, std::string_view name, std::string& out);
    int listxattr(uint64_t ino, std::string& out);
    int removexattr(uint64_t ino, std::string_view name);

    // Forces a durable commit of the namespace now (what fsync and fsyncdir end with).
    int commit_now();

private:
    struct DirSlot {
        uint64_t ino = 0;
        uint64_t cookie = 0;
    };
    struct DirtyBlock {
        std::shared_ptr<std::vector<std::byte>> data;  // the block's bytes from its start; shared while flushing
        uint64_t version = 0;
        bool flushing = false;
        bool failed = false;
    };
    struct Node {
        InodeRecord rec;
        uint64_t parent = 0;  // directories only (".." and rename loops)
        uint64_t nlookup = 0;
        uint32_t open_count = 0;
        std::map<std::string, DirSlot, std::less<>> entries;  // directories
        std::map<uint64_t, std::string> by_cookie;
        uint64_t next_cookie = 3;  // 1 and 2 are "." and ".."
        std::map<uint64_t, uint32_t> stored;  // block -> valid bytes in its pool object
        std::map<uint64_t, DirtyBlock> dirty;
        unsigned flushing = 0;
        uint64_t data_epoch = 0;  // bumped when stored data changes, so a racing fetch is not cached
        uint64_t last_read_end = UINT64_MAX;
        uint32_t sequential_reads = 0;  // in a row; the prefetch window grows with it
        int write_error = 0;
        bool freeing = false;
        bool truncating = false;  // blocks are being removed: writes and flushes wait
    };
    struct CacheKey {
        uint64_t ino, block;
        bool operator<(const CacheKey& o) const { return ino != o.ino ? ino < o.ino : block < o.block; }
    };
    // A clean block as the cache keeps it: its bytes in order, in one or more pieces (a block fetched from the pool
    // stays in the shard buffers the pool read and verified, not copied into one buffer: that copy and the page
    // faults of a fresh 4 MiB buffer cost as much CPU as the disk reads), kept alive and unchanged by `owner`.
    struct BlockBytes {
        std::shared_ptr<const void> owner;
        std::vector<std::span<const std::byte>> pieces;
        uint64_t size = 0;  // the block's valid bytes; any past the pieces read as zeros
        std::shared_ptr<const std::vector<std::byte>> whole;  // set when the bytes are one vector (a written block)
    };
    using BlockPtr = std::shared_ptr<const BlockBytes>;
    struct CacheEntry {
        BlockPtr data;
        std::list<CacheKey>::iterator lru;
    };
    using Lock = std::unique_lock<std::mutex>;

    Filesystem(pool::Pool& pool, FsOptions options);
    Status load();
    Status remove_crash_leftovers();
    void committer_loop();
    int commit_locked(Lock& lock);

    // Helpers below expect mu_ held.
    Node* node(uint64_t ino);
    void fill_stat(const Node& n, struct stat& out) const;
    void mark(const Node& n) { dirty_inodes_.insert(n.rec.ino); }
    void mark_entry(uint64_t parent, std::string_view name) { dirty_entries_.emplace(parent, std::string(name)); }
    void add_entry(Node& dir, std::string_view name, uint64_t ino);
    void remove_entry(Node& dir, std::string_view name);
    int check_new_name(Node*& dir, uint64_t parent, std::string_view name);
    Node& new_node(Node& dir, uint32_t mode, const Caller& caller);
    void drop_link(Node& n, int64_t now);
    void maybe_free(Lock& lock, uint64_t ino);
    void touch_dir(Node& dir, int64_t now);
    bool is_ancestor(uint64_t maybe_ancestor, uint64_t ino);
    uint64_t allocated_bytes(const Node& n) const;

    // Data path (mu_ held on entry; may unlock while doing I/O).
    struct Fetch;
    int block_for_write(Lock& lock, uint64_t ino, uint64_t block, bool whole, DirtyBlock*& out);
    void wait_for_dirty_room(Lock& lock);
    void flush_all_dirty(Lock& lock);  // starts a put of every dirty block not already going out or failed
    int check_write(Node* n, uint64_t offset, size_t size) const;
    void copy_into_block(std::vector<std::byte>& block, uint64_t in_block, std::span<const std::byte> bytes);
    int write_locked(Lock& lock, uint64_t ino, uint64_t offset, std::span<const std::byte> data, bool kill_suidgid);
    // What ext4's file_remove_privs does: setuid goes and setgid with group execute (only when `kill_suidgid`),
    // and security.capability always. Marks the inode if anything changed.
    void remove_privileges(Node& n, bool kill_suidgid);
    bool drop_mode_bits(Node& n, uint32_t bits);  // true if any of `bits` was set
    FsStats statfs_unlocked();
    int read_pieces(uint64_t ino, uint64_t offset, size_t size, bool may_wait, std::vector<ReadPiece>& out);
    // The block's bytes in one vector (for a writer that must read a block first); fetch_clean without the copy.
    int fetch_block(Lock& lock, uint64_t ino, uint64_t block, std::shared_ptr<const std::vector<std::byte>>& out);
    int fetch_clean(Lock& lock, uint64_t ino, uint64_t block, BlockPtr& out);
    // Reads a registered fetch's block from the pool (unlocking meanwhile) and completes it for its waiters.
    int run_fetch(Lock& lock, uint64_t ino, uint64_t block, const std::shared_ptr<Fetch>& pending);
    void start_flush(Lock& lock, uint64_t ino, uint64_t block);
    void flush_job(uint64_t ino, uint64_t block, std::shared_ptr<std::vector<std::byte>> data, uint64_t version,
                   uint32_t length);
    int flush_inode(Lock& lock, uint64_t ino);
    void wait_idle(Lock& lock, uint64_t ino);
    int truncate_locked(Lock& lock, uint64_t ino, uint64_t size);
    int remove_blocks(Lock& lock, uint64_t ino, uint64_t from_block);
    void cache_put(uint64_t ino, uint64_t block, std::shared_ptr<const std::vector<std::byte>> data);
    void cache_put_block(uint64_t ino, uint64_t block, BlockPtr data);
    void cache_drop(uint64_t ino, uint64_t block);
    void prefetch(Lock& lock, uint64_t ino, uint64_t block);
    void relatime(Node& n);
    int zero_range(Lock& lock, uint64_t ino, uint64_t offset, uint64_t length);

    pool::Pool& pool_;
    const FsOptions options_;
    uint64_t block_size_ = 0;

    std::mutex mu_;
    std::condition_variable data_cv_;   // flushes finished, dirty memory freed
    std::condition_variable commit_cv_;
    std::unordered_map<uint64_t, std::unique_ptr<Node>> nodes_;
    uint64_t next_ino_ = 2;
    std::set<uint64_t> dirty_inodes_;
    std::set<std::pair<uint64_t, std::string>> dirty_entries_;
    uint64_t commits_requested_ = 0, commits_done_ = 0;
    bool committing_ = false;
    int commit_error_ = 0;
    bool stopping_ = false;
    bool shut_down_ = false;
    uint64_t dirty_bytes_ = 0;

    std::map<CacheKey, CacheEntry> cache_;
    std::list<CacheKey> lru_;
    uint64_t cache_bytes_ = 0;
    // Pool reads in flight or queued (a prefetch registers its fetch when it queues it, so it is queued once),
    // shared by concurrent readers.
    std::map<CacheKey, std::shared_ptr<Fetch>> fetches_;
    uint64_t pending_frees_ = 0;
    // Where write-back time goes, logged at shutdown (bench/fuse_bench.py prints these): writers' waits for dirty
    // room, and the block puts.
    uint64_t dirty_wait_ns_ = 0, puts_ = 0, put_ns_ = 0;
    // ... and where read time goes: block fetches from the pool, and reads that found their block not yet cached.
    uint64_t fetches_done_ = 0, read_waits_ = 0, read_wait_ns_ = 0;

    boost::asio::thread_pool writeback_;
    boost::asio::thread_pool small_puts_;
    std::thread committer_;
};

int64_t now_ns();
inline constexpr uint64_t kMaxFileSize = 1ull << 44;  // 16 TiB, ext4's limit with 4 KiB blocks

}  // namespace tiercel::fs
