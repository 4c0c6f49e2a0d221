// Contract: the fanotify interceptor that makes stubs read like the files they were.
//  - One FAN_CLASS_PRE_CONTENT group (FAN_REPORT_TID). Marks are FAN_PRE_ACCESS inode marks on stubs and partly
//    recalled files only, so resident files cost nothing; a file's mark is removed once it is fully resident.
//    Fallback (kernel without pre-content events): a FAN_CLASS_CONTENT group and FAN_OPEN_PERM marks; the event has
//    no range, so the whole file is recalled before the open returns.
//  - A truncate (recognised from the blocked task's system call, truncate_probe.hpp) fills only the frames below the
//    new size (an O_TRUNC open recalls nothing), and frames past it are never filled afterwards; no frame is ever
//    written past the file's current end.
//  - The group fd is read on the core loop (an Asio descriptor); each event goes to an event thread, which fills the
//    range the reader waits for (the frames covering it) through the event's fd (it generates no events), and only
//    then answers FAN_ALLOW. The rest of the file is filled by fill_threads background workers per file, in order
//    from the end of that first range (wrapping). Readers of one file share one recall (one FileRecall per inode;
//    each frame is claimed by one thread and filled outside the file's lock, so frames are never fetched twice and
//    fills of different frames run in parallel: src/hsm/file_recall.hpp).
//  - A frame counts as present when it has no hole (SEEK_HOLE), so a restart never refetches or overwrites data
//    already in the file.
//  - Copies are tried in catalog order; zstd checks each frame, BLAKE2b-256 checks the whole file at the end, after
//    one fdatasync (a mismatch, or a ctime that moved during the hash, means the user changed it: "dirty").
//  - If no copy can be read, or no answer is ready within recall_timeout, the reader gets FAN_DENY_ERRNO(EIO). ALLOW
//    is never sent for a range that is not in the file.
//  - Threads running inside a BypassScope (the stub step's hole punch) are answered ALLOW without recall.
//  - Processes named in [[hsm.process]] get EAGAIN (action "deny") without any recall.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "tiercel/core/config.hpp"
#include "tiercel/hsm/archiver.hpp"
#include "tiercel/hsm/catalog.hpp"
#include "tiercel/hsm/fanotify_abi.hpp"

namespace tiercel::hsm {

// A Catalog shared by threads: every use holds the mutex.
class SharedCatalog {
public:
    explicit SharedCatalog(Catalog catalog) : catalog_(std::move(catalog)) {}
    template <typename F>
    auto with(F&& f) {
        std::lock_guard lock(mutex_);
        return f(catalog_);
    }

private:
    std::mutex mutex_;
    Catalog catalog_;
};

struct InterceptorOptions {
    std::chrono::milliseconds recall_timeout{30'000};
    std::vector<HsmProcessRule> processes;
    size_t event_threads = 4;
    size_t fill_threads = 2;  // pool threads, and background workers per file
    // Test hook ($TIERCEL_HSM_TEST_RECALL_DELAY_MS): every range fill first sleeps this long, so crash tests can
    // kill the daemon while a reader is known to be waiting. Zero in production.
    std::chrono::milliseconds test_delay{0};
};

// A new FAN_CLASS_PRE_CONTENT group (FAN_REPORT_TID, non-blocking, event fds read-write), or why not. On a kernel
// without pre-content events (EINVAL), or with $TIERCEL_HSM_FORCE_OPEN_PERM set (tests), a FAN_CLASS_CONTENT group
// instead: the interceptor then marks stubs FAN_OPEN_PERM and recalls a whole file at open.
Result<int> create_pre_content_group();
// Whether a group (created here or adopted from the guardian) has the pre-content class (from /proc fdinfo).
bool group_has_pre_content(int group_fd);

struct RecallRecord {
    int64_t at_ns = 0;
    std::string path;
    uint64_t bytes = 0;
    double seconds = 0;
    std::string outcome;  // premigrated | dirty | failed: <why>
};

struct InterceptorStats {
    uint64_t events = 0, allowed = 0, denied = 0, timed_out = 0, bypassed = 0;
    uint64_t recalls_completed = 0, recalls_failed = 0, bytes_filled = 0, marks = 0;
    uint64_t truncates = 0;  // truncate events answered with only what stays below the new size recalled
};

class BypassScope {
public:
    BypassScope();
    ~BypassScope();
    BypassScope(const BypassScope&) = delete;
    BypassScope& operator=(const BypassScope&) = delete;

private:
    pid_t tid_;
};

class Interceptor {
public:
    // Serves `group_fd` (from create_pre_content_group() or the guardian); takes ownership of it.
    Interceptor(boost::asio::io_context& loop, SharedCatalog& catalog, Targets& targets, InterceptorOptions options,
                int group_fd);
    ~Interceptor();

    Status mark_fd(int fd);
    Status mark_path(const std::string& path);
    // Starts reading events on the loop and the timeout sweep.
    void start();
    // Cancels the descriptor and the sweep; answers every event still pending with EIO.
    void stop();

    int group_fd() const { return group_fd_; }
    // FAN_PRE_ACCESS (range-first recall), or the FAN_OPEN_PERM fallback (whole file at open).
    bool range_first() const { return mark_mask_ == fan::pre_access; }
    const char* mark_name() const { return range_first() ? "FAN_PRE_ACCESS" : "FAN_OPEN_PERM"; }
    InterceptorStats stats() const;
    std::vector<RecallRecord> recent() const;

    struct PendingEvent;
    struct FileRecall;

private:
    void read_events();
    void dispatch(const char* buffer, size_t length);
    void handle(std::shared_ptr<PendingEvent> event);
    void sweep();
    Result<std::shared_ptr<FileRecall>> recall_for(int event_fd);
    // Posts the file's background workers (fill_threads), which fill from `first_frame` on, in order, wrapping.
    void start_background(const std::shared_ptr<FileRecall>& recall, size_t first_frame);
    // One background worker; the last one out finishes the recall (or clears background_started).
    void background(std::shared_ptr<FileRecall> recall);
    void finish(FileRecall& recall);
    void forget(const FileRecall& recall);
    void record(RecallRecord record);
    bool answer(PendingEvent& event, uint32_t response);

    boost::asio::io_context& loop_;
    SharedCatalog& catalog_;
    Targets& targets_;
    InterceptorOptions options_;
    int group_fd_;
    uint64_t mark_mask_;  // what marks ask for: fan::pre_access, or FAN_OPEN_PERM on a content-class group
    boost::asio::posix::stream_descriptor descriptor_;
    boost::asio::steady_timer sweep_timer_;
    boost::asio::thread_pool event_pool_;
    boost::asio::thread_pool fill_pool_;
    std::atomic<bool> stopping_{false};

    mutable std::mutex mutex_;  // guards everything below
    std::map<std::pair<uint64_t, uint64_t>, std::shared_ptr<FileRecall>> recalls_;
    std::vector<std::weak_ptr<PendingEvent>> pending_;
    std::deque<RecallRecord> recent_;
    InterceptorStats stats_;
};

}  // namespace tiercel::hsm
