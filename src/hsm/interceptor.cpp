// The fanotify interceptor's dispatch: the group, marks, events in, and for each event the range it waits for
// recalled (file_recall.cpp) before ALLOW. The timeout sweep is in interceptor_sweep.cpp.
#include "tiercel/hsm/interceptor.hpp"

#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include <boost/asio/post.hpp>

#include "tiercel/core/log.hpp"
#include "hsm_log.hpp"
#include "tiercel/hsm/fanotify_abi.hpp"
#include "tiercel/hsm/file_state.hpp"
#include "tiercel/hsm/truncate_probe.hpp"

#include "file_recall.hpp"

namespace tiercel::hsm {
namespace {


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

}  // namespace

BypassScope::BypassScope() : tid_(current_tid()) {
    std::lock_guard lock(bypass_mutex);
    bypass_tids.insert(tid_);
}

BypassScope::~BypassScope() {
    std::lock_guard lock(bypass_mutex);
    bypass_tids.erase(tid_);
}

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
            log::error(kLogComponent, "fanotify metadata version mismatch; ignoring events");
            return;
        }
        if (meta->fd < 0) {
            if (meta->mask & FAN_Q_OVERFLOW)
                log::error(kLogComponent, "fanotify queue overflow");
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
        log::error(kLogComponent, "answering a fanotify event failed: " + std::string(strerror(errno)));
    std::lock_guard lock(mutex_);
    if (response == fan::allow)
        ++stats_.allowed;
    else
        ++stats_.denied;
    return true;
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
        log::error(kLogComponent, "recall failed, the reader gets EIO: " + recall.error().describe());
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
    // finds the file empty, and every frame is skipped as past its end.)
    std::optional<uint64_t> new_size;
    if (event->has_range)
        new_size = pending_truncate(event->tid);
    // A range with no hole is in the file already (filled, or never punched), and one past the archived size holds
    // nothing archived: ALLOW at once, without the file's lock (held at the end for the whole-file hash, seconds for
    // 1 GiB: a reader's last read at EOF used to wait that out). Only once the background fill runs: the first
    // access of a stub (even a write past its end) starts it.
    if (event->has_range && !new_size && file.fd >= 0 && file.background_started) {
        const uint64_t end = std::min(event->offset + event->count, file.version.size);
        if (event->offset >= end || range_present(file.fd, event->offset, end - event->offset)) {
            answer(*event, fan::allow);
            return;
        }
    }
    uint64_t offset = event->has_range ? event->offset : 0;
    uint64_t count = event->has_range ? event->count : file.version.size;
    if (new_size) {  // a truncate needs only what stays below the new size
        offset = 0;
        count = *new_size;
    }
    if (log::threshold() >= log::Level::debug)
        log::debug(kLogComponent, file.path + ": event from tid " + std::to_string(event->tid) +
                                  (event->has_range ? " for range " + std::to_string(event->offset) + "+" +
                                                          std::to_string(event->count)
                                                    : " without a range"));
    if (options_.test_delay.count() > 0)
        std::this_thread::sleep_for(options_.test_delay);
    auto [first, last] = file.layout.covering(offset, count);
    Status filled = file.fill_range(first, last, targets_);
    if (!filled) {
        log::error(kLogComponent, file.path + ": recall failed, the reader gets EIO: " + filled.error().describe());
        record({now_ns(), file.path, file.filled, 0, "failed: " + filled.error().describe()});
        answer(*event, fan::deny_errno(EIO));
        return;
    }
    if (new_size) {
        file.set_limit(*new_size);
        std::lock_guard stats_lock(mutex_);
        ++stats_.truncates;
    }
    answer(*event, fan::allow);
    // The rest of the file in the background, beginning after this range: a sequential reader finds it ahead.
    if (!file.background_started.exchange(true))
        start_background(*recall, last);
}

}  // namespace tiercel::hsm
