// libFuzzer target: HTTP request parsing and routing, as the HTTP service does it, without sockets.
// The first input byte picks the caller (loopback or not, trusted Unix peer or not); the rest is fed to Beast's
// request parser with the service's header limit and a body limit, and a complete request goes through the real
// Router from build_base_router() (api_base.cpp: matching, captures, query decoding, auth, CSRF, sessions, login
// rate limiting, events, config, OpenAPI, static files). The storage services' routes are left out so the fuzz
// build stays small; with no service configured they only answer "not configured" anyway.
// Invariants checked: no crash, no exception, and every answer has a status in 100..599 and, when it is an error,
// a JSON body {"error": {"code", "message"}}.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <boost/beast/http/parser.hpp>
#include <nlohmann/json.hpp>

#include "tiercel/api/api.hpp"
#include "tiercel/core/config.hpp"
#include "tiercel/core/log.hpp"

namespace {

using namespace tiercel;
namespace http = boost::beast::http;

struct World {
    Daemon daemon{*parse_config("state_dir = \"/tmp/tiercel-fuzz\"\n", "fuzz.toml")};
    api::ApiContext context{daemon, "0123456789abcdef0123456789abcdef"};
    std::shared_ptr<api::Router> router = api::build_base_router(context);
};

World& world() {
    static World* instance = [] {
        log::set_threshold(log::Level::error);
        return new World();  // never destroyed: libFuzzer exits without unwinding
    }();
    return *instance;
}

bool parse(const uint8_t* data, size_t size, http::request_parser<http::string_body>& parser) {
    parser.header_limit(16 * 1024);
    parser.body_limit(64 * 1024);
    parser.eager(true);
    boost::beast::error_code ec;
    size_t offset = 0;
    while (offset < size && !parser.is_done()) {
        size_t used = parser.put(boost::asio::buffer(data + offset, size - offset), ec);
        if (ec == http::error::need_more)
            break;
        if (ec)
            return false;
        offset += used;
        if (used == 0)
            break;
    }
    if (!parser.is_done()) {
        parser.put_eof(ec);
        if (ec || !parser.is_done())
            return false;
    }
    return true;
}

void check_response(const api::Response& response) {
    unsigned status = response.result_int();
    if (status < 100 || status > 599)
        std::abort();
    if (status >= 400 && response[http::field::content_type] == "application/json") {
        auto body = nlohmann::json::parse(response.body(), nullptr, false);
        if (body.is_discarded() || !body.contains("error") || !body["error"].contains("code") ||
            !body["error"].contains("message"))
            std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1)
        return 0;
    World& w = world();
    api::CallerInfo caller;
    caller.server_on_loopback = (data[0] & 1) != 0;
    caller.trusted_peer = (data[0] & 2) != 0;
    caller.client_address = (data[0] & 4) ? "192.0.2.1" : "127.0.0.1";
    http::request_parser<http::string_body> parser;
    if (!parse(data + 1, size - 1, parser))
        return 0;
    api::StreamRequest stream;
    check_response(w.router->handle(parser.get(), caller, (data[0] & 8) ? &stream : nullptr));
    return 0;
}
