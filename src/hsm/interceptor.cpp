// The fanotify interceptor: pre-content events in, range-first recall, ALLOW only over data that is in the file.
#include "tiercel/hsm/interceptor.hpp"

#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <condition_variable>
#include <set>
#include <thread>

#include <boost/asio/post.hpp>

#include "tiercel/core/log.hpp"
#include "tiercel/hsm/fanotify_abi.hpp"
#include "tiercel/hsm/file_state.hpp"
#include "tiercel/hsm/truncate_probe.hpp"

namespace tiercel::hsm {
namespace {

constexpr std::string_view component = "hsm";

std::mutex bypass_mutex;
std::set<pid_t> bypass_tids;

bool bypassed(pid_t tid) {
    std::lock_guard lock(bypass_mutex);
    return bypass_tids.count(tid) > 0;
}

pid_t current_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

std::string process_name(pid_t tid) {
    std::ifstream in("/proc/" + std::to_string(tid) + "/comm");
    std::string name;
    std::getline(in, name);
    return name;
}

Status pwrite_full(int fd, const std::vector<uint8_t>& bytes, uint64_t offset) {
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return Error::from_errno(errno, "writing recalled data");
        done += static_cast<size_t>(n);
    }
    return {};
}

// True when [offset, offset + length) holds no hole: the frame is in the file (recalled before, or never punched).
bool range_present(int fd, uint64_t offset, uint64_t length) {
    if (length == 0)
        return true;
    off_t hole = ::lseek(fd, static_cast<off_t>(offset), SEEK_HOLE);
    return hole >= 0 && static_cast<uint64_t>(hole) >= offset + length;
}

}  // namespace

BypassScope::BypassScope() : tid_(current_tid()) {
    std::lock_guard lock(bypass_mutex);
    bypass_tids.insert(tid_);
}

BypassScope::~BypassScope() {
    std::lock_guard lock(bypass_mutex);
    bypass_tids.erase(tid_);
}

struct Interceptor::PendingEvent {
    int group_fd = -1;
    int fd = -1;
    pid_t tid = 0;
    uint64_t offset = 0, count = 0;
    bool has_range = false;
    // recall_timeout counts from the last progress of this file's recall, not from the event: a reader of a big
    // stub queued behind a fill that is moving waits; one whose recall is stuck gets EIO. Guarded by mutex_.
    std::chrono::steady_clock::time_point deadline;
    std::weak_ptr<FileRecall> recall;
    uint64_t filled_seen = 0;
    std::atomic<bool> answered{false};
    ~PendingEvent() {
        if (fd >= 0)
            ::close(fd);
    }
};

struct Interceptor::FileRecall {
    std::mutex mutex;  // one frame fill at a time; held while checking and filling
    // Readers waiting for `mutex`. The background fill steps aside while there are any: std::mutex is not fair,
    // and a fill loop that re-locks at once would starve a reader past recall_timeout.
    std::atomic<int> waiting_readers{0};
    std::condition_variable readers_done;
    uint64_t dev = 0, ino = 0;
    int fd = -1;       // a dup of the first event's fd: read-write, generates no events
    bool resident = false;
    std::atomic<bool> background_started{false};  // written under `mutex`; handle() peeks without it
    // Set once the recall is set up (or found resident): later events skip the set-up, and with it `mutex`, which a
    // background fill holds while it writes a frame.
    std::atomic<bool> ready{false};
    FileState state;
    VersionRow version;
    std::string path;
    std::vector<CopyRow> copies;
    size_t copy_index = 0;
    std::unique_ptr<ByteSource> source;
    SeekTable table;
    std::vector<bool> present;
    // Bytes at or past `limit` are no longer the archived version's: a truncate to `limit` was allowed (the file's
    // new tail, if it grows again, is the writer's). Frames starting there are never filled. Guarded by `mutex`.
    uint64_t limit = UINT64_MAX;
    int64_t limit_ctime_ns = 0;  // the file's ctime when the truncate was allowed: a later one means it happened
    Snapshot times;  // as the stub was when the recall began
    std::atomic<uint64_t> filled{0};  // read by the timeout sweep without `mutex`
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    ~FileRecall() {
        if (fd >= 0)
            ::close(fd);
    }

