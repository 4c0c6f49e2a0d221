// Contract: assembles the REST API, /metrics and the dashboard into one Router. Each module contributes its routes
// through a register_*_routes() function (routes_core.cpp, routes_pool.cpp, ...), so this file is the table of
// contents of the API. docs/openapi.yaml documents every route registered here.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "tiercel/api/router.hpp"
#include "tiercel/api/sessions.hpp"
#include "tiercel/core/daemon.hpp"

namespace tiercel::pool {
class PoolService;
}
namespace tiercel::hsm {
class HsmService;
}
namespace tiercel::health {
class HealthService;
}
namespace tiercel::planner {
class PlannerService;
}

namespace tiercel::api {

struct ApiContext {
    Daemon& daemon;
    std::string token;                       // the bearer token from [http] token_file
    pool::PoolService* pool = nullptr;       // null when the daemon hosts no pool service
    hsm::HsmService* hsm = nullptr;          // null when the daemon hosts no HSM service
    health::HealthService* health = nullptr;      // null: /api/v1/disks answers 404 "no_health"
    planner::PlannerService* planner = nullptr;   // null: /api/v1/plans answers 404 "no_planner"
    std::shared_ptr<SessionStore> sessions = std::make_shared<SessionStore>();  // dashboard logins
};

// What a request's bearer token or session cookie proves (the Router's Authenticator).
Credentials check_credentials(ApiContext& context, const Request& request);

std::shared_ptr<Router> build_router(ApiContext& context);
// api_base.cpp: the routes that need no storage service (core, OpenAPI, login, events, dashboard), with
// `more_routes` registered before the dashboard's catch-all. build_router() is this plus the services' routes.
std::shared_ptr<Router> build_base_router(ApiContext& context,
                                          const std::function<void(Router&)>& more_routes = {});

void register_core_routes(Router& router, ApiContext& context);
void register_pool_routes(Router& router, ApiContext& context);
void register_hsm_routes(Router& router, ApiContext& context);
void register_health_routes(Router& router, ApiContext& context);   // routes_health.cpp: /api/v1/disks
void register_plan_routes(Router& router, ApiContext& context);     // routes_plans.cpp: /api/v1/plans
void register_auth_routes(Router& router, ApiContext& context);     // routes_auth.cpp: login, logout, session
void register_event_routes(Router& router);                         // routes_events.cpp: /api/v1/events
void register_status_routes(Router& router, ApiContext& context);   // routes_status.cpp: status, ha
void register_openapi_route(Router& router);                        // routes_core.cpp: /api/v1/openapi.yaml
// metrics_collectors.cpp: tiercel_pool_*, tiercel_disks, tiercel_hsm_*, tiercel_planner_alerts at scrape time.
void register_metrics_collectors(ApiContext& context);
// risk_events.cpp: an event each time a disk's risk level changes between SMART polls.
void publish_disk_risk_changes(health::HealthService& health);
void register_dashboard_routes(Router& router);

}  // namespace tiercel::api
