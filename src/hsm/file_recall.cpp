// One file's recall: frame claims, frame fills (outside the lock), copies, the background workers and the finish.
#include "file_recall.hpp"

#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include <boost/asio/post.hpp>

#include "tiercel/core/log.hpp"
#include "hsm_log.hpp"

namespace tiercel::hsm {
namespace {


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

bool same_layout(const SeekTable& a, const SeekTable& b) {
    if (a.frames.size() != b.frames.size())
        return false;
    for (size_t i = 0; i < a.frames.size(); ++i)
        if (a.frames[i].raw_offset != b.frames[i].raw_offset || a.frames[i].raw_size != b.frames[i].raw_size)
            return false;
    return true;
}

}  // namespace

bool range_present(int fd, uint64_t offset, uint64_t length) {
    if (length == 0)
        return true;
    off_t hole = ::lseek(fd, static_cast<off_t>(offset), SEEK_HOLE);
    return hole >= 0 && static_cast<uint64_t>(hole) >= offset + length;
}

Interceptor::PendingEvent::~PendingEvent() {
    if (fd >= 0)
        ::close(fd);
}

Interceptor::FileRecall::~FileRecall() {
    if (fd >= 0)
        ::close(fd);
}

Status Interceptor::FileRecall::open_next_copy(Targets& targets) {
    Error last(Errc::unavailable, "no copy is recorded");
    for (; next_copy < copies.size(); ++next_copy) {
        const CopyRow& row = copies[next_copy];
        Target* target = targets.find(row.target);
        if (!target) {
            last = make_error(Errc::not_found, "target " + row.target + " is not configured");
            continue;
        }
        auto opened = target->open(row.key);
        if (!opened) {
            last = opened.error();
            continue;
        }
        auto header = read_header(**opened);
        auto table = header ? read_seek_table(**opened) : Result<SeekTable>(header.error());
        if (!table) {
            last = table.error();
            continue;
        }
        if (header->blake2b != version.blake2b || header->size != version.size) {
            last = make_error(Errc::corruption, "target " + row.target + ": " + row.key + " is another version");
            continue;
        }
        if (layout.frames.empty() && frames.empty()) {
            layout = *table;
            frames.assign(layout.frames.size(), Frame::absent);
            for (size_t i = 0; i < layout.frames.size(); ++i)
                if (range_present(fd, layout.frames[i].raw_offset, layout.frames[i].raw_size))
                    frames[i] = Frame::present;
        } else if (!same_layout(layout, *table)) {
            last = make_error(Errc::corruption, "target " + row.target + ": " + row.key + " has another frame layout");
            continue;
        }
        copy = std::make_shared<PayloadCopy>(PayloadCopy{std::move(*opened), std::move(*table), next_copy});
        ++next_copy;
        return {};
    }
    return last;
}

Result<bool> Interceptor::FileRecall::fill_claimed(size_t i, Targets& targets) {
    const hsm::Frame& where = layout.frames[i];
    // Each failure moves `copy` on; bounded so that racing failures cannot loop.
    for (size_t attempt = 0; attempt <= 2 * copies.size(); ++attempt) {
        std::shared_ptr<PayloadCopy> from;
        {
            std::lock_guard lock(mutex);
            if (!copy) {
                if (auto opened = open_next_copy(targets); !opened) {
                    next_copy = 0;  // every copy failed: a later event starts over (a target may come back)
                    return opened.error();
                }
            }
            from = copy;
        }
        // Per thread: a fill thread decodes frame after frame into the same buffers.
        thread_local std::vector<uint8_t> compressed, raw;
        if (auto read = read_frame_into(*from->source, from->table.frames[i], compressed, raw); !read) {
            log::warning(kLogComponent, path + ": copy on " + copies[from->index].target + " failed: " +
                                        read.error().describe());
            std::lock_guard lock(mutex);
            if (copy == from)
                copy.reset();  // the next attempt opens the next copy
            continue;
        }
        // Safety net for truncates the probe did not recognise: a frame past the current end of file was cut off by
        // its owner, and writing it would resurrect archived bytes.
        if (struct stat st{}; ::fstat(fd, &st) == 0 && where.raw_offset >= static_cast<uint64_t>(st.st_size)) {
            std::lock_guard lock(mutex);
            limit = std::min<uint64_t>(limit, static_cast<uint64_t>(st.st_size));
            return false;
        }
        TIERCEL_TRY(pwrite_full(fd, raw, where.raw_offset));
        filled += raw.size();
        return true;
    }
    return make_error(Errc::unavailable, "every copy failed");
}

std::optional<size_t> Interceptor::FileRecall::claim_next() {
    while (!background_error && cursor < frames.size()) {
        size_t i = (start_frame + cursor++) % frames.size();
        if (frames[i] == Frame::absent && layout.frames[i].raw_offset < limit) {
            frames[i] = Frame::filling;
            return i;
        }
    }
    return std::nullopt;
}

void Interceptor::FileRecall::settle(size_t i, const Result<bool>& outcome) {
    frames[i] = outcome && *outcome ? Frame::present : Frame::absent;
    changed.notify_all();
}

Status Interceptor::FileRecall::fill_range(size_t first, size_t last, Targets& targets) {
    std::unique_lock lock(mutex);
    for (size_t i = first; i < last; ++i) {
        while (frames[i] != Frame::present && layout.frames[i].raw_offset < limit) {
            if (frames[i] == Frame::filling) {
                changed.wait(lock);
                continue;
            }
            frames[i] = Frame::filling;
            lock.unlock();
            auto outcome = fill_claimed(i, targets);
            lock.lock();
            settle(i, outcome);
            if (!outcome)
                return outcome.error();
            if (!*outcome)
                break;  // past the end of file now: skipped, and `limit` says so
        }
    }
    return {};
}

void Interceptor::FileRecall::set_limit(uint64_t new_size) {
    std::unique_lock lock(mutex);
    limit = std::min(limit, new_size);
    if (auto now = snapshot(fd))
        limit_ctime_ns = now->ctime_ns;
    // A frame claimed before the limit moved may still be written: wait for it, or it would land after the truncate.
    changed.wait(lock, [&] {
        for (size_t i = 0; i < frames.size(); ++i)
            if (frames[i] == Frame::filling && layout.frames[i].raw_offset >= limit)
                return false;
        return true;
    });
}

bool Interceptor::FileRecall::any_filling() const {
    for (Frame frame : frames)
        if (frame == Frame::filling)
            return true;
    return false;
}

bool Interceptor::FileRecall::complete() const {
    for (size_t i = 0; i < frames.size(); ++i)
        if (frames[i] != Frame::present && layout.frames[i].raw_offset < limit)
            return false;
    return true;
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
    if (auto opened = recall->open_next_copy(targets_); !opened) {
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

void Interceptor::start_background(const std::shared_ptr<FileRecall>& recall, size_t first_frame) {
    size_t count = 0;
    {
        std::lock_guard lock(recall->mutex);
        if (recall->workers > 0 || recall->frames.empty())
            return;  // still winding down (it clears background_started when done), or nothing to fill
        recall->start_frame = first_frame % recall->frames.size();
        recall->cursor = 0;
        recall->background_error.reset();
        count = std::max<size_t>(1, std::min(options_.fill_threads, recall->frames.size()));
        recall->workers = count;
    }
    for (size_t i = 0; i < count; ++i)
        boost::asio::post(fill_pool_, [this, recall] { background(recall); });
}

void Interceptor::background(std::shared_ptr<FileRecall> recall) {
    while (!stopping_) {
        size_t i = 0;
        {
            std::lock_guard lock(recall->mutex);
            auto next = recall->claim_next();
            if (!next)
                break;
            i = *next;
        }
        auto outcome = recall->fill_claimed(i, targets_);
        std::lock_guard lock(recall->mutex);
        recall->settle(i, outcome);
        if (!outcome && !recall->background_error)
            recall->background_error = outcome.error();  // the other workers stop claiming
    }
    std::unique_lock lock(recall->mutex);
    if (--recall->workers > 0 || stopping_)
        return;  // the last worker out finishes
    // Frames readers claimed are still theirs: wait for them before judging the file.
    recall->changed.wait(lock, [&] { return !recall->any_filling() || stopping_; });
    if (recall->background_error || !recall->complete() || stopping_) {
        if (recall->background_error) {
            log::error(kLogComponent,
                       recall->path + ": background recall stopped: " + recall->background_error->describe());
            record({now_ns(), recall->path, recall->filled, 0, "failed: " + recall->background_error->describe()});
            std::lock_guard stats_lock(mutex_);
            ++stats_.recalls_failed;
        }
        recall->background_started = false;  // the next reader tries again
        return;
    }
    lock.unlock();
    finish(*recall);
}

void Interceptor::finish(FileRecall& recall) {
    auto fail = [&](const Error& error) {
        log::error(kLogComponent, recall.path + ": finishing the recall: " + error.describe());
        record({now_ns(), recall.path, recall.filled, 0, "failed: " + error.describe()});
        recall.background_started = false;  // the next access tries to finish again
        std::lock_guard stats_lock(mutex_);
        ++stats_.recalls_failed;
    };
    // One fdatasync for the whole file, before the state says premigrated: what a crash must not lose.
    if (::fdatasync(recall.fd) != 0)
        return fail(Error::from_errno(errno, "fdatasync"));
    // The truncating task proceeds only after our ALLOW: give it a moment to land before judging the file. It has
    // landed when the size is down to the limit, or when the ctime moved (it may have grown again since).
    auto landed = [&](const Result<Snapshot>& s) {
        std::lock_guard lock(recall.mutex);
        return !s || recall.limit == UINT64_MAX || s->size <= recall.limit || s->ctime_ns != recall.limit_ctime_ns;
    };
    auto before = snapshot(recall.fd);
    for (int i = 0; i < 200 && !landed(before); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        before = snapshot(recall.fd);
    }
    if (!before)
        return fail(before.error());
    if (!landed(before)) {
        // The truncate we allowed did not happen (it failed after the hook): the tail is still the archived
        // version's and must be recalled, not left as holes. The next access fills it.
        log::warning(kLogComponent,
                     recall.path + ": an allowed truncate did not take place; its tail recalls on access");
        std::lock_guard lock(recall.mutex);
        recall.limit = UINT64_MAX;
        recall.background_started = false;
        return;
    }
    // From here on no frame is written (every one is present or past the limit), so the hash runs without the lock:
    // a truncating task does not wait for it.
    auto hash = hash_fd(recall.fd, before->size);
    if (!hash)
        return fail(hash.error());
    // Every byte is the recall's by now, so a ctime that moved during the hash means someone changed the file
    // (write, mmap write, truncate) while it was being read: not clean, whatever the hash says.
    auto after = snapshot(recall.fd);
    if (!after)
        return fail(after.error());
    bool unchanged = after->ctime_ns == before->ctime_ns && after->size == before->size;
    bool clean = unchanged && *hash == recall.version.blake2b && before->size == recall.version.size;
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

}  // namespace tiercel::hsm
