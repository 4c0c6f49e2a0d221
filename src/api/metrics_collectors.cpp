// Prometheus families computed at scrape time from the services' own views (MetricsRegistry::add_collector), for
// the parts whose modules keep no counters of their own: the pool (per-disk capacity, errors, latency; stripes by
// state), disk risk levels, the HSM (files by state, recalls, watched filesystem fill) and the planner's alerts.
// They read the services as their REST routes do, on the loop thread that serves /metrics.
#include "tiercel/api/api.hpp"
#include "tiercel/health/health_service.hpp"
#include "tiercel/hsm/hsm_service.hpp"
#include "tiercel/planner/planner_service.hpp"
#include "tiercel/pool/maintenance_jobs.hpp"
#include "tiercel/pool/pool_service.hpp"

namespace tiercel::api {
namespace {

using Samples = std::vector<MetricSample>;

void gauge(Samples& out, std::string name, std::string help, MetricLabels labels, double value) {
    out.push_back({std::move(name), std::move(help), "gauge", std::move(labels), value});
}

void counter(Samples& out, std::string name, std::string help, MetricLabels labels, double value) {
    out.push_back({std::move(name), std::move(help), "counter", std::move(labels), value});
}

void pool_disk_samples(Samples& out, const pool::DiskStatus& disk) {
    MetricLabels labels{{"disk", disk.name}, {"tier", disk.tier}};
    gauge(out, "tiercel_pool_disk_capacity_bytes", "Capacity of a pool disk.", labels, double(disk.capacity));
    gauge(out, "tiercel_pool_disk_free_bytes", "Free bytes on a pool disk.", labels, double(disk.free_bytes));
    gauge(out, "tiercel_pool_disk_shards", "Shards stored on a pool disk.", labels, double(disk.shards));
    gauge(out, "tiercel_pool_disk_online", "1 when the pool disk is online.", labels, disk.online ? 1 : 0);
    gauge(out, "tiercel_pool_disk_latency_seconds", "Measured I/O latency (EWMA) of a pool disk.", labels,
          disk.latency_ms / 1000.0);
    for (auto [kind, count] : {std::pair{"read", disk.read_errors}, std::pair{"write", disk.write_errors},
                               std::pair{"checksum", disk.checksum_errors}}) {
        MetricLabels with_kind = labels;
        with_kind.emplace_back("kind", kind);
        counter(out, "tiercel_pool_disk_errors_total", "I/O and checksum errors seen on a pool disk.", with_kind,
                double(count));
    }
}

void pool_samples(Samples& out, pool::PoolService& service) {
    auto access = service.try_access();
    gauge(out, "tiercel_pool_available", "1 when the pool can be read now (0: not open, or a job holds it).", {},
          access ? 1 : 0);
    if (!access)
        return;
    pool::PoolStatus status = (**access).status();
    gauge(out, "tiercel_pool_objects", "Objects stored in the pool.", {}, double(status.objects));
    gauge(out, "tiercel_pool_logical_bytes", "Bytes stored in the pool before redundancy and compression.", {},
          double(status.logical_bytes));
    for (auto [state, count] : {std::pair{"healthy", status.stripes_healthy},
                                std::pair{"degraded", status.stripes_degraded}, std::pair{"lost", status.stripes_lost}})
        gauge(out, "tiercel_pool_stripes", "Stripes by redundancy state.", {{"state", state}}, double(count));
    for (const auto& disk : status.disks)
        pool_disk_samples(out, disk);
    bool running = service.jobs() && service.jobs()->running().has_value();
    gauge(out, "tiercel_pool_maintenance_running", "1 while a maintenance job (scrub, heal, drain, ...) runs.", {},
          running ? 1 : 0);
}

void disk_risk_samples(Samples& out, health::HealthService& health) {
    std::map<std::string, int> levels{{"ok", 0}, {"watch", 0}, {"at_risk", 0}, {"failing", 0}, {"unknown", 0}};
    for (const auto& disk : health.snapshot())
        levels[std::string(to_string(disk.risk.level))] += 1;
    for (const auto& [level, count] : levels)
        gauge(out, "tiercel_disks", "Watched disks by risk level.", {{"risk", level}}, count);
}

void hsm_samples(Samples& out, hsm::HsmService& hsm) {
    auto status = hsm.status_json();
    if (!status)
        return;
    for (const auto& [state, count] : status->value("counts", nlohmann::json::object()).items())
        gauge(out, "tiercel_hsm_files", "Files in the HSM catalog by state.", {{"state", state}}, count.get<double>());
    for (const auto& watched : status->value("watched", nlohmann::json::array())) {
        if (!watched.contains("used_fraction"))
            continue;
        MetricLabels labels{{"path", watched.value("path", std::string())}};
        gauge(out, "tiercel_hsm_watched_used_ratio", "Used fraction of a watched filesystem.", labels,
              watched["used_fraction"].get<double>());
        gauge(out, "tiercel_hsm_watched_high_water_ratio", "The high water mark of a watched filesystem.", labels,
              watched.value("high_water", 0.0));
    }
    const auto stats = status->value("interceptor", nlohmann::json::object());
    counter(out, "tiercel_hsm_recalls_total", "Recalls of archived data, by outcome.", {{"outcome", "completed"}},
            stats.value("recalls_completed", 0.0));
    counter(out, "tiercel_hsm_recalls_total", "Recalls of archived data, by outcome.", {{"outcome", "failed"}},
            stats.value("recalls_failed", 0.0));
    counter(out, "tiercel_hsm_recalled_bytes_total", "Bytes filled back into stubs by recalls.", {},
            stats.value("bytes_recalled", 0.0));
    counter(out, "tiercel_hsm_access_events_total", "fanotify pre-access events on stubs, by answer.",
            {{"answer", "allowed"}}, stats.value("allowed", 0.0));
    counter(out, "tiercel_hsm_access_events_total", "fanotify pre-access events on stubs, by answer.",
            {{"answer", "denied"}}, stats.value("denied", 0.0));
}

}  // namespace

void register_metrics_collectors(ApiContext& context) {
    context.daemon.metrics().add_collector([&context](Samples& out) {
        if (context.pool)
            pool_samples(out, *context.pool);
        if (context.health)
            disk_risk_samples(out, *context.health);
        if (context.hsm && context.hsm->active())
            hsm_samples(out, *context.hsm);
        if (context.planner)
            gauge(out, "tiercel_planner_alerts", "Failed verifications that stopped automation of an action class.",
                  {}, double(context.planner->alerts().size()));
    });
}

}  // namespace tiercel::api
