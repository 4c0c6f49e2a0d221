#include "tiercel/cli/common.hpp"

#include <chrono>
#include <iostream>

namespace tiercel::cli {

std::optional<Config> load_config_or_report(CliContext& context) {
    std::string path = resolve_config_path(context.config_flag);
    auto config = load_config(path);
    if (!config) {
        std::cerr << "tiercel: invalid configuration:\n" << config.error().message() << "\n";
        context.exit_code = kExitUsage;
        return std::nullopt;
    }
    return std::move(*config);
}

int report_error(const std::string& what, const Error& error) {
    std::cerr << "tiercel: " << what << ": " << error.describe() << "\n";
    return error.code() == Errc::invalid_input ? kExitUsage : kExitFailed;
}

int64_t unix_now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace tiercel::cli
