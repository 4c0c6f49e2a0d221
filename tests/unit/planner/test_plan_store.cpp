// The planner's SQLite store: plans, the audit log and the schedule survive closing and reopening the database.
#include <doctest/doctest.h>

#include "../support/temp_dir.hpp"
#include "tiercel/planner/plan_store.hpp"

using namespace tiercel::planner;

TEST_CASE("plans, audit entries and state round-trip through SQLite and survive a reopen") {
    tiercel::testing::TempDir dir("tiercel-plans");
    std::string path = dir.path() + "/planner.db";
    Plan plan;
    plan.id = 4;
    plan.action = Action::drain;
    plan.target = "disk3";
    plan.disk_id = 3;
    plan.state = PlanState::proposed;
    plan.reason = "disk3 is at_risk";
    plan.facts = {{"ata.5", "weight 0.58", "attribute 5 rising"}};
    plan.explanation = {"why one", "why two"};
    plan.rejected_candidates = {{"scrub", "pool", "cooldown", "ran 10m ago"}};
    plan.budget_bytes = 1 << 30;
    plan.budget_seconds = 3600;
    plan.progress = PlanProgress{10, 20, 5.0, 2.0};
    plan.created = 100;
    plan.updated = 200;
    {
        auto store = PlanStore::open(path);
        REQUIRE_MESSAGE(store.ok(), store.error().message());
        REQUIRE((*store)->save_plan(plan).ok());
        plan.state = PlanState::approved;
        plan.decided_by = "cli";
        REQUIRE((*store)->save_plan(plan).ok());  // an update, not a second row
        REQUIRE((*store)->append_audit({0, 200, 4, "drain", "disk3", "approved", "cli", "looks right"}).ok());
        REQUIRE((*store)->save_state("last_full_scrub", "12345").ok());
        REQUIRE((*store)->save_state("paused:heal", "9").ok());
        REQUIRE((*store)->erase_state("paused:heal").ok());
    }
    auto store = PlanStore::open(path);
    REQUIRE(store.ok());
    auto plans = (*store)->load_plans();
    REQUIRE(plans.ok());
    REQUIRE(plans->size() == 1);
    const Plan& loaded = plans->front();
    CHECK(loaded.state == PlanState::approved);
    CHECK(loaded.decided_by == "cli");
    CHECK(loaded.disk_id == 3u);
    CHECK(loaded.facts.size() == 1);
    CHECK(loaded.rejected_candidates[0].guard == "cooldown");
    CHECK(loaded.budget_bytes == (1u << 30));
    CHECK(loaded.progress->total_bytes == 20);
    CHECK(to_json(loaded) == to_json(plan));
    auto audit = (*store)->load_audit(10);
    REQUIRE(audit.ok());
    REQUIRE(audit->size() == 1);
    CHECK(audit->front().event == "approved");
    CHECK(audit->front().seq == 1);
    auto state = (*store)->load_state();
    REQUIRE(state.ok());
    CHECK(state->at("last_full_scrub") == "12345");
    CHECK(state->count("paused:heal") == 0);
}

TEST_CASE("plan names parse back, and bad ones are named") {
    for (auto action : {Action::scrub, Action::heal, Action::drain, Action::rebalance, Action::hsm_stub,
                        Action::reprotect})
        CHECK(*parse_action(to_string(action)) == action);
    CHECK(parse_action("defrag").error().message().find("unknown action 'defrag'") == 0);
    CHECK(parse_plan_state("done").error().message().find("unknown plan state 'done'") == 0);
    CHECK(is_open(PlanState::running));
    CHECK_FALSE(is_open(PlanState::verified));
}
