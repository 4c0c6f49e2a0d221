// Facts for the planner from the pool and the health model (include/tiercel/planner/facts.hpp).
#include "tiercel/planner/facts.hpp"

#include <algorithm>
#include <map>

#include "tiercel/pool/maintenance.hpp"
#include "tiercel/pool/records.hpp"

namespace tiercel::planner {

PoolFacts gather_pool_facts(pool::Pool* pool, const std::vector<health::DiskHealth>& health) {
    PoolFacts facts;
    if (!pool)
        return facts;
    pool::PoolStatus status = pool->status();
    facts.present = true;
    facts.k = status.k;
    facts.m = status.m;
    facts.stripes_degraded = status.stripes_degraded;
    facts.stripes_lost = status.stripes_lost;
    facts.stripes_total = status.stripes_healthy + status.stripes_degraded + status.stripes_lost;
    facts.logical_bytes = status.logical_bytes;
    auto fills = pool::disk_fill(*pool);
    // Failure domains live in the disk records (set by create and add-disk), not in the status.
    std::map<uint32_t, std::string> domains;
    pool->meta().scan(pool::kDiskPrefix, [&](std::string_view key, std::string_view value) {
        if (auto record = pool::decode_disk(value, key))
            domains[record->disk_id] = record->failure_domain;
        return true;
    });
    for (const auto& disk : status.disks) {
        DiskFacts out;
        out.id = disk.disk_id;
        out.name = disk.name;
        out.state = disk.state;
        out.online = disk.online;
        out.capacity = disk.capacity;
        out.free_bytes = disk.free_bytes;
        out.shards = disk.shards;
        out.latency_ms = disk.latency_ms;
        out.failure_domain = domains[disk.disk_id];
        for (const auto& fill : fills)
            if (fill.disk_id == disk.disk_id) {
                out.shard_bytes = fill.shard_bytes;
                out.share = fill.share;
            }
        for (const auto& known : health)
            if (known.target.id == disk.name) {
                out.risk = known.risk.level;
                out.risk_score = known.risk.score;
                out.at_risk_polls = known.risk.at_risk_polls;
                out.risk_explanation = known.risk.explanation;
            }
        facts.disks.push_back(std::move(out));
    }
    return facts;
}

std::vector<WatchFacts> watch_facts(const hsm::ScanReport& scan, const HsmConfig& config) {
    std::vector<WatchFacts> out;
    for (const auto& usage : scan.watched) {
        WatchFacts watch;
        watch.path = usage.path;
        watch.total_bytes = usage.total_bytes;
        watch.used_fraction = usage.used_fraction;
        watch.high_water = config.high_water;
        watch.low_water = config.low_water;
        watch.bytes_to_free = usage.bytes_to_free;
        if (usage.total_bytes == 0)
            watch.error = "no usage (statvfs failed)";
        std::string prefix = !usage.path.empty() && usage.path.back() == '/' ? usage.path : usage.path + "/";
        // scan() marks the coldest premigrated files "stub" until bytes_to_free; it lists them in walk order.
        for (const auto& file : scan.files)
            if (file.action == "stub" && file.path.rfind(prefix, 0) == 0)
                watch.stub.push_back({file.path, file.size, file.idle_seconds});
        std::stable_sort(watch.stub.begin(), watch.stub.end(),
                         [](const StubFile& a, const StubFile& b) { return a.idle_seconds > b.idle_seconds; });
        out.push_back(std::move(watch));
    }
    return out;
}

}  // namespace tiercel::planner
