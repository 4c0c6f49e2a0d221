// Internal to src/pool: the member-disk bookkeeping shared by the Pool's create/open, put, get and status files.
#pragma once

#include <atomic>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <string>

#include "tiercel/pool/pool.hpp"

namespace tiercel::pool {

inline constexpr std::string_view kNextStripeKey = "c/next_stripe_id";
inline constexpr std::string_view kLayoutKey = "c/layout";

struct Pool::Member {
    DiskRecord record;
    io::DiskPtr disk;
    bool online = false;
    std::string offline_reason;
    std::unique_ptr<TaskPool> io;
    std::atomic<uint64_t> read_errors{0};
    std::atomic<uint64_t> write_errors{0};
    std::atomic<uint64_t> checksum_errors{0};
    std::mutex latency_mutex;
    double latency_ewma_ms = 0;

    std::string name() const { return "disk" + std::to_string(record.disk_id) + " (" + record.path + ")"; }
    void record_latency(double ms);
    double latency_ms();
};

// What deferred puts and removes leave for the next flush (pool_deferred.cpp).
struct Pool::DeferredWork {
    std::mutex mu;
    std::set<uint32_t> unsynced_disks;
    // metadata sequence -> shards its change replaced or removed, deleted once that sequence is durable
    std::multimap<uint64_t, std::vector<std::pair<uint64_t, StripeRecord>>> deletions;
};

// Helpers shared by the Pool's implementation files; a friend of Pool.
class PoolInternals {
public:
    static Pool::Member* member(Pool& pool, uint32_t disk_id);
    static std::vector<PlacementCandidate> placement_candidates(Pool& pool);
    static Status start_members(Pool& pool);
    static Status build_codec(Pool& pool);
    // Records a stripe that needed parity; true the first time.
    static bool note_degraded(Pool& pool, uint64_t stripe_id);
    static std::string inline_aad(const Pool& pool, uint64_t object_id);
    static const PoolSpec& spec(const Pool& pool) { return pool.spec_; }
    static std::optional<codec::StripeCodec>& codec(Pool& pool) { return pool.codec_; }
    static std::optional<codec::AeadKey>& key(Pool& pool) { return pool.key_; }
    static TaskPool& stripe_jobs(Pool& pool) { return *pool.stripe_jobs_; }
    static std::atomic<uint64_t>& next_stripe_id(Pool& pool) { return pool.next_stripe_id_; }

    // For maintenance (src/pool/maintenance_*.cpp), which changes membership only while nothing else uses the pool.
    static size_t member_count(const Pool& pool) { return pool.members_.size(); }
    // Appends a member (its record must already be committed) and starts its I/O queue.
    static Pool::Member& add_member(Pool& pool, const DiskRecord& record, io::DiskPtr disk);
    static std::unique_ptr<MetaStore>& meta_store(Pool& pool) { return pool.meta_; }
    static void forget_degraded(Pool& pool, uint64_t stripe_id);

    // Deferred durability (pool_deferred.cpp). A deferred change notes its disks BEFORE its metadata commit, so the
    // flush that writes the commit's record syncs them first.
    static void install_durability_hooks(Pool& pool);
    static void note_unsynced(Pool& pool, const std::vector<uint32_t>& disk_ids);
    // Deletes these shards once metadata sequence `sequence` is durable.
    static void delete_when_durable(Pool& pool, uint64_t sequence,
                                    std::vector<std::pair<uint64_t, StripeRecord>> stripes);
};

// Removes a stripe's shard files (best effort: a missing disk keeps its copy until scrub finds it unreferenced).
void delete_shards(Pool& pool, uint64_t stripe_id, const StripeRecord& record);

inline std::span<const std::byte> as_bytes_view(const codec::Bytes& bytes) {
    return std::as_bytes(std::span<const uint8_t>(bytes));
}

std::string encode_u64(uint64_t value);
uint64_t decode_u64(std::string_view bytes);

}  // namespace tiercel::pool
