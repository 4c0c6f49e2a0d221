// Contract: the pool's metadata store — an ordered, binary-safe string→string map, held in memory and made durable by
// a log of batches plus periodic checkpoints written identically to every replica disk (LevelDB's MANIFEST idea,
// replicated). Byte layout and the durability argument: docs/formats.md (metadata store files) and docs/modules/meta.md.
//
// Promises:
//  - commit(batch) is atomic (all ops or none) and returns ok only once the batch's record is fsynced on every replica
//    and there are at least `required_replicas` healthy replicas. Concurrent commits are grouped: one leader writes
//    all pending records to every replica in parallel and fsyncs each once (stats().sync_rounds vs commits).
//  - After any crash, open() recovers a prefix of the committed batches that contains every acknowledged one, as long
//    as one replica holding them survives with valid checksums (up to R-1 replicas may be lost or rotten).
//  - A failed commit names the replica disk(s) that failed and marks them stale. If the batch reached at least one
//    replica it is applied (a failed commit's outcome is like a crash in flight: it may survive); commits are then
//    refused until replace_replica() or repair_replicas() restores enough healthy replicas.
//  - Reads are thread-safe and see whole batches only. Visitors run under a shared lock: they must not commit.
// Not promised: bounded memory (the whole map is in memory); commits without fsync; more than one process per store
// (the pool holds the exclusive lock).
//
// Lock order: write_mu_ (replica files) -> queue_mu_ (group-commit queue) -> state_mu_ (the map).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tiercel/io/disk.hpp"
#include "tiercel/pool/meta_batch.hpp"
#include "tiercel/pool/meta_format.hpp"
#include "tiercel/pool/meta_report.hpp"

namespace tiercel::pool {

namespace meta {
struct ReplicaScan;
}

struct MetaStoreOptions {
    // Roll the log into a fresh checkpoint once it exceeds max(this, growth_factor × last checkpoint size).
    std::uint64_t checkpoint_min_log_bytes = 64ull << 20;
    std::uint64_t checkpoint_growth_factor = 4;
    // Upper bound on the records one group-commit round writes (a lone larger batch still goes alone).
    std::size_t max_group_bytes = 16u << 20;
};

struct MetaStats {
    std::uint64_t commits = 0;        // acknowledged batches
    std::uint64_t sync_rounds = 0;    // group-commit rounds: one write + one fsync per replica each
    std::uint64_t failed_rounds = 0;
    std::uint64_t checkpoints = 0;    // log rollovers written since open
    std::uint64_t log_bytes = 0;      // size of the current log (largest over healthy replicas)
    std::uint64_t checkpoint_bytes = 0;
};

struct ReplicaHealth {
    std::string disk;
    bool healthy = true;
    std::string stale_reason;  // why commits no longer go to it
};

// Return false to stop a scan early.
using MetaVisitor = std::function<bool(std::string_view key, std::string_view value)>;

class MetaStore {
public:
    // Initialises empty metadata (sequence 0) on every disk; all of them become replicas and required_replicas is
    // their count. Errc::already_exists if any disk already holds metadata files.
    static Result<std::unique_ptr<MetaStore>> create(std::vector<io::DiskPtr> replicas, const PoolUuid& pool,
                                                     MetaStoreOptions options = {});

    struct Opened {
        std::unique_ptr<MetaStore> store;
        RecoveryReport report;
    };
    // Recovers from the candidate disks (see docs/formats.md (metadata store files) and docs/modules/meta.md, "Recovery") and repairs every replica that is
    // behind, torn, damaged, missing or disagrees. Every candidate becomes a replica; a foreign one (another pool's,
    // never touched) and one whose repair failed are stale, so commits are refused until they are replaced. Errc::not_found if no candidate holds any metadata; Errc::corruption (naming every
    // candidate and why) if none holds a valid prefix.
    static Result<Opened> open(std::vector<io::DiskPtr> candidates, const PoolUuid& pool,
                               std::size_t required_replicas, MetaStoreOptions options = {});

    ~MetaStore();
    MetaStore(const MetaStore&) = delete;
    MetaStore& operator=(const MetaStore&) = delete;

    // Returns the batch's sequence number once durable on every replica. An empty batch is a no-op returning
    // last_sequence().
    Result<std::uint64_t> commit(const MetaBatch& batch);

    std::optional<std::string> get(std::string_view key) const;
    // Visits every key starting with `prefix`, in key order.
    void scan(std::string_view prefix, const MetaVisitor& visit) const;
    // Visits keys in [from, to) in key order; an empty `to` means "to the end".
    void range(std::string_view from, std::string_view to, const MetaVisitor& visit) const;
    std::size_t size() const;
    std::uint64_t last_sequence() const;

    MetaStats stats() const;
    std::vector<ReplicaHealth> replicas() const;
    std::size_t required_replicas() const { return required_; }

    // Writes a fresh checkpoint of the current state now (normally automatic when the log grows past the threshold).
    Status checkpoint();
    // Writes a fresh checkpoint of the current state to `new_disk` and puts it in `old_disk`'s place (found by
    // pointer or by name). old_disk's files are left alone: it may be dead.
    Status replace_replica(const io::DiskPtr& old_disk, io::DiskPtr new_disk);
    // Re-reads every replica file from disk, checks every checksum, compares replicas with each other and with the
    // in-memory sequence. Changes nothing.
    RecoveryReport verify_replicas();
    // verify_replicas(), then fixes every replica that is not ok (a stale one becomes healthy when its rewrite works).
    RecoveryReport repair_replicas();

private:
    struct Replica {
        io::DiskPtr disk;
        bool healthy = true;
        std::string stale_reason;
        std::string log_path;
        std::uint64_t log_size = 0;
    };
    struct Writer;

    MetaStore(const PoolUuid& pool, std::size_t required, MetaStoreOptions options);

    // Everything below runs with write_mu_ held.
    void run_round(const std::vector<Writer*>& group);
    std::optional<Error> refuse_if_degraded() const;
    void maybe_checkpoint();
    Status checkpoint_locked();
    std::string encode_current_checkpoint() const;
    void rewrite_replica(Replica& replica, std::string_view encoded, std::uint64_t sequence, ReplicaReport& report,
                         const std::string& source);
    void repair_in_place(Replica& replica, const meta::ReplicaScan& scan, std::uint64_t sequence,
                         ReplicaReport& report);
    RecoveryReport verify_locked(std::vector<meta::ReplicaScan>& scans);
    void mark_stale(Replica& replica, const Error& why);

    const PoolUuid pool_;
    const std::size_t required_;
    const MetaStoreOptions options_;

    mutable std::mutex write_mu_;
    std::vector<Replica> replicas_;  // guarded by write_mu_
    std::uint64_t checkpoint_bytes_ = 0;

    std::mutex queue_mu_;
    std::deque<Writer*> queue_;

    mutable std::shared_mutex state_mu_;
    MetaMap state_;
    std::atomic<std::uint64_t> last_sequence_{0};

    std::atomic<std::uint64_t> commits_{0}, sync_rounds_{0}, failed_rounds_{0}, checkpoints_{0};
    std::atomic<std::uint64_t> log_bytes_{0};

    friend class MetaOpener;
};

}  // namespace tiercel::pool
