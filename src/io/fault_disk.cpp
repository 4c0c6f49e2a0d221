#include "tiercel/io/fault_disk.hpp"

#include <thread>

#include "tiercel/io/path.hpp"

namespace tiercel::io {

std::string_view disk_op_name(DiskOp op) {
    switch (op) {
    case DiskOp::write_file: return "write_file";
    case DiskOp::write_at: return "write_at";
    case DiskOp::append: return "append";
    case DiskOp::read_at: return "read_at";
    case DiskOp::read_file: return "read_file";
    case DiskOp::file_size: return "file_size";
    case DiskOp::truncate: return "truncate";
    case DiskOp::sync_file: return "sync_file";
    case DiskOp::sync_dir: return "sync_dir";
    case DiskOp::sync_all: return "sync_all";
    case DiskOp::rename: return "rename";
    case DiskOp::remove: return "remove";
    case DiskOp::make_dirs: return "make_dirs";
    case DiskOp::list: return "list";
    case DiskOp::exists: return "exists";
    case DiskOp::space: return "space";
    }
    return "unknown";
}

bool is_mutating(DiskOp op) {
    switch (op) {
    case DiskOp::read_at:
    case DiskOp::read_file:
    case DiskOp::file_size:
    case DiskOp::list:
    case DiskOp::exists:
    case DiskOp::space: return false;
    default: return true;
    }
}

FaultDisk::FaultDisk(DiskPtr inner) : inner_(std::move(inner)) {}

void FaultDisk::fail_nth_op(uint64_t n, Errc code) {
    std::lock_guard lock(fault_mutex_);
    nth_failures_[op_count_ + n] = code;
}

void FaultDisk::fail_all(Errc code) {
    std::lock_guard lock(fault_mutex_);
    fail_all_ = code;
}

void FaultDisk::fail_ops_matching(FaultPredicate predicate) {
    std::lock_guard lock(fault_mutex_);
    predicate_ = std::move(predicate);
}

void FaultDisk::heal() {
    std::lock_guard lock(fault_mutex_);
    nth_failures_.clear();
    fail_all_.reset();
    predicate_ = nullptr;
}

void FaultDisk::set_latency(std::chrono::microseconds latency) {
    std::lock_guard lock(fault_mutex_);
    latency_ = latency;
}

void FaultDisk::crash_after_ops(uint64_t mutating_ops) {
    std::lock_guard lock(fault_mutex_);
    mutating_ops_before_crash_ = mutating_ops;
}

bool FaultDisk::crashed() const {
    std::lock_guard lock(fault_mutex_);
    return crashed_;
}

uint64_t FaultDisk::op_count() const {
    std::lock_guard lock(fault_mutex_);
    return op_count_;
}

uint64_t FaultDisk::mutating_op_count() const {
    std::lock_guard lock(fault_mutex_);
    return mutating_op_count_;
}

Status FaultDisk::before_op(DiskOp op, std::string_view path, std::string_view to) {
    std::optional<Errc> injected;
    const char* why = "injected fault";
    std::chrono::microseconds latency;
    {
        std::lock_guard lock(fault_mutex_);
        uint64_t index = op_count_++;
        latency = latency_;
        if (is_mutating(op)) {
            ++mutating_op_count_;
            if (mutating_ops_before_crash_ && (*mutating_ops_before_crash_)-- == 0) {
                mutating_ops_before_crash_.reset();
                crashed_ = true;
            }
        }
        if (auto nth = nth_failures_.find(index); nth != nth_failures_.end()) {
            injected = nth->second;
            nth_failures_.erase(nth);
        } else if (fail_all_) {
            injected = fail_all_;
        } else if (predicate_) {
            injected = predicate_(OpInfo{op, path, to, index});
        }
        if (crashed_) {
            injected = Errc::io_error;
            why = "crashed (simulated power loss pending)";
        }
    }
    if (latency.count() > 0)
        std::this_thread::sleep_for(latency);
    if (!injected)
        return {};
    std::string shown(path);
    if (!to.empty())
        shown += " -> " + std::string(to);
    return disk_error(*injected, name(), disk_op_name(op), shown, why);
}

Result<std::optional<Bytes>> FaultDisk::durable_content(const std::string& path) {
    if (auto pending = pending_entries_.find(path); pending != pending_entries_.end())
        return pending->second;
    if (auto synced = last_synced_content_.find(path); synced != last_synced_content_.end())
        return std::optional<Bytes>(synced->second);
    auto current = inner_->read_file(path);
    if (current.ok())
        return std::optional<Bytes>(std::move(current).value());
    if (current.error().code() == Errc::not_found)
        return std::optional<Bytes>();
    return current.error();  // a directory, or a real failure: not tracked
}

void FaultDisk::remember_entry_change(const std::string& path, std::optional<Bytes> durable_before) {
    pending_entries_.try_emplace(path, std::move(durable_before));
}

Status FaultDisk::snapshot_before_data_change(const std::string& path) {
    if (last_synced_content_.contains(path))
        return {};
    auto current = inner_->read_file(path);
    if (current.ok()) {
        last_synced_content_.emplace(path, std::move(current).value());
        return {};
    }
    if (current.error().code() != Errc::not_found)
        return current.error();
    last_synced_content_.emplace(path, Bytes{});  // a new file: nothing of it is durable yet
    remember_entry_change(path, std::nullopt);
    return {};
}

Status FaultDisk::write_file(std::string_view path_view, ByteSpan data, bool sync) {
    std::lock_guard lock(mutation_mutex_);
    TIERCEL_TRY(before_op(DiskOp::write_file, path_view));
    std::string path(path_view);
    if (!sync)
        TIERCEL_TRY(snapshot_before_data_change(path));
    TIERCEL_TRY(inner_->write_file(path, data, sync));
    if (sync) {
        last_synced_content_.erase(path);
        pending_entries_.erase(path);
    }
    return {};
}

Status FaultDisk::write_at(std::string_view path_view, uint64_t offset, ByteSpan data) {
    std::lock_guard lock(mutation_mutex_);
    TIERCEL_TRY(before_op(DiskOp::write_at, path_view));
    std::string path(path_view);
    TIERCEL_TRY(snapshot_before_data_change(path));
    return inner_->write_at(path, offset, data);
}

Result<uint64_t> FaultDisk::append(std::string_view path_view, ByteSpan data) {
    std::lock_guard lock(mutation_mutex_);
    TIERCEL_TRY(before_op(DiskOp::append, path_view));
    std::string path(path_view);
    TIERCEL_TRY(snapshot_before_data_change(path));
    return inner_->append(path, data);
}

Status FaultDisk::truncate(std::string_view path_view, uint64_t size) {
    std::lock_guard lock(mutation_mutex_);
    TIERCEL_TRY(before_op(DiskOp::truncate, path_view));
    std::string path(path_view);
    TIERCEL_ASSIGN(bool present, inner_->exists(path));
    if (present)  // truncate never creates a file, so a missing one needs no snapshot
        TIERCEL_TRY(snapshot_before_data_change(path));
    return inner_->truncate(path, size);
}

Status FaultDisk::sync_file(std::string_view path_view) {
    std::lock_guard lock(mutation_mutex_);
    TIERCEL_TRY(before_op(DiskOp::sync_file, path_view));
    std::string path(path_view);
    TIERCEL_TRY(inner_->sync_file(path));
    last_synced_content_.erase(path);
    return {};
}

Status FaultDisk::sync_dir(std::string_view dir) {
    std::lock_guard lock(mutation_mutex_);
    TIERCEL_TRY(before_op(DiskOp::sync_dir, dir));
    TIERCEL_TRY(inner_->sync_dir(dir));
    std::erase_if(pending_entries_, [dir](const auto& entry) { return parent_dir(entry.first) == dir; });
    return {};
}

Status FaultDisk::sync_all() {
    std::lock_guard lock(mutation_mutex_);
    TIERCEL_TRY(before_op(DiskOp::sync_all, ""));
    TIERCEL_TRY(inner_->sync_all());
    last_synced_content_.clear();
    pending_entries_.clear();
    return {};
}

Status FaultDisk::rename(std::string_view from_view, std::string_view to_view) {
    std::lock_guard lock(mutation_mutex_);
    TIERCEL_TRY(before_op(DiskOp::rename, from_view, to_view));
    std::string from(from_view);
    std::string to(to_view);
    auto from_durable = durable_content(from);
    auto to_durable = durable_content(to);
    TIERCEL_TRY(inner_->rename(from, to));
    if (from_durable.ok() && to_durable.ok()) {  // directories are not tracked
        remember_entry_change(from, std::move(from_durable).value());
        remember_entry_change(to, std::move(to_durable).value());
    }
    // The inode moved: its last-synced content travels with it, and whatever was at `to` is gone.
    last_synced_content_.erase(to);
    if (auto node = last_synced_content_.extract(from); !node.empty()) {
        node.key() = to;
        last_synced_content_.insert(std::move(node));
    }
    return {};
}

Status FaultDisk::remove(std::string_view path_view) {
    std::lock_guard lock(mutation_mutex_);
    TIERCEL_TRY(before_op(DiskOp::remove, path_view));
    std::string path(path_view);
    auto durable = durable_content(path);
    TIERCEL_TRY(inner_->remove(path));
    if (durable.ok())
        remember_entry_change(path, std::move(durable).value());
    last_synced_content_.erase(path);
    return {};
}

Status FaultDisk::make_dirs(std::string_view dir) {
    std::lock_guard lock(mutation_mutex_);
    TIERCEL_TRY(before_op(DiskOp::make_dirs, dir));
    return inner_->make_dirs(dir);
}

Status FaultDisk::simulate_crash() {
    std::lock_guard lock(mutation_mutex_);
    Status first_failure;
    auto keep_first = [&first_failure](Status status) {
        if (!status.ok() && first_failure.ok())
            first_failure = std::move(status);
    };
    for (auto& [path, durable] : pending_entries_) {
        if (!durable) {
            keep_first(inner_->remove(path));
            continue;
        }
        keep_first(inner_->make_dirs(parent_dir(path)));
        keep_first(inner_->write_file(path, *durable, true));
    }
    for (auto& [path, content] : last_synced_content_) {
        if (!pending_entries_.contains(path))
            keep_first(inner_->write_file(path, content, true));
    }
    pending_entries_.clear();
    last_synced_content_.clear();
    std::lock_guard fault_lock(fault_mutex_);
    crashed_ = false;
    mutating_ops_before_crash_.reset();
    return first_failure;
}

Status FaultDisk::flip_bit(std::string_view path, uint64_t byte_offset, unsigned bit) {
    std::lock_guard lock(mutation_mutex_);
    std::byte target[1];
    TIERCEL_ASSIGN(size_t got, inner_->read_at(path, byte_offset, target));
    if (got != 1 || bit > 7)
        return disk_error(Errc::invalid_input, name(), "flip_bit", path,
                          "offset " + std::to_string(byte_offset) + " bit " + std::to_string(bit) + " is outside the file");
    target[0] ^= std::byte{static_cast<unsigned char>(1u << bit)};
    TIERCEL_TRY(inner_->write_at(path, byte_offset, target));
    return inner_->sync_file(path);
}

Result<size_t> FaultDisk::read_at(std::string_view path, uint64_t offset, MutableByteSpan out) {
    TIERCEL_TRY(before_op(DiskOp::read_at, path));
    return inner_->read_at(path, offset, out);
}

Result<Bytes> FaultDisk::read_file(std::string_view path) {
    TIERCEL_TRY(before_op(DiskOp::read_file, path));
    return inner_->read_file(path);
}

Result<uint64_t> FaultDisk::file_size(std::string_view path) {
    TIERCEL_TRY(before_op(DiskOp::file_size, path));
    return inner_->file_size(path);
}

Result<std::vector<std::string>> FaultDisk::list(std::string_view dir) {
    TIERCEL_TRY(before_op(DiskOp::list, dir));
    return inner_->list(dir);
}

Result<bool> FaultDisk::exists(std::string_view path) {
    TIERCEL_TRY(before_op(DiskOp::exists, path));
    return inner_->exists(path);
}

Result<DiskSpace> FaultDisk::space() {
    TIERCEL_TRY(before_op(DiskOp::space, ""));
    return inner_->space();
}

}  // namespace tiercel::io
