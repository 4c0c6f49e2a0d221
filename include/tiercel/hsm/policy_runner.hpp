// Contract: the daemon acting on the HSM policy by itself.
//  - start() returns at once; a worker thread (never the core loop, so readiness is not delayed) starts change
//    tracking (change_tracker.hpp), then walks every watched tree once to fill the index (candidate_index.hpp).
//  - Changes are applied to the index as they come (within about a second): a file changed after it was premigrated
//    becomes "dirty" (xattr and catalog), a renamed archived file keeps its catalog row. A kernel queue overflow
//    means a full rescan (logged). Without a notification group (old kernel, filesystem without file handles) the
//    runner says why and rescans the trees at every pass instead.
//  - Every `scan_interval` a pass evaluates the index (not the trees): files the rules select are premigrated to the
//    rule's copies; when a watched filesystem is above high_water its premigrated files are stubbed, coldest first,
//    until the estimated usage is below low_water (stubbing goes through `mark`, the running interceptor's) — unless
//    `stub_under_pressure` is off, which the daemon does when its planner runs: stubbing is then an hsm_stub plan a
//    person (or the planner's auto-approval policy) approves, and the pass only premigrates and prunes; old
//    versions beyond retention are pruned. Each chosen file is looked at again (lstat, xattr) right before acting,
//    since reads update atime without an event. Pinned files are never touched; a file that changes during
//    archiving is left alone (the archiver checks).
//  - Every action is logged with the decision's reason, each pass with a one-line summary; status() reports both.
// Archiving actions hold `archive_mutex` (shared with the daemon's API job thread), so two never run at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "tiercel/hsm/archiver.hpp"
#include "tiercel/hsm/candidate_index.hpp"
#include "tiercel/hsm/change_tracker.hpp"

namespace tiercel::hsm {

struct PassStats {
    int64_t at_ns = 0;
    double seconds = 0;
    uint64_t evaluated = 0, premigrated = 0, premigrated_bytes = 0, premigrate_failed = 0;
    uint64_t stubbed = 0, stubbed_bytes = 0, stub_failed = 0;
    uint64_t versions_pruned = 0, pruned_bytes = 0;
};

class PolicyRunner {
public:
    PolicyRunner(const HsmConfig& config, Catalog catalog, Targets& targets, MarkFn mark, std::mutex& archive_mutex,
                 bool stub_under_pressure = true);
    ~PolicyRunner();
    void start();
    void stop();

    // One water-mark pass now (stubbing only), on the caller's thread; waits for a running pass to end.
    Status space_pass();
    nlohmann::json status() const;

private:
    void run();
    void full_scan();
    void index_tree(const std::string& root);
    void apply_changes();
    void refresh(const std::string& path);
    void mark_dirty(const std::string& path);
    void pass();
    void premigrate_phase(PassStats& stats);
    void stub_phase(PassStats& stats);
    void explain(const Decision& decision, const std::string& outcome);
    std::map<std::string, bool> pinned_paths();
    bool stopping() const;
    bool tracking();

    const HsmConfig& config_;
    Catalog catalog_;
    Targets& targets_;
    MarkFn mark_;
    bool stub_under_pressure_;
    std::mutex& archive_mutex_;
    std::unique_ptr<ChangeTracker> tracker_;

    std::mutex work_mutex_;  // held while the index is used or a pass runs (worker, space_pass())
    CandidateIndex index_;

    mutable std::mutex mutex_;  // guards everything below: short holds only, so status() never waits for a pass
    std::condition_variable wake_;
    bool stopping_ = false, changes_ = false;
    size_t index_size_ = 0;
    std::string mode_ = "starting", fallback_reason_;
    uint64_t full_scans_ = 0, changes_applied_ = 0, overflows_ = 0, marked_dirty_ = 0, passes_ = 0;
    double last_full_scan_seconds_ = 0;
    PassStats last_pass_;
    std::chrono::system_clock::time_point next_pass_;
    std::deque<nlohmann::json> decisions_;  // the most recent actions with their reasons
    std::thread worker_;
};

}  // namespace tiercel::hsm