    // Opens the next readable copy whose seek table matches the catalog's version.
    Status open_source(Targets& targets) {
        Error last(Errc::unavailable, "no copy is recorded");
        for (; copy_index < copies.size(); ++copy_index) {
            const CopyRow& copy = copies[copy_index];
            Target* target = targets.find(copy.target);
            if (!target) {
                last = make_error(Errc::not_found, "target " + copy.target + " is not configured");
                continue;
            }
            auto opened = target->open(copy.key);
            if (!opened) {
                last = opened.error();
                continue;
            }
            auto header = read_header(**opened);
            auto table_read = header ? read_seek_table(**opened) : Result<SeekTable>(header.error());
            if (!table_read) {
                last = table_read.error();
                continue;
            }
            if (header->blake2b != version.blake2b || header->size != version.size) {
                last = make_error(Errc::corruption, "target " + copy.target + ": " + copy.key + " is another version");
                continue;
            }
            table = std::move(*table_read);
            source = std::move(*opened);
            if (present.size() != table.frames.size()) {
                present.assign(table.frames.size(), false);
                for (size_t i = 0; i < table.frames.size(); ++i)
                    present[i] = range_present(fd, table.frames[i].raw_offset, table.frames[i].raw_size);
            }
            return {};
        }
        return last;
    }

    // Puts frame i into the file, trying the remaining copies when one fails. Caller holds `mutex`.
    Status fill(size_t i, Targets& targets) {
        if (present[i] || table.frames[i].raw_offset >= limit)
            return {};
        // Safety net for truncates the probe did not recognise: a frame past the current end of file was cut off
        // by its owner, and writing it would resurrect archived bytes.
        if (struct stat st{}; ::fstat(fd, &st) == 0 && table.frames[i].raw_offset >= static_cast<uint64_t>(st.st_size)) {
            limit = std::min<uint64_t>(limit, static_cast<uint64_t>(st.st_size));
            return {};
        }
        while (true) {
            auto raw = read_frame(*source, table.frames[i]);
            if (raw) {
                TIERCEL_TRY(pwrite_full(fd, *raw, table.frames[i].raw_offset));
                present[i] = true;
                filled += raw->size();
                return {};
            }
            log::warning(component, path + ": copy on " + copies[copy_index].target + " failed: " +
                                        raw.error().describe());
            ++copy_index;
            source.reset();
            TIERCEL_TRY(open_source(targets));
        }
    }

    bool complete() const {
        for (size_t i = 0; i < present.size(); ++i)
            if (!present[i] && table.frames[i].raw_offset < limit)
                return false;
        return true;
    }
};

Result<int> create_pre_content_group() {
    constexpr unsigned flags = FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_TID | FAN_UNLIMITED_QUEUE | FAN_UNLIMITED_MARKS;
    constexpr unsigned event_flags = O_RDWR | O_LARGEFILE | O_CLOEXEC;
    const bool forced = std::getenv("TIERCEL_HSM_FORCE_OPEN_PERM") != nullptr;
    if (!forced) {
        int group_fd = ::fanotify_init(flags | fan::class_pre_content, event_flags);
        if (group_fd >= 0)
            return group_fd;
        if (errno != EINVAL)
            return Error::from_errno(errno, "fanotify_init (needs CAP_SYS_ADMIN)");
    }
    // Kernels before 6.14 (or the test hook): a content-class group, whose FAN_OPEN_PERM marks recall at open.
    int group_fd = ::fanotify_init(flags | FAN_CLASS_CONTENT, event_flags);
    if (group_fd >= 0)
        return group_fd;
    return Error::from_errno(errno, "fanotify_init (FAN_CLASS_CONTENT; needs CAP_SYS_ADMIN)");
}

bool group_has_pre_content(int group_fd) {
    // /proc/self/fdinfo/N of a fanotify fd: "fanotify flags:<hex init flags> event-flags:<hex>".
    std::ifstream in("/proc/self/fdinfo/" + std::to_string(group_fd));
    std::string line;
    while (std::getline(in, line)) {
        auto at = line.find("fanotify flags:");
        if (at != std::string::npos)
            return (std::stoul(line.substr(at + 15), nullptr, 16) & fan::class_pre_content) != 0;
    }
    return false;
}

