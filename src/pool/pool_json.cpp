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

nlohmann::json to_json(const MaintenanceReport& report) {
    nlohmann::json out = {{"operation", report.operation},
                          {"complete", report.complete},
                          {"stopped_because", report.stopped_because},
                          {"stripes_total", report.stripes_total},
                          {"stripes_skipped", report.stripes_skipped},
                          {"stripes_checked", report.stripes_checked},
                          {"stripes_changed", report.stripes_changed},
                          {"shards_checked", report.shards_checked},
                          {"shards_bad", report.shards_bad},
                          {"shards_rebuilt", report.shards_rebuilt},
                          {"shards_copied", report.shards_copied},
                          {"bytes_read", report.bytes_read},
                          {"bytes_written", report.bytes_written},
                          {"unrepairable", report.unrepairable},
                          {"actions", report.actions},
                          {"metadata_findings", report.metadata_findings},
                          {"metadata_repaired", report.metadata_repaired},
                          {"throttled_seconds", report.throttled_seconds},
                          {"seconds", report.seconds}};
    out["resumed_after_stripe"] =
        report.resumed_after ? nlohmann::json(*report.resumed_after) : nlohmann::json(nullptr);
    return out;
}


nlohmann::json to_json(const FsckReport& report) {
    return {{"objects_checked", report.objects_checked},
            {"stripes_checked", report.stripes_checked},
            {"shards_checked", report.shards_checked},
            {"clean", report.clean()},
            {"data_intact", report.data_intact()},
            {"missing_shards", report.missing_shards},
            {"corrupt_shards", report.corrupt_shards},
            {"orphan_shards", report.orphan_shards},
            {"temp_files", report.temp_files},
            {"bad_records", report.bad_records},
            {"metadata", report.metadata_findings},
            {"repairs", report.repairs}};
}

}  // namespace tiercel::pool
