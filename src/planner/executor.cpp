// Running and verifying a plan (include/tiercel/planner/executor.hpp).
#include "tiercel/planner/executor.hpp"

#include "tiercel/pool/fsck.hpp"

namespace tiercel::planner {
namespace {

Result<pool::MaintenanceReport> run_action(pool::Pool& pool, const Plan& plan, const pool::MaintenanceOptions& options) {
    switch (plan.action) {
    case Action::scrub: return pool::scrub_pool(pool, options);
    case Action::heal: return pool::heal_pool(pool, options);
    case Action::drain:
        if (!plan.disk_id)
            return make_error(Errc::invalid_input, "drain plan " + std::to_string(plan.id) + " names no disk");
        return pool::drain_disk(pool, *plan.disk_id, options);
    case Action::rebalance:
    case Action::reprotect: return pool::rebalance_pool(pool, options);
    case Action::hsm_stub: break;
    }
    return make_error(Errc::invalid_input, std::string(to_string(plan.action)) + " cannot run yet: no HSM service");
}

std::string counts(const pool::MaintenanceReport& report) {
    return std::to_string(report.stripes_checked) + " stripes checked, " + std::to_string(report.stripes_changed) +
           " changed, " + std::to_string(report.shards_rebuilt) + " shards rebuilt, " +
           std::to_string(report.shards_copied) + " copied, " + std::to_string(report.shards_bad) + " bad";
}

}  // namespace

std::string verify_plan(pool::Pool& pool, const Plan& plan, const pool::MaintenanceReport& report) {
    if (!report.unrepairable.empty())
        return std::to_string(report.unrepairable.size()) + " stripes unrepairable, first: " + report.unrepairable[0];
    pool::PoolStatus status = pool.status();
    if (status.stripes_lost > 0)
        return std::to_string(status.stripes_lost) + " stripes are lost after the " +
               std::string(to_string(plan.action));
    if (plan.action != Action::scrub && status.stripes_degraded > 0)
        return std::to_string(status.stripes_degraded) + " stripes are still degraded after the " +
               std::string(to_string(plan.action));
    if (plan.action == Action::drain) {
        for (const auto& disk : status.disks)
            if (plan.disk_id && disk.disk_id == *plan.disk_id && (disk.shards > 0 || disk.state != "retired"))
                return disk.name + " still holds " + std::to_string(disk.shards) + " shards (state " + disk.state +
                       ") after the drain";
    }
    if (plan.action != Action::scrub) {
        pool::FsckReport fsck = pool::fsck_pool(pool, /*repair=*/false);
        if (!fsck.data_intact())
            return "fsck after the " + std::string(to_string(plan.action)) + ": " +
                   std::to_string(fsck.missing_shards.size()) + " missing, " +
                   std::to_string(fsck.corrupt_shards.size()) + " corrupt shards, " +
                   std::to_string(fsck.bad_records.size()) + " bad records";
    }
    return {};
}

ExecutionResult execute_plan(pool::Pool& pool, const Plan& plan, const PlannerConfig& config,
                             const std::atomic<bool>* cancel,
                             std::function<void(const pool::MaintenanceProgress&)> on_progress) {
    pool::MaintenanceOptions options;
    options.budget_bytes = plan.budget_bytes;
    options.budget_time = std::chrono::seconds(plan.budget_seconds);
    options.bandwidth_limit = config.bandwidth_limit;
    options.max_latency_ms = config.max_foreground_latency_ms;
    options.cancel = cancel;
    options.on_progress = std::move(on_progress);
    ExecutionResult result;
    auto report = run_action(pool, plan, options);
    if (!report) {
        result.complete = true;
        result.summary = std::string(to_string(plan.action)) + " failed: " + report.error().message();
        return result;
    }
    result.complete = report->complete;
    result.stopped_because = report->stopped_because;
    if (!report->complete) {
        result.summary = std::string(to_string(plan.action)) + " stopped (" + report->stopped_because +
                         ") after " + counts(*report) + "; it resumes where it stopped";
        return result;
    }
    std::string failure = verify_plan(pool, plan, *report);
    result.verified = failure.empty();
    result.summary = failure.empty() ? "verified: " + counts(*report) + "; no stripe degraded or lost" +
                                           (plan.action == Action::scrub ? "" : ", fsck finds every shard intact") +
                                           (plan.action == Action::drain ? ", " + plan.target + " retired empty" : "")
                                     : "verification failed: " + failure;
    return result;
}

}  // namespace tiercel::planner
