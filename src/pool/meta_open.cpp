// MetaStore::create and MetaStore::open: initialising replicas, recovery (choosing the longest valid prefix) and the
// repair of every replica that does not hold it cleanly.
#include <algorithm>

#include "tiercel/pool/meta_assess.hpp"
#include "tiercel/pool/meta_parallel.hpp"
#include "tiercel/pool/meta_replica.hpp"
#include "tiercel/pool/meta_scan.hpp"
#include "tiercel/pool/meta_store.hpp"

namespace tiercel::pool {
using meta::ReplicaScan;

// Builds stores; a friend of MetaStore so that construction and recovery stay out of the commit path's file.
class MetaOpener {
public:
    static Result<std::unique_ptr<MetaStore>> create(std::vector<io::DiskPtr> disks, const PoolUuid& pool,
                                                     MetaStoreOptions options);
    static Result<MetaStore::Opened> open(std::vector<io::DiskPtr> candidates, const PoolUuid& pool,
                                          std::size_t required, MetaStoreOptions options);

};

Result<std::unique_ptr<MetaStore>> MetaOpener::create(std::vector<io::DiskPtr> disks, const PoolUuid& pool,
                                                      MetaStoreOptions options) {
    if (disks.empty())
        return make_error(Errc::invalid_input, "metadata store needs at least one replica disk");
    for (const auto& disk : disks) {
        auto scan = meta::scan_replica(disk, pool);
        if (scan.presence != meta::Presence::empty)
            return make_error(Errc::already_exists,
                              "cannot create metadata on " + meta::describe_scan(scan) + ": it already holds metadata");
    }
    std::unique_ptr<MetaStore> store(new MetaStore(pool, disks.size(), options));
    const std::string encoded = meta::encode_checkpoint(pool, 0, {});
    std::vector<Status> outcomes(disks.size());
    meta::run_parallel(disks.size(),
                       [&](std::size_t i) { outcomes[i] = meta::write_fresh_replica(*disks[i], pool, 0, encoded); });
    for (std::size_t i = 0; i < disks.size(); ++i) {
        if (!outcomes[i].ok())
            return outcomes[i].error().context("creating metadata");
        store->replicas_.push_back({disks[i], true, "", meta::log_path(0), meta::kFileHeaderSize});
    }
    store->checkpoint_bytes_ = encoded.size();
    store->log_bytes_.store(meta::kFileHeaderSize);
    return store;
}

Result<MetaStore::Opened> MetaOpener::open(std::vector<io::DiskPtr> candidates, const PoolUuid& pool,
                                           std::size_t required, MetaStoreOptions options) {
    if (candidates.empty() || required == 0)
        return make_error(Errc::invalid_input, "metadata store needs candidate disks and at least one replica");
    std::vector<ReplicaScan> scans(candidates.size());
    meta::run_parallel(candidates.size(), [&](std::size_t i) { scans[i] = meta::scan_replica(candidates[i], pool); });

    MetaMap state;
    std::optional<std::size_t> chosen;
    std::string load_failures;
    for (std::size_t index : meta::preference_order(scans)) {
        state.clear();
        auto loaded = meta::load_replica_state(scans[index], state);
        if (loaded.ok()) {
            chosen = index;
            break;
        }
        load_failures += "; " + loaded.error().describe();
        scans[index].valid_sequence.reset();  // a replica that failed to load is treated as holding nothing valid
        scans[index].damaged = true;
    }
    if (!chosen) {
        Error error = meta::nothing_valid(scans);
        return make_error(error.code(), error.message() + load_failures);
    }
    const ReplicaScan& source = scans[*chosen];
    const std::uint64_t sequence = *source.valid_sequence;

    std::unique_ptr<MetaStore> store(new MetaStore(pool, required, options));
    store->state_ = std::move(state);
    store->last_sequence_.store(sequence);
    store->durable_sequence_.store(sequence);
    store->checkpoint_bytes_ = source.checkpoint_bytes;

    MetaStore::Opened opened;
    opened.report.sequence = sequence;
    opened.report.source_disk = source.disk->name();
    std::optional<std::string> encoded;  // the fresh checkpoint, encoded once when some replica needs it
    for (const auto& scan : scans) {
        ReplicaReport report = meta::assess(scan, &source, sequence, opened.report.findings);
        MetaStore::Replica replica{scan.disk, true, "", "", 0};
        if (report.status == ReplicaStatus::foreign) {
            replica.healthy = false;
            replica.stale_reason = "holds another pool's metadata: " + report.detail;
            report.stale = true;
            report.stale_reason = replica.stale_reason;
        } else if (meta::needs_rewrite(report, scan, sequence)) {
            if (!encoded)
                encoded = meta::encode_checkpoint(pool, sequence, store->state_);
            store->rewrite_replica(replica, *encoded, sequence, report, source.disk->name());
        } else {
            store->repair_in_place(replica, scan, sequence, report);
        }
        store->replicas_.push_back(std::move(replica));
        opened.report.replicas.push_back(std::move(report));
    }
    std::uint64_t largest_log = 0;
    for (const auto& replica : store->replicas_)
        if (replica.healthy)
            largest_log = std::max(largest_log, replica.log_size);
    store->log_bytes_.store(largest_log);
    store->publish_health();
    opened.store = std::move(store);
    return opened;
}

Result<std::unique_ptr<MetaStore>> MetaStore::create(std::vector<io::DiskPtr> replicas, const PoolUuid& pool,
                                                     MetaStoreOptions options) {
    return MetaOpener::create(std::move(replicas), pool, options);
}

Result<MetaStore::Opened> MetaStore::open(std::vector<io::DiskPtr> candidates, const PoolUuid& pool,
                                          std::size_t required_replicas, MetaStoreOptions options) {
    return MetaOpener::open(std::move(candidates), pool, required_replicas, options);
}

}  // namespace tiercel::pool
