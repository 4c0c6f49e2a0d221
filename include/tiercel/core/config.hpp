// Contract: Tiercel's configuration, as loaded from one TOML file.
// load_config() either returns a fully validated Config or fails with Errc::invalid_input and a message listing every
// problem as "FILE:LINE:COL: key 'a.b': what is wrong" — unknown keys, wrong types and bad values alike. Defaults
// apply to absent keys; config/tiercel.toml documents each key. Section parsers live in src/core/config_*.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tiercel/core/error.hpp"

namespace tiercel {

inline constexpr const char* kDefaultConfigPath = "/etc/tiercel/tiercel.toml";

struct HttpConfig {
    std::string listen = "127.0.0.1:8080";
    std::string token_file;  // default: <state_dir>/api.token
    uint64_t body_limit = 1 << 20;
    std::chrono::milliseconds request_timeout{30'000};
};

struct PoolDiskConfig {
    std::string path;
    std::string tier = "hdd";             // nvme | ssd | hdd | smr
    std::optional<uint64_t> capacity;     // default: what statfs says
    std::string failure_domain;           // default: the disk itself
    std::string device;                   // block device for SMART; default: discovered
};

struct PoolConfig {
    bool configured = false;  // a [pool] table is present
    std::string name = "tank";
    int k = 4;
    int m = 2;
    uint64_t chunk_size = 1 << 20;
    std::string compression = "zstd";  // zstd | lz4 | none
    int compression_level = 3;
    std::string key_file;              // non-empty: encrypted pool
    std::string mountpoint;            // non-empty: `serve` mounts the pool there
    std::vector<PoolDiskConfig> disks;
};

struct HsmTargetConfig {
    std::string name;
    std::string type = "dir";  // dir | pool
    std::string path;          // dir: the directory that holds payloads
};

struct HsmRuleConfig {
    std::string name;
    std::vector<std::string> include;  // globs over absolute paths; "**" crosses directories
    std::vector<std::string> exclude;
    uint64_t min_size = 0;
    std::chrono::milliseconds idle{30LL * 24 * 3600 * 1000};  // since the later of last access and last change
    std::vector<std::string> copies;                          // target names, one copy each
};

struct HsmProcessRule {
    std::string name;             // the process's comm (as in /proc/PID/comm)
    std::string action = "deny";  // recall | deny (EAGAIN, no recall)
};

struct HsmConfig {
    bool configured = false;  // an [hsm] table is present
    std::vector<std::string> watch;
    std::vector<HsmTargetConfig> targets;
    std::vector<HsmRuleConfig> rules;
    double high_water = 0.85;
    double low_water = 0.75;
    std::string catalog;                            // default: <state_dir>/hsm/catalog.db
    std::chrono::milliseconds recall_timeout{30'000};  // a reader waiting longer gets EIO
    int compression_level = 3;
    std::vector<HsmProcessRule> processes;

    std::string catalog_path(const std::string& state_dir) const {
        return catalog.empty() ? state_dir + "/hsm/catalog.db" : catalog;
    }
};

struct Config {
    std::string source_path;  // the file it came from, or "(defaults)"
    std::string state_dir = "/var/lib/tiercel";
    std::string log_level = "info";
    std::chrono::milliseconds shutdown_timeout{5'000};
    HttpConfig http;
    PoolConfig pool;
    HsmConfig hsm;

    std::string token_path() const;
    std::string socket_path() const;  // the CLI's Unix socket: <state_dir>/api.sock
};

// Which file to read: the -c/--config flag, else $TIERCEL_CONFIG, else /etc/tiercel/tiercel.toml.
std::string resolve_config_path(const std::string& flag_value);

Result<Config> load_config(const std::string& path);
Result<Config> parse_config(std::string_view toml_text, const std::string& source_name);

// The effective configuration (defaults filled in) as TOML, for `check-config` and the API. Secrets are never part
// of the config itself (only paths to them), so nothing needs redacting here.
std::string render_config_toml(const Config& config);

}  // namespace tiercel
