// Test support for the planner: a pool of directory-free facts (no disks needed) and lookups in an Evaluation.
#pragma once

#include <string>

#include "tiercel/planner/planner.hpp"

namespace tiercel::testing {

// `disks` healthy active disks of `capacity` bytes, half full, in a k+m pool with `stripes` stripes.
inline planner::PoolFacts healthy_pool(int disks = 8, int k = 4, int m = 2, uint64_t capacity = 1ULL << 40) {
    planner::PoolFacts pool;
    pool.present = true;
    pool.k = k;
    pool.m = m;
    pool.stripes_total = 1000;
    for (int i = 0; i < disks; ++i) {
        planner::DiskFacts disk;
        disk.id = static_cast<uint32_t>(i);
        disk.name = "disk" + std::to_string(i);
        disk.capacity = capacity;
        disk.free_bytes = capacity / 2;
        disk.shard_bytes = capacity / 2;
        disk.shards = 500;
        disk.share = 1.0;
        disk.latency_ms = 5;
        disk.risk = health::RiskLevel::ok;
        pool.disks.push_back(disk);
    }
    return pool;
}

inline void mark_at_risk(planner::DiskFacts& disk, int polls) {
    disk.risk = health::RiskLevel::at_risk;
    disk.risk_score = 0.6;
    disk.at_risk_polls = polls;
    disk.risk_explanation = {{"ata.5", 0.6, "attribute 5 Reallocated_Sector_Ct (reallocated sectors) raw 56, rising "
                                            "over 3 consecutive polls (8 -> 24 -> 40 -> 56)"}};
}

inline planner::PlannerState fresh_state(int64_t now = 1'000'000) {
    planner::PlannerState state;
    state.now = now;
    state.first_seen = now;
    return state;
}

inline const planner::Rejection* rejected(const planner::Evaluation& evaluation, const std::string& action,
                                          const std::string& target) {
    for (const auto& rejection : evaluation.rejected)
        if (rejection.action == action && rejection.target == target)
            return &rejection;
    return nullptr;
}

inline const planner::Plan* proposed(const planner::Evaluation& evaluation, planner::Action action,
                                     const std::string& target) {
    for (const auto& plan : evaluation.would_run)
        if (plan.action == action && plan.target == target)
            return &plan;
    return nullptr;
}

}  // namespace tiercel::testing
