// Contract: the JSON shapes of pool status, objects, placement explanations, maintenance and fsck reports, shared by `--json` CLI output and
// the REST API so scripts see one schema (docs/openapi.yaml).
#pragma once

#include <nlohmann/json.hpp>

#include "tiercel/pool/fsck.hpp"
#include "tiercel/pool/maintenance.hpp"
#include "tiercel/pool/pool.hpp"

namespace tiercel::pool {

nlohmann::json to_json(const PoolStatus& status);
nlohmann::json to_json(const ObjectInfo& object);
nlohmann::json to_json(const Placement& placement);
nlohmann::json to_json(const MaintenanceReport& report);
nlohmann::json to_json(const FsckReport& report);

}  // namespace tiercel::pool
