#include "tiercel/io/uring.hpp"

#include <liburing.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace tiercel::io::uring {

namespace {

constexpr unsigned kQueueDepth = 8;
// One SQE never moves more than this; the kernel caps a single transfer near 2 GiB anyway.
constexpr size_t kMaxChunk = size_t{1} << 30;

bool is_retryable(int64_t result) { return result == -EINTR || result == -EAGAIN; }

class ThreadRing {
public:
    ThreadRing() { ready_ = io_uring_queue_init(kQueueDepth, &ring_, 0) == 0; }
    ~ThreadRing() {
        if (ready_)
            io_uring_queue_exit(&ring_);
    }
    ThreadRing(const ThreadRing&) = delete;
    ThreadRing& operator=(const ThreadRing&) = delete;

    bool ready() const { return ready_; }
    io_uring* get() { return &ring_; }
    // After a failed submit or wait the queue may hold stale entries; this thread falls back to plain syscalls.
    void poison() {
        if (ready_)
            io_uring_queue_exit(&ring_);
        ready_ = false;
    }

private:
    io_uring ring_{};
    bool ready_ = false;
};

ThreadRing& this_thread_ring() {
    thread_local ThreadRing ring;
    return ring;
}

int submit_all(io_uring* ring) {
    for (;;) {
        int submitted = io_uring_submit(ring);
        if (submitted >= 0 || !(submitted == -EINTR || submitted == -EAGAIN || submitted == -EBUSY))
            return submitted;
    }
}

// Waits for one completion and returns (user_data, res).
int wait_one(io_uring* ring, uint64_t* user_data, int* res) {
    io_uring_cqe* cqe = nullptr;
    int err;
    do {
        err = io_uring_wait_cqe(ring, &cqe);
    } while (err == -EINTR);
    if (err < 0)
        return err;
    *user_data = io_uring_cqe_get_data64(cqe);
    *res = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    return 0;
}

// Submits the SQEs already prepared and collects `count` results indexed by their user_data.
int run_prepared(io_uring* ring, unsigned count, int* results) {
    int submitted = submit_all(ring);
    if (submitted < 0) {
        this_thread_ring().poison();
        return submitted;
    }
    for (unsigned i = 0; i < count; ++i) {
        uint64_t index = 0;
        int res = 0;
        if (int err = wait_one(ring, &index, &res); err < 0) {
            this_thread_ring().poison();
            return err;
        }
        results[std::min<uint64_t>(index, count - 1)] = res;
    }
    return 0;
}

int ring_transfer(int fd, uint64_t offset, std::byte* buffer, size_t length, bool is_write) {
    io_uring* ring = this_thread_ring().get();
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    if (is_write)
        io_uring_prep_write(sqe, fd, buffer, static_cast<unsigned>(length), offset);
    else
        io_uring_prep_read(sqe, fd, buffer, static_cast<unsigned>(length), offset);
    io_uring_sqe_set_data64(sqe, 0);
    int result = 0;
    if (int err = run_prepared(ring, 1, &result); err < 0)
        return err;
    return result;
}

int64_t transfer_once(Backend backend, int fd, uint64_t offset, std::byte* buffer, size_t length, bool is_write) {
    length = std::min(length, kMaxChunk);
    if (backend == Backend::io_uring)
        return ring_transfer(fd, offset, buffer, length, is_write);
    ssize_t done = is_write ? ::pwrite(fd, buffer, length, static_cast<off_t>(offset))
                            : ::pread(fd, buffer, length, static_cast<off_t>(offset));
    return done < 0 ? -errno : done;
}

int ring_sync(int fd, bool data_only) {
    io_uring* ring = this_thread_ring().get();
    io_uring_prep_fsync(io_uring_get_sqe(ring), fd, data_only ? IORING_FSYNC_DATASYNC : 0);
    int result = 0;
    if (int err = run_prepared(ring, 1, &result); err < 0)
        return err;
    return result;
}

}  // namespace

bool thread_ring_available() { return this_thread_ring().ready(); }

Backend pick_backend(bool prefer_ring) {
    return prefer_ring && thread_ring_available() ? Backend::io_uring : Backend::plain;
}

int64_t read_full(Backend backend, int fd, uint64_t offset, std::span<std::byte> out) {
    size_t done = 0;
    while (done < out.size()) {
        int64_t got = transfer_once(backend, fd, offset + done, out.data() + done, out.size() - done, false);
        if (is_retryable(got))
            continue;
        if (got < 0)
            return got;
        if (got == 0)
            break;  // end of file
        done += static_cast<size_t>(got);
    }
    return static_cast<int64_t>(done);
}

int64_t write_full(Backend backend, int fd, uint64_t offset, std::span<const std::byte> data) {
    size_t done = 0;
    auto* bytes = const_cast<std::byte*>(data.data());  // the kernel only reads from it
    while (done < data.size()) {
        int64_t put = transfer_once(backend, fd, offset + done, bytes + done, data.size() - done, true);
        if (is_retryable(put))
            continue;
        if (put < 0)
            return put;
        if (put == 0)
            return -EIO;  // a regular file that accepts nothing would loop forever
        done += static_cast<size_t>(put);
    }
    return static_cast<int64_t>(done);
}

int sync(Backend backend, int fd, bool data_only) {
    for (;;) {
        int result = backend == Backend::io_uring ? ring_sync(fd, data_only)
                                                  : ((data_only ? ::fdatasync(fd) : ::fsync(fd)) < 0 ? -errno : 0);
        if (!is_retryable(result))
            return result;
    }
}

int write_full_and_sync(Backend backend, int fd, uint64_t offset, std::span<const std::byte> data) {
    if (backend == Backend::io_uring && !data.empty() && data.size() <= kMaxChunk) {
        // Linked pair: the fsync starts only if the write completes in full, and both cost one io_uring_enter.
        io_uring* ring = this_thread_ring().get();
        io_uring_sqe* write_sqe = io_uring_get_sqe(ring);
        io_uring_prep_write(write_sqe, fd, data.data(), static_cast<unsigned>(data.size()), offset);
        io_uring_sqe_set_data64(write_sqe, 0);
        write_sqe->flags |= IOSQE_IO_LINK;
        io_uring_sqe* sync_sqe = io_uring_get_sqe(ring);
        io_uring_prep_fsync(sync_sqe, fd, 0);
        io_uring_sqe_set_data64(sync_sqe, 1);
        int results[2] = {0, 0};
        if (int err = run_prepared(ring, 2, results); err < 0)
            return err;
        if (results[0] == static_cast<int64_t>(data.size()) && !is_retryable(results[1]))
            return results[1] < 0 ? results[1] : 0;
        // A short or failed write broke the chain (the fsync was cancelled): finish the slow way.
        if (results[0] < 0 && !is_retryable(results[0]))
            return results[0];
        size_t written = results[0] > 0 ? static_cast<size_t>(results[0]) : 0;
        int64_t rest = write_full(backend, fd, offset + written, data.subspan(written));
        if (rest < 0)
            return static_cast<int>(rest);
        return sync(backend, fd, false);
    }
    int64_t written = write_full(backend, fd, offset, data);
    if (written < 0)
        return static_cast<int>(written);
    return sync(backend, fd, false);
}

}  // namespace tiercel::io::uring
