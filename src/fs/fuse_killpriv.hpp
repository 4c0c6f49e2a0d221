// FUSE_HANDLE_KILLPRIV_V2, which libfuse 3.14 neither negotiates nor passes on to the handlers.
//
// Contract: with it the server, not the kernel, clears setuid/setgid and the security.capability xattr when a file
// is written, truncated or chowned. In return the kernel marks the mount SB_NOSEC and stops asking GETXATTR
// "security.capability" before writes, and chown stops costing a GETATTR: measured on the untar of /usr/include,
// about 2 of the 14 round trips per file.
//  - KillPrivNegotiation::on_request() sees every raw request on the /dev/fuse path (INIT comes there); on_reply()
//    sees every reply and sets the flag in the INIT answer when the kernel offered it.
//  - note_request_hints() reads the kernel's per-request "caller lacks CAP_FSETID" hint (WRITE's
//    FUSE_WRITE_KILL_SUIDGID, SETATTR's FATTR_KILL_SUIDGID, OPEN's FUSE_OPEN_KILL_SUIDGID) into a thread-local slot;
//    call it right before fuse_session_process_buf, whose handler then reads request_kills_suidgid() on the same
//    thread.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tiercel::fs {

void note_request_hints(const void* raw_request, size_t size);
bool request_kills_suidgid();

class KillPrivNegotiation {
public:
    void on_request(const void* raw_request, size_t size);
    void on_reply(struct iovec* iov, int count);
    bool accepted() const { return accepted_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> init_unique_{0};  // 0: INIT not seen yet (the kernel's uniques start at 2)
    std::atomic<bool> offered_{false};
    std::atomic<bool> answered_{false};
    std::atomic<bool> accepted_{false};
};

}  // namespace tiercel::fs
