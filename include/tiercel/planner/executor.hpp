// Contract: how an approved plan becomes a pool maintenance job, and how its result is checked.
//  - job_request(): the plan's action as the MaintenanceJobs operation of the same name (reprotect runs as a
//    heal; hsm_stub is no pool job: the planner service runs it through the HSM service), with the plan's budget,
//    the [planner] bandwidth limit and the latency back-off. Plans and
//    user-started jobs share the job runner, so one disruptive action runs at a time.
//  - verify_plan() after a job finished its work (blocking: it reads pool status and, except after a scrub, runs an
//    fsck pass over every shard): nothing unrepairable, no stripe lost or left degraded, a drained disk retired and
//    holding no shard, and fsck finding every shard intact. Returns "" when verified, else what failed.
#pragma once

#include <string>

#include "tiercel/core/config.hpp"
#include "tiercel/planner/plan.hpp"
#include "tiercel/pool/maintenance_jobs.hpp"

namespace tiercel::planner {

pool::JobRequest job_request(const Plan& plan, const PlannerConfig& config);

std::string verify_plan(pool::Pool& pool, const Plan& plan, const pool::MaintenanceReport& report);

// "11 stripes checked, 11 changed, 0 shards rebuilt, 11 copied, 0 bad"
std::string report_counts(const pool::MaintenanceReport& report);

}  // namespace tiercel::planner
