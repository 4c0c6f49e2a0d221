// Contract: SimDisk is an in-memory Disk whose every random choice comes from one std::mt19937_64 seeded with
// SimDiskOptions::seed (TigerBeetle's testing/storage idea). The same seed and the same sequence of calls (from one
// thread) give the same results, latencies, errors, crash outcomes and corruptions; print the seed in a failing test.
// Model:
//  - Each file (inode) has current bytes, durable bytes (as of its last sync_file), and the log of its unsynced
//    mutations (writes and truncates). The namespace exists twice: current, and durable (as of the last sync_dir of
//    each name's parent). write_file(sync=true) makes its own name and bytes durable at once.
//  - crash() throws away the current state: the durable namespace comes back, and each surviving inode is rebuilt
//    from its durable bytes by replaying its unsynced log, where the PRNG keeps, drops, or (for writes) tears each
//    entry; a torn write lands sector by sector (sector_size), each sector independently. Inodes reachable only
//    from the current namespace vanish. Two durable names for one inode become two independent files.
//  - Directories are durable as soon as make_dirs returns; removing one requires it to be empty; renaming one is
//    Errc::invalid_input (not modelled). Parents must exist, as on a real filesystem.
//  - Capacity: the current size of every inode reachable from either namespace counts; a write that would exceed
//    capacity_bytes fails with Errc::no_space and changes nothing.
//  - Transient faults: reads (read_at, read_file) and writes (write_file, write_at, append, truncate) fail with
//    Errc::io_error with the configured probabilities and change nothing; the PRNG is consulted only when the
//    probability is non-zero. Latency, when max_latency > 0, is uniform in [0, max_latency] per call.
// Thread-safe (one mutex); replay from the seed holds only for a single-threaded call sequence.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tiercel/io/disk.hpp"

namespace tiercel::io {

struct SimDiskOptions {
    uint64_t seed = 0;
    uint64_t capacity_bytes = uint64_t{1} << 30;
    std::chrono::microseconds max_latency{0};
    double read_error_probability = 0.0;
    double write_error_probability = 0.0;
    size_t sector_size = 512;
};

struct BitFlip {
    std::string path;
    uint64_t byte_offset = 0;
    unsigned bit = 0;
    bool operator==(const BitFlip&) const = default;
};

struct CrashReport {
    size_t mutations_kept = 0;
    size_t mutations_dropped = 0;
    size_t writes_torn = 0;
    size_t files_lost = 0;  // current names that did not survive
    bool operator==(const CrashReport&) const = default;
};

class SimDisk final : public Disk {
public:
    // name() is "<name> (sim seed <seed>)" so every error carries the seed.
    static std::shared_ptr<SimDisk> create(std::string_view name, SimDiskOptions options);

    uint64_t seed() const { return options_.seed; }
    CrashReport crash();
    // Flips n random bits in random non-empty files (current and durable bytes); fewer if the disk holds no data.
    std::vector<BitFlip> corrupt_random(size_t n);
    uint64_t used_bytes() const;

    const std::string& name() const override { return name_; }
    Status write_file(std::string_view path, ByteSpan data, bool sync) override;
    Status write_at(std::string_view path, uint64_t offset, ByteSpan data) override;
    Result<uint64_t> append(std::string_view path, ByteSpan data) override;
    Result<size_t> read_at(std::string_view path, uint64_t offset, MutableByteSpan out) override;
    Result<Bytes> read_file(std::string_view path) override;
    Result<uint64_t> file_size(std::string_view path) override;
    Status truncate(std::string_view path, uint64_t size) override;
    Status sync_file(std::string_view path) override;
    Status sync_dir(std::string_view dir) override;
    Status sync_all() override;
    Status rename(std::string_view from, std::string_view to) override;
    Status remove(std::string_view path) override;
    Status make_dirs(std::string_view dir) override;
    Result<std::vector<std::string>> list(std::string_view dir) override;
    Result<bool> exists(std::string_view path) override;
    Result<DiskSpace> space() override;

private:
    struct Mutation {
        bool is_truncate = false;
        uint64_t offset = 0;  // the new size for a truncate
        Bytes data;
    };
    struct Inode {
        Bytes current;
        Bytes durable;
        std::vector<Mutation> unsynced;
    };
    using InodePtr = std::shared_ptr<Inode>;

    SimDisk(std::string name, SimDiskOptions options);

    enum class Kind { read, write, other };
    // Validates, sleeps the random latency, draws a transient fault; called without the mutex held.
    Status begin(Kind kind, std::string_view op, std::string_view path, bool path_is_dir = false);
    Status require_parent(std::string_view op, const std::string& path) const;
    Result<InodePtr> find_file(std::string_view op, const std::string& path) const;
    Status check_capacity(std::string_view op, const std::string& path, uint64_t old_size, uint64_t new_size) const;
    Status apply(std::string_view op, const std::string& path, Mutation mutation);
    Bytes replay_unsynced(const Inode& inode, CrashReport& report);
    void tear_write(Bytes& content, const Mutation& write);
    uint64_t used_bytes_locked() const;
    uint64_t next_random();
    double next_unit();
    Error error(Errc code, std::string_view op, std::string_view path, std::string_view what) const;

    const std::string name_;
    const SimDiskOptions options_;
    mutable std::mutex mutex_;  // guards everything below
    std::mt19937_64 rng_;
    std::map<std::string, InodePtr> current_files_;
    std::map<std::string, InodePtr> durable_files_;
    std::set<std::string> dirs_;  // never contains "" (the root always exists)
};

}  // namespace tiercel::io
