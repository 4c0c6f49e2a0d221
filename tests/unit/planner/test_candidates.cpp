// The reprotect and hsm_stub candidates: when each is proposed, with which facts, and which guard rejects it and why.
// Pure planner decisions over hand-built facts (no pool, no HSM): the facts are what gather_pool_facts() and
// watch_facts() would report.
#include <doctest/doctest.h>

#include "planner_test_support.hpp"

using namespace tiercel;
using namespace tiercel::planner;
using namespace tiercel::testing;

namespace {

// disk0 went offline holding its shards (so stripes are degraded), and a new disk joined empty.
PoolFacts pool_after_add_disk(int disks, const std::string& new_domain = "") {
    auto pool = healthy_pool(disks);
    pool.disks[0].online = false;
    pool.stripes_degraded = 500;
    DiskFacts added;
    added.id = static_cast<uint32_t>(disks);
    added.name = "disk" + std::to_string(disks);
    added.capacity = 1ULL << 40;
    added.free_bytes = 1ULL << 40;
    added.latency_ms = 5;
    added.risk = health::RiskLevel::ok;
    added.failure_domain = new_domain;
    pool.disks.push_back(added);
    return pool;
}

bool has_fact(const Plan& plan, const std::string& name, const std::string& value) {
    for (const auto& fact : plan.facts)
        if (fact.fact == name && fact.value == value)
            return true;
    return false;
}

WatchFacts watched(double used, std::vector<StubFile> stub = {}) {
    WatchFacts watch;
    watch.path = "/srv/data";
    watch.total_bytes = 100ULL << 30;
    watch.used_fraction = used;
    watch.high_water = 0.85;
    watch.low_water = 0.75;
    watch.bytes_to_free = used > 0.85 ? static_cast<uint64_t>((used - 0.75) * static_cast<double>(100ULL << 30)) : 0;
    watch.stub = std::move(stub);
    return watch;
}

}  // namespace

TEST_CASE("reprotect: a disk added empty while stripes lack k+m shards is proposed instead of a heal") {
    auto pool = pool_after_add_disk(6);
    auto evaluation = evaluate(pool, fresh_state(), PlannerConfig{});
    const Plan* plan = proposed(evaluation, Action::reprotect, "pool");
    REQUIRE(plan);
    CHECK(proposed(evaluation, Action::heal, "pool") == nullptr);  // the reprotect covers it
    CHECK(plan->reason ==
          "500 stripes lack 4+2 shards on distinct usable disks (500 shards on offline disk0) and disk6 joined the "
          "pool empty");
    CHECK(has_fact(*plan, "stripes_degraded", "500"));
    CHECK(has_fact(*plan, "disk6.shards", "0"));
    CHECK(has_fact(*plan, "usable_failure_domains", "6"));
    // It is the heal the new disk makes possible: heal's approval policy, and it runs as a heal job.
    CHECK(auto_approves(PlannerConfig{}, Action::reprotect));
    CHECK(plan->explanation.back() == "reprotect is approved automatically ([planner] auto_approve)");
    PlannerConfig manual;
    manual.auto_approve = {"scrub"};
    CHECK_FALSE(auto_approves(manual, Action::reprotect));
}

TEST_CASE("reprotect: no new disk means a plain heal, and a new disk with nothing degraded means no reprotect") {
    auto degraded = healthy_pool(7);
    degraded.disks[0].online = false;
    degraded.stripes_degraded = 500;
    auto evaluation = evaluate(degraded, fresh_state(), PlannerConfig{});
    CHECK(proposed(evaluation, Action::heal, "pool") != nullptr);
    CHECK(proposed(evaluation, Action::reprotect, "pool") == nullptr);

    auto grown = pool_after_add_disk(6);
    grown.disks[0].online = true;
    grown.stripes_degraded = 0;
    evaluation = evaluate(grown, fresh_state(), PlannerConfig{});
    CHECK(proposed(evaluation, Action::reprotect, "pool") == nullptr);
    CHECK(proposed(evaluation, Action::heal, "pool") == nullptr);
}

