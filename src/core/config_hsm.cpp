// The [hsm] section: watched filesystems, [[hsm.target]], [[hsm.rule]], [hsm.space] and [[hsm.process]].
#include <set>

#include "tiercel/core/config.hpp"
#include "tiercel/core/config_reader.hpp"
#include "tiercel/core/units.hpp"

namespace tiercel {
namespace {

std::string absolute_path_check(const std::string& value) {
    return !value.empty() && value.front() == '/' ? std::string() : "must be an absolute path";
}

void parse_target(const toml::table& table, size_t index, ConfigErrors& errors, HsmTargetConfig& target) {
    TableReader reader(table, "hsm.target[" + std::to_string(index) + "]", errors);
    reader.read_string("name", target.name);
    if (target.name.empty())
        reader.fail("name", "is required: rules name their copies by it");
    reader.read_choice("type", target.type, {"dir", "pool"});
    reader.read_checked_string("path", target.path, absolute_path_check);
    if (target.type == "dir" && target.path.empty())
        reader.fail("path", "is required for a dir target: the directory that holds the payloads");
    reader.finish();
}

void parse_rule(const toml::table& table, size_t index, ConfigErrors& errors, HsmRuleConfig& rule) {
    TableReader reader(table, "hsm.rule[" + std::to_string(index) + "]", errors);
    reader.read_string("name", rule.name);
    if (rule.name.empty())
        rule.name = "rule" + std::to_string(index);
    reader.read_string_list("include", rule.include);
    reader.read_string_list("exclude", rule.exclude);
    reader.read_size("min_size", rule.min_size);
    reader.read_duration("idle", rule.idle);
    reader.read_string_list("copies", rule.copies);
    if (rule.include.empty())
        reader.fail("include", "is required: the globs of files this rule archives");
    if (rule.copies.empty())
        reader.fail("copies", "is required: the targets that receive a copy");
    reader.finish();
}

void parse_process(const toml::table& table, size_t index, ConfigErrors& errors, HsmProcessRule& process) {
    TableReader reader(table, "hsm.process[" + std::to_string(index) + "]", errors);
    reader.read_string("name", process.name);
    if (process.name.empty())
        reader.fail("name", "is required: the process name (comm) of a backup tool");
    reader.read_choice("action", process.action, {"recall", "deny"});
    reader.finish();
}

}  // namespace

void parse_hsm_section(TableReader& root, HsmConfig& hsm) {
    const toml::table* table = root.sub_table("hsm");
    if (!table)
        return;
    hsm.configured = true;
    TableReader reader(*table, "hsm", root.errors());
    reader.read_string_list("watch", hsm.watch);
    for (const auto& path : hsm.watch)
        if (!absolute_path_check(path).empty())
            reader.fail("watch", "\"" + path + "\" must be an absolute path");
    reader.read_checked_string("catalog", hsm.catalog, absolute_path_check);
    reader.read_duration("recall_timeout", hsm.recall_timeout);
    if (hsm.recall_timeout < std::chrono::milliseconds(100))
        reader.fail("recall_timeout", "must be at least 100ms");
    int64_t level = hsm.compression_level;
    reader.read_int("compression_level", level, 1, 19);
    hsm.compression_level = static_cast<int>(level);
    reader.read_duration("scan_interval", hsm.scan_interval);
    if (hsm.scan_interval < std::chrono::seconds(1))
        reader.fail("scan_interval", "must be at least 1s (the daemon evaluates its candidates this often)");
    reader.read_int("keep_versions", hsm.keep_versions, 0, 1'000'000);
    reader.read_int("keep_days", hsm.keep_days, 0, 100'000);

    std::set<std::string> names;
    auto targets = reader.table_array("target");
    for (size_t i = 0; i < targets.size(); ++i) {
        HsmTargetConfig target;
        parse_target(*targets[i], i, root.errors(), target);
        if (!target.name.empty() && !names.insert(target.name).second)
            reader.fail("target", "target name \"" + target.name + "\" is used twice");
        hsm.targets.push_back(std::move(target));
    }
    auto rules = reader.table_array("rule");
    for (size_t i = 0; i < rules.size(); ++i) {
        HsmRuleConfig rule;
        parse_rule(*rules[i], i, root.errors(), rule);
        for (const auto& copy : rule.copies)
            if (!names.count(copy))
                reader.fail("rule", "rule \"" + rule.name + "\" names target \"" + copy + "\", which is not defined");
        hsm.rules.push_back(std::move(rule));
    }
    auto processes = reader.table_array("process");
    for (size_t i = 0; i < processes.size(); ++i) {
        HsmProcessRule process;
        parse_process(*processes[i], i, root.errors(), process);
        hsm.processes.push_back(std::move(process));
    }
    if (const toml::table* space = reader.sub_table("space")) {
        TableReader space_reader(*space, "hsm.space", root.errors());
        space_reader.read_percent("high_water", hsm.high_water);
        space_reader.read_percent("low_water", hsm.low_water);
        if (hsm.low_water >= hsm.high_water)
            space_reader.fail("low_water", "must be below high_water");
        space_reader.finish();
    }
    reader.finish();
}

void render_hsm_section(const HsmConfig& hsm, toml::table& out) {
    auto strings = [](const std::vector<std::string>& values) {
        toml::array array;
        for (const auto& value : values)
            array.push_back(value);
        return array;
    };
    toml::array targets, rules, processes;
    for (const auto& target : hsm.targets)
        targets.push_back(toml::table{{"name", target.name}, {"type", target.type}, {"path", target.path}});
    for (const auto& rule : hsm.rules)
        rules.push_back(toml::table{{"name", rule.name},
                                    {"include", strings(rule.include)},
                                    {"exclude", strings(rule.exclude)},
                                    {"min_size", static_cast<int64_t>(rule.min_size)},
                                    {"idle", format_duration(rule.idle)},
                                    {"copies", strings(rule.copies)}});
    for (const auto& process : hsm.processes)
        processes.push_back(toml::table{{"name", process.name}, {"action", process.action}});
    auto percent = [](double value) { return std::to_string(static_cast<int>(value * 100 + 0.5)) + "%"; };
    toml::table table{{"watch", strings(hsm.watch)},
                      {"recall_timeout", format_duration(hsm.recall_timeout)},
                      {"compression_level", hsm.compression_level},
                      {"scan_interval", format_duration(hsm.scan_interval)},
                      {"keep_versions", hsm.keep_versions},
                      {"keep_days", hsm.keep_days},
                      {"target", std::move(targets)},
                      {"rule", std::move(rules)},
                      {"process", std::move(processes)},
                      {"space", toml::table{{"high_water", percent(hsm.high_water)},
                                            {"low_water", percent(hsm.low_water)}}}};
    if (!hsm.catalog.empty())
        table.insert("catalog", hsm.catalog);
    out.insert("hsm", std::move(table));
}

}  // namespace tiercel
