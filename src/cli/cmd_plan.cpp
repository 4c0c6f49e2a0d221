// `tiercel plan [--json]` (the dry run), `plan list`, `plan show ID`, `plan approve ID`, `plan reject ID`.
// All of them ask the running daemon over its Unix socket. Without a daemon, the dry run alone works offline: it
// polls SMART once and opens the pool itself, so it has no trend memory (a drain then waits for confirmation).
#include <iostream>

#include <CLI/CLI.hpp>

#include "health_offline.hpp"
#include "tiercel/cli/common.hpp"
#include "tiercel/cli/daemon_client.hpp"
#include "tiercel/planner/facts.hpp"
#include "tiercel/planner/planner.hpp"

namespace tiercel::cli {
namespace {

struct PlanArgs {
    bool json = false;
    std::string state;
    int64_t id = 0;
    std::string reason;
};

void print_plan(const nlohmann::json& plan, bool detailed) {
    std::cout << "plan " << plan.value("id", int64_t{0}) << "  " << plan.value("action", "") << " "
              << plan.value("target", "") << "  [" << plan.value("state", "") << "]"
              << (plan.value("auto_approved", false) ? " (auto-approved)" : "") << "\n";
    std::cout << "  reason: " << plan.value("reason", "") << "\n";
    if (!detailed)
        return;
    for (const auto& line : plan["explanation"])
        std::cout << "  why: " << line.get<std::string>() << "\n";
    std::cout << "  expected effect: " << plan.value("expected_effect", "") << "\n";
    const nlohmann::json& budget = plan["budget"];
    std::cout << "  budget: " << budget.value("bytes", uint64_t{0}) << " bytes, " << budget.value("seconds", int64_t{0})
              << " s per run (0 = no limit)\n";
    if (plan["progress"].is_object())
        std::cout << "  progress: " << plan["progress"].value("done_bytes", uint64_t{0}) << " of "
                  << plan["progress"].value("total_bytes", uint64_t{0}) << " bytes\n";
    if (!plan.value("result", "").empty())
        std::cout << "  result: " << plan.value("result", "") << "\n";
    if (!plan.value("decided_by", "").empty())
        std::cout << "  decided by " << plan.value("decided_by", "") << ": " << plan.value("decision_reason", "")
                  << "\n";
}

void print_dry_run(const nlohmann::json& evaluation) {
    std::cout << "Would run now:\n";
    if (evaluation["would_run"].empty())
        std::cout << "  nothing\n";
    for (const auto& plan : evaluation["would_run"]) {
        std::cout << "  " << plan.value("action", "") << " " << plan.value("target", "") << ": "
                  << plan.value("reason", "") << "\n";
        for (const auto& line : plan["explanation"])
            std::cout << "    - " << line.get<std::string>() << "\n";
        std::cout << "    expected effect: " << plan.value("expected_effect", "") << "\n";
    }
    std::cout << "Rejected:\n";
    if (evaluation["rejected"].empty())
        std::cout << "  nothing\n";
    for (const auto& rejection : evaluation["rejected"])
        std::cout << "  " << rejection.value("action", "") << " " << rejection.value("target", "") << " ["
                  << rejection.value("guard", "") << "]: " << rejection.value("reason", "") << "\n";
    std::cout << "Facts:\n";
    for (const auto& fact : evaluation["facts"])
        std::cout << "  " << fact.value("fact", "") << " = " << fact.value("value", "")
                  << (fact.value("detail", "").empty() ? "" : "  (" + fact.value("detail", "") + ")") << "\n";
}

nlohmann::json offline_dry_run(const Config& config) {
    auto offline = poll_health_offline(config);
    planner::PoolFacts facts = planner::gather_pool_facts(offline.pool ? &offline.pool->pool() : nullptr,
                                                          offline.disks);
    planner::PlannerState state;
    state.now = unix_now_seconds();
    state.first_seen = state.now;
    auto evaluation = planner::evaluate(facts, state, config.planner);
    nlohmann::json out{{"would_run", nlohmann::json::array()},
                       {"rejected", nlohmann::json::array()},
                       {"facts", nlohmann::json::array()},
                       {"offline", true}};
    for (const auto& plan : evaluation.would_run)
        out["would_run"].push_back(planner::to_json(plan));
    for (const auto& rejection : evaluation.rejected)
        out["rejected"].push_back(planner::to_json(rejection));
    out["facts"].push_back({{"fact", "mode"},
                            {"value", "offline"},
                            {"detail", "no daemon runs: one SMART poll, no trend memory"}});
    if (!offline.pool_problem.empty())
        out["facts"].push_back({{"fact", "pool"}, {"value", "not opened"}, {"detail", offline.pool_problem}});
    for (const auto& fact : evaluation.facts)
        out["facts"].push_back(planner::to_json(fact));
    return out;
}

// One request to the daemon; prints errors and sets the exit code. Null when it failed.
std::optional<nlohmann::json> ask_daemon(CliContext& context, const Config& config, std::string_view method,
                                         const std::string& target, const nlohmann::json* body = nullptr) {
    auto reply = daemon_request(config, method, target, body);
    if (!reply) {
        if (reply.error().code() == Errc::not_found)
            std::cerr << "tiercel: no daemon runs on " << config.socket_path()
                      << ": plans live in the daemon (start `tiercel serve`)\n";
        else
            report_error("daemon", reply.error());
        context.exit_code = kExitFailed;
        return std::nullopt;
    }
    if (!reply->ok()) {
        context.exit_code = report_error("daemon", daemon_error(*reply));
        return std::nullopt;
    }
    return reply->body;
}

void dry_run(CliContext& context, const PlanArgs& args) {
    auto config = load_config_or_report(context);
    if (!config)
        return;
    nlohmann::json evaluation;
    auto reply = daemon_request(*config, "POST", "/api/v1/plans/dry-run");
    if (reply && reply->ok()) {
        evaluation = reply->body;
    } else if (!reply && reply.error().code() == Errc::not_found) {
        evaluation = offline_dry_run(*config);
    } else {
        context.exit_code = reply ? report_error("daemon", daemon_error(*reply)) : report_error("daemon", reply.error());
        return;
    }
    if (args.json)
        std::cout << evaluation.dump(2) << "\n";
    else
        print_dry_run(evaluation);
}

void decide(CliContext& context, const PlanArgs& args, const char* verb) {
    auto config = load_config_or_report(context);
    if (!config)
        return;
    nlohmann::json body{{"by", "cli"}, {"reason", args.reason}};
    auto plan = ask_daemon(context, *config, "POST", "/api/v1/plans/" + std::to_string(args.id) + "/" + verb, &body);
    if (!plan)
        return;
    if (args.json)
        std::cout << plan->dump(2) << "\n";
    else
        print_plan(*plan, false);
}

}  // namespace

void add_plan_command(CLI::App& app, CliContext& context) {
    auto args = std::make_shared<PlanArgs>();
    CLI::App* command = app.add_subcommand(
        "plan", "Maintenance plans. Without a subcommand: the dry run — what would run now and why, what was rejected\n"
                "and why, and the facts used.");
    command->add_flag("--json", args->json, "Print JSON ({\"would_run\",\"rejected\",\"facts\"})");
    command->footer("Plans are proposed by the daemon's planner; scrub and heal are approved automatically by default\n"
                    "([planner] auto_approve), drain and rebalance wait for `tiercel plan approve ID`.");
    command->require_subcommand(0, 1);

    CLI::App* list = command->add_subcommand("list", "List plans, newest first.");
    list->add_option("--state", args->state, "Only plans in this state (proposed, approved, running, verified, ...)");
    list->add_flag("--json", args->json, "Print {\"plans\":[...]}");
    list->callback([&context, args] {
        auto config = load_config_or_report(context);
        if (!config)
            return;
        auto reply = ask_daemon(context, *config, "GET",
                                "/api/v1/plans" + (args->state.empty() ? std::string() : "?state=" + args->state));
        if (!reply)
            return;
        if (args->json) {
            std::cout << reply->dump(2) << "\n";
            return;
        }
        if ((*reply)["plans"].empty())
            std::cout << "no plans\n";
        for (const auto& plan : (*reply)["plans"])
            print_plan(plan, false);
        for (const auto& alert : (*reply)["alerts"])
            std::cout << "ALERT: " << alert.get<std::string>() << "\n";
    });

    CLI::App* show = command->add_subcommand("show", "Show one plan with its explanation and audit trail.");
    show->add_option("ID", args->id, "Plan id")->required();
    show->add_flag("--json", args->json, "Print the plan as JSON");
    show->callback([&context, args] {
        auto config = load_config_or_report(context);
        if (!config)
            return;
        auto plan = ask_daemon(context, *config, "GET", "/api/v1/plans/" + std::to_string(args->id));
        if (!plan)
            return;
        if (args->json) {
            std::cout << plan->dump(2) << "\n";
            return;
        }
        print_plan(*plan, true);
        for (const auto& entry : (*plan)["audit"])
            std::cout << "  audit " << entry.value("time", int64_t{0}) << " " << entry.value("event", "") << " by "
                      << entry.value("actor", "") << ": " << entry.value("detail", "") << "\n";
    });

    CLI::App* approve = command->add_subcommand("approve", "Approve a proposed plan; it runs when its guards allow.");
    approve->add_option("ID", args->id, "Plan id")->required();
    approve->add_option("--reason", args->reason, "Why (kept in the audit log)");
    approve->add_flag("--json", args->json, "Print the plan as JSON");
    approve->callback([&context, args] { decide(context, *args, "approve"); });

    CLI::App* reject = command->add_subcommand("reject", "Reject a proposed or approved plan.");
    reject->add_option("ID", args->id, "Plan id")->required();
    reject->add_option("--reason", args->reason, "Why (kept in the audit log)");
    reject->add_flag("--json", args->json, "Print the plan as JSON");
    reject->callback([&context, args] { decide(context, *args, "reject"); });

    command->callback([&context, args, command] {
        if (command->get_subcommands().empty())
            dry_run(context, *args);
    });
}

}  // namespace tiercel::cli
