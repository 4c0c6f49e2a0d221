// The daemon's policy: initial scan, change tracking into the index, periodic passes that premigrate, stub under
// water-mark pressure and prune old versions, each decision explained.
#include "tiercel/hsm/policy_runner.hpp"

#include <sys/stat.h>
#include <sys/xattr.h>

#include <filesystem>

#include "tiercel/core/log.hpp"
#include "hsm_log.hpp"
#include "tiercel/core/units.hpp"
#include "tiercel/hsm/file_state.hpp"
#include "tiercel/hsm/interceptor.hpp"
#include "tiercel/hsm/report.hpp"
#include "tiercel/hsm/retention.hpp"

namespace tiercel::hsm {
namespace {

constexpr size_t kept_decisions = 100;
// Changes are gathered this long before they are applied: a file being written raises many events.
constexpr auto settle = std::chrono::milliseconds(300);

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::optional<FileState> xattr_state(const std::string& path) {
    char buffer[256];
    ssize_t n = ::lgetxattr(path.c_str(), state_xattr, buffer, sizeof buffer - 1);
    if (n < 0)
        return std::nullopt;
    return parse_state(std::string(buffer, static_cast<size_t>(n)));
}

IndexEntry entry_of(const struct stat& st, std::string state) {
    return {{static_cast<uint64_t>(st.st_size), st.st_atim.tv_sec, st.st_mtim.tv_sec}, st.st_ctim.tv_sec,
            std::move(state)};
}

nlohmann::json pass_json(const PassStats& s) {
    return {{"at_ns", s.at_ns},
            {"seconds", s.seconds},
            {"evaluated", s.evaluated},
            {"premigrated", s.premigrated},
            {"premigrated_bytes", s.premigrated_bytes},
            {"premigrate_failed", s.premigrate_failed},
            {"stubbed", s.stubbed},
            {"stubbed_bytes", s.stubbed_bytes},
            {"stub_failed", s.stub_failed},
            {"versions_pruned", s.versions_pruned},
            {"pruned_bytes", s.pruned_bytes}};
}

}  // namespace

PolicyRunner::PolicyRunner(const HsmConfig& config, Catalog catalog, Targets& targets, MarkFn mark,
                           std::mutex& archive_mutex, bool stub_under_pressure)
    : config_(config), catalog_(std::move(catalog)), targets_(targets), mark_(std::move(mark)),
      stub_under_pressure_(stub_under_pressure), archive_mutex_(archive_mutex) {}

PolicyRunner::~PolicyRunner() {
    stop();
    tracker_.reset();  // its thread calls back into mutex_ and wake_, which are destroyed before it otherwise
}

// The notification group is made here (quick: no scanning), so every thread sees tracker_ set before it runs; the
// trees are walked on the worker.
void PolicyRunner::start() {
    auto tracker = ChangeTracker::start(config_.watch, [this] {
        {
            std::lock_guard lock(mutex_);
            changes_ = true;
        }
        wake_.notify_all();
    });
    if (tracker) {
        tracker_ = std::move(*tracker);
        mode_ = "incremental";
        log::notice(kLogComponent, "policy: tracking changes with a fanotify notification group (FAN_MARK_FILESYSTEM)");
    } else {
        mode_ = "full-scan";
        fallback_reason_ = tracker.error().describe();
        log::warning(kLogComponent, "policy: no change tracking (" + fallback_reason_ +
                                    "): every pass rescans the watched trees");
    }
    worker_ = std::thread([this] { run(); });
}

void PolicyRunner::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable())
        worker_.join();
}

void PolicyRunner::run() {
    {
        std::lock_guard work(work_mutex_);
        full_scan();
    }
    auto next = std::chrono::system_clock::now();
    while (true) {
        {
            std::unique_lock lock(mutex_);
            next_pass_ = next;
            wake_.wait_until(lock, next, [this] { return stopping_ || changes_; });
            if (stopping_)
                return;
            if (changes_) {
                lock.unlock();
                std::this_thread::sleep_for(settle);
            }
        }
        std::lock_guard work(work_mutex_);
        apply_changes();
        if (std::chrono::system_clock::now() >= next) {
            if (!tracking())
                full_scan();
            pass();
            next = std::chrono::system_clock::now() + config_.scan_interval;
        }
    }
}

