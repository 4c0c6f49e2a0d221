// FUSE over io_uring: per-CPU queue threads that take requests from the kernel's ring entries, hand them to libfuse
// and commit the replies (see fuse_uring.hpp). The protocol is the kernel's (fs/fuse/dev_uring.c, Linux 6.14+);
// Debian 12's headers predate it, so its structures and commands are spelled out below.
#include "fuse_uring.hpp"

#include "fuse_killpriv.hpp"
#include "fuse_ops.hpp"  // libfuse, at the API version the handlers use

#include <liburing.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "tiercel/core/log.hpp"

namespace tiercel::fs {
namespace kernel {

// include/uapi/linux/fuse.h (7.42+): the header block of a ring entry and the io_uring command payload.
constexpr size_t kHeaderInOutBytes = 128;  // fuse_in_header on the way in, fuse_out_header on the way out
constexpr size_t kOpInOutBytes = 128;      // the operation's own header (fuse_write_in, ...)

struct RingEntryInOut {
    uint64_t flags;
    uint64_t commit_id;  // the request's unique, to name it in the commit
    uint32_t payload_sz;  // bytes of arguments in the payload buffer, each way
    uint32_t padding;
    uint64_t reserved;
};

struct RingRequestHeader {
    char in_out[kHeaderInOutBytes];
    char op_in[kOpInOutBytes];
    RingEntryInOut ring_ent_in_out;
};

struct RingCommand {
    uint64_t flags;
    uint64_t commit_id;
    uint16_t qid;
    uint8_t padding[6];
};

enum : uint32_t { kCmdRegister = 1, kCmdCommitAndFetch = 2 };

}  // namespace kernel

namespace {

constexpr uint64_t kWakeTag = ~0ull;
constexpr unsigned kRingDepth = 64;
// Room before the payload for the fuse_in_header and the operation header, so a request is one contiguous buffer
// (libfuse's layout on /dev/fuse) without copying its payload.
constexpr size_t kPrefixBytes = 4096;
constexpr auto kSpinWindow = std::chrono::microseconds(100);
constexpr auto kBusyYield = std::chrono::microseconds(20);

// Highest possible CPU + 1: the kernel makes one queue per possible CPU and numbers them by CPU.
unsigned possible_cpus() {
    std::ifstream possible("/sys/devices/system/cpu/possible");
    std::string ranges;
    std::getline(possible, ranges);
    const size_t last = ranges.find_last_of("-,");
    const std::string tail = last == std::string::npos ? ranges : ranges.substr(last + 1);
    try {
        return static_cast<unsigned>(std::stoul(tail)) + 1;
    } catch (const std::exception&) {
        return std::max(1u, std::thread::hardware_concurrency());
    }
}

}  // namespace

static thread_local FuseUringQueue* this_thread_queue = nullptr;  // the queue whose thread this is, if any

// One kernel queue: its entries, its ring and the thread (pinned to CPU `qid`) that owns the ring.
class FuseUringQueue {
public:
    FuseUringQueue(fuse_session* session, int fuse_fd, unsigned qid, FuseUring::Options options)
        : session_(session), fuse_fd_(fuse_fd), qid_(qid), options_(options), entries_(options.entries_per_queue) {}

    ~FuseUringQueue() {
        stop();
        for (Entry& entry : entries_)
            if (entry.memory)
                ::munmap(entry.memory, kPrefixBytes + options_.payload_bytes);
        if (wake_fd_ >= 0)
            ::close(wake_fd_);
    }

