#include "tiercel/core/units.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

namespace tiercel {
namespace {

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    return text;
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Splits "1.5GiB" into 1.5 and "gib". Fails when there is no leading number.
Result<std::pair<double, std::string>> split_number(std::string_view text, std::string_view what) {
    text = trim(text);
    size_t end = 0;
    while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.'))
        ++end;
    if (end == 0)
        return make_error(Errc::invalid_input, "'" + std::string(text) + "' is not a " + std::string(what));
    double number = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + end, number);
    if (ec != std::errc() || ptr != text.data() + end)
        return make_error(Errc::invalid_input, "'" + std::string(text) + "' is not a " + std::string(what));
    return std::pair{number, lower(trim(text.substr(end)))};
}

}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
    static constexpr std::array<std::pair<std::string_view, double>, 15> units{{
        {"", 1.0}, {"b", 1.0},
        {"k", 1e3}, {"kb", 1e3}, {"m", 1e6}, {"mb", 1e6}, {"g", 1e9}, {"gb", 1e9}, {"t", 1e12}, {"tb", 1e12},
        {"kib", 1024.0}, {"mib", 1048576.0}, {"gib", 1073741824.0}, {"tib", 1099511627776.0},
        {"pib", 1125899906842624.0},
    }};
    const std::string_view expected = "size (like 4096, 64KiB, 1MiB, 4TB)";
    TIERCEL_ASSIGN(auto parts, split_number(text, expected));
    for (const auto& [suffix, factor] : units) {
        if (parts.second == suffix) {
            double bytes = parts.first * factor;
            if (bytes > 1.8e19)
                return make_error(Errc::invalid_input, "size '" + std::string(text) + "' is too large");
            if (bytes != std::floor(bytes))
                return make_error(Errc::invalid_input, "size '" + std::string(text) + "' is not a whole number of bytes");
            return static_cast<uint64_t>(bytes);
        }
    }
    return make_error(Errc::invalid_input, "'" + std::string(text) + "' has an unknown unit; expected a " +
                                               std::string(expected));
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    static constexpr std::array<std::pair<std::string_view, double>, 7> units{{
        {"ms", 1.0}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}, {"d", 86400e3}, {"w", 604800e3}, {"", 1e3},
    }};
    const std::string_view expected = "duration (like 500ms, 90s, 10m, 12h, 30d)";
    TIERCEL_ASSIGN(auto parts, split_number(text, expected));
    for (const auto& [suffix, factor] : units) {
        if (parts.second == suffix) {
            double ms = parts.first * factor;
            if (ms > 1e15)
                return make_error(Errc::invalid_input, "duration '" + std::string(text) + "' is too long");
            return std::chrono::milliseconds(static_cast<int64_t>(std::llround(ms)));
        }
    }
    return make_error(Errc::invalid_input, "'" + std::string(text) + "' has an unknown unit; expected a " +
                                               std::string(expected));
}

Result<double> parse_percent(std::string_view text) {
    const std::string_view expected = "percentage (like 85%)";
    TIERCEL_ASSIGN(auto parts, split_number(text, expected));
    if (parts.second != "%")
        return make_error(Errc::invalid_input, "'" + std::string(text) + "' is not a " + std::string(expected));
    if (parts.first > 100.0)
        return make_error(Errc::invalid_input, "percentage '" + std::string(text) + "' is above 100%");
    return parts.first / 100.0;
}

std::string format_size(uint64_t bytes) {
    static constexpr std::array<std::string_view, 6> names{"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double value = static_cast<double>(bytes);
    size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < names.size()) {
        value /= 1024.0;
        ++unit;
    }
    char buffer[64];
    if (value == std::floor(value))
        std::snprintf(buffer, sizeof buffer, "%.0f %s", value, names[unit].data());
    else
        std::snprintf(buffer, sizeof buffer, "%.1f %s", value, names[unit].data());
    return buffer;
}

std::string format_duration(std::chrono::milliseconds duration) {
    int64_t ms = duration.count();
    if (ms < 1000)
        return std::to_string(ms) + "ms";
    int64_t seconds = ms / 1000;
    std::string out;
    const std::array<std::pair<int64_t, char>, 4> parts{{{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}}};
    for (const auto& [size, suffix] : parts) {
        if (seconds >= size) {
            out += std::to_string(seconds / size) + suffix;
            seconds %= size;
        }
    }
    return out;
}

}  // namespace tiercel
