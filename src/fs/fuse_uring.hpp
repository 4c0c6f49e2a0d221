// Contract: FUSE requests over io_uring (Linux 6.14+, module parameter fuse.enable_uring), beside /dev/fuse.
//  - The kernel keeps one request queue per possible CPU and puts each request on the queue of the CPU its caller
//    runs on. start() gives every queue a thread pinned to that CPU, with its own io_uring and `entries` registered
//    ring entries (a header and a payload buffer each). So a request is answered on its caller's CPU, and the
//    caller's wake-up after the reply is a local context switch rather than an interrupt to another, halted, vCPU
//    (docs/design.md, "FUSE over io_uring").
//  - The kernel switches the connection to the rings once every queue has an entry. Until then, and always for
//    FORGET and INTERRUPT, requests come through /dev/fuse, which FsService keeps reading.
//  - A queue thread hands each request to libfuse (fuse_session_process_buf), so the handlers are the same on both
//    paths. Replies, from any thread, reach libfuse's custom writev, which calls reply(): a reply to a ring request
//    is copied into its entry and committed by the entry's queue thread, which fetches the next request in the same
//    command.
//  - stop() ends the threads and closes the rings; requests still in them are ended by the kernel when the
//    connection goes (unmount). Thread-safe: reply() may run on any thread, before or after stop().
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "tiercel/core/error.hpp"

struct fuse_session;

namespace tiercel::fs {

class FuseUringQueue;

class FuseUring {
public:
    struct Options {
        unsigned entries_per_queue = 8;
        size_t payload_bytes = 1u << 20;  // at least the connection's max_write (the kernel refuses smaller)
    };

    // The queues for `fuse_fd` (the session's /dev/fuse), one per possible CPU, with no threads yet. Publish the
    // object where replies look for it (reply()) BEFORE start(): the kernel hands requests to the rings as soon as
    // the last queue has registered, and a reply that misses its entry would go to /dev/fuse and be lost (the
    // caller hangs).
    static std::unique_ptr<FuseUring> create(fuse_session* session, int fuse_fd, Options options);
    // Registers every queue's entries from threads of its own; fails if this kernel or its module parameter does not
    // allow FUSE over io_uring (then the mount keeps using /dev/fuse alone, and this object is stopped). Call it
    // after the kernel has had INIT's answer: before that the kernel refuses registration (EAGAIN), which the
    // threads retry for a while.
    Status start();
    ~FuseUring();
    FuseUring(const FuseUring&) = delete;
    FuseUring& operator=(const FuseUring&) = delete;

    // If `iov` (a fuse_out_header, then the reply's arguments) answers a request that came through a ring: copies
    // it into that request's entry, has it committed, sets `written` and returns true. Otherwise false: the reply
    // belongs on /dev/fuse.
    bool reply(const iovec* iov, int count, ssize_t& written);

    // Stops the queue threads and closes the rings. Idempotent.
    void stop();

    unsigned queue_count() const { return static_cast<unsigned>(queues_.size()); }

private:
    FuseUring() = default;
    std::vector<std::unique_ptr<FuseUringQueue>> queues_;
};

// Succeeds if this kernel lets FUSE servers use io_uring, after switching the module parameter on if needed (root
// only); otherwise an error saying why not, for the log.
Status enable_fuse_uring();

}  // namespace tiercel::fs