Interceptor::Interceptor(boost::asio::io_context& loop, SharedCatalog& catalog, Targets& targets,
                         InterceptorOptions options, int group_fd)
    : loop_(loop), catalog_(catalog), targets_(targets), options_(std::move(options)), group_fd_(group_fd),
      mark_mask_(group_has_pre_content(group_fd) ? fan::pre_access : FAN_OPEN_PERM),
      descriptor_(loop, ::dup(group_fd)), sweep_timer_(loop), event_pool_(options_.event_threads),
      fill_pool_(options_.fill_threads) {}

Interceptor::~Interceptor() {
    event_pool_.join();
    fill_pool_.join();
    {
        std::lock_guard lock(mutex_);
        recalls_.clear();
    }
    ::close(group_fd_);
}

Status Interceptor::mark_fd(int fd) {
    if (::fanotify_mark(group_fd_, FAN_MARK_ADD, mark_mask_, fd, nullptr) != 0)
        return Error::from_errno(errno, std::string("fanotify_mark (") + mark_name() +
                                            "; the filesystem must support it: ext4, XFS, btrfs)");
    std::lock_guard lock(mutex_);
    ++stats_.marks;
    return {};
}

Status Interceptor::mark_path(const std::string& path) {
    if (::fanotify_mark(group_fd_, FAN_MARK_ADD, mark_mask_, AT_FDCWD, path.c_str()) != 0)
        return Error::from_errno(errno, "fanotify_mark " + path);
    std::lock_guard lock(mutex_);
    ++stats_.marks;
    return {};
}

void Interceptor::start() {
    read_events();
    sweep();
}

void Interceptor::stop() {
    stopping_ = true;
    boost::system::error_code ignored;
    descriptor_.cancel(ignored);
    descriptor_.close(ignored);
    sweep_timer_.cancel();
    std::vector<std::shared_ptr<PendingEvent>> pending;
    {
        std::lock_guard lock(mutex_);
        for (auto& weak : pending_)
            if (auto event = weak.lock())
                pending.push_back(event);
    }
    for (auto& event : pending)
        answer(*event, fan::deny_errno(EIO));
}

void Interceptor::read_events() {
    descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
        if (ec || stopping_)
            return;
        alignas(fanotify_event_metadata) char buffer[16384];
        while (true) {
            ssize_t n = ::read(group_fd_, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            dispatch(buffer, static_cast<size_t>(n));
        }
        read_events();
    });
}

void Interceptor::dispatch(const char* buffer, size_t length) {
    auto* meta = reinterpret_cast<const fanotify_event_metadata*>(buffer);
    auto remaining = static_cast<long>(length);
    for (; FAN_EVENT_OK(meta, remaining); meta = FAN_EVENT_NEXT(meta, remaining)) {
        if (meta->vers != FANOTIFY_METADATA_VERSION) {
            log::error(component, "fanotify metadata version mismatch; ignoring events");
            return;
        }
        if (meta->fd < 0) {
            if (meta->mask & FAN_Q_OVERFLOW)
                log::error(component, "fanotify queue overflow");
            continue;
        }
        auto event = std::make_shared<PendingEvent>();
        event->group_fd = group_fd_;
        event->fd = meta->fd;
        event->tid = meta->pid;
        event->deadline = std::chrono::steady_clock::now() + options_.recall_timeout;
        const char* info = reinterpret_cast<const char*>(meta) + meta->metadata_len;
        const char* end = reinterpret_cast<const char*>(meta) + meta->event_len;
        while (info + sizeof(fanotify_event_info_header) <= end) {
            auto* header = reinterpret_cast<const fanotify_event_info_header*>(info);
            if (header->len == 0)
                break;
            if (header->info_type == fan::info_type_range && header->len >= sizeof(fan::EventInfoRange)) {
                auto* range = reinterpret_cast<const fan::EventInfoRange*>(info);
                event->offset = range->offset;
                event->count = range->count;
                event->has_range = true;
            }
            info += header->len;
        }
        {
            std::lock_guard lock(mutex_);
            ++stats_.events;
            pending_.push_back(event);
            // An event queued behind busy event threads still sees its file's recall progress (sweep()).
            if (struct stat st{}; ::fstat(event->fd, &st) == 0)
                if (auto it = recalls_.find({st.st_dev, st.st_ino}); it != recalls_.end()) {
                    event->recall = it->second;
                    event->filled_seen = it->second->filled;
                }
        }
        // A bypassed thread (a hole punch) may hold locks an event thread waits for: answer it here, at once.
        if (bypassed(event->tid)) {
            answer(*event, fan::allow);
            std::lock_guard lock(mutex_);
            ++stats_.bypassed;
            continue;
        }
        boost::asio::post(event_pool_, [this, event] { handle(event); });
    }
}

