// Internal to src/pool: the stripe-by-stripe engine every maintenance operation runs on (maintenance_engine.cpp).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "pool_internal.hpp"
#include "tiercel/pool/maintenance.hpp"

namespace tiercel::pool {

// What to do with one stripe, decided on the coordinating thread when the batch is built.
struct StripePlan {
    bool visit = false;  // false: the stripe is not looked at (drain: it has no shard on the disk)
    // Shard indexes that must leave their disk: to the given disk, or (nullopt) to one chosen by placement.
    std::map<unsigned, std::optional<uint32_t>> relocate;
};

struct EngineConfig {
    std::string operation;       // progress key suffix ("heal", "drain/3")
    std::string display;         // for progress lines ("heal")
    bool verify_all = false;     // scrub: read and verify every shard
    bool check_exists = false;   // heal: every shard file on a usable disk must exist
    // Shards on offline or retired disks are moved elsewhere (heal, scrub); drain and replace name theirs explicitly.
    bool move_off_unusable = false;
    bool resumable = true;
    std::function<StripePlan(uint64_t id, const StripeRecord& record)> plan;  // default: visit, relocate nothing
};

Result<MaintenanceReport> run_engine(Pool& pool, const EngineConfig& config, const MaintenanceOptions& options);

// A member that can take new shards: online and active.
bool usable_for_writes(const Pool::Member* member);
// Commits a disk record after changing its state.
Status set_disk_state(Pool& pool, uint32_t disk_id, DiskState state);
// Stripes naming the disk, and the estimated bytes of their shards on it.
struct DiskUsage {
    uint64_t stripes = 0;
    uint64_t shard_bytes = 0;
};
DiskUsage disk_usage(Pool& pool, uint32_t disk_id);
// Disks sharing a failure domain with any of `disks` (a disk with no declared domain is its own domain).
std::set<uint32_t> same_domain_disks(Pool& pool, const std::vector<uint32_t>& disks);
// True when `disk` is one of the metadata store's replicas.
bool is_meta_replica(Pool& pool, const Pool::Member& member);
// Formats `disk` as member `disk_id` of the pool (shard directories + label), copying the pool's label fields.
Status format_member_disk(Pool& pool, io::Disk& disk, uint32_t disk_id, const std::string& disk_uuid);

}  // namespace tiercel::pool
