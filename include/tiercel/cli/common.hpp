// Contract: helpers the subcommands share: loading the config with the CLI's exit-code rules, printing errors, and
// the wall clock in Unix seconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tiercel/cli/cli.hpp"
#include "tiercel/core/config.hpp"

namespace tiercel::cli {

// Loads the config named by -c, $TIERCEL_CONFIG or the default path. On failure prints the problems to stderr, sets
// context.exit_code to 2 and returns nothing.
std::optional<Config> load_config_or_report(CliContext& context);

// Prints "tiercel: <what>: <error>" to stderr and returns the exit code for that error (2 for invalid input, else 1).
int report_error(const std::string& what, const Error& error);

// Seconds since the Unix epoch, the time base of plans and health records.
int64_t unix_now_seconds();

}  // namespace tiercel::cli
