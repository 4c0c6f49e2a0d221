// The API's routes, in-process: requests go straight into the Router, no sockets.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"
#include "tiercel/api/assets.hpp"

using namespace tiercel;
using namespace tiercel::api;
using tiercel::api::test::kToken;

namespace {

struct Fixture : test::ApiWorld {
    Response call(http::verb method, const std::string& target, const std::string& token = "",
                  CallerInfo caller = {}) {
        Request request{method, target, 11};
        if (!token.empty())
            request.set(http::field::authorization, "Bearer " + token);
        request.prepare_payload();
        return router->handle(request, caller);
    }
};

std::string error_code_of(const Response& response) {
    return nlohmann::json::parse(response.body()).at("error").at("code").get<std::string>();
}

}  // namespace

TEST_CASE("GET /api/v1/health reports ok and the version") {
    Fixture fixture;
    Response response = fixture.call(http::verb::get, "/api/v1/health");
    CHECK(response.result() == http::status::ok);
    CHECK(response[http::field::content_type] == "application/json");
    auto body = nlohmann::json::parse(response.body());
    CHECK(body["status"] == "ok");
    CHECK(body["version"] == TIERCEL_VERSION);
}

TEST_CASE("GET /metrics is Prometheus text with uptime, loop lag and request counts") {
    Fixture fixture;
    fixture.call(http::verb::get, "/api/v1/health");
    fixture.call(http::verb::get, "/api/v1/nope");
    Response response = fixture.call(http::verb::get, "/metrics");
    CHECK(response.result() == http::status::ok);
    CHECK(response[http::field::content_type].starts_with("text/plain; version=0.0.4"));
    const std::string& text = response.body();
    CHECK(text.find("# TYPE tiercel_uptime_seconds gauge") != std::string::npos);
    CHECK(text.find("# TYPE tiercel_event_loop_lag_seconds gauge") != std::string::npos);
    CHECK(text.find("tiercel_http_requests_total{route=\"/api/v1/health\",code=\"200\"} 1") != std::string::npos);
    CHECK(text.find("tiercel_http_requests_total{route=\"unmatched\",code=\"404\"} 1") != std::string::npos);
    // Every non-comment line is "name{labels} value".
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        std::string line = text.substr(start, end - start);
        start = end + 1;
        if (line.empty() || line[0] == '#')
            continue;
        CHECK_MESSAGE(line.rfind("tiercel_", 0) == 0, line);
        CHECK_MESSAGE(line.find(' ') != std::string::npos, line);
    }
}

TEST_CASE("unknown routes are 404 with a JSON error") {
    Fixture fixture;
    Response response = fixture.call(http::verb::get, "/api/v1/does-not-exist");
    CHECK(response.result() == http::status::not_found);
    CHECK(error_code_of(response) == "not_found");
}

TEST_CASE("a known path with the wrong method is 405 with Allow") {
    Fixture fixture;
    Response response = fixture.call(http::verb::delete_, "/api/v1/health", kToken);
    CHECK(response.result() == http::status::method_not_allowed);
    CHECK(response[http::field::allow] == "GET");
    CHECK(error_code_of(response) == "method_not_allowed");
}

TEST_CASE("mutating routes need the bearer token") {
    Fixture fixture;
    fixture.router->add(http::verb::post, "/api/v1/test/mutate", Access::mutation, [](RequestContext& request) {
        return json_response(http::status::ok, {{"done", true}}, request.request.version());
    });
    CHECK(fixture.call(http::verb::post, "/api/v1/test/mutate").result() == http::status::unauthorized);
    Response wrong = fixture.call(http::verb::post, "/api/v1/test/mutate", "wrong-token-wrong-token-wrong-tok");
    CHECK(wrong.result() == http::status::unauthorized);
    CHECK(error_code_of(wrong) == "unauthorized");
    CHECK(wrong[http::field::www_authenticate].starts_with("Bearer"));
    CHECK(fixture.call(http::verb::post, "/api/v1/test/mutate", kToken).result() == http::status::ok);
    CallerInfo unix_peer{true, true};
    CHECK(fixture.call(http::verb::post, "/api/v1/test/mutate", "", unix_peer).result() == http::status::ok);
}

TEST_CASE("off loopback, reads need the token too") {
    Fixture fixture;
    CallerInfo remote{false, false};
    CHECK(fixture.call(http::verb::get, "/api/v1/health", "", remote).result() == http::status::unauthorized);
    CHECK(fixture.call(http::verb::get, "/api/v1/health", kToken, remote).result() == http::status::ok);
}

TEST_CASE("path traversal and bad targets are refused") {
    Fixture fixture;
    CHECK(fixture.call(http::verb::get, "/../etc/passwd").result() == http::status::bad_request);
    CHECK(fixture.call(http::verb::get, "/%2e%2e/etc/passwd").result() == http::status::bad_request);
    CHECK(fixture.call(http::verb::get, "/api/v1/%zz").result() == http::status::bad_request);
    CHECK(fixture.call(http::verb::get, "/x%00y").result() == http::status::bad_request);
    CHECK(fixture.call(http::verb::get, "relative").result() == http::status::bad_request);
    Response missing = fixture.call(http::verb::get, "/passwd");
    CHECK(missing.result() == http::status::not_found);
}

TEST_CASE("the dashboard shell is served from embedded assets") {
    Fixture fixture;
    Response index = fixture.call(http::verb::get, "/");
    CHECK(index.result() == http::status::ok);
    CHECK(index[http::field::content_type] == "text/html; charset=utf-8");
    CHECK(index.body().find("<title>Tiercel</title>") != std::string::npos);
    // Vite names the bundle assets/index-<hash>.js: find it among the embedded assets, then fetch it over HTTP.
    std::string script_path;
    for (const auto& asset : tiercel::api::embedded_assets())
        if (asset.path.starts_with("assets/") && asset.path.ends_with(".js"))
            script_path = "/" + std::string(asset.path);
    REQUIRE(!script_path.empty());
    Response script = fixture.call(http::verb::get, script_path);
    CHECK(script.result() == http::status::ok);
    CHECK(script[http::field::content_type].starts_with("text/javascript"));
    CHECK(fixture.call(http::verb::head, "/").result() == http::status::ok);
}

TEST_CASE("query strings are split and decoded") {
    std::string path;
    std::map<std::string, std::string> query;
    REQUIRE(split_target("/a/b?x=1&name=hello%20world&flag", path, query));
    CHECK(path == "/a/b");
    CHECK(query["x"] == "1");
    CHECK(query["name"] == "hello world");
    CHECK(query.count("flag") == 1);
}

TEST_CASE("GET /api/v1/config returns the effective config") {
    Fixture fixture;
    Response response = fixture.call(http::verb::get, "/api/v1/config");
    CHECK(response.result() == http::status::ok);
    auto body = nlohmann::json::parse(response.body());
    CHECK(body["toml"].get<std::string>().find("state_dir = '/tmp/tiercel-unit'") != std::string::npos);
}
