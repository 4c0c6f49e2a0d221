#include <iostream>

#include <CLI/CLI.hpp>

#include "tiercel/cli/cli.hpp"

namespace tiercel::cli {

int run_cli(int argc, char** argv) {
    CLI::App app{"Tiercel: self-driving tiered storage for a Linux NAS.\n"
                 "Hot files stay on fast disks, cold ones move to an erasure-coded pool or an archive, and every\n"
                 "disk's health is watched. Run `tiercel COMMAND --help` for each command.",
                 "tiercel"};
    app.require_subcommand(1);
    app.set_version_flag("-V,--version", "tiercel " TIERCEL_VERSION);
    CliContext context;
    app.add_option("-c,--config", context.config_flag,
                   "Config file (default: $TIERCEL_CONFIG, else /etc/tiercel/tiercel.toml)");
    app.footer("Exit codes: 0 ok, 1 the operation failed, 2 usage or config error.");

    add_serve_command(app, context);
    add_check_config_command(app, context);
    add_pool_command(app, context);
    add_mount_command(app, context);
    add_hsm_command(app, context);
    add_catalog_command(app, context);
    add_disks_command(app, context);
    add_plan_command(app, context);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "tiercel: " << e.what() << "\nRun 'tiercel --help' for usage.\n";
        return kExitUsage;
    }
    return context.exit_code;
}

}  // namespace tiercel::cli
