#include "tiercel/api/api.hpp"

#include "tiercel/api/auth.hpp"
#include "tiercel/pool/pool_service.hpp"

namespace tiercel::api {

std::shared_ptr<Router> build_router(ApiContext& context) {
    auto router = std::make_shared<Router>(context.daemon.metrics(), [&context](const Request& request) {
        return token_matches(context.token, bearer_token(request));
    });
    register_core_routes(*router, context);
    register_pool_routes(*router, context);
    register_hsm_routes(*router, context);
    register_health_routes(*router, context);
    register_plan_routes(*router, context);
    // The dashboard's catch-all "/{asset}" comes last so API routes always win.
    register_dashboard_routes(*router);
    return router;
}

}  // namespace tiercel::api
