// Contract: a maintenance plan — one action on one target, the facts it used, the candidates rejected beside it,
// its budget and expected effect — and its lifecycle:
//   proposed -> approved -> running -> verified | failed;  proposed | approved -> rejected.
// A run stopped by its budget goes back to approved and resumes (maintenance operations keep their progress).
// The JSON shape (to_json) is the REST API's and `tiercel plan --json`'s (docs/openapi.yaml, schema Plan).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tiercel/core/error.hpp"

namespace tiercel::planner {

enum class Action { scrub, heal, drain, rebalance, hsm_stub, reprotect };
enum class PlanState { proposed, approved, running, verified, failed, rejected };

std::string_view to_string(Action action);
std::string_view to_string(PlanState state);
Result<Action> parse_action(std::string_view text);
Result<PlanState> parse_plan_state(std::string_view text);
// scrub and heal only read or restore; drain, rebalance, reprotect and hsm_stub move data.
bool is_open(PlanState state);  // proposed, approved or running

struct PlanFact {
    std::string fact;
    std::string value;
    std::string detail;
};

struct Rejection {
    std::string action;
    std::string target;
    std::string guard;   // confirmation | redundancy | capacity | cooldown | one_at_a_time | throttle | duplicate |
                         // paused | no_pressure | nothing_to_stub | facts (hsm_stub)
    std::string reason;  // for people, with the numbers
};

struct PlanProgress {
    uint64_t done_bytes = 0;
    uint64_t total_bytes = 0;
    double rate = 0;  // bytes per second
    std::optional<double> eta_seconds;
};

struct Plan {
    int64_t id = 0;
    Action action = Action::scrub;
    std::string target;  // "pool" or a disk name ("disk3")
    std::optional<uint32_t> disk_id;
    PlanState state = PlanState::proposed;
    std::string reason;
    std::vector<PlanFact> facts;
    std::vector<std::string> explanation;
    std::vector<Rejection> rejected_candidates;
    uint64_t budget_bytes = 0;    // 0 = no limit
    int64_t budget_seconds = 0;   // 0 = no limit
    std::string expected_effect;
    std::optional<PlanProgress> progress;
    int64_t created = 0;  // Unix seconds
    int64_t updated = 0;
    std::string decided_by;       // "policy", "api", "cli:<uid>" ...
    std::string decision_reason;
    bool auto_approved = false;
    std::string result;           // the verification summary, or why it failed
    int runs = 0;

    std::string key() const;  // "drain:disk3": at most one open plan per key
};

nlohmann::json to_json(const Plan& plan);
nlohmann::json to_json(const Rejection& rejection);
nlohmann::json to_json(const PlanFact& fact);
Result<Plan> plan_from_json(const nlohmann::json& json);

}  // namespace tiercel::planner