bool Interceptor::answer(PendingEvent& event, uint32_t response) {
    if (event.answered.exchange(true))
        return false;
    // The kernel carries an errno in FAN_DENY only for pre-content groups; the FAN_OPEN_PERM fallback's readers get
    // EPERM (plain FAN_DENY) instead of EIO or EAGAIN.
    if (!range_first() && (response & fan::deny))
        response = fan::deny;
    fanotify_response reply{event.fd, response};
    if (::write(event.group_fd, &reply, sizeof reply) != sizeof reply)
        log::error(component, "answering a fanotify event failed: " + std::string(strerror(errno)));
    std::lock_guard lock(mutex_);
    if (response == fan::allow)
        ++stats_.allowed;
    else
        ++stats_.denied;
    return true;
}

void Interceptor::sweep() {
    sweep_timer_.expires_after(std::chrono::milliseconds(100));
    sweep_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || stopping_)
            return;
        auto now = std::chrono::steady_clock::now();
        std::vector<std::shared_ptr<PendingEvent>> late;
        {
            std::lock_guard lock(mutex_);
            std::erase_if(pending_, [&](const std::weak_ptr<PendingEvent>& weak) {
                auto event = weak.lock();
                if (!event || event->answered)
                    return true;
                if (event->deadline <= now) {
                    if (auto recall = event->recall.lock(); recall && recall->filled != event->filled_seen) {
                        event->filled_seen = recall->filled;  // still moving: give it another recall_timeout
                        event->deadline = now + options_.recall_timeout;
                        return false;
                    }
                    late.push_back(event);
                    return true;
                }
                return false;
            });
        }
        for (auto& event : late)
            if (answer(*event, fan::deny_errno(EIO))) {
                std::lock_guard lock(mutex_);
                ++stats_.timed_out;
                auto recall = event->recall.lock();
                log::error(component, "a recall made no progress for recall_timeout: the reader (tid " +
                                          std::to_string(event->tid) + ", range " + std::to_string(event->offset) +
                                          "+" + std::to_string(event->count) + ") got EIO; " +
                                          (recall ? recall->path + ", " + std::to_string(recall->filled.load()) +
                                                        " bytes filled"
                                                  : std::string("its recall had not started")));
            }
        sweep();
    });
}

Result<std::shared_ptr<Interceptor::FileRecall>> Interceptor::recall_for(int event_fd) {
    TIERCEL_ASSIGN(auto now, snapshot(event_fd));
    std::shared_ptr<FileRecall> recall;
    {
        std::lock_guard lock(mutex_);
        auto& slot = recalls_[{now.dev, now.ino}];
        if (!slot) {
            slot = std::make_shared<FileRecall>();
            slot->dev = now.dev;
            slot->ino = now.ino;
        }
        recall = slot;
    }
    if (recall->ready)
        return recall;
    std::lock_guard file_lock(recall->mutex);
    if (recall->fd >= 0 || recall->resident)
        return recall;
    TIERCEL_ASSIGN(auto state, read_state(event_fd));
    if (!state || (state->state != "stub" && state->state != "partial")) {
        recall->resident = true;  // not (or no longer) a stub: nothing to recall
        recall->ready = true;
        (void)::fanotify_mark(group_fd_, FAN_MARK_REMOVE, mark_mask_, event_fd, nullptr);
        forget(*recall);
        return recall;
    }
    recall->state = *state;
    recall->times = now;
    auto loaded = catalog_.with([&](Catalog& catalog) -> Status {
        TIERCEL_ASSIGN(auto version, catalog.version(state->file_id, state->version));
        if (!version)
            return make_error(Errc::not_found, "the catalog has no version " + std::to_string(state->version) +
                                                   " of file id " + std::to_string(state->file_id));
        recall->version = *version;
        TIERCEL_ASSIGN(recall->copies, catalog.copies(state->file_id, state->version));
        TIERCEL_ASSIGN(auto file, catalog.file_by_id(state->file_id));
        recall->path = file ? file->path : "file id " + std::to_string(state->file_id);
        return {};
    });
    if (!loaded) {
        forget(*recall);
        return loaded.error();
    }
    recall->fd = ::dup(event_fd);
    if (recall->fd < 0) {
        forget(*recall);
        return Error::from_errno(errno, "dup of the event fd");
    }
    if (auto opened = recall->open_source(targets_); !opened) {
        ::close(recall->fd);
        recall->fd = -1;
        forget(*recall);
        return opened.error().context(recall->path);
    }
    if (state->state == "stub") {
        (void)write_state(recall->fd, {"partial", state->file_id, state->version});
        (void)catalog_.with([&](Catalog& catalog) { return catalog.set_state(state->file_id, "partial"); });
    }
    recall->ready = true;
    return recall;
}

