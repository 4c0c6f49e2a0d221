// `tiercel check-config`: validate the config file and print the effective configuration.
#include <iostream>

#include <CLI/CLI.hpp>

#include "tiercel/cli/common.hpp"

namespace tiercel::cli {

void add_check_config_command(CLI::App& app, CliContext& context) {
    CLI::App* command = app.add_subcommand(
        "check-config", "Validate the config file and print the effective configuration (defaults filled in).");
    command->footer("Exits 0 when the config is valid, 2 with every problem (file:line:column: key) otherwise.");
    command->callback([&context] {
        auto config = load_config_or_report(context);
        if (!config)
            return;
        std::cout << render_config_toml(*config);
    });
}

}  // namespace tiercel::cli
