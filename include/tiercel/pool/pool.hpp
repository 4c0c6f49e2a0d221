// Contract: the pool's object layer — named objects stored as erasure-coded stripes over a set of member disks.
//  - put() streams: it holds at most `inflight_stripes` stripes in memory whatever the object's size. It returns
//    ok only after every shard and the metadata that names them are durable (fsynced); an interrupted put leaves
//    the previous version of the object (or none) visible, never a partial one.
//  - put()/remove() with Durability::deferred return once the shards are written and the change is applied (visible
//    to get at once) but not synced: it becomes durable at the next sync() or immediate put/remove/metadata commit,
//    shards before the metadata that names them (ext4's data=ordered), so a crash loses whole recent changes, never
//    an object's bytes. Shards a deferred change replaces are deleted only once that change is durable.
//  - get() streams the requested byte range, decoding only the stripes that cover it. A healthy read fetches only
//    the k data shards; a missing, failed or corrupt shard is answered from parity and the stripe is recorded as
//    degraded. When a stripe cannot be rebuilt, get() fails with Errc::unavailable naming the object, the stripe and
//    every missing shard — it never returns wrong bytes.
//  - get_view() verifies exactly as get() does but hands the verified bytes over instead of streaming them: views
//    into the buffers the shards were read (or decoded) into, kept alive by one owner, so a caller that keeps
//    the bytes (the filesystem's block cache) needs no copy. It holds the whole range in memory at once.
//  - Objects no larger than `inline_max` are stored inline in the (replicated, checksummed) metadata.
//  - Thread-safe: many puts and gets may run at once; puts of the same key race and the last commit wins.
// Opening a pool from the config, with the exclusive lock offline commands need, is pool_open.hpp's job.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "tiercel/codec/stripe_codec.hpp"
#include "tiercel/core/error.hpp"
#include "tiercel/io/disk.hpp"
#include "tiercel/pool/label.hpp"
#include "tiercel/pool/meta_store.hpp"
#include "tiercel/pool/placement.hpp"
#include "tiercel/pool/records.hpp"
#include "tiercel/pool/task_pool.hpp"

namespace tiercel::pool {

// Fills the buffer and returns the count (0 = end of input).
using ByteSource = std::function<Result<size_t>(std::span<std::byte>)>;
using ByteSink = std::function<Status(std::span<const std::byte>)>;

// The bytes of an object range handed over by Pool::get_view: `views`, in order, point into buffers that `owner`
// keeps alive and that nothing changes; they add up to `size` bytes.
struct ObjectView {
    std::shared_ptr<const void> owner;
    std::vector<std::span<const std::byte>> views;
    uint64_t size = 0;
};

struct PoolDiskSpec {
    io::DiskPtr disk;                // null when the directory could not be opened
    std::string unavailable_reason;  // why `disk` is null
    std::string path;            // as configured (for status and records)
    std::string tier = "hdd";
    std::optional<uint64_t> capacity;
    std::string failure_domain;
};

struct PoolSpec {
    std::string name = "tank";
    int k = 4;
    int m = 2;
    uint64_t chunk_size = 1 << 20;
    std::string compression = "zstd";
    int compression_level = 3;
    std::optional<std::string> passphrase;  // set: encrypted pool
    std::vector<PoolDiskSpec> disks;
    // Tuning; the defaults suit spinning disks and NVMe alike.
    unsigned inflight_stripes = 8;
    unsigned threads_per_disk = 2;
    size_t inline_max = 4096;
    // Key derivation limits for a new encrypted pool; nullopt = libsodium's "moderate" defaults.
    std::optional<codec::KdfParams> kdf_params;
};

struct CreateOptions {
    bool force = false;  // take disks that hold other data or belong to another pool
};

struct ObjectInfo {
    std::string name;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    bool is_inline = false;
    size_t stripes = 0;
};

struct DiskStatus {
    uint32_t disk_id = 0;
    std::string name;
    std::string path;
    std::string tier;
    std::string state;  // active | draining | retired
    bool online = false;
    std::string offline_reason;
    bool meta_replica = false;
    uint64_t capacity = 0;
    uint64_t free_bytes = 0;
    uint64_t shards = 0;
    double latency_ms = 0;
    uint64_t read_errors = 0;
    uint64_t write_errors = 0;
    uint64_t checksum_errors = 0;
};

// Raw bytes over the online disks that accept writes (before redundancy: usable space is this × k/(k+m)).
struct PoolSpace {
    uint64_t total_bytes = 0;
    uint64_t free_bytes = 0;
};

struct PoolStatus {
    std::string name;
    std::string uuid;
    int k = 0;
    int m = 0;
    uint64_t chunk_size = 0;
    std::string compression;
    bool encrypted = false;
    uint64_t objects = 0;
    uint64_t logical_bytes = 0;
    uint64_t stripes_healthy = 0;
    uint64_t stripes_degraded = 0;
    uint64_t stripes_lost = 0;
    std::vector<uint64_t> degraded_stripe_ids;  // recorded by reads that needed parity (for healing)
    std::vector<DiskStatus> disks;
    std::vector<ReplicaHealth> meta_replicas;
    uint64_t meta_sequence = 0;
};

class Pool {
public:
    // Formats every disk of `spec` as a new pool. Refuses (Errc::already_exists / invalid_input, naming the disk) a
    // disk that holds a label or unrelated files, unless options.force.
    static Result<std::unique_ptr<Pool>> create(const PoolSpec& spec, const CreateOptions& options);
    // Opens an existing pool. Disks without a readable label are offline (the pool still opens while it can serve).
    static Result<std::unique_ptr<Pool>> open(const PoolSpec& spec);
    ~Pool();

