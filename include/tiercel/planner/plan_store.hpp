// Contract: the planner's durable state in SQLite (<state_dir>/planner.db, schema in docs/formats.md): every plan
// (its JSON body plus indexed columns), an append-only audit log of every decision (proposed, approved, rejected,
// started, finished, verified, failed, resumed, automation stopped) and a small key/value table for the schedule
// (first_seen, last_full_scrub, last_run:<key>, paused:<action>). Kept across restarts.
// Blocking and single-threaded (one connection): the daemon calls it from its dedicated writer thread only.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tiercel/core/sqlite.hpp"
#include "tiercel/planner/plan.hpp"

namespace tiercel::planner {

struct AuditEntry {
    int64_t seq = 0;
    int64_t time = 0;
    int64_t plan_id = 0;  // 0: not about one plan (automation stopped, ...)
    std::string action;
    std::string target;
    std::string event;
    std::string actor;   // "planner", "policy", "api", "cli", ...
    std::string detail;
};
nlohmann::json to_json(const AuditEntry& entry);

class PlanStore {
public:
    static Result<std::unique_ptr<PlanStore>> open(const std::string& path);

    Result<std::vector<Plan>> load_plans();
    Result<std::vector<AuditEntry>> load_audit(size_t limit);
    Result<std::map<std::string, std::string>> load_state();

    Status save_plan(const Plan& plan);
    Status append_audit(const AuditEntry& entry);
    Status save_state(const std::string& key, const std::string& value);
    Status erase_state(const std::string& key);

private:
    explicit PlanStore(sqlite::Database db) : db_(std::move(db)) {}
    sqlite::Database db_;
};

}  // namespace tiercel::planner
