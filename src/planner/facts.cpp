// Facts for the planner from the pool and the health model (include/tiercel/planner/facts.hpp).
#include "tiercel/planner/facts.hpp"

#include "tiercel/pool/maintenance.hpp"

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

}  // namespace tiercel::planner
