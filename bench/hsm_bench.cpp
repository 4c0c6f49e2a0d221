// hsm_bench: what the HSM costs hot files, and how fast it archives and recalls, against native baselines measured
// in the same run on the same loop-mounted ext4 image.
// Usage (root): hsm_bench [workdir] [--recall-only] [--rounds N] [--hot-rounds N]   (default /tmp; needs ~4.5 GiB
// free). It makes a 4 GiB sparse ext4 image, mounts it, and always unmounts it. --recall-only runs parts 2 and 3's
// recall alone (no small files, hot path or archive comparison: for profiling the recall); --rounds sets the recall
// rounds (3), --hot-rounds the hot-path rounds (15).
//  1. Hot path: open+read+close of 10,000 small hot files plus a 1 GiB sequential read, on a filesystem that also
//     holds 10,000 stubs: with no interceptor ("daemon stopped") and with the interceptor and its 10,000 inode marks
//     ("daemon running"), back to back in each round, alternating which goes first; page cache warm. Ratio =
//     stopped / running time (1.00 = no cost): the median of the per-round ratios, and the ratio of the best times.
//     Then, 3 rounds with an extra directory-wide FAN_ACCESS_PERM listener that allows everything.
//  2. Time to the first 4 KiB of a 1 GiB stub (dir target), median of the rounds.
//  3. Full recall of the 1 GiB stub (sequential read of the stub, 1 MiB reads) against reading and decompressing its
//     payload directly (one thread, no write: as issue 5 defines it), min and median of the rounds; a round during
//     which someone dropped the page cache (/proc/vmstat drop_pagecache moved) is printed but left out. Archive
//     (premigrate: hash, compress, write, read back and verify) against zstd-compressing the file straight into the
//     target directory.
// Before any Asio header (this target is built without the precompiled-header list).
#include "tiercel/core/asio_uring_fix.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/fanotify.h>
#include <sys/xattr.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <zstd.h>

#include "tiercel/hsm/archiver.hpp"
#include "tiercel/hsm/file_state.hpp"
#include "tiercel/hsm/interceptor.hpp"

namespace {

using namespace tiercel;
using Clock = std::chrono::steady_clock;
constexpr int kSmallFiles = 10'000;
constexpr size_t kSmallSize = 4096;
constexpr size_t kBig = size_t{1} << 30;

// The image's mount point and the work directory, once made: die() must unmount and remove them too (std::exit
// skips main's destructors, and a failed run used to leave its loop mount behind).
std::string mounted_at, work_dir;

void clean_up() {
    if (!mounted_at.empty())
        std::system(("umount " + mounted_at + " 2>/dev/null || umount -l " + mounted_at).c_str());
    if (!work_dir.empty())
        std::filesystem::remove_all(work_dir);
    mounted_at.clear();
    work_dir.clear();
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "hsm_bench: %s\n", what.c_str());
    clean_up();
    std::exit(1);
}

void run(const std::string& command) {
    if (std::system(command.c_str()) != 0)
        die("failed: " + command);
}

double seconds(const std::function<void()>& body) {
    auto start = Clock::now();
    body();
    return std::chrono::duration<double>(Clock::now() - start).count();
}

void write_file(const std::string& path, size_t size, unsigned seed) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die("create " + path);
    std::vector<uint8_t> block(1 << 20);
    for (size_t i = 0; i < block.size(); ++i)
        block[i] = static_cast<uint8_t>((i * 2654435761u + seed) >> (i % 7 == 0 ? 3 : 24));
    for (size_t offset = 0; offset < size; offset += block.size()) {
        size_t n = std::min(block.size(), size - offset);
        block[0] = static_cast<uint8_t>(offset >> 20);
        if (::pwrite(fd, block.data(), n, static_cast<off_t>(offset)) != static_cast<ssize_t>(n))
            die("write " + path);
    }
    ::close(fd);
}

size_t read_all(const std::string& path, size_t chunk) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("open " + path + ": " + std::strerror(errno));
    std::vector<char> buffer(chunk);
    size_t total = 0;
    while (true) {
        ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0)
            die("read " + path + ": " + std::strerror(errno));
        if (n == 0)
            break;
        total += static_cast<size_t>(n);
    }
    ::close(fd);
    return total;
}

std::string small_path(const std::string& dir, int i) {
    char name[32];
    std::snprintf(name, sizeof name, "/f%05d", i);
    return dir + name;
}

double hot_workload(const std::string& hot) {
    return seconds([&] {
        for (int i = 0; i < kSmallFiles; ++i)
            read_all(small_path(hot + "/small", i), kSmallSize);
        read_all(hot + "/big.bin", 1 << 20);
    });
}

