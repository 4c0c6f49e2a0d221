// `tiercel disks [--json]`: every watched disk's SMART summary, risk level and the facts behind it. Asks the running
// daemon (which remembers trends across polls); without a daemon it polls once itself (no trend memory).
// `tiercel disks ack DISK COUNTER`: acknowledge a risk counter (POST /api/v1/disks/{id}/acknowledge); the daemon keeps
// it quiet until its value changes, across restarts. It needs the daemon: the risk memory lives there.
#include <iostream>

#include <CLI/CLI.hpp>

#include "health_offline.hpp"
#include "tiercel/cli/common.hpp"
#include "tiercel/cli/daemon_client.hpp"
#include "tiercel/health/health_json.hpp"

namespace tiercel::cli {
namespace {

void print_disk(const nlohmann::json& disk) {
    const nlohmann::json& smart = disk["smart"];
    const nlohmann::json& risk = disk["risk"];
    std::cout << disk.value("id", "") << "  " << disk.value("path", "") << "  "
              << (disk.value("device", "").empty() ? "(no device)" : disk.value("device", "")) << "  risk "
              << risk.value("level", "unknown") << " (" << risk.value("score", 0.0) << ")\n";
    std::cout << "  SMART " << smart.value("status", "unknown");
    if (!smart.value("model", "").empty())
        std::cout << ", " << smart.value("protocol", "") << " " << smart.value("model", "") << " serial "
                  << smart.value("serial", "");
    if (smart["temperature_c"].is_number())
        std::cout << ", " << smart["temperature_c"].get<int64_t>() << " C";
    if (smart["power_on_hours"].is_number())
        std::cout << ", " << smart["power_on_hours"].get<int64_t>() << " h powered on";
    std::cout << "\n";
    if (smart.contains("reason"))
        std::cout << "  " << smart.value("reason", "") << "\n";
    for (const auto& fact : risk["explanation"])
        std::cout << "  - " << fact.value("detail", "") << " [" << fact.value("fact", "") << ", weight "
                  << fact.value("weight", 0.0) << "]\n";
}

}  // namespace

OfflineHealth poll_health_offline(const Config& config) {
    OfflineHealth out;
    std::vector<health::DiskTarget> pool_disks;
    if (config.pool.configured) {
        auto handle = pool::open_configured_pool(config.pool, pool::PoolOpenMode::open);
        if (handle) {
            out.pool = std::move(*handle);
            for (const auto& disk : out.pool->pool().status().disks)
                pool_disks.push_back({disk.name, disk.name, disk.path, disk.tier, "", disk.disk_id});
        } else {
            out.pool_problem = handle.error().message();
            for (size_t i = 0; i < config.pool.disks.size(); ++i)
                pool_disks.push_back({"config" + std::to_string(i), config.pool.disks[i].path,
                                      config.pool.disks[i].path, config.pool.disks[i].tier, "", std::nullopt});
        }
    }
    auto targets = health::HealthModel::targets(config, pool_disks);
    auto reports = health::HealthModel::read_smart(targets, config.health, nullptr);
    health::HealthModel model(config.health);
    model.update(targets, reports, {}, unix_now_seconds());
    for (const auto& [id, disk] : model.disks())
        out.disks.push_back(disk);
    return out;
}

void acknowledge(CliContext& context, const std::string& disk, const std::string& counter) {
    auto config = load_config_or_report(context);
    if (!config)
        return;
    nlohmann::json body{{"counter", counter}};
    auto reply = daemon_request(*config, "POST", "/api/v1/disks/" + disk + "/acknowledge", &body);
    if (!reply) {
        if (reply.error().code() == Errc::not_found)
            std::cerr << "tiercel: no daemon runs on " << config->socket_path()
                      << ": acknowledgements live in the daemon's risk memory (start `tiercel serve`)\n";
        else
            report_error("daemon", reply.error());
        context.exit_code = kExitFailed;
        return;
    }
    if (!reply->ok()) {
        context.exit_code = report_error("daemon", daemon_error(*reply));
        return;
    }
    std::cout << disk << ": " << counter << " acknowledged; " << reply->body.value("note", "") << "\n";
}

void add_disks_command(CLI::App& app, CliContext& context) {
    CLI::App* command = app.add_subcommand("disks", "Show every disk's SMART summary, risk level and the facts behind it.");
    auto json_output = std::make_shared<bool>(false);
    command->add_flag("--json", *json_output, "Print {\"disks\":[...]} as the REST API does");
    command->footer("Asks the running daemon when there is one (it remembers trends across polls); otherwise reads\n"
                    "SMART once itself with [health] smartctl. A disk without SMART data is shown as unknown.");
    auto ack_args = std::make_shared<std::pair<std::string, std::string>>();
    CLI::App* ack = command->add_subcommand("ack", "Acknowledge a risk counter: it stays quiet until its value changes.");
    ack->add_option("DISK", ack_args->first, "Disk id, as `tiercel disks` shows it (disk3, watch0)")->required();
    ack->add_option("COUNTER", ack_args->second, "Counter: ata.5 (or 5), nvme.media_errors, pool.checksum_errors, "
                                                 "smart_status ...")
        ->required();
    ack->callback([&context, ack_args] { acknowledge(context, ack_args->first, ack_args->second); });
    command->callback([&context, json_output, command] {
        if (!command->get_subcommands().empty())
            return;
        auto config = load_config_or_report(context);
        if (!config)
            return;
        nlohmann::json disks = nlohmann::json::array();
        auto reply = daemon_request(*config, "GET", "/api/v1/disks");
        if (reply && reply->ok()) {
            disks = reply->body["disks"];
        } else if (reply) {
            context.exit_code = report_error("daemon", daemon_error(*reply));
            return;
        } else if (reply.error().code() == Errc::not_found) {
            auto offline = poll_health_offline(*config);
            if (!offline.pool_problem.empty())
                std::cerr << "tiercel: note: the pool could not be opened (" << offline.pool_problem
                          << "); disks are named by their config order\n";
            for (const auto& disk : offline.disks)
                disks.push_back(health::to_json(disk));
        } else {
            context.exit_code = report_error("daemon", reply.error());
            return;
        }
        if (*json_output) {
            std::cout << nlohmann::json{{"disks", disks}}.dump(2) << "\n";
            return;
        }
        if (disks.empty())
            std::cout << "no disks to watch: configure [[pool.disk]] or [health] watch\n";
        for (const auto& disk : disks)
            print_disk(disk);
    });
}

}  // namespace tiercel::cli
