#include "tiercel/io/path.hpp"

namespace tiercel::io {

namespace {

bool is_bad_component(std::string_view component) {
    return component.empty() || component == "." || component == "..";
}

std::string_view first_problem(std::string_view path, PathKind kind) {
    if (path.empty())
        return kind == PathKind::dir ? std::string_view{} : "empty path";
    if (path.front() == '/')
        return "absolute paths are not allowed";
    if (path.find('\0') != std::string_view::npos)
        return "NUL byte in path";
    size_t start = 0;
    while (start <= path.size()) {
        size_t slash = path.find('/', start);
        size_t end = slash == std::string_view::npos ? path.size() : slash;
        if (is_bad_component(path.substr(start, end - start)))
            return "empty, \".\" or \"..\" component";
        start = end + 1;
    }
    return {};
}

}  // namespace

Status validate_path(std::string_view disk_name, std::string_view op, std::string_view path, PathKind kind) {
    std::string_view problem = first_problem(path, kind);
    if (problem.empty())
        return {};
    return disk_error(Errc::invalid_input, disk_name, op, "\"" + std::string(path) + "\"", problem);
}

std::string_view parent_dir(std::string_view path) {
    size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
}

std::string_view base_name(std::string_view path) {
    size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string join_path(std::string_view dir, std::string_view name) {
    std::string out(dir);
    if (!out.empty())
        out += '/';
    out += name;
    return out;
}

bool is_same_or_under(std::string_view path, std::string_view dir) {
    if (dir.empty() || path == dir)
        return true;
    return path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/';
}

Error disk_error(Errc code, std::string_view disk_name, std::string_view op, std::string_view path,
                 std::string_view what) {
    std::string message(disk_name);
    message += ": ";
    message += op;
    message += ' ';
    message += path.empty() ? std::string_view("(root)") : path;
    message += ": ";
    message += what;
    return Error(code, std::move(message));
}

}  // namespace tiercel::io
