// Contract (internal to the interceptor: interceptor.cpp, file_recall.cpp, interceptor_sweep.cpp): one pending
// fanotify event, and one file's recall.
//  - A FileRecall knows, per frame of the archived version, whether it is absent, being filled (claimed by exactly
//    one thread) or present. Claims and state changes happen under `mutex`; the I/O of a frame (read, decode, pwrite
//    through the event fd) happens outside it, so several threads fill different frames at once and a reader whose
//    range is missing claims it at once instead of queueing behind a fill.
//  - A thread that needs a frame another thread is filling waits on `changed` until it leaves `filling`; if that
//    fill failed, the waiter claims the frame and tries itself.
//  - Bytes at or past `limit` belong to a truncate that was allowed: frames starting there are never claimed.
//  - Copies: one open copy at a time (`copy`); a read failure moves to the next, each copy at most once per attempt.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tiercel/hsm/file_state.hpp"
#include "tiercel/hsm/interceptor.hpp"
#include "tiercel/hsm/payload.hpp"

namespace tiercel::hsm {

// True when [offset, offset + length) of the file holds no hole: in the file (recalled before, or never punched).
bool range_present(int fd, uint64_t offset, uint64_t length);

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
    ~PendingEvent();
};

// One opened copy of the payload. Its seek table is its own (compressed offsets may differ between copies); its raw
// layout must equal the recall's.
struct PayloadCopy {
    std::unique_ptr<ByteSource> source;
    SeekTable table;
    size_t index = 0;  // in FileRecall::copies
};

struct Interceptor::FileRecall {
    enum class Frame : uint8_t { absent, filling, present };

    std::mutex mutex;                 // guards the fields marked "mutex"; never held across a frame's I/O
    std::condition_variable changed;  // a frame left `filling`, or a background worker exited
    uint64_t dev = 0, ino = 0;
    int fd = -1;  // a dup of the first event's fd: read-write, generates no events
    std::atomic<bool> resident{false};
    std::atomic<bool> background_started{false};
    // Set once the recall is set up (or found resident): later events skip the set-up and its lock.
    std::atomic<bool> ready{false};

    // Written by Interceptor::recall_for() before `ready`, read-only afterwards.
    FileState state;
    VersionRow version;
    std::string path;
    std::vector<CopyRow> copies;
    SeekTable layout;  // raw offsets and sizes of the frames (the first copy's table)
    Snapshot times;    // as the stub was when the recall began

    // mutex:
    std::vector<Frame> frames;
    std::shared_ptr<PayloadCopy> copy;  // the copy fills read from; null until (re)opened
    size_t next_copy = 0;               // the copy open_next_copy() tries first
    size_t start_frame = 0, cursor = 0;  // background order: start_frame, start_frame + 1, ... wrapping; cursor counts
    size_t workers = 0;                 // background workers running
    std::optional<Error> background_error;  // the first failure of the current background run
    // Bytes at or past `limit` are no longer the archived version's: a truncate to `limit` was allowed (the file's
    // new tail, if it grows again, is the writer's).
    uint64_t limit = UINT64_MAX;
    int64_t limit_ctime_ns = 0;  // the file's ctime when the truncate was allowed: a later one means it happened

    std::atomic<uint64_t> filled{0};  // bytes written; read by the timeout sweep without `mutex`
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    ~FileRecall();

    // Opens the next readable copy whose header matches the catalog's version and whose raw layout matches
    // `layout` (the first one opened sets `layout` and the frame states, from the file's holes). Caller holds mutex.
    Status open_next_copy(Targets& targets);
    // Makes frames [first, last) present (or skips them: past `limit`, or past the end of file), claiming the absent
    // ones and waiting for those other threads fill.
    Status fill_range(size_t first, size_t last, Targets& targets);
    // Reads, decodes and writes claimed frame i (mutex not held), trying the next copy when one fails. True when
    // written, false when skipped because the file now ends before the frame.
    Result<bool> fill_claimed(size_t i, Targets& targets);
    // Caller holds mutex: the next frame for the background in its order, claimed; nullopt when it is done.
    std::optional<size_t> claim_next();
    // Caller holds mutex: frame i leaves `filling`.
    void settle(size_t i, const Result<bool>& outcome);
    // A truncate to `new_size` was recognised (the frames below it are present): no frame starting at or past it is
    // filled from now on. Returns once fills of such frames already under way are done: the truncate may proceed.
    void set_limit(uint64_t new_size);
    // Caller holds mutex.
    bool any_filling() const;
    bool complete() const;
};

}  // namespace tiercel::hsm
