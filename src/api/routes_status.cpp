// Overview routes: GET /api/v1/status (the dashboard's first glance) and GET /api/v1/ha (flat JSON for Home
// Assistant's RESTful integration; packaging/homeassistant/tiercel.yaml reads it).
#include "tiercel/api/overview.hpp"

namespace tiercel::api {

void register_status_routes(Router& router, ApiContext& context) {
    router.add(http::verb::get, "/api/v1/status", Access::read, [&context](RequestContext& request) {
        return json_response(http::status::ok, status_json(gather_overview(context)), request.request.version());
    });
    router.add(http::verb::get, "/api/v1/ha", Access::read, [&context](RequestContext& request) {
        return json_response(http::status::ok, ha_json(gather_overview(context)), request.request.version());
    });
}

}  // namespace tiercel::api
