// Contract: the path rules every Disk implementation enforces, and the one error format they share.
// A disk path is relative to the disk root, uses '/' separators, and has no empty, "." or ".." components (so one
// file has exactly one spelling, which the open-file cache and the crash models rely on). A file path is never
// empty; a directory path may be "" for the disk root. Violations are Errc::invalid_input naming disk and path.
#pragma once

#include <string>
#include <string_view>

#include "tiercel/core/error.hpp"

namespace tiercel::io {

enum class PathKind { file, dir };

Status validate_path(std::string_view disk_name, std::string_view op, std::string_view path, PathKind kind);

// "a/b/c" -> "a/b"; "c" -> "" (the root).
std::string_view parent_dir(std::string_view path);
// "a/b/c" -> "c".
std::string_view base_name(std::string_view path);
// join_path("", "x") == "x"; join_path("a", "x") == "a/x".
std::string join_path(std::string_view dir, std::string_view name);
// True when `path` is `dir` or lies below it; every path lies below "" (the root).
bool is_same_or_under(std::string_view path, std::string_view dir);

// "<disk>: <op> <path>: <what>", the shape of every io error message.
Error disk_error(Errc code, std::string_view disk_name, std::string_view op, std::string_view path,
                 std::string_view what);

}  // namespace tiercel::io
