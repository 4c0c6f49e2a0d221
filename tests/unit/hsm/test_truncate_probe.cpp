// Recognising truncating system calls from /proc/<tid>/syscall lines, and reading a real one: a child process
// blocked in ftruncate(2) on a FIFO-free path is hard to arrange, so the live check uses a thread blocked in a known
// non-truncating call (read on a pipe) and must answer "not a truncate".
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "tiercel/hsm/truncate_probe.hpp"

using tiercel::hsm::parse_truncating_syscall;
using tiercel::hsm::pending_truncate;

namespace {
std::string line(long nr, unsigned long a1, unsigned long a2, unsigned long a3) {
    char buffer[200];
    std::snprintf(buffer, sizeof buffer, "%ld 0x%lx 0x%lx 0x%lx 0x0 0x0 0x0 0x7ffd0000 0x7f000000", nr, a1, a2, a3);
    return buffer;
}
}  // namespace

TEST_CASE("truncate and ftruncate give their length") {
    CHECK(parse_truncating_syscall(line(SYS_ftruncate, 3, 5242880 + 123, 0)) == 5242880 + 123);
    CHECK(parse_truncating_syscall(line(SYS_truncate, 0x7ffd1234, 0, 0)) == 0);
}

TEST_CASE("open and openat truncate only with O_TRUNC") {
    CHECK(parse_truncating_syscall(line(SYS_openat, 0xffffff9c, 0x7ffd1234, O_WRONLY | O_TRUNC)) == 0);
    CHECK(!parse_truncating_syscall(line(SYS_openat, 0xffffff9c, 0x7ffd1234, O_RDONLY)));
    CHECK(!parse_truncating_syscall(line(SYS_openat, 0xffffff9c, 0x7ffd1234, O_RDWR | O_CREAT)));
#ifdef SYS_open
    CHECK(parse_truncating_syscall(line(SYS_open, 0x7ffd1234, O_WRONLY | O_TRUNC | O_CREAT, 0644)) == 0);
    CHECK(!parse_truncating_syscall(line(SYS_open, 0x7ffd1234, O_RDONLY, 0)));
#endif
}

TEST_CASE("other calls, running tasks and garbage are not truncates") {
    CHECK(!parse_truncating_syscall(line(SYS_read, 3, 0x7ffd1234, 4096)));
    CHECK(!parse_truncating_syscall(line(SYS_pread64, 3, 0x7ffd1234, 4096)));
    CHECK(!parse_truncating_syscall("running"));
    CHECK(!parse_truncating_syscall("-1 0x7ffd0000 0x7f000000"));
    CHECK(!parse_truncating_syscall(""));
    CHECK(!parse_truncating_syscall("77"));
}

TEST_CASE("a live task blocked in read(2) is not truncating") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t tid = 0;
    std::thread reader([&] {
        tid = static_cast<pid_t>(::syscall(SYS_gettid));
        char byte;
        (void)::read(fds[0], &byte, 1);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(!pending_truncate(tid));
    CHECK(!pending_truncate(999999999));  // no such task
    (void)::write(fds[1], "x", 1);
    reader.join();
    ::close(fds[0]);
    ::close(fds[1]);
}
