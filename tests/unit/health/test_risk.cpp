// The risk model against every recorded fixture, and its memory (rising, decaying, acknowledged counters).
#include <doctest/doctest.h>

#include "health_test_support.hpp"
#include "tiercel/health/risk.hpp"

using namespace tiercel::health;
using tiercel::testing::ata_with_raw;
using tiercel::testing::smart_fixture;

namespace {

// Poll times ten minutes apart, as with the default smart_interval.
int64_t next_poll() {
    static int64_t now = 1'700'000'000;
    return now += 600;
}

RiskAssessment assess_once(const SmartReport& report, DiskSignals signals = {}) {
    RiskTracker tracker;
    return tracker.observe({report}, signals, RiskConfig{}, next_poll());
}

bool names(const RiskAssessment& risk, const std::string& fact) {
    for (const auto& item : risk.explanation)
        if (item.fact == fact)
            return true;
    return false;
}

}  // namespace

TEST_CASE("every passing fixture is ok") {
    for (const char* name : {"smart-ata.json", "smart-ata-date.json", "smart-ata-full.json", "smart-nvme.json",
                             "smart-scsi.json"}) {
        CAPTURE(name);
        auto risk = assess_once(smart_fixture(name));
        CHECK(risk.level == RiskLevel::ok);
        CHECK(risk.score < 0.10);
    }
}

TEST_CASE("the SCSI drive's 56 grown defects are named but do not alarm") {
    auto risk = assess_once(smart_fixture("smart-scsi.json"));
    REQUIRE(names(risk, "scsi.grown_defects"));
    CHECK(risk.explanation[0].detail.find("56") != std::string::npos);
}

TEST_CASE("SAT without a verdict is assessed from its attributes, not called unknown") {
    auto risk = assess_once(smart_fixture("smart-sat.json"));
    CHECK(risk.level == RiskLevel::ok);
    CHECK(names(risk, "smart_status"));
}

TEST_CASE("unreadable SMART is unknown, never ok or failing") {
    auto risk = assess_once(smart_fixture("smart-fail.json"));
    CHECK(risk.level == RiskLevel::unknown);
    REQUIRE(names(risk, "smart"));
    CHECK(risk.explanation[0].detail.find("no SMART data") == 0);
    CHECK(assess_once(no_smart_data("", "tmpfs")).level == RiskLevel::unknown);
}

TEST_CASE("no SMART data but heavy pool errors is at risk, not unknown") {
    DiskSignals signals;
    signals.checksum_errors = 1000;
    signals.read_errors = 1000;
    signals.write_errors = 1000;
    RiskTracker tracker;
    RiskAssessment risk;
    for (int poll = 0; poll < 4; ++poll) {
        signals.checksum_errors += 100;
        risk = tracker.observe({no_smart_data("", "tmpfs")}, signals, RiskConfig{}, next_poll());
    }
    CHECK(severity(risk.level) >= severity(RiskLevel::at_risk));
}

TEST_CASE("a FAILED verdict is failing on that fact alone") {
    auto risk = assess_once(ata_with_raw(5, 0, false));
    CHECK(risk.level == RiskLevel::failing);
    CHECK(risk.score == 1.0);
    CHECK(risk.explanation[0].fact == "smart_status");
}

TEST_CASE("pending or uncorrectable sectors are at risk on that fact alone") {
    for (int id : {197, 198, 187}) {
        CAPTURE(id);
        auto risk = assess_once(ata_with_raw(id, 1));
        CHECK(risk.level == RiskLevel::at_risk);
        REQUIRE_FALSE(risk.explanation.empty());
        CHECK(risk.explanation[0].fact == "ata." + std::to_string(id));
    }
}

TEST_CASE("a few reallocated sectors alone only watch; a rising count escalates to at risk, naming the trend") {
    RiskTracker tracker;
    auto first = tracker.observe({ata_with_raw(5, 8)}, {}, RiskConfig{}, next_poll());
    CHECK(first.level == RiskLevel::watch);
    RiskAssessment risk;
    for (uint64_t raw : {24, 40, 56})
        risk = tracker.observe({ata_with_raw(5, raw)}, {}, RiskConfig{}, next_poll());
    CHECK(risk.level == RiskLevel::at_risk);
    CHECK(risk.at_risk_polls >= 2);
    REQUIRE(risk.explanation[0].fact == "ata.5");
    const std::string& detail = risk.explanation[0].detail;
    CHECK(detail.find("Reallocated_Sector_Ct") != std::string::npos);
    CHECK(detail.find("rising over 3 consecutive polls") != std::string::npos);
    CHECK(detail.find("8 -> 24 -> 40 -> 56") != std::string::npos);
}