void Interceptor::handle(std::shared_ptr<PendingEvent> event) {
    if (!options_.processes.empty()) {
        auto name = process_name(event->tid);
        for (const auto& rule : options_.processes)
            if (rule.name == name && rule.action == "deny") {
                answer(*event, fan::deny_errno(EAGAIN));
                return;
            }
    }
    auto recall = recall_for(event->fd);
    if (!recall) {
        log::error(component, "recall failed, the reader gets EIO: " + recall.error().describe());
        record({now_ns(), "", 0, 0, "failed: " + recall.error().describe()});
        answer(*event, fan::deny_errno(EIO));
        return;
    }
    auto& file = **recall;
    {
        std::lock_guard lock(mutex_);
        event->recall = *recall;
        event->filled_seen = file.filled;
    }
    if (file.resident) {
        answer(*event, fan::allow);
        return;
    }
    // A truncate (truncate(2), ftruncate(2)) arrives as a range around the new end of file; the blocked task's
    // system call tells it apart (truncate_probe.hpp). (An O_TRUNC open raises no event on 6.18: the next access
    // finds the file empty, and fill() skips every frame.)
    std::optional<uint64_t> new_size;
    if (event->has_range)
        new_size = pending_truncate(event->tid);
    // A range with no hole is in the file already (filled, or never punched), and one past the archived size holds
    // nothing archived: ALLOW without the file's lock, which the background fill holds for long stretches (a frame,
    // and at the end fdatasync plus the whole-file hash: a reader's last read at EOF used to wait that out).
    // Only once the background fill runs: the first access of a stub (even a write past its end) starts it.
    if (event->has_range && !new_size && file.fd >= 0 && file.background_started) {
        const uint64_t end = std::min(event->offset + event->count, file.version.size);
        if (event->offset >= end || range_present(file.fd, event->offset, end - event->offset)) {
            answer(*event, fan::allow);
            return;
        }
    }
    Status filled;
    bool start_background = false;
    ++file.waiting_readers;
    {
        std::lock_guard lock(file.mutex);
        struct Leave {
            FileRecall& file;
            ~Leave() {
                --file.waiting_readers;
                file.readers_done.notify_all();
            }
        } leave{file};
        if (options_.test_delay.count() > 0)
            std::this_thread::sleep_for(options_.test_delay);
        uint64_t count = event->has_range ? event->count : file.version.size;
        uint64_t offset = event->has_range ? event->offset : 0;
        if (log::threshold() >= log::Level::debug)
            log::debug(component, file.path + ": event from tid " + std::to_string(event->tid) +
                                      (event->has_range ? " for range " + std::to_string(event->offset) + "+" +
                                                              std::to_string(event->count)
                                                        : " without a range"));
        // A truncate needs only what stays below the new size.
        const bool truncating = new_size.has_value();
        if (truncating) {
            count = *new_size;
            offset = 0;
        }
        auto [first, last] = file.table.covering(offset, count);
        for (size_t i = first; i < last && filled; ++i)
            filled = file.fill(i, targets_);
        if (truncating && filled) {
            file.limit = std::min(file.limit, *new_size);
            if (auto now = snapshot(file.fd))
                file.limit_ctime_ns = now->ctime_ns;
            std::lock_guard stats_lock(mutex_);
            ++stats_.truncates;
        }
        start_background = filled && !file.background_started;
        if (start_background)
            file.background_started = true;
    }
    if (!filled) {
        log::error(component, file.path + ": recall failed, the reader gets EIO: " + filled.error().describe());
        record({now_ns(), file.path, file.filled, 0, "failed: " + filled.error().describe()});
        answer(*event, fan::deny_errno(EIO));
        return;
    }
    answer(*event, fan::allow);
    if (start_background)
        boost::asio::post(fill_pool_, [this, recall = *recall] { background(recall); });
}

