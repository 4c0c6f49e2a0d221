// `tiercel pool scrub|heal|drain|replace|remove|add-disk|rebalance`: pool maintenance, offline. Each command opens the
// pool with its exclusive lock (the daemon does not host the pool yet, so there is no API path). Ctrl-C or SIGTERM
// stops after the stripes in flight, commits the progress, and a rerun continues from there.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tiercel/cli/common.hpp"
#include "tiercel/cli/progress.hpp"
#include "tiercel/core/units.hpp"
#include "tiercel/io/posix_disk.hpp"
#include "tiercel/pool/maintenance.hpp"
#include "tiercel/pool/pool_from_config.hpp"

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

std::unique_ptr<pool::PoolHandle> open_for_maintenance(CliContext& context) {
    auto config = load_config_or_report(context);
    if (!config)
        return nullptr;
    auto handle = pool::open_configured_pool(config->pool, pool::PoolOpenMode::open);
    if (!handle) {
        context.exit_code = report_error("cannot open the pool", handle.error());
        return nullptr;
    }
    return std::move(*handle);
}

// --budget takes a size ("10G") or a duration ("30m").
Status parse_budget(const std::string& text, pool::MaintenanceOptions& options) {
    if (text.empty())
        return {};
    if (auto duration = parse_duration(text)) {
        options.budget_time = *duration;
        return {};
    }
    if (auto size = parse_size(text)) {
        options.budget_bytes = *size;
        return {};
    }
    return make_error(Errc::invalid_input, "--budget '" + text + "' is neither a size (10G) nor a duration (30m)");
}

