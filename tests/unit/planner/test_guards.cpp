// Every planner guard rejects in a test of its own, and the test checks the reason it states.
#include <doctest/doctest.h>

#include "planner_test_support.hpp"

using namespace tiercel;
using namespace tiercel::planner;
using namespace tiercel::testing;

TEST_CASE("a healthy pool plans nothing") {
    auto evaluation = evaluate(healthy_pool(), fresh_state(), PlannerConfig{});
    CHECK(evaluation.would_run.empty());
    CHECK(evaluation.rejected.empty());
    CHECK_FALSE(evaluation.facts.empty());
}

TEST_CASE("guard confirmation: a disk at risk for fewer polls than drain_confirm_polls waits") {
    auto pool = healthy_pool();
    mark_at_risk(pool.disks[3], 1);
    auto evaluation = evaluate(pool, fresh_state(), PlannerConfig{});
    CHECK(proposed(evaluation, Action::drain, "disk3") == nullptr);
    const Rejection* rejection = rejected(evaluation, "drain", "disk3");
    REQUIRE(rejection);
    CHECK(rejection->guard == "confirmation");
    CHECK(rejection->reason == "disk3 has been at risk for 1 of the 3 consecutive polls that confirm a drain: "
                               "waiting for more evidence");
}

TEST_CASE("a confirmed disk at risk gets a drain naming the attribute and its trend, waiting for a person") {
    auto pool = healthy_pool();
    mark_at_risk(pool.disks[3], 3);
    auto evaluation = evaluate(pool, fresh_state(), PlannerConfig{});
    const Plan* plan = proposed(evaluation, Action::drain, "disk3");
    REQUIRE(plan);
    CHECK(plan->disk_id == 3u);
    CHECK(plan->reason.find("Reallocated_Sector_Ct") != std::string::npos);
    bool names_trend = false;
    for (const auto& line : plan->explanation)
        names_trend |= line.find("rising over 3 consecutive polls") != std::string::npos;
    CHECK(names_trend);
    bool has_fact = false;
    for (const auto& fact : plan->facts)
        has_fact |= fact.fact == "ata.5";
    CHECK(has_fact);
    CHECK(plan->explanation.back() == "drain needs approval by a person");
    CHECK_FALSE(auto_approves(PlannerConfig{}, Action::drain));
    CHECK(auto_approves(PlannerConfig{}, Action::scrub));
    CHECK(auto_approves(PlannerConfig{}, Action::heal));
}

TEST_CASE("guard redundancy: never drain below k+m usable disks") {
    auto pool = healthy_pool(6);
    mark_at_risk(pool.disks[2], 5);
    auto evaluation = evaluate(pool, fresh_state(), PlannerConfig{});
    const Rejection* rejection = rejected(evaluation, "drain", "disk2");
    REQUIRE(rejection);
    CHECK(rejection->guard == "redundancy");
    CHECK(rejection->reason == "draining disk2 would leave 5 usable disks for 4+2 stripes (6 needed): redundancy "
                               "is never planned below k+m");
}

TEST_CASE("guard redundancy: heal with too few usable disks is refused with the count") {
    auto pool = healthy_pool(6);
    pool.disks[0].online = false;
    auto evaluation = evaluate(pool, fresh_state(), PlannerConfig{});
    const Rejection* rejection = rejected(evaluation, "heal", "pool");
    REQUIRE(rejection);
    CHECK(rejection->guard == "redundancy");
    CHECK(rejection->reason.find("only 5 usable disks for 4+2 stripes (6 needed)") == 0);
}

TEST_CASE("guard capacity: the other disks must take the data and keep the reserve") {
    auto pool = healthy_pool(8, 4, 2, 1ULL << 30);
    for (auto& disk : pool.disks)
        disk.free_bytes = 10 << 20;
    mark_at_risk(pool.disks[1], 3);
    auto evaluation = evaluate(pool, fresh_state(), PlannerConfig{});
    const Rejection* rejection = rejected(evaluation, "drain", "disk1");
    REQUIRE(rejection);
    CHECK(rejection->guard == "capacity");
    CHECK(rejection->reason == "the other usable disks have 70 MiB free; moving disk1's 512 MiB must leave the 10% "
                               "reserve (716.8 MiB)");
}

