// Contract: pool maintenance — scrub, heal, drain, replace, remove, add-disk and rebalance (docs/modules/maintenance.md).
//  - Stripe by stripe, never per object: at most `workers` stripes are held in memory at once, whatever the size of
//    the objects they belong to.
//  - A shard is never lost on the way: a rebuilt or moved shard is written and fsynced (file and directory) first, the
//    stripe record naming its new disk is committed next, and only after that commit is the old shard file deleted.
//    A crash or kill at any point leaves every stripe readable from the shards its committed record names; what is
//    left behind is at worst an orphan shard file that `pool fsck --repair` removes.
//  - Resumable: each operation commits its progress (the last stripe id below which every stripe is finished) under
//    the metadata key "m/<operation>" together with the stripe records of each batch, so running it again continues
//    after that stripe. The key is deleted when the operation completes. `restart` ignores it.
//  - Never below the promised redundancy: an operation that would leave a stripe with fewer than k+m shards on usable,
//    distinct disks (and failure domains) refuses with Errc::no_space or Errc::invalid_input and the reason; a stripe
//    that cannot be brought back is reported as unrepairable, never half-changed.
//  - Throttled: an optional bandwidth limit (bytes/s over the bytes read and written) and a back-off whenever the
//    latency EWMA of a disk it touches exceeds `max_latency_ms`, so foreground I/O keeps priority.
//  - Membership changes (add_disk, replace, remove) and the metadata store swap they may need assume no other thread
//    uses the pool meanwhile: the CLI runs them offline, holding the pool's exclusive lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tiercel/pool/pool.hpp"

