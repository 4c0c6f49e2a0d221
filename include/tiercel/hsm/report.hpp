// Contract: how one archived file is described to people and programs (`hsm status`, GET /api/v1/hsm/file).
// Reads the state xattr with getxattr(2) and the size with stat(2) on the path, never opening the file, so asking
// about a stub triggers no recall. The state shown is the xattr's, except that a premigrated file whose size or mtime
// no longer matches its current version is reported "dirty" (its archived copy is stale).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tiercel/hsm/catalog.hpp"

namespace tiercel::hsm {

// `with_ranges` lists the resident byte ranges (SEEK_DATA/SEEK_HOLE on a read-only open). The daemon passes false:
// its own threads must never touch a stub's content.
Result<nlohmann::json> describe_file(Catalog& catalog, const std::string& path, bool with_ranges);
// The effective state of `path` as above ("resident" for a file Tiercel never archived).
Result<std::string> effective_state(Catalog& catalog, const std::string& path);

}  // namespace tiercel::hsm
