// `tiercel mount MOUNTPOINT`: mount the pool as a filesystem in the foreground (only the pool and FUSE services).
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tiercel/cli/common.hpp"
#include "tiercel/core/daemon.hpp"
#include "tiercel/core/log.hpp"
#include "tiercel/fs/fs_check.hpp"
#include "tiercel/fs/fs_service.hpp"
#include "tiercel/pool/pool_from_config.hpp"
#include "tiercel/pool/pool_service.hpp"

namespace tiercel::cli {
namespace {

struct MountArgs {
    std::string mountpoint;
    std::string options;
    std::string transport = "io_uring";
};

int mount(Config config, const MountArgs& args) {
    if (auto level = log::parse_level(config.log_level))
        log::set_threshold(*level);
    if (!config.pool.configured) {
        std::fprintf(stderr, "tiercel: mount: %s has no [pool] section\n", config.source_path.c_str());
        return kExitUsage;
    }
    Daemon daemon(std::move(config));
    auto pool_service = std::make_unique<pool::PoolService>(daemon);
    pool::PoolService* pools = pool_service.get();
    fs::MountOptions options;
    options.mountpoint = args.mountpoint;
    options.options = args.options;
    options.fuse_io_uring = args.transport == "io_uring";
    options.stop_daemon_on_unmount = true;
    options.fs.pool_gate = pools->gate();
    daemon.add_service(std::move(pool_service));
    daemon.add_service(std::make_unique<fs::FsService>(daemon, [pools] { return pools->pool(); }, options));
    return daemon.run();
}

int check(const Config& config, bool json) {
    auto handle = pool::open_configured_pool(config.pool, pool::PoolOpenMode::open);
    if (!handle)
        return report_error("cannot open the pool", handle.error());
    fs::FsCheckReport report = fs::check_filesystem((*handle)->pool());
    if (json) {
        nlohmann::json out{{"inodes", report.inodes},   {"entries", report.entries},
                           {"blocks", report.blocks},   {"leftover_blocks", report.leftover_blocks},
                           {"problems", report.problems}, {"ok", report.ok()}};
        std::cout << out.dump() << "\n";
    } else {
        std::printf("%llu inodes, %llu directory entries, %llu blocks (%llu left over by a crash, removed at the next "
                    "mount)\n",
                    static_cast<unsigned long long>(report.inodes), static_cast<unsigned long long>(report.entries),
                    static_cast<unsigned long long>(report.blocks),
                    static_cast<unsigned long long>(report.leftover_blocks));
        for (const auto& problem : report.problems)
            std::printf("problem: %s\n", problem.c_str());
        std::printf("%s\n", report.ok() ? "filesystem is consistent" : "filesystem has problems");
    }
    return report.ok() ? kExitOk : kExitFailed;
}

}  // namespace

void add_mount_command(CLI::App& app, CliContext& context) {
    auto args = std::make_shared<MountArgs>();
    CLI::App* command = app.add_subcommand("mount", "Mount the pool as a POSIX filesystem, in the foreground.");
    command->add_option("mountpoint", args->mountpoint, "An existing empty directory")->required();
    command->add_option("-c,--config", context.config_flag, "Config file (as the global -c)");
    command->add_option("-o,--options", args->options,
                        "Extra FUSE mount options, comma-separated (e.g. ro); default_permissions and allow_other "
                        "are always on");
    command->add_option("--fuse-transport", args->transport,
                        "How requests reach the daemon: io_uring (a queue per CPU, where the kernel allows it; "
                        "/dev/fuse otherwise) or dev (/dev/fuse only)")
        ->check(CLI::IsMember({"io_uring", "dev"}))
        ->default_str("io_uring");
    command->footer("Runs only the pool and filesystem services (no HTTP API). SIGTERM or SIGINT write out buffered\n"
                    "data, commit the namespace and unmount; so does `fusermount3 -u MOUNTPOINT`, after which the\n"
                    "command exits. While it runs it holds the pool's lock, like `tiercel serve`.");
    command->callback([&context, args] {
        auto config = load_config_or_report(context);
        if (!config)
            return;
        context.exit_code = mount(std::move(*config), *args);
    });

    auto* fs_app = app.add_subcommand("fs", "The pool's filesystem (offline tools).");
    fs_app->require_subcommand(1);
    auto json = std::make_shared<bool>(false);
    auto* check_app = fs_app->add_subcommand(
        "check", "Check the filesystem's namespace (entries, link counts, reachability); changes nothing.");
    check_app->add_option("-c,--config", context.config_flag, "Config file (as the global -c)");
    check_app->add_flag("--json", *json, "Print the report as JSON");
    check_app->footer("Exit code 0 when consistent, 1 when problems were found. Needs the pool's lock (not while\n"
                      "it is mounted or served).");
    check_app->callback([&context, json] {
        auto config = load_config_or_report(context);
        if (!config)
            return;
        context.exit_code = check(*config, *json);
    });
}

}  // namespace tiercel::cli
