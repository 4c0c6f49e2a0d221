// Contract: maps (method, path) to a handler, with access control, without any socket.
// Patterns are literal segments plus "{name}" captures ("/api/v1/plans/{id}/approve"). handle() never throws: a
// handler's exception becomes a 500 JSON error. Access rules (ARCHITECTURE.md, HTTP; docs/design.md):
//  - Access::mutation routes always need an authenticated caller (a valid bearer token, a dashboard session cookie,
//    or a trusted Unix-socket peer). A mutation authenticated only by the session cookie also needs the header
//    X-CSRF-Token equal to that session's CSRF token, else 403 "csrf" (a cookie is sent by the browser on its own;
//    the header proves the page itself made the request);
//  - Access::read routes are open when the server is bound to loopback, and need authentication otherwise;
//  - Access::open routes never need authentication (login, session probe, the dashboard's static files).
// Unknown paths get 404, known paths with another method get 405 with an Allow header. Each response is counted in
// tiercel_http_requests_total{route,code} by the route pattern, never the raw path (bounded label cardinality).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tiercel/api/http.hpp"
#include "tiercel/core/metrics.hpp"

namespace tiercel::api {

enum class Access { read, mutation, open };

struct CallerInfo {
    bool trusted_peer = false;        // Unix socket peer with our uid or root
    bool server_on_loopback = true;   // the listener this request arrived on is loopback-only
    std::string client_address;       // remote IP, or "unix" (login rate limiting)
};

// What the credentials on a request prove.
struct Credentials {
    bool authenticated = false;
    bool by_cookie = false;   // only the session cookie vouches for the caller
    std::string csrf_token;   // the session's CSRF token when by_cookie
};

// Set by a handler that answers with a stream (SSE) instead of one response: the HTTP service sends the handler's
// response header, then streams. Null when the caller cannot stream (in-process tests, the fuzzer).
struct StreamRequest {
    bool requested = false;
    int64_t after_event_id = 0;  // stream events with a larger id
};

struct RequestContext {
    const Request& request;
    std::string path;                                 // without the query string
    std::map<std::string, std::string> query;         // decoded query parameters
    std::map<std::string, std::string> params;        // {name} captures
    bool authenticated = false;
    std::string client_address;
    StreamRequest* stream = nullptr;
    bool server_on_loopback = true;
};

using Handler = std::function<Response(RequestContext&)>;
// Checks the credentials a request carries (a bearer token, or a session cookie).
using Authenticator = std::function<Credentials(const Request&)>;

class Router {
public:
    Router(MetricsRegistry& metrics, Authenticator authenticator);

    void add(http::verb method, std::string pattern, Access access, Handler handler);
    Response handle(const Request& request, const CallerInfo& caller, StreamRequest* stream = nullptr) const;
    // Makes every route added from index `first` on Access::open (the dashboard's files; see api.cpp).
    void open_routes_from(size_t first);
    size_t route_count() const { return routes_.size(); }
    // "GET /api/v1/plans/{id}" for every route, for the OpenAPI completeness test.
    std::vector<std::string> describe() const;

private:
    struct Route {
        http::verb method;
        std::string pattern;
        std::vector<std::string> segments;
        Access access;
        Handler handler;
    };
    Response dispatch(const Request& request, const CallerInfo& caller, StreamRequest* stream,
                      std::string& route_label) const;
    std::optional<Response> check_access(const Route& route, const Request& request, const CallerInfo& caller,
                          RequestContext& context) const;

    MetricsRegistry& metrics_;
    Authenticator authenticator_;
    std::vector<Route> routes_;
};

// Splits "/a/b?x=1&y=%20z" into path "/a/b" and decoded query; false on bad percent-encoding.
bool split_target(std::string_view target, std::string& path, std::map<std::string, std::string>& query);
std::vector<std::string> split_path(std::string_view path);

}  // namespace tiercel::api
