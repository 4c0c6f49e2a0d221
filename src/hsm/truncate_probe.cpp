// Recognising a truncating system call from /proc/<tid>/syscall (x86-64 and arm64 numbers).
#include "tiercel/hsm/truncate_probe.hpp"

#include <fcntl.h>
#include <sys/syscall.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tiercel::hsm {

std::optional<uint64_t> parse_truncating_syscall(std::string_view line) {
    std::istringstream in{std::string(line)};
    long nr = -1;
    if (!(in >> nr) || nr < 0)
        return std::nullopt;  // "running", or -1 (not in a system call)
    std::vector<uint64_t> args;
    std::string word;
    while (args.size() < 6 && in >> word)
        args.push_back(std::stoull(word, nullptr, 16));
    if (args.size() < 3)
        return std::nullopt;
    switch (nr) {
#ifdef SYS_open
        case SYS_open:
            return (args[1] & O_TRUNC) ? std::optional<uint64_t>(0) : std::nullopt;
#endif
#ifdef SYS_creat
        case SYS_creat:
            return 0;
#endif
        case SYS_openat:
            return (args[2] & O_TRUNC) ? std::optional<uint64_t>(0) : std::nullopt;
        case SYS_truncate:
        case SYS_ftruncate:
            return args[1];
        default:
            return std::nullopt;
    }
}

std::optional<uint64_t> pending_truncate(pid_t tid) {
    std::ifstream in("/proc/" + std::to_string(tid) + "/syscall");
    std::string line;
    if (!std::getline(in, line))
        return std::nullopt;
    try {
        return parse_truncating_syscall(line);
    } catch (const std::exception&) {
        return std::nullopt;  // a format this code does not know: not a truncate
    }
}

}  // namespace tiercel::hsm
