// Pool routes: status, objects, placement explanations, and maintenance jobs (the CLI's path to scrub, heal, drain,
// ... while the daemon holds the pool). Handlers run on the core loop, so they take the pool with try_access(): while
// a job holds it exclusively they answer 409 busy instead of blocking.
#include "tiercel/api/api.hpp"
#include "tiercel/pool/maintenance_jobs.hpp"
#include "tiercel/pool/pool_json.hpp"
#include "tiercel/pool/pool_service.hpp"

namespace tiercel::api {
namespace {

Result<uint64_t> number_param(const std::string& text, std::string_view what) {
    try {
        size_t used = 0;
        uint64_t value = std::stoull(text, &used);
        if (used == text.size())
            return value;
    } catch (const std::exception&) {
    }
    return Error(Errc::invalid_input, std::string(what) + " must be a number, not '" + text + "'");
}

// Runs `handler` with shared access to the pool, or answers why it cannot.
template <typename Handler>
Response with_pool(ApiContext& context, RequestContext& request, Handler handler) {
    if (!context.pool)
        return error_response(Error(Errc::not_found, "no pool is configured ([pool] in the config)"),
                              request.request.version());
    auto access = context.pool->try_access();
    if (!access)
        return error_response(access.error(), request.request.version());
    return handler(**access);
}

void register_pool_read_routes(Router& router, ApiContext& context) {
    router.add(http::verb::get, "/api/v1/pool", Access::read, [&context](RequestContext& request) {
        return with_pool(context, request, [&](pool::Pool& pool) {
            nlohmann::json body = pool::to_json(pool.status());
            if (auto job = context.pool->jobs()->running())
                body["maintenance"] = pool::to_json(*job);
            return json_response(http::status::ok, body, request.request.version());
        });
    });
    router.add(http::verb::get, "/api/v1/pool/objects", Access::read, [&context](RequestContext& request) {
        return with_pool(context, request, [&](pool::Pool& pool) {
            auto prefix = request.query.count("prefix") ? request.query.at("prefix") : std::string();
            uint64_t limit = 1000;
            if (request.query.count("limit")) {
                auto parsed = number_param(request.query.at("limit"), "limit");
                if (!parsed)
                    return error_response(parsed.error(), request.request.version());
                limit = *parsed;
            }
            nlohmann::json objects = nlohmann::json::array();
            for (const auto& object : pool.list(prefix)) {
                if (objects.size() >= limit)
                    break;
                objects.push_back(pool::to_json(object));
            }
            return json_response(http::status::ok, {{"objects", objects}}, request.request.version());
        });
    });
    router.add(http::verb::get, "/api/v1/pool/placement/{stripe}", Access::read, [&context](RequestContext& request) {
        return with_pool(context, request, [&](pool::Pool& pool) {
            auto stripe = number_param(request.params.at("stripe"), "the stripe id");
            if (!stripe)
                return error_response(stripe.error(), request.request.version());
            auto placement = pool.explain_placement(*stripe);
            if (!placement)
                return error_response(placement.error(), request.request.version());
            return json_response(http::status::ok, pool::to_json(*placement), request.request.version());
        });
    });
}

// Jobs live as long as the pool service; the pool being configured is the only precondition.
template <typename Handler>
Response with_jobs(ApiContext& context, RequestContext& request, Handler handler) {
    if (!context.pool || !context.pool->jobs())
        return error_response(Error(Errc::not_found, "no pool is configured ([pool] in the config)"),
                              request.request.version());
    return handler(*context.pool->jobs());
}

void register_job_routes(Router& router, ApiContext& context) {
    router.add(http::verb::get, "/api/v1/pool/jobs", Access::read, [&context](RequestContext& request) {
        return with_jobs(context, request, [&](pool::MaintenanceJobs& jobs) {
            nlohmann::json list = nlohmann::json::array();
            for (const auto& job : jobs.list())
                list.push_back(pool::to_json(job));
            return json_response(http::status::ok, {{"jobs", list}}, request.request.version());
        });
    });
    router.add(http::verb::post, "/api/v1/pool/jobs", Access::mutation, [&context](RequestContext& request) {
        return with_jobs(context, request, [&](pool::MaintenanceJobs& jobs) {
            auto body = nlohmann::json::parse(request.request.body(), nullptr, false);
            if (body.is_discarded())
                return error_response(Error(Errc::invalid_input, "the request body is not valid JSON"),
                                      request.request.version());
            auto job_request = pool::job_request_from_json(body);
            if (!job_request)
                return error_response(job_request.error(), request.request.version());
            job_request->requested_by = "api";
            auto started = jobs.start(std::move(*job_request));
            if (!started)
                return error_response(started.error(), request.request.version());
            return json_response(http::status::accepted, pool::to_json(*started), request.request.version());
        });
    });
    router.add(http::verb::get, "/api/v1/pool/jobs/{id}", Access::read, [&context](RequestContext& request) {
        return with_jobs(context, request, [&](pool::MaintenanceJobs& jobs) {
            auto id = number_param(request.params.at("id"), "the job id");
            if (!id)
                return error_response(id.error(), request.request.version());
            auto job = jobs.get(*id);
            if (!job)
                return error_response(Error(Errc::not_found, "no maintenance job " + std::to_string(*id)),
                                      request.request.version());
            return json_response(http::status::ok, pool::to_json(*job), request.request.version());
        });
    });
    router.add(http::verb::post, "/api/v1/pool/jobs/{id}/cancel", Access::mutation,
               [&context](RequestContext& request) {
                   return with_jobs(context, request, [&](pool::MaintenanceJobs& jobs) {
                       auto id = number_param(request.params.at("id"), "the job id");
                       if (!id)
                           return error_response(id.error(), request.request.version());
                       if (Status status = jobs.cancel(*id); !status)
                           return error_response(status.error(), request.request.version());
                       return json_response(http::status::accepted, pool::to_json(*jobs.get(*id)),
                                            request.request.version());
                   });
               });
}

}  // namespace

void register_pool_routes(Router& router, ApiContext& context) {
    register_pool_read_routes(router, context);
    register_job_routes(router, context);
}

}  // namespace tiercel::api
