// Contract: process-wide logging to stderr in a form journald keeps.
// Each line is "<P>component: message" where <P> is the syslog priority (sd-daemon(3) prefix), so journald records
// the right priority when the daemon runs under systemd. On a terminal the prefix is replaced by a readable level.
// Thread-safe; a line is written with one write(2) so lines from different threads never interleave.
#pragma once

#include <string>
#include <string_view>

#include "tiercel/core/error.hpp"

namespace tiercel::log {

enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

Result<Level> parse_level(std::string_view name);
std::string_view level_name(Level level);

// Lines above this level are dropped. Default: info.
void set_threshold(Level level);
Level threshold();

void write(Level level, std::string_view component, std::string_view message);

inline void error(std::string_view component, std::string_view message) { write(Level::error, component, message); }
inline void warning(std::string_view component, std::string_view message) { write(Level::warning, component, message); }
inline void notice(std::string_view component, std::string_view message) { write(Level::notice, component, message); }
inline void info(std::string_view component, std::string_view message) { write(Level::info, component, message); }
inline void debug(std::string_view component, std::string_view message) { write(Level::debug, component, message); }

}  // namespace tiercel::log
