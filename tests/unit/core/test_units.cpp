// Sizes, durations and percentages as written in configs and flags.
#include <doctest/doctest.h>

#include "tiercel/core/units.hpp"

using namespace tiercel;

TEST_CASE("sizes parse with SI and IEC units") {
    CHECK(*parse_size("4096") == 4096);
    CHECK(*parse_size("1MiB") == 1048576);
    CHECK(*parse_size("1 mib") == 1048576);
    CHECK(*parse_size("4TB") == 4'000'000'000'000ULL);
    CHECK(*parse_size("1.5KiB") == 1536);
    CHECK_FALSE(parse_size("").ok());
    CHECK_FALSE(parse_size("MiB").ok());
    CHECK_FALSE(parse_size("1.3B").ok());
    CHECK_FALSE(parse_size("5 parsecs").ok());
    CHECK_FALSE(parse_size("99999999EiB").ok());
}

TEST_CASE("durations parse with units") {
    CHECK(parse_duration("500ms")->count() == 500);
    CHECK(parse_duration("90s")->count() == 90'000);
    CHECK(parse_duration("10m")->count() == 600'000);
    CHECK(parse_duration("30d")->count() == 30LL * 86'400'000);
    CHECK_FALSE(parse_duration("soon").ok());
}

TEST_CASE("percentages are bounded") {
    CHECK(*parse_percent("85%") == doctest::Approx(0.85));
    CHECK_FALSE(parse_percent("85").ok());
    CHECK_FALSE(parse_percent("150%").ok());
}

TEST_CASE("sizes and durations print for people") {
    CHECK(format_size(1048576) == "1 MiB");
    CHECK(format_size(1536) == "1.5 KiB");
    CHECK(format_duration(std::chrono::milliseconds(90'000)) == "1m30s");
    CHECK(format_duration(std::chrono::milliseconds(250)) == "250ms");
}
