// Simulated crashes of the whole pool: a fixed sequence of puts, overwrites and removes runs until a crash point,
// every disk then loses (or tears) whatever was not durable, and the pool is reopened. Afterwards:
//  - every acknowledged operation is visible, byte for byte;
//  - the operation in flight at the crash is either fully visible or not at all (never partial);
//  - fsck finds no missing or corrupt data (orphan shards from the interrupted write are allowed: they are garbage
//    that `pool fsck --repair` removes, and the test checks that it does).
// Crash points cover every mutating disk operation of the sequence; the seed and point are printed on failure.
#include <atomic>

#include "pool_test_support.hpp"
#include "tiercel/pool/fsck.hpp"

using namespace tiercel;
using namespace tiercel::pool;
using namespace tiercel::pool::testing;

namespace {

struct Step {
    enum Kind { put, remove } kind;
    std::string name;
    std::string data;
};

std::vector<Step> workload(uint64_t seed) {
    std::vector<Step> steps;
    steps.push_back({Step::put, "small", random_bytes(100, seed)});           // inline
    steps.push_back({Step::put, "one-stripe", random_bytes(16384, seed + 1)});
    steps.push_back({Step::put, "three-stripes", random_bytes(40000, seed + 2)});
    steps.push_back({Step::put, "one-stripe", random_bytes(30000, seed + 3)});  // overwrite
    steps.push_back({Step::remove, "small", ""});
    steps.push_back({Step::put, "last", random_bytes(20000, seed + 4)});
    return steps;
}

// Counts mutating operations across all disks; from `crash_at` on, every operation fails as if power was cut.
struct CrashSwitch {
    std::atomic<uint64_t> mutating{0};
    uint64_t crash_at = UINT64_MAX;
    std::atomic<bool> crashed{false};
};

void arm(std::vector<std::shared_ptr<io::FaultDisk>>& faults, std::shared_ptr<CrashSwitch> crash) {
    for (auto& fault : faults)
        fault->fail_ops_matching([crash](const io::OpInfo& op) -> std::optional<Errc> {
            if (crash->crashed)
                return Errc::io_error;
            if (io::is_mutating(op.op) && crash->mutating.fetch_add(1) >= crash->crash_at) {
                crash->crashed = true;
                return Errc::io_error;
            }
            return std::nullopt;
        });
}

struct Outcome {
    std::map<std::string, std::string> acknowledged;  // the model after the acknowledged steps
    std::optional<Step> in_flight;
    uint64_t mutating_ops = 0;
};

Outcome run_until_crash(Pool& pool, const std::vector<Step>& steps, CrashSwitch& crash) {
    Outcome outcome;
    for (const Step& step : steps) {
        Status status;
        if (step.kind == Step::put) {
            if (auto put = pool.put(step.name, source_of(step.data)); !put)
                status = put.error();
        } else {
            status = pool.remove(step.name);
        }
        if (!status) {
            outcome.in_flight = step;
            break;
        }
        if (step.kind == Step::put)
            outcome.acknowledged[step.name] = step.data;
        else
            outcome.acknowledged.erase(step.name);
    }
    outcome.mutating_ops = crash.mutating.load();
    return outcome;
}

// Reopens after the crash and checks the promises. Returns false (after reporting) on a violation.
void check_recovered(const std::vector<io::DiskPtr>& disks, const Outcome& outcome, uint64_t seed, uint64_t point) {
    INFO("seed " << seed << ", crash after mutating op " << point);
    auto reopened = Pool::open(small_spec(disks));
    REQUIRE_MESSAGE(reopened.ok(), reopened.error().describe());
    Pool& pool = **reopened;
    std::map<std::string, std::string> expected = outcome.acknowledged;
    for (const auto& object : pool.list("")) {
        auto data = read_all(pool, object.name);
        REQUIRE_MESSAGE(data.ok(), object.name << ": " << data.error().describe());
        bool matches_acknowledged = expected.count(object.name) && expected[object.name] == *data;
        bool matches_in_flight = outcome.in_flight && outcome.in_flight->kind == Step::put &&
                                 outcome.in_flight->name == object.name && outcome.in_flight->data == *data;
        CHECK_MESSAGE((matches_acknowledged || matches_in_flight), "object " << object.name << " holds bytes no "
                                                                             "acknowledged or in-flight put wrote");
        expected.erase(object.name);
    }
    for (const auto& [name, data] : expected) {
        bool removed_in_flight =
            outcome.in_flight && outcome.in_flight->kind == Step::remove && outcome.in_flight->name == name;
        CHECK_MESSAGE(removed_in_flight, "acknowledged object " << name << " is missing after the crash");
    }
    FsckReport report = fsck_pool(pool, false);
    CHECK_MESSAGE(report.data_intact(), "fsck: missing " << report.missing_shards.size() << ", corrupt "
                                                         << report.corrupt_shards.size() << ", bad records "
                                                         << report.bad_records.size());
    fsck_pool(pool, true);
    FsckReport after = fsck_pool(pool, false);
    CHECK_MESSAGE(after.orphan_shards.empty(), "fsck --repair leaves no orphan shards");
}

}  // namespace

