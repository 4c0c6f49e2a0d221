// The maintenance operations on top of the engine: scrub, heal, drain, replace and rebalance.
#include <algorithm>
#include <cmath>

#include "maintenance_internal.hpp"
#include "tiercel/core/log.hpp"

namespace tiercel::pool {
namespace {

std::string mib(uint64_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

bool names_disk(const StripeRecord& record, uint32_t disk_id) {
    return std::find(record.shard_disks.begin(), record.shard_disks.end(), disk_id) != record.shard_disks.end();
}

// Placement's view of every member, by disk id.
std::map<uint32_t, PlacementCandidate> candidates_by_id(Pool& pool) {
    std::map<uint32_t, PlacementCandidate> out;
    for (auto& candidate : PoolInternals::placement_candidates(pool))
        out[candidate.disk_id] = candidate;
    return out;
}

// Refuses to take `leaving` out of service when the rest of the pool could not hold its shards at full redundancy.
Status check_room_without(Pool& pool, uint32_t leaving, const DiskUsage& usage) {
    const int width = pool.k() + pool.m();
    auto candidates = candidates_by_id(pool);
    size_t disks = 0;
    uint64_t room = 0;
    std::set<std::string> domains;
    std::string unusable;
    for (size_t i = 0; i < PoolInternals::member_count(pool); ++i) {
        Pool::Member* member = PoolInternals::member(pool, static_cast<uint32_t>(i));
        if (member->record.disk_id == leaving)
            continue;
        const PlacementCandidate& candidate = candidates[member->record.disk_id];
        if (!usable_for_writes(member) || !candidate.online) {
            unusable += "; " + member->name() + " is " +
                        (member->online ? std::string(disk_state_name(member->record.state)) : "offline");
            continue;
        }
        disks++;
        domains.insert(member->record.failure_domain.empty() ? "disk:" + member->record.uuid
                                                              : "domain:" + member->record.failure_domain);
        if (candidate.free_bytes > kPlacementReserveBytes)
            room += candidate.free_bytes - kPlacementReserveBytes;
    }
    Pool::Member* member = PoolInternals::member(pool, leaving);
    if (static_cast<int>(disks) < width)
        return make_error(Errc::unavailable,
                          "refusing: without " + member->name() + " only " + std::to_string(disks) +
                              " usable disks remain, and a " + std::to_string(pool.k()) + "+" +
                              std::to_string(pool.m()) + " stripe needs " + std::to_string(width) +
                              " distinct disks to keep full redundancy" + unusable + "; add a disk first");
    if (static_cast<int>(domains.size()) < width)
        return make_error(Errc::unavailable, "refusing: without " + member->name() + " only " +
                                                 std::to_string(domains.size()) + " failure domains remain; a stripe needs " +
                                                 std::to_string(width));
    if (usage.shard_bytes > room)
        return make_error(Errc::no_space, "refusing: " + member->name() + " holds " + mib(usage.shard_bytes) +
                                              " of shards but the other usable disks have only " + mib(room) +
                                              " free above their 64 MiB reserve; add a disk or free space first");
    return {};
}

}  // namespace

Result<MaintenanceReport> scrub_pool(Pool& pool, const MaintenanceOptions& options) {
    std::vector<std::string> actions;
    std::vector<std::string> findings;
    bool repaired = false;
    RecoveryReport verified = pool.meta().verify_replicas();
    if (!verified.clean()) {
        findings.push_back(verified.describe());
        RecoveryReport fixed = pool.meta().repair_replicas();
        repaired = true;
        actions.push_back("metadata replicas repaired");
        bool healthy = true;
        for (const auto& replica : pool.meta().replicas())
            healthy = healthy && replica.healthy;
        if (!healthy)
            findings.push_back("after repair:\n" + fixed.describe());
    }
    if (auto restored = restore_meta_replicas(pool); restored) {
        actions.insert(actions.end(), restored->begin(), restored->end());
    } else {
        findings.push_back(restored.error().message());
    }
    EngineConfig config;
    config.operation = "scrub";
    config.display = "scrub";
    config.verify_all = true;
    config.move_off_unusable = true;
    TIERCEL_ASSIGN(MaintenanceReport report, run_engine(pool, config, options));
    report.actions.insert(report.actions.begin(), actions.begin(), actions.end());
    report.metadata_findings = std::move(findings);
    report.metadata_repaired = repaired;
    return report;
}

Result<MaintenanceReport> heal_pool(Pool& pool, const MaintenanceOptions& options) {
    // Without enough metadata replicas no stripe record could be committed: restore them first.
    TIERCEL_ASSIGN(auto actions, restore_meta_replicas(pool));
    EngineConfig config;
    config.operation = "heal";
    config.display = "heal";
    config.check_exists = true;
    config.move_off_unusable = true;
    TIERCEL_ASSIGN(MaintenanceReport report, run_engine(pool, config, options));
    report.actions.insert(report.actions.begin(), actions.begin(), actions.end());
    for (size_t i = 0; i < PoolInternals::member_count(pool); ++i) {
        Pool::Member* member = PoolInternals::member(pool, static_cast<uint32_t>(i));
        if (!member->online && member->record.state != DiskState::retired && report.complete &&
            report.unrepairable.empty())
            report.actions.push_back(member->name() + " is offline and now holds no shard any stripe needs; "
                                     "'tiercel pool remove " + std::to_string(member->record.disk_id) +
                                     "' retires it");
    }
    return report;
}

Result<MaintenanceReport> drain_disk(Pool& pool, uint32_t disk_id, const MaintenanceOptions& options) {
    Pool::Member* member = PoolInternals::member(pool, disk_id);
    if (!member)
        return make_error(Errc::not_found, "no disk " + std::to_string(disk_id));
    DiskUsage usage = disk_usage(pool, disk_id);
    MaintenanceReport empty;
    empty.operation = "drain";
    if (member->record.state == DiskState::retired && usage.stripes == 0) {
        empty.complete = true;
        empty.actions.push_back(member->name() + " is already retired and empty");
        return empty;
    }
    TIERCEL_TRY(check_room_without(pool, disk_id, usage));
    TIERCEL_ASSIGN(auto restored, restore_meta_replicas(pool));
    empty.actions.insert(empty.actions.end(), restored.begin(), restored.end());
    if (member->record.state == DiskState::active) {
        TIERCEL_TRY(set_disk_state(pool, disk_id, DiskState::draining));
        empty.actions.push_back(member->name() + " marked draining: it takes no new shards");
    }
    EngineConfig config;
    config.operation = "drain/" + std::to_string(disk_id);
    config.display = "drain disk" + std::to_string(disk_id);
    config.move_off_unusable = true;
    config.plan = [disk_id](uint64_t, const StripeRecord& record) {
        StripePlan plan;
        for (unsigned i = 0; i < record.shard_disks.size(); ++i)
            if (record.shard_disks[i] == disk_id) {
                plan.visit = true;
                plan.relocate[i] = std::nullopt;
            }
        return plan;
    };
    TIERCEL_ASSIGN(MaintenanceReport report, run_engine(pool, config, options));
    report.actions.insert(report.actions.begin(), empty.actions.begin(), empty.actions.end());
    if (!report.complete || !report.unrepairable.empty())
        return report;
    if (disk_usage(pool, disk_id).stripes > 0) {
        report.unrepairable.push_back(member->name() + " still holds shards (a put placed them before it was "
                                      "marked draining?); run drain again");
        return report;
    }
    if (is_meta_replica(pool, *member)) {
        TIERCEL_ASSIGN(auto moved, restore_meta_replicas(pool, disk_id));
        report.actions.insert(report.actions.end(), moved.begin(), moved.end());
    }
    TIERCEL_TRY(set_disk_state(pool, disk_id, DiskState::retired));
    report.actions.push_back(member->name() + " is empty and retired; 'tiercel pool remove " +
                             std::to_string(disk_id) + "' wipes its label, then delete it from the config");
    return report;
}

Result<MaintenanceReport> replace_disk(Pool& pool, uint32_t old_id, const NewDisk& replacement,
                                       const MaintenanceOptions& options) {
    Pool::Member* old_member = PoolInternals::member(pool, old_id);
    if (!old_member)
        return make_error(Errc::not_found, "no disk " + std::to_string(old_id));
    if (!replacement.disk)
        return make_error(Errc::invalid_input, "cannot open " + replacement.path);
    DiskUsage usage = disk_usage(pool, old_id);
    MaintenanceReport prelude;
    prelude.operation = "replace";
    // Without enough metadata replicas (the old disk may have held one) nothing below could be committed.
    TIERCEL_ASSIGN(prelude.actions, restore_meta_replicas(pool));
    // A rerun finds the replacement already labelled as a member: it continues with it.
    std::optional<uint32_t> new_id;
    if (auto label = read_label(*replacement.disk);
        label && label->pool_uuid == pool.uuid() && label->disk_id < PoolInternals::member_count(pool))
        new_id = label->disk_id;
    if (new_id && *new_id == old_id)
        return make_error(Errc::invalid_input, replacement.path + " is disk" + std::to_string(old_id) +
                                                   " itself; give a new, empty directory");
    if (old_member->record.state == DiskState::retired && usage.stripes == 0)
        return make_error(Errc::invalid_input, old_member->name() + " is already retired and holds nothing");
    if (!new_id) {
        TIERCEL_ASSIGN(auto space, replacement.disk->space());
        uint64_t free = replacement.capacity ? std::min(space.free_bytes, replacement.capacity) : space.free_bytes;
        if (free < usage.shard_bytes + kPlacementReserveBytes)
            return make_error(Errc::no_space, "refusing: " + replacement.path + " has " + mib(free) +
                                                  " free but " + old_member->name() + " holds " +
                                                  mib(usage.shard_bytes) + " of shards (+64 MiB reserve)");
        NewDisk spec = replacement;
        if (spec.failure_domain.empty())
            spec.failure_domain = old_member->record.failure_domain;
        TIERCEL_ASSIGN(new_id, add_disk(pool, spec));
        prelude.actions.push_back("formatted " + replacement.path + " as disk" + std::to_string(*new_id));
    }
    if (old_member->record.state == DiskState::active) {
        TIERCEL_TRY(set_disk_state(pool, old_id, DiskState::draining));
        prelude.actions.push_back(old_member->name() + " marked draining");
    }
    const uint32_t target = *new_id;
    EngineConfig config;
    config.operation = "replace/" + std::to_string(old_id);
    config.display = "replace disk" + std::to_string(old_id);
    config.move_off_unusable = true;
    config.plan = [old_id, target](uint64_t, const StripeRecord& record) {
        StripePlan plan;
        for (unsigned i = 0; i < record.shard_disks.size(); ++i)
            if (record.shard_disks[i] == old_id) {
                plan.visit = true;
                plan.relocate[i] = target;
            }
        return plan;
    };
    TIERCEL_ASSIGN(MaintenanceReport report, run_engine(pool, config, options));
    report.operation = "replace";
    report.actions.insert(report.actions.begin(), prelude.actions.begin(), prelude.actions.end());
    if (!report.complete || !report.unrepairable.empty() || disk_usage(pool, old_id).stripes > 0)
        return report;
    if (is_meta_replica(pool, *old_member) || !old_member->online) {
        TIERCEL_ASSIGN(auto moved, restore_meta_replicas(pool, old_id, target));
        report.actions.insert(report.actions.end(), moved.begin(), moved.end());
    }
    TIERCEL_TRY(set_disk_state(pool, old_id, DiskState::retired));
    report.actions.push_back(old_member->name() + " retired");
    if (replacement.path != old_member->record.path)
        report.actions.push_back("add [[pool.disk]] path = \"" + replacement.path + "\" to the config (in place of " +
                                 old_member->record.path + ") so the next open finds disk" + std::to_string(target));
    return report;
}

std::vector<DiskFill> disk_fill(Pool& pool) {
    std::map<uint32_t, DiskFill> fills;
    auto candidates = candidates_by_id(pool);
    for (size_t i = 0; i < PoolInternals::member_count(pool); ++i) {
        Pool::Member* member = PoolInternals::member(pool, static_cast<uint32_t>(i));
        if (!usable_for_writes(member) || !candidates[member->record.disk_id].online)
            continue;
        DiskFill fill;
        fill.disk_id = member->record.disk_id;
        fill.capacity = candidates[member->record.disk_id].capacity;
        fills[fill.disk_id] = fill;
    }
    const auto& codec = PoolInternals::codec(pool);
    pool.meta().scan(kStripePrefix, [&](std::string_view key, std::string_view value) {
        auto record = decode_stripe(value, key);
        if (!record)
            return true;
        uint64_t bytes = codec->encoded_shard_size(record->logical_length);
        for (uint32_t disk : record->shard_disks)
            if (auto found = fills.find(disk); found != fills.end()) {
                found->second.shard_bytes += bytes;
                found->second.shards++;
            }
        return true;
    });
    uint64_t total_bytes = 0, total_capacity = 0;
    for (auto& [id, fill] : fills) {
        total_bytes += fill.shard_bytes;
        total_capacity += fill.capacity;
    }
    std::vector<DiskFill> out;
    for (auto& [id, fill] : fills) {
        double expected = total_capacity ? static_cast<double>(total_bytes) * static_cast<double>(fill.capacity) /
                                               static_cast<double>(total_capacity)
                                         : 0;
        fill.share = expected > 0 ? static_cast<double>(fill.shard_bytes) / expected : 1.0;
        out.push_back(fill);
    }
    return out;
}

Result<MaintenanceReport> rebalance_pool(Pool& pool, const MaintenanceOptions& options, double tolerance) {
    struct Tally {
        double used = 0;
        double expected = 0;
        std::string domain;
        double share() const { return expected > 0 ? used / expected : 1.0; }
    };
    auto fills = disk_fill(pool);
    if (fills.size() < static_cast<size_t>(pool.k() + pool.m()))
        return make_error(Errc::unavailable, "rebalance needs at least k+m usable disks");
    std::map<uint32_t, Tally> tallies;
    double total_used = 0, total_capacity = 0;
    for (const auto& fill : fills) {
        total_used += static_cast<double>(fill.shard_bytes);
        total_capacity += static_cast<double>(fill.capacity);
    }
    for (const auto& fill : fills) {
        Pool::Member* member = PoolInternals::member(pool, fill.disk_id);
        Tally tally;
        tally.used = static_cast<double>(fill.shard_bytes);
        tally.expected = total_capacity > 0 ? total_used * static_cast<double>(fill.capacity) / total_capacity : 0;
        tally.domain = member->record.failure_domain.empty() ? "disk:" + member->record.uuid
                                                             : "domain:" + member->record.failure_domain;
        tallies[fill.disk_id] = tally;
    }
    if (std::all_of(fills.begin(), fills.end(), [](const DiskFill& fill) { return fill.shard_bytes == 0; })) {
        MaintenanceReport nothing;
        nothing.operation = "rebalance";
        nothing.complete = true;
        return nothing;
    }
    // Aim inside half the tolerance so that estimation error still lands within it.
    const double high = 1.0 + tolerance / 2, low = 1.0 - tolerance / 2;
    const auto& codec = PoolInternals::codec(pool);
    EngineConfig config;
    config.operation = "rebalance";
    config.display = "rebalance";
    config.resumable = false;  // every run plans afresh from the current fill
    config.plan = [&](uint64_t, const StripeRecord& record) {
        StripePlan plan;
        bool balanced = std::all_of(tallies.begin(), tallies.end(), [&](const auto& entry) {
            return entry.second.share() <= high && entry.second.share() >= low;
        });
        if (balanced)
            return plan;
        double bytes = static_cast<double>(codec->encoded_shard_size(record.logical_length));
        // While some disk is outside [low, high], the stripe's shard on its fullest above-average disk moves to the
        // emptiest below-average disk it is not on yet.
        int source = -1;
        for (unsigned i = 0; i < record.shard_disks.size(); ++i) {
            auto found = tallies.find(record.shard_disks[i]);
            if (found == tallies.end() || found->second.share() <= 1.0)
                continue;
            if (source < 0 || found->second.share() > tallies[record.shard_disks[source]].share())
                source = static_cast<int>(i);
        }
        if (source < 0)
            return plan;
        std::set<std::string> domains;
        for (unsigned i = 0; i < record.shard_disks.size(); ++i)
            if (static_cast<int>(i) != source)
                if (auto found = tallies.find(record.shard_disks[i]); found != tallies.end())
                    domains.insert(found->second.domain);
        std::optional<uint32_t> destination;
        for (auto& [id, tally] : tallies) {
            if (names_disk(record, id) || domains.count(tally.domain) || tally.share() >= 1.0)
                continue;
            if (!destination || tally.share() < tallies[*destination].share())
                destination = id;
        }
        if (!destination)
            return plan;
        tallies[record.shard_disks[source]].used -= bytes;
        tallies[*destination].used += bytes;
        plan.visit = true;
        plan.relocate[static_cast<unsigned>(source)] = *destination;
        return plan;
    };
    TIERCEL_ASSIGN(MaintenanceReport report, run_engine(pool, config, options));
    // One disk holds at most one shard of each stripe: a capacity share above 1/(k+m) cannot be reached.
    for (const auto& fill : fills)
        if (total_capacity > 0 &&
            static_cast<double>(fill.capacity) / total_capacity > 1.0 / (pool.k() + pool.m()) * (1 + tolerance / 2))
            report.actions.push_back("disk" + std::to_string(fill.disk_id) + " has " +
                                     std::to_string(static_cast<int>(100 * fill.capacity / total_capacity)) +
                                     "% of the capacity, but one disk can hold at most one shard of each stripe (" +
                                     std::to_string(100 / (pool.k() + pool.m())) +
                                     "%); it stays below its share");
    for (const auto& fill : disk_fill(pool)) {
        char line[160];
        std::snprintf(line, sizeof line, "disk%u: %s of shards, %.0f%% of its capacity share", fill.disk_id,
                      mib(fill.shard_bytes).c_str(), fill.share * 100);
        report.actions.push_back(line);
    }
    return report;
}

}  // namespace tiercel::pool
