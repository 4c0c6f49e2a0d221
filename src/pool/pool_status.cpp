// Pool::status and explain_placement: what an operator sees in `tiercel pool status`.
#include <algorithm>

#include "pool_internal.hpp"

namespace tiercel::pool {
namespace {

void count_stripes(Pool& pool, PoolStatus& status, const std::vector<bool>& disk_usable,
                   std::vector<uint64_t>& shards_per_disk) {
    pool.meta().scan(kStripePrefix, [&](std::string_view key, std::string_view value) {
        auto record = decode_stripe(value, key);
        if (!record) {
            status.stripes_lost++;
            return true;
        }
        int missing = 0;
        for (uint32_t disk : record->shard_disks) {
            if (disk < shards_per_disk.size())
                shards_per_disk[disk]++;
            if (disk >= disk_usable.size() || !disk_usable[disk])
                missing++;
        }
        uint64_t id = stripe_id_from_key(key);
        bool known_bad = std::binary_search(status.degraded_stripe_ids.begin(), status.degraded_stripe_ids.end(), id);
        if (missing > record->m)
            status.stripes_lost++;
        else if (missing > 0 || known_bad)
            status.stripes_degraded++;
        else
            status.stripes_healthy++;
        return true;
    });
}

}  // namespace

PoolStatus Pool::status() {
    PoolStatus status;
    status.name = spec_.name;
    status.uuid = uuid_to_string(uuid_);
    status.k = spec_.k;
    status.m = spec_.m;
    status.chunk_size = spec_.chunk_size;
    status.compression = spec_.compression;
    status.encrypted = key_.has_value();
    status.meta_sequence = meta_->last_sequence();
    status.meta_replicas = meta_->replicas();
    {
        std::lock_guard lock(degraded_mutex_);
        status.degraded_stripe_ids.assign(degraded_stripes_.begin(), degraded_stripes_.end());
    }
    meta_->scan(kObjectPrefix, [&](std::string_view, std::string_view value) {
        status.objects++;
        // The size is the second field (after version and kind); decoding the whole record is not needed.
        if (value.size() >= 10)
            status.logical_bytes += decode_u64(value.substr(2, 8));
        return true;
    });
    auto candidates = PoolInternals::placement_candidates(*this);
    std::vector<bool> usable;
    for (const auto& candidate : candidates)
        usable.push_back(candidate.online);
    std::vector<uint64_t> shards(members_.size(), 0);
    count_stripes(*this, status, usable, shards);
    for (size_t i = 0; i < members_.size(); ++i) {
        Member& member = *members_[i];
        DiskStatus disk;
        disk.disk_id = member.record.disk_id;
        disk.name = "disk" + std::to_string(member.record.disk_id);
        disk.path = member.record.path;
        disk.tier = member.record.tier;
        disk.state = std::string(disk_state_name(member.record.state));
        disk.online = candidates[i].online;
        disk.offline_reason = member.online ? (disk.online ? "" : "statfs failed") : member.offline_reason;
        disk.capacity = candidates[i].capacity;
        disk.free_bytes = candidates[i].free_bytes;
        disk.shards = shards[i];
        disk.latency_ms = member.latency_ms();
        disk.read_errors = member.read_errors;
        disk.write_errors = member.write_errors;
        disk.checksum_errors = member.checksum_errors;
        for (const auto& replica : status.meta_replicas)
            if (member.disk && replica.disk == member.disk->name())
                disk.meta_replica = true;
        status.disks.push_back(std::move(disk));
    }
    return status;
}

Result<Placement> Pool::explain_placement(uint64_t stripe_id) {
    return tiercel::pool::explain_placement(stripe_id, PoolInternals::placement_candidates(*this), spec_.k + spec_.m);
}

}  // namespace tiercel::pool
