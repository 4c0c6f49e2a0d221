// HSM routes: status, one file's description, and the mutations the CLI sends while the daemon runs.
#include "tiercel/api/api.hpp"
#include "tiercel/hsm/hsm_service.hpp"

namespace tiercel::api {
namespace {

Response no_hsm(unsigned version) {
    return error_response(http::status::not_found, "no_hsm", "no HSM is configured ([hsm] in the config)", version);
}

// {"paths": ["/abs/path", ...]} -> the paths, or an error message.
Result<std::vector<std::string>> paths_of(const Request& request) {
    auto body = nlohmann::json::parse(request.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("paths") || !body["paths"].is_array())
        return make_error(Errc::invalid_input, "the body must be {\"paths\": [absolute paths]}");
    std::vector<std::string> paths;
    for (const auto& path : body["paths"]) {
        if (!path.is_string() || path.get<std::string>().empty() || path.get<std::string>().front() != '/')
            return make_error(Errc::invalid_input, "every path must be an absolute path string");
        paths.push_back(path);
    }
    return paths;
}

using Queue = Status (hsm::HsmService::*)(const std::vector<std::string>&);

void add_queue_route(Router& router, ApiContext& context, const std::string& pattern, Queue queue) {
    router.add(http::verb::post, pattern, Access::mutation, [&context, queue](RequestContext& request) {
        unsigned version = request.request.version();
        if (!context.hsm || !context.hsm->active())
            return no_hsm(version);
        auto paths = paths_of(request.request);
        if (!paths)
            return error_response(paths.error(), version);
        if (auto queued = (context.hsm->*queue)(*paths); !queued)
            return error_response(queued.error(), version);
        return json_response(http::status::accepted, {{"queued", paths->size()}}, version);
    });
}

void add_pin_route(Router& router, ApiContext& context, const std::string& pattern, bool pinned) {
    router.add(http::verb::post, pattern, Access::mutation, [&context, pinned](RequestContext& request) {
        unsigned version = request.request.version();
        if (!context.hsm || !context.hsm->active())
            return no_hsm(version);
        auto paths = paths_of(request.request);
        if (!paths)
            return error_response(paths.error(), version);
        for (const auto& path : *paths)
            if (auto done = context.hsm->set_pinned(path, pinned); !done)
                return error_response(done.error(), version);
        return json_response(http::status::ok, {{"pinned", pinned}, {"paths", *paths}}, version);
    });
}

}  // namespace

void register_hsm_routes(Router& router, ApiContext& context) {
    router.add(http::verb::get, "/api/v1/hsm", Access::read, [&context](RequestContext& request) {
        unsigned version = request.request.version();
        if (!context.hsm || !context.hsm->active())
            return no_hsm(version);
        auto status = context.hsm->status_json();
        if (!status)
            return error_response(status.error(), version);
        return json_response(http::status::ok, *status, version);
    });
    router.add(http::verb::get, "/api/v1/hsm/file", Access::read, [&context](RequestContext& request) {
        unsigned version = request.request.version();
        if (!context.hsm || !context.hsm->active())
            return no_hsm(version);
        auto path = request.query.find("path");
        if (path == request.query.end() || path->second.empty() || path->second.front() != '/')
            return error_response(http::status::bad_request, "invalid_input", "?path= must be an absolute path",
                                  version);
        auto file = context.hsm->file_json(path->second);
        if (!file)
            return error_response(file.error(), version);
        return json_response(http::status::ok, *file, version);
    });
    add_queue_route(router, context, "/api/v1/hsm/premigrate", &hsm::HsmService::queue_premigrate);
    add_queue_route(router, context, "/api/v1/hsm/stub", &hsm::HsmService::queue_stub);
    add_queue_route(router, context, "/api/v1/hsm/recall", &hsm::HsmService::queue_recall);
    add_pin_route(router, context, "/api/v1/hsm/pin", true);
    add_pin_route(router, context, "/api/v1/hsm/unpin", false);
}

}  // namespace tiercel::api
