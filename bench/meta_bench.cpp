// Metadata store benchmark (standalone; not part of bench/CMakeLists.txt). Measures, on PosixDisk replicas in a
// temporary directory:
//   1. memory per key: RSS growth / keys after loading N keys (~40-byte keys, ~100-byte values), in batches of 1000;
//   2. reopen time for those N keys (checkpoint + log replay);
//   3. commit rate: 8 threads x 1-op batches (group commit), 1 thread x 1-op batches, 1 thread x 100-op batches;
//   and, as the native baseline, the rate of raw 64-byte append+fdatasync on one file in the same directory.
// Build and run:
//   g++ -std=c++20 -O2 -Iinclude bench/meta_bench.cpp src/core/error.cpp src/io/*.cpp src/codec/checksum.cpp
//       src/pool/meta_*.cpp -luring -lisal -lpthread -o /tmp/meta_bench
//   /tmp/meta_bench [keys=1000000] [dir=a new /tmp dir, removed afterwards] [replicas=3]
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tiercel/io/posix_disk.hpp"
#include "tiercel/pool/meta_store.hpp"

using namespace tiercel;
using namespace tiercel::pool;
using Clock = std::chrono::steady_clock;

namespace {

constexpr PoolUuid kPool{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

long rss_bytes() {
    std::ifstream statm("/proc/self/statm");
    long pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * sysconf(_SC_PAGESIZE);
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "meta_bench: %s\n", what.c_str());
    std::exit(1);
}

std::vector<io::DiskPtr> make_disks(const std::string& root, int count, const std::string& stem) {
    std::vector<io::DiskPtr> disks;
    for (int i = 0; i < count; ++i) {
        const std::string path = root + "/" + stem + std::to_string(i);
        std::filesystem::create_directories(path);
        auto disk = io::PosixDisk::open(stem + std::to_string(i), path);
        if (!disk.ok())
            die(disk.error().describe());
        disks.push_back(*disk);
    }
    return disks;
}

// ~40-byte key, ~100-byte value, both depending on i.
std::string key_of(std::uint64_t i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "inode/%016llx/extent/%012llu", static_cast<unsigned long long>(i * 2654435761u),
                  static_cast<unsigned long long>(i));
    return buf;
}
std::string value_of(std::uint64_t i) {
    std::string value(100, '\0');
    for (std::size_t j = 0; j < value.size(); ++j)
        value[j] = static_cast<char>(i * 31 + j);
    return value;
}

void measure_memory(const std::string& root, int replicas, std::uint64_t keys) {
    auto disks = make_disks(root, replicas, "mem");
    auto store = MetaStore::create(disks, kPool);
    if (!store.ok())
        die(store.error().describe());
    malloc_trim(0);
    const long before = rss_bytes();
    const auto start = Clock::now();
    MetaBatch batch;
    for (std::uint64_t i = 0; i < keys; ++i) {
        batch.put(key_of(i), value_of(i));
        if (batch.op_count() == 1000 || i + 1 == keys) {
            if (auto done = (*store)->commit(batch); !done.ok())
                die(done.error().describe());
            batch.clear();
        }
    }
    const double load_seconds = seconds_since(start);
    malloc_trim(0);
    const long after = rss_bytes();
    std::printf("load: %llu keys in %.2f s (%.0f keys/s, batches of 1000, %d replicas, %llu checkpoints)\n",
                static_cast<unsigned long long>(keys), load_seconds, keys / load_seconds, replicas,
                static_cast<unsigned long long>((*store)->stats().checkpoints));
    std::printf("memory: RSS +%.1f MiB for %llu keys = %.0f bytes/key (payload %zu bytes/key: key %zu + value %zu)\n",
                (after - before) / 1048576.0, static_cast<unsigned long long>(keys),
                static_cast<double>(after - before) / keys, key_of(1).size() + value_of(1).size(), key_of(1).size(),
                value_of(1).size());
    store->reset();
    malloc_trim(0);
    const auto reopen_start = Clock::now();
    auto opened = MetaStore::open(disks, kPool, replicas);
    if (!opened.ok())
        die(opened.error().describe());
    std::printf("reopen: %llu keys in %.2f s (%s)\n", static_cast<unsigned long long>(opened->store->size()),
                seconds_since(reopen_start), opened->report.clean() ? "clean" : "repairs made");
}

double commit_rate(MetaStore& store, int threads, int commits_each, int ops_per_batch, std::uint64_t& rounds) {
    const auto stats_before = store.stats();
    std::atomic<int> failures{0};
    const auto start = Clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            MetaBatch batch;
            for (int i = 0; i < commits_each; ++i) {
                batch.clear();
                for (int op = 0; op < ops_per_batch; ++op)
                    batch.put(key_of((static_cast<std::uint64_t>(t) << 40) + i * ops_per_batch + op), value_of(i));
                if (!store.commit(batch).ok())
                    ++failures;
            }
        });
    }
    for (auto& worker : workers)
        worker.join();
    const double elapsed = seconds_since(start);
    if (failures.load() > 0)
        die("commits failed during the rate benchmark");
    rounds = store.stats().sync_rounds - stats_before.sync_rounds;
    return threads * commits_each / elapsed;
}

double native_fsync_rate(const std::string& root, int count) {
    const std::string path = root + "/native-baseline";
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_APPEND, 0644);
    if (fd < 0)
        die("cannot open " + path);
    const std::string record(64, 'r');
    const auto start = Clock::now();
    for (int i = 0; i < count; ++i)
        if (::write(fd, record.data(), record.size()) != static_cast<ssize_t>(record.size()) || ::fdatasync(fd) != 0)
            die("native baseline write failed");
    const double elapsed = seconds_since(start);
    ::close(fd);
    return count / elapsed;
}

void measure_commit_rates(const std::string& root, int replicas) {
    auto disks = make_disks(root, replicas, "rate");
    auto store = MetaStore::create(disks, kPool);
    if (!store.ok())
        die(store.error().describe());
    const double native = native_fsync_rate(root, 2000);
    std::printf("native baseline: %.0f append+fdatasync/s on one file\n", native);
    struct Case {
        const char* label;
        int threads, commits_each, ops;
    };
    for (const Case c : {Case{"8 threads x 1-op batches", 8, 1000, 1}, Case{"1 thread x 1-op batches", 1, 2000, 1},
                         Case{"1 thread x 100-op batches", 1, 1000, 100}}) {
        std::uint64_t rounds = 0;
        const double rate = commit_rate(**store, c.threads, c.commits_each, c.ops, rounds);
        std::printf("%-26s %8.0f commits/s (%9.0f ops/s), %llu fsync rounds for %d commits, %.2fx native\n", c.label,
                    rate, rate * c.ops, static_cast<unsigned long long>(rounds), c.threads * c.commits_each,
                    rate / native);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::uint64_t keys = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
    std::string root;
    if (argc > 2) {
        root = argv[2];
        std::filesystem::create_directories(root);
    } else {
        char templ[] = "/tmp/tiercel-meta-bench-XXXXXX";
        if (::mkdtemp(templ) == nullptr)
            die("mkdtemp failed");
        root = templ;
    }
    const int replicas = argc > 3 ? std::atoi(argv[3]) : 3;
    std::printf("meta_bench: %d replicas under %s\n", replicas, root.c_str());
    measure_memory(root, replicas, keys);
    measure_commit_rates(root, replicas);
    if (argc <= 2)
        std::filesystem::remove_all(root);
    return 0;
}
