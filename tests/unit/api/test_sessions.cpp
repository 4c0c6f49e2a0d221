// Dashboard sessions through the Router: login, the cookie, CSRF on mutations, logout, the login rate limit and the
// routes that stay open off loopback. Also the config redaction and OpenAPI completeness.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"
#include "tiercel/api/config_json.hpp"

using namespace tiercel;
using namespace tiercel::api;
using tiercel::api::test::kToken;

namespace {

struct Fixture : test::ApiWorld {
    Fixture() {
        router->add(http::verb::post, "/api/v1/test/mutate", Access::mutation, [](RequestContext& request) {
            return json_response(http::status::ok, {{"done", true}}, request.request.version());
        });
    }

    Response call(http::verb method, const std::string& target, const std::string& body = "",
                  std::map<std::string, std::string> headers = {},
                  CallerInfo caller = {false, true, "127.0.0.1"}) {
        Request request{method, target, 11};
        for (const auto& [name, value] : headers)
            request.set(name, value);
        request.body() = body;
        request.prepare_payload();
        return router->handle(request, caller);
    }
};

std::string code_of(const Response& response) {
    return nlohmann::json::parse(response.body()).at("error").at("code").get<std::string>();
}

std::string cookie_value(const Response& response) {
    std::string header(response[http::field::set_cookie]);
    auto start = header.find('=') + 1;
    return header.substr(start, header.find(';') - start);
}

}  // namespace

TEST_CASE("login sets an HttpOnly SameSite=Strict cookie and returns a CSRF token") {
    Fixture f;
    Response wrong = f.call(http::verb::post, "/api/v1/login", R"({"token":"nope-nope-nope-nope"})");
    CHECK(wrong.result() == http::status::unauthorized);
    CHECK(code_of(wrong) == "unauthorized");
    CHECK(f.call(http::verb::post, "/api/v1/login", "{not json").result() == http::status::bad_request);
    CHECK(f.call(http::verb::post, "/api/v1/login", R"({"token":5})").result() == http::status::bad_request);

    Response ok = f.call(http::verb::post, "/api/v1/login", R"({"token":")" + kToken + R"("})");
    REQUIRE(ok.result() == http::status::ok);
    std::string set_cookie(ok[http::field::set_cookie]);
    CHECK(set_cookie.starts_with("tiercel_session="));
    CHECK(set_cookie.find("; HttpOnly") != std::string::npos);
    CHECK(set_cookie.find("; SameSite=Strict") != std::string::npos);
    CHECK(set_cookie.find("; Path=/") != std::string::npos);
    std::string session = cookie_value(ok);
    CHECK(session.size() == 64);
    std::string csrf = nlohmann::json::parse(ok.body())["csrf_token"];
    CHECK(csrf.size() == 64);
    CHECK(csrf != session);

    std::string cookie = "theme=dark; tiercel_session=" + session;
    CHECK(code_of(f.call(http::verb::post, "/api/v1/test/mutate", "", {{"Cookie", cookie}})) == "csrf");
    CHECK(f.call(http::verb::post, "/api/v1/test/mutate", "", {{"Cookie", cookie}, {"X-CSRF-Token", "x"}}).result() ==
          http::status::forbidden);
    CHECK(f.call(http::verb::post, "/api/v1/test/mutate", "", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}})
              .result() == http::status::ok);
    // A bearer token needs no CSRF header: browsers never attach one on their own.
    CHECK(f.call(http::verb::post, "/api/v1/test/mutate", "", {{"Authorization", "Bearer " + kToken}}).result() ==
          http::status::ok);

    auto state = nlohmann::json::parse(f.call(http::verb::get, "/api/v1/session", "", {{"Cookie", cookie}}).body());
    CHECK(state["authenticated"] == true);
    CHECK(state["csrf_token"] == csrf);
    CHECK(state["mutations_need_login"] == false);
    auto anonymous = nlohmann::json::parse(f.call(http::verb::get, "/api/v1/session").body());
    CHECK(anonymous["authenticated"] == false);
    CHECK(anonymous["csrf_token"].is_null());
    CHECK(anonymous["mutations_need_login"] == true);

    Response out = f.call(http::verb::post, "/api/v1/logout", "", {{"Cookie", cookie}});
    CHECK(out.result() == http::status::ok);
    CHECK(std::string(out[http::field::set_cookie]).find("Max-Age=0") != std::string::npos);
    CHECK(f.call(http::verb::post, "/api/v1/test/mutate", "", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}})
              .result() == http::status::unauthorized);
}

