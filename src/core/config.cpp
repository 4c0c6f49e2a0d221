#include "tiercel/core/config.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tiercel/core/config_reader.hpp"
#include "tiercel/core/log.hpp"
#include "tiercel/core/net_address.hpp"
#include "tiercel/core/units.hpp"

namespace tiercel {

void parse_pool_section(TableReader& root, PoolConfig& pool);  // config_pool.cpp
void render_pool_section(const PoolConfig& pool, toml::table& out);
void parse_hsm_section(TableReader& root, HsmConfig& hsm);  // config_hsm.cpp
void render_hsm_section(const HsmConfig& hsm, toml::table& out);
void parse_health_section(TableReader& root, HealthConfig& health);  // config_health.cpp
void parse_planner_section(TableReader& root, PlannerConfig& planner);
void render_health_section(const HealthConfig& health, toml::table& out);
void render_planner_section(const PlannerConfig& planner, toml::table& out);

namespace {

void parse_http_section(TableReader& root, HttpConfig& http) {
    const toml::table* table = root.sub_table("http");
    if (!table)
        return;
    TableReader reader(*table, "http", root.errors());
    reader.read_checked_string("listen", http.listen, [](const std::string& value) {
        auto parsed = parse_listen_address(value);
        return parsed ? std::string() : parsed.error().message();
    });
    reader.read_string("token_file", http.token_file);
    reader.read_size("body_limit", http.body_limit);
    reader.read_duration("request_timeout", http.request_timeout);
    if (http.body_limit < 1024 || http.body_limit > (64u << 20))
        reader.fail("body_limit", "must be between 1 KiB and 64 MiB");
    reader.finish();
}

void parse_root(const toml::table& table, Config& config, ConfigErrors& errors) {
    TableReader root(table, "", errors);
    root.read_checked_string("state_dir", config.state_dir, [](const std::string& value) {
        return !value.empty() && value.front() == '/' ? std::string() : "must be an absolute path";
    });
    root.read_checked_string("log_level", config.log_level, [](const std::string& value) {
        auto level = log::parse_level(value);
        return level ? std::string() : level.error().message();
    });
    root.read_duration("shutdown_timeout", config.shutdown_timeout);
    parse_http_section(root, config.http);
    parse_pool_section(root, config.pool);
    parse_hsm_section(root, config.hsm);
    parse_health_section(root, config.health);
    parse_planner_section(root, config.planner);
    root.finish();
}

}  // namespace

std::string Config::token_path() const {
    return http.token_file.empty() ? state_dir + "/api.token" : http.token_file;
}

std::string Config::socket_path() const { return state_dir + "/api.sock"; }

std::string resolve_config_path(const std::string& flag_value) {
    if (!flag_value.empty())
        return flag_value;
    if (const char* env = std::getenv("TIERCEL_CONFIG"); env && *env)
        return env;
    return kDefaultConfigPath;
}

Result<Config> parse_config(std::string_view toml_text, const std::string& source_name) {
    ConfigErrors errors(source_name);
    Config config;
    config.source_path = source_name;
    try {
        toml::table table = toml::parse(toml_text, source_name);
        parse_root(table, config, errors);
    } catch (const toml::parse_error& error) {
        errors.add(error.source(), "", std::string(error.description()));
    }
    if (errors.empty())
        return config;
    std::string message;
    for (const auto& line : errors.messages())
        message += (message.empty() ? "" : "\n") + line;
    return make_error(Errc::invalid_input, message);
}

Result<Config> load_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return Error::from_errno(errno, "cannot read config file " + path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return parse_config(buffer.str(), path);
}

std::string render_config_toml(const Config& config) {
    toml::table http{{"listen", config.http.listen},
                     {"token_file", config.token_path()},
                     {"body_limit", static_cast<int64_t>(config.http.body_limit)},
                     {"request_timeout", format_duration(config.http.request_timeout)}};
    toml::table root{{"state_dir", config.state_dir},
                     {"log_level", config.log_level},
                     {"shutdown_timeout", format_duration(config.shutdown_timeout)},
                     {"http", std::move(http)}};
    if (config.pool.configured)
        render_pool_section(config.pool, root);
    if (config.hsm.configured)
        render_hsm_section(config.hsm, root);
    render_health_section(config.health, root);
    render_planner_section(config.planner, root);
    std::ostringstream out;
    out << "# effective configuration from " << config.source_path << "\n" << root << "\n";
    return out.str();
}

}  // namespace tiercel