TEST_CASE("guard duplicate: an open plan for the same action and target") {
    auto pool = healthy_pool();
    pool.stripes_degraded = 4;
    auto state = fresh_state();
    state.open["heal:pool"] = 7;
    auto evaluation = evaluate(pool, state, PlannerConfig{});
    const Rejection* rejection = rejected(evaluation, "heal", "pool");
    REQUIRE(rejection);
    CHECK(rejection->guard == "duplicate");
    CHECK(rejection->reason == "plan 7 already covers heal:pool");
}

TEST_CASE("guard cooldown: the same action on the same target waits") {
    auto pool = healthy_pool();
    pool.stripes_degraded = 4;
    auto state = fresh_state();
    state.last_run["heal:pool"] = state.now - 600;
    auto evaluation = evaluate(pool, state, PlannerConfig{});
    const Rejection* rejection = rejected(evaluation, "heal", "pool");
    REQUIRE(rejection);
    CHECK(rejection->guard == "cooldown");
    CHECK(rejection->reason == "heal:pool last ran 10m ago; the cooldown of 1h leaves 50m");
}

TEST_CASE("guard one_at_a_time: nothing else while a disruptive action runs") {
    auto pool = healthy_pool();
    pool.stripes_degraded = 4;
    auto state = fresh_state();
    state.running = "drain:disk5 (plan 3)";
    auto evaluation = evaluate(pool, state, PlannerConfig{});
    const Rejection* rejection = rejected(evaluation, "heal", "pool");
    REQUIRE(rejection);
    CHECK(rejection->guard == "one_at_a_time");
    CHECK(rejection->reason == "drain:disk5 (plan 3) is running: one disruptive action at a time");
}

TEST_CASE("guard throttle: background work waits while foreground latency is high") {
    auto pool = healthy_pool();
    pool.disks[4].latency_ms = 80;
    auto state = fresh_state();
    state.first_seen = state.now - 31LL * 86400;  // a scrub is due
    auto evaluation = evaluate(pool, state, PlannerConfig{});
    const Rejection* rejection = rejected(evaluation, "scrub", "pool");
    REQUIRE(rejection);
    CHECK(rejection->guard == "throttle");
    CHECK(rejection->reason == "foreground latency 80.0 ms on disk4 is above 50 ms: background work waits");
}

TEST_CASE("scrub is due every scrub_interval and auto-approved by default") {
    auto state = fresh_state();
    state.first_seen = state.now - 31LL * 86400;
    auto evaluation = evaluate(healthy_pool(), state, PlannerConfig{});
    const Plan* plan = proposed(evaluation, Action::scrub, "pool");
    REQUIRE(plan);
    CHECK(plan->reason.find("no full scrub recorded") == 0);
    CHECK(plan->explanation.back().find("approved automatically") != std::string::npos);
    CHECK(plan->budget_seconds == 6 * 3600);
    state.last_full_scrub = state.now - 86400;
    CHECK(proposed(evaluate(healthy_pool(), state, PlannerConfig{}), Action::scrub, "pool") == nullptr);
}

TEST_CASE("rebalance on skew") {
    auto pool = healthy_pool();
    pool.disks[0].share = 1.4;
    pool.disks[7].share = 0.6;
    auto evaluation = evaluate(pool, fresh_state(), PlannerConfig{});
    const Plan* plan = proposed(evaluation, Action::rebalance, "pool");
    REQUIRE(plan);
    CHECK(plan->reason == "fill shares spread 0.80 (disk0 1.40, disk7 0.60) above 0.25");
}

TEST_CASE("a paused class needs a person, and execution checks tell waiting from failing") {
    auto pool = healthy_pool();
    pool.stripes_degraded = 1;
    auto state = fresh_state();
    state.paused.insert(Action::heal);
    auto evaluation = evaluate(pool, state, PlannerConfig{});
    const Plan* plan = proposed(evaluation, Action::heal, "pool");
    REQUIRE(plan);
    CHECK(plan->explanation.back().find("automation of heal is stopped") == 0);

    Plan drain;
    drain.action = Action::drain;
    drain.target = "disk1";
    drain.disk_id = 1;
    state.running = "scrub:pool (plan 1)";
    auto wait = check_execution(drain, pool, state, PlannerConfig{});
    REQUIRE(wait);
    CHECK(wait->transient);
    CHECK(wait->guard == "one_at_a_time");
    auto small = healthy_pool(6);
    state.running.reset();
    auto refuse = check_execution(drain, small, state, PlannerConfig{});
    REQUIRE(refuse);
    CHECK_FALSE(refuse->transient);
    CHECK(refuse->guard == "redundancy");
}