namespace tiercel::pool {

inline constexpr std::string_view kMaintenancePrefix = "m/";
std::string maintenance_key(std::string_view operation);  // "m/heal", "m/drain/3", ...

struct MaintenanceProgress {
    std::string operation;
    uint64_t done_bytes = 0;   // logical bytes of the stripes finished (or skipped by a resume)
    uint64_t total_bytes = 0;  // logical bytes of every stripe the operation looks at
    uint64_t stripes_done = 0;
    uint64_t stripes_total = 0;
};

struct MaintenanceOptions {
    uint64_t budget_bytes = 0;                   // stop (resumably) after processing this many bytes; 0 = no limit
    std::chrono::milliseconds budget_time{0};    // stop (resumably) after this long; 0 = no limit
    uint64_t bandwidth_limit = 0;                // bytes per second read + written; 0 = no limit
    double max_latency_ms = 50;                  // back off while a touched disk's latency EWMA is above this
    unsigned workers = 4;                        // stripes processed in parallel (and held in memory)
    unsigned batch_stripes = 64;                 // at most this many stripes per progress commit
    std::chrono::milliseconds commit_interval{2000};  // and a commit at least this often while work is done
    bool restart = false;                        // ignore saved progress and start from the first stripe
    const std::atomic<bool>* cancel = nullptr;   // set: stop after the current batch, progress committed
    std::function<void(const MaintenanceProgress&)> on_progress;
    // Called after each batch is committed and its old shards deleted (tests sample redundancy here).
    std::function<void(uint64_t last_stripe_id)> after_batch;
};

struct MaintenanceReport {
    std::string operation;
    uint64_t stripes_total = 0;     // stripes the operation looked at (after the resume point)
    uint64_t stripes_skipped = 0;   // finished by an earlier, interrupted run
    uint64_t stripes_checked = 0;
    uint64_t stripes_changed = 0;   // stripes with at least one shard rewritten or moved
    uint64_t shards_checked = 0;
    uint64_t shards_rebuilt = 0;    // reconstructed from the other shards
    uint64_t shards_copied = 0;     // moved by copying verified bytes
    uint64_t shards_bad = 0;        // missing, unreadable or failing a check when looked at
    uint64_t bytes_read = 0;
    uint64_t bytes_written = 0;
    std::optional<uint64_t> resumed_after;  // the saved progress this run started from
    bool complete = false;           // false: stopped by budget or cancel (run again to continue)
    std::string stopped_because;     // "budget", "cancelled", or "" when complete
    std::vector<std::string> unrepairable;  // stripes that could not be brought back, with the reason
    std::vector<std::string> actions;       // what changed besides shards (disk states, metadata replicas)
    std::vector<std::string> metadata_findings;
    bool metadata_repaired = false;
    double throttled_seconds = 0;  // time spent pausing for the bandwidth limit or high disk latency
    double seconds = 0;
};

// Verifies every shard (verify_shard + check_shard_identity) and every metadata replica; rewrites bad or missing
// shards from redundancy and repairs replicas. Errc::unavailable when the pool holds no stripes to scrub is not an
// error: the report is simply empty.
Result<MaintenanceReport> scrub_pool(Pool& pool, const MaintenanceOptions& options);

// Brings every stripe back to k+m shards on usable disks: shards that are missing, or live on an offline or retired
// disk, are rebuilt onto their own disk when it is usable, else onto a disk chosen by placement. Restores the metadata
// replica count first when a replica disk was lost.
Result<MaintenanceReport> heal_pool(Pool& pool, const MaintenanceOptions& options);

// Marks the disk draining, moves each of its shards to another disk (a verified copy, or a rebuild when its copy is
// unreadable), moves its metadata replica if it has one, then marks it retired. Refuses when fewer than k+m other
// usable disks (or failure domains) remain or they lack the room.
Result<MaintenanceReport> drain_disk(Pool& pool, uint32_t disk_id, const MaintenanceOptions& options);

struct NewDisk {
    io::DiskPtr disk;
    std::string path;
    std::string tier = "hdd";
    uint64_t capacity = 0;  // 0 = what statfs says
    std::string failure_domain;
    bool force = false;     // take a non-empty directory
};

// Formats an empty directory as a member disk with the next disk id and commits its record. Returns the disk id.
// The disk must also be listed in the config ([[pool.disk]] path) for later opens to find it.
Result<uint32_t> add_disk(Pool& pool, const NewDisk& disk);

// Adds `replacement` (unless it is already a member, so a rerun resumes), marks `old_id` draining and moves every
// shard of it onto the replacement (copied when the old disk still serves it, rebuilt otherwise), then retires it.
Result<MaintenanceReport> replace_disk(Pool& pool, uint32_t old_id, const NewDisk& replacement,
                                       const MaintenanceOptions& options);

// Retires a disk that holds no shard any stripe needs: removes its label and metadata replica (moving the replica
// first) so it can be unplugged. Errc::busy naming the shard count otherwise.
Result<MaintenanceReport> remove_disk(Pool& pool, uint32_t disk_id);

// Moves shards from disks filled above their weight share to disks below it until every usable disk's used bytes are
// within `tolerance` of its share (weight = capacity).
Result<MaintenanceReport> rebalance_pool(Pool& pool, const MaintenanceOptions& options, double tolerance = 0.10);

struct DiskFill {
    uint32_t disk_id = 0;
    uint64_t capacity = 0;
    uint64_t shard_bytes = 0;  // bytes of the shards its stripe records place on it (encoded shard size estimate)
    uint64_t shards = 0;
    double share = 0;          // shard_bytes / expected bytes for its capacity; 1.0 = exactly its weight
};
// The fill of every online, active disk relative to its capacity.
std::vector<DiskFill> disk_fill(Pool& pool);

// Brings the metadata replicas back to the required count on usable disks (heal and drain call it). Returns what it
// did, one line per replica added.
// `leaving`: a disk whose replica must move off (drain, replace, remove); `prefer`: take this disk first.
Result<std::vector<std::string>> restore_meta_replicas(Pool& pool, std::optional<uint32_t> leaving = std::nullopt,
                                                       std::optional<uint32_t> prefer = std::nullopt);

// "3", "disk3" or a configured path -> disk id. Errc::not_found otherwise.
Result<uint32_t> resolve_disk(Pool& pool, std::string_view name);

}  // namespace tiercel::pool
