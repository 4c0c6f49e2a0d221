// Contract: parsing and printing of the human units used in config files and CLI flags.
// Sizes: "4096", "1MiB", "4 TB", "1.5GiB" (SI and IEC suffixes, case-insensitive "b"); durations: "90s", "10m",
// "12h", "30d", "1w", "500ms"; percentages: "85%". Every parse failure says what was expected.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "tiercel/core/error.hpp"

namespace tiercel {

Result<uint64_t> parse_size(std::string_view text);
Result<std::chrono::milliseconds> parse_duration(std::string_view text);
// "85%" -> 0.85; must lie in [0, 100].
Result<double> parse_percent(std::string_view text);

// 1536 -> "1.5 KiB"; exact multiples print without decimals ("1 MiB").
std::string format_size(uint64_t bytes);
// 90000ms -> "1m30s".
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace tiercel
