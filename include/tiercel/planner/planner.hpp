// Contract: the planner's decision — pure, deterministic, no I/O — so the daemon, `tiercel plan`, the unit tests
// and the one-year simulation all decide the same way from the same facts.
//  - evaluate() lists the candidates that would run now (as proposed Plans, with facts, explanation, budget and
//    expected effect) and every candidate a guard rejected, each with its guard and a reason carrying the numbers.
//  - Candidates: scrub (a full pass every scrub_interval; an unfinished pass continues within the per-run budget),
//    heal (degraded stripes, or shards on an offline disk), drain (a disk at_risk or failing for drain_confirm_polls
//    consecutive polls), rebalance (fill shares spread wider than rebalance_skew), reprotect (a disk joined empty
//    while stripes lack k+m shards on distinct usable disks: the heal that the new disk makes possible; it replaces
//    the heal candidate then and follows heal's approval policy), hsm_stub (a watched filesystem above its high water
//    mark: stub premigrated files coldest first down to the low water mark; a filesystem below it, or with nothing
//    premigrated to stub, is listed as rejected with the numbers).
//  - Guards, checked in this order: confirmation, redundancy (never plan below k+m usable disks, nor k+m usable
//    failure domains for reprotect; no stubbing while pool stripes are degraded or lost), capacity (the
//    others must take the data and keep `reserve` free), duplicate (an open plan for the same action and target),
//    cooldown, one_at_a_time (one disruptive action at a time), throttle (foreground latency above the limit;
//    scrub and rebalance wait, heal, reprotect and drain go ahead but are throttled inside the maintenance
//    operation). hsm_stub does no pool I/O: one_at_a_time and throttle do not hold it.
//  - check_execution() re-checks an approved plan just before it runs. Transient guards (cooldown, one_at_a_time,
//    throttle, and redundancy for hsm_stub: it waits for a heal) make it wait; redundancy and capacity fail it.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tiercel/core/config.hpp"
#include "tiercel/health/risk.hpp"
#include "tiercel/planner/plan.hpp"

namespace tiercel::planner {

struct DiskFacts {
    uint32_t id = 0;
    std::string name;              // "disk3"
    std::string state = "active";  // active | draining | retired
    bool online = true;
    uint64_t capacity = 0;
    uint64_t free_bytes = 0;
    uint64_t shards = 0;
    uint64_t shard_bytes = 0;      // bytes of the shards it holds (what a drain moves)
    double share = 1.0;            // fill relative to its weight (1.0 = exactly its share)
    double latency_ms = 0;
    health::RiskLevel risk = health::RiskLevel::unknown;
    double risk_score = 0;
    int at_risk_polls = 0;
    std::vector<health::RiskFact> risk_explanation;
    std::string failure_domain;    // "" = a domain of its own

    bool usable() const { return online && state == "active"; }
};

// A file the HSM policy would stub (premigrated, unpinned), coldest first.
struct StubFile {
    std::string path;
    uint64_t size = 0;
    int64_t idle_seconds = 0;
};

// One HSM-watched filesystem against its water marks (from hsm::scan()).
struct WatchFacts {
    std::string path;
    uint64_t total_bytes = 0;
    double used_fraction = 0;
    double high_water = 0;
    double low_water = 0;
    uint64_t bytes_to_free = 0;   // to get below low_water
    std::vector<StubFile> stub;   // the policy's choice, coldest first, until bytes_to_free is reached
    std::string error;            // the scan failed (the candidate is rejected with it)
};

struct PoolFacts {
    bool present = false;
    int k = 0;
    int m = 0;
    uint64_t stripes_total = 0;
    uint64_t stripes_degraded = 0;
    uint64_t stripes_lost = 0;
    uint64_t logical_bytes = 0;
    std::vector<DiskFacts> disks;
    // The HSM's watched filesystems (hsm_present = false: no HSM service, so no hsm_stub candidate at all).
    bool hsm_present = false;
    std::vector<WatchFacts> watched;
};

struct PlannerState {
    int64_t now = 0;                 // Unix seconds (a simulated clock in tests)
    int64_t first_seen = 0;          // when the planner first saw this pool (scrub schedule's origin)
    std::optional<int64_t> last_full_scrub;
    bool scrub_unfinished = false;   // the last scrub run stopped at its budget
    std::map<std::string, int64_t> last_run;  // Plan::key() -> when its last run ended
    std::optional<std::string> running;       // what runs now ("drain:disk3 (plan 4)")
    std::map<std::string, int64_t> open;      // Plan::key() -> id of its open plan
    std::set<Action> paused;                  // automation stopped after a failed verification
};

struct Evaluation {
    std::vector<Plan> would_run;
    std::vector<Rejection> rejected;
    std::vector<PlanFact> facts;
};

Evaluation evaluate(const PoolFacts& pool, const PlannerState& state, const PlannerConfig& config);

struct GuardVerdict {
    std::string guard;
    std::string reason;
    bool transient = false;
};
std::optional<GuardVerdict> check_execution(const Plan& plan, const PoolFacts& pool, const PlannerState& state,
                                            const PlannerConfig& config);

bool auto_approves(const PlannerConfig& config, Action action);

}  // namespace tiercel::planner
