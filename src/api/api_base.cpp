// The part of the API that needs no storage service: credentials, the core routes (health, metrics, config), the
// OpenAPI document, dashboard login, events, and the dashboard's files. build_router() (api.cpp) adds the service
// routes; the fuzzer (fuzz/fuzz_request.cpp) builds just this, so it links without the pool, HSM, health and planner.
#include "tiercel/api/api.hpp"
#include "tiercel/api/auth.hpp"

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

std::shared_ptr<Router> build_base_router(ApiContext& context, const std::function<void(Router&)>& more_routes) {
    auto router = std::make_shared<Router>(context.daemon.metrics(), [&context](const Request& request) {
        return check_credentials(context, request);
    });
    register_core_routes(*router, context);
    register_openapi_route(*router);
    register_auth_routes(*router, context);
    register_event_routes(*router);
    if (more_routes)
        more_routes(*router);
    // The dashboard's catch-all "/{asset}" comes last so API routes always win.
    // Its files are open even off loopback (the login page must load before anyone has logged in); they hold no
    // data, every datum comes from the API routes above.
    size_t first_dashboard_route = router->route_count();
    register_dashboard_routes(*router);
    router->open_routes_from(first_dashboard_route);
    return router;
}

}  // namespace tiercel::api
