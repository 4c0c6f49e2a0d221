// SMART parsing against every recorded fixture (tests/fixtures/smartctl/, real drives).
#include <doctest/doctest.h>

#include "health_test_support.hpp"

using namespace tiercel::health;
using tiercel::testing::smart_fixture;

TEST_CASE("ATA via SAT: a passing WDC drive with its full attribute table") {
    auto report = smart_fixture("smart-ata.json");
    CHECK(report.status == SmartStatus::passed);
    CHECK(report.protocol == "ATA");
    CHECK(report.model == "WDC WD140EDFZ-11A0VA0");
    CHECK(report.serial == "9RK1XXXX");
    CHECK(report.temperature_c == 32);
    CHECK(report.power_on_hours == 1730);
    REQUIRE(report.attribute(5) != nullptr);
    CHECK(report.attribute(5)->name == "Reallocated_Sector_Ct");
    CHECK(report.attribute(5)->raw == 0);
    CHECK(report.attribute(5)->thresh == 1);
    // The packed temperature raw value reads as its leading number, not 163210330144.
    CHECK(report.attribute(194)->raw == 32);
    CHECK(report.attributes.size() == 18);
}

TEST_CASE("ATA -x output of a Samsung SSD and the dated WDC copy parse alike") {
    auto ssd = smart_fixture("smart-ata-full.json");
    CHECK(ssd.status == SmartStatus::passed);
    CHECK(ssd.model == "Samsung SSD 860 EVO 500GB");
    CHECK(ssd.power_on_hours == 14551);
    CHECK(ssd.attribute(187) != nullptr);
    auto dated = smart_fixture("smart-ata-date.json");
    CHECK(dated.status == SmartStatus::passed);
    CHECK(dated.attributes.size() == 18);
}

TEST_CASE("SAT output without an overall verdict is unknown but has data") {
    auto report = smart_fixture("smart-sat.json");
    CHECK(report.status == SmartStatus::unknown);
    CHECK(report.has_data());
    CHECK(report.reason.find("no overall SMART status") != std::string::npos);
    CHECK(report.temperature_c == 29);
    // "2111 (12437 0)": the event count, not the packed 53416508262463.
    CHECK(report.attribute(196)->raw == 2111);
}

TEST_CASE("NVMe health log") {
    auto report = smart_fixture("smart-nvme.json");
    CHECK(report.status == SmartStatus::passed);
    CHECK(report.protocol == "NVMe");
    REQUIRE(report.nvme.has_value());
    CHECK(report.nvme->critical_warning == 0);
    CHECK(report.nvme->media_errors == 0);
    CHECK(report.nvme->available_spare == 100);
    CHECK(report.nvme->available_spare_threshold == 10);
    CHECK(report.nvme->unsafe_shutdowns == 43);
    CHECK(report.temperature_c == 36);
    CHECK(report.power_on_hours == 2401);
    CHECK(report.attributes.empty());
}

TEST_CASE("SCSI: grown defects and error counters") {
    auto report = smart_fixture("smart-scsi.json");
    CHECK(report.status == SmartStatus::passed);
    CHECK(report.protocol == "SCSI");
    CHECK(report.model == "SEAGATE ST4000NM0043");
    REQUIRE(report.scsi.has_value());
    CHECK(report.scsi->grown_defects == 56);
    CHECK(report.scsi->uncorrected_read_errors == 0);
    CHECK(report.temperature_c == 34);
    CHECK(report.power_on_hours == 43549);
}

TEST_CASE("a device smartctl could not open is unknown with smartctl's message") {
    auto report = smart_fixture("smart-fail.json");
    CHECK(report.status == SmartStatus::unknown);
    CHECK_FALSE(report.has_data());
    CHECK(report.reason.find("Open failed") != std::string::npos);
}

TEST_CASE("discovery-only outputs and garbage carry no SMART data") {
    for (const char* name : {"smartctl_info_nvme.json", "smartctl_scan_nvme.json", "smartctl_scan_simple.json"}) {
        auto report = smart_fixture(name);
        CAPTURE(name);
        CHECK(report.status == SmartStatus::unknown);
        CHECK_FALSE(report.has_data());
        CHECK_FALSE(report.reason.empty());
    }
    auto garbage = parse_smartctl_json("not json {", "/dev/sdq");
    CHECK(garbage.status == SmartStatus::unknown);
    CHECK(garbage.reason.find("no valid JSON") != std::string::npos);
}

TEST_CASE("a FAILED verdict is read as failed") {
    auto report = tiercel::testing::ata_with_raw(5, 0, /*passed=*/false);
    CHECK(report.status == SmartStatus::failed);
}
