// Contract: the planner as a daemon service, on the core loop.
//  - Every [planner] interval and after each SMART poll it gathers facts (the pool's status and fill, read on the CPU
//    pool because they scan the stripe records, and each disk's risk from the HealthService), runs evaluate(),
//    records new candidates as proposed plans, and approves those whose class [planner] auto_approve names (unless
//    automation of that class is stopped).
//  - With an HSM service (hsm may be null or idle) each gathering also runs its space scan (HsmService::space_pass,
//    walking the watched trees) for the hsm_stub candidate; an approved hsm_stub plan runs through space_pass and is
//    verified when its filesystem is no longer above its high water mark.
//  - Approved plans run as the pool's maintenance jobs (pool/maintenance_jobs.hpp, shared with jobs people start, so
//    one disruptive action runs at a time); the loop polls the job's progress. After a complete run the plan is
//    verified (executor.hpp, on the CPU pool) or failed; a failed verification stops automation for that action class
//    (its plans then need a person) and raises an alert (log at error level, GET /api/v1/plans "alerts").
//  - Every decision is appended to the audit log in <state_dir>/planner.db (plan_store.hpp) by a dedicated writer
//    thread; plans and the schedule survive restarts, and a plan that was running when the daemon stopped resumes.
//  - approve(), reject(), dry_run(), list() and get() are for the loop thread (the REST routes).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "tiercel/core/daemon.hpp"
#include "tiercel/core/service.hpp"
#include "tiercel/planner/plan_store.hpp"
#include "tiercel/planner/planner.hpp"

namespace tiercel::pool {
class PoolService;
}
namespace tiercel::health {
class HealthService;
}
namespace tiercel::hsm {
class HsmService;
}

namespace tiercel::planner {

class PlannerService : public Service {
public:
    PlannerService(Daemon& daemon, pool::PoolService* pool, health::HealthService* health,
                   hsm::HsmService* hsm = nullptr);
    ~PlannerService() override;
    std::string_view name() const override { return "planner"; }
    Status start() override;
    void stop() override;
    Status reload(const Config& config) override;

    // evaluate() on the latest facts; open plans are listed in would_run with their id and state.
    Evaluation dry_run() const;
    std::vector<Plan> list(std::optional<PlanState> state) const;
    Result<Plan> get(int64_t id) const;
    std::vector<AuditEntry> audit(int64_t plan_id) const;  // 0: every entry kept in memory
    const std::vector<std::string>& alerts() const { return alerts_; }
    Result<Plan> approve(int64_t id, const std::string& actor, const std::string& reason);
    Result<Plan> reject(int64_t id, const std::string& actor, const std::string& reason);
    // Gathers facts and decides now (after approve, and for tests).
    void tick();

private:
    void schedule();
    void decide();
    void maybe_execute();
    void start_run(Plan& plan);
    void start_stub(Plan& plan);
    void watch_job();
    void check_job();
    void count_action(Action action, const std::string& result);
    void finish_run(int64_t id, bool complete, bool verified, std::string summary);
    PlannerState planner_state() const;
    void change(Plan& plan, PlanState state, const std::string& actor, const std::string& event,
                const std::string& detail);
    void record(const AuditEntry& entry);
    void persist(const Plan& plan);
    void persist_state(const std::string& key, const std::string& value);
    void publish_metrics();
    int64_t now() const;
    std::string store_path() const;

    Daemon& daemon_;
    pool::PoolService* pool_;
    health::HealthService* health_;
    hsm::HsmService* hsm_;
    PlannerConfig config_;
    boost::asio::steady_timer timer_;
    boost::asio::steady_timer job_timer_;  // polls the running job's progress
    boost::asio::thread_pool writer_{1};  // every SQLite call runs here, in order
    std::unique_ptr<PlanStore> store_;
    std::map<int64_t, Plan> plans_;
    std::deque<AuditEntry> audit_;
    int64_t next_id_ = 1;
    PoolFacts facts_;
    bool gathering_ = false;
    int64_t first_seen_ = 0;
    std::optional<int64_t> last_full_scrub_;
    bool scrub_unfinished_ = false;
    std::map<std::string, int64_t> last_run_;
    std::set<Action> paused_;
    std::vector<std::string> alerts_;
    std::optional<int64_t> running_;   // the plan whose job runs
    uint64_t job_id_ = 0;
    std::optional<std::string> busy_job_;  // a job someone else started, as of the last facts
    bool stopping_ = false;
};

}  // namespace tiercel::planner
