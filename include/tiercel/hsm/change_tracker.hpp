// Contract: incremental tracking of the watched trees for the policy runner. One fanotify group of class
// FAN_CLASS_NOTIF (notification only: it never blocks an access, and no permission or pre-content event is ever
// asked for, so reading a hot file costs nothing) reporting FAN_REPORT_DFID_NAME, with a FAN_MARK_FILESYSTEM mark
// on each watched filesystem for FAN_CLOSE_WRITE | FAN_MODIFY | FAN_ATTRIB | FAN_CREATE | FAN_MOVED_TO |
// FAN_DELETE | FAN_MOVED_FROM (and FAN_ONDIR, so directory creations and moves are seen).
//  - The group lives in a small forked relay process that only reads events and passes them on over a socket: when
//    a group is torn down, the kernel waits for every access still blocked in a pre-content wait on that filesystem
//    (its filesystem mark is pinned meanwhile). In the daemon, that would block a killed daemon's exit before its
//    guardian link closes, and the guardian answers those waits only once the link has closed: a deadlock. The
//    relay (`tiercel hsm-relay`, exec'd) exits when the daemon's end of the socket closes, and only the relay waits.
//  - A thread reads the events, turns each (directory handle, name) into a path (open_by_handle_at + /proc/self/fd),
//    keeps the ones below a watched root and queues them, deduplicated; take() hands them over.
//  - A kernel queue overflow (FAN_Q_OVERFLOW) is reported by take(): the caller must rescan the trees.
//  - start() fails with the reason when the kernel or the filesystem refuses (no FID support, not root, ...): the
//    caller then falls back to periodic full scans.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <sys/types.h>
#include <vector>

#include "tiercel/core/error.hpp"

namespace tiercel::hsm {

struct Change {
    std::string path;
    bool directory = false;  // a directory was created, moved in or out, or deleted: its subtree changed
};

class ChangeTracker {
public:
    // `wake` is called (on the tracker's thread) whenever a change was queued. `program` is the tiercel binary that
    // runs the relay (`program hsm-relay`); the daemon is that binary.
    static Result<std::unique_ptr<ChangeTracker>> start(const std::vector<std::string>& roots,
                                                        std::function<void()> wake,
                                                        const std::string& program = "/proc/self/exe");
    ~ChangeTracker();
    ChangeTracker(const ChangeTracker&) = delete;
    ChangeTracker& operator=(const ChangeTracker&) = delete;

    // The changes queued since the last call; `overflowed` is true when events were lost meanwhile.
    std::vector<Change> take(bool& overflowed);
    uint64_t events() const { return events_; }
    // False once the relay has gone (its socket hung up): nothing is tracked any more.
    bool alive() const { return alive_; }

    static constexpr size_t relay_message = 8192;  // one fanotify read, sent as one SOCK_SEQPACKET message

private:
    ChangeTracker(int group_fd, int stop_fd, std::vector<std::string> roots, std::function<void()> wake);
    void run();
    void dispatch(const char* buffer, size_t length);
    void queue(std::string path, bool directory);
    Status start_relay(const std::string& program);


    int group_fd_ = -1, stop_fd_ = -1;  // group_fd_: the fanotify group until start_relay(), then the relay socket
    pid_t relay_pid_ = -1;
    std::vector<std::string> roots_;
    std::map<std::pair<int32_t, int32_t>, int> mount_fds_;  // fsid -> an open directory on that filesystem
    std::function<void()> wake_;
    std::atomic<uint64_t> events_{0};
    std::atomic<bool> alive_{true};
    std::mutex mutex_;
    std::map<std::string, bool> pending_;  // path -> directory
    bool overflowed_ = false;
    std::thread thread_;
};

// The relay process (`tiercel hsm-relay`, started by ChangeTracker with the group on fd 3 and the socket on fd 4):
// passes every read of the group on as one message; exits when the daemon's end of the socket closes.
[[noreturn]] void run_change_relay(int group_fd, int socket_fd);

}  // namespace tiercel::hsm
