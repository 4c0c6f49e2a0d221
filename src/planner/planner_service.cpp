// The planner service (include/tiercel/planner/planner_service.hpp).
#include "tiercel/planner/planner_service.hpp"

#include <filesystem>

#include <boost/asio/post.hpp>

#include "tiercel/core/events.hpp"
#include "tiercel/core/log.hpp"
#include "tiercel/health/health_service.hpp"
#include "tiercel/hsm/hsm_service.hpp"
#include "tiercel/planner/executor.hpp"
#include "tiercel/planner/facts.hpp"
#include "tiercel/pool/maintenance.hpp"
#include "tiercel/pool/pool_service.hpp"

namespace tiercel::planner {
namespace {

constexpr size_t kAuditKept = 2000;

int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::optional<int64_t> parse_int(const std::map<std::string, std::string>& state, const std::string& key) {
    auto it = state.find(key);
    if (it == state.end())
        return std::nullopt;
    try {
        return std::stoll(it->second);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace

PlannerService::PlannerService(Daemon& daemon, pool::PoolService* pool, health::HealthService* health,
                               hsm::HsmService* hsm)
    : daemon_(daemon),
      pool_(pool),
      health_(health),
      hsm_(hsm),
      config_(daemon.config().planner),
      timer_(daemon.loop()),
      job_timer_(daemon.loop()) {}

PlannerService::~PlannerService() { writer_.join(); }

int64_t PlannerService::now() const { return unix_now(); }

std::string PlannerService::store_path() const { return daemon_.config().state_dir + "/planner.db"; }

Status PlannerService::start() {
    std::error_code ignored;
    std::filesystem::create_directories(daemon_.config().state_dir, ignored);
    TIERCEL_ASSIGN(store_, PlanStore::open(store_path()));
    TIERCEL_ASSIGN(auto plans, store_->load_plans());
    TIERCEL_ASSIGN(auto entries, store_->load_audit(kAuditKept));
    TIERCEL_ASSIGN(auto state, store_->load_state());
    audit_.assign(entries.begin(), entries.end());
    for (auto& plan : plans) {
        next_id_ = std::max(next_id_, plan.id + 1);
        plans_[plan.id] = std::move(plan);
    }
    first_seen_ = parse_int(state, "first_seen").value_or(0);
    if (first_seen_ == 0) {
        first_seen_ = now();
        persist_state("first_seen", std::to_string(first_seen_));
    }
    last_full_scrub_ = parse_int(state, "last_full_scrub");
    scrub_unfinished_ = parse_int(state, "scrub_unfinished").value_or(0) != 0;
    for (const auto& [key, value] : state) {
        if (key.rfind("last_run:", 0) == 0)
            last_run_[key.substr(9)] = parse_int(state, key).value_or(0);
        if (key.rfind("paused:", 0) == 0)
            if (auto action = parse_action(key.substr(7)))
                paused_.insert(*action);
    }
    for (auto& [id, plan] : plans_)
        if (plan.state == PlanState::running)
            change(plan, PlanState::approved, "planner", "resumed",
                   "the daemon stopped while it ran; it resumes where the maintenance operation stopped");
    if (health_)
        health_->on_update([this] { tick(); });
    log::info("planner", std::to_string(plans_.size()) + " plans loaded from " + store_path());
    publish_metrics();
    if (config_.enabled)
        schedule();
    return {};
}

void PlannerService::stop() {
    // A running job is the pool service's: it cancels it (progress committed) when it stops after us. The plan stays
    // `running` in the store and resumes at the next start.
    stopping_ = true;
    timer_.cancel();
    job_timer_.cancel();
}

Status PlannerService::reload(const Config& config) {
    config_ = config.planner;
    return {};
}

void PlannerService::schedule() {
    if (stopping_)
        return;
    timer_.expires_after(config_.interval);
    timer_.async_wait([this](const boost::system::error_code& error) {
        if (error)
            return;
        tick();
        schedule();
    });
}

void PlannerService::tick() {
    if (gathering_ || stopping_ || !config_.enabled)
        return;
    gathering_ = true;
    auto health = health_ ? health_->snapshot() : std::vector<health::DiskHealth>{};
    hsm::HsmService* hsm = hsm_ && hsm_->active() ? hsm_ : nullptr;
    boost::asio::post(daemon_.cpu_pool(), [this, health = std::move(health), hsm, hsm_config = daemon_.config().hsm] {
        // Status and fill scan every stripe record: off the loop, with shared access (skipped while a job holds the
        // pool exclusively; the next tick tries again).
        std::optional<PoolFacts> facts;
        std::optional<std::string> busy;
        if (!pool_ || !pool_->configured()) {
            facts = gather_pool_facts(nullptr, health);
        } else if (auto access = pool_->try_access()) {
            facts = gather_pool_facts(access->pool, health);
            if (auto job = pool_->jobs() ? pool_->jobs()->running() : std::nullopt)
                busy = job->operation + " " + job->target + " (maintenance job " + std::to_string(job->id) +
                       ", requested by " + job->requested_by + ")";
        }
        if (facts && hsm) {
            // The HSM's dry run: watched filesystems against their water marks (walks the watched trees).
            facts->hsm_present = true;
            if (auto scan = hsm->space_pass(std::nullopt, 0)) {
                facts->watched = watch_facts(*scan, hsm_config);
            } else {
                for (const auto& path : hsm_config.watch)
                    facts->watched.push_back(WatchFacts{path, 0, 0, hsm_config.high_water, hsm_config.low_water, 0,
                                                        {}, scan.error().message()});
            }
        }
        boost::asio::post(daemon_.loop(), [this, facts = std::move(facts), busy = std::move(busy)]() mutable {
            gathering_ = false;
            if (stopping_ || !facts)
                return;
            facts_ = std::move(*facts);
            busy_job_ = std::move(busy);
            decide();
        });
    });
}

PlannerState PlannerService::planner_state() const {
    PlannerState state;
    state.now = now();
    state.first_seen = first_seen_;
    state.last_full_scrub = last_full_scrub_;
    state.scrub_unfinished = scrub_unfinished_;
    state.last_run = last_run_;
    state.paused = paused_;
    if (running_) {
        if (auto it = plans_.find(*running_); it != plans_.end())
            state.running = it->second.key() + " (plan " + std::to_string(it->first) + ")";
    } else if (busy_job_) {
        state.running = *busy_job_;
    }
    for (const auto& [id, plan] : plans_)
        if (is_open(plan.state))
            state.open[plan.key()] = id;
    return state;
}

Evaluation PlannerService::dry_run() const {
    // A candidate that already has an open plan is shown as that plan (with its id and state), not as a duplicate.
    Evaluation evaluation = evaluate(facts_, planner_state(), config_);
    std::vector<Rejection> rejected;
    for (auto& rejection : evaluation.rejected)
        if (rejection.guard != "duplicate")
            rejected.push_back(std::move(rejection));
    evaluation.rejected = std::move(rejected);
    for (const auto& [id, plan] : plans_)
        if (is_open(plan.state))
            evaluation.would_run.push_back(plan);
    return evaluation;
}

void PlannerService::decide() {
    Evaluation evaluation = evaluate(facts_, planner_state(), config_);
    for (auto& candidate : evaluation.would_run) {
        candidate.id = next_id_++;
        candidate.created = candidate.updated = now();
        auto& plan = plans_[candidate.id] = std::move(candidate);
        record({0, plan.created, plan.id, std::string(to_string(plan.action)), plan.target, "proposed", "planner",
                plan.reason});
        log::notice("planner", "plan " + std::to_string(plan.id) + ": " + plan.key() + " proposed: " + plan.reason);
        if (auto_approves(config_, plan.action) && !paused_.count(plan.action)) {
            plan.auto_approved = true;
            plan.decided_by = "policy";
            plan.decision_reason = "[planner] auto_approve includes " + std::string(to_string(plan.action));
            change(plan, PlanState::approved, "policy", "approved", plan.decision_reason);
        } else {
            persist(plan);
        }
    }
    publish_metrics();
    maybe_execute();
}

void PlannerService::maybe_execute() {
    if (running_ || stopping_)
        return;
    PlannerState state = planner_state();
    for (auto& [id, plan] : plans_) {
        if (plan.state != PlanState::approved)
            continue;
        if (auto verdict = check_execution(plan, facts_, state, config_)) {
            if (verdict->transient)
                continue;  // waits: logged in the dry run's rejected list
            plan.result = verdict->reason;
            change(plan, PlanState::failed, "planner", "failed", verdict->guard + ": " + verdict->reason);
            count_action(plan.action, "refused");
            continue;
        }
        start_run(plan);
        return;
    }
}

void PlannerService::start_run(Plan& plan) {
    if (plan.action == Action::hsm_stub) {
        start_stub(plan);
        return;
    }
    pool::MaintenanceJobs* jobs = pool_ ? pool_->jobs() : nullptr;
    if (!jobs)
        return;
    auto job = jobs->start(job_request(plan, config_));
    if (!job) {
        if (job.error().code() == Errc::busy)
            return;  // a job someone else started runs: wait (one disruptive action at a time)
        plan.result = job.error().message();
        change(plan, PlanState::failed, "planner", "failed", "the job was refused: " + plan.result);
        count_action(plan.action, "refused");
        return;
    }
    running_ = plan.id;
    job_id_ = job->id;
    plan.runs += 1;
    plan.progress = PlanProgress{};
    change(plan, PlanState::running, "planner", "started",
           "run " + std::to_string(plan.runs) + " as maintenance job " + std::to_string(job->id));
    watch_job();
}

void PlannerService::start_stub(Plan& plan) {
    if (!hsm_ || !hsm_->active()) {
        plan.result = "the HSM service is not running";
        change(plan, PlanState::failed, "planner", "failed", plan.result);
        count_action(plan.action, "refused");
        return;
    }
    running_ = plan.id;
    plan.runs += 1;
    change(plan, PlanState::running, "planner", "started",
           "run " + std::to_string(plan.runs) + " as the HSM's space pass on " + plan.target);
    boost::asio::post(daemon_.cpu_pool(), [this, id = plan.id, target = plan.target, budget = plan.budget_bytes,
                                           high = daemon_.config().hsm.high_water] {
        auto after = hsm_->space_pass(target, budget);
        std::string summary;
        bool verified = false;
        if (!after) {
            summary = "the space pass failed: " + after.error().message();
        } else {
            for (const auto& usage : after->watched)
                if (usage.path == target) {
                    char line[200];
                    std::snprintf(line, sizeof line, "%s is %.1f%% used after stubbing (high water %.0f%%)",
                                  target.c_str(), usage.used_fraction * 100, high * 100);
                    verified = usage.total_bytes > 0 && !usage.above_high_water;
                    summary = verified ? std::string("verified: ") + line : std::string("verification failed: ") + line;
                }
            if (summary.empty())
                summary = "verification failed: " + target + " is no longer a watched filesystem";
        }
        boost::asio::post(daemon_.loop(), [this, id, verified, summary] { finish_run(id, true, verified, summary); });
    });
}

void PlannerService::watch_job() {
    job_timer_.expires_after(std::chrono::milliseconds(200));
    job_timer_.async_wait([this](const boost::system::error_code& error) {
        if (!error)
            check_job();
    });
}

void PlannerService::check_job() {
    pool::MaintenanceJobs* jobs = pool_ ? pool_->jobs() : nullptr;
    auto it = running_ ? plans_.find(*running_) : plans_.end();
    if (!jobs || it == plans_.end())
        return;
    auto job = jobs->get(job_id_);
    if (!job) {
        finish_run(it->first, false, false, "maintenance job " + std::to_string(job_id_) + " vanished");
        return;
    }
    PlanProgress progress;
    progress.done_bytes = job->progress.done_bytes;
    progress.total_bytes = job->progress.total_bytes;
    progress.rate = job->rate_bytes_per_s;
    if (progress.rate > 0 && progress.total_bytes >= progress.done_bytes)
        progress.eta_seconds = static_cast<double>(progress.total_bytes - progress.done_bytes) / progress.rate;
    it->second.progress = progress;
    if (job->state == "running") {
        if (!stopping_)
            watch_job();
        return;
    }
    if (job->state != "done") {
        bool incomplete = job->state == "stopped" || job->state == "cancelled";
        std::string summary = incomplete ? "the job stopped (" + job->state + ") after " +
                                               (job->report ? report_counts(*job->report) : std::string("no work")) +
                                               "; it resumes where it stopped"
                                         : "the job failed: " + job->error;
        finish_run(it->first, !incomplete, false, summary);
        return;
    }
    // Verification reads the whole pool (fsck): off the loop, with shared access like every pool user.
    Plan plan = it->second;
    pool::MaintenanceReport report = job->report.value_or(pool::MaintenanceReport{});
    boost::asio::post(daemon_.cpu_pool(), [this, plan, report] {
        std::string failure;
        if (auto access = pool_->access())
            failure = verify_plan(**access, plan, report);
        else
            failure = "cannot reach the pool to verify: " + access.error().message();
        std::string summary = failure.empty()
                                  ? "verified: " + report_counts(report) + "; no stripe degraded or lost" +
                                        (plan.action == Action::scrub ? "" : ", fsck finds every shard intact") +
                                        (plan.action == Action::drain ? ", " + plan.target + " retired empty" : "")
                                  : "verification failed: " + failure;
        boost::asio::post(daemon_.loop(), [this, id = plan.id, verified = failure.empty(), summary] {
            finish_run(id, true, verified, summary);
        });
    });
}

void PlannerService::count_action(Action action, const std::string& result) {
    daemon_.metrics()
        .counter("tiercel_planner_actions_total", "Plans carried out, by action and result",
                 {{"action", std::string(to_string(action))}, {"result", result}})
        .inc();
}

void PlannerService::finish_run(int64_t id, bool complete, bool verified, std::string summary) {
    running_.reset();
    auto it = plans_.find(id);
    if (it == plans_.end())
        return;
    Plan& plan = it->second;
    plan.result = summary;
    std::string action(to_string(plan.action));
    if (!complete) {
        if (plan.action == Action::scrub) {
            scrub_unfinished_ = true;
            persist_state("scrub_unfinished", "1");
        }
        change(plan, PlanState::approved, "planner", "paused", summary);
    } else {
        last_run_[plan.key()] = now();
        persist_state("last_run:" + plan.key(), std::to_string(now()));
        if (plan.action == Action::scrub && verified) {
            last_full_scrub_ = now();
            scrub_unfinished_ = false;
            persist_state("last_full_scrub", std::to_string(*last_full_scrub_));
            persist_state("scrub_unfinished", "0");
        }
        if (plan.progress && plan.progress->total_bytes > 0)
            plan.progress->done_bytes = plan.progress->total_bytes;
        change(plan, verified ? PlanState::verified : PlanState::failed, "planner", verified ? "verified" : "failed",
               summary);
        count_action(plan.action, verified ? "verified" : "failed");
        if (!verified) {
            paused_.insert(plan.action);
            persist_state("paused:" + action, std::to_string(plan.id));
            std::string alert = "plan " + std::to_string(plan.id) + " (" + plan.key() + ") failed: " + summary +
                                "; automation of " + action + " is stopped until a person approves one";
            alerts_.push_back(alert);
            log::error("planner", alert);
            record({0, now(), plan.id, action, plan.target, "automation_stopped", "planner", alert});
        } else if (!plan.auto_approved && paused_.erase(plan.action)) {
            // A person approved one and it verified: automation of the class may resume.
            persist_state("paused:" + action, "");
        }
    }
    publish_metrics();
    if (!stopping_)
        tick();
}

Result<Plan> PlannerService::get(int64_t id) const {
    auto it = plans_.find(id);
    if (it == plans_.end())
        return make_error(Errc::not_found, "no plan " + std::to_string(id));
    return it->second;
}

std::vector<Plan> PlannerService::list(std::optional<PlanState> state) const {
    std::vector<Plan> out;
    for (auto it = plans_.rbegin(); it != plans_.rend(); ++it)
        if (!state || it->second.state == *state)
            out.push_back(it->second);
    return out;
}

std::vector<AuditEntry> PlannerService::audit(int64_t plan_id) const {
    std::vector<AuditEntry> out;
    for (const auto& entry : audit_)
        if (plan_id == 0 || entry.plan_id == plan_id)
            out.push_back(entry);
    return out;
}

Result<Plan> PlannerService::approve(int64_t id, const std::string& actor, const std::string& reason) {
    auto it = plans_.find(id);
    if (it == plans_.end())
        return make_error(Errc::not_found, "no plan " + std::to_string(id));
    Plan& plan = it->second;
    if (plan.state != PlanState::proposed)
        return make_error(Errc::invalid_input, "plan " + std::to_string(id) + " is " +
                                                   std::string(to_string(plan.state)) + ": only a proposed plan can "
                                                   "be approved");
    plan.decided_by = actor;
    plan.decision_reason = reason;
    change(plan, PlanState::approved, actor, "approved", reason.empty() ? "approved by " + actor : reason);
    publish_metrics();
    maybe_execute();
    return plan;
}

Result<Plan> PlannerService::reject(int64_t id, const std::string& actor, const std::string& reason) {
    auto it = plans_.find(id);
    if (it == plans_.end())
        return make_error(Errc::not_found, "no plan " + std::to_string(id));
    Plan& plan = it->second;
    if (plan.state != PlanState::proposed && plan.state != PlanState::approved)
        return make_error(Errc::invalid_input, "plan " + std::to_string(id) + " is " +
                                                   std::string(to_string(plan.state)) +
                                                   ": only a proposed or approved plan can be rejected");
    plan.decided_by = actor;
    plan.decision_reason = reason;
    change(plan, PlanState::rejected, actor, "rejected", reason.empty() ? "rejected by " + actor : reason);
    publish_metrics();
    return plan;
}

void PlannerService::change(Plan& plan, PlanState state, const std::string& actor, const std::string& event,
                            const std::string& detail) {
    plan.state = state;
    plan.updated = now();
    persist(plan);
    record({0, plan.updated, plan.id, std::string(to_string(plan.action)), plan.target, event, actor, detail});
    log::info("planner", "plan " + std::to_string(plan.id) + " " + plan.key() + ": " + event + " (" + actor +
                             "): " + detail);
}

void PlannerService::record(const AuditEntry& entry) {
    events::publish(
        entry.event == "failed" || entry.event == "automation_stopped" ? events::Level::warning : events::Level::info,
        "planner", "plan_" + entry.event,
        "plan " + std::to_string(entry.plan_id) + " " + entry.action + " " + entry.target + ": " + entry.event + " (" +
            entry.actor + "): " + entry.detail,
        {{"plan_id", entry.plan_id}, {"action", entry.action}, {"target", entry.target}, {"actor", entry.actor}});
    audit_.push_back(entry);
    if (audit_.size() > kAuditKept)
        audit_.pop_front();
    boost::asio::post(writer_, [this, entry] {
        if (auto status = store_->append_audit(entry); !status.ok())
            log::error("planner", "audit log: " + status.error().message());
    });
}

void PlannerService::persist(const Plan& plan) {
    boost::asio::post(writer_, [this, plan] {
        if (auto status = store_->save_plan(plan); !status.ok())
            log::error("planner", "plan store: " + status.error().message());
    });
}

void PlannerService::persist_state(const std::string& key, const std::string& value) {
    boost::asio::post(writer_, [this, key, value] {
        auto status = value.empty() ? store_->erase_state(key) : store_->save_state(key, value);
        if (!status.ok())
            log::error("planner", "planner state: " + status.error().message());
    });
}

void PlannerService::publish_metrics() {
    std::map<PlanState, int> counts;
    for (const auto& [id, plan] : plans_)
        counts[plan.state]++;
    for (PlanState state : {PlanState::proposed, PlanState::approved, PlanState::running, PlanState::verified,
                            PlanState::failed, PlanState::rejected})
        daemon_.metrics()
            .gauge("tiercel_plans", "Maintenance plans by state", {{"state", std::string(to_string(state))}})
            .set(counts[state]);
}

}  // namespace tiercel::planner
