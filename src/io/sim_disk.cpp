#include "tiercel/io/sim_disk.hpp"

#include <algorithm>
#include <thread>

#include "tiercel/io/path.hpp"

namespace tiercel::io {

namespace {

void write_into(Bytes& content, uint64_t offset, ByteSpan data) {
    if (content.size() < offset + data.size())
        content.resize(offset + data.size());
    std::copy(data.begin(), data.end(), content.begin() + static_cast<std::ptrdiff_t>(offset));
}

}  // namespace

std::shared_ptr<SimDisk> SimDisk::create(std::string_view name, SimDiskOptions options) {
    std::string full_name = std::string(name) + " (sim seed " + std::to_string(options.seed) + ")";
    return std::shared_ptr<SimDisk>(new SimDisk(std::move(full_name), options));
}

SimDisk::SimDisk(std::string name, SimDiskOptions options)
    : name_(std::move(name)), options_(options), rng_(options.seed) {}

uint64_t SimDisk::next_random() { return rng_(); }

// Not std::uniform_real_distribution: its output differs between standard libraries, which would break replay.
double SimDisk::next_unit() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

Error SimDisk::error(Errc code, std::string_view op, std::string_view path, std::string_view what) const {
    return disk_error(code, name_, op, path, what);
}

Status SimDisk::begin(Kind kind, std::string_view op, std::string_view path, bool path_is_dir) {
    TIERCEL_TRY(validate_path(name_, op, path, path_is_dir ? PathKind::dir : PathKind::file));
    std::chrono::microseconds latency{0};
    bool transient_fault = false;
    {
        std::lock_guard lock(mutex_);
        if (options_.max_latency.count() > 0)
            latency = std::chrono::microseconds(
                static_cast<int64_t>(next_random() % (static_cast<uint64_t>(options_.max_latency.count()) + 1)));
        double probability = kind == Kind::read    ? options_.read_error_probability
                             : kind == Kind::write ? options_.write_error_probability
                                                   : 0.0;
        if (probability > 0.0)
            transient_fault = next_unit() < probability;
    }
    if (latency.count() > 0)
        std::this_thread::sleep_for(latency);
    if (transient_fault)
        return error(Errc::io_error, op, path, "transient I/O error (simulated)");
    return {};
}

Status SimDisk::require_parent(std::string_view op, const std::string& path) const {
    std::string parent(parent_dir(path));
    if (!parent.empty() && !dirs_.contains(parent))
        return error(Errc::not_found, op, path, "parent directory does not exist");
    if (dirs_.contains(path))
        return error(Errc::io_error, op, path, "is a directory");
    return {};
}

Result<SimDisk::InodePtr> SimDisk::find_file(std::string_view op, const std::string& path) const {
    auto it = current_files_.find(path);
    if (it != current_files_.end())
        return it->second;
    if (dirs_.contains(path))
        return error(Errc::io_error, op, path, "is a directory");
    return error(Errc::not_found, op, path, "no such file");
}

uint64_t SimDisk::used_bytes_locked() const {
    std::set<const Inode*> counted;
    uint64_t used = 0;
    for (const auto* files : {&current_files_, &durable_files_})
        for (const auto& [path, inode] : *files)
            if (counted.insert(inode.get()).second)
                used += inode->current.size();
    return used;
}

uint64_t SimDisk::used_bytes() const {
    std::lock_guard lock(mutex_);
    return used_bytes_locked();
}

Status SimDisk::check_capacity(std::string_view op, const std::string& path, uint64_t old_size,
                               uint64_t new_size) const {
    if (new_size <= old_size)
        return {};
    uint64_t used = used_bytes_locked();
    if (used + (new_size - old_size) > options_.capacity_bytes)
        return error(Errc::no_space, op, path,
                     "needs " + std::to_string(new_size - old_size) + " bytes, " +
                         std::to_string(options_.capacity_bytes - std::min(used, options_.capacity_bytes)) + " free");
    return {};
}

// Applies a data mutation to the current bytes of `path` (creating it if needed) and logs it as unsynced.
Status SimDisk::apply(std::string_view op, const std::string& path, Mutation mutation) {
    auto it = current_files_.find(path);
    bool is_new = it == current_files_.end();
    if (is_new)
        TIERCEL_TRY(require_parent(op, path));
    uint64_t old_size = is_new ? 0 : it->second->current.size();
    uint64_t new_size = mutation.is_truncate ? mutation.offset
                                             : std::max(old_size, mutation.offset + mutation.data.size());
    TIERCEL_TRY(check_capacity(op, path, old_size, new_size));
    InodePtr inode = is_new ? std::make_shared<Inode>() : it->second;
    if (mutation.is_truncate)
        inode->current.resize(mutation.offset);
    else
        write_into(inode->current, mutation.offset, mutation.data);
    inode->unsynced.push_back(std::move(mutation));
    if (is_new)
        current_files_.emplace(path, std::move(inode));
    return {};
}

Status SimDisk::write_file(std::string_view path_view, ByteSpan data, bool sync) {
    TIERCEL_TRY(begin(Kind::write, "write_file", path_view));
    std::string path(path_view);
    std::lock_guard lock(mutex_);
    auto existing = current_files_.find(path);
    if (!sync) {
        if (existing != current_files_.end())
            TIERCEL_TRY(check_capacity("write_file", path, existing->second->current.size(), data.size()));
        if (existing != current_files_.end())
            TIERCEL_TRY(apply("write_file", path, Mutation{true, 0, {}}));
        return apply("write_file", path, Mutation{false, 0, Bytes(data.begin(), data.end())});
    }
    TIERCEL_TRY(require_parent("write_file", path));
    uint64_t old_size = existing == current_files_.end() ? 0 : existing->second->current.size();
    TIERCEL_TRY(check_capacity("write_file", path, old_size, data.size()));
    auto inode = std::make_shared<Inode>(Inode{Bytes(data.begin(), data.end()), Bytes(data.begin(), data.end()), {}});
    current_files_[path] = inode;
    durable_files_[path] = std::move(inode);
    return {};
}

Status SimDisk::write_at(std::string_view path_view, uint64_t offset, ByteSpan data) {
    TIERCEL_TRY(begin(Kind::write, "write_at", path_view));
    std::lock_guard lock(mutex_);
    return apply("write_at", std::string(path_view), Mutation{false, offset, Bytes(data.begin(), data.end())});
}

Result<uint64_t> SimDisk::append(std::string_view path_view, ByteSpan data) {
    TIERCEL_TRY(begin(Kind::write, "append", path_view));
    std::string path(path_view);
    std::lock_guard lock(mutex_);
    auto it = current_files_.find(path);
    uint64_t offset = it == current_files_.end() ? 0 : it->second->current.size();
    TIERCEL_TRY(apply("append", path, Mutation{false, offset, Bytes(data.begin(), data.end())}));
    return offset;
}

Status SimDisk::truncate(std::string_view path_view, uint64_t size) {
    TIERCEL_TRY(begin(Kind::write, "truncate", path_view));
    std::string path(path_view);
    std::lock_guard lock(mutex_);
    TIERCEL_TRY(find_file("truncate", path));  // truncate never creates
    return apply("truncate", path, Mutation{true, size, {}});
}

Result<size_t> SimDisk::read_at(std::string_view path_view, uint64_t offset, MutableByteSpan out) {
    TIERCEL_TRY(begin(Kind::read, "read_at", path_view));
    std::lock_guard lock(mutex_);
    TIERCEL_ASSIGN(InodePtr inode, find_file("read_at", std::string(path_view)));
    const Bytes& content = inode->current;
    if (offset >= content.size())
        return size_t{0};
    size_t count = std::min<uint64_t>(out.size(), content.size() - offset);
    std::copy_n(content.begin() + static_cast<std::ptrdiff_t>(offset), count, out.begin());
    return count;
}

Result<Bytes> SimDisk::read_file(std::string_view path_view) {
    TIERCEL_TRY(begin(Kind::read, "read_file", path_view));
    std::lock_guard lock(mutex_);
    TIERCEL_ASSIGN(InodePtr inode, find_file("read_file", std::string(path_view)));
    return inode->current;
}

Result<uint64_t> SimDisk::file_size(std::string_view path_view) {
    TIERCEL_TRY(begin(Kind::other, "file_size", path_view));
    std::lock_guard lock(mutex_);
    TIERCEL_ASSIGN(InodePtr inode, find_file("file_size", std::string(path_view)));
    return static_cast<uint64_t>(inode->current.size());
}

Status SimDisk::sync_file(std::string_view path_view) {
    TIERCEL_TRY(begin(Kind::other, "sync_file", path_view));
    std::lock_guard lock(mutex_);
    TIERCEL_ASSIGN(InodePtr inode, find_file("sync_file", std::string(path_view)));
    inode->durable = inode->current;
    inode->unsynced.clear();
    return {};
}

Status SimDisk::sync_dir(std::string_view dir) {
    TIERCEL_TRY(begin(Kind::other, "sync_dir", dir, true));
    std::lock_guard lock(mutex_);
    if (!dir.empty() && !dirs_.contains(std::string(dir)))
        return error(Errc::not_found, "sync_dir", dir, "no such directory");
    std::erase_if(durable_files_, [&](const auto& entry) {
        return parent_dir(entry.first) == dir && !current_files_.contains(entry.first);
    });
    for (const auto& [path, inode] : current_files_)
        if (parent_dir(path) == dir)
            durable_files_[path] = inode;
    return {};
}

Status SimDisk::sync_all() {
    TIERCEL_TRY(begin(Kind::other, "sync_all", "", true));
    std::lock_guard lock(mutex_);
    for (const auto& [path, inode] : current_files_) {
        inode->durable = inode->current;
        inode->unsynced.clear();
    }
    durable_files_ = current_files_;
    return {};
}

Status SimDisk::rename(std::string_view from_view, std::string_view to_view) {
    TIERCEL_TRY(begin(Kind::other, "rename", from_view));
    TIERCEL_TRY(validate_path(name_, "rename", to_view, PathKind::file));
    std::string from(from_view);
    std::string to(to_view);
    std::lock_guard lock(mutex_);
    if (dirs_.contains(from))
        return error(Errc::invalid_input, "rename", from, "SimDisk does not model directory renames");
    TIERCEL_ASSIGN(InodePtr inode, find_file("rename", from));
    TIERCEL_TRY(require_parent("rename", to));
    current_files_.erase(from);
    current_files_[to] = std::move(inode);
    return {};
}

Status SimDisk::remove(std::string_view path_view) {
    TIERCEL_TRY(begin(Kind::other, "remove", path_view));
    std::string path(path_view);
    std::lock_guard lock(mutex_);
    if (current_files_.erase(path) > 0 || !dirs_.contains(path))
        return {};
    auto below = [&path](const std::string& other) { return other != path && is_same_or_under(other, path); };
    bool has_children = std::any_of(dirs_.begin(), dirs_.end(), below) ||
                        std::any_of(current_files_.begin(), current_files_.end(),
                                    [&below](const auto& entry) { return below(entry.first); });
    if (has_children)
        return error(Errc::io_error, "remove", path, "directory not empty");
    dirs_.erase(path);
    return {};
}

Status SimDisk::make_dirs(std::string_view dir_view) {
    TIERCEL_TRY(begin(Kind::other, "make_dirs", dir_view, true));
    std::string dir(dir_view);
    std::lock_guard lock(mutex_);
    for (size_t end = 0; end != std::string::npos && !dir.empty();) {
        end = dir.find('/', end + 1);
        std::string prefix = dir.substr(0, end);
        if (current_files_.contains(prefix))
            return error(Errc::already_exists, "make_dirs", prefix, "exists and is not a directory");
        dirs_.insert(prefix);
    }
    return {};
}

Result<std::vector<std::string>> SimDisk::list(std::string_view dir_view) {
    TIERCEL_TRY(begin(Kind::other, "list", dir_view, true));
    std::string dir(dir_view);
    std::lock_guard lock(mutex_);
    if (!dir.empty() && !dirs_.contains(dir))
        return error(current_files_.contains(dir) ? Errc::io_error : Errc::not_found, "list", dir,
                     "no such directory");
    std::set<std::string> names;
    for (const auto& [path, inode] : current_files_)
        if (parent_dir(path) == dir)
            names.emplace(base_name(path));
    for (const auto& sub : dirs_)
        if (parent_dir(sub) == dir)
            names.emplace(base_name(sub));
    return std::vector<std::string>(names.begin(), names.end());
}

Result<bool> SimDisk::exists(std::string_view path_view) {
    TIERCEL_TRY(begin(Kind::other, "exists", path_view));
    std::string path(path_view);
    std::lock_guard lock(mutex_);
    return current_files_.contains(path) || dirs_.contains(path);
}

Result<DiskSpace> SimDisk::space() {
    TIERCEL_TRY(begin(Kind::other, "space", "", true));
    std::lock_guard lock(mutex_);
    uint64_t used = std::min(used_bytes_locked(), options_.capacity_bytes);
    return DiskSpace{options_.capacity_bytes, options_.capacity_bytes - used};
}

void SimDisk::tear_write(Bytes& content, const Mutation& write) {
    // The file's size grows (metadata made it) but only some sectors of the payload did.
    if (content.size() < write.offset + write.data.size())
        content.resize(write.offset + write.data.size());
    uint64_t sector = std::max<size_t>(options_.sector_size, 1);
    for (uint64_t start = write.offset; start < write.offset + write.data.size();) {
        uint64_t end = std::min<uint64_t>((start / sector + 1) * sector, write.offset + write.data.size());
        if (next_random() % 2 == 0)
            std::copy(write.data.begin() + static_cast<std::ptrdiff_t>(start - write.offset),
                      write.data.begin() + static_cast<std::ptrdiff_t>(end - write.offset),
                      content.begin() + static_cast<std::ptrdiff_t>(start));
        start = end;
    }
}

Bytes SimDisk::replay_unsynced(const Inode& inode, CrashReport& report) {
    Bytes content = inode.durable;
    for (const Mutation& mutation : inode.unsynced) {
        uint64_t outcome = next_random() % (mutation.is_truncate ? 2 : 3);
        if (outcome == 1) {
            ++report.mutations_dropped;
        } else if (outcome == 2) {
            ++report.writes_torn;
            tear_write(content, mutation);
        } else {
            ++report.mutations_kept;
            if (mutation.is_truncate)
                content.resize(mutation.offset);
            else
                write_into(content, mutation.offset, mutation.data);
        }
    }
    return content;
}

CrashReport SimDisk::crash() {
    std::lock_guard lock(mutex_);
    CrashReport report;
    for (const auto& [path, inode] : current_files_) {
        auto durable = durable_files_.find(path);
        if (durable == durable_files_.end() || durable->second != inode)
            ++report.files_lost;
    }
    // Iterating the sorted durable names keeps the PRNG draws in a replayable order.
    std::map<const Inode*, Bytes> rebuilt;
    std::map<std::string, InodePtr> survivors;
    for (const auto& [path, inode] : durable_files_) {
        auto it = rebuilt.find(inode.get());
        if (it == rebuilt.end())
            it = rebuilt.emplace(inode.get(), replay_unsynced(*inode, report)).first;
        survivors.emplace(path, std::make_shared<Inode>(Inode{it->second, it->second, {}}));
    }
    durable_files_ = survivors;
    current_files_ = std::move(survivors);
    return report;
}

std::vector<BitFlip> SimDisk::corrupt_random(size_t n) {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::string, InodePtr>> candidates;
    for (const auto& [path, inode] : current_files_)
        if (!inode->current.empty())
            candidates.emplace_back(path, inode);
    std::vector<BitFlip> flips;
    for (size_t i = 0; i < n && !candidates.empty(); ++i) {
        auto& [path, inode] = candidates[next_random() % candidates.size()];
        BitFlip flip{path, next_random() % inode->current.size(), static_cast<unsigned>(next_random() % 8)};
        auto mask = std::byte{static_cast<unsigned char>(1u << flip.bit)};
        inode->current[flip.byte_offset] ^= mask;
        if (flip.byte_offset < inode->durable.size())
            inode->durable[flip.byte_offset] ^= mask;  // the medium is damaged: a crash does not heal it
        flips.push_back(std::move(flip));
    }
    return flips;
}

}  // namespace tiercel::io
