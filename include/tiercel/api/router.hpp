// Contract: maps (method, path) to a handler, with access control, without any socket.
// Patterns are literal segments plus "{name}" captures ("/api/v1/plans/{id}/approve"). handle() never throws: a
// handler's exception becomes a 500 JSON error. Access rules (ARCHITECTURE.md, HTTP):
//  - Access::mutation routes always need an authenticated caller (a valid bearer token, or a trusted Unix-socket
//    peer);
//  - Access::read routes are open when the server is bound to loopback, and need authentication otherwise.
// Unknown paths get 404, known paths with another method get 405 with an Allow header. Each response is counted in
// tiercel_http_requests_total{route,code} by the route pattern, never the raw path (bounded label cardinality).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tiercel/api/http.hpp"
#include "tiercel/core/metrics.hpp"

namespace tiercel::api {

enum class Access { read, mutation };

struct CallerInfo {
    bool trusted_peer = false;        // Unix socket peer with our uid or root
    bool server_on_loopback = true;   // the listener this request arrived on is loopback-only
};

struct RequestContext {
    const Request& request;
    std::string path;                                 // without the query string
    std::map<std::string, std::string> query;         // decoded query parameters
    std::map<std::string, std::string> params;        // {name} captures
    bool authenticated = false;
};

using Handler = std::function<Response(RequestContext&)>;
// Returns true when the request carries valid credentials (a bearer token, or a session cookie).
using Authenticator = std::function<bool(const Request&)>;

class Router {
public:
    Router(MetricsRegistry& metrics, Authenticator authenticator);

    void add(http::verb method, std::string pattern, Access access, Handler handler);
    Response handle(const Request& request, const CallerInfo& caller) const;

private:
    struct Route {
        http::verb method;
        std::string pattern;
        std::vector<std::string> segments;
        Access access;
        Handler handler;
    };
    Response dispatch(const Request& request, const CallerInfo& caller, std::string& route_label) const;

    MetricsRegistry& metrics_;
    Authenticator authenticator_;
    std::vector<Route> routes_;
};

// Splits "/a/b?x=1&y=%20z" into path "/a/b" and decoded query; false on bad percent-encoding.
bool split_target(std::string_view target, std::string& path, std::map<std::string, std::string>& query);
std::vector<std::string> split_path(std::string_view path);

}  // namespace tiercel::api