void Interceptor::background(std::shared_ptr<FileRecall> recall) {
    for (size_t i = 0; i < recall->table.frames.size(); ++i) {
        std::unique_lock lock(recall->mutex);
        recall->readers_done.wait(lock, [&] { return recall->waiting_readers == 0 || stopping_; });
        if (stopping_)
            return;
        if (auto filled = recall->fill(i, targets_); !filled) {
            log::error(component, recall->path + ": background recall stopped: " + filled.error().describe());
            record({now_ns(), recall->path, recall->filled, 0, "failed: " + filled.error().describe()});
            recall->background_started = false;  // the next reader tries again
            std::lock_guard stats_lock(mutex_);
            ++stats_.recalls_failed;
            return;
        }
    }
    std::lock_guard lock(recall->mutex);
    finish(*recall);
}

void Interceptor::finish(FileRecall& recall) {
    auto fail = [&](const Error& error) {
        log::error(component, recall.path + ": finishing the recall: " + error.describe());
        record({now_ns(), recall.path, recall.filled, 0, "failed: " + error.describe()});
        std::lock_guard stats_lock(mutex_);
        ++stats_.recalls_failed;
    };
    if (::fdatasync(recall.fd) != 0)
        return fail(Error::from_errno(errno, "fdatasync"));
    // The truncating task proceeds only after our ALLOW: give it a moment to land before judging the file. It has
    // landed when the size is down to the limit, or when the ctime moved (it may have grown again since).
    auto truncated = [&](const Snapshot& s) { return s.size <= recall.limit || s.ctime_ns != recall.limit_ctime_ns; };
    auto now = snapshot(recall.fd);
    for (int i = 0; i < 200 && now && recall.limit != UINT64_MAX && !truncated(*now); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        now = snapshot(recall.fd);
    }
    if (!now)
        return fail(now.error());
    if (recall.limit != UINT64_MAX && !truncated(*now)) {
        // The truncate we allowed did not happen (it failed after the hook): the tail is still the archived
        // version's and must be recalled, not left as holes. The next access fills it.
        log::warning(component, recall.path + ": an allowed truncate did not take place; its tail recalls on access");
        recall.limit = UINT64_MAX;
        recall.background_started = false;
        return;
    }
    auto hash = hash_fd(recall.fd, now->size);
    if (!hash)
        return fail(hash.error());
    bool clean = *hash == recall.version.blake2b && now->size == recall.version.size;
    std::string state = clean ? "premigrated" : "dirty";
    if (clean)
        (void)restore_times(recall.fd, recall.times);
    if (auto written = write_state(recall.fd, {state, recall.state.file_id, recall.state.version}); !written)
        return fail(written.error());
    // Resident now: the mark goes, so further reads cost nothing.
    (void)::fanotify_mark(group_fd_, FAN_MARK_REMOVE, mark_mask_, recall.fd, nullptr);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - recall.started).count();
    (void)catalog_.with([&](Catalog& catalog) {
        (void)catalog.set_state(recall.state.file_id, state);
        return catalog.add_event("recall", recall.path, state + ", " + std::to_string(recall.filled.load()) + " bytes");
    });
    record({now_ns(), recall.path, recall.filled, seconds, state});
    {
        std::lock_guard stats_lock(mutex_);
        ++stats_.recalls_completed;
        stats_.bytes_filled += recall.filled;
    }
    recall.resident = true;
    forget(recall);
}

void Interceptor::forget(const FileRecall& recall) {
    std::lock_guard lock(mutex_);
    auto it = recalls_.find({recall.dev, recall.ino});
    if (it != recalls_.end() && it->second.get() == &recall)
        recalls_.erase(it);
}

void Interceptor::record(RecallRecord record) {
    std::lock_guard lock(mutex_);
    recent_.push_front(std::move(record));
    if (recent_.size() > 50)
        recent_.pop_back();
}

InterceptorStats Interceptor::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

std::vector<RecallRecord> Interceptor::recent() const {
    std::lock_guard lock(mutex_);
    return {recent_.begin(), recent_.end()};
}

}  // namespace tiercel::hsm
