// Contract: keeps the fanotify group alive when the daemon dies, so a stub never reads as zeros.
// Measured on Linux 6.18 (tests/integration/test_hsm_crash.py): when the last fd of a pre-content group closes, the
// kernel answers every pending event with ALLOW, so a reader blocked on a stub would read the holes as zeros. The
// guardian is a small process forked by the first daemon that holds a reference to the group and nothing else:
//  - each daemon connects to <state_dir>/hsm/guardian.sock, receives the group fd (SCM_RIGHTS) and keeps the
//    connection open for its lifetime; the first daemon forks the guardian when nobody answers;
//  - when that connection closes (clean stop, crash, kill -9), the guardian answers every event the dead daemon had
//    read but not answered with FAN_DENY_ERRNO(EIO), by writing a response for each fd number below the daemon's
//    RLIMIT_NOFILE (numbers that match no pending event are rejected by the kernel with ENOENT);
//  - events not yet read stay queued in the group, marks stay in place, and readers wait until the next daemon
//    adopts the group and serves them.
// The guardian's pid is in <state_dir>/hsm/guardian.pid; stopping it (SIGTERM) releases the group and its marks.
#pragma once

#include <string>

#include "tiercel/core/error.hpp"

namespace tiercel::hsm {

struct GuardedGroup {
    int group_fd = -1;       // the fanotify group, owned by the caller
    int link_fd = -1;        // the connection to the guardian; keep it open while serving
    bool adopted = false;    // true: the group (with its marks and queued events) outlived an earlier daemon
    int guardian_pid = 0;
};

// The guardian process itself (the hidden `tiercel hsm-guardian` command, exec'd with the group on fd 3 and the
// listening socket on fd 4). Never returns.
[[noreturn]] void run_guardian(int group, int listener);

// `create_group` makes a new fanotify group fd (or fails); called only when no guardian answers.
Result<GuardedGroup> guarded_group(const std::string& state_dir, Result<int> (*create_group)());

// For the child of a fork(): becomes a helper process (the guardian, the change relay) in a session of its own, so
// a Ctrl-C at the daemon's terminal does not reach it, with default signal dispositions, `fd3` and `fd4` as fds 3
// and 4 and no other fd above 2 (stdio to /dev/null when `quiet`), then execs `program subcommand`. Only
// async-signal-safe calls; never returns.
[[noreturn]] void exec_helper_process(int fd3, int fd4, const char* program, const char* subcommand, bool quiet);

}  // namespace tiercel::hsm
