// `tiercel serve`: run the daemon in the foreground.
#include <iostream>

#include <CLI/CLI.hpp>

#include "tiercel/api/api.hpp"
#include "tiercel/api/auth.hpp"
#include "tiercel/api/http_service.hpp"
#include "tiercel/cli/common.hpp"
#include "tiercel/core/daemon.hpp"
#include "tiercel/core/log.hpp"
#include "tiercel/fs/fs_service.hpp"
#include "tiercel/health/health_service.hpp"
#include "tiercel/hsm/hsm_service.hpp"
#include "tiercel/planner/planner_service.hpp"
#include "tiercel/pool/pool_service.hpp"

namespace tiercel::cli {
namespace {

int serve(Config config) {
    if (auto level = log::parse_level(config.log_level))
        log::set_threshold(*level);
    auto token = api::load_or_create_token(config.token_path());
    if (!token)
        return report_error("API token", token.error());
    Daemon daemon(std::move(config));
    auto pool_service = std::make_unique<pool::PoolService>(daemon);
    auto hsm_service = std::make_unique<hsm::HsmService>(daemon, pool_service.get());
    auto health_service = std::make_unique<health::HealthService>(daemon, pool_service.get());
    auto planner_service =
        std::make_unique<planner::PlannerService>(daemon, pool_service.get(), health_service.get(),
                                                  hsm_service.get());
    api::ApiContext api_context{daemon, *token, pool_service.get(), hsm_service.get()};
    api_context.health = health_service.get();
    api_context.planner = planner_service.get();
    // Order matters: the pool opens before the filesystem, the HSM (whose `pool` targets use it), health, the planner
    // and the API that serves them, and stops after them. The HSM puts its marks back on every stub before the API
    // serves anything.
    pool::PoolService* pools = pool_service.get();
    const std::string mountpoint = daemon.config().pool.mountpoint;
    daemon.add_service(std::move(pool_service));
    if (!mountpoint.empty()) {
        fs::MountOptions options;
        options.mountpoint = mountpoint;
        options.fs.pool_gate = pools->gate();  // maintenance that changes members waits for FUSE I/O, and vice versa
        daemon.add_service(std::make_unique<fs::FsService>(daemon, [pools] { return pools->pool(); }, options));
    }
    daemon.add_service(std::move(hsm_service));
    daemon.add_service(std::move(health_service));
    daemon.add_service(std::move(planner_service));
    daemon.add_service(std::make_unique<api::HttpService>(daemon, api::build_router(api_context)));
    return daemon.run();
}

}  // namespace

void add_serve_command(CLI::App& app, CliContext& context) {
    CLI::App* command = app.add_subcommand(
        "serve", "Run the daemon in the foreground: HTTP API and dashboard, and every configured service.");
    command->footer("Under systemd (Type=notify) it reports READY=1 once serving. SIGTERM or SIGINT stop it\n"
                    "gracefully within shutdown_timeout; SIGHUP reloads the config file.");
    command->callback([&context] {
        auto config = load_config_or_report(context);
        if (!config)
            return;
        context.exit_code = serve(std::move(*config));
    });
}

}  // namespace tiercel::cli
