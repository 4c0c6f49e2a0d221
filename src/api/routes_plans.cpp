// Plan routes: list, detail (with its audit trail), dry run, approve, reject.
#include "tiercel/api/api.hpp"
#include "tiercel/api/body.hpp"
#include "tiercel/planner/planner_service.hpp"

namespace tiercel::api {
namespace {

using nlohmann::json;

Response no_planner(unsigned version) {
    return error_response(http::status::not_found, "no_planner", "the daemon runs no planner", version);
}

Result<int64_t> plan_id(const RequestContext& request) {
    try {
        size_t used = 0;
        const std::string& text = request.params.at("id");
        int64_t id = std::stoll(text, &used);
        if (used == text.size() && id > 0)
            return id;
    } catch (const std::exception&) {
    }
    return make_error(Errc::invalid_input, "the plan id must be a positive number");
}

std::string string_field(const json& body, const char* key, const std::string& fallback) {
    auto it = body.find(key);
    return it != body.end() && it->is_string() ? it->get<std::string>() : fallback;
}

json evaluation_json(const planner::Evaluation& evaluation) {
    json would_run = json::array(), rejected = json::array(), facts = json::array();
    for (const auto& plan : evaluation.would_run)
        would_run.push_back(planner::to_json(plan));
    for (const auto& rejection : evaluation.rejected)
        rejected.push_back(planner::to_json(rejection));
    for (const auto& fact : evaluation.facts)
        facts.push_back(planner::to_json(fact));
    return {{"would_run", would_run}, {"rejected", rejected}, {"facts", facts}};
}

using Decide = Result<planner::Plan> (planner::PlannerService::*)(int64_t, const std::string&, const std::string&);

Response decide(ApiContext& context, RequestContext& request, Decide method) {
    unsigned version = request.request.version();
    if (!context.planner)
        return no_planner(version);
    auto id = plan_id(request);
    if (!id)
        return error_response(id.error(), version);
    auto body = json_object_body(request, true);
    if (!body)
        return error_response(body.error(), version);
    auto plan = (context.planner->*method)(*id, string_field(*body, "by", "api"), string_field(*body, "reason", ""));
    if (!plan)
        return error_response(plan.error(), version);
    return json_response(http::status::ok, planner::to_json(*plan), version);
}

}  // namespace

void register_plan_routes(Router& router, ApiContext& context) {
    router.add(http::verb::get, "/api/v1/plans", Access::read, [&context](RequestContext& request) {
        unsigned version = request.request.version();
        if (!context.planner)
            return no_planner(version);
        std::optional<planner::PlanState> state;
        if (auto it = request.query.find("state"); it != request.query.end()) {
            auto parsed = planner::parse_plan_state(it->second);
            if (!parsed)
                return error_response(parsed.error(), version);
            state = *parsed;
        }
        json plans = json::array();
        for (const auto& plan : context.planner->list(state))
            plans.push_back(planner::to_json(plan));
        return json_response(http::status::ok, {{"plans", plans}, {"alerts", context.planner->alerts()}}, version);
    });
    router.add(http::verb::get, "/api/v1/plans/{id}", Access::read, [&context](RequestContext& request) {
        unsigned version = request.request.version();
        if (!context.planner)
            return no_planner(version);
        auto id = plan_id(request);
        if (!id)
            return error_response(id.error(), version);
        auto plan = context.planner->get(*id);
        if (!plan)
            return error_response(plan.error(), version);
        json out = planner::to_json(*plan);
        out["audit"] = json::array();
        for (const auto& entry : context.planner->audit(*id))
            out["audit"].push_back(planner::to_json(entry));
        return json_response(http::status::ok, out, version);
    });
    router.add(http::verb::post, "/api/v1/plans/dry-run", Access::read, [&context](RequestContext& request) {
        if (!context.planner)
            return no_planner(request.request.version());
        return json_response(http::status::ok, evaluation_json(context.planner->dry_run()), request.request.version());
    });
    router.add(http::verb::post, "/api/v1/plans/{id}/approve", Access::mutation, [&context](RequestContext& request) {
        return decide(context, request, &planner::PlannerService::approve);
    });
    router.add(http::verb::post, "/api/v1/plans/{id}/reject", Access::mutation, [&context](RequestContext& request) {
        return decide(context, request, &planner::PlannerService::reject);
    });
    router.add(http::verb::get, "/api/v1/audit", Access::read, [&context](RequestContext& request) {
        if (!context.planner)
            return no_planner(request.request.version());
        json entries = json::array();
        for (const auto& entry : context.planner->audit(0))
            entries.push_back(planner::to_json(entry));
        return json_response(http::status::ok, {{"audit", entries}}, request.request.version());
    });
}

}  // namespace tiercel::api
