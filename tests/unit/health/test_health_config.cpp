// The [health] and [planner] config sections: values, defaults, errors, and the rendered effective config.
#include <doctest/doctest.h>

#include "tiercel/core/config.hpp"

using tiercel::parse_config;

TEST_CASE("[health] and [planner] defaults") {
    auto config = parse_config("", "empty.toml");
    REQUIRE(config.ok());
    CHECK(config->health.smartctl == "smartctl");
    CHECK(config->health.smart_interval == std::chrono::minutes(10));
    CHECK(config->planner.auto_approve == std::vector<std::string>{"scrub", "heal"});
    CHECK(config->planner.drain_confirm_polls == 3);
}

TEST_CASE("[health] and [planner] values are read and rendered") {
    auto config = parse_config(R"(
[health]
smartctl = "/usr/local/bin/fake-smartctl"
smart_interval = "30s"
watch = ["/srv/hot"]
temperature_warn_c = 45
temperature_crit_c = 55
[planner]
auto_approve = ["scrub", "heal", "drain"]
scrub_interval = "14d"
budget_bytes = "100GiB"
cooldown = "2h"
rebalance_skew = "30%"
reserve = "5%"
)", "h.toml");
    REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().message()));
    CHECK(config->health.smart_interval == std::chrono::seconds(30));
    CHECK(config->health.watch == std::vector<std::string>{"/srv/hot"});
    CHECK(config->planner.auto_approve.size() == 3);
    CHECK(config->planner.budget_bytes == 100ULL << 30);
    CHECK(config->planner.rebalance_skew == doctest::Approx(0.30));
    auto rendered = tiercel::render_config_toml(*config);
    CHECK(rendered.find("fake-smartctl") != std::string::npos);
    CHECK(rendered.find("[planner]") != std::string::npos);
    auto again = parse_config(rendered, "rendered.toml");
    REQUIRE_MESSAGE(again.ok(), (again.ok() ? "" : again.error().message()));
    CHECK(again->planner.auto_approve == config->planner.auto_approve);
    CHECK(again->health.smart_interval == config->health.smart_interval);
}

TEST_CASE("bad [health] and [planner] values are named") {
    auto bad = parse_config("[planner]\nauto_approve = [\"defrag\"]\n[health]\nsmart_interval = \"10ms\"\nbogus = 1\n",
                            "bad.toml");
    REQUIRE_FALSE(bad.ok());
    const std::string& message = bad.error().message();
    CHECK(message.find("'defrag' is not an action class") != std::string::npos);
    CHECK(message.find("smart_interval") != std::string::npos);
    CHECK(message.find("bogus") != std::string::npos);
    auto temps = parse_config("[health]\ntemperature_warn_c = 60\ntemperature_crit_c = 50\n", "t.toml");
    REQUIRE_FALSE(temps.ok());
    CHECK(temps.error().message().find("must be above temperature_warn_c") != std::string::npos);
}
