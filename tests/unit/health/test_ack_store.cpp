// Acknowledgements survive a restart: saved in real SQLite, reopened, and put back into a fresh risk tracker (the
// daemon's restart path), where the counter stays quiet until its value changes.
#include <doctest/doctest.h>

#include "../support/temp_dir.hpp"
#include "health_test_support.hpp"
#include "tiercel/health/ack_store.hpp"
#include "tiercel/health/health_model.hpp"

using namespace tiercel::health;
using tiercel::testing::ata_with_raw;

namespace {

int64_t poll_time(int n) { return 1'700'000'000 + 600 * n; }

const RiskFact* find_fact(const RiskAssessment& risk, const std::string& key) {
    for (const auto& fact : risk.explanation)
        if (fact.fact == key)
            return &fact;
    return nullptr;
}

}  // namespace

TEST_CASE("acknowledgements round-trip through SQLite and survive a reopen") {
    tiercel::testing::TempDir dir("tiercel-acks");
    std::string path = dir.path() + "/health.db";
    {
        auto store = AckStore::open(path);
        REQUIRE_MESSAGE(store.ok(), store.error().message());
        REQUIRE((*store)->save({"disk3", "ata.5", 24, 1000}).ok());
        REQUIRE((*store)->save({"disk3", "ata.197", 2, 1001}).ok());
        REQUIRE((*store)->save({"disk3", "ata.5", 40, 1002}).ok());  // replaces the first row
        REQUIRE((*store)->erase("disk3", "ata.197").ok());
    }
    auto store = AckStore::open(path);
    REQUIRE_MESSAGE(store.ok(), store.error().message());
    auto acks = (*store)->load();
    REQUIRE(acks.ok());
    REQUIRE(acks->size() == 1);
    CHECK((*acks)[0].disk == "disk3");
    CHECK((*acks)[0].counter == "ata.5");
    CHECK((*acks)[0].value == 40);
    CHECK((*acks)[0].at == 1002);
}

TEST_CASE("a restored acknowledgement keeps the counter quiet until it changes, then it speaks and rises") {
    // Before the restart: attribute 5 rose to 24 and a person acknowledged it.
    RiskTracker before;
    before.observe({ata_with_raw(5, 8)}, {}, RiskConfig{}, poll_time(0));
    before.observe({ata_with_raw(5, 24)}, {}, RiskConfig{}, poll_time(1));
    REQUIRE(before.acknowledge("5").ok());
    auto saved = before.acknowledgements();
    REQUIRE(saved.size() == 1);
    CHECK(saved.at("ata.5") == 24);

    // After the restart: a fresh tracker, the acknowledgement put back from the store.
    HealthModel model(tiercel::HealthConfig{});
    model.restore_acknowledgement("disk3", "ata.5", saved.at("ata.5"));
    DiskTarget target{"disk3", "disk3", "/srv/d3", "hdd", "/dev/sdz", 3};
    model.update({target}, {{"disk3", {"/dev/sdz"}, "", {ata_with_raw(5, 24)}}}, {}, poll_time(2));
    const RiskAssessment& quiet = model.disks().at("disk3").risk;
    CHECK(quiet.level == RiskLevel::ok);
    const RiskFact* fact = find_fact(quiet, "ata.5");
    REQUIRE(fact);
    CHECK(fact->weight == 0);
    CHECK(fact->detail.find("acknowledged at 24") != std::string::npos);
    CHECK(model.acknowledgements("disk3").at("ata.5") == 24);

    model.update({target}, {{"disk3", {"/dev/sdz"}, "", {ata_with_raw(5, 40)}}}, {}, poll_time(3));
    const RiskAssessment& loud = model.disks().at("disk3").risk;
    fact = find_fact(loud, "ata.5");
    REQUIRE(fact);
    CHECK(fact->weight > 0);
    CHECK_MESSAGE(fact->detail.find("rising over 1 consecutive poll (24 -> 40)") != std::string::npos, fact->detail);
    CHECK(model.acknowledgements("disk3").empty());  // HealthService then erases the row
}
