// Plan names and JSON (include/tiercel/planner/plan.hpp).
#include "tiercel/planner/plan.hpp"

#include <array>

namespace tiercel::planner {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 6> kActions{"scrub", "heal", "drain", "rebalance", "hsm_stub", "reprotect"};
constexpr std::array<std::string_view, 6> kStates{"proposed", "approved", "running", "verified", "failed", "rejected"};

template <typename T>
T value_or(const json& object, const char* key, T fallback) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null())
        return fallback;
    return it->get<T>();
}

}  // namespace

std::string_view to_string(Action action) { return kActions[static_cast<size_t>(action)]; }
std::string_view to_string(PlanState state) { return kStates[static_cast<size_t>(state)]; }

Result<Action> parse_action(std::string_view text) {
    for (size_t i = 0; i < kActions.size(); ++i)
        if (kActions[i] == text)
            return static_cast<Action>(i);
    return make_error(Errc::invalid_input, "unknown action '" + std::string(text) +
                                               "' (scrub, heal, drain, rebalance, hsm_stub, reprotect)");
}

Result<PlanState> parse_plan_state(std::string_view text) {
    for (size_t i = 0; i < kStates.size(); ++i)
        if (kStates[i] == text)
            return static_cast<PlanState>(i);
    return make_error(Errc::invalid_input, "unknown plan state '" + std::string(text) +
                                               "' (proposed, approved, running, verified, failed, rejected)");
}

bool is_open(PlanState state) {
    return state == PlanState::proposed || state == PlanState::approved || state == PlanState::running;
}

std::string Plan::key() const { return std::string(to_string(action)) + ":" + target; }

json to_json(const PlanFact& fact) { return {{"fact", fact.fact}, {"value", fact.value}, {"detail", fact.detail}}; }

json to_json(const Rejection& rejection) {
    return {{"action", rejection.action},
            {"target", rejection.target},
            {"guard", rejection.guard},
            {"reason", rejection.reason}};
}

json to_json(const Plan& plan) {
    json facts = json::array();
    for (const auto& fact : plan.facts)
        facts.push_back(to_json(fact));
    json rejected = json::array();
    for (const auto& rejection : plan.rejected_candidates)
        rejected.push_back(to_json(rejection));
    json progress = nullptr;
    if (plan.progress)
        progress = {{"done_bytes", plan.progress->done_bytes},
                    {"total_bytes", plan.progress->total_bytes},
                    {"rate", plan.progress->rate},
                    {"eta_seconds", plan.progress->eta_seconds ? json(*plan.progress->eta_seconds) : json(nullptr)}};
    return {{"id", plan.id},
            {"action", to_string(plan.action)},
            {"target", plan.target},
            {"disk_id", plan.disk_id ? json(*plan.disk_id) : json(nullptr)},
            {"state", to_string(plan.state)},
            {"reason", plan.reason},
            {"facts", facts},
            {"explanation", plan.explanation},
            {"rejected_candidates", rejected},
            {"budget", {{"bytes", plan.budget_bytes}, {"seconds", plan.budget_seconds}}},
            {"expected_effect", plan.expected_effect},
            {"progress", progress},
            {"created", plan.created},
            {"updated", plan.updated},
            {"decided_by", plan.decided_by},
            {"decision_reason", plan.decision_reason},
            {"auto_approved", plan.auto_approved},
            {"result", plan.result},
            {"runs", plan.runs}};
}

Result<Plan> plan_from_json(const json& in) {
    try {
        Plan plan;
        plan.id = in.at("id").get<int64_t>();
        TIERCEL_ASSIGN(plan.action, parse_action(in.at("action").get<std::string>()));
        TIERCEL_ASSIGN(plan.state, parse_plan_state(in.at("state").get<std::string>()));
        plan.target = in.at("target").get<std::string>();
        if (in.contains("disk_id") && !in["disk_id"].is_null())
            plan.disk_id = in["disk_id"].get<uint32_t>();
        plan.reason = value_or<std::string>(in, "reason", "");
        for (const auto& fact : in.value("facts", json::array()))
            plan.facts.push_back({fact.value("fact", ""), fact.value("value", ""), fact.value("detail", "")});
        plan.explanation = in.value("explanation", std::vector<std::string>{});
        for (const auto& r : in.value("rejected_candidates", json::array()))
            plan.rejected_candidates.push_back(
                {r.value("action", ""), r.value("target", ""), r.value("guard", ""), r.value("reason", "")});
        if (in.contains("budget")) {
            plan.budget_bytes = in["budget"].value("bytes", uint64_t{0});
            plan.budget_seconds = in["budget"].value("seconds", int64_t{0});
        }
        plan.expected_effect = value_or<std::string>(in, "expected_effect", "");
        if (in.contains("progress") && in["progress"].is_object()) {
            PlanProgress progress;
            progress.done_bytes = in["progress"].value("done_bytes", uint64_t{0});
            progress.total_bytes = in["progress"].value("total_bytes", uint64_t{0});
            progress.rate = in["progress"].value("rate", 0.0);
            if (in["progress"].contains("eta_seconds") && in["progress"]["eta_seconds"].is_number())
                progress.eta_seconds = in["progress"]["eta_seconds"].get<double>();
            plan.progress = progress;
        }
        plan.created = value_or<int64_t>(in, "created", 0);
        plan.updated = value_or<int64_t>(in, "updated", 0);
        plan.decided_by = value_or<std::string>(in, "decided_by", "");
        plan.decision_reason = value_or<std::string>(in, "decision_reason", "");
        plan.auto_approved = value_or<bool>(in, "auto_approved", false);
        plan.result = value_or<std::string>(in, "result", "");
        plan.runs = value_or<int>(in, "runs", 0);
        return plan;
    } catch (const json::exception& error) {
        return make_error(Errc::corruption, std::string("a stored plan does not decode: ") + error.what());
    }
}

}  // namespace tiercel::planner
