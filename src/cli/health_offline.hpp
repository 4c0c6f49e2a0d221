// CLI-internal: one SMART poll without a daemon, for `tiercel disks` and `tiercel plan` when no daemon runs.
// It opens the pool (taking its lock) when [pool] is configured, so disk ids match the daemon's ("disk3").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tiercel/core/config.hpp"
#include "tiercel/health/health_model.hpp"
#include "tiercel/pool/pool_from_config.hpp"

namespace tiercel::cli {

struct OfflineHealth {
    std::unique_ptr<pool::PoolHandle> pool;  // null when no pool is configured or it could not be opened
    std::string pool_problem;                // why `pool` is null although [pool] is configured
    std::vector<health::DiskHealth> disks;
};

OfflineHealth poll_health_offline(const Config& config);

}  // namespace tiercel::cli
