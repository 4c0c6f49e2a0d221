// The [hsm] section: the commented example in config/tiercel.toml, values, errors, and rendering.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "tiercel/core/config.hpp"

using tiercel::parse_config;

namespace {

// The example's [hsm] block (up to the first line that is not a comment) with its leading "# " removed (comments
// after values stay comments).
std::string uncommented_example() {
    std::ifstream in(std::string(TIERCEL_SOURCE_DIR) + "/config/tiercel.toml");
    std::string line, out;
    bool inside = false;
    while (std::getline(in, line)) {
        if (line == "# [hsm]")
            inside = true;
        else if (inside && line.rfind("#", 0) != 0)
            break;  // the commented example ends at the first line that is not a comment
        if (inside && line.rfind("# ", 0) == 0)
            out += line.substr(2) + "\n";
        else if (inside && line == "#")
            out += "\n";
        else if (inside)
            break;  // a blank or uncommented line ends the example (the next section follows)
    }
    return out;
}

}  // namespace

TEST_CASE("the commented [hsm] example in config/tiercel.toml is valid") {
    auto text = uncommented_example();
    REQUIRE(text.find("[[hsm.target]]") != std::string::npos);
    auto config = parse_config(text, "example");
    REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().message()));
    CHECK(config->hsm.configured);
    CHECK(config->hsm.targets.at(0).name == "shelf");
    CHECK(config->hsm.rules.at(0).min_size == (1u << 20));
    CHECK(config->hsm.rules.at(0).idle == std::chrono::hours(24 * 30));
    CHECK(config->hsm.high_water == doctest::Approx(0.85));
    CHECK(config->hsm.processes.at(0).action == "deny");
    CHECK(config->hsm.scan_interval == std::chrono::minutes(10));
    CHECK(config->hsm.keep_versions == 3);
    CHECK(config->hsm.keep_days == 0);
    auto rendered = render_config_toml(*config);
    auto again = parse_config(rendered.substr(rendered.find('\n') + 1), "rendered");
    REQUIRE_MESSAGE(again.ok(), (again.ok() ? "" : again.error().message()));
    CHECK(again->hsm.rules.at(0).copies == config->hsm.rules.at(0).copies);
    CHECK(again->hsm.low_water == doctest::Approx(0.75));
    CHECK(again->hsm.scan_interval == config->hsm.scan_interval);
    CHECK(again->hsm.keep_versions == 3);
}

TEST_CASE("[hsm] errors name the key") {
    auto result = parse_config("[hsm]\n[[hsm.rule]]\ninclude = [\"/a/**\"]\ncopies = [\"nowhere\"]\n", "h.toml");
    REQUIRE(!result.ok());
    CHECK(result.error().message().find("nowhere") != std::string::npos);
    result = parse_config("[hsm]\n[hsm.space]\nhigh_water = \"50%\"\nlow_water = \"60%\"\n", "h.toml");
    REQUIRE(!result.ok());
    CHECK(result.error().message().find("low_water") != std::string::npos);
    result = parse_config("[hsm]\nscan_interval = \"100ms\"\n", "h.toml");
    REQUIRE(!result.ok());
    CHECK(result.error().message().find("scan_interval") != std::string::npos);
    result = parse_config("[hsm]\nkeep_versions = -1\n", "h.toml");
    REQUIRE(!result.ok());
    CHECK(result.error().message().find("keep_versions") != std::string::npos);
    result = parse_config("[hsm]\nwatch = [\"relative\"]\n", "h.toml");
    REQUIRE(!result.ok());
    result = parse_config("[hsm]\n[[hsm.target]]\nname = \"x\"\ntype = \"dir\"\n", "h.toml");
    REQUIRE(!result.ok());
    CHECK(result.error().message().find("path") != std::string::npos);
}
