#include "tiercel/api/api.hpp"

#include "tiercel/api/auth.hpp"
#include "tiercel/pool/pool_service.hpp"

namespace tiercel::api {

Credentials check_credentials(ApiContext& context, const Request& request) {
    // A bearer token wins: a browser never adds one by itself, so it needs no CSRF check.
    if (token_matches(context.token, bearer_token(request)))
        return {true, false, ""};
    std::string cookie = session_cookie(request);
    if (cookie.empty())
        return {};
    if (auto csrf = context.sessions->csrf_for(cookie))
        return {true, true, *csrf};
    return {};
}

std::shared_ptr<Router> build_router(ApiContext& context) {
    auto router = std::make_shared<Router>(context.daemon.metrics(), [&context](const Request& request) {
        return check_credentials(context, request);
    });
    register_core_routes(*router, context);
    register_openapi_route(*router);
    register_auth_routes(*router, context);
    register_status_routes(*router, context);
    register_event_routes(*router);
    if (context.health)
        publish_disk_risk_changes(*context.health);
    register_metrics_collectors(context);
    register_pool_routes(*router, context);
    register_hsm_routes(*router, context);
    register_health_routes(*router, context);
    register_plan_routes(*router, context);
    // The dashboard's catch-all "/{asset}" comes last so API routes always win.
    // Its files are open even off loopback (the login page must load before anyone has logged in); they hold no
    // data, every datum comes from the API routes above.
    size_t first_dashboard_route = router->route_count();
    register_dashboard_routes(*router);
    router->open_routes_from(first_dashboard_route);
    return router;
}

}  // namespace tiercel::api