Result<pool::MaintenanceOptions> build_options(const MaintenanceArgs& args) {
    pool::MaintenanceOptions options;
    TIERCEL_TRY(parse_budget(args.budget, options));
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

nlohmann::json to_json(const pool::MaintenanceReport& report) {
    nlohmann::json out = {{"operation", report.operation},
                          {"complete", report.complete},
                          {"stopped_because", report.stopped_because},
                          {"stripes_total", report.stripes_total},
                          {"stripes_skipped", report.stripes_skipped},
                          {"stripes_checked", report.stripes_checked},
                          {"stripes_changed", report.stripes_changed},
                          {"shards_checked", report.shards_checked},
                          {"shards_bad", report.shards_bad},
                          {"shards_rebuilt", report.shards_rebuilt},
                          {"shards_copied", report.shards_copied},
                          {"bytes_read", report.bytes_read},
                          {"bytes_written", report.bytes_written},
                          {"unrepairable", report.unrepairable},
                          {"actions", report.actions},
                          {"metadata_findings", report.metadata_findings},
                          {"metadata_repaired", report.metadata_repaired},
                          {"throttled_seconds", report.throttled_seconds},
                          {"seconds", report.seconds}};
    out["resumed_after_stripe"] =
        report.resumed_after ? nlohmann::json(*report.resumed_after) : nlohmann::json(nullptr);
    return out;
}

void print_report(const pool::MaintenanceReport& report) {
    auto count = [](uint64_t value) { return static_cast<unsigned long long>(value); };
    if (report.resumed_after)
        std::printf("resumed after stripe %llu (%llu stripes already done by an earlier run)\n",
                    count(*report.resumed_after), count(report.stripes_skipped));
    if (report.operation != "remove")
        std::printf("%s: checked %llu of %llu stripes (%llu shards); %llu shards bad; %llu stripes changed: "
                "%llu shards rebuilt, %llu copied; read %s, wrote %s in %.1f s\n",
                report.operation.c_str(), count(report.stripes_checked), count(report.stripes_total),
                count(report.shards_checked), count(report.shards_bad), count(report.stripes_changed),
                count(report.shards_rebuilt), count(report.shards_copied), format_size(report.bytes_read).c_str(),
                format_size(report.bytes_written).c_str(), report.seconds);
    if (report.throttled_seconds > 0.05)
        std::printf("throttled for %.1f s (bandwidth limit or disk latency)\n", report.throttled_seconds);
    for (const auto& finding : report.metadata_findings)
        std::printf("metadata: %s\n", finding.c_str());
    for (const auto& action : report.actions)
        std::printf("%s\n", action.c_str());
    if (!report.unrepairable.empty()) {
        std::printf("unrepairable: %zu\n", report.unrepairable.size());
        for (size_t i = 0; i < report.unrepairable.size() && i < 20; ++i)
            std::printf("  %s\n", report.unrepairable[i].c_str());
        if (report.unrepairable.size() > 20)
            std::printf("  ... and %zu more (use --json for all)\n", report.unrepairable.size() - 20);
    }
    if (!report.complete)
        std::printf("stopped (%s); run the same command again to continue where it stopped\n",
                    report.stopped_because.c_str());
}

int finish_report(const Result<pool::MaintenanceReport>& report, const MaintenanceArgs& args, const std::string& what) {
    if (!report)
        return report_error(what, report.error());
    if (args.json)
        std::cout << to_json(*report).dump(2) << "\n";
    else
        print_report(*report);
    if (!report->unrepairable.empty())
        return kExitFailed;
    if (!report->complete && report->stopped_because == "cancelled")
        return kExitFailed;
    return kExitOk;
}

// Runs one operation with a progress reporter and the stop signals wired to the cancel flag.
template <typename Operation>
int run_operation(CliContext& context, const MaintenanceArgs& args, const std::string& what, Operation operation) {
    auto options = build_options(args);
    if (!options)
        return report_error(what, options.error());
    auto handle = open_for_maintenance(context);
    if (!handle)
        return context.exit_code;
    std::unique_ptr<Progress> progress;
    uint64_t reported = 0;
    options->on_progress = [&](const pool::MaintenanceProgress& step) {
        if (!progress)
            progress = std::make_unique<Progress>(step.operation, step.total_bytes, args.json);
        progress->advance(step.done_bytes - reported);
        reported = step.done_bytes;
    };
    g_cancel = false;
    auto previous_int = std::signal(SIGINT, on_stop_signal);
    auto previous_term = std::signal(SIGTERM, on_stop_signal);
    Result<pool::MaintenanceReport> report = operation(handle->pool(), *options);
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
    if (progress)
        progress->finish();
    return finish_report(report, args, what);
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

}  // namespace

void add_pool_maintenance_commands(CLI::App& pool_app, CliContext& context) {
    auto args = std::make_shared<MaintenanceArgs>();

    auto* scrub = pool_app.add_subcommand("scrub", "Verify every shard and metadata replica; rewrite what is bad.");
    scrub->add_option("--budget", args->budget, "Stop after this much data (10G) or time (30m); the next run continues");
    scrub->add_flag("--restart", args->restart, "Start from the first stripe instead of where the last run stopped");
    add_throttle_options(scrub, *args);
    scrub->footer("Exits 0 when everything is (now) intact, 1 when something could not be repaired.");
    scrub->callback([&context, args] {
        context.exit_code = run_operation(context, *args, "pool scrub", [](pool::Pool& pool, const auto& options) {
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
        context.exit_code = run_operation(context, *args, "pool heal", [](pool::Pool& pool, const auto& options) {
            return pool::heal_pool(pool, options);
        });
    });

    auto* drain = pool_app.add_subcommand("drain", "Move every shard off DISK at full redundancy, then retire it.");
    drain->add_option("disk", args->disk, "Disk id, diskN, or its path")->required();
    add_throttle_options(drain, *args);
    drain->callback([&context, args] {
        std::string disk = args->disk;
        context.exit_code =
            run_operation(context, *args, "pool drain", [disk](pool::Pool& pool, const auto& options)
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
            run_operation(context, *args, "pool replace", [copy](pool::Pool& pool, const auto& options)
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
            run_operation(context, *args, "pool remove", [copy](pool::Pool& pool, const auto&)
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
    add->callback([&context, args] {
        MaintenanceArgs copy = *args;
        auto handle = open_for_maintenance(context);
        if (!handle)
            return;
        auto disk = open_new_disk(handle->pool(), copy, copy.tier);
        if (!disk) {
            context.exit_code = report_error("pool add-disk", disk.error());
            return;
        }
        auto id = pool::add_disk(handle->pool(), *disk);
        if (!id) {
            context.exit_code = report_error("pool add-disk", id.error());
            return;
        }
        std::string reminder = "add this to the config so the pool finds the disk when it is opened next:\n"
                               "[[pool.disk]]\npath = \"" + disk->path + "\"\ntier = \"" + disk->tier + "\"";
        if (copy.json)
            std::cout << nlohmann::json{{"disk_id", *id}, {"path", disk->path}, {"tier", disk->tier},
                                        {"config_reminder", reminder}}.dump(2)
                      << "\n";
        else
            std::printf("added %s as disk%u\n%s\n", disk->path.c_str(), *id, reminder.c_str());
    });

    auto* rebalance = pool_app.add_subcommand("rebalance", "Move shards so every disk's fill matches its capacity "
                                                           "share within 10%.");
    rebalance->add_option("--budget", args->budget, "Stop after this much data (10G) or time (30m)");
    add_throttle_options(rebalance, *args);
    rebalance->callback([&context, args] {
        context.exit_code = run_operation(context, *args, "pool rebalance", [](pool::Pool& pool, const auto& options) {
            return pool::rebalance_pool(pool, options);
        });
    });
}

}  // namespace tiercel::cli
