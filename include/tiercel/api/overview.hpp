// Contract: the one-glance view of the daemon behind GET /api/v1/status (the dashboard's overview) and GET
// /api/v1/ha (Home Assistant's RESTful integration). gather_overview() runs on the core loop and reads each service
// the way its own routes do (the pool with try_access(), so a job holding the pool exclusively makes the pool
// "busy" rather than blocking). Overall state: "critical" when data is lost or at stake (lost stripes, a failing
// disk, the pool unopenable), "warning" when something needs attention (degraded stripes, an offline or at-risk
// disk, a planner alert, a watched filesystem above its high water mark), else "ok". Pending plans are an "info"
// alert: waiting for a person is normal.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tiercel/api/api.hpp"

namespace tiercel::api {

struct Alert {
    std::string level;  // info | warning | critical
    std::string message;
};

struct PoolOverview {
    std::string name;
    std::string state;  // ok | degraded | critical | busy | unavailable
    std::string reason;  // busy/unavailable: why
    uint64_t raw_total_bytes = 0, raw_free_bytes = 0;  // online disks, before redundancy
    uint64_t usable_total_bytes = 0, usable_free_bytes = 0, logical_bytes = 0;  // × k/(k+m)
    nlohmann::json tiers = nlohmann::json::object();  // tier -> {total_bytes, free_bytes, used_bytes, disks}
    nlohmann::json redundancy = nlohmann::json::object();
    nlohmann::json maintenance;  // the running job, or null
};

struct Overview {
    std::string state = "ok";
    std::string summary;
    std::optional<PoolOverview> pool;
    int disks_total = 0, disks_at_risk = 0, disks_failing = 0;
    std::optional<int> plans_pending;  // nullopt: no planner
    std::optional<nlohmann::json> hsm;  // {watched, counts}, nullopt: HSM off
    bool hsm_above_high_water = false;
    std::optional<std::string> last_scrub;  // RFC 3339, from the event log
    std::vector<Alert> alerts;
};

Overview gather_overview(ApiContext& context);
nlohmann::json status_json(const Overview& overview);
nlohmann::json ha_json(const Overview& overview);

}  // namespace tiercel::api
