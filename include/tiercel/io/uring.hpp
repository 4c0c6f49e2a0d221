// Contract: blocking positional file I/O for the calling thread, submitted through a per-thread io_uring.
// Each thread lazily creates its own small ring (queue depth 8) on first use and destroys it at thread exit, so
// threads never share a submission queue and never wait on each other. When the ring cannot be created (io_uring
// disabled by sysctl, seccomp, old kernel) or the caller asks for Backend::plain, the same functions use
// pread/pwrite/fsync instead, silently. Every function retries EINTR/EAGAIN and continues short transfers; the
// result is the byte count (or 0 for fsync) on success and -errno on failure. Not async: the caller's thread waits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tiercel::io::uring {

enum class Backend { io_uring, plain };

// True when the calling thread has (or could just create) its ring.
bool thread_ring_available();
// Backend::io_uring when `prefer_ring` and the ring is available, else Backend::plain.
Backend pick_backend(bool prefer_ring);

// Reads until `out` is full or end of file; returns the bytes read.
int64_t read_full(Backend backend, int fd, uint64_t offset, std::span<std::byte> out);
// Writes all of `data` (a write that makes no progress is -EIO); returns data.size().
int64_t write_full(Backend backend, int fd, uint64_t offset, std::span<const std::byte> data);
// fsync (or fdatasync when `data_only`).
int sync(Backend backend, int fd, bool data_only);
// write_full then fsync; with io_uring both go in one submission as linked SQEs.
int write_full_and_sync(Backend backend, int fd, uint64_t offset, std::span<const std::byte> data);

}  // namespace tiercel::io::uring
