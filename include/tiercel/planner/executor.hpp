// Contract: carrying out one approved plan on the pool and checking the result. Blocking: the planner calls it on
// its worker thread, never on the core loop.
//  - The plan's action runs as the pool maintenance operation of the same name (scrub_pool, heal_pool, drain_disk,
//    rebalance_pool) with the plan's budget, the [planner] bandwidth limit and latency back-off, and `cancel`.
//  - A run stopped by its budget is `complete = false` and not verified yet (the plan resumes).
//  - Verification after a complete run: no stripe lost or left degraded, nothing unrepairable, a drained disk
//    retired and holding no shard, and (for heal, drain, rebalance) an fsck pass that finds every shard intact.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "tiercel/core/config.hpp"
#include "tiercel/planner/plan.hpp"
#include "tiercel/pool/maintenance.hpp"

namespace tiercel::planner {

struct ExecutionResult {
    bool complete = false;   // false: stopped by budget or cancel
    bool verified = false;   // complete and every check passed
    std::string summary;     // what was done and checked, or why it failed
    std::string stopped_because;
};

ExecutionResult execute_plan(pool::Pool& pool, const Plan& plan, const PlannerConfig& config,
                             const std::atomic<bool>* cancel,
                             std::function<void(const pool::MaintenanceProgress&)> on_progress);

// The checks alone, after `report` (exposed for tests).
std::string verify_plan(pool::Pool& pool, const Plan& plan, const pool::MaintenanceReport& report);

}  // namespace tiercel::planner
