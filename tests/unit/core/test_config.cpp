// Config parsing: defaults, every key, and every error path with its file:line and key in the message.
#include <doctest/doctest.h>

#include "tiercel/core/config.hpp"

using tiercel::Errc;
using tiercel::parse_config;

namespace {

// Parses `text` and returns the error message (failing the test when parsing succeeds).
std::string error_of(const std::string& text) {
    auto result = parse_config(text, "test.toml");
    REQUIRE_MESSAGE(!result.ok(), "expected a config error for:\n" << text);
    CHECK(result.error().code() == Errc::invalid_input);
    return result.error().message();
}

}  // namespace

TEST_CASE("an empty config gives the documented defaults") {
    auto config = parse_config("", "empty.toml");
    REQUIRE(config.ok());
    CHECK(config->state_dir == "/var/lib/tiercel");
    CHECK(config->http.listen == "127.0.0.1:8080");
    CHECK(config->token_path() == "/var/lib/tiercel/api.token");
    CHECK(config->socket_path() == "/var/lib/tiercel/api.sock");
    CHECK(config->shutdown_timeout == std::chrono::seconds(5));
    CHECK_FALSE(config->pool.configured);
}

TEST_CASE("every documented key is read") {
    auto config = parse_config(R"(
state_dir = "/srv/state"
log_level = "debug"
shutdown_timeout = "2s"
[http]
listen = "[::1]:9000"
token_file = "/etc/tiercel/token"
body_limit = "64KiB"
request_timeout = "500ms"
)", "full.toml");
    REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().message()));
    CHECK(config->state_dir == "/srv/state");
    CHECK(config->log_level == "debug");
    CHECK(config->shutdown_timeout == std::chrono::seconds(2));
    CHECK(config->http.listen == "[::1]:9000");
    CHECK(config->token_path() == "/etc/tiercel/token");
    CHECK(config->http.body_limit == 65536);
    CHECK(config->http.request_timeout == std::chrono::milliseconds(500));
}

TEST_CASE("the shipped example config is valid") {
    auto config = tiercel::load_config(std::string(TIERCEL_SOURCE_DIR) + "/config/tiercel.toml");
    REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().message()));
    CHECK_FALSE(config->pool.configured);  // nothing that touches data is enabled by default
}

TEST_CASE("an unknown key names the key, the file and the line") {
    std::string message = error_of("state_dir = \"/x\"\n[http]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n");
    CHECK(message.find("test.toml:4:") != std::string::npos);
    CHECK(message.find("http.lisen") != std::string::npos);
    CHECK(message.find("unknown key") != std::string::npos);
    CHECK(message.find("listen") != std::string::npos);  // the known keys are suggested
}

TEST_CASE("an unknown top-level table is reported") {
    std::string message = error_of("[htp]\nlisten = \"127.0.0.1:1\"\n");
    CHECK(message.find("test.toml:1:") != std::string::npos);
    CHECK(message.find("'htp'") != std::string::npos);
}

TEST_CASE("a wrong type names the key, the line and both types") {
    std::string message = error_of("\n\n[http]\nlisten = 8080\n");
    CHECK(message.find("test.toml:4:") != std::string::npos);
    CHECK(message.find("http.listen") != std::string::npos);
    CHECK(message.find("must be a string") != std::string::npos);
    CHECK(message.find("got an integer") != std::string::npos);
}

TEST_CASE("bad values are rejected with the reason") {
    CHECK(error_of("state_dir = \"relative/path\"").find("absolute path") != std::string::npos);
    CHECK(error_of("log_level = \"loud\"").find("unknown log level 'loud'") != std::string::npos);
    CHECK(error_of("shutdown_timeout = \"5 fortnights\"").find("unknown unit") != std::string::npos);
    CHECK(error_of("[http]\nlisten = \"127.0.0.1\"").find("no port") != std::string::npos);
    CHECK(error_of("[http]\nlisten = \"127.0.0.1:99999\"").find("0 to 65535") != std::string::npos);
    CHECK(error_of("[http]\nlisten = \"nas.local:80\"").find("numeric IP") != std::string::npos);
    CHECK(error_of("[http]\nbody_limit = \"12\"").find("between 1 KiB and 64 MiB") != std::string::npos);
    CHECK(error_of("[http]\nbody_limit = -5").find("negative") != std::string::npos);
    CHECK(error_of("http = 5").find("must be a table") != std::string::npos);
}

TEST_CASE("a TOML syntax error names the line") {
    std::string message = error_of("state_dir = \"/x\"\nthis is not toml\n");
    CHECK(message.find("test.toml:2:") != std::string::npos);
}

TEST_CASE("every problem is reported, not only the first") {
    std::string message = error_of("bogus = 1\n[http]\nlisten = 3\n");
    CHECK(message.find("bogus") != std::string::npos);
    CHECK(message.find("http.listen") != std::string::npos);
}

TEST_CASE("a missing file is an error naming it") {
    auto result = tiercel::load_config("/nonexistent/tiercel.toml");
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().message().find("/nonexistent/tiercel.toml") != std::string::npos);
}

TEST_CASE("the config path comes from the flag, then TIERCEL_CONFIG, then the default") {
    CHECK(tiercel::resolve_config_path("/a.toml") == "/a.toml");
    setenv("TIERCEL_CONFIG", "/b.toml", 1);
    CHECK(tiercel::resolve_config_path("") == "/b.toml");
    unsetenv("TIERCEL_CONFIG");
    CHECK(tiercel::resolve_config_path("") == tiercel::kDefaultConfigPath);
}

TEST_CASE("the rendered effective config parses back to the same values") {
    auto config = parse_config("state_dir = \"/s\"\n[http]\nlisten = \"127.0.0.1:81\"\n", "a.toml");
    REQUIRE(config.ok());
    std::string rendered = tiercel::render_config_toml(*config);
    auto again = parse_config(rendered, "rendered.toml");
    REQUIRE_MESSAGE(again.ok(), (again.ok() ? "" : again.error().message()));
    CHECK(again->state_dir == "/s");
    CHECK(again->http.listen == "127.0.0.1:81");
    CHECK(again->token_path() == "/s/api.token");
}
