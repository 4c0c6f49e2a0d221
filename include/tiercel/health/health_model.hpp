// Contract: the health state of every watched disk, without threads or timers, so the daemon's HealthService, the
// offline `tiercel disks` command and the simulation share one code path.
//  - targets(): the pool's member disks (device pinned by [[pool.disk]] device, else discovered through /sys) plus
//    [health] watch paths. A target's id is the pool's disk name ("disk3") or "watch<N>".
//  - read_smart() runs smartctl for every device of every target. It blocks: worker thread only.
//  - update() folds one poll (SMART reports + the pool's own counters) into each disk's risk memory and history.
//  - Not thread-safe by itself; HealthService serialises access.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tiercel/core/config.hpp"
#include "tiercel/health/risk.hpp"
#include "tiercel/health/smart.hpp"

namespace tiercel::health {

struct DiskTarget {
    std::string id;      // "disk3", "watch0"
    std::string name;
    std::string path;
    std::string tier;
    std::string device;  // pinned in the config; empty: discover
    std::optional<uint32_t> pool_disk_id;
};

// What the pool says about a member disk at poll time.
struct PoolDiskFacts {
    std::string state = "active";  // active | draining | retired
    bool online = true;
    uint64_t capacity = 0;
    uint64_t free_bytes = 0;
    uint64_t shards = 0;
    DiskSignals signals;
};

struct DeviceReports {
    std::string target_id;
    std::vector<std::string> devices;
    std::string no_device_reason;
    std::vector<SmartReport> reports;  // one per device, or one "no SMART data" report
};

struct HistorySample {
    int64_t time = 0;  // Unix seconds
    std::optional<int64_t> temperature_c;
    std::optional<double> latency_ms;
};

struct DiskHealth {
    DiskTarget target;
    PoolDiskFacts pool;
    std::vector<std::string> devices;
    std::vector<SmartReport> reports;
    RiskAssessment risk;
    std::deque<HistorySample> history;
    int64_t polled_at = 0;  // Unix seconds; 0 = never
    uint64_t polls = 0;

    // The report shown as the disk's SMART summary: the worst of its devices.
    const SmartReport* summary() const;
};

class HealthModel {
public:
    explicit HealthModel(HealthConfig config) : config_(std::move(config)) {}

    static std::vector<DiskTarget> targets(const Config& config, const std::vector<DiskTarget>& pool_disks);
    static std::vector<DeviceReports> read_smart(const std::vector<DiskTarget>& targets, const HealthConfig& config,
                                                 const std::atomic<bool>* stop);

    void update(const std::vector<DiskTarget>& targets, const std::vector<DeviceReports>& reports,
                const std::map<std::string, PoolDiskFacts>& pool_facts, int64_t now);
    const std::map<std::string, DiskHealth>& disks() const { return disks_; }
    Status acknowledge(const std::string& disk_id, const std::string& counter);
    // Every acknowledged counter of a disk with its value (empty for a disk never polled).
    std::map<std::string, uint64_t> acknowledgements(const std::string& disk_id) const;
    // A saved acknowledgement, put back before the first poll after a restart.
    void restore_acknowledgement(const std::string& disk_id, const std::string& counter, uint64_t value);
    void set_config(HealthConfig config) { config_ = std::move(config); }

private:
    HealthConfig config_;
    std::map<std::string, DiskHealth> disks_;
    std::map<std::string, RiskTracker> trackers_;
};

}  // namespace tiercel::health
