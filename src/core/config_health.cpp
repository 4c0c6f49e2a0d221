// The [health] and [planner] sections.
#include <algorithm>

#include "tiercel/core/config.hpp"
#include "tiercel/core/config_reader.hpp"
#include "tiercel/core/units.hpp"

namespace tiercel {
namespace {

const std::vector<std::string> kActionClasses{"scrub", "heal", "drain", "rebalance", "hsm_stub", "reprotect"};

void read_fraction(TableReader& reader, std::string_view key, double& out, double min, double max) {
    reader.read_percent(key, out);
    if (out < min || out > max)
        reader.fail(key, "must be between " + std::to_string(static_cast<int>(min * 100)) + "% and " +
                             std::to_string(static_cast<int>(max * 100)) + "%");
}

}  // namespace

void parse_health_section(TableReader& root, HealthConfig& health) {
    const toml::table* table = root.sub_table("health");
    if (!table)
        return;
    TableReader reader(*table, "health", root.errors());
    reader.read_checked_string("smartctl", health.smartctl, [](const std::string& value) {
        return value.empty() ? "must name a program (a path, or a name looked up in PATH)" : std::string();
    });
    reader.read_duration("smart_interval", health.smart_interval);
    if (health.smart_interval < std::chrono::milliseconds(100))
        reader.fail("smart_interval", "must be at least 100ms");
    reader.read_duration("smart_timeout", health.smart_timeout);
    if (health.smart_timeout < std::chrono::milliseconds(100))
        reader.fail("smart_timeout", "must be at least 100ms");
    reader.read_string_list("watch", health.watch);
    for (const auto& path : health.watch)
        if (path.empty() || path.front() != '/')
            reader.fail("watch", "'" + path + "' must be an absolute path");
    reader.read_int("temperature_warn_c", health.temperature_warn_c, 0, 150);
    reader.read_int("temperature_crit_c", health.temperature_crit_c, 0, 150);
    if (health.temperature_crit_c <= health.temperature_warn_c)
        reader.fail("temperature_crit_c", "must be above temperature_warn_c");
    reader.read_int("latency_factor", health.latency_factor, 2, 1000);
    int64_t history = static_cast<int64_t>(health.history);
    reader.read_int("history", history, 1, 100'000);
    health.history = static_cast<uint64_t>(history);
    reader.finish();
}

void parse_planner_section(TableReader& root, PlannerConfig& planner) {
    const toml::table* table = root.sub_table("planner");
    if (!table)
        return;
    TableReader reader(*table, "planner", root.errors());
    reader.read_bool("enabled", planner.enabled);
    reader.read_duration("interval", planner.interval);
    if (planner.interval < std::chrono::milliseconds(100))
        reader.fail("interval", "must be at least 100ms");
    reader.read_string_list("auto_approve", planner.auto_approve);
    for (const auto& action : planner.auto_approve)
        if (std::find(kActionClasses.begin(), kActionClasses.end(), action) == kActionClasses.end())
            reader.fail("auto_approve", "'" + action +
                                            "' is not an action class (scrub, heal, drain, rebalance, hsm_stub, "
                                            "reprotect)");
    reader.read_duration("scrub_interval", planner.scrub_interval);
    reader.read_size("budget_bytes", planner.budget_bytes);
    reader.read_duration("budget_time", planner.budget_time);
    reader.read_size("bandwidth_limit", planner.bandwidth_limit);
    reader.read_duration("cooldown", planner.cooldown);
    reader.read_int("drain_confirm_polls", planner.drain_confirm_polls, 1, 1000);
    read_fraction(reader, "rebalance_skew", planner.rebalance_skew, 0.01, 1.0);
    read_fraction(reader, "reserve", planner.reserve, 0.0, 0.9);
    int64_t latency = static_cast<int64_t>(planner.max_foreground_latency_ms);
    reader.read_int("max_foreground_latency_ms", latency, 1, 600'000);
    planner.max_foreground_latency_ms = static_cast<double>(latency);
    reader.finish();
}

void render_health_section(const HealthConfig& health, toml::table& out) {
    toml::array watch;
    for (const auto& path : health.watch)
        watch.push_back(path);
    out.insert("health", toml::table{{"smartctl", health.smartctl},
                                     {"smart_interval", format_duration(health.smart_interval)},
                                     {"smart_timeout", format_duration(health.smart_timeout)},
                                     {"watch", std::move(watch)},
                                     {"temperature_warn_c", health.temperature_warn_c},
                                     {"temperature_crit_c", health.temperature_crit_c},
                                     {"latency_factor", health.latency_factor},
                                     {"history", static_cast<int64_t>(health.history)}});
}

void render_planner_section(const PlannerConfig& planner, toml::table& out) {
    toml::array approve;
    for (const auto& action : planner.auto_approve)
        approve.push_back(action);
    auto percent = [](double fraction) { return std::to_string(static_cast<int>(fraction * 100 + 0.5)) + "%"; };
    out.insert("planner", toml::table{{"enabled", planner.enabled},
                                      {"interval", format_duration(planner.interval)},
                                      {"auto_approve", std::move(approve)},
                                      {"scrub_interval", format_duration(planner.scrub_interval)},
                                      {"budget_bytes", static_cast<int64_t>(planner.budget_bytes)},
                                      {"budget_time", format_duration(planner.budget_time)},
                                      {"bandwidth_limit", static_cast<int64_t>(planner.bandwidth_limit)},
                                      {"cooldown", format_duration(planner.cooldown)},
                                      {"drain_confirm_polls", planner.drain_confirm_polls},
                                      {"rebalance_skew", percent(planner.rebalance_skew)},
                                      {"reserve", percent(planner.reserve)},
                                      {"max_foreground_latency_ms",
                                       static_cast<int64_t>(planner.max_foreground_latency_ms)}});
}

}  // namespace tiercel
