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
    std::chrono::milliseconds scan_interval{600'000};  // how often the daemon evaluates its index of candidates
    // Version retention: a version is kept while it is among the newest `keep_versions` or younger than `keep_days`
    // (0 switches that limit off; both 0 keeps every version). The current version is always kept.
    int64_t keep_versions = 3;
    int64_t keep_days = 0;

    std::string catalog_path(const std::string& state_dir) const {
        return catalog.empty() ? state_dir + "/hsm/catalog.db" : catalog;
    }
};

// [health]: the SMART poller and the risk model (docs/modules/health.md).
struct HealthConfig {
    std::string smartctl = "smartctl";                  // program path; a bare name is looked up in PATH
    std::chrono::milliseconds smart_interval{600'000};  // how often every disk is polled
    std::chrono::milliseconds smart_timeout{60'000};    // a smartctl run taking longer is killed: "no SMART data"
    std::vector<std::string> watch;                     // extra paths (watched filesystems) whose disks are polled
    int64_t temperature_warn_c = 50;                    // risk starts to count above this
    int64_t temperature_crit_c = 60;
    int64_t latency_factor = 3;                         // latency EWMA this many times its baseline counts
    uint64_t history = 288;                             // samples of temperature and latency kept per disk
};

// [planner]: maintenance plans, their guards and who approves them (docs/modules/planner.md).
struct PlannerConfig {
    bool enabled = true;
    std::chrono::milliseconds interval{60'000};            // how often candidates are evaluated
    std::vector<std::string> auto_approve{"scrub", "heal"};  // action classes approved without a person
    std::chrono::milliseconds scrub_interval{30LL * 86'400'000};  // a full scrub pass at least this often
    uint64_t budget_bytes = 0;                             // per run; 0 = no limit (the run resumes next time)
    std::chrono::milliseconds budget_time{6LL * 3'600'000};  // per run; 0 = no limit
    uint64_t bandwidth_limit = 0;                          // bytes/s for a running action; 0 = no limit
    std::chrono::milliseconds cooldown{3'600'000};         // after a run, the same action on the same target waits
    int64_t drain_confirm_polls = 3;                       // polls a disk must stay at risk before a drain
    double rebalance_skew = 0.25;                          // fill share spread that proposes a rebalance
    double reserve = 0.10;                                 // capacity fraction that must stay free after an action
    double max_foreground_latency_ms = 50;                 // above this, disruptive actions wait (throttle guard)
};

struct Config {
    std::string source_path;  // the file it came from, or "(defaults)"
    std::string state_dir = "/var/lib/tiercel";
    std::string log_level = "info";
    std::chrono::milliseconds shutdown_timeout{5'000};
    HttpConfig http;
    PoolConfig pool;
    HsmConfig hsm;
    HealthConfig health;
    PlannerConfig planner;

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
