// Heal after a lost disk, heal interrupted and resumed, and replace onto a fresh disk, on SimDisk pools.
#include "maintenance_test_support.hpp"

using namespace tiercel;
using namespace tiercel::pool;
using namespace tiercel::pool::test;

namespace {

// The wiped disk is replaced by an empty one at the same place: no label, so the pool opens it as offline.
void wipe(SimPool& sim, uint32_t disk_id) {
    sim.disks[disk_id] = sim_disk("wiped" + std::to_string(disk_id));
    sim.reopen();
    REQUIRE_FALSE(sim.pool->status().disks[disk_id].online);
}

std::vector<io::DiskPtr> without(std::vector<io::DiskPtr> disks, uint32_t disk_id) {
    disks[disk_id] = nullptr;
    return disks;
}

}  // namespace

TEST_CASE("heal after a lost metadata-replica disk restores full redundancy and identical objects") {
    SimPool sim(8, 4, 2);
    sim.fill(20, 50 * 1024);
    const uint32_t lost = 0;  // the first disks hold the metadata replicas
    const size_t shards_lost = stripes_naming(*sim.pool, lost);
    REQUIRE(shards_lost > 0);
    wipe(sim, lost);
    CHECK(stripes_below_full_redundancy(*sim.pool, without(sim.disks, lost)) > 0);

    auto report = heal_pool(*sim.pool, {});
    REQUIRE_MESSAGE(report.ok(), why(report));
    CHECK(report->complete);
    CHECK(report->unrepairable.empty());
    CHECK(report->shards_rebuilt == shards_lost);
    std::string problem;
    CHECK_MESSAGE(stripes_below_full_redundancy(*sim.pool, without(sim.disks, lost), &problem) == 0, problem);
    CHECK(stripes_naming(*sim.pool, lost) == 0);
    size_t healthy = 0;
    for (const auto& replica : sim.pool->meta().replicas())
        healthy += replica.healthy;
    CHECK(healthy == 3);
    CHECK(sim.objects_intact());
    auto status = sim.pool->status();
    CHECK(status.stripes_degraded == 0);
    CHECK(status.stripes_lost == 0);

    // A second heal finds nothing to do; a reopen sees the same healthy pool.
    auto again = heal_pool(*sim.pool, {});
    REQUIRE(again.ok());
    CHECK(again->stripes_changed == 0);
    sim.reopen();
    CHECK(sim.objects_intact());
    CHECK(sim.pool->status().stripes_healthy == status.stripes_healthy);
}

TEST_CASE("an interrupted heal resumes after its last committed stripe and redoes nothing") {
    SimPool sim(8, 4, 2);
    sim.fill(16, 64 * 1024);
    const uint32_t lost = 5;
    const size_t shards_lost = stripes_naming(*sim.pool, lost);
    wipe(sim, lost);

    std::atomic<bool> cancel{false};
    MaintenanceOptions options;
    options.batch_stripes = 8;
    options.cancel = &cancel;
    int batches = 0;
    options.after_batch = [&](uint64_t) {
        if (++batches == 2)
            cancel = true;
    };
    auto first = heal_pool(*sim.pool, options);
    REQUIRE_MESSAGE(first.ok(), why(first));
    CHECK_FALSE(first->complete);
    CHECK(first->stopped_because == "cancelled");
    CHECK(first->shards_rebuilt > 0);
    CHECK(first->shards_rebuilt < shards_lost);
    REQUIRE(sim.pool->meta().get(maintenance_key("heal")).has_value());

    // As after a kill: reopen from what is durable, then run again.
    sim.reopen();
    auto second = heal_pool(*sim.pool, {});
    REQUIRE_MESSAGE(second.ok(), why(second));
    CHECK(second->complete);
    REQUIRE(second->resumed_after.has_value());
    CHECK(second->stripes_skipped == first->stripes_checked);
    CHECK(first->shards_rebuilt + second->shards_rebuilt == shards_lost);
    CHECK_FALSE(sim.pool->meta().get(maintenance_key("heal")).has_value());
    CHECK(stripes_below_full_redundancy(*sim.pool, without(sim.disks, lost)) == 0);
    CHECK(sim.objects_intact());
}

TEST_CASE("replace rebuilds a wiped disk of a minimal pool onto a fresh disk") {
    SimPool sim(6, 4, 2);
    sim.fill(10, 40 * 1024);
    const uint32_t lost = 1;
    const size_t shards_lost = stripes_naming(*sim.pool, lost);
    wipe(sim, lost);
    // Heal alone cannot: every other disk already holds a shard of each stripe.
    auto healed = heal_pool(*sim.pool, {});
    REQUIRE(healed.ok());
    CHECK(healed->unrepairable.size() == shards_lost);
    CHECK(stripes_naming(*sim.pool, lost) == shards_lost);

    NewDisk fresh;
    fresh.disk = sim_disk("fresh");
    fresh.path = "/sim/fresh";
    auto report = replace_disk(*sim.pool, lost, fresh, {});
    REQUIRE_MESSAGE(report.ok(), why(report));
    CHECK(report->complete);
    CHECK(report->unrepairable.empty());
    CHECK(report->shards_rebuilt == shards_lost);
    CHECK(stripes_naming(*sim.pool, lost) == 0);
    CHECK(stripes_naming(*sim.pool, 6) == shards_lost);
    auto disks = without(sim.disks, lost);
    disks.push_back(fresh.disk);
    CHECK(stripes_below_full_redundancy(*sim.pool, disks) == 0);
    CHECK(sim.objects_intact());
    CHECK(sim.pool->status().disks[lost].state == "retired");

    // The config now lists the fresh disk: the pool opens with it online.
    sim.disks.push_back(fresh.disk);
    sim.reopen();
    CHECK(sim.pool->status().disks.at(6).online);
    CHECK(sim.objects_intact());
}
