// Contract: running a pool maintenance command inside the daemon. run_daemon_job() starts the job
// (POST /api/v1/pool/jobs), draws its progress on stderr (a bar on a TTY, JSON lines with json_progress), asks the
// daemon to cancel it once `cancel` becomes true (Ctrl-C), and returns the job's final JSON (pool::to_json(JobState)
// shape) when it has finished, was stopped by its budget, or was cancelled. A refusal (another job runs, bad
// request) is returned as the daemon's error.
#pragma once

#include <atomic>

#include <nlohmann/json.hpp>

#include "tiercel/core/config.hpp"
#include "tiercel/core/error.hpp"

namespace tiercel::cli {

Result<nlohmann::json> run_daemon_job(const Config& config, const nlohmann::json& request, bool json_progress,
                                      const std::atomic<bool>& cancel);

}  // namespace tiercel::cli
