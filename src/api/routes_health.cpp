// Disk health routes: /api/v1/disks (SMART summary, risk and its explanation, latency, errors, history).
#include "tiercel/api/api.hpp"
#include "tiercel/health/health_json.hpp"
#include "tiercel/health/health_service.hpp"

namespace tiercel::api {
namespace {

Response no_health(unsigned version) {
    return error_response(http::status::not_found, "no_health", "the daemon runs no health service", version);
}

}  // namespace

void register_health_routes(Router& router, ApiContext& context) {
    router.add(http::verb::get, "/api/v1/disks", Access::read, [&context](RequestContext& request) {
        if (!context.health)
            return no_health(request.request.version());
        nlohmann::json disks = nlohmann::json::array();
        for (const auto& disk : context.health->snapshot())
            disks.push_back(health::to_json(disk));
        return json_response(http::status::ok, {{"disks", disks}, {"polls", context.health->polls()}},
                             request.request.version());
    });
    router.add(http::verb::get, "/api/v1/disks/{id}", Access::read, [&context](RequestContext& request) {
        if (!context.health)
            return no_health(request.request.version());
        const std::string& id = request.params.at("id");
        for (const auto& disk : context.health->snapshot())
            if (disk.target.id == id)
                return json_response(http::status::ok, health::to_json(disk), request.request.version());
        return error_response(http::status::not_found, "not_found", "no disk '" + id + "'", request.request.version());
    });
    router.add(http::verb::post, "/api/v1/disks/{id}/acknowledge", Access::mutation,
               [&context](RequestContext& request) {
                   if (!context.health)
                       return no_health(request.request.version());
                   auto body = nlohmann::json::parse(request.request.body(), nullptr, false);
                   if (body.is_discarded() || !body.is_object() || !body.contains("counter") ||
                       !body["counter"].is_string())
                       return error_response(http::status::bad_request, "invalid_input",
                                             "the body must be JSON like {\"counter\": \"ata.5\"}",
                                             request.request.version());
                   std::string counter = body["counter"].get<std::string>();
                   if (Status status = context.health->acknowledge(request.params.at("id"), counter); !status)
                       return error_response(status.error(), request.request.version());
                   return json_response(http::status::ok,
                                        {{"disk", request.params.at("id")},
                                         {"counter", counter},
                                         {"acknowledged", true},
                                         {"note", "the counter stays quiet from the next poll until its value changes"}},
                                        request.request.version());
               });
}

}  // namespace tiercel::api