TEST_CASE("more than 5 failed logins a minute from one address get 429 with Retry-After") {
    Fixture f;
    const std::string wrong = R"({"token":"wrong-wrong-wrong-wrong"})";
    for (int i = 0; i < SessionStore::kMaxFailures; ++i)
        CHECK(f.call(http::verb::post, "/api/v1/login", wrong).result() == http::status::unauthorized);
    Response limited = f.call(http::verb::post, "/api/v1/login", R"({"token":")" + kToken + R"("})");
    CHECK(limited.result() == http::status::too_many_requests);
    CHECK(code_of(limited) == "too_many_logins");
    int retry = std::stoi(std::string(limited[http::field::retry_after]));
    CHECK(retry >= 1);
    CHECK(retry <= 60);
    // Another address is not affected.
    CallerInfo other{false, true, "192.0.2.7"};
    CHECK(f.call(http::verb::post, "/api/v1/login", R"({"token":")" + kToken + R"("})", {}, other).result() ==
          http::status::ok);
}

TEST_CASE("the failure window slides: attempts are allowed again a minute after the oldest failure") {
    SessionStore store;
    auto t0 = SessionStore::Clock::now();
    for (int i = 0; i < 5; ++i)
        store.record_failure("a", t0 + std::chrono::seconds(i));
    CHECK_FALSE(store.login_blocked("a", t0 + std::chrono::seconds(4)) == std::nullopt);
    CHECK(store.login_blocked("a", t0 + std::chrono::seconds(4))->count() == 56);
    CHECK(store.login_blocked("a", t0 + std::chrono::seconds(60)) == std::nullopt);  // one aged out
    CHECK(store.login_blocked("b", t0) == std::nullopt);
}

TEST_CASE("sessions expire when unused") {
    SessionStore store;
    auto t0 = SessionStore::Clock::now();
    auto session = store.create(t0);
    CHECK(store.csrf_for(session.id, t0 + std::chrono::hours(11)) == session.csrf);
    CHECK(store.csrf_for(session.id, t0 + std::chrono::hours(22)) == session.csrf);  // use slides the limit
    CHECK(store.csrf_for(session.id, t0 + std::chrono::hours(35)) == std::nullopt);
}

TEST_CASE("off loopback only login, session and the dashboard files are open") {
    Fixture f;
    CallerInfo remote{false, false, "192.0.2.1"};
    CHECK(f.call(http::verb::get, "/api/v1/status", "", {}, remote).result() == http::status::unauthorized);
    CHECK(f.call(http::verb::get, "/api/v1/events", "", {}, remote).result() == http::status::unauthorized);
    CHECK(f.call(http::verb::get, "/api/v1/session", "", {}, remote).result() == http::status::ok);
    CHECK(f.call(http::verb::get, "/", "", {}, remote).result() == http::status::ok);
    Response login = f.call(http::verb::post, "/api/v1/login", R"({"token":")" + kToken + R"("})", {}, remote);
    REQUIRE(login.result() == http::status::ok);
    std::string cookie = "tiercel_session=" + cookie_value(login);
    CHECK(f.call(http::verb::get, "/api/v1/status", "", {{"Cookie", cookie}}, remote).result() == http::status::ok);
    auto session = nlohmann::json::parse(f.call(http::verb::get, "/api/v1/session", "", {}, remote).body());
    CHECK(session["reads_need_login"] == true);
}

