// Contract: version retention ([hsm] keep_versions, keep_days). A version is kept while it is among the file's
// newest `keep_versions` versions or was archived less than `keep_days` days ago (0 switches that limit off; both 0
// keep everything). The current version and the version the file's xattr names (what a stub recalls from) are always
// kept. A pruned version leaves the catalog first (one transaction), then its payload is removed from every target:
// a crash in between leaves an orphan payload (`catalog rebuild` would bring it back), never a catalog entry without
// its payload.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "tiercel/core/config.hpp"
#include "tiercel/hsm/archiver.hpp"
#include "tiercel/hsm/catalog.hpp"

namespace tiercel::hsm {

// Pure selection: the version numbers to prune, oldest first. `protect` holds versions that must stay.
std::vector<int64_t> select_prunable(const std::vector<VersionRow>& versions, const std::set<int64_t>& protect,
                                     int64_t keep_versions, int64_t keep_days, int64_t now_ns);

struct RetentionResult {
    uint64_t versions_pruned = 0, payloads_removed = 0, payload_bytes = 0, errors = 0;
};

// Prunes one file's old versions (catalog rows, then payloads). Events "prune" record each pruned version.
Result<RetentionResult> apply_retention(Catalog& catalog, const Targets& targets, const HsmConfig& config,
                                        int64_t file_id);
// Every file with more than one version (the periodic pass).
Result<RetentionResult> apply_retention_all(Catalog& catalog, const Targets& targets, const HsmConfig& config);

}  // namespace tiercel::hsm
