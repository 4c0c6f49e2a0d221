#include "tiercel/pool/pool_json.hpp"

namespace tiercel::pool {

nlohmann::json to_json(const PoolStatus& status) {
    nlohmann::json disks = nlohmann::json::array();
    for (const auto& disk : status.disks)
        disks.push_back({{"id", disk.disk_id},
                         {"name", disk.name},
                         {"path", disk.path},
                         {"tier", disk.tier},
                         {"state", disk.state},
                         {"online", disk.online},
                         {"offline_reason", disk.offline_reason},
                         {"meta_replica", disk.meta_replica},
                         {"capacity_bytes", disk.capacity},
                         {"free_bytes", disk.free_bytes},
                         {"used_bytes", disk.capacity > disk.free_bytes ? disk.capacity - disk.free_bytes : 0},
                         {"shards", disk.shards},
                         {"latency_ms", disk.latency_ms},
                         {"read_errors", disk.read_errors},
                         {"write_errors", disk.write_errors},
                         {"checksum_errors", disk.checksum_errors}});
    nlohmann::json replicas = nlohmann::json::array();
    for (const auto& replica : status.meta_replicas)
        replicas.push_back({{"disk", replica.disk}, {"healthy", replica.healthy}, {"stale_reason", replica.stale_reason}});
    return {{"name", status.name},
            {"uuid", status.uuid},
            {"k", status.k},
            {"m", status.m},
            {"chunk_size", status.chunk_size},
            {"compression", status.compression},
            {"encrypted", status.encrypted},
            {"objects", status.objects},
            {"logical_bytes", status.logical_bytes},
            {"stripes", {{"healthy", status.stripes_healthy},
                         {"degraded", status.stripes_degraded},
                         {"lost", status.stripes_lost}}},
            {"degraded_stripe_ids", status.degraded_stripe_ids},
            {"disks", disks},
            {"metadata", {{"sequence", status.meta_sequence}, {"replicas", replicas}}}};
}

nlohmann::json to_json(const ObjectInfo& object) {
    return {{"name", object.name},
            {"size", object.size},
            {"mtime_ns", object.mtime_ns},
            {"inline", object.is_inline},
            {"stripes", object.stripes}};
}

nlohmann::json to_json(const Placement& placement) {
    nlohmann::json decisions = nlohmann::json::array();
    for (const auto& decision : placement.decisions)
        decisions.push_back({{"disk_id", decision.disk_id},
                             {"name", decision.name},
                             {"weight", decision.weight},
                             {"score", decision.score},
                             {"chosen", decision.chosen},
                             {"shard_index", decision.shard_index},
                             {"reason", decision.reason}});
    return {{"shard_disks", placement.shard_disks}, {"decisions", decisions}};
}

}  // namespace tiercel::pool
