#include "tiercel/api/config_json.hpp"

#include <algorithm>
#include <sstream>
#include <vector>

#include <toml++/toml.h>

namespace tiercel::api {
namespace {

constexpr std::string_view kRedacted = "<redacted>";

void redact(toml::node& node);

void redact_table(toml::table& table) {
    std::vector<std::string> secrets;
    for (auto&& [key, value] : table) {
        if (is_secret_key(key.str()) && !value.is_table() && !value.is_array())
            secrets.emplace_back(key.str());
        else
            redact(value);
    }
    for (const std::string& key : secrets)
        table.insert_or_assign(key, std::string(kRedacted));
}

void redact(toml::node& node) {
    if (auto* table = node.as_table())
        redact_table(*table);
    else if (auto* array = node.as_array())
        for (auto& element : *array)
            redact(element);
}

nlohmann::json to_json(const toml::node& node) {
    if (auto* table = node.as_table()) {
        nlohmann::json out = nlohmann::json::object();
        for (auto&& [key, value] : *table)
            out[std::string(key.str())] = to_json(value);
        return out;
    }
    if (auto* array = node.as_array()) {
        nlohmann::json out = nlohmann::json::array();
        for (auto& element : *array)
            out.push_back(to_json(element));
        return out;
    }
    if (auto value = node.value<bool>(); value && node.is_boolean())
        return *value;
    if (node.is_integer())
        return *node.value<int64_t>();
    if (node.is_floating_point())
        return *node.value<double>();
    if (node.is_string())
        return *node.value<std::string>();
    std::ostringstream text;  // dates and times: their TOML spelling
    node.visit([&](auto&& value) { text << value; });
    return text.str();
}

}  // namespace

bool is_secret_key(std::string_view key) {
    std::string lower(key);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.ends_with("_file") || lower.ends_with("_path"))
        return false;
    for (std::string_view word : {"secret", "password", "passphrase"})
        if (lower.find(word) != std::string::npos)
            return true;
    return lower.ends_with("token") || lower.ends_with("key");
}

RedactedConfig redacted_config(const Config& config) {
    toml::table root = toml::parse(render_config_toml(config));
    redact_table(root);
    std::ostringstream toml_text;
    toml_text << "# effective configuration from " << config.source_path << " (secrets redacted)\n" << root << "\n";
    return {to_json(root), toml_text.str()};
}

}  // namespace tiercel::api
