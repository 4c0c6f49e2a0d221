// Contract: the `tiercel` command line. run_cli() parses argv with CLI11, runs one subcommand and returns the exit
// code: 0 ok, 1 the operation failed, 2 usage or config error. Every subcommand has --help; commands that print
// results accept --json for scripts. Each subcommand lives in its own src/cli/cmd_*.cpp and registers itself via an
// add_*_command() function declared here.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace tiercel::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// State shared by every subcommand: global flags and the exit code the chosen command sets.
struct CliContext {
    std::string config_flag;  // -c/--config
    int exit_code = kExitOk;
};

int run_cli(int argc, char** argv);

void add_serve_command(CLI::App& app, CliContext& context);
void add_check_config_command(CLI::App& app, CliContext& context);
void add_pool_command(CLI::App& app, CliContext& context);
void add_mount_command(CLI::App& app, CliContext& context);
void add_hsm_command(CLI::App& app, CliContext& context);       // cmd_hsm.cpp
void add_catalog_command(CLI::App& app, CliContext& context);   // cmd_catalog.cpp
// scrub, heal, drain, replace, remove, add-disk, rebalance (cmd_pool_maintenance.cpp); called by add_pool_command.
void add_pool_maintenance_commands(CLI::App& pool_app, CliContext& context);
void add_disks_command(CLI::App& app, CliContext& context);  // cmd_disks.cpp
void add_plan_command(CLI::App& app, CliContext& context);   // cmd_plan.cpp

}  // namespace tiercel::cli
