// Drain, remove and their refusals on SimDisk pools.
#include <atomic>
#include <thread>

#include "maintenance_test_support.hpp"

using namespace tiercel;
using namespace tiercel::pool;
using namespace tiercel::pool::test;

TEST_CASE("drain keeps full redundancy at every sampled point and empties the disk") {
    SimPool sim(8, 4, 2);
    sim.fill(24, 40 * 1024);  // 24 objects x 3 stripes of 16 KiB
    const uint32_t drained = 2;
    REQUIRE(stripes_naming(*sim.pool, drained) > 10);

    // A concurrent reader: every object must read back identical while shards move.
    std::atomic<bool> stop{false};
    std::atomic<int> read_failures{0}, reads{0};
    std::thread reader([&] {
        while (!stop) {
            for (const auto& [name, content] : sim.objects) {
                Status status;
                if (sim.read(name, &status) != content || !status)
                    read_failures++;
                reads++;
            }
        }
    });
    size_t samples = 0, below = 0;
    std::string problem;
    MaintenanceOptions options;
    options.batch_stripes = 4;
    options.after_batch = [&](uint64_t) {
        samples++;
        below += stripes_below_full_redundancy(*sim.pool, sim.disks, &problem);
    };
    auto report = drain_disk(*sim.pool, drained, options);
    stop = true;
    reader.join();
    REQUIRE_MESSAGE(report.ok(), why(report));
    INFO(problem);
    CHECK(report->complete);
    CHECK(report->unrepairable.empty());
    CHECK(samples >= 3);
    CHECK(below == 0);
    CHECK(reads > 0);
    CHECK(read_failures == 0);
    CHECK(report->shards_copied == report->stripes_changed);
    CHECK(stripes_naming(*sim.pool, drained) == 0);
    CHECK(shard_files_on(*sim.disks[drained]) == 0);
    CHECK(sim.pool->status().disks[drained].state == "retired");
    CHECK(stripes_below_full_redundancy(*sim.pool, sim.disks) == 0);
    CHECK(sim.objects_intact());

    // It survives a reopen: the state is committed and the shards stay where the records say.
    sim.reopen();
    CHECK(sim.pool->status().disks[drained].state == "retired");
    CHECK(sim.objects_intact());
    // Now empty, it can be removed; its label goes.
    auto removed = remove_disk(*sim.pool, drained);
    REQUIRE_MESSAGE(removed.ok(), why(removed));
    CHECK_FALSE(read_label(*sim.disks[drained]).ok());
}

TEST_CASE("drain refuses when too few disks would remain") {
    SimPool sim(6, 4, 2);
    sim.fill(4, 40 * 1024);
    auto report = drain_disk(*sim.pool, 1, {});
    REQUIRE_FALSE(report.ok());
    CHECK(report.error().code() == Errc::unavailable);
    CHECK(report.error().message().find("needs 6 distinct disks") != std::string::npos);
    CHECK(sim.pool->status().disks[1].state == "active");  // nothing changed
}

TEST_CASE("drain refuses when the other disks lack room") {
    SimPool sim(7, 4, 2, 4096, 256ull << 20);
    sim.fill(16, 64 * 1024);
    const uint32_t drained = 3;
    // Ballast leaves every other disk just above the 64 MiB placement reserve: far less than the drained disk holds.
    for (uint32_t i = 0; i < sim.disks.size(); ++i) {
        if (i == drained)
            continue;
        auto space = sim.disks[i]->space();
        REQUIRE(space.ok());
        uint64_t ballast = space->free_bytes - kPlacementReserveBytes - 4096;
        std::vector<std::byte> bytes(ballast);
        REQUIRE(sim.disks[i]->write_file("ballast", bytes, false).ok());
    }
    auto report = drain_disk(*sim.pool, drained, {});
    REQUIRE_FALSE(report.ok());
    CHECK(report.error().code() == Errc::no_space);
    CHECK(report.error().message().find("free above their 64 MiB reserve") != std::string::npos);
    CHECK(sim.pool->status().disks[drained].state == "active");
    CHECK(sim.objects_intact());
}

TEST_CASE("remove refuses a disk that still holds needed shards") {
    SimPool sim(7, 4, 2);
    sim.fill(6, 40 * 1024);
    auto removed = remove_disk(*sim.pool, 0);
    REQUIRE_FALSE(removed.ok());
    CHECK(removed.error().code() == Errc::busy);
    CHECK(removed.error().message().find("still holds") != std::string::npos);
    CHECK(read_label(*sim.disks[0]).ok());
    CHECK(sim.pool->status().disks[0].state == "active");
}
