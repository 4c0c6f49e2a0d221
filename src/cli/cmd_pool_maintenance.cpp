// `tiercel pool scrub|heal|drain|replace|remove|add-disk|rebalance`: pool maintenance. While the daemon holds the
// pool, each command becomes a job in the daemon (POST /api/v1/pool/jobs over the Unix socket) whose progress the
// command follows; otherwise it opens the pool itself with the exclusive lock. Either way Ctrl-C or SIGTERM stops
// after the stripes in flight, commits the progress, and a rerun continues from there.
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tiercel/cli/common.hpp"
#include "tiercel/cli/daemon_client.hpp"
#include "tiercel/cli/daemon_jobs.hpp"
#include "tiercel/cli/progress.hpp"
#include "tiercel/core/units.hpp"
#include "tiercel/io/posix_disk.hpp"
#include "tiercel/pool/maintenance.hpp"
#include "tiercel/pool/maintenance_jobs.hpp"
#include "tiercel/pool/pool_from_config.hpp"
#include "tiercel/pool/pool_json.hpp"

namespace tiercel::cli {
namespace {

std::atomic<bool> g_cancel{false};

extern "C" void on_stop_signal(int) { g_cancel.store(true); }

struct MaintenanceArgs {
    std::string budget;
    std::string bandwidth;
    double max_latency_ms = 50;
    unsigned workers = 4;
    bool restart = false;
    bool json = false;
    std::string disk;
    std::string path;
    std::string tier;
    std::string capacity;
    std::string failure_domain;
    bool force = false;
};

Result<pool::MaintenanceOptions> build_options(const MaintenanceArgs& args) {
    pool::MaintenanceOptions options;
    if (Status status = pool::parse_budget(args.budget, options); !status)
        return make_error(Errc::invalid_input, "--budget " + status.error().message());
    if (!args.bandwidth.empty()) {
        std::string text = args.bandwidth;
        if (text.size() > 2 && text.substr(text.size() - 2) == "/s")
            text.resize(text.size() - 2);
        auto rate = parse_size(text);
        if (!rate)
            return make_error(Errc::invalid_input, "--bandwidth '" + args.bandwidth + "' is not a size per second");
        options.bandwidth_limit = *rate;
    }
    options.max_latency_ms = args.max_latency_ms;
    options.workers = std::max(1u, args.workers);
    options.restart = args.restart;
    options.cancel = &g_cancel;
    return options;
}

// Prints a report (pool::to_json(MaintenanceReport) shape): offline and daemon runs print the same way.
void print_report(const nlohmann::json& report) {
    auto count = [&](const char* key) { return report.value(key, uint64_t{0}); };
    auto strings = [&](const char* key) {
        return report.contains(key) && report[key].is_array() ? report[key].get<std::vector<std::string>>()
                                                             : std::vector<std::string>{};
    };
    const std::string operation = report.value("operation", "");
    if (report.contains("resumed_after_stripe") && !report["resumed_after_stripe"].is_null())
        std::printf("resumed after stripe %llu (%llu stripes already done by an earlier run)\n",
                    static_cast<unsigned long long>(report["resumed_after_stripe"].get<uint64_t>()),
                    static_cast<unsigned long long>(count("stripes_skipped")));
    if (operation != "remove" && operation != "add-disk")
        std::printf("%s: checked %llu of %llu stripes (%llu shards); %llu shards bad; %llu stripes changed: "
                    "%llu shards rebuilt, %llu copied; read %s, wrote %s in %.1f s\n",
                    operation.c_str(), static_cast<unsigned long long>(count("stripes_checked")),
                    static_cast<unsigned long long>(count("stripes_total")),
                    static_cast<unsigned long long>(count("shards_checked")),
                    static_cast<unsigned long long>(count("shards_bad")),
                    static_cast<unsigned long long>(count("stripes_changed")),
                    static_cast<unsigned long long>(count("shards_rebuilt")),
                    static_cast<unsigned long long>(count("shards_copied")),
                    format_size(count("bytes_read")).c_str(), format_size(count("bytes_written")).c_str(),
                    report.value("seconds", 0.0));
    if (report.value("throttled_seconds", 0.0) > 0.05)
        std::printf("throttled for %.1f s (bandwidth limit or disk latency)\n", report.value("throttled_seconds", 0.0));
    for (const auto& finding : strings("metadata_findings"))
        std::printf("metadata: %s\n", finding.c_str());
    for (const auto& action : strings("actions"))
        std::printf("%s\n", action.c_str());
    auto unrepairable = strings("unrepairable");
    if (!unrepairable.empty()) {
        std::printf("unrepairable: %zu\n", unrepairable.size());
        for (size_t i = 0; i < unrepairable.size() && i < 20; ++i)
            std::printf("  %s\n", unrepairable[i].c_str());
        if (unrepairable.size() > 20)
            std::printf("  ... and %zu more (use --json for all)\n", unrepairable.size() - 20);
    }
    if (!report.value("complete", true))
        std::printf("stopped (%s); run the same command again to continue where it stopped\n",
                    report.value("stopped_because", "").c_str());
}

int finish_report(const Result<pool::MaintenanceReport>& report, const MaintenanceArgs& args, const std::string& what) {
    if (!report)
        return report_error(what, report.error());
    if (args.json)
        std::cout << pool::to_json(*report).dump(2) << "\n";
    else
        print_report(pool::to_json(*report));
    if (!report->unrepairable.empty())
        return kExitFailed;
    if (!report->complete && report->stopped_because == "cancelled")
        return kExitFailed;
    return kExitOk;
}

// Opens the pool with its exclusive lock and runs the operation here, drawing its progress.
template <typename Operation>
int run_offline(const Config& config, const MaintenanceArgs& args, const std::string& what,
                pool::MaintenanceOptions options, Operation operation) {
    auto handle = pool::open_configured_pool(config.pool, pool::PoolOpenMode::open);
    if (!handle)
        return report_error("cannot open the pool", handle.error());
    std::unique_ptr<Progress> progress;
    uint64_t reported = 0;
    options.on_progress = [&](const pool::MaintenanceProgress& step) {
        if (!progress)
            progress = std::make_unique<Progress>(step.operation, step.total_bytes, args.json);
        progress->advance(step.done_bytes - reported);
        reported = step.done_bytes;
    };
    Result<pool::MaintenanceReport> report = operation((*handle)->pool(), options);
    if (progress)
        progress->finish();
    return finish_report(report, args, what);
}

// The daemon's job request for `operation` with these arguments. Paths become absolute: the daemon's working
// directory is not ours.
nlohmann::json job_request(const std::string& operation, const MaintenanceArgs& args) {
    nlohmann::json request = {{"operation", operation}, {"max_latency_ms", args.max_latency_ms},
                              {"workers", std::max(1u, args.workers)}, {"restart", args.restart},
                              {"force", args.force}};
    auto set_if = [&](const char* key, const std::string& value) {
        if (!value.empty())
            request[key] = value;
    };
    set_if("budget", args.budget);
    std::string bandwidth = args.bandwidth;
    if (bandwidth.size() > 2 && bandwidth.substr(bandwidth.size() - 2) == "/s")
        bandwidth.resize(bandwidth.size() - 2);
    set_if("bandwidth", bandwidth);
    set_if("disk", args.disk);
    if (!args.path.empty())
        request["path"] = std::filesystem::absolute(args.path).lexically_normal().string();
    set_if("tier", args.tier);
    set_if("capacity", args.capacity);
    set_if("failure_domain", args.failure_domain);
    return request;
}

// Prints a finished daemon job like an offline run and returns the same exit code.
int finish_daemon_job(const Result<nlohmann::json>& job, const MaintenanceArgs& args, const std::string& what) {
    if (!job)
        return report_error(what, job.error());
    const nlohmann::json& report = (*job)["report"];
    const std::string state = job->value("state", "");
    if (report.is_null()) {
        std::string error = (*job)["error"].is_string() ? (*job)["error"].get<std::string>() : "job " + state;
        Errc code = error.rfind("invalid_input", 0) == 0 ? Errc::invalid_input : Errc::io_error;
        return report_error(what, Error(code, error));
    }
    if (args.json)
        std::cout << report.dump(2) << "\n";
    else
        print_report(report);
    if (state == "failed" || state == "cancelled")
        return kExitFailed;
    return kExitOk;
}

// Runs one operation in the daemon when it holds the pool, else offline; either way with progress and the stop
// signals wired to the cancel flag.
template <typename Operation>
int run_operation(CliContext& context, const MaintenanceArgs& args, const std::string& operation_name,
                  Operation operation) {
    const std::string what = "pool " + operation_name;
    auto options = build_options(args);
    if (!options)
        return report_error(what, options.error());
    auto config = load_config_or_report(context);
    if (!config)
        return context.exit_code;
    g_cancel = false;
    auto previous_int = std::signal(SIGINT, on_stop_signal);
    auto previous_term = std::signal(SIGTERM, on_stop_signal);
    int exit_code = kExitOk;
    if (daemon_running(*config)) {
        auto job = run_daemon_job(*config, job_request(operation_name, args), args.json, g_cancel);
        exit_code = finish_daemon_job(job, args, what);
    } else {
        exit_code = run_offline(*config, args, what, *options, operation);
    }
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
    return exit_code;
}

void add_throttle_options(CLI::App* command, MaintenanceArgs& args) {
    command->add_option("--bandwidth", args.bandwidth, "Limit reads + writes to this many bytes per second (e.g. 50M)");
    command->add_option("--max-latency", args.max_latency_ms,
                        "Back off while a disk's latency average is above this many ms (default 50; 0 = never)");
    command->add_option("--workers", args.workers, "Stripes processed in parallel (default 4)");
    command->add_flag("--json", args.json, "Print the report as JSON, and progress as JSON lines on stderr");
}

Result<pool::NewDisk> open_new_disk(pool::Pool& pool, const MaintenanceArgs& args, const std::string& default_tier) {
    pool::NewDisk disk;
    disk.path = args.path;
    while (disk.path.size() > 1 && disk.path.back() == '/')
        disk.path.pop_back();
    disk.tier = args.tier.empty() ? default_tier : args.tier;
    disk.failure_domain = args.failure_domain;
    disk.force = args.force;
    if (!args.capacity.empty()) {
        TIERCEL_ASSIGN(disk.capacity, parse_size(args.capacity));
    }
    (void)pool;
    TIERCEL_ASSIGN(auto opened, io::PosixDisk::open("new disk", disk.path));
    disk.disk = opened;
    return disk;
}

void print_added_disk(uint32_t id, const std::string& path, const std::string& tier, bool json) {
    std::string reminder = "add this to the config so the pool finds the disk when it is opened next:\n"
                           "[[pool.disk]]\npath = \"" + path + "\"\ntier = \"" + tier + "\"";
    if (json)
        std::cout << nlohmann::json{{"disk_id", id}, {"path", path}, {"tier", tier}, {"config_reminder", reminder}}
                         .dump(2)
                  << "\n";
    else
        std::printf("added %s as disk%u\n%s\n", path.c_str(), id, reminder.c_str());
}

int add_disk_command(CliContext& context, const MaintenanceArgs& args) {
    auto config = load_config_or_report(context);
    if (!config)
        return context.exit_code;
    if (daemon_running(*config)) {
        std::atomic<bool> never{false};
        auto job = run_daemon_job(*config, job_request("add-disk", args), args.json, never);
        if (!job)
            return report_error("pool add-disk", job.error());
        if ((*job)["result"].is_null())
            return finish_daemon_job(job, args, "pool add-disk");
        const auto& result = (*job)["result"];
        print_added_disk(result.value("disk_id", 0u), result.value("path", ""), result.value("tier", ""), args.json);
        return kExitOk;
    }
    auto handle = pool::open_configured_pool(config->pool, pool::PoolOpenMode::open);
    if (!handle)
        return report_error("cannot open the pool", handle.error());
    auto disk = open_new_disk((*handle)->pool(), args, args.tier);
    if (!disk)
        return report_error("pool add-disk", disk.error());
    auto id = pool::add_disk((*handle)->pool(), *disk);
    if (!id)
        return report_error("pool add-disk", id.error());
    print_added_disk(*id, disk->path, disk->tier, args.json);
    return kExitOk;
}

}  // namespace

void add_pool_maintenance_commands(CLI::App& pool_app, CliContext& context) {
    auto args = std::make_shared<MaintenanceArgs>();

    auto* scrub = pool_app.add_subcommand("scrub", "Verify every shard and metadata replica; rewrite what is bad.");
    scrub->add_option("--budget", args->budget, "Stop after this much data (10G) or time (30m); the next run continues");
    scrub->add_flag("--restart", args->restart, "Start from the first stripe instead of where the last run stopped");
    add_throttle_options(scrub, *args);
    scrub->footer("Exits 0 when everything is (now) intact, 1 when something could not be repaired.");
    scrub->callback([&context, args] {
        context.exit_code = run_operation(context, *args, "scrub", [](pool::Pool& pool, const auto& options) {
            return pool::scrub_pool(pool, options);
        });
    });

    auto* heal = pool_app.add_subcommand("heal", "Bring every stripe back to full k+m redundancy.");
    heal->add_option("--budget", args->budget, "Stop after this much data (10G) or time (30m); the next run continues");
    heal->add_flag("--restart", args->restart, "Start from the first stripe instead of where the last run stopped");
    add_throttle_options(heal, *args);
    heal->footer("Missing shards are rebuilt on their own disk; shards of an offline disk are rebuilt on other disks\n"
                 "chosen by placement. A disk whose directory was wiped: use 'pool replace OLD NEWPATH' to rebuild\n"
                 "onto a fresh directory (NEWPATH may be the same path), or heal to spread its shards over the rest.");
    heal->callback([&context, args] {
        context.exit_code = run_operation(context, *args, "heal", [](pool::Pool& pool, const auto& options) {
            return pool::heal_pool(pool, options);
        });
    });

    auto* drain = pool_app.add_subcommand("drain", "Move every shard off DISK at full redundancy, then retire it.");
    drain->add_option("disk", args->disk, "Disk id, diskN, or its path")->required();
    add_throttle_options(drain, *args);
    drain->callback([&context, args] {
        std::string disk = args->disk;
        context.exit_code =
            run_operation(context, *args, "drain", [disk](pool::Pool& pool, const auto& options)
                              -> Result<pool::MaintenanceReport> {
                TIERCEL_ASSIGN(uint32_t id, pool::resolve_disk(pool, disk));
                return pool::drain_disk(pool, id, options);
            });
    });

    auto* replace = pool_app.add_subcommand("replace", "Copy or rebuild everything of disk OLD onto the empty "
                                                       "directory NEW, then retire OLD.");
    replace->add_option("old", args->disk, "Disk id, diskN, or path of the disk to replace")->required();
    replace->add_option("new", args->path, "Empty directory for the new disk (may be OLD's wiped path)")->required();
    replace->add_option("--tier", args->tier, "Tier of the new disk (default: OLD's)");
    replace->add_option("--capacity", args->capacity, "Capacity of the new disk (default: what statfs says)");
    replace->add_option("--failure-domain", args->failure_domain, "Failure domain (default: OLD's)");
    replace->add_flag("--force", args->force, "Take a directory that is not empty");
    add_throttle_options(replace, *args);
    replace->callback([&context, args] {
        MaintenanceArgs copy = *args;
        context.exit_code =
            run_operation(context, *args, "replace", [copy](pool::Pool& pool, const auto& options)
                              -> Result<pool::MaintenanceReport> {
                TIERCEL_ASSIGN(uint32_t id, pool::resolve_disk(pool, copy.disk));
                std::string tier = pool.status().disks.at(id).tier;
                TIERCEL_ASSIGN(pool::NewDisk disk, open_new_disk(pool, copy, tier));
                return pool::replace_disk(pool, id, disk, options);
            });
    });

    auto* remove = pool_app.add_subcommand("remove", "Retire DISK and wipe its label; refuses while it holds "
                                                     "shards that are needed.");
    remove->add_option("disk", args->disk, "Disk id, diskN, or its path")->required();
    remove->add_flag("--json", args->json, "Print the report as JSON");
    remove->callback([&context, args] {
        MaintenanceArgs copy = *args;
        context.exit_code =
            run_operation(context, *args, "remove", [copy](pool::Pool& pool, const auto&)
                              -> Result<pool::MaintenanceReport> {
                TIERCEL_ASSIGN(uint32_t id, pool::resolve_disk(pool, copy.disk));
                return pool::remove_disk(pool, id);
            });
    });

    auto* add = pool_app.add_subcommand("add-disk", "Format the empty directory PATH as a new member disk.");
    add->add_option("path", args->path, "Directory of the new disk")->required();
    add->add_option("--tier", args->tier, "nvme, ssd, hdd or smr")->required();
    add->add_option("--capacity", args->capacity, "Capacity to use (default: what statfs says)");
    add->add_option("--failure-domain", args->failure_domain, "Failure domain (default: the disk itself)");
    add->add_flag("--force", args->force, "Take a directory that is not empty");
    add->add_flag("--json", args->json, "Print JSON");
    add->footer("Also add a [[pool.disk]] entry with this path to the config: the pool finds its disks there.\n"
                "New stripes use the disk at once; 'pool rebalance' moves existing shards onto it.");
    add->callback([&context, args] { context.exit_code = add_disk_command(context, *args); });

    auto* rebalance = pool_app.add_subcommand("rebalance", "Move shards so every disk's fill matches its capacity "
                                                           "share within 10%.");
    rebalance->add_option("--budget", args->budget, "Stop after this much data (10G) or time (30m)");
    add_throttle_options(rebalance, *args);
    rebalance->callback([&context, args] {
        context.exit_code = run_operation(context, *args, "rebalance", [](pool::Pool& pool, const auto& options) {
            return pool::rebalance_pool(pool, options);
        });
    });
}

}  // namespace tiercel::cli