TEST_CASE("secret config keys are redacted by name") {
    CHECK(is_secret_key("token"));
    CHECK(is_secret_key("secret_access_key"));
    CHECK(is_secret_key("access_key"));
    CHECK(is_secret_key("passphrase"));
    CHECK(is_secret_key("SMTP_Password"));
    CHECK_FALSE(is_secret_key("key_file"));
    CHECK_FALSE(is_secret_key("token_file"));
    CHECK_FALSE(is_secret_key("state_dir"));
    CHECK_FALSE(is_secret_key("keyring_dir"));
    Fixture f;
    auto body = nlohmann::json::parse(f.call(http::verb::get, "/api/v1/config").body());
    CHECK(body["config"]["state_dir"] == "/tmp/tiercel-unit");
    CHECK(body["config"]["http"]["token_file"] == "/tmp/tiercel-unit/api.token");
    CHECK(body["toml"].get<std::string>().find("state_dir = '/tmp/tiercel-unit'") != std::string::npos);
}

TEST_CASE("every registered route is documented in docs/openapi.yaml") {
    Fixture f;
    std::ifstream in(std::string(TIERCEL_SOURCE_DIR) + "/docs/openapi.yaml");
    std::stringstream text;
    text << in.rdbuf();
    std::vector<std::string> lines;
    for (std::string line; std::getline(text, line);)
        lines.push_back(line);
    for (const std::string& route : f.router->describe()) {
        std::string method = route.substr(0, route.find(' '));
        std::string pattern = route.substr(route.find(' ') + 1);
        if (pattern == "/api/v1/test/mutate")
            continue;  // this test's own route
        for (auto& c : method)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        bool found = false;
        for (size_t i = 0; i < lines.size() && !found; ++i) {
            if (lines[i] != "  " + pattern + ":")
                continue;
            for (size_t j = i + 1; j < lines.size() && lines[j].starts_with("   "); ++j)
                found |= lines[j] == "    " + method + ":";
        }
        CHECK_MESSAGE(found, route << " is not documented in docs/openapi.yaml");
    }
}

TEST_CASE("GET /api/v1/openapi.yaml serves the embedded document") {
    Fixture f;
    Response response = f.call(http::verb::get, "/api/v1/openapi.yaml");
    CHECK(response.result() == http::status::ok);
    CHECK(response[http::field::content_type].starts_with("application/yaml"));
    CHECK(response.body().starts_with("openapi: 3"));
    CHECK(response.body().find("/api/v1/events/stream:") != std::string::npos);
}

TEST_CASE("the events routes validate their parameters; the stream needs a streaming connection") {
    Fixture f;
    CHECK(f.call(http::verb::get, "/api/v1/events?limit=0").result() == http::status::bad_request);
    CHECK(f.call(http::verb::get, "/api/v1/events?limit=501").result() == http::status::bad_request);
    CHECK(f.call(http::verb::get, "/api/v1/events?before=abc").result() == http::status::bad_request);
    auto page = nlohmann::json::parse(f.call(http::verb::get, "/api/v1/events?limit=2").body());
    CHECK(page["events"].is_array());
    CHECK(page["events"].size() <= 2);
    CHECK(f.call(http::verb::get, "/api/v1/events/stream").result() == http::status::not_implemented);
}

TEST_CASE("status and ha answer without any service") {
    Fixture f;
    auto status = nlohmann::json::parse(f.call(http::verb::get, "/api/v1/status").body());
    CHECK(status["state"] == "ok");
    CHECK(status["pool"].is_null());
    CHECK(status["disks"]["total"] == 0);
    CHECK(status["summary"].get<std::string>().find("All is well") == 0);
    auto ha = nlohmann::json::parse(f.call(http::verb::get, "/api/v1/ha").body());
    CHECK(ha["pool_state"] == "none");
    CHECK(ha["problem"] == false);
    CHECK(ha["last_scrub"].is_null());
}
