// Pool routes: status, objects, placement explanations.
#include "tiercel/api/api.hpp"
#include "tiercel/pool/pool_json.hpp"
#include "tiercel/pool/pool_service.hpp"

namespace tiercel::api {
namespace {

Response no_pool(unsigned version) {
    return error_response(http::status::not_found, "no_pool", "no pool is configured ([pool] in the config)", version);
}

}  // namespace

void register_pool_routes(Router& router, ApiContext& context) {
    router.add(http::verb::get, "/api/v1/pool", Access::read, [&context](RequestContext& request) {
        pool::Pool* pool = context.pool ? context.pool->pool() : nullptr;
        if (!pool)
            return no_pool(request.request.version());
        return json_response(http::status::ok, pool::to_json(pool->status()), request.request.version());
    });
    router.add(http::verb::get, "/api/v1/pool/objects", Access::read, [&context](RequestContext& request) {
        pool::Pool* pool = context.pool ? context.pool->pool() : nullptr;
        if (!pool)
            return no_pool(request.request.version());
        auto prefix = request.query.count("prefix") ? request.query.at("prefix") : std::string();
        size_t limit = 1000;
        if (request.query.count("limit")) {
            try {
                limit = std::stoul(request.query.at("limit"));
            } catch (const std::exception&) {
                return error_response(http::status::bad_request, "invalid_input", "limit must be a number",
                                      request.request.version());
            }
        }
        nlohmann::json objects = nlohmann::json::array();
        for (const auto& object : pool->list(prefix)) {
            if (objects.size() >= limit)
                break;
            if (pool::is_internal_object(object.name))
                continue;
            objects.push_back(pool::to_json(object));
        }
        return json_response(http::status::ok, {{"objects", objects}}, request.request.version());
    });
    router.add(http::verb::get, "/api/v1/pool/placement/{stripe}", Access::read, [&context](RequestContext& request) {
        pool::Pool* pool = context.pool ? context.pool->pool() : nullptr;
        if (!pool)
            return no_pool(request.request.version());
        uint64_t stripe = 0;
        try {
            stripe = std::stoull(request.params.at("stripe"));
        } catch (const std::exception&) {
            return error_response(http::status::bad_request, "invalid_input", "the stripe id must be a number",
                                  request.request.version());
        }
        auto placement = pool->explain_placement(stripe);
        if (!placement)
            return error_response(placement.error(), request.request.version());
        return json_response(http::status::ok, pool::to_json(*placement), request.request.version());
    });
}

}  // namespace tiercel::api
