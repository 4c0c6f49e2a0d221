// add_disk + rebalance: a larger disk joins and the fill ends within 10 % of every disk's capacity share.
#include "maintenance_test_support.hpp"

using namespace tiercel;
using namespace tiercel::pool;
using namespace tiercel::pool::test;

TEST_CASE("a larger added disk is filled by rebalance to within 10% of the weights") {
    // 768 MiB of 4864 (16 %) is below the 1/(k+m) = 17 % one disk can hold at most (one shard per stripe).
    SimPool sim(8, 4, 2, 4096, 512ull << 20);
    sim.fill(60, 64 * 1024);
    NewDisk big;
    big.disk = sim_disk("big", 768ull << 20);
    big.path = "/sim/big";
    auto id = add_disk(*sim.pool, big);
    REQUIRE_MESSAGE(id.ok(), why(id));
    CHECK(*id == 8);
    CHECK(read_label(*big.disk)->disk_id == 8);
    // A second add of the same directory is refused: it already belongs to the pool.
    CHECK(add_disk(*sim.pool, big).error().code() == Errc::already_exists);

    auto spread = [&] {
        double worst = 0;
        for (const auto& fill : disk_fill(*sim.pool))
            worst = std::max(worst, std::abs(fill.share - 1.0));
        return worst;
    };
    CHECK(spread() > 0.9);  // the new disk is empty
    auto report = rebalance_pool(*sim.pool, {});
    REQUIRE_MESSAGE(report.ok(), why(report));
    CHECK(report->unrepairable.empty());
    CHECK(report->shards_copied > 0);
    for (const auto& fill : disk_fill(*sim.pool))
        CHECK_MESSAGE(std::abs(fill.share - 1.0) <= 0.10, "disk" << fill.disk_id << " share " << fill.share);
    auto disks = sim.disks;
    disks.push_back(big.disk);
    CHECK(stripes_below_full_redundancy(*sim.pool, disks) == 0);
    CHECK(sim.objects_intact());
    // Balanced: a second run moves nothing.
    auto again = rebalance_pool(*sim.pool, {});
    REQUIRE(again.ok());
    CHECK(again->stripes_changed == 0);
}