// A directory-wide FAN_ACCESS_PERM listener that allows everything (how some HSMs watch directories).
class AllowAllListener {
public:
    explicit AllowAllListener(const std::vector<std::string>& dirs) {
        group_ = ::fanotify_init(FAN_CLOEXEC | FAN_NONBLOCK | FAN_CLASS_CONTENT, O_RDONLY | O_LARGEFILE);
        if (group_ < 0)
            die("fanotify_init for the FAN_ACCESS_PERM listener");
        for (const auto& dir : dirs)
            if (::fanotify_mark(group_, FAN_MARK_ADD, FAN_ACCESS_PERM | FAN_EVENT_ON_CHILD, AT_FDCWD, dir.c_str()))
                die("fanotify_mark FAN_ACCESS_PERM " + dir);
        thread_ = std::thread([this] { serve(); });
    }
    ~AllowAllListener() {
        stop_ = true;
        thread_.join();
        ::close(group_);  // the marks go with the group
    }

private:
    void serve() {
        alignas(fanotify_event_metadata) char buffer[8192];
        while (!stop_) {
            pollfd ready{group_, POLLIN, 0};
            if (::poll(&ready, 1, 50) <= 0)
                continue;
            ssize_t n = ::read(group_, buffer, sizeof buffer);
            if (n <= 0)
                continue;
            auto* meta = reinterpret_cast<fanotify_event_metadata*>(buffer);
            long left = n;
            for (; FAN_EVENT_OK(meta, left); meta = FAN_EVENT_NEXT(meta, left)) {
                if (meta->fd < 0)
                    continue;
                fanotify_response reply{meta->fd, FAN_ALLOW};
                (void)!::write(group_, &reply, sizeof reply);
                ::close(meta->fd);
            }
        }
    }
    int group_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

void wait_for_state(const std::string& path, const std::string& state) {
    for (int i = 0; i < 6000; ++i) {
        char buffer[256];
        ssize_t n = ::getxattr(path.c_str(), hsm::state_xattr, buffer, sizeof buffer - 1);
        if (n > 0 && std::string(buffer, static_cast<size_t>(n)).rfind("state=" + state, 0) == 0)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    die(path + " never reached state " + state);
}

// How many times anyone wrote /proc/sys/vm/drop_caches (1 or 3) since boot. On a shared machine another benchmark may
// drop the page cache in the middle of a round; the recall then reads the payload from disk while the baseline
// right after it finds it cached again, and the round compares nothing.
long page_cache_drops() {
    std::FILE* in = std::fopen("/proc/vmstat", "r");
    if (!in)
        return -1;
    char name[64];
    long value = 0, found = -1;
    while (std::fscanf(in, "%63s %ld", name, &value) == 2)
        if (std::strcmp(name, "drop_pagecache") == 0)
            found = value;
    std::fclose(in);
    return found;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double min_of(const std::vector<double>& values) { return *std::min_element(values.begin(), values.end()); }
double max_of(const std::vector<double>& values) { return *std::max_element(values.begin(), values.end()); }

double direct_decompress(hsm::Target& target, const std::string& key) {
    return seconds([&] {
        auto source = target.open(key);
        if (!source)
            die("open payload");
        auto table = hsm::read_seek_table(**source);
        std::vector<uint8_t> compressed, raw;  // reused, as the recall's fill threads do
        for (const auto& frame : table->frames)
            if (!hsm::read_frame_into(**source, frame, compressed, raw))
                die("decode payload");
    });
}

double direct_compress(const std::string& path, const std::string& out_path) {
    return seconds([&] {
        int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        std::vector<uint8_t> raw(1 << 20), packed(ZSTD_compressBound(1 << 20));
        while (true) {
            ssize_t n = ::read(in, raw.data(), raw.size());
            if (n <= 0)
                break;
            size_t c = ZSTD_compress(packed.data(), packed.size(), raw.data(), static_cast<size_t>(n), 3);
            if (::write(out, packed.data(), c) != static_cast<ssize_t>(c))
                die("write");
        }
        ::fsync(out);
        ::close(in);
        ::close(out);
    });
}

struct Args {
    std::string base = "/tmp";
    bool recall_only = false;
    int rounds = 3;
    int hot_rounds = 15;
};

Args parse_args(int argc, char** argv) {
    Args args;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--recall-only")
            args.recall_only = true;
        else if (arg == "--rounds" && i + 1 < argc)
            args.rounds = std::max(1, std::atoi(argv[++i]));
        else if (arg == "--hot-rounds" && i + 1 < argc)
            args.hot_rounds = std::max(1, std::atoi(argv[++i]));
        else if (!arg.empty() && arg[0] != '-')
            args.base = arg;
        else
            die("usage: hsm_bench [workdir] [--recall-only] [--rounds N] [--hot-rounds N]");
    }
    return args;
}

}  // namespace

int main(int argc, char** argv) {
    const Args args = parse_args(argc, argv);
    const std::string& base = args.base;
    const int small_files = args.recall_only ? 0 : kSmallFiles;
    auto work = base + "/hsm-bench-" + std::to_string(::getpid());
    auto image = work + "/fs.img", mnt = work + "/mnt", archive = work + "/archive";
    std::filesystem::create_directories(mnt);
    std::filesystem::create_directories(archive);
    run("truncate -s 4G " + image + " && mkfs.ext4 -q -F " + image + " && mount -o loop " + image + " " + mnt);
    mounted_at = mnt;
    work_dir = work;
    struct Cleanup {
        ~Cleanup() { clean_up(); }
    } cleanup;

    auto hot = mnt + "/hot", cold = mnt + "/cold";
    std::filesystem::create_directories(hot + "/small");
    std::filesystem::create_directories(cold);
    for (int i = 0; i < small_files; ++i) {
        write_file(small_path(hot + "/small", i), kSmallSize, static_cast<unsigned>(i));
        write_file(small_path(cold, i), kSmallSize, static_cast<unsigned>(i));
    }
    if (!args.recall_only)
        write_file(hot + "/big.bin", kBig, 1);
    write_file(cold + "/big_stub.bin", kBig, 2);
    auto scratch = cold + "/archive_me.bin";
    if (!args.recall_only)
        write_file(scratch, kBig, 3);

    auto catalog_open = hsm::Catalog::open(work + "/catalog.db");
    if (!catalog_open)
        die(catalog_open.error().describe());
    hsm::SharedCatalog catalog(std::move(*catalog_open));
    hsm::Targets targets;
    targets.all.push_back(hsm::make_dir_target("shelf", archive));
    std::vector<hsm::Target*> target_list{targets.all[0].get()};

    // Archive throughput, compared with zstd straight into the target directory.
    double archive_seconds = 0, zstd_seconds = 0;
    if (!args.recall_only) {
        archive_seconds = seconds([&] {
            catalog.with([&](hsm::Catalog& c) {
                if (auto r = hsm::premigrate(c, target_list, scratch, 3); !r)
                    die(r.error().describe());
                return 0;
            });
        });
        zstd_seconds = direct_compress(scratch, archive + "/direct.zst");
    }

    boost::asio::io_context loop;
    auto guard = boost::asio::make_work_guard(loop);
    std::thread loop_thread([&] { loop.run(); });
    auto group = hsm::create_pre_content_group();
    if (!group)
        die(group.error().describe());
    auto interceptor = std::make_unique<hsm::Interceptor>(loop, catalog, targets, hsm::InterceptorOptions{}, *group);
    boost::asio::post(loop, [&] { interceptor->start(); });
    // Asio objects belong to the loop thread: stop and destroy the interceptor there.
    auto on_loop = [&](std::function<void()> body) {
        std::promise<void> done;
        boost::asio::post(loop, [&] {
            body();
            done.set_value();
        });
        done.get_future().wait();
    };
    auto stub_file = [&](const std::string& path) {
        catalog.with([&](hsm::Catalog& c) {
            if (auto r = hsm::premigrate(c, target_list, path, 3); !r)
                die(r.error().describe());
            hsm::BypassScope bypass;
            // The interceptor closes its fd of a recalled file just after the state flips to premigrated; until
            // then the stub step's write lease is refused (busy): retry briefly.
            for (int attempt = 0;; ++attempt) {
                auto s = hsm::stub(c, path, [&](int fd) { return interceptor->mark_fd(fd); });
                if (s)
                    break;
                if (s.error().code() != Errc::busy || attempt == 500)
                    die(s.error().describe());
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            return 0;
        });
    };
    std::printf("stubbing %d small files ...\n", small_files);
    for (int i = 0; i < small_files; ++i)
        stub_file(small_path(cold, i));
    stub_file(cold + "/big_stub.bin");

    // Per round: time to first byte of the 1 GiB stub (a read in its middle), then, re-stubbed, its full recall
    // by a sequential reader, then the baseline (read + decode the payload, no write) right after, so both see
    // the same machine load.
    std::vector<double> ttfb, recall, decode, ratio;
    int dropped_rounds = 0;
    auto path = cold + "/big_stub.bin";
    for (int round = 0; round < args.rounds; ++round) {
        const long drops_before = page_cache_drops();
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        char first[4096];
        ttfb.push_back(seconds([&] {
            if (::pread(fd, first, sizeof first, static_cast<off_t>(kBig / 2)) != sizeof first)
                die("first read of the stub");
        }));
        ::close(fd);
        wait_for_state(path, "premigrated");
        stub_file(path);
        recall.push_back(seconds([&] {
            if (read_all(path, 1 << 20) != kBig)
                die("the recalled stub has the wrong size");
        }));
        wait_for_state(path, "premigrated");
        stub_file(path);
        auto state = catalog.with([&](hsm::Catalog& c) { return c.file_by_path(path); });
        double decoded =
            direct_decompress(*targets.all[0], hsm::payload_key((*state)->id, (*state)->current_version));
        const bool dropped = page_cache_drops() != drops_before;
        std::printf("round %d: first 4 KiB %.1f ms, recall %.0f MiB/s, read+decode %.0f MiB/s, ratio %.2f%s\n", round,
                    ttfb.back() * 1e3, 1024 / recall.back(), 1024 / decoded, decoded / recall.back(),
                    dropped ? "  (page cache dropped by someone during the round: left out)" : "");
        if (dropped) {
            ++dropped_rounds;
            recall.pop_back();
            continue;
        }
        decode.push_back(decoded);
        ratio.push_back(decoded / recall.back());
    }
    if (recall.empty())
        die("every round saw a page cache drop: nothing to compare");

    // Hot path. Each round measures "running" (interceptor, 10k marks) and "stopped" (no fanotify group) back to
    // back, alternating which goes first, so drift in the machine's state (page cache, frequency, other load) hits
    // both alike; the ratio is the median of the per-round ratios (with the spread) and the ratio of the best times.
    // The FAN_ACCESS_PERM comparison runs with the interceptor, in fewer rounds (it is ten times slower).
    auto stop_interceptor = [&] {
        on_loop([&] {
            interceptor->stop();
            interceptor.reset();
        });
    };
    auto start_interceptor = [&] {
        auto again = hsm::create_pre_content_group();
        if (!again)
            die(again.error().describe());
        interceptor = std::make_unique<hsm::Interceptor>(loop, catalog, targets, hsm::InterceptorOptions{}, *again);
        for (int i = 0; i < kSmallFiles; ++i)
            if (auto m = interceptor->mark_path(small_path(cold, i)); !m)
                die(m.error().describe());
        boost::asio::post(loop, [&] { interceptor->start(); });
    };
    std::vector<double> stopped_times, running_times, round_ratios, access_perm_times;
    if (!args.recall_only) {
        hot_workload(hot);  // warm the page cache
        for (int round = 0; round < args.hot_rounds; ++round) {
            double running = 0, stopped = 0;
            if (round % 2 == 0) {
                running = hot_workload(hot);
                stop_interceptor();
                stopped = hot_workload(hot);
                start_interceptor();
            } else {
                stop_interceptor();
                stopped = hot_workload(hot);
                start_interceptor();
                running = hot_workload(hot);
            }
            running_times.push_back(running);
            stopped_times.push_back(stopped);
            round_ratios.push_back(stopped / running);
        }
        for (int round = 0; round < 3; ++round) {
            AllowAllListener listener({hot, hot + "/small"});
            access_perm_times.push_back(hot_workload(hot));
        }
    }
    on_loop([&] {
        interceptor->stop();
        interceptor.reset();
    });
    guard.reset();
    loop.stop();
    loop_thread.join();

    double gib = double(kBig) / double(1 << 30);
    if (!args.recall_only) {
        std::printf("\nhot path (10,000 x 4 KiB open/read/close + 1 GiB sequential read; 10,000 stubs on the same fs)\n");
        std::printf("  daemon stopped           best %7.3f s, median %7.3f s\n", min_of(stopped_times),
                    median(stopped_times));
        std::printf("  daemon running           best %7.3f s, median %7.3f s\n", min_of(running_times),
                    median(running_times));
        std::printf("  ratio stopped/running    median of %zu rounds %.3f (min %.3f, max %.3f); best times %.3f\n",
                    round_ratios.size(), median(round_ratios), min_of(round_ratios), max_of(round_ratios),
                    min_of(stopped_times) / min_of(running_times));
        std::printf("  + FAN_ACCESS_PERM on dir best %7.3f s   ratio %.3f\n", min_of(access_perm_times),
                    min_of(stopped_times) / min_of(access_perm_times));
    }
    std::printf("time to first 4 KiB of a 1 GiB stub: median %.1f ms (min %.1f, max %.1f)\n", median(ttfb) * 1e3,
                min_of(ttfb) * 1e3, max_of(ttfb) * 1e3);
    std::printf("full recall of the 1 GiB stub: median %.0f MiB/s; reading+decompressing the payload directly: median "
                "%.0f MiB/s; ratio per round: median %.2f, min %.2f (%zu rounds; %d left out)\n",
                1024 * gib / median(recall), 1024 * gib / median(decode), median(ratio), min_of(ratio),
                ratio.size(), dropped_rounds);
    if (!args.recall_only)
        std::printf("archive (premigrate) of 1 GiB: %.0f MiB/s; zstd -3 into the target directly: %.0f MiB/s; "
                    "ratio %.2f\n",
                    1024 * gib / archive_seconds, 1024 * gib / zstd_seconds, zstd_seconds / archive_seconds);
    return 0;
}
