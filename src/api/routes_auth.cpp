// Dashboard login: trade the API token for a session cookie and a CSRF token (sessions.hpp, docs/design.md).
#include "tiercel/api/api.hpp"
#include "tiercel/api/auth.hpp"
#include "tiercel/api/body.hpp"
#include "tiercel/core/events.hpp"

namespace tiercel::api {
namespace {

using nlohmann::json;

std::string cookie_header(const std::string& value, bool expire) {
    std::string header = std::string(kSessionCookie) + "=" + value + "; HttpOnly; SameSite=Strict; Path=/";
    return expire ? header + "; Max-Age=0" : header;
}

Response too_many(std::chrono::seconds wait, unsigned version) {
    Response response = error_response(http::status::too_many_requests, "too_many_logins",
                                       "too many failed logins from this address; try again in " +
                                           std::to_string(wait.count()) + " s",
                                       version);
    response.set(http::field::retry_after, std::to_string(wait.count()));
    return response;
}

Response login(ApiContext& context, RequestContext& request) {
    const unsigned version = request.request.version();
    const std::string client = request.client_address.empty() ? "unknown" : request.client_address;
    if (auto wait = context.sessions->login_blocked(client))
        return too_many(*wait, version);
    auto body = json_object_body(request, false);
    if (!body)
        return error_response(body.error(), version);
    auto token = body->find("token");
    if (token == body->end() || !token->is_string())
        return error_response(http::status::bad_request, "invalid_input", "the body needs a string field \"token\"",
                              version);
    if (!token_matches(context.token, token->get<std::string>())) {
        context.sessions->record_failure(client);
        context.daemon.metrics()
            .counter("tiercel_http_login_failures_total", "Dashboard logins refused for a wrong token.")
            .inc();
        events::publish(events::Level::warning, "http", "login_failed", "failed dashboard login from " + client,
                        {{"client", client}});
        return error_response(http::status::unauthorized, "unauthorized", "wrong token", version);
    }
    SessionStore::Session session = context.sessions->create();
    events::publish(events::Level::info, "http", "login", "dashboard login from " + client, {{"client", client}});
    Response response = json_response(http::status::ok, {{"csrf_token", session.csrf}}, version);
    response.set(http::field::set_cookie, cookie_header(session.id, false));
    return response;
}

}  // namespace

void register_auth_routes(Router& router, ApiContext& context) {
    router.add(http::verb::post, "/api/v1/login", Access::open,
               [&context](RequestContext& request) { return login(context, request); });
    router.add(http::verb::post, "/api/v1/logout", Access::open, [&context](RequestContext& request) {
        if (std::string cookie = session_cookie(request.request); !cookie.empty())
            context.sessions->remove(cookie);
        Response response = json_response(http::status::ok, {{"logged_out", true}}, request.request.version());
        response.set(http::field::set_cookie, cookie_header("", true));
        return response;
    });
    router.add(http::verb::get, "/api/v1/session", Access::open, [&context](RequestContext& request) {
        json csrf = nullptr;
        if (std::string cookie = session_cookie(request.request); !cookie.empty())
            if (auto token = context.sessions->csrf_for(cookie))
                csrf = *token;
        return json_response(http::status::ok,
                             {{"authenticated", request.authenticated},
                              {"csrf_token", csrf},
                              {"mutations_need_login", !request.authenticated},
                              {"reads_need_login", !request.authenticated && !request.server_on_loopback}},
                             request.request.version());
    });
}

}  // namespace tiercel::api
