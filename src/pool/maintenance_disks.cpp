// Membership and metadata-replica helpers for maintenance: disk records and states, adding and removing member
// disks, and moving or re-creating metadata replicas.
#include <algorithm>
#include <cctype>
#include <ctime>

#include "maintenance_internal.hpp"
#include "tiercel/core/log.hpp"
#include "tiercel/pool/meta_replica.hpp"

namespace tiercel::pool {
namespace {

std::optional<DiskLabel> reference_label(Pool& pool) {
    for (size_t i = 0; i < PoolInternals::member_count(pool); ++i) {
        Pool::Member* member = PoolInternals::member(pool, static_cast<uint32_t>(i));
        if (member && member->online && member->disk)
            if (auto label = read_label(*member->disk); label && label->pool_uuid == pool.uuid())
                return *label;
    }
    return std::nullopt;
}

// Removes the label, metadata files and (orphan) shard files of a disk that no longer belongs to the pool.
Status wipe_member_disk(io::Disk& disk) {
    if (auto files = disk.list("meta")) {
        for (const auto& file : *files)
            TIERCEL_TRY(disk.remove("meta/" + file));
        TIERCEL_TRY(disk.remove("meta"));
    }
    if (auto buckets = disk.list("shards")) {
        for (const auto& bucket : *buckets) {
            if (auto files = disk.list("shards/" + bucket))
                for (const auto& file : *files)
                    TIERCEL_TRY(disk.remove("shards/" + bucket + "/" + file));
            TIERCEL_TRY(disk.remove("shards/" + bucket));
        }
        TIERCEL_TRY(disk.remove("shards"));
    }
    TIERCEL_TRY(disk.remove(kLabelPath));
    return disk.sync_dir("");
}

}  // namespace

Pool::Member& PoolInternals::add_member(Pool& pool, const DiskRecord& record, io::DiskPtr disk) {
    auto member = std::make_unique<Pool::Member>();
    member->record = record;
    member->disk = std::move(disk);
    member->online = member->disk != nullptr;
    member->io = std::make_unique<TaskPool>("disk" + std::to_string(record.disk_id),
                                            std::max(1u, pool.spec_.threads_per_disk));
    pool.members_.push_back(std::move(member));
    return *pool.members_.back();
}

void PoolInternals::forget_degraded(Pool& pool, uint64_t stripe_id) {
    std::lock_guard lock(pool.degraded_mutex_);
    pool.degraded_stripes_.erase(stripe_id);
}

bool usable_for_writes(const Pool::Member* member) {
    return member && member->online && member->disk && member->record.state == DiskState::active;
}

Status set_disk_state(Pool& pool, uint32_t disk_id, DiskState state) {
    Pool::Member* member = PoolInternals::member(pool, disk_id);
    if (!member)
        return make_error(Errc::not_found, "no disk " + std::to_string(disk_id));
    if (member->record.state == state)
        return {};
    DiskRecord record = member->record;
    record.state = state;
    MetaBatch batch;
    batch.put(disk_key(disk_id), encode_disk(record));
    TIERCEL_TRY(pool.meta().commit(batch));
    member->record.state = state;
    log::notice("pool", member->name() + " is now " + std::string(disk_state_name(state)));
    return {};
}

DiskUsage disk_usage(Pool& pool, uint32_t disk_id) {
    DiskUsage usage;
    const auto& codec = PoolInternals::codec(pool);
    pool.meta().scan(kStripePrefix, [&](std::string_view key, std::string_view value) {
        auto record = decode_stripe(value, key);
        if (!record)
            return true;
        for (uint32_t disk : record->shard_disks)
            if (disk == disk_id) {
                usage.stripes++;
                usage.shard_bytes += codec->encoded_shard_size(record->logical_length);
            }
        return true;
    });
    return usage;
}

std::set<uint32_t> same_domain_disks(Pool& pool, const std::vector<uint32_t>& disks) {
    std::set<std::string> domains;
    for (uint32_t id : disks)
        if (Pool::Member* member = PoolInternals::member(pool, id); member && !member->record.failure_domain.empty())
            domains.insert(member->record.failure_domain);
    std::set<uint32_t> out;
    if (domains.empty())
        return out;
    for (size_t i = 0; i < PoolInternals::member_count(pool); ++i) {
        Pool::Member* member = PoolInternals::member(pool, static_cast<uint32_t>(i));
        if (member && domains.count(member->record.failure_domain))
            out.insert(member->record.disk_id);
    }
    return out;
}

bool is_meta_replica(Pool& pool, const Pool::Member& member) {
    if (!member.disk)
        return false;
    for (const auto& replica : pool.meta().replicas())
        if (replica.disk == member.disk->name())
            return true;
    return false;
}

Status format_member_disk(Pool& pool, io::Disk& disk, uint32_t disk_id, const std::string& disk_uuid) {
    auto reference = reference_label(pool);
    if (!reference)
        return make_error(Errc::unavailable, "no online member disk has a readable label to copy the pool's "
                                             "parameters from");
    DiskLabel label = *reference;
    label.disk_id = disk_id;
    label.disk_uuid = disk_uuid;
    label.created_unix = static_cast<int64_t>(std::time(nullptr));
    return format_member_disk(disk, label);
}

Result<uint32_t> add_disk(Pool& pool, const NewDisk& spec) {
    if (!spec.disk)
        return make_error(Errc::invalid_input, "cannot open " + spec.path);
    if (spec.tier != "nvme" && spec.tier != "ssd" && spec.tier != "hdd" && spec.tier != "smr")
        return make_error(Errc::invalid_input, "tier must be nvme, ssd, hdd or smr (got '" + spec.tier + "')");
    const uint32_t id = static_cast<uint32_t>(PoolInternals::member_count(pool));
    std::string disk_uuid;
    auto label = read_label(*spec.disk);
    if (label) {
        if (label->pool_uuid == pool.uuid() && label->disk_id < id)
            return make_error(Errc::already_exists, spec.path + " is already disk" + std::to_string(label->disk_id) +
                                                        " of this pool");
        if (label->pool_uuid == pool.uuid() && label->disk_id == id) {
            disk_uuid = label->disk_uuid;  // an earlier add-disk wrote the label, then stopped before its commit
        } else if (!spec.force) {
            return make_error(Errc::already_exists, spec.path + " belongs to pool '" + label->pool_name + "' (" +
                                                        uuid_to_string(label->pool_uuid) + "); use --force to take it");
        }
    } else if (label.error().code() != Errc::not_found && !spec.force) {
        return make_error(Errc::already_exists, spec.path + " holds a damaged tiercel label (" +
                                                    label.error().message() + "); use --force to take it");
    }
    if (disk_uuid.empty()) {
        TIERCEL_ASSIGN(auto entries, spec.disk->list(""));
        entries.erase(std::remove(entries.begin(), entries.end(), "lost+found"), entries.end());
        if (!entries.empty() && !spec.force)
            return make_error(Errc::already_exists, spec.path + " is not empty (" + std::to_string(entries.size()) +
                                                        " entries, e.g. '" + entries.front() +
                                                        "'); use --force to use it anyway");
        disk_uuid = uuid_to_string(random_uuid());
    }
    TIERCEL_ASSIGN(auto space, spec.disk->space());
    if (space.free_bytes < kPlacementReserveBytes * 2)
        return make_error(Errc::no_space, spec.path + " has only " + std::to_string(space.free_bytes >> 20) +
                                              " MiB free; a member disk needs more than the 64 MiB placement reserve");
    TIERCEL_TRY(restore_meta_replicas(pool));  // the record below needs a committable store
    TIERCEL_TRY(format_member_disk(pool, *spec.disk, id, disk_uuid));
    DiskRecord record{id, disk_uuid, spec.path, spec.tier, spec.failure_domain, spec.capacity, DiskState::active};
    MetaBatch batch;
    batch.put(disk_key(id), encode_disk(record));
    TIERCEL_TRY(pool.meta().commit(batch));
    Pool::Member& member = PoolInternals::add_member(pool, record, spec.disk);
    log::notice("pool", "added " + member.name() + " (tier " + spec.tier + ")");
    return id;
}

Result<std::vector<std::string>> restore_meta_replicas(Pool& pool, std::optional<uint32_t> leaving,
                                                       std::optional<uint32_t> prefer) {
    std::vector<std::string> actions;
    auto& store = PoolInternals::meta_store(pool);
    for (const auto& replica : store->replicas())
        if (!replica.healthy) {
            RecoveryReport repaired = store->repair_replicas();
            actions.push_back("repaired metadata replicas:\n" + repaired.describe());
            break;
        }
    const size_t required = store->required_replicas();
    std::vector<io::DiskPtr> keep;
    std::set<uint32_t> holders;
    Pool::Member* leaving_member = nullptr;
    for (const auto& replica : store->replicas()) {
        for (size_t i = 0; i < PoolInternals::member_count(pool); ++i) {
            Pool::Member* member = PoolInternals::member(pool, static_cast<uint32_t>(i));
            if (!member || !member->disk || member->disk->name() != replica.disk)
                continue;
            holders.insert(member->record.disk_id);
            if (leaving && member->record.disk_id == *leaving)
                leaving_member = member;
            else if (replica.healthy)
                keep.push_back(member->disk);
        }
    }
    if (!leaving_member && keep.size() >= required)
        return actions;

    std::vector<Pool::Member*> choices;
    for (size_t i = 0; i < PoolInternals::member_count(pool); ++i) {
        Pool::Member* member = PoolInternals::member(pool, static_cast<uint32_t>(i));
        if (usable_for_writes(member) && !holders.count(member->record.disk_id) &&
            !(leaving && member->record.disk_id == *leaving))
            choices.push_back(member);
    }
    std::stable_sort(choices.begin(), choices.end(), [&](Pool::Member* a, Pool::Member* b) {
        bool a_preferred = prefer && a->record.disk_id == *prefer, b_preferred = prefer && b->record.disk_id == *prefer;
        if (a_preferred != b_preferred)
            return a_preferred;
        return tier_rank(a->record.tier) < tier_rank(b->record.tier);
    });
    size_t wanted = required > keep.size() ? required - keep.size() : 0;
    if (choices.size() < wanted)
        return make_error(Errc::unavailable, "the metadata needs " + std::to_string(required) + " replicas but only " +
                                                 std::to_string(keep.size() + choices.size()) +
                                                 " usable disks can hold one; add a disk first");
    std::vector<Pool::Member*> added(choices.begin(), choices.begin() + static_cast<std::ptrdiff_t>(wanted));
    if (!added.empty()) {
        MetaMap state;
        store->scan("", [&](std::string_view key, std::string_view value) {
            state.emplace(std::string(key), std::string(value));
            return true;
        });
        uint64_t sequence = store->last_sequence();
        std::string encoded = meta::encode_checkpoint(pool.uuid(), sequence, state);
        for (Pool::Member* member : added) {
            TIERCEL_TRY(meta::write_fresh_replica(*member->disk, pool.uuid(), sequence, encoded));
            keep.push_back(member->disk);
            actions.push_back("metadata replica written to " + member->name());
        }
    }
    // Reopen the store on the new replica set; the old one is idle (maintenance runs alone) and is dropped.
    TIERCEL_ASSIGN(auto opened, MetaStore::open(keep, pool.uuid(), required));
    if (!opened.report.clean())
        log::notice("pool", "metadata replicas after the change:\n" + opened.report.describe());
    store = std::move(opened.store);
    if (leaving_member) {
        if (leaving_member->online && leaving_member->disk) {
            if (auto files = leaving_member->disk->list("meta")) {
                for (const auto& file : *files)
                    TIERCEL_TRY(leaving_member->disk->remove("meta/" + file));
                TIERCEL_TRY(leaving_member->disk->remove("meta"));
                TIERCEL_TRY(leaving_member->disk->sync_dir(""));
            }
        }
        actions.push_back("metadata replica removed from " + leaving_member->name());
    }
    return actions;
}

Result<MaintenanceReport> remove_disk(Pool& pool, uint32_t disk_id) {
    Pool::Member* member = PoolInternals::member(pool, disk_id);
    if (!member)
        return make_error(Errc::not_found, "no disk " + std::to_string(disk_id));
    MaintenanceReport report;
    report.operation = "remove";
    DiskUsage usage = disk_usage(pool, disk_id);
    if (usage.stripes > 0)
        return make_error(Errc::busy, "refusing to remove " + member->name() + ": it still holds " +
                                          std::to_string(usage.stripes) + " shards that stripes need (" +
                                          std::to_string(usage.shard_bytes >> 20) + " MiB); run 'tiercel pool drain " +
                                          std::to_string(disk_id) + "' first" +
                                          (member->online ? "" : ", or 'tiercel pool heal' since it is offline"));
    {
        TIERCEL_ASSIGN(auto moved, restore_meta_replicas(pool, is_meta_replica(pool, *member)
                                                                   ? std::optional<uint32_t>(disk_id)
                                                                   : std::nullopt));
        report.actions.insert(report.actions.end(), moved.begin(), moved.end());
    }
    TIERCEL_TRY(set_disk_state(pool, disk_id, DiskState::retired));
    report.actions.push_back(member->name() + " retired");
    if (member->online && member->disk) {
        TIERCEL_TRY(wipe_member_disk(*member->disk));
        report.actions.push_back("label, metadata and leftover shard files removed from " + member->record.path);
        member->online = false;
        member->offline_reason = "retired and wiped";
    }
    report.actions.push_back("delete the [[pool.disk]] entry for " + member->record.path + " from the config");
    report.complete = true;
    return report;
}

Result<uint32_t> resolve_disk(Pool& pool, std::string_view name) {
    std::string_view digits = name;
    if (digits.substr(0, 4) == "disk")
        digits.remove_prefix(4);
    if (!digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        uint32_t id = static_cast<uint32_t>(std::stoul(std::string(digits)));
        if (id < PoolInternals::member_count(pool))
            return id;
    }
    std::string path(name);
    while (path.size() > 1 && path.back() == '/')
        path.pop_back();
    for (size_t i = 0; i < PoolInternals::member_count(pool); ++i)
        if (Pool::Member* member = PoolInternals::member(pool, static_cast<uint32_t>(i)); member->record.path == path)
            return member->record.disk_id;
    return make_error(Errc::not_found, "no member disk '" + std::string(name) + "' (give a disk id, diskN or its path; "
                                       "see 'tiercel pool status')");
}

}  // namespace tiercel::pool
