// Contract: the pool's metadata store — an ordered, binary-safe string→string map, held in memory and made durable by
// a log of batches plus periodic checkpoints written identically to every replica disk (LevelDB's MANIFEST idea,
// replicated). Byte layout and the durability argument: docs/formats.md (metadata store files) and docs/modules/meta.md.
//
// Promises:
//  - commit(batch) is atomic (all ops or none) and returns ok only once the batch's record — and every record before
//    it — is fsynced on every replica and there are at least `required_replicas` healthy replicas. The batch is
//    applied in memory when it is queued, so readers may see it before it is durable (as a page cache shows a write
//    before its fsync). Concurrent commits are grouped: whoever holds the replica files next writes every queued
//    record to every replica in parallel and fsyncs each once (stats().sync_rounds vs commits).
//  - commit_deferred(batch) applies and queues the batch without waiting: it becomes durable with the next commit()
//    or flush(), together with everything queued before it. Writers that batch durability (the filesystem's block
//    puts, a journal-commit interval) use it; set_before_write() lets the pool make the shards those records name
//    durable first, so a record is never durable before the data it references.
//  - After any crash, open() recovers a prefix of the queued batches that contains every acknowledged one, as long
//    as one replica holding them survives with valid checksums (up to R-1 replicas may be lost or rotten).
//  - A failed commit names the replica disk(s) that failed and marks them stale. Its batch stays applied in memory:
//    its outcome is like a crash in flight (it may or may not survive a reopen). Commits are then refused until
//    replace_replica() or repair_replicas() restores enough healthy replicas; those rewrite replicas from memory.
//  - Reads are thread-safe and see whole batches only. Visitors run under a shared lock: they must not commit.
// Not promised: bounded memory (the whole map is in memory); more than one process per store (the pool holds the
// exclusive lock).
//
// Lock order: admission_mu_ (maintenance excludes new commits) -> write_mu_ (replica files) -> state_mu_ (the map and
// the queued records).
#pragma once

#include <atomic>
#include <cstdint>
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
};

struct MetaStats {
    std::uint64_t commits = 0;        // batches applied (durable, or queued by commit_deferred)
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
    // Applies the batch in memory and queues its record; returns its sequence number. Not durable until a later
    // commit() or flush() returns ok. Refused (nothing applied) while too few replicas are healthy.
    Result<std::uint64_t> commit_deferred(const MetaBatch& batch);
    // Makes every batch applied so far durable; ok at once when nothing is queued.
    Status flush();
    // Runs (with the replica files locked) before queued records are written or a checkpoint carries them: it must
    // make durable whatever those records reference. A failure fails that flush; the records stay queued.
    void set_before_write(std::function<Status()> hook);
    // Runs after the records through `sequence` became durable on at least one replica.
    void set_after_durable(std::function<void(std::uint64_t sequence)> hook);

    std::optional<std::string> get(std::string_view key) const;
    // Visits every key starting with `prefix`, in key order.
    void scan(std::string_view prefix, const MetaVisitor& visit) const;
    // Visits keys in [from, to) in key order; an empty `to` means "to the end".
    void range(std::string_view from, std::string_view to, const MetaVisitor& visit) const;
    std::size_t size() const;
    // The newest applied batch (durable or queued).
    std::uint64_t last_sequence() const;
    // The newest batch written to the replicas.
    std::uint64_t durable_sequence() const;

    MetaStats stats() const;
    std::vector<ReplicaHealth> replicas() const;
    std::size_t required_replicas() const { return required_; }

    // Writes a fresh checkpoint of the current state now (normally automatic when the log grows past the threshold).
    Status checkpoint();
    // Writes a fresh checkpoint of the current state to `new_disk` and puts it in `old_disk`'s place (found by
    // pointer or by name). old_disk's files are left alone: it may be dead.
    Status replace_replica(const io::DiskPtr& old_disk, io::DiskPtr new_disk);
    // Re-reads every replica file from disk, checks every checksum, compares replicas with each other and with the
    // in-memory sequence. Changes nothing but writing the queued records first (a flush).
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
    struct FailedRound {
        std::uint64_t first = 0, last = 0;
        std::optional<Error> error;
    };

    MetaStore(const PoolUuid& pool, std::size_t required, MetaStoreOptions options);

    Status flush_through(std::uint64_t sequence);
    // Everything below runs with write_mu_ held.
    Status flush_locked(std::uint64_t sequence);
    Status write_records(const std::string& records, std::uint64_t first, std::uint64_t last);
    // Before maintenance rewrites replicas from memory: flushes the queue, or when that is refused, makes what the
    // queued records reference durable so a rewrite from memory may carry them.
    Status settle_locked();
    // After every healthy replica was rewritten from memory: the queue is on disk.
    void memory_is_durable();
    std::optional<Error> refuse_if_degraded() const;
    void publish_health();
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

    mutable std::shared_mutex admission_mu_;  // shared by commits, exclusive for checkpoint and replica maintenance

    mutable std::mutex write_mu_;
    std::vector<Replica> replicas_;  // guarded by write_mu_
    std::atomic<std::uint64_t> checkpoint_bytes_{0};  // read by every commit without write_mu_
    FailedRound failed_round_;       // the newest round that did not reach every replica
    std::function<Status()> before_write_;
    std::function<void(std::uint64_t)> after_durable_;
    std::atomic<bool> degraded_{false};  // refuse_if_degraded() would refuse; read without write_mu_

    mutable std::shared_mutex state_mu_;
    MetaMap state_;
    std::string unwritten_;  // encoded records (durable_sequence_, last_sequence_], guarded by state_mu_
    std::atomic<std::uint64_t> last_sequence_{0};
    std::atomic<std::uint64_t> durable_sequence_{0};

    std::atomic<std::uint64_t> commits_{0}, sync_rounds_{0}, failed_rounds_{0}, checkpoints_{0};
    std::atomic<std::uint64_t> log_bytes_{0};

    friend class MetaOpener;
};

}  // namespace tiercel::pool
