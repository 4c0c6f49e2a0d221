// Contract: the SMART poller as a daemon service. start() polls at once and then every [health] smart_interval.
// smartctl runs on a worker thread (one poll round at a time), never on the core loop; the results are posted back
// to the loop, where the HealthModel is updated. The pool's status (a scan of its records) is read on the worker too. Listeners registered with
// on_update() run on the loop after each poll (the planner). snapshot() and acknowledge() are safe from any thread.
// Acknowledgements are kept in <state_dir>/health.db (ack_store.hpp): start() puts them back before the first poll,
// acknowledge() saves one, and a poll that finds an acknowledged counter changed drops its row.
// Prometheus: tiercel_disk_risk_score{disk}, tiercel_disk_temperature_celsius{disk},
// tiercel_disk_smart_status{disk,status} (1 for the current status, 0 for the others).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "tiercel/core/daemon.hpp"
#include "tiercel/core/service.hpp"
#include "tiercel/health/ack_store.hpp"
#include "tiercel/health/health_model.hpp"

namespace tiercel::pool {
class PoolService;
}

namespace tiercel::health {

class HealthService : public Service {
public:
    HealthService(Daemon& daemon, pool::PoolService* pool);
    ~HealthService() override;
    std::string_view name() const override { return "health"; }
    Status start() override;
    void stop() override;
    Status reload(const Config& config) override;

    std::vector<DiskHealth> snapshot() const;
    Status acknowledge(const std::string& disk_id, const std::string& counter);
    void on_update(std::function<void()> listener) { listeners_.push_back(std::move(listener)); }
    // Starts a poll now unless one runs (tests and the API's refresh).
    void poll_now();
    uint64_t polls() const { return polls_.load(); }

private:
    void schedule(std::chrono::milliseconds delay);
    void begin_poll();
    void finish_poll(std::vector<DiskTarget> targets, std::vector<DeviceReports> reports,
                     std::map<std::string, PoolDiskFacts> facts);
    std::vector<DiskTarget> pool_targets(std::map<std::string, PoolDiskFacts>* facts) const;
    void publish_metrics();
    void restore_acknowledgements();
    void sync_acknowledgements(const std::string& disk_id);  // with mutex_ held

    Daemon& daemon_;
    pool::PoolService* pool_;
    HealthConfig config_;
    boost::asio::steady_timer timer_;
    mutable std::mutex mutex_;
    HealthModel model_;
    std::unique_ptr<AckStore> acks_;                        // guarded by mutex_
    std::map<std::string, std::map<std::string, uint64_t>> saved_acks_;  // what acks_ holds, per disk
    std::thread worker_;
    std::atomic<bool> stopping_{false};
    bool polling_ = false;
    std::atomic<uint64_t> polls_{0};
    std::vector<std::function<void()>> listeners_;
};

}  // namespace tiercel::health
