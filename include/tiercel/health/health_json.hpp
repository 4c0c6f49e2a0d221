// Contract: the JSON shapes of disk health, shared by GET /api/v1/disks and `tiercel disks --json`
// (docs/openapi.yaml, schema Disk). Absent numbers are null, never 0.
#pragma once

#include <nlohmann/json.hpp>

#include "tiercel/health/health_model.hpp"

namespace tiercel::health {

nlohmann::json to_json(const SmartReport& report);
nlohmann::json to_json(const RiskAssessment& risk);
nlohmann::json to_json(const DiskHealth& disk);

}  // namespace tiercel::health
