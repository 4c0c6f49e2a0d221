// Running and verifying a plan (include/tiercel/planner/executor.hpp).
#include "tiercel/planner/executor.hpp"

#include "tiercel/pool/fsck.hpp"

namespace tiercel::planner {

pool::JobRequest job_request(const Plan& plan, const PlannerConfig& config) {
    pool::JobRequest request;
    // reprotect is the heal that a newly added disk makes possible (planner.cpp): heal places each missing shard away
    // from the stripe's other disks and failure domains, so the new disk takes them.
    request.operation = plan.action == Action::reprotect ? "heal" : std::string(to_string(plan.action));
    if (plan.disk_id)
        request.disk = std::to_string(*plan.disk_id);
    request.options.budget_bytes = plan.budget_bytes;
    request.options.budget_time = std::chrono::seconds(plan.budget_seconds);
    request.options.bandwidth_limit = config.bandwidth_limit;
    request.options.max_latency_ms = config.max_foreground_latency_ms;
    request.requested_by = "plan " + std::to_string(plan.id);
    return request;
}

std::string report_counts(const pool::MaintenanceReport& report) {
    return std::to_string(report.stripes_checked) + " stripes checked, " + std::to_string(report.stripes_changed) +
           " changed, " + std::to_string(report.shards_rebuilt) + " shards rebuilt, " +
           std::to_string(report.shards_copied) + " copied, " + std::to_string(report.shards_bad) + " bad";
}

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

}  // namespace tiercel::planner
