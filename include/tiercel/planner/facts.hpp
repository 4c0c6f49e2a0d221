// Contract: the planner's view of the pool — status, fill per disk and each disk's risk — gathered in one place for
// the daemon and the offline `tiercel plan`. It scans every stripe record (status and fill): call it off the loop.
// A null pool gives PoolFacts{present = false}. watch_facts() turns the HSM's space scan (hsm::scan, through
// HsmService::space_pass) into the planner's view of each watched filesystem: usage, water marks, and the files the
// policy would stub there, coldest first.
#pragma once

#include <vector>

#include "tiercel/health/health_model.hpp"
#include "tiercel/hsm/policy.hpp"
#include "tiercel/planner/planner.hpp"
#include "tiercel/pool/pool.hpp"

namespace tiercel::planner {

PoolFacts gather_pool_facts(pool::Pool* pool, const std::vector<health::DiskHealth>& health);

std::vector<WatchFacts> watch_facts(const hsm::ScanReport& scan, const HsmConfig& config);

}  // namespace tiercel::planner
