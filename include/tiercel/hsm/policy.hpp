// Contract: the HSM policy's decisions: for every regular file below the watched paths it decides what the rules and
// water marks would do, and says why. scan() is the dry run `tiercel hsm scan` prints (it walks the trees); the
// daemon's policy runner (policy_runner.hpp) makes the same decisions from its index (decide(), plan_stubs()) and
// acts on them.
//  - A file is a premigrate candidate when the first rule whose `include` globs match (and no `exclude` glob does)
//    finds it at least `min_size` large and idle for `idle` (since the later of atime and mtime; ctime
//    is not use: Tiercel's own xattr updates change it), it is not
//    pinned, and it is resident or dirty.
//  - When a watched filesystem is above high_water, premigrated (unpinned) files are proposed for stubbing, coldest
//    first, until the estimated usage falls below low_water.
// Globs match absolute paths: `*` and `?` stay inside one path segment, `**` matches any number of segments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tiercel/core/config.hpp"
#include "tiercel/hsm/catalog.hpp"

namespace tiercel::hsm {

bool glob_match(std::string_view pattern, std::string_view path);

struct Decision {
    std::string path;
    std::string action;  // premigrate | stub | keep
    std::string rule;    // the rule that matched, if any
    std::string reason;  // why, in words
    std::string state;
    bool pinned = false;
    uint64_t size = 0;
    int64_t idle_seconds = 0;
    std::vector<std::string> copies;  // targets of the matching rule
};

struct WatchUsage {
    std::string path;
    uint64_t total_bytes = 0, used_bytes = 0;
    double used_fraction = 0;
    bool above_high_water = false;
    uint64_t bytes_to_free = 0;  // to get below low_water
};

struct ScanReport {
    std::vector<WatchUsage> watched;
    std::vector<Decision> files;
};

// What a decision needs to know about a file (from lstat, or the daemon's index). Times in seconds.
struct FileFacts {
    uint64_t size = 0;
    int64_t atime = 0, mtime = 0;
};

// The rules' verdict on one file (premigrate or keep, with the reason).
Decision decide(const HsmConfig& config, const std::string& path, const FileFacts& facts, const std::string& state,
                bool pinned, int64_t now_seconds);
// statvfs of one watched path against the water marks.
WatchUsage usage_of(const HsmConfig& config, const std::string& root);
// Among files[first..]: premigrated, unpinned files become "stub", coldest first, until their sizes add up to
// usage.bytes_to_free; the others get the reason they stay.
void plan_stubs(std::vector<Decision>& files, size_t first, const WatchUsage& usage);

Result<ScanReport> scan(const HsmConfig& config, Catalog& catalog, int64_t now_seconds);

}  // namespace tiercel::hsm
