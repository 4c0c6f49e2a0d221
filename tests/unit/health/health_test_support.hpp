// Test support for the health module: reading the recorded smartctl fixtures (tests/fixtures/smartctl/).
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tiercel/health/smart.hpp"

namespace tiercel::testing {

inline std::string smart_fixture_path(const std::string& name) {
    return std::string(TIERCEL_SOURCE_DIR) + "/tests/fixtures/smartctl/" + name;
}

inline std::string read_smart_fixture(const std::string& name) {
    std::ifstream in(smart_fixture_path(name));
    REQUIRE_MESSAGE(in.good(), "missing fixture " << name);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

inline health::SmartReport smart_fixture(const std::string& name) {
    return health::parse_smartctl_json(read_smart_fixture(name), "/dev/" + name);
}

// smart-ata.json (a real WDC 14 TB drive) with attribute `id` raw set to `raw`: a degrading copy of a real drive.
// The WDC table lacks 187 and 188; they are appended (as on drives that report them) when asked for.
inline health::SmartReport ata_with_raw(int id, uint64_t raw, bool passed = true) {
    auto json = nlohmann::json::parse(read_smart_fixture("smart-ata.json"));
    bool found = false;
    for (auto& row : json["ata_smart_attributes"]["table"])
        if (row["id"] == id) {
            row["raw"] = {{"value", raw}, {"string", std::to_string(raw)}};
            found = true;
        }
    if (!found)
        json["ata_smart_attributes"]["table"].push_back({{"id", id},
                                                         {"name", "Attribute_" + std::to_string(id)},
                                                         {"value", 100},
                                                         {"worst", 100},
                                                         {"thresh", 0},
                                                         {"raw", {{"value", raw}, {"string", std::to_string(raw)}}}});
    json["smart_status"]["passed"] = passed;
    return health::parse_smartctl_json(json.dump(), "/dev/sdz");
}

}  // namespace tiercel::testing
