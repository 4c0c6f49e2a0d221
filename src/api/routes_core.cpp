// Routes every daemon has: health, metrics, effective config, the OpenAPI document.
#include "tiercel/api/api.hpp"
#include "tiercel/api/config_json.hpp"
#include "tiercel/api/openapi.hpp"

namespace tiercel::api {

void register_openapi_route(Router& router) {
    router.add(http::verb::get, "/api/v1/openapi.yaml", Access::read, [](RequestContext& request) {
        return text_response(http::status::ok, std::string(openapi_yaml()), "application/yaml; charset=utf-8",
                             request.request.version());
    });
}

void register_core_routes(Router& router, ApiContext& context) {
    router.add(http::verb::get, "/api/v1/health", Access::read, [](RequestContext& request) {
        return json_response(http::status::ok, {{"status", "ok"}, {"version", TIERCEL_VERSION}},
                             request.request.version());
    });
    router.add(http::verb::get, "/metrics", Access::read, [&context](RequestContext& request) {
        return text_response(http::status::ok, context.daemon.metrics().render(),
                             "text/plain; version=0.0.4; charset=utf-8", request.request.version());
    });
    router.add(http::verb::get, "/api/v1/config", Access::read, [&context](RequestContext& request) {
        const Config& config = context.daemon.config();
        RedactedConfig redacted = redacted_config(config);
        return json_response(http::status::ok,
                             {{"source", config.source_path}, {"config", redacted.json}, {"toml", redacted.toml}},
                             request.request.version());
    });
    router.add(http::verb::post, "/api/v1/config/reload", Access::mutation, [&context](RequestContext& request) {
        if (Status status = context.daemon.reload_config(); !status)
            return error_response(status.error(), request.request.version());
        return json_response(http::status::ok, {{"reloaded", true}, {"source", context.daemon.config().source_path}},
                             request.request.version());
    });
}

}  // namespace tiercel::api
