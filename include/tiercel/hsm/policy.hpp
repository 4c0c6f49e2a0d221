// Contract: the HSM policy as a pure dry run: for every regular file below the watched paths it decides what the
// rules and water marks would do, and says why. Nothing is changed; `tiercel hsm scan` prints the result and the
// daemon's policy pass (later) acts on it.
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

Result<ScanReport> scan(const HsmConfig& config, Catalog& catalog, int64_t now_seconds);

}  // namespace tiercel::hsm
