// Contract: FaultDisk wraps any Disk and injects the failures tests need (LevelDB fault_injection_test's idea).
// Faults, checked in this order before the inner disk is called (an injected failure never reaches it):
//   crashed state (after crash_after_ops) -> fail_nth_op -> fail_all -> fail_ops_matching.
// Op numbering: every Disk call on the wrapper (reads included, failed ones included) gets the next index, starting
// at op_count(); fail_nth_op(n) is 0-based: n = 0 fails the very next call.
// crash_after_ops(n): the next n *mutating* calls (write_file, write_at, append, truncate, sync_file, sync_dir,
// sync_all, rename, remove, make_dirs) run normally; from then on every call fails with Errc::io_error ("crashed") until
// simulate_crash().
// simulate_crash() rolls the inner disk back to what the Disk contract promises would survive a power cut:
//   - a file mutated (write_at, append, truncate, write_file(sync=false)) since its last sync_file gets back the
//     content it had then (snapshotted lazily at its first unsynced mutation; empty if it was new);
//   - a name created, renamed over, renamed away or removed since the last sync_dir of its parent directory gets
//     back its durable state: removed if it did not exist durably, else rewritten with its durable content;
//   - write_file(sync=true) is durable for its own path on return (other pending names in the directory stay
//     pending: the model is as pessimistic as the contract allows);
//   - not modelled: directories (make_dirs, and renames/removes of directories, are durable at once), and partial
//     or torn writes (see SimDisk for those).
// Afterwards the wrapper works normally again (the test "reopens" by using it). The bookkeeping reads files through
// the inner disk, so it costs extra inner calls; those are not counted and never fail by injection.
// Thread-safe: mutating calls are serialized (the crash model needs a single order); reads run in parallel.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "tiercel/io/disk.hpp"

namespace tiercel::io {

enum class DiskOp {
    write_file, write_at, append, read_at, read_file, file_size, truncate, sync_file, sync_dir, sync_all,
    rename, remove, make_dirs, list, exists, space,
};

std::string_view disk_op_name(DiskOp op);
bool is_mutating(DiskOp op);

struct OpInfo {
    DiskOp op;
    std::string_view path;  // the directory for sync_dir/make_dirs/list, the source for rename, "" for space
    std::string_view to;    // rename's target, else ""
    uint64_t index;         // this call's op number
};

// Returns the error to inject for this call, or nullopt to let it through.
using FaultPredicate = std::function<std::optional<Errc>(const OpInfo&)>;

class FaultDisk final : public Disk {
public:
    explicit FaultDisk(DiskPtr inner);
    static std::shared_ptr<FaultDisk> wrap(DiskPtr inner) { return std::make_shared<FaultDisk>(std::move(inner)); }

    void fail_nth_op(uint64_t n, Errc code);
    void fail_all(Errc code);
    void fail_ops_matching(FaultPredicate predicate);
    // Clears fail_nth_op, fail_all and fail_ops_matching (not the crashed state: that is simulate_crash's job).
    void heal();
    void set_latency(std::chrono::microseconds latency);

    void crash_after_ops(uint64_t mutating_ops);
    bool crashed() const;
    Status simulate_crash();

    // Flips one bit of the inner disk's current bytes (what a reader sees now).
    Status flip_bit(std::string_view path, uint64_t byte_offset, unsigned bit);
    uint64_t op_count() const;
    uint64_t mutating_op_count() const;
    const DiskPtr& inner() const { return inner_; }

    const std::string& name() const override { return inner_->name(); }
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
    // Counts the call, sleeps the latency, and returns the injected error if any.
    Status before_op(DiskOp op, std::string_view path, std::string_view to = {});
    Status snapshot_before_data_change(const std::string& path);
    Result<std::optional<Bytes>> durable_content(const std::string& path);
    void remember_entry_change(const std::string& path, std::optional<Bytes> durable_before);

    const DiskPtr inner_;

    mutable std::mutex fault_mutex_;  // lock order: mutation_mutex_ before fault_mutex_
    uint64_t op_count_ = 0;
    uint64_t mutating_op_count_ = 0;
    std::map<uint64_t, Errc> nth_failures_;
    std::optional<Errc> fail_all_;
    FaultPredicate predicate_;
    std::chrono::microseconds latency_{0};
    std::optional<uint64_t> mutating_ops_before_crash_;
    bool crashed_ = false;

    std::mutex mutation_mutex_;  // serializes mutating calls and guards the crash bookkeeping below
    // Files mutated since their last sync_file -> their content as of that sync.
    std::map<std::string, Bytes> last_synced_content_;
    // Names changed since the last sync_dir of their parent -> durable content before (nullopt: did not exist).
    std::map<std::string, std::optional<Bytes>> pending_entries_;
};

}  // namespace tiercel::io
