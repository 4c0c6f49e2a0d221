// The guardian process: holds the fanotify group across daemon deaths and answers orphaned events with EIO.
#include "tiercel/hsm/guardian.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/fanotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "tiercel/hsm/fanotify_abi.hpp"

namespace tiercel::hsm {
namespace {

sockaddr_un socket_address(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    return address;
}

Status send_fd(int socket, int fd) {
    char byte = 'g';
    iovec io{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &fd, sizeof fd);
    if (::sendmsg(socket, &message, MSG_NOSIGNAL) != 1)
        return Error::from_errno(errno, "guardian: sending the group fd");
    return {};
}

Result<int> receive_fd(int socket) {
    char byte;
    iovec io{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    if (::recvmsg(socket, &message, MSG_CMSG_CLOEXEC) != 1)
        return Error::from_errno(errno, "guardian: receiving the group fd (is another daemon serving the HSM?)");
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    if (!header || header->cmsg_type != SCM_RIGHTS)
        return make_error(Errc::io_error, "guardian: the answer carried no fd");
    int fd;
    std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
    return fd;
}

// Every pending event of a dead daemon gets EIO. The kernel matches a response by the event's fd number alone.
void deny_orphans(int group, rlim_t limit) {
    for (rlim_t fd = 0; fd < limit; ++fd) {
        fanotify_response reply{static_cast<int>(fd), fan::deny_errno(EIO)};
        (void)!::write(group, &reply, sizeof reply);
    }
}

}  // namespace

void exec_helper_process(int fd3, int fd4, const char* program, const char* subcommand, bool quiet) {
    ::setsid();
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2})
        ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int copy3 = ::fcntl(fd3, F_DUPFD, 10);
    int copy4 = ::fcntl(fd4, F_DUPFD, 10);
    ::dup2(copy3, 3);  // dup2 clears FD_CLOEXEC on the new fds
    ::dup2(copy4, 4);
    ::close_range(5, ~0U, 0);
    if (quiet) {
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0), ::dup2(null, 1), ::dup2(null, 2);
        if (null > 4)
            ::close(null);
    }
    ::execl(program, "tiercel", subcommand, static_cast<char*>(nullptr));
    ::_exit(127);
}

// The guardian's whole life: a loop of system calls on fds 3 (group) and 4 (listener).
void run_guardian(int group, int listener) {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    while (true) {
        int daemon = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (daemon < 0)
            continue;
        if (send_fd(daemon, group)) {
            char byte;
            while (::read(daemon, &byte, 1) > 0) {
            }
        }
        ::close(daemon);
        deny_orphans(group, limit.rlim_cur);
    }
}

namespace {

Result<int> connect_guardian(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return Error::from_errno(errno, "socket");
    auto address = socket_address(path);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        int err = errno;
        ::close(fd);
        return Error::from_errno(err, "guardian " + path);
    }
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return fd;
}

Result<int> spawn_guardian(const std::string& path, int group) {
    ::unlink(path.c_str());
    int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0)
        return Error::from_errno(errno, "socket");
    auto address = socket_address(path);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener, 4) != 0) {
        int err = errno;
        ::close(listener);
        return Error::from_errno(err, "guardian socket " + path);
    }
    ::chmod(path.c_str(), 0600);
    pid_t pid = ::fork();
    if (pid < 0) {
        int err = errno;
        ::close(listener);
        return Error::from_errno(err, "fork of the HSM guardian");
    }
    if (pid == 0) {
        // A fresh image: a forked copy of the daemon's address space would keep its io_uring rings (mapped from the
        // ring fd) and with them the daemon's sockets alive after the daemon dies.
        exec_helper_process(group, listener, "/proc/self/exe", "hsm-guardian", true);
    }
    ::close(listener);
    return static_cast<int>(pid);
}

}  // namespace

Result<GuardedGroup> guarded_group(const std::string& state_dir, Result<int> (*create_group)()) {
    std::error_code ec;
    std::filesystem::create_directories(state_dir + "/hsm", ec);
    auto path = state_dir + "/hsm/guardian.sock";
    auto pid_path = state_dir + "/hsm/guardian.pid";
    GuardedGroup result;
    if (auto link = connect_guardian(path)) {
        result.link_fd = *link;
        auto group = receive_fd(result.link_fd);
        if (!group) {
            ::close(result.link_fd);
            return group.error();
        }
        result.group_fd = *group;
        result.adopted = true;
        std::ifstream pid_file(pid_path);
        pid_file >> result.guardian_pid;
        return result;
    }
    TIERCEL_ASSIGN(result.group_fd, create_group());
    auto pid = spawn_guardian(path, result.group_fd);
    if (!pid) {
        ::close(result.group_fd);
        return pid.error();
    }
    result.guardian_pid = *pid;
    std::ofstream(pid_path) << *pid << "\n";
    auto link = connect_guardian(path);
    if (!link)
        return link.error();
    result.link_fd = *link;
    auto echoed = receive_fd(result.link_fd);  // the guardian's copy of our own group: not needed
    if (echoed)
        ::close(*echoed);
    return result;
}

}  // namespace tiercel::hsm
