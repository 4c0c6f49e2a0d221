// The health model shared by the daemon and the offline CLI (include/tiercel/health/health_model.hpp).
#include "tiercel/health/health_model.hpp"

#include "tiercel/health/discovery.hpp"
#include "tiercel/health/smartctl.hpp"

namespace tiercel::health {
namespace {

int status_rank(const SmartReport& report) {
    if (report.status == SmartStatus::failed)
        return 3;
    if (report.status == SmartStatus::unknown)
        return report.has_data() ? 1 : 2;
    return 0;
}

}  // namespace

const SmartReport* DiskHealth::summary() const {
    const SmartReport* worst = nullptr;
    for (const auto& report : reports)
        if (!worst || status_rank(report) > status_rank(*worst))
            worst = &report;
    return worst;
}

std::vector<DiskTarget> HealthModel::targets(const Config& config, const std::vector<DiskTarget>& pool_disks) {
    std::vector<DiskTarget> targets;
    for (DiskTarget disk : pool_disks) {
        for (const auto& configured : config.pool.disks)
            if (configured.path == disk.path && !configured.device.empty())
                disk.device = configured.device;
        targets.push_back(std::move(disk));
    }
    for (size_t i = 0; i < config.health.watch.size(); ++i) {
        DiskTarget watch;
        watch.id = "watch" + std::to_string(i);
        watch.name = watch.id;
        watch.path = config.health.watch[i];
        watch.tier = "watched";
        targets.push_back(std::move(watch));
    }
    return targets;
}

std::vector<DeviceReports> HealthModel::read_smart(const std::vector<DiskTarget>& targets, const HealthConfig& config,
                                                   const std::atomic<bool>* stop) {
    std::vector<DeviceReports> all;
    for (const auto& target : targets) {
        if (stop && stop->load())
            break;
        DeviceReports reports;
        reports.target_id = target.id;
        if (!target.device.empty()) {
            reports.devices = {target.device};
        } else {
            auto found = discover_block_devices(target.path);
            reports.devices = found.disks;
            reports.no_device_reason = found.reason;
        }
        if (reports.devices.empty())
            reports.reports.push_back(no_smart_data("", reports.no_device_reason));
        for (const auto& device : reports.devices)
            reports.reports.push_back(run_smartctl(config.smartctl, device, config.smart_timeout, stop));
        all.push_back(std::move(reports));
    }
    return all;
}

void HealthModel::update(const std::vector<DiskTarget>& targets, const std::vector<DeviceReports>& reports,
                         const std::map<std::string, PoolDiskFacts>& pool_facts, int64_t now) {
    RiskConfig risk_config{config_.temperature_warn_c, config_.temperature_crit_c,
                           static_cast<double>(config_.latency_factor)};
    for (const auto& target : targets) {
        DiskHealth& disk = disks_[target.id];
        disk.target = target;
        if (auto it = pool_facts.find(target.id); it != pool_facts.end())
            disk.pool = it->second;
        for (const auto& device_reports : reports)
            if (device_reports.target_id == target.id) {
                disk.devices = device_reports.devices;
                disk.reports = device_reports.reports;
            }
        disk.risk = trackers_[target.id].observe(disk.reports, disk.pool.signals, risk_config, now);
        disk.polled_at = now;
        disk.polls += 1;
        const SmartReport* summary = disk.summary();
        disk.history.push_back({now, summary ? summary->temperature_c : std::nullopt, disk.pool.signals.latency_ms});
        while (disk.history.size() > config_.history)
            disk.history.pop_front();
    }
}

Status HealthModel::acknowledge(const std::string& disk_id, const std::string& counter) {
    auto it = trackers_.find(disk_id);
    if (it == trackers_.end())
        return make_error(Errc::not_found, "no disk '" + disk_id + "' has been polled");
    return it->second.acknowledge(counter);
}

std::map<std::string, uint64_t> HealthModel::acknowledgements(const std::string& disk_id) const {
    auto it = trackers_.find(disk_id);
    return it == trackers_.end() ? std::map<std::string, uint64_t>{} : it->second.acknowledgements();
}

void HealthModel::restore_acknowledgement(const std::string& disk_id, const std::string& counter, uint64_t value) {
    trackers_[disk_id].restore_acknowledgement(counter, value);
}

}  // namespace tiercel::health