TEST_CASE("guard redundancy: reprotect onto a new disk in an existing failure domain is refused with the count") {
    // 4+2 over six single-disk domains; disk0 died; disk6 joined, but in disk1's rack: five usable domains.
    auto pool = pool_after_add_disk(6, "rack1");
    pool.disks[1].failure_domain = "rack1";
    auto evaluation = evaluate(pool, fresh_state(), PlannerConfig{});
    CHECK(proposed(evaluation, Action::reprotect, "pool") == nullptr);
    const Rejection* rejection = rejected(evaluation, "reprotect", "pool");
    REQUIRE(rejection);
    CHECK(rejection->guard == "redundancy");
    CHECK(rejection->reason ==
          "only 5 usable failure domains (6 usable disks) for 4+2 stripes (6 needed): the new disk cannot restore "
          "full redundancy; add a disk in another failure domain");
}

TEST_CASE("hsm_stub: a watched filesystem above its high water mark gets the coldest premigrated files stubbed") {
    auto pool = healthy_pool();
    pool.hsm_present = true;
    pool.watched.push_back(watched(0.9, {{"/srv/data/old.iso", 6ULL << 30, 90 * 86400},
                                         {"/srv/data/older.tar", 5ULL << 30, 30 * 86400}}));
    auto evaluation = evaluate(pool, fresh_state(), PlannerConfig{});
    const Plan* plan = proposed(evaluation, Action::hsm_stub, "/srv/data");
    REQUIRE(plan);
    CHECK(plan->reason == "/srv/data is 90.0% used, above its high water mark 85%: stub 2 premigrated files "
                          "(11 GiB), coldest first, to get below 75%");
    CHECK(has_fact(*plan, "/srv/data.used", "90.0%"));
    CHECK(has_fact(*plan, "/srv/data.stub_files", "2"));
    CHECK(plan->explanation.back() == "hsm_stub needs approval by a person");
    CHECK(rejected(evaluation, "hsm_stub", "/srv/data") == nullptr);
}

TEST_CASE("hsm_stub: no pressure proposes nothing and says why; no HSM says nothing") {
    auto pool = healthy_pool();
    pool.hsm_present = true;
    pool.watched.push_back(watched(0.62));
    auto evaluation = evaluate(pool, fresh_state(), PlannerConfig{});
    CHECK(proposed(evaluation, Action::hsm_stub, "/srv/data") == nullptr);
    const Rejection* rejection = rejected(evaluation, "hsm_stub", "/srv/data");
    REQUIRE(rejection);
    CHECK(rejection->guard == "no_pressure");
    CHECK(rejection->reason == "/srv/data is 62.0% used, not above its high water mark 85%: nothing to stub");

    pool.watched = {watched(0.95)};  // pressure, but nothing premigrated yet
    evaluation = evaluate(pool, fresh_state(), PlannerConfig{});
    rejection = rejected(evaluation, "hsm_stub", "/srv/data");
    REQUIRE(rejection);
    CHECK(rejection->guard == "nothing_to_stub");

    pool.hsm_present = false;
    pool.watched.clear();
    evaluation = evaluate(pool, fresh_state(), PlannerConfig{});
    CHECK(evaluation.would_run.empty());
    CHECK(evaluation.rejected.empty());
}

TEST_CASE("guard redundancy: no stubbing while pool stripes are degraded; one_at_a_time does not hold it back") {
    auto pool = healthy_pool();
    pool.hsm_present = true;
    pool.watched.push_back(watched(0.9, {{"/srv/data/old.iso", 20ULL << 30, 90 * 86400}}));
    auto state = fresh_state();
    state.running = "drain:disk3 (plan 4)";
    auto evaluation = evaluate(pool, state, PlannerConfig{});
    CHECK(proposed(evaluation, Action::hsm_stub, "/srv/data") != nullptr);

    pool.stripes_degraded = 3;
    evaluation = evaluate(pool, fresh_state(), PlannerConfig{});
    const Rejection* rejection = rejected(evaluation, "hsm_stub", "/srv/data");
    REQUIRE(rejection);
    CHECK(rejection->guard == "redundancy");
    CHECK(rejection->reason == "the pool has 3 degraded and 0 lost stripes: stubbing would leave a pool copy below "
                               "4+2 as a file's only data; heal first");
}

TEST_CASE("hsm_stub without a pool: the HSM alone still plans") {
    PoolFacts facts;
    facts.hsm_present = true;
    facts.watched.push_back(watched(0.9, {{"/srv/data/old.iso", 20ULL << 30, 90 * 86400}}));
    auto evaluation = evaluate(facts, fresh_state(), PlannerConfig{});
    CHECK(proposed(evaluation, Action::hsm_stub, "/srv/data") != nullptr);
}
