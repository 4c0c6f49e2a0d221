// The whole API: the base router (api_base.cpp) plus every service's routes, collectors and event sources.
#include "tiercel/api/api.hpp"

namespace tiercel::api {

std::shared_ptr<Router> build_router(ApiContext& context) {
    if (context.health)
        publish_disk_risk_changes(*context.health);
    register_metrics_collectors(context);
    return build_base_router(context, [&context](Router& router) {
        register_status_routes(router, context);
        register_pool_routes(router, context);
        register_hsm_routes(router, context);
        register_health_routes(router, context);
        register_plan_routes(router, context);
    });
}

}  // namespace tiercel::api
