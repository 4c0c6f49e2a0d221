// Contract: the effective config for GET /api/v1/config, as JSON and as TOML, with every secret value replaced by
// "<redacted>". A key is secret by its name (is_secret_key): it contains "secret", "password" or "passphrase", or
// ends in "token" or "key" (token, access_key, secret_access_key, api_key, ...); keys naming a file that holds a
// secret ("key_file", "token_file") are paths, not secrets, and stay. The rule works on names, so keys that later
// modules add (S3 credentials, ...) are redacted without touching this file.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tiercel/core/config.hpp"

namespace tiercel::api {

struct RedactedConfig {
    nlohmann::json json;
    std::string toml;
};

bool is_secret_key(std::string_view key);
RedactedConfig redacted_config(const Config& config);

}  // namespace tiercel::api