TEST_CASE("a crash at every mutating operation leaves a prefix of the acknowledged operations") {
    const uint64_t seed = 41;
    // A dry run counts the mutating operations of the whole workload.
    uint64_t total_ops = 0;
    {
        auto sims = sim_disks(6, seed);
        std::vector<std::shared_ptr<io::FaultDisk>> faults;
        std::vector<io::DiskPtr> disks = wrap_in_faults(sims, faults);
        auto pool = Pool::create(small_spec(disks), {});
        REQUIRE(pool.ok());
        auto crash = std::make_shared<CrashSwitch>();
        arm(faults, crash);
        Outcome outcome = run_until_crash(**pool, workload(seed), *crash);
        REQUIRE_FALSE(outcome.in_flight.has_value());
        total_ops = outcome.mutating_ops;
    }
    REQUIRE(total_ops > 50);
    MESSAGE("crash points: " << total_ops);
    for (uint64_t point = 0; point <= total_ops; ++point) {
        auto sims = sim_disks(6, seed * 1000 + point);
        std::vector<std::shared_ptr<io::FaultDisk>> faults;
        std::vector<io::DiskPtr> disks = wrap_in_faults(sims, faults);
        Outcome outcome;
        {
            auto pool = Pool::create(small_spec(disks), {});
            REQUIRE(pool.ok());
            auto crash = std::make_shared<CrashSwitch>();
            crash->crash_at = point;
            arm(faults, crash);
            outcome = run_until_crash(**pool, workload(seed), *crash);
        }
        // Power cut: each disk keeps, drops or tears what was not durable (SimDisk's seeded model).
        for (size_t i = 0; i < sims.size(); ++i) {
            faults[i]->heal();
            sims[i]->crash();
        }
        check_recovered(disks, outcome, seed, point);
    }
}

namespace {

using Model = std::map<std::string, std::string>;

// The model after each prefix of the steps: states[j] is the state after the first j steps.
std::vector<Model> prefix_states(const std::vector<Step>& steps) {
    std::vector<Model> states(1);
    for (const Step& step : steps) {
        Model next = states.back();
        if (step.kind == Step::put)
            next[step.name] = step.data;
        else
            next.erase(step.name);
        states.push_back(std::move(next));
    }
    return states;
}

// Runs the steps as deferred changes, with a sync() after the steps in `sync_after`; returns how many steps the last
// successful sync covered. Stops at the first failure (the crash).
size_t run_deferred_until_crash(Pool& pool, const std::vector<Step>& steps, const std::set<size_t>& sync_after) {
    size_t synced = 0;
    for (size_t i = 0; i < steps.size(); ++i) {
        const Step& step = steps[i];
        Status status;
        if (step.kind == Step::put) {
            if (auto put = pool.put(step.name, source_of(step.data), Pool::Durability::deferred); !put)
                status = put.error();
        } else {
            status = pool.remove(step.name, Pool::Durability::deferred);
        }
        if (!status)
            return synced;
        if (sync_after.count(i)) {
            if (!pool.sync())
                return synced;
            synced = i + 1;
        }
    }
    return synced;
}

}  // namespace

// Deferred puts and removes are durable only at sync(). After a crash at any mutating operation the pool must hold
// the state after some prefix of the steps that includes every step a successful sync() covered, and every object
// must read back exactly: shards are synced before the metadata that names them, and replaced shards are deleted only
// after the change that replaced them is durable.
TEST_CASE("deferred changes: a crash anywhere leaves a prefix that includes every synced change") {
    const uint64_t seed = 43;
    const std::vector<Step> steps = workload(seed);
    const std::set<size_t> sync_after{1, 3, steps.size() - 1};
    const std::vector<Model> states = prefix_states(steps);
    auto make_disks = [](uint64_t disk_seed, std::vector<std::shared_ptr<io::SimDisk>>& sims,
                         std::vector<std::shared_ptr<io::FaultDisk>>& faults) {
        sims = sim_disks(6, disk_seed);
        return wrap_in_faults(sims, faults);
    };
    uint64_t total_ops = 0;
    {
        std::vector<std::shared_ptr<io::SimDisk>> sims;
        std::vector<std::shared_ptr<io::FaultDisk>> faults;
        auto disks = make_disks(seed, sims, faults);
        auto pool = Pool::create(small_spec(disks), {});
        REQUIRE(pool.ok());
        auto crash = std::make_shared<CrashSwitch>();
        arm(faults, crash);
        REQUIRE(run_deferred_until_crash(**pool, steps, sync_after) == steps.size());
        total_ops = crash->mutating.load();
    }
    REQUIRE(total_ops > 30);
    MESSAGE("crash points (deferred): " << total_ops);
    for (uint64_t point = 0; point <= total_ops; ++point) {
        INFO("seed " << seed << ", crash after mutating op " << point);
        std::vector<std::shared_ptr<io::SimDisk>> sims;
        std::vector<std::shared_ptr<io::FaultDisk>> faults;
        auto disks = make_disks(seed * 1000 + point, sims, faults);
        size_t synced = 0;
        {
            auto pool = Pool::create(small_spec(disks), {});
            REQUIRE(pool.ok());
            auto crash = std::make_shared<CrashSwitch>();
            crash->crash_at = point;
            arm(faults, crash);
            synced = run_deferred_until_crash(**pool, steps, sync_after);
        }
        for (size_t i = 0; i < sims.size(); ++i) {
            faults[i]->heal();
            sims[i]->crash();
        }
        auto reopened = Pool::open(small_spec(disks));
        REQUIRE_MESSAGE(reopened.ok(), reopened.error().describe());
        Model recovered;
        for (const auto& object : (*reopened)->list("")) {
            auto data = read_all(**reopened, object.name);
            REQUIRE_MESSAGE(data.ok(), object.name << ": " << data.error().describe());
            recovered[object.name] = *data;
        }
        bool is_prefix = false;
        for (size_t j = synced; j < states.size(); ++j)
            is_prefix = is_prefix || states[j] == recovered;
        CHECK_MESSAGE(is_prefix, "the recovered objects are not the state after any prefix of at least " << synced
                                                                                                          << " steps");
        FsckReport report = fsck_pool(**reopened, false);
        CHECK_MESSAGE(report.data_intact(), "fsck: missing " << report.missing_shards.size() << ", corrupt "
                                                             << report.corrupt_shards.size());
    }
}
