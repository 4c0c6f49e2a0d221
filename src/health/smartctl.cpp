// Running smartctl as a child process with a deadline (include/tiercel/health/smartctl.hpp).
#include "tiercel/health/smartctl.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

extern char** environ;

namespace tiercel::health {
namespace {

struct Child {
    pid_t pid = -1;
    int out_fd = -1;
};

std::string spawn(const std::string& program, const std::string& device, Child& child) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return std::string("pipe: ") + std::strerror(errno);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    std::vector<std::string> args{program, "--json", "-a", device};
    std::vector<char*> argv;
    for (auto& arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    int rc = ::posix_spawnp(&child.pid, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        return "cannot run " + program + ": " + std::strerror(rc);
    }
    child.out_fd = fds[0];
    return {};
}

int reap(pid_t pid, bool kill_first) {
    if (kill_first)
        ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

SmartReport run_smartctl(const std::string& program, const std::string& device, std::chrono::milliseconds timeout,
                         const std::atomic<bool>* stop) {
    Child child;
    if (std::string problem = spawn(program, device, child); !problem.empty())
        return no_smart_data(device, problem);
    std::string output;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string abort_reason;
    char buffer[16384];
    for (;;) {
        if (stop && stop->load()) {
            abort_reason = "the daemon is stopping";
            break;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            abort_reason = program + " took longer than " + std::to_string(timeout.count()) + " ms: killed";
            break;
        }
        pollfd pfd{child.out_fd, POLLIN, 0};
        int ready = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
        if (ready < 0 && errno != EINTR) {
            abort_reason = std::string("poll: ") + std::strerror(errno);
            break;
        }
        if (ready <= 0)
            continue;
        ssize_t n = ::read(child.out_fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        output.append(buffer, static_cast<size_t>(n));
        if (output.size() > (16u << 20)) {
            abort_reason = program + " printed more than 16 MiB";
            break;
        }
    }
    ::close(child.out_fd);
    int exit_code = reap(child.pid, !abort_reason.empty());
    if (!abort_reason.empty())
        return no_smart_data(device, abort_reason);
    if (exit_code == 127 && output.empty())
        return no_smart_data(device, "cannot run " + program + " (not found)");
    return parse_smartctl_json(output, device, exit_code < 0 ? 0 : exit_code);
}

}  // namespace tiercel::health