TEST_CASE("a counter that stops rising decays back to watch") {
    RiskTracker tracker;
    for (uint64_t raw : {8, 24, 40, 56})
        tracker.observe({ata_with_raw(5, raw)}, {}, RiskConfig{}, next_poll());
    RiskAssessment risk;
    int64_t quiet_time = next_poll();
    for (int quiet = 0; quiet < 48; ++quiet)  // six days without a rise: the escalation halves every 24 hours
        risk = tracker.observe({ata_with_raw(5, 56)}, {}, RiskConfig{}, quiet_time += 3 * 3600);
    CHECK(risk.level == RiskLevel::watch);
    CHECK(risk.at_risk_polls == 0);
    CHECK(risk.explanation[0].detail.find("steady") != std::string::npos);
}

TEST_CASE("an acknowledged counter is quiet until it changes") {
    RiskTracker tracker;
    tracker.observe({ata_with_raw(5, 8)}, {}, RiskConfig{}, next_poll());
    CHECK(tracker.acknowledge("5").ok());  // "5" means ATA attribute 5
    auto quiet = tracker.observe({ata_with_raw(5, 8)}, {}, RiskConfig{}, next_poll());
    CHECK(quiet.level == RiskLevel::ok);
    CHECK(quiet.explanation[0].detail.find("acknowledged at 8") != std::string::npos);
    auto loud = tracker.observe({ata_with_raw(5, 9)}, {}, RiskConfig{}, next_poll());
    CHECK(loud.level == RiskLevel::watch);
    auto missing = tracker.acknowledge("ata.999");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message().find("known: ") != std::string::npos);
}

TEST_CASE("NVMe spare under threshold, critical warning and media errors") {
    auto nvme = smart_fixture("smart-nvme.json");
    nvme.nvme->available_spare = 5;
    CHECK(assess_once(nvme).level == RiskLevel::at_risk);
    nvme = smart_fixture("smart-nvme.json");
    nvme.nvme->critical_warning = 4;
    auto risk = assess_once(nvme);
    CHECK(risk.level == RiskLevel::at_risk);
    CHECK(risk.explanation[0].fact == "nvme.critical_warning");
    nvme = smart_fixture("smart-nvme.json");
    nvme.nvme->media_errors = 3;
    CHECK(names(assess_once(nvme), "nvme.media_errors"));
}

TEST_CASE("temperature, latency against the disk's own baseline, and capacity pressure are explained") {
    auto hot = smart_fixture("smart-ata.json");
    hot.temperature_c = 65;
    auto risk = assess_once(hot);
    CHECK(names(risk, "temperature"));
    CHECK(risk.level == RiskLevel::watch);

    RiskTracker tracker;
    DiskSignals signals;
    for (int i = 0; i < 10; ++i) {
        signals.latency_ms = 4.0;
        tracker.observe({smart_fixture("smart-ata.json")}, signals, RiskConfig{}, next_poll());
    }
    signals.latency_ms = 40.0;
    signals.free_fraction = 0.02;
    auto slow = tracker.observe({smart_fixture("smart-ata.json")}, signals, RiskConfig{}, next_poll());
    CHECK(names(slow, "latency"));
    CHECK(names(slow, "capacity"));
}

TEST_CASE("scores are explained: the weights reproduce the score") {
    auto risk = assess_once(ata_with_raw(188, 3));
    double keep = 1.0;
    for (const auto& fact : risk.explanation)
        keep *= 1.0 - fact.weight;
    CHECK(risk.score == doctest::Approx(1.0 - keep));
}

TEST_CASE("a FAILED verdict that flickers back to PASSED keeps the drive at risk until acknowledged") {
    RiskTracker tracker;
    CHECK(tracker.observe({ata_with_raw(5, 0, false)}, {}, RiskConfig{}, next_poll()).level == RiskLevel::failing);
    auto after = tracker.observe({ata_with_raw(5, 0, true)}, {}, RiskConfig{}, next_poll());
    CHECK(after.level == RiskLevel::at_risk);
    CHECK(after.explanation[0].detail.find("FAILED on an earlier poll") != std::string::npos);
    CHECK(tracker.acknowledge("smart_status").ok());
    CHECK(tracker.observe({ata_with_raw(5, 0, true)}, {}, RiskConfig{}, next_poll()).level == RiskLevel::ok);
}