    enum class Durability {
        immediate,  // durable when the call returns
        deferred,   // durable at the next sync() (see the contract above)
    };

    Result<ObjectInfo> put(std::string_view name, const ByteSource& source,
                           Durability durability = Durability::immediate);
    // put() of the first `length` bytes of `data` without copying them: stripes are encoded straight from the buffer,
    // which must not change until the call returns (the filesystem hands over its immutable dirty-block versions).
    Result<ObjectInfo> put_shared(std::string_view name, std::shared_ptr<const std::vector<std::byte>> data,
                                  size_t length, Durability durability = Durability::immediate);
    // length nullopt = to the end. An offset past the end is invalid_input.
    Status get(std::string_view name, uint64_t offset, std::optional<uint64_t> length, const ByteSink& sink);
    // The same bytes, with the same checks and errors, handed over without a copy (for ranges that fit in memory).
    Result<ObjectView> get_view(std::string_view name, uint64_t offset, std::optional<uint64_t> length);
    Status remove(std::string_view name, Durability durability = Durability::immediate);
    // Makes every deferred put and remove durable: one syncfs per disk that holds unsynced shards, then one metadata
    // log write. Ok at once when nothing is deferred.
    Status sync();
    Result<ObjectInfo> stat(std::string_view name);
    std::vector<ObjectInfo> list(std::string_view prefix);

    PoolStatus status();
    // Cheap (no metadata scan): for statfs.
    PoolSpace space();
    bool encrypted() const { return key_.has_value(); }
    Result<Placement> explain_placement(uint64_t stripe_id);

    const PoolUuid& uuid() const { return uuid_; }
    int k() const { return spec_.k; }
    int m() const { return spec_.m; }
    uint64_t stripe_size() const { return spec_.chunk_size * static_cast<uint64_t>(spec_.k); }
    MetaStore& meta() { return *meta_; }

    struct Member;  // one disk: its handle, record, workers and counters (pool_internal.hpp)
    struct DeferredWork;  // unsynced disks and delayed shard deletions of deferred changes (pool_deferred.cpp)

private:
    Pool(PoolSpec spec, PoolUuid uuid);
    friend class PoolInternals;

    PoolSpec spec_;
    PoolUuid uuid_{};
    std::optional<codec::AeadKey> key_;
    std::optional<codec::StripeCodec> codec_;
    std::unique_ptr<MetaStore> meta_;
    std::vector<std::unique_ptr<Member>> members_;
    std::unique_ptr<TaskPool> stripe_jobs_;
    std::atomic<uint64_t> next_stripe_id_{1};
    std::mutex degraded_mutex_;
    std::set<uint64_t> degraded_stripes_;
    std::unique_ptr<DeferredWork> deferred_;
};

// Names starting with \x01 belong to layers above the object store (the filesystem's blocks); `pool ls` and the
// REST object listing hide them.
inline bool is_internal_object(std::string_view name) { return !name.empty() && name[0] == '\x01'; }

// Rejects empty names, names over 1024 bytes and names with a NUL byte (Errc::invalid_input).
Status validate_object_name(std::string_view name);

}  // namespace tiercel::pool
