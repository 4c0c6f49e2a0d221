#include "tiercel/api/router.hpp"

#include <exception>
#include <optional>

#include "tiercel/api/auth.hpp"
#include "tiercel/core/log.hpp"

namespace tiercel::api {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
    out.clear();
    for (size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size())
                return false;
            int high = hex_value(in[i + 1]), low = hex_value(in[i + 2]);
            if (high < 0 || low < 0)
                return false;
            out += static_cast<char>(high * 16 + low);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return true;
}

}  // namespace

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> segments;
    size_t start = 0;
    while (start <= path.size()) {
        size_t slash = path.find('/', start);
        if (slash == std::string_view::npos)
            slash = path.size();
        if (slash > start)
            segments.emplace_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return segments;
}

bool split_target(std::string_view target, std::string& path, std::map<std::string, std::string>& query) {
    size_t question = target.find('?');
    if (!percent_decode(target.substr(0, question), path, false))
        return false;
    if (path.empty() || path.front() != '/' || path.find('\0') != std::string::npos)
        return false;
    if (question == std::string_view::npos)
        return true;
    std::string_view rest = target.substr(question + 1);
    while (!rest.empty()) {
        size_t amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        size_t equals = pair.find('=');
        std::string key, value;
        if (!percent_decode(pair.substr(0, equals), key, true))
            return false;
        if (equals != std::string_view::npos && !percent_decode(pair.substr(equals + 1), value, true))
            return false;
        if (!key.empty())
            query[key] = value;
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    }
    return true;
}

Router::Router(MetricsRegistry& metrics, Authenticator authenticator)
    : metrics_(metrics), authenticator_(std::move(authenticator)) {}

void Router::add(http::verb method, std::string pattern, Access access, Handler handler) {
    Route route{method, pattern, split_path(pattern), access, std::move(handler)};
    routes_.push_back(std::move(route));
}

void Router::open_routes_from(size_t first) {
    for (size_t i = first; i < routes_.size(); ++i)
        routes_[i].access = Access::open;
}

std::vector<std::string> Router::describe() const {
    std::vector<std::string> out;
    for (const Route& route : routes_)
        out.push_back(std::string(http::to_string(route.method)) + " " + route.pattern);
    return out;
}

Response Router::handle(const Request& request, const CallerInfo& caller, StreamRequest* stream) const {
    std::string route_label = "unmatched";
    Response response = dispatch(request, caller, stream, route_label);
    response.version(request.version());
    response.keep_alive(request.keep_alive());
    metrics_.counter("tiercel_http_requests_total", "HTTP requests answered, by route pattern and status code.",
                     {{"route", route_label}, {"code", std::to_string(response.result_int())}})
        .inc();
    return response;
}

// nullopt means "go ahead".
std::optional<Response> Router::check_access(const Route& route, const Request& request, const CallerInfo& caller,
                              RequestContext& context) const {
    Credentials credentials = caller.trusted_peer ? Credentials{true, false, ""} : authenticator_(request);
    context.authenticated = credentials.authenticated;
    if (route.access == Access::open)
        return std::nullopt;
    bool needs_auth = route.access == Access::mutation || !caller.server_on_loopback;
    if (needs_auth && !context.authenticated) {
        Response denied = error_response(http::status::unauthorized, "unauthorized",
                                         "this route needs a bearer token (Authorization: Bearer <token>) or a "
                                         "dashboard login",
                                         request.version());
        denied.set(http::field::www_authenticate, "Bearer realm=\"tiercel\"");
        return denied;
    }
    if (route.access == Access::mutation && credentials.by_cookie) {
        auto header = request.find("X-CSRF-Token");
        std::string presented = header == request.end() ? "" : std::string(header->value());
        if (!token_matches(credentials.csrf_token, presented))  // constant time, like the bearer token
            return error_response(http::status::forbidden, "csrf",
                                  "a mutation authenticated by the session cookie needs the header X-CSRF-Token "
                                  "with the session's csrf_token",
                                  request.version());
    }
    return std::nullopt;
}

Response Router::dispatch(const Request& request, const CallerInfo& caller, StreamRequest* stream,
                          std::string& route_label) const {
    const unsigned version = request.version();
    RequestContext context{request, {}, {}, {}, false, caller.client_address, stream, caller.server_on_loopback};
    if (!split_target(request.target(), context.path, context.query))
        return error_response(http::status::bad_request, "bad_target", "the request target is not a valid path",
                              version);
    std::vector<std::string> segments = split_path(context.path);
    for (const auto& segment : segments)
        if (segment == "." || segment == "..")
            return error_response(http::status::bad_request, "bad_target", "'..' and '.' are not allowed in paths",
                                  version);

    std::string allowed;
    for (const Route& route : routes_) {
        if (route.segments.size() != segments.size())
            continue;
        std::map<std::string, std::string> params;
        bool match = true;
        for (size_t i = 0; i < segments.size() && match; ++i) {
            const std::string& want = route.segments[i];
            if (want.size() > 2 && want.front() == '{' && want.back() == '}')
                params[want.substr(1, want.size() - 2)] = segments[i];
            else
                match = want == segments[i];
        }
        if (!match)
            continue;
        if (route.method != request.method() &&
            !(route.method == http::verb::get && request.method() == http::verb::head)) {
            allowed += (allowed.empty() ? "" : ", ") + std::string(http::to_string(route.method));
            continue;
        }
        route_label = route.pattern;
        context.params = std::move(params);
        if (auto denied = check_access(route, request, caller, context))
            return std::move(*denied);
        try {
            return route.handler(context);
        } catch (const std::exception& error) {
            log::error("http", std::string("handler for ") + route.pattern + " failed: " + error.what());
            return error_response(http::status::internal_server_error, "internal", "internal error", version);
        }
    }
    if (!allowed.empty()) {
        Response response = error_response(http::status::method_not_allowed, "method_not_allowed",
                                           std::string(request.method_string()) + " is not allowed on " +
                                               context.path,
                                           version);
        response.set(http::field::allow, allowed);
        return response;
    }
    return error_response(http::status::not_found, "not_found",
                          "no route for " + std::string(request.method_string()) + " " + context.path, version);
}

}  // namespace tiercel::api