    // Starts the thread; returns once its entries are registered, or with why they could not be.
    Status start() {
        wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
        if (wake_fd_ < 0)
            return make_error(Errc::io_error, std::string("eventfd: ") + std::strerror(errno));
        for (Entry& entry : entries_) {
            void* memory = ::mmap(nullptr, kPrefixBytes + options_.payload_bytes, PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (memory == MAP_FAILED)
                return make_error(Errc::io_error, "cannot map a FUSE ring entry buffer");
            entry.memory = static_cast<char*>(memory);
            entry.payload = entry.memory + kPrefixBytes;
            entry.iov[0] = {&entry.header, sizeof entry.header};
            entry.iov[1] = {entry.payload, options_.payload_bytes};
        }
        std::promise<Status> registered;
        auto result = registered.get_future();
        thread_ = std::thread([this, registered = std::move(registered)]() mutable { run(registered); });
        Status status = result.get();
        if (!status) {
            thread_.join();
            return status;
        }
        return {};
    }

    void stop() {
        if (!thread_.joinable())
            return;
        stopping_.store(true);
        wake();
        thread_.join();
    }

    // reply() for this queue's entries: true if `unique` is one of them (the reply is then consumed).
    bool take_reply(uint64_t unique, const iovec* iov, int count, ssize_t& written) {
        for (size_t index = 0; index < entries_.size(); ++index) {
            Entry& entry = entries_[index];
            uint64_t expected = unique;
            if (entry.unique.load(std::memory_order_acquire) != unique ||
                !entry.unique.compare_exchange_strong(expected, 0))
                continue;
            written = copy_reply(entry, iov, count);
            commit_later(index);
            return true;
        }
        return false;
    }

private:
    struct Entry {
        kernel::RingRequestHeader header{};
        char* memory = nullptr;   // kPrefixBytes, then the payload
        char* payload = nullptr;
        std::array<iovec, 2> iov{};
        uint64_t commit_id = 0;
        std::atomic<uint64_t> unique{0};  // the request being answered, 0 when none (reply() matches on it)
        bool alive = true;
    };

    void run(std::promise<Status>& registered) {
        this_thread_queue = this;
        pin_to_cpu();
        Status setup = open_ring();
        if (setup)
            setup = register_entries();
        const bool ok = static_cast<bool>(setup);
        registered.set_value(std::move(setup));
        if (!ok) {
            close_ring();
            return;
        }
        serve();
        close_ring();
    }

    void pin_to_cpu() {
        cpu_set_t cpus;
        CPU_ZERO(&cpus);
        CPU_SET(qid_, &cpus);
        // A CPU outside this process's set (cpuset, offline) cannot take requests' callers either; run anywhere.
        pthread_setaffinity_np(pthread_self(), sizeof cpus, &cpus);
        const std::string name = "fuse-q" + std::to_string(qid_);
        pthread_setname_np(pthread_self(), name.c_str());
    }

    Status open_ring() {
        // Deferred task work: the kernel runs this ring's completions when this thread asks for them, not by
        // interrupting it. Both need this thread to be the ring's only submitter, which it is.
        io_uring_params params{};
        params.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
        int rc = io_uring_queue_init_params(kRingDepth, &ring_, &params);
        if (rc == -EINVAL) {
            params = io_uring_params{};
            params.flags = IORING_SETUP_SQE128;
            rc = io_uring_queue_init_params(kRingDepth, &ring_, &params);
        }
        if (rc < 0)
            return make_error(Errc::io_error, std::string("io_uring with 128-byte entries: ") + std::strerror(-rc));
        ring_open_ = true;
        return {};
    }

    void close_ring() {
        if (ring_open_)
            io_uring_queue_exit(&ring_);  // cancels the commands still waiting for requests
        ring_open_ = false;
    }

    io_uring_sqe* command(uint32_t op, size_t index) {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        if (!sqe) {
            io_uring_submit(&ring_);
            sqe = io_uring_get_sqe(&ring_);
        }
        std::memset(sqe, 0, 2 * sizeof(io_uring_sqe));  // 128-byte entry: the command lives in the second half
        sqe->opcode = IORING_OP_URING_CMD;
        sqe->fd = fuse_fd_;
        sqe->cmd_op = op;
        kernel::RingCommand cmd{};
        cmd.qid = static_cast<uint16_t>(qid_);
        cmd.commit_id = entries_[index].commit_id;
        std::memcpy(reinterpret_cast<char*>(sqe) + offsetof(io_uring_sqe, cmd), &cmd, sizeof cmd);
        sqe->user_data = index;
        return sqe;
    }

    void arm_wake() {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        io_uring_prep_read(sqe, wake_fd_, &wake_count_, sizeof wake_count_, 0);
        sqe->user_data = kWakeTag;
    }

    // The kernel answers a registration only when it fails (or, later, with the first request), so any completion
    // right after submitting is a refusal.
    Status register_entries() {
        for (size_t index = 0; index < entries_.size(); ++index) {
            io_uring_sqe* sqe = command(kernel::kCmdRegister, index);
            sqe->addr = reinterpret_cast<uint64_t>(entries_[index].iov.data());
            sqe->len = static_cast<uint32_t>(entries_[index].iov.size());
        }
        arm_wake();
        const int submitted = io_uring_submit(&ring_);
        if (submitted < 0)
            return make_error(Errc::io_error, std::string("io_uring_submit: ") + std::strerror(-submitted));
        io_uring_cqe* cqe = nullptr;
        if (io_uring_peek_cqe(&ring_, &cqe) == 0 && cqe && cqe->user_data != kWakeTag && cqe->res < 0)
            return make_error(Errc::unavailable, "the kernel refused FUSE ring entries for queue " +
                                                     std::to_string(qid_) + ": " + std::strerror(-cqe->res));
        return {};
    }

    // After a request, polls the ring for kSpinWindow before sleeping in the kernel, yielding between polls: the
    // next request of a create or unlink follows within microseconds, and a CPU that sleeps makes the scheduler
    // wake the caller on it (an idle CPU wins) rather than here, which costs an interrupt to a halted vCPU. A yield
    // that took long means others want this CPU: then it sleeps at once.
    bool poll_briefly(std::chrono::steady_clock::time_point last_request) {
        using Clock = std::chrono::steady_clock;
        for (;;) {
            io_uring_submit_and_get_events(&ring_);
            if (io_uring_cq_ready(&ring_) > 0)
                return true;
            const Clock::time_point now = Clock::now();
            if (now - last_request > kSpinWindow)
                return false;
            ::sched_yield();
            if (Clock::now() - now > kBusyYield)
                return false;
        }
    }

    void serve() {
        size_t alive = entries_.size();
        auto last_request = std::chrono::steady_clock::time_point{};
        while (alive > 0 && !stopping_.load()) {
            if (!poll_briefly(last_request))
                io_uring_submit_and_wait(&ring_, 1);
            unsigned head = 0;
            unsigned seen = 0;
            io_uring_cqe* cqe = nullptr;
            io_uring_for_each_cqe(&ring_, head, cqe) {
                ++seen;
                if (cqe->user_data == kWakeTag) {
                    arm_wake();
                    continue;
                }
                Entry& entry = entries_[cqe->user_data];
                if (cqe->res < 0) {
                    // ENOTCONN/ECANCELED: the connection is going; anything else loses this entry for good.
                    if (cqe->res != -ENOTCONN && cqe->res != -ECANCELED)
                        log::warning("fs", "FUSE ring queue " + std::to_string(qid_) + ": an entry failed: " +
                                               std::strerror(-cqe->res));
                    entry.alive = false;
                    --alive;
                    continue;
                }
                handle_request(cqe->user_data);
                last_request = std::chrono::steady_clock::now();
            }
            io_uring_cq_advance(&ring_, seen);
            submit_commits();
        }
    }

    void handle_request(size_t index) {
        Entry& entry = entries_[index];
        fuse_in_header in{};
        std::memcpy(&in, entry.header.in_out, sizeof in);
        const kernel::RingEntryInOut ring = entry.header.ring_ent_in_out;
        entry.commit_id = ring.commit_id;
        const size_t fixed = sizeof in + ring.payload_sz;
        if (in.len < fixed || in.len - fixed > kernel::kOpInOutBytes || ring.payload_sz > options_.payload_bytes) {
            log::error("fs", "FUSE ring queue " + std::to_string(qid_) + ": malformed request (length " +
                                 std::to_string(in.len) + ", payload " + std::to_string(ring.payload_sz) + ")");
            fuse_out_header out{sizeof(fuse_out_header), -EIO, in.unique};
            const iovec reply{&out, sizeof out};
            copy_reply(entry, &reply, 1);
            commit_later(index);
            return;
        }
        // Header, operation header and payload, contiguous as libfuse expects.
        const size_t op_bytes = in.len - fixed;
        char* start = entry.payload - sizeof in - op_bytes;
        std::memcpy(start, &in, sizeof in);
        std::memcpy(start + sizeof in, entry.header.op_in, op_bytes);
        entry.unique.store(in.unique, std::memory_order_release);
        fuse_buf buf{};
        buf.size = in.len;
        buf.mem = start;
        note_request_hints(start, in.len);
        fuse_session_process_buf(session_, &buf);
    }

    // Out header to the entry's header block, the arguments to its payload. Returns the bytes of the reply.
    ssize_t copy_reply(Entry& entry, const iovec* iov, int count) {
        fuse_out_header out{};
        std::memcpy(&out, iov[0].iov_base, std::min(sizeof out, iov[0].iov_len));
        size_t total = 0;
        for (int i = 1; i < count; ++i)
            total += iov[i].iov_len;
        uint32_t payload = 0;
        if (total > options_.payload_bytes) {
            log::error("fs", "a FUSE reply of " + std::to_string(total) + " bytes does not fit its ring entry");
            out.error = -EIO;
        } else {
            for (int i = 1; i < count; ++i) {
                std::memcpy(entry.payload + payload, iov[i].iov_base, iov[i].iov_len);
                payload += static_cast<uint32_t>(iov[i].iov_len);
            }
        }
        std::memcpy(entry.header.in_out, &out, sizeof out);
        entry.header.ring_ent_in_out.payload_sz = payload;
        return static_cast<ssize_t>(sizeof out + total);
    }

    // The queue thread commits: its ring has one submitter. A reply on the queue thread itself (a request answered
    // from memory) is committed right after its handler returns; one from a worker wakes the queue thread.
    void commit_later(size_t index) {
        if (this_thread_queue == this) {
            local_commits_.push_back(index);
            return;
        }
        {
            std::lock_guard lock(mu_);
            remote_commits_.push_back(index);
        }
        wake();
    }

    void wake() {
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
    }

    void submit_commits() {
        {
            std::lock_guard lock(mu_);
            local_commits_.insert(local_commits_.end(), remote_commits_.begin(), remote_commits_.end());
            remote_commits_.clear();
        }
        for (size_t index : local_commits_)
            command(kernel::kCmdCommitAndFetch, index);
        local_commits_.clear();
    }

    fuse_session* session_;
    int fuse_fd_;
    unsigned qid_;
    FuseUring::Options options_;
    std::vector<Entry> entries_;
    io_uring ring_{};
    bool ring_open_ = false;
    int wake_fd_ = -1;
    uint64_t wake_count_ = 0;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::vector<size_t> local_commits_;  // queue thread only
    std::mutex mu_;
    std::vector<size_t> remote_commits_;  // guarded by mu_
};

std::unique_ptr<FuseUring> FuseUring::create(fuse_session* session, int fuse_fd, Options options) {
    std::unique_ptr<FuseUring> uring(new FuseUring());
    const unsigned queues = possible_cpus();
    for (unsigned qid = 0; qid < queues; ++qid)
        uring->queues_.push_back(std::make_unique<FuseUringQueue>(session, fuse_fd, qid, options));
    return uring;
}

Status FuseUring::start() {
    for (auto& queue : queues_) {
        if (Status started = queue->start(); !started) {
            stop();
            return started.error();
        }
    }
    return {};
}

FuseUring::~FuseUring() { stop(); }

void FuseUring::stop() {
    for (auto& queue : queues_)
        queue->stop();
}

bool FuseUring::reply(const iovec* iov, int count, ssize_t& written) {
    if (count < 1 || iov[0].iov_len < sizeof(fuse_out_header))
        return false;
    fuse_out_header out{};
    std::memcpy(&out, iov[0].iov_base, sizeof out);
    if (out.unique == 0)  // a notification: /dev/fuse only
        return false;
    for (auto& queue : queues_)
        if (queue->take_reply(out.unique, iov, count, written))
            return true;
    return false;
}

Status enable_fuse_uring() {
    const std::string knob = "/sys/module/fuse/parameters/enable_uring";
    auto read_knob = [&knob] {
        std::ifstream in(knob);
        std::string value;
        std::getline(in, value);
        return value;
    };
    std::string value = read_knob();
    if (value.empty())
        return make_error(Errc::unavailable, "this kernel has no FUSE over io_uring (" + knob + " is missing)");
    if (value != "Y") {
        std::ofstream(knob) << "Y\n";
        value = read_knob();
    }
    if (value != "Y")
        return make_error(Errc::permission, knob + " is off and cannot be switched on (not root?)");
    return {};
}

}  // namespace tiercel::fs
