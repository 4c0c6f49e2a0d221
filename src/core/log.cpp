#include "tiercel/core/log.hpp"

#include <unistd.h>

#include <atomic>

namespace tiercel::log {
namespace {

std::atomic<Level> current_threshold{Level::info};

bool stderr_is_terminal() {
    static const bool terminal = ::isatty(STDERR_FILENO) == 1;
    return terminal;
}

}  // namespace

Result<Level> parse_level(std::string_view name) {
    if (name == "error") return Level::error;
    if (name == "warning") return Level::warning;
    if (name == "notice") return Level::notice;
    if (name == "info") return Level::info;
    if (name == "debug") return Level::debug;
    return make_error(Errc::invalid_input,
                      "unknown log level '" + std::string(name) + "' (expected error, warning, notice, info or debug)");
}

std::string_view level_name(Level level) {
    switch (level) {
    case Level::error: return "error";
    case Level::warning: return "warning";
    case Level::notice: return "notice";
    case Level::info: return "info";
    case Level::debug: return "debug";
    }
    return "info";
}

void set_threshold(Level level) { current_threshold.store(level); }
Level threshold() { return current_threshold.load(); }

void write(Level level, std::string_view component, std::string_view message) {
    if (static_cast<int>(level) > static_cast<int>(current_threshold.load()))
        return;
    std::string line;
    line.reserve(component.size() + message.size() + 16);
    if (stderr_is_terminal()) {
        line += level_name(level);
        line += ' ';
    } else {
        line += '<';
        line += static_cast<char>('0' + static_cast<int>(level));
        line += '>';
    }
    line += component;
    line += ": ";
    line += message;
    line += '\n';
    // One write per line: journald and terminals never see two threads' lines interleaved.
    size_t done = 0;
    while (done < line.size()) {
        ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
        if (n <= 0)
            break;
        done += static_cast<size_t>(n);
    }
}

}  // namespace tiercel::log
