// The dashboard: embedded static files. "/" serves index.html.
#include "tiercel/api/api.hpp"
#include "tiercel/api/assets.hpp"

namespace tiercel::api {
namespace {

Response serve_asset(std::string_view name, unsigned version) {
    const EmbeddedAsset* asset = find_asset(name);
    if (!asset)
        return error_response(http::status::not_found, "not_found", "no such file: /" + std::string(name), version);
    Response response = text_response(http::status::ok, std::string(asset->bytes), content_type_for(name), version);
    response.set(http::field::cache_control, "no-cache");
    response.set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    response.set("X-Frame-Options", "DENY");
    return response;
}

}  // namespace

void register_dashboard_routes(Router& router) {
    router.add(http::verb::get, "/", Access::read,
               [](RequestContext& request) { return serve_asset("index.html", request.request.version()); });
    router.add(http::verb::get, "/{asset}", Access::read, [](RequestContext& request) {
        return serve_asset(request.params.at("asset"), request.request.version());
    });
}

}  // namespace tiercel::api
