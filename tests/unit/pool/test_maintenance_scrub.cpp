// Scrub: 100 shard corruptions and one metadata replica corruption are all repaired; a second scrub finds nothing.
#include <random>

#include "maintenance_test_support.hpp"

using namespace tiercel;
using namespace tiercel::pool;
using namespace tiercel::pool::test;

TEST_CASE("scrub repairs 100 corrupt shards and a damaged metadata replica") {
    SimPool sim(6, 4, 2);
    sim.fill(40, 60 * 1024);  // 4 stripes each: 160 stripes
    std::vector<std::pair<uint64_t, StripeRecord>> stripes;
    sim.pool->meta().scan(kStripePrefix, [&](std::string_view key, std::string_view value) {
        stripes.emplace_back(stripe_id_from_key(key), *decode_stripe(value, key));
        return true;
    });
    REQUIRE(stripes.size() >= 100);
    std::mt19937 rng(42);
    std::shuffle(stripes.begin(), stripes.end(), rng);
    for (size_t i = 0; i < 100; ++i) {
        auto& [id, record] = stripes[i];
        unsigned index = rng() % record.shard_disks.size();
        std::string path = shard_path(id, record.generation, index);
        auto& disk = sim.disks[record.shard_disks[index]];
        auto bytes = disk->read_file(path);
        REQUIRE(bytes.ok());
        size_t offset = rng() % bytes->size();
        (*bytes)[offset] ^= std::byte{static_cast<uint8_t>(1u << (rng() % 8))};
        REQUIRE(disk->write_file(path, *bytes, true).ok());
    }
    // One metadata replica: a bit flip in the middle of its log.
    auto files = sim.disks[0]->list("meta");
    REQUIRE(files.ok());
    std::string log;
    for (const auto& file : *files)
        if (file.rfind("log.", 0) == 0)
            log = "meta/" + file;
    REQUIRE_FALSE(log.empty());
    auto bytes = sim.disks[0]->read_file(log);
    REQUIRE(bytes.ok());
    (*bytes)[bytes->size() / 2] ^= std::byte{0x20};
    REQUIRE(sim.disks[0]->write_file(log, *bytes, true).ok());

    auto report = scrub_pool(*sim.pool, {});
    REQUIRE_MESSAGE(report.ok(), why(report));
    CHECK(report->complete);
    CHECK(report->shards_bad == 100);
    CHECK(report->shards_rebuilt == 100);
    CHECK(report->stripes_changed == 100);
    CHECK(report->unrepairable.empty());
    CHECK(report->metadata_repaired);
    CHECK_FALSE(report->metadata_findings.empty());
    CHECK(stripes_below_full_redundancy(*sim.pool, sim.disks) == 0);
    CHECK(sim.objects_intact());

    auto second = scrub_pool(*sim.pool, {});
    REQUIRE(second.ok());
    CHECK(second->shards_bad == 0);
    CHECK(second->shards_checked == stripes.size() * 6);
    CHECK(second->stripes_changed == 0);
    CHECK_FALSE(second->metadata_repaired);
    CHECK(second->metadata_findings.empty());
}

TEST_CASE("scrub with a byte budget stops and the next run continues") {
    SimPool sim(6, 4, 2);
    sim.fill(10, 64 * 1024);  // 40 stripes of 16 KiB
    MaintenanceOptions options;
    options.budget_bytes = 10 * 16 * 1024;
    options.batch_stripes = 4;
    auto first = scrub_pool(*sim.pool, options);
    REQUIRE(first.ok());
    CHECK_FALSE(first->complete);
    CHECK(first->stopped_because == "budget");
    CHECK(first->stripes_checked >= 10);
    CHECK(first->stripes_checked < 40);
    auto second = scrub_pool(*sim.pool, {});
    REQUIRE(second.ok());
    CHECK(second->complete);
    CHECK(second->stripes_skipped == first->stripes_checked);
    CHECK(first->stripes_checked + second->stripes_checked == 40);
}
