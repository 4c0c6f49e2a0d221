// Policy dry run: rules by glob, size and idle time; water marks; pinning. Every decision carries its reason.
#include "tiercel/hsm/policy.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "tiercel/core/units.hpp"
#include "tiercel/hsm/report.hpp"

namespace tiercel::hsm {
namespace {

bool segment_match(std::string_view pattern, std::string_view text) {
    if (pattern.empty())
        return text.empty();
    if (pattern[0] == '*') {
        for (size_t i = 0; i <= text.size(); ++i)
            if (segment_match(pattern.substr(1), text.substr(i)))
                return true;
        return false;
    }
    if (text.empty())
        return false;
    return (pattern[0] == '?' || pattern[0] == text[0]) && segment_match(pattern.substr(1), text.substr(1));
}

std::vector<std::string_view> split(std::string_view path) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos)
            end = path.size();
        if (end > start)
            parts.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

bool parts_match(const std::vector<std::string_view>& pattern, size_t p, const std::vector<std::string_view>& path,
                 size_t i) {
    if (p == pattern.size())
        return i == path.size();
    if (pattern[p] == "**") {
        for (size_t k = i; k <= path.size(); ++k)
            if (parts_match(pattern, p + 1, path, k))
                return true;
        return false;
    }
    return i < path.size() && segment_match(pattern[p], path[i]) && parts_match(pattern, p + 1, path, i + 1);
}

const HsmRuleConfig* matching_rule(const HsmConfig& config, const std::string& path) {
    for (const auto& rule : config.rules) {
        bool included = std::any_of(rule.include.begin(), rule.include.end(),
                                    [&](const std::string& glob) { return glob_match(glob, path); });
        bool excluded = std::any_of(rule.exclude.begin(), rule.exclude.end(),
                                    [&](const std::string& glob) { return glob_match(glob, path); });
        if (included && !excluded)
            return &rule;
    }
    return nullptr;
}

}  // namespace

Decision decide(const HsmConfig& config, const std::string& path, const FileFacts& facts, const std::string& state,
                bool pinned, int64_t now) {
    Decision d{path, "keep", "", "", state, pinned, facts.size, 0, {}};
    // ctime is not "use": Tiercel's own xattr updates change it.
    int64_t last_use = std::max(facts.atime, facts.mtime);
    d.idle_seconds = std::max<int64_t>(0, now - last_use);
    const HsmRuleConfig* rule = matching_rule(config, path);
    if (!rule) {
        d.reason = "no rule includes it";
        return d;
    }
    d.rule = rule->name;
    d.copies = rule->copies;
    auto idle = std::chrono::duration_cast<std::chrono::seconds>(rule->idle).count();
    if (pinned)
        d.reason = "pinned";
    else if (state == "premigrated" || state == "stub" || state == "partial")
        d.reason = "already archived (" + state + ")";
    else if (d.size < rule->min_size)
        d.reason = "smaller than min_size " + format_size(rule->min_size);
    else if (d.idle_seconds < idle)
        d.reason = "used " + format_duration(std::chrono::seconds(d.idle_seconds)) + " ago, rule wants idle " +
                   format_duration(rule->idle);
    else {
        d.action = "premigrate";
        d.reason = "rule " + rule->name + ": " + format_size(d.size) + ", idle " +
                   format_duration(std::chrono::seconds(d.idle_seconds));
    }
    return d;
}

WatchUsage usage_of(const HsmConfig& config, const std::string& path) {
    WatchUsage usage;
    usage.path = path;
    struct statvfs vfs {};
    if (::statvfs(path.c_str(), &vfs) != 0 || vfs.f_blocks == 0)
        return usage;
    usage.total_bytes = uint64_t(vfs.f_blocks) * vfs.f_frsize;
    usage.used_bytes = usage.total_bytes - uint64_t(vfs.f_bavail) * vfs.f_frsize;
    usage.used_fraction = double(usage.used_bytes) / double(usage.total_bytes);
    usage.above_high_water = usage.used_fraction > config.high_water;
    auto low = static_cast<uint64_t>(config.low_water * double(usage.total_bytes));
    usage.bytes_to_free = usage.above_high_water && usage.used_bytes > low ? usage.used_bytes - low : 0;
    return usage;
}

void plan_stubs(std::vector<Decision>& files, size_t first, const WatchUsage& usage) {
    std::vector<Decision*> candidates;
    for (size_t i = first; i < files.size(); ++i)
        if (files[i].state == "premigrated" && !files[i].pinned)
            candidates.push_back(&files[i]);
    // Coldest first; equal idle times in path order, so a plan is the same from one run to the next.
    std::sort(candidates.begin(), candidates.end(), [](const Decision* a, const Decision* b) {
        return a->idle_seconds != b->idle_seconds ? a->idle_seconds > b->idle_seconds : a->path < b->path;
    });
    uint64_t freed = 0;
    for (Decision* d : candidates) {
        if (freed >= usage.bytes_to_free) {
            if (usage.above_high_water)
                d->reason = "premigrated; usage will be below low_water without stubbing it";
            else
                d->reason = "premigrated; " + usage.path + " is below high_water";
            continue;
        }
        d->action = "stub";
        d->reason = usage.path + " is above high_water: coldest premigrated file (idle " +
                    format_duration(std::chrono::seconds(d->idle_seconds)) + ")";
        freed += d->size;
    }
}

bool glob_match(std::string_view pattern, std::string_view path) {
    return parts_match(split(pattern), 0, split(path), 0);
}

Result<ScanReport> scan(const HsmConfig& config, Catalog& catalog, int64_t now) {
    ScanReport report;
    TIERCEL_ASSIGN(auto known, catalog.files());
    std::map<std::string, bool> pinned;
    for (const auto& file : known)
        pinned[file.path] = file.pinned;
    for (const auto& root : config.watch) {
        WatchUsage usage = usage_of(config, root);
        size_t first = report.files.size();
        std::error_code ec;
        for (auto it = std::filesystem::recursive_directory_iterator(
                 root, std::filesystem::directory_options::skip_permission_denied, ec);
             !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
            if (!it->is_regular_file(ec) || it->is_symlink(ec))
                continue;
            auto path = it->path().string();
            struct stat st {};
            if (::lstat(path.c_str(), &st) != 0)
                continue;
            auto state = effective_state(catalog, path);
            FileFacts facts{static_cast<uint64_t>(st.st_size), st.st_atim.tv_sec, st.st_mtim.tv_sec};
            report.files.push_back(decide(config, path, facts, state ? *state : "resident", pinned[path], now));
        }
        if (ec)
            return make_error(Errc::io_error, "scanning " + root + ": " + ec.message());
        plan_stubs(report.files, first, usage);
        report.watched.push_back(usage);
    }
    return report;
}

}  // namespace tiercel::hsm
