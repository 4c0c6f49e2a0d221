// The SMART poller service (include/tiercel/health/health_service.hpp).
#include "tiercel/health/health_service.hpp"

#include <filesystem>

#include <boost/asio/post.hpp>

#include "tiercel/core/log.hpp"
#include "tiercel/pool/pool_service.hpp"

namespace tiercel::health {
namespace {

int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

HealthService::HealthService(Daemon& daemon, pool::PoolService* pool)
    : daemon_(daemon), pool_(pool), config_(daemon.config().health), timer_(daemon.loop()), model_(config_) {}

HealthService::~HealthService() {
    stopping_ = true;
    if (worker_.joinable())
        worker_.join();
}

Status HealthService::start() {
    restore_acknowledgements();
    log::info("health", "polling SMART every " + std::to_string(config_.smart_interval.count()) + " ms with " +
                            config_.smartctl);
    schedule(std::chrono::milliseconds(0));
    return {};
}

void HealthService::restore_acknowledgements() {
    std::error_code ignored;
    std::filesystem::create_directories(daemon_.config().state_dir, ignored);
    std::string path = daemon_.config().state_dir + "/health.db";
    auto store = AckStore::open(path);
    if (!store) {
        // Risk scoring still works; acknowledgements then last only until the daemon stops.
        log::error("health", "acknowledgements will not survive a restart: " + store.error().message());
        return;
    }
    auto saved = (*store)->load();
    if (!saved) {
        log::error("health", "cannot read acknowledgements: " + saved.error().message());
        return;
    }
    std::lock_guard lock(mutex_);
    acks_ = std::move(*store);
    for (const auto& ack : *saved) {
        model_.restore_acknowledgement(ack.disk, ack.counter, ack.value);
        saved_acks_[ack.disk][ack.counter] = ack.value;
    }
    if (!saved->empty())
        log::info("health", std::to_string(saved->size()) + " acknowledged counters restored from " + path);
}

void HealthService::sync_acknowledgements(const std::string& disk_id) {
    if (!acks_)
        return;
    auto now = model_.acknowledgements(disk_id);
    auto& saved = saved_acks_[disk_id];
    for (auto it = saved.begin(); it != saved.end();) {
        if (now.count(it->first)) {
            ++it;
            continue;
        }
        if (auto status = acks_->erase(disk_id, it->first); !status.ok())
            log::error("health", "acknowledgements: " + status.error().message());
        it = saved.erase(it);
    }
    for (const auto& [counter, value] : now) {
        auto found = saved.find(counter);
        if (found != saved.end() && found->second == value)
            continue;
        if (auto status = acks_->save({disk_id, counter, value, unix_now()}); !status.ok())
            log::error("health", "acknowledgements: " + status.error().message());
        saved[counter] = value;
    }
}

void HealthService::stop() {
    stopping_ = true;
    timer_.cancel();
    if (worker_.joinable())
        worker_.join();  // the worker notices stopping_ within ~100 ms (it kills a running smartctl)
}

Status HealthService::reload(const Config& config) {
    std::lock_guard lock(mutex_);
    config_ = config.health;
    model_.set_config(config_);
    return {};
}

void HealthService::schedule(std::chrono::milliseconds delay) {
    if (stopping_)
        return;
    timer_.expires_after(delay);
    timer_.async_wait([this](const boost::system::error_code& error) {
        if (!error)
            begin_poll();
    });
}

void HealthService::poll_now() {
    boost::asio::post(daemon_.loop(), [this] { begin_poll(); });
}

std::vector<DiskTarget> HealthService::pool_targets(std::map<std::string, PoolDiskFacts>* facts) const {
    std::vector<DiskTarget> disks;
    if (!pool_ || !pool_->configured())
        return disks;
    auto access = pool_->access();  // worker thread: waiting for an exclusive maintenance step is fine here
    if (!access)
        return disks;
    for (const auto& disk : (*access)->status().disks) {
        disks.push_back({disk.name, disk.name, disk.path, disk.tier, "", disk.disk_id});
        PoolDiskFacts fact;
        fact.state = disk.state;
        fact.online = disk.online;
        fact.capacity = disk.capacity;
        fact.free_bytes = disk.free_bytes;
        fact.shards = disk.shards;
        fact.signals.read_errors = disk.read_errors;
        fact.signals.write_errors = disk.write_errors;
        fact.signals.checksum_errors = disk.checksum_errors;
        fact.signals.latency_ms = disk.latency_ms;
        if (disk.capacity > 0)
            fact.signals.free_fraction = static_cast<double>(disk.free_bytes) / static_cast<double>(disk.capacity);
        (*facts)[disk.name] = fact;
    }
    return disks;
}

void HealthService::begin_poll() {
    if (polling_ || stopping_)
        return;
    polling_ = true;
    if (worker_.joinable())
        worker_.join();  // the previous round has posted its result already: this returns at once
    HealthConfig config;
    {
        std::lock_guard lock(mutex_);
        config = config_;
    }
    // Everything slow runs on the worker: smartctl, and the pool's status (a scan of its stripe records).
    worker_ = std::thread([this, config, daemon_config = daemon_.config()] {
        std::map<std::string, PoolDiskFacts> ignored;
        auto targets = HealthModel::targets(daemon_config, pool_targets(&ignored));
        auto reports = HealthModel::read_smart(targets, config, &stopping_);
        std::map<std::string, PoolDiskFacts> facts;
        pool_targets(&facts);  // the pool's counters as of now, after the SMART round
        boost::asio::post(daemon_.loop(), [this, targets = std::move(targets), reports = std::move(reports),
                                           facts = std::move(facts)]() mutable {
            finish_poll(std::move(targets), std::move(reports), std::move(facts));
        });
    });
}

void HealthService::finish_poll(std::vector<DiskTarget> targets, std::vector<DeviceReports> reports,
                                std::map<std::string, PoolDiskFacts> facts) {
    polling_ = false;
    if (stopping_)
        return;
    std::chrono::milliseconds interval;
    {
        std::lock_guard lock(mutex_);
        model_.update(targets, reports, facts, unix_now());
        for (const auto& target : targets)
            sync_acknowledgements(target.id);  // a counter that changed speaks again, also after a restart
        interval = config_.smart_interval;
        for (const auto& [id, disk] : model_.disks())
            if (disk.risk.level == RiskLevel::at_risk || disk.risk.level == RiskLevel::failing)
                log::warning("health", id + " is " + std::string(to_string(disk.risk.level)) + ": " +
                                           (disk.risk.explanation.empty() ? "" : disk.risk.explanation[0].detail));
    }
    polls_ += 1;
    publish_metrics();
    for (auto& listener : listeners_)
        listener();
    schedule(interval);
}

void HealthService::publish_metrics() {
    auto disks = snapshot();
    MetricsRegistry& metrics = daemon_.metrics();
    for (const auto& disk : disks) {
        const MetricLabels labels{{"disk", disk.target.id}};
        metrics.gauge("tiercel_disk_risk_score", "Risk of failure from SMART, errors and latency (0..1)", labels)
            .set(disk.risk.score);
        const SmartReport* summary = disk.summary();
        if (summary && summary->temperature_c)
            metrics.gauge("tiercel_disk_temperature_celsius", "Drive temperature from SMART", labels)
                .set(static_cast<double>(*summary->temperature_c));
        for (SmartStatus status : {SmartStatus::passed, SmartStatus::failed, SmartStatus::unknown})
            metrics
                .gauge("tiercel_disk_smart_status", "1 for the drive's current SMART overall status",
                       {{"disk", disk.target.id}, {"status", std::string(to_string(status))}})
                .set(summary && summary->status == status ? 1 : 0);
    }
}

std::vector<DiskHealth> HealthService::snapshot() const {
    std::lock_guard lock(mutex_);
    std::vector<DiskHealth> disks;
    for (const auto& [id, disk] : model_.disks())
        disks.push_back(disk);
    return disks;
}

Status HealthService::acknowledge(const std::string& disk_id, const std::string& counter) {
    std::lock_guard lock(mutex_);
    TIERCEL_TRY(model_.acknowledge(disk_id, counter));
    sync_acknowledgements(disk_id);
    return {};
}

}  // namespace tiercel::health
