// JSON for disk health (include/tiercel/health/health_json.hpp).
#include "tiercel/health/health_json.hpp"

namespace tiercel::health {
namespace {

using nlohmann::json;

template <typename T>
json optional_json(const std::optional<T>& value) {
    return value ? json(*value) : json(nullptr);
}

}  // namespace

json to_json(const SmartReport& report) {
    json attributes = json::array();
    for (const auto& attribute : report.attributes)
        attributes.push_back({{"id", attribute.id},
                              {"name", attribute.name},
                              {"value", attribute.value},
                              {"worst", attribute.worst},
                              {"thresh", attribute.thresh},
                              {"raw", attribute.raw},
                              {"raw_string", attribute.raw_string},
                              {"failing_now", attribute.failing_now}});
    json out{{"status", to_string(report.status)},
             {"device", report.device},
             {"model", report.model},
             {"serial", report.serial},
             {"protocol", report.protocol},
             {"temperature_c", optional_json(report.temperature_c)},
             {"power_on_hours", optional_json(report.power_on_hours)},
             {"attributes", attributes},
             {"has_data", report.has_data()}};
    if (report.status == SmartStatus::unknown)
        out["reason"] = report.reason;
    if (report.nvme)
        out["nvme"] = {{"critical_warning", report.nvme->critical_warning},
                       {"media_errors", report.nvme->media_errors},
                       {"percentage_used", report.nvme->percentage_used},
                       {"available_spare", report.nvme->available_spare},
                       {"available_spare_threshold", report.nvme->available_spare_threshold},
                       {"unsafe_shutdowns", report.nvme->unsafe_shutdowns}};
    if (report.scsi)
        out["scsi"] = {{"grown_defects", optional_json(report.scsi->grown_defects)},
                       {"uncorrected_read_errors", report.scsi->uncorrected_read_errors},
                       {"uncorrected_write_errors", report.scsi->uncorrected_write_errors}};
    return out;
}

json to_json(const RiskAssessment& risk) {
    json explanation = json::array();
    for (const auto& fact : risk.explanation)
        explanation.push_back({{"fact", fact.fact}, {"weight", fact.weight}, {"detail", fact.detail}});
    return {{"score", risk.score},
            {"level", to_string(risk.level)},
            {"explanation", explanation},
            {"at_risk_polls", risk.at_risk_polls}};
}

json to_json(const DiskHealth& disk) {
    json history = json::array();
    for (const auto& sample : disk.history)
        history.push_back({{"time", sample.time},
                           {"temperature_c", optional_json(sample.temperature_c)},
                           {"latency_ms", optional_json(sample.latency_ms)}});
    const SmartReport* summary = disk.summary();
    json smart = summary ? to_json(*summary) : to_json(no_smart_data("", "not polled yet"));
    json devices = json::array();
    for (const auto& report : disk.reports)
        devices.push_back(to_json(report));
    return {{"id", disk.target.id},
            {"name", disk.target.name},
            {"path", disk.target.path},
            {"tier", disk.target.tier},
            {"device", disk.devices.empty() ? std::string() : disk.devices.front()},
            {"devices", devices},
            {"state", disk.target.pool_disk_id ? disk.pool.state : std::string("watched")},
            {"online", disk.target.pool_disk_id ? disk.pool.online : true},
            {"pool_disk_id", optional_json(disk.target.pool_disk_id)},
            {"capacity", disk.pool.capacity},
            {"free_bytes", disk.pool.free_bytes},
            {"shards", disk.pool.shards},
            {"smart", smart},
            {"risk", to_json(disk.risk)},
            {"latency_ms", optional_json(disk.pool.signals.latency_ms)},
            {"errors",
             {{"read", disk.pool.signals.read_errors},
              {"write", disk.pool.signals.write_errors},
              {"checksum", disk.pool.signals.checksum_errors}}},
            {"history", history},
            {"polled_at", disk.polled_at},
            {"polls", disk.polls}};
}

}  // namespace tiercel::health
