// Contract: Disk is the only way the pool touches storage (LevelDB's Env idea). One Disk is one mounted filesystem
// directory (a NAS data disk). Paths are relative to the disk root, use '/' separators, and never contain "..".
//
// Promises every implementation keeps:
//  - Thread-safe: any thread may call any method; calls on different files run in parallel.
//  - Durability is explicit: data written with write_at/append/write_file(sync=false) may be lost by a crash until
//    sync_file() returns ok for that file AND sync_dir() has returned ok for a directory entry that was created,
//    renamed or removed — or until sync_all() returns ok, which covers every file and entry of the disk at once.
//    write_file(..., sync=true) does all of that itself (write temp, fsync, rename, fsync dir), so after it returns ok the file holds exactly `data`, and a crash before that leaves the old content or none.
//  - Errors name the disk and the path (Errc::not_found, io_error, no_space, corruption for short reads of a file
//    that claimed to be longer).
// Implementations: io/posix_disk (real, io_uring), io/fault_disk (fault-injecting wrapper), io/sim_disk (seeded,
// in-memory, deterministic).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tiercel/core/error.hpp"

namespace tiercel::io {

using Bytes = std::vector<std::byte>;
using ByteSpan = std::span<const std::byte>;
using MutableByteSpan = std::span<std::byte>;

struct DiskSpace {
    uint64_t total_bytes = 0;
    uint64_t free_bytes = 0;  // available to an unprivileged writer (statfs f_bavail)
};

class Disk {
public:
    virtual ~Disk() = default;

    // A short human name used in every error and log line ("disk3 (/mnt/disk3)").
    virtual const std::string& name() const = 0;

    // Creates or replaces `path` with exactly `data`. With sync=true the result is durable and atomic (see above).
    virtual Status write_file(std::string_view path, ByteSpan data, bool sync) = 0;
    // Writes `data` at `offset`, creating the file if needed. Not durable until sync_file().
    virtual Status write_at(std::string_view path, uint64_t offset, ByteSpan data) = 0;
    // Appends `data` and returns the offset it was written at. Not durable until sync_file().
    virtual Result<uint64_t> append(std::string_view path, ByteSpan data) = 0;
    // Reads up to out.size() bytes at offset; returns the count read (short only at end of file).
    virtual Result<size_t> read_at(std::string_view path, uint64_t offset, MutableByteSpan out) = 0;
    // Reads the whole file.
    virtual Result<Bytes> read_file(std::string_view path) = 0;
    virtual Result<uint64_t> file_size(std::string_view path) = 0;
    virtual Status truncate(std::string_view path, uint64_t size) = 0;

    // fsync of the file's data and metadata.
    virtual Status sync_file(std::string_view path) = 0;
    // fsync of a directory, making creations, renames and removals inside it durable. "" is the disk root.
    virtual Status sync_dir(std::string_view dir) = 0;
    // Makes every write, creation, rename and removal made on this disk before the call durable (syncfs(2) of the
    // disk's filesystem: one journal commit instead of an fsync per file, which is what batched writers want).
    virtual Status sync_all() = 0;

    virtual Status rename(std::string_view from, std::string_view to) = 0;
    // Removing a missing file is not an error (returns ok), so cleanup can be retried.
    virtual Status remove(std::string_view path) = 0;
    // Creates a directory and its parents; existing is fine.
    virtual Status make_dirs(std::string_view dir) = 0;
    // Names (not paths) of the entries in `dir`, sorted; a missing dir is Errc::not_found.
    virtual Result<std::vector<std::string>> list(std::string_view dir) = 0;
    virtual Result<bool> exists(std::string_view path) = 0;

    virtual Result<DiskSpace> space() = 0;
};

using DiskPtr = std::shared_ptr<Disk>;

}  // namespace tiercel::io
