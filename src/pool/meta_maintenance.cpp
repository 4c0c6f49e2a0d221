// MetaStore maintenance: rewriting and fixing replicas, scrub (verify_replicas), repair_replicas, replace_replica.
#include "tiercel/pool/meta_assess.hpp"
#include "tiercel/pool/meta_parallel.hpp"
#include "tiercel/pool/meta_replica.hpp"
#include "tiercel/pool/meta_scan.hpp"
#include "tiercel/pool/meta_store.hpp"

namespace tiercel::pool {

std::string MetaStore::encode_current_checkpoint() const {
    std::shared_lock lock(state_mu_);
    return meta::encode_checkpoint(pool_, last_sequence_.load(), state_);
}

void MetaStore::rewrite_replica(Replica& replica, std::string_view encoded, std::uint64_t sequence,
                                ReplicaReport& report, const std::string& source) {
    auto written = meta::write_fresh_replica(*replica.disk, pool_, sequence, encoded);
    if (!written.ok()) {
        report.action = RepairAction::failed;
        report.action_detail = written.error().describe();
        mark_stale(replica, written.error().context("rewriting metadata replica"));
        report.stale = true;
        report.stale_reason = replica.stale_reason;
        return;
    }
    report.action = RepairAction::rewritten;
    report.action_detail = "fresh checkpoint at sequence " + std::to_string(sequence) + " from " + source;
    replica.healthy = true;
    replica.stale_reason.clear();
    replica.log_path = meta::log_path(sequence);
    replica.log_size = meta::kFileHeaderSize;
}

void MetaStore::repair_in_place(Replica& replica, const meta::ReplicaScan& scan, std::uint64_t sequence,
                                ReplicaReport& report) {
    io::Disk& disk = *replica.disk;
    auto fail = [&](const Error& error) {
        report.action = RepairAction::failed;
        report.action_detail = error.describe();
        mark_stale(replica, error.context("repairing metadata replica"));
        report.stale = true;
        report.stale_reason = replica.stale_reason;
    };
    if (!scan.leftover_files.empty()) {
        if (auto removed = meta::remove_files(disk, scan.leftover_files); !removed.ok())
            return fail(removed.error());
        report.action = RepairAction::removed_leftovers;
        report.action_detail = std::to_string(scan.leftover_files.size()) + " files";
    }
    if (scan.chain.empty()) {
        // A crash between writing checkpoint.<seq> and starting log.<seq>.
        if (auto started = meta::start_log(disk, pool_, sequence); !started.ok())
            return fail(started.error());
        report.action = RepairAction::started_log;
        report.action_detail = meta::log_path(sequence);
        replica.log_path = meta::log_path(sequence);
        replica.log_size = meta::kFileHeaderSize;
    } else {
        const meta::LogSegment& active = scan.chain.back();
        if (active.valid_end < active.file_size) {
            if (auto cut = meta::truncate_log(disk, active.path, active.valid_end); !cut.ok())
                return fail(cut.error());
            report.action = RepairAction::truncated_tail;
            report.action_detail = "cut " + active.path + " from " + std::to_string(active.file_size) + " to " +
                                   std::to_string(active.valid_end) + " bytes";
        }
        replica.log_path = active.path;
        replica.log_size = active.valid_end;
    }
    replica.healthy = true;
    replica.stale_reason.clear();
}

RecoveryReport MetaStore::verify_locked(std::vector<meta::ReplicaScan>& scans) {
    RecoveryReport report;
    report.sequence = last_sequence_.load();
    scans.assign(replicas_.size(), {});
    meta::run_parallel(replicas_.size(),
                       [&](std::size_t i) { scans[i] = meta::scan_replica(replicas_[i].disk, pool_); });
    // The reference for disagreements: the first healthy replica that holds exactly the store's history cleanly.
    const meta::ReplicaScan* reference = nullptr;
    for (std::size_t i = 0; i < scans.size() && reference == nullptr; ++i)
        if (replicas_[i].healthy && scans[i].valid_sequence == report.sequence && !scans[i].has_fault())
            reference = &scans[i];
    if (reference != nullptr)
        report.source_disk = reference->disk->name();
    for (std::size_t i = 0; i < scans.size(); ++i) {
        ReplicaReport replica = meta::assess(scans[i], reference, report.sequence, report.findings);
        replica.stale = !replicas_[i].healthy;
        replica.stale_reason = replicas_[i].stale_reason;
        if (replica.status == ReplicaStatus::ok && replicas_[i].healthy && !scans[i].chain.empty() &&
            scans[i].chain.back().path != replicas_[i].log_path) {
            replica.status = ReplicaStatus::damaged;
            replica.detail = "newest log is " + scans[i].chain.back().path + ", the store appends to " +
                             replicas_[i].log_path;
        }
        report.replicas.push_back(std::move(replica));
    }
    if (reference == nullptr)
        report.findings.push_back("no healthy replica holds sequence " + std::to_string(report.sequence) +
                                  " cleanly");
    return report;
}

RecoveryReport MetaStore::verify_replicas() {
    std::unique_lock admission(admission_mu_);
    std::lock_guard write_lock(write_mu_);
    (void)flush_locked(last_sequence_.load());  // a refused flush shows as replicas behind memory
    std::vector<meta::ReplicaScan> scans;
    return verify_locked(scans);
}

RecoveryReport MetaStore::repair_replicas() {
    std::unique_lock admission(admission_mu_);
    std::lock_guard write_lock(write_mu_);
    std::vector<meta::ReplicaScan> scans;
    if (Status settled = settle_locked(); !settled) {
        RecoveryReport report = verify_locked(scans);
        report.findings.push_back("not repaired: " + settled.error().describe());
        return report;
    }
    RecoveryReport report = verify_locked(scans);
    const std::uint64_t sequence = report.sequence;
    std::optional<std::string> encoded;
    for (std::size_t i = 0; i < replicas_.size(); ++i) {
        ReplicaReport& replica_report = report.replicas[i];
        if (replica_report.status == ReplicaStatus::foreign)
            continue;
        if (replica_report.status == ReplicaStatus::ok && !replica_report.stale && scans[i].leftover_files.empty())
            continue;
        if (meta::needs_rewrite(replica_report, scans[i], sequence) || replica_report.stale) {
            // A stale replica may hold half-written records past what it had when it failed: always start it afresh.
            if (!encoded)
                encoded = encode_current_checkpoint();
            rewrite_replica(replicas_[i], *encoded, sequence, replica_report, "memory");
        } else {
            repair_in_place(replicas_[i], scans[i], sequence, replica_report);
        }
        replica_report.stale = !replicas_[i].healthy;
        replica_report.stale_reason = replicas_[i].stale_reason;
    }
    publish_health();
    // Every healthy replica now holds `sequence`: records that could not be logged before are on disk.
    if (!degraded_.load())
        memory_is_durable();
    return report;
}

Status MetaStore::replace_replica(const io::DiskPtr& old_disk, io::DiskPtr new_disk) {
    if (!new_disk)
        return make_error(Errc::invalid_input, "replace_replica: no new disk given");
    std::unique_lock admission(admission_mu_);
    std::lock_guard write_lock(write_mu_);
    TIERCEL_TRY(settle_locked());
    Replica* target = nullptr;
    for (auto& replica : replicas_) {
        if (replica.disk == new_disk || replica.disk->name() == new_disk->name())
            return make_error(Errc::already_exists, new_disk->name() + " is already a metadata replica");
        if (replica.disk == old_disk || (old_disk && replica.disk->name() == old_disk->name()))
            target = &replica;
    }
    if (target == nullptr)
        return make_error(Errc::not_found,
                          (old_disk ? old_disk->name() : std::string("(null)")) + " is not a metadata replica");
    auto scan = meta::scan_replica(new_disk, pool_);
    if (scan.presence == meta::Presence::foreign)
        return make_error(Errc::invalid_input, "refusing to overwrite " + meta::describe_scan(scan));
    Replica fresh{new_disk, true, "", "", 0};
    ReplicaReport report;
    rewrite_replica(fresh, encode_current_checkpoint(), last_sequence_.load(), report, "memory");
    if (!fresh.healthy)
        return make_error(Errc::io_error, new_disk->name() + ": " + report.action_detail);
    *target = std::move(fresh);
    if (durable_sequence_.load() < last_sequence_.load()) {
        // The queue could not be logged (too few healthy replicas): every replica starts afresh from memory, so
        // none holds a log that stops short of the new one's checkpoint.
        const std::string encoded = encode_current_checkpoint();
        for (auto& replica : replicas_)
            if (replica.healthy && &replica != target) {
                ReplicaReport ignored;
                rewrite_replica(replica, encoded, last_sequence_.load(), ignored, "memory");
            }
    }
    publish_health();
    if (!degraded_.load())
        memory_is_durable();
    return {};
}

}  // namespace tiercel::pool
