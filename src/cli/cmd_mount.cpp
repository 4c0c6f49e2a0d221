// `tiercel mount MOUNTPOINT`: mount the pool as a filesystem in the foreground (only the pool and FUSE services).
#include <CLI/CLI.hpp>

#include "tiercel/cli/common.hpp"
#include "tiercel/core/daemon.hpp"
#include "tiercel/core/log.hpp"
#include "tiercel/fs/fs_service.hpp"
#include "tiercel/pool/pool_service.hpp"

namespace tiercel::cli {
namespace {

struct MountArgs {
    std::string mountpoint;
    std::string options;
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
    options.stop_daemon_on_unmount = true;
    daemon.add_service(std::move(pool_service));
    daemon.add_service(std::make_unique<fs::FsService>(daemon, [pools] { return pools->pool(); }, options));
    return daemon.run();
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
    command->footer("Runs only the pool and filesystem services (no HTTP API). SIGTERM or SIGINT write out buffered\n"
                    "data, commit the namespace and unmount; so does `fusermount3 -u MOUNTPOINT`, after which the\n"
                    "command exits. While it runs it holds the pool's lock, like `tiercel serve`.");
    command->callback([&context, args] {
        auto config = load_config_or_report(context);
        if (!config)
            return;
        context.exit_code = mount(std::move(*config), *args);
    });
}

}  // namespace tiercel::cli