void PolicyRunner::full_scan() {
    auto start = std::chrono::steady_clock::now();
    for (const auto& root : config_.watch) {
        index_.erase_below(root);
        index_tree(root);
    }
    double took = seconds_since(start);
    std::lock_guard lock(mutex_);
    ++full_scans_;
    last_full_scan_seconds_ = took;
    index_size_ = index_.size();
    log::notice(kLogComponent, "policy: full scan of " + std::to_string(config_.watch.size()) + " watched tree(s): " +
                               std::to_string(index_.size()) + " files in " + std::to_string(took) + " s");
}

void PolicyRunner::index_tree(const std::string& root) {
    std::error_code ec;
    struct stat st {};
    if (::lstat(root.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        refresh(root);
        return;
    }
    for (auto it = std::filesystem::recursive_directory_iterator(
             root, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (stopping())
            return;  // a large tree must not hold up the daemon's shutdown
        if (it->is_regular_file(ec) && !it->is_symlink(ec))
            refresh(it->path().string());
    }
    if (ec)
        log::warning(kLogComponent, "policy: scanning " + root + ": " + ec.message());
}

void PolicyRunner::apply_changes() {
    if (!tracker_)
        return;
    {
        std::lock_guard lock(mutex_);
        changes_ = false;  // before take(): a change queued after it wakes the worker again
    }
    bool overflowed = false;
    auto changes = tracker_->take(overflowed);
    if (overflowed) {
        log::warning(kLogComponent, "policy: the fanotify queue overflowed (events were lost): full rescan");
        {
            std::lock_guard lock(mutex_);
            ++overflows_;
        }
        full_scan();
        return;
    }
    for (const auto& change : changes) {
        struct stat st {};
        if (::lstat(change.path.c_str(), &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
            index_.erase(change.path);
        else if (S_ISDIR(st.st_mode) && change.directory)
            index_tree(change.path);
        else if (S_ISREG(st.st_mode))
            refresh(change.path);
    }
    std::lock_guard lock(mutex_);
    changes_applied_ += changes.size();
    index_size_ = index_.size();
}

// Re-reads one file into the index; a premigrated file whose content moved on is marked dirty.
void PolicyRunner::refresh(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        index_.erase(path);
        return;
    }
    auto state = effective_state(catalog_, path);
    std::string now = state ? *state : "resident";
    auto xattr = xattr_state(path);
    if (now == "dirty" && xattr && xattr->state == "premigrated")
        mark_dirty(path);
    if (xattr && xattr->file_id > 0) {
        // A renamed archived file: its catalog row follows it (the old path is gone).
        auto row = catalog_.file_by_id(xattr->file_id);
        struct stat old {};
        if (row && *row && (*row)->path != path && ::lstat((*row)->path.c_str(), &old) != 0)
            (void)catalog_.set_path(xattr->file_id, path);
    }
    index_.put(path, entry_of(st, now));
}

void PolicyRunner::mark_dirty(const std::string& path) {
    std::lock_guard archive(archive_mutex_);
    auto xattr = xattr_state(path);  // again, under the lock: an archive may just have made a new version
    auto state = effective_state(catalog_, path);
    if (!xattr || xattr->state != "premigrated" || !state || *state != "dirty")
        return;
    FileState dirty{"dirty", xattr->file_id, xattr->version};
    auto text = format_state(dirty);
    if (::lsetxattr(path.c_str(), state_xattr, text.data(), text.size(), 0) != 0) {
        log::warning(kLogComponent, "policy: cannot mark " + path + " dirty: " + std::string(strerror(errno)));
        return;
    }
    (void)catalog_.set_state(xattr->file_id, "dirty");
    (void)catalog_.add_event("dirty", path, "changed after version " + std::to_string(xattr->version) +
                                                " was archived (seen by change tracking)");
    log::info(kLogComponent, "policy: " + path + " changed after it was archived: dirty");
    std::lock_guard lock(mutex_);
    ++marked_dirty_;
}

// Whether the index is kept current; the first time the relay is found gone the runner switches to full scans.
bool PolicyRunner::tracking() {
    if (!tracker_)
        return false;
    if (tracker_->alive())
        return true;
    std::lock_guard lock(mutex_);
    if (mode_ == "incremental") {
        mode_ = "full-scan";
        fallback_reason_ = "the change relay (tiercel hsm-relay) exited";
        log::warning(kLogComponent,
                     "policy: " + fallback_reason_ + ": every pass rescans the watched trees from now on");
    }
    return false;
}

bool PolicyRunner::stopping() const {
    std::lock_guard lock(mutex_);
    return stopping_;
}

std::map<std::string, bool> PolicyRunner::pinned_paths() {
    std::map<std::string, bool> pinned;
    if (auto files = catalog_.files())
        for (const auto& file : *files)
            if (file.pinned)
                pinned[file.path] = true;
    return pinned;
}

void PolicyRunner::pass() {
    auto start = std::chrono::steady_clock::now();
    PassStats stats;
    stats.at_ns = now_ns();
    stats.evaluated = index_.size();
    premigrate_phase(stats);
    if (stub_under_pressure_)
        stub_phase(stats);
    std::unique_lock archive(archive_mutex_);
    auto pruned_all = apply_retention_all(catalog_, targets_, config_);
    archive.unlock();
    if (auto& pruned = pruned_all) {
        stats.versions_pruned = pruned->versions_pruned;
        stats.pruned_bytes = pruned->payload_bytes;
    } else {
        log::warning(kLogComponent, "policy: retention: " + pruned.error().describe());
    }
    stats.seconds = seconds_since(start);
    log::notice(kLogComponent, "policy pass: " + std::to_string(stats.evaluated) + " files evaluated, " +
                               std::to_string(stats.premigrated) + " premigrated (" +
                               format_size(stats.premigrated_bytes) + "), " + std::to_string(stats.stubbed) +
                               " stubbed (" + format_size(stats.stubbed_bytes) + "), " +
                               std::to_string(stats.versions_pruned) + " old versions pruned, " +
                               std::to_string(stats.premigrate_failed + stats.stub_failed) + " failed, " +
                               std::to_string(stats.seconds) + " s; next in " +
                               format_duration(config_.scan_interval));
    std::lock_guard lock(mutex_);
    last_pass_ = stats;
    ++passes_;
    index_size_ = index_.size();
}

void PolicyRunner::premigrate_phase(PassStats& stats) {
    auto pinned = pinned_paths();
    for (const auto& root : config_.watch) {
        for (const auto& planned : index_.evaluate(config_, pinned, now_seconds(), usage_of(config_, root))) {
            if (planned.action != "premigrate")
                continue;
            if (stopping())
                return;
            refresh(planned.path);  // the index may lag (reads change atime without an event)
            const IndexEntry* entry = index_.find(planned.path);
            if (!entry)
                continue;
            Decision d = decide(config_, planned.path, entry->facts, entry->state, pinned[planned.path], now_seconds());
            if (d.action != "premigrate") {
                explain(d, "skipped: " + d.reason);
                continue;
            }
            std::vector<Target*> targets;
            for (const auto& name : d.copies)
                if (Target* target = targets_.find(name))
                    targets.push_back(target);
            // The lock covers the premigration and its retention only: refresh() below may mark the file dirty
            // (it may have changed again already), which takes the lock itself.
            auto done = [&] {
                std::lock_guard archive(archive_mutex_);
                return premigrate(catalog_, targets, d.path, config_.compression_level);
            }();
            if (!done) {
                ++stats.premigrate_failed;
                (void)catalog_.add_event("premigrate-failed", d.path, done.error().describe());
                explain(d, "failed: " + done.error().describe());
                continue;
            }
            ++stats.premigrated;
            stats.premigrated_bytes += done->size;
            explain(d, "premigrated: version " + std::to_string(done->version));
            {
                std::lock_guard archive(archive_mutex_);
                if (auto pruned = apply_retention(catalog_, targets_, config_, done->file_id)) {
                    stats.versions_pruned += pruned->versions_pruned;
                    stats.pruned_bytes += pruned->payload_bytes;
                }
            }
            refresh(d.path);
        }
    }
}

void PolicyRunner::stub_phase(PassStats& stats) {
    auto pinned = pinned_paths();
    for (const auto& root : config_.watch) {
        WatchUsage usage = usage_of(config_, root);
        if (!usage.above_high_water)
            continue;
        for (const auto& planned : index_.evaluate(config_, pinned, now_seconds(), usage)) {
            if (planned.action != "stub")
                continue;
            if (stopping())
                return;
            refresh(planned.path);
            const IndexEntry* entry = index_.find(planned.path);
            if (!entry || entry->state != "premigrated" || pinned[planned.path]) {
                explain(planned, "skipped: it changed since (now " + (entry ? entry->state : "gone") + ")");
                continue;
            }
            Status done;
            {
                std::lock_guard archive(archive_mutex_);
                BypassScope bypass;  // the hole punch raises a pre-content event: let our own thread through
                done = stub(catalog_, planned.path, mark_);
            }
            if (!done) {
                ++stats.stub_failed;
                (void)catalog_.add_event("stub-failed", planned.path, done.error().describe());
                explain(planned, "failed: " + done.error().describe());
                continue;
            }
            ++stats.stubbed;
            stats.stubbed_bytes += planned.size;
            explain(planned, "stubbed");
            refresh(planned.path);
        }
    }
}

Status PolicyRunner::space_pass() {
    std::lock_guard work(work_mutex_);
    PassStats stats;
    stats.at_ns = now_ns();
    auto start = std::chrono::steady_clock::now();
    apply_changes();
    stub_phase(stats);
    stats.seconds = seconds_since(start);
    log::notice(kLogComponent, "space pass: " + std::to_string(stats.stubbed) + " stubbed (" +
                               format_size(stats.stubbed_bytes) + "), " + std::to_string(stats.stub_failed) +
                               " failed");
    if (stats.stub_failed > 0)
        return make_error(Errc::io_error, std::to_string(stats.stub_failed) + " file(s) could not be stubbed");
    return {};
}

void PolicyRunner::explain(const Decision& d, const std::string& outcome) {
    log::info(kLogComponent, "policy: " + d.path + ": " + d.action + " (" + d.reason + "): " + outcome);
    std::lock_guard lock(mutex_);
    decisions_.push_front({{"at_ns", now_ns()},
                           {"path", d.path},
                           {"action", d.action},
                           {"rule", d.rule},
                           {"reason", d.reason},
                           {"size", d.size},
                           {"idle_seconds", d.idle_seconds},
                           {"outcome", outcome}});
    if (decisions_.size() > kept_decisions)
        decisions_.pop_back();
}

nlohmann::json PolicyRunner::status() const {
    std::lock_guard lock(mutex_);
    auto next_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(next_pass_.time_since_epoch()).count();
    nlohmann::json out = {{"mode", mode_},
                          {"scan_interval_seconds", std::chrono::duration<double>(config_.scan_interval).count()},
                          {"indexed_files", index_size_},
                          {"full_scans", full_scans_},
                          {"last_full_scan_seconds", last_full_scan_seconds_},
                          {"changes_applied", changes_applied_},
                          {"events", tracker_ ? tracker_->events() : 0},
                          {"overflows", overflows_},
                          {"marked_dirty", marked_dirty_},
                          {"passes", passes_},
                          {"last_pass", passes_ ? pass_json(last_pass_) : nlohmann::json(nullptr)},
                          {"next_pass_at_ns", next_ns},
                          {"recent_decisions", nlohmann::json(decisions_)}};
    if (!fallback_reason_.empty())
        out["fallback_reason"] = fallback_reason_;
    return out;
}

}  // namespace tiercel::hsm
