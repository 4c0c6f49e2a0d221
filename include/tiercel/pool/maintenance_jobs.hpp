// Contract: maintenance inside the daemon. While `tiercel serve` holds the pool, the CLI's scrub, fsck, heal, drain,
// replace, remove, add-disk and rebalance become jobs here (POST /api/v1/pool/jobs), and so do the planner's approved
// plans, so they share one rule: one maintenance job at a time (start() refuses with Errc::busy naming the job that
// runs). A job runs on its own thread, never on the core loop; its progress, report and outcome are kept for the
// last 50 jobs (in memory: the durable record of a job's progress is the pool's own "m/<operation>" resume key).
//  - Cancelling stops the job after the stripes in flight, with its progress committed; starting it again resumes.
//  - Shutdown cancels the running job and waits for it.
//  - Access gate: operations that change the member list (add-disk, remove, replace) and `fsck --repair` (which
//    deletes orphans an in-flight write may still own) hold the PoolService gate exclusively; everything else holds
//    it shared, like every other user of the pool in the daemon.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tiercel/pool/maintenance.hpp"

namespace tiercel::pool {

struct JobRequest {
    std::string operation;  // scrub | heal | drain | rebalance | replace | remove | add-disk | fsck
    std::string disk;       // drain, replace, remove: disk id, diskN or configured path
    // add-disk and replace: the new disk.
    std::string path;
    std::string tier;
    std::string failure_domain;
    uint64_t capacity = 0;
    bool force = false;
    bool repair = false;  // fsck
    MaintenanceOptions options;  // budgets and throttling; the runner sets cancel and on_progress
    std::string requested_by;    // "cli (uid 0)", "plan 12", ...
};

// A budget is a size ("10G": budget_bytes) or a duration ("30m": budget_time); "" leaves both unlimited.
Status parse_budget(const std::string& text, MaintenanceOptions& options);

// Parses a job request from the REST API's JSON body; every bad field is named.
Result<JobRequest> job_request_from_json(const nlohmann::json& body);

struct JobState {
    uint64_t id = 0;
    std::string operation;
    std::string target;  // the disk or path it works on, or "pool"
    std::string state;   // running | done | stopped (budget) | cancelled | failed
    std::string requested_by;
    MaintenanceProgress progress;
    double rate_bytes_per_s = 0;
    std::optional<MaintenanceReport> report;
    nlohmann::json result;  // fsck findings, add-disk's new disk id
    std::string error;      // failed: why
    std::chrono::system_clock::time_point started;
    std::optional<std::chrono::system_clock::time_point> finished;
    bool finished_ok() const { return state == "done"; }
};

nlohmann::json to_json(const JobState& job);

class MaintenanceJobs {
public:
    MaintenanceJobs(Pool& pool, std::shared_mutex& gate) : pool_(pool), gate_(gate) {}
    ~MaintenanceJobs() { shutdown(); }
    MaintenanceJobs(const MaintenanceJobs&) = delete;
    MaintenanceJobs& operator=(const MaintenanceJobs&) = delete;

    Result<JobState> start(JobRequest request);
    std::optional<JobState> get(uint64_t id) const;
    std::vector<JobState> list() const;  // newest first
    std::optional<JobState> running() const;
    Status cancel(uint64_t id);
    // Blocks until job `id` has finished or `timeout` passes; returns its state.
    std::optional<JobState> wait(uint64_t id, std::chrono::milliseconds timeout) const;
    void shutdown();

private:
    struct Job;
    void run(std::shared_ptr<Job> job);
    Result<MaintenanceReport> execute(Job& job);
    MaintenanceReport run_fsck(Job& job, bool repair);

    Pool& pool_;
    std::shared_mutex& gate_;
    mutable std::mutex mutex_;
    mutable std::condition_variable finished_cv_;
    std::deque<std::shared_ptr<Job>> jobs_;  // newest first
    std::shared_ptr<Job> active_;
    std::thread worker_;
    uint64_t next_id_ = 1;
};

}  // namespace tiercel::pool
