// The dashboard: the embedded Vite build. "/" serves index.html, "/<name>" a top-level file, "/assets/<name>" a
// content-hashed bundle. Only names in the embedded set are served (anything else is a JSON 404); every answer
// carries a strict Content-Security-Policy (no inline script or style, no framing, API calls to this origin only).
#include "tiercel/api/api.hpp"
#include "tiercel/api/assets.hpp"

namespace tiercel::api {
namespace {

constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

void set_security_headers(Response& response) {
    response.set("Content-Security-Policy", kContentSecurityPolicy);
    response.set("X-Content-Type-Options", "nosniff");
    response.set("X-Frame-Options", "DENY");
    response.set("Referrer-Policy", "no-referrer");
}

bool etag_matches(const Request& request, const std::string& etag) {
    auto header = request.find(http::field::if_none_match);
    return header != request.end() && std::string_view(header->value()).find(etag) != std::string_view::npos;
}

Response serve_asset(const Request& request, const std::string& name) {
    const unsigned version = request.version();
    const EmbeddedAsset* asset = safe_asset_path(name) ? find_asset(name) : nullptr;
    if (!asset) {
        Response missing = error_response(http::status::not_found, "not_found", "no such file: /" + name, version);
        set_security_headers(missing);
        return missing;
    }
    const std::string etag = asset_etag(*asset);
    Response response = etag_matches(request, etag)
                            ? text_response(http::status::not_modified, "", content_type_for(name), version)
                            : text_response(http::status::ok, std::string(asset->bytes), content_type_for(name), version);
    response.set(http::field::etag, etag);
    response.set(http::field::cache_control,
                 is_immutable_asset(name) ? "public, max-age=31536000, immutable" : "no-cache");
    set_security_headers(response);
    return response;
}

}  // namespace

void register_dashboard_routes(Router& router) {
    router.add(http::verb::get, "/", Access::read,
               [](RequestContext& request) { return serve_asset(request.request, "index.html"); });
    router.add(http::verb::get, "/{asset}", Access::read,
               [](RequestContext& request) { return serve_asset(request.request, request.params.at("asset")); });
    router.add(http::verb::get, "/assets/{asset}", Access::read, [](RequestContext& request) {
        return serve_asset(request.request, "assets/" + request.params.at("asset"));
    });
}

}  // namespace tiercel::api
