// Contract: include before any Boost.Asio header in every translation unit (the precompiled-header list in
// CMakeLists.txt names it first; a file built without that list includes it first itself). It makes the
// cancellation and timeout-removal SQEs that Asio 1.81's io_uring backend submits carry user_data 0.
//
// Why: liburing 2.3's io_uring_prep_* helpers leave sqe->user_data as the previous occupant of that ring slot left
// it, and Asio sets user_data for its I/O operations but not for IORING_OP_ASYNC_CANCEL or TIMEOUT_REMOVE. The
// cancel's own completion then arrives tagged with a stale pointer to some other operation's queue, which Asio
// treats as that operation's result: after heavy FUSE traffic on the loop the HTTP listeners' cancelled accepts
// never completed, the daemon hung until its shutdown deadline, and the abandoned operations crashed the io_context
// destructor. Asio skips completions whose user_data is 0, which is what a cancel's own completion should be.
#pragma once

#include <liburing.h>

inline void tiercel_io_uring_prep_cancel(io_uring_sqe* sqe, void* target, int flags) {
    io_uring_prep_cancel(sqe, target, flags);
    io_uring_sqe_set_data(sqe, nullptr);
}

inline void tiercel_io_uring_prep_timeout_remove(io_uring_sqe* sqe, __u64 target, unsigned flags) {
    io_uring_prep_timeout_remove(sqe, target, flags);
    io_uring_sqe_set_data(sqe, nullptr);
}

#define io_uring_prep_cancel tiercel_io_uring_prep_cancel
#define io_uring_prep_timeout_remove tiercel_io_uring_prep_timeout_remove
