// Pool benchmark (issue 3): put and get of incompressible data on six directory disks of one filesystem, 4+2,
// against a native write+fsync and read of the same bytes on that filesystem, measured in the same run.
//   pool_bench [DIR] [SIZE_MiB] [SMALL_OBJECTS] [MEMORY_OBJECTS]
// Prints ratios: put vs native/1.5 (the physical limit for (k+m)/k = 1.5x the bytes), healthy get vs native read,
// degraded get (one disk gone) vs healthy get; CPU seconds per GB of put next to single-core ISA-L encode; 4 KiB
// puts per second; memory per object. Drops the page cache before every read (needs root).
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tiercel/codec/erasure.hpp"
#include "tiercel/core/allocator.hpp"
#include "tiercel/core/log.hpp"
#include "tiercel/io/posix_disk.hpp"
#include "tiercel/pool/pool.hpp"

using namespace tiercel;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

long rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stol(line.substr(6));
    return 0;
}

void drop_caches() {
    ::sync();
    std::ofstream("/proc/sys/vm/drop_caches") << "3\n";
}

// 64 MiB of random bytes, repeated: incompressible for any window this pool uses.
const std::vector<std::byte>& pattern() {
    static std::vector<std::byte> bytes = [] {
        std::vector<std::byte> out(64 << 20);
        std::mt19937_64 rng(42);
        for (size_t i = 0; i < out.size(); i += 8) {
            uint64_t v = rng();
            std::memcpy(&out[i], &v, 8);
        }
        return out;
    }();
    return bytes;
}

double native_write(const std::string& path, uint64_t size) {
    auto start = Clock::now();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (uint64_t done = 0; done < size;) {
        size_t n = std::min<uint64_t>(1 << 20, size - done);
        if (::write(fd, pattern().data() + done % pattern().size(), n) != static_cast<ssize_t>(n))
            std::perror("write");
        done += n;
    }
    ::fsync(fd);
    ::close(fd);
    return size / seconds_since(start) / 1e6;
}

double native_read(const std::string& path, uint64_t size) {
    drop_caches();
    std::vector<char> buffer(1 << 20);
    auto start = Clock::now();
    int fd = ::open(path.c_str(), O_RDONLY);
    while (::read(fd, buffer.data(), buffer.size()) > 0) {
    }
    ::close(fd);
    return size / seconds_since(start) / 1e6;
}

pool::PoolSpec spec_for(const std::vector<std::string>& dirs, bool missing_first) {
    pool::PoolSpec spec;
    spec.k = 4;
    spec.m = 2;
    spec.compression = "none";
    for (size_t i = 0; i < dirs.size(); ++i) {
        pool::PoolDiskSpec disk;
        disk.path = dirs[i];
        if (missing_first && i == 0)
            disk.unavailable_reason = "removed for the degraded-read benchmark";
        else
            disk.disk = *io::PosixDisk::open("disk" + std::to_string(i), dirs[i]);
        spec.disks.push_back(disk);
    }
    return spec;
}

pool::ByteSource pattern_source(uint64_t size) {
    auto offset = std::make_shared<uint64_t>(0);
    return [size, offset](std::span<std::byte> buffer) -> Result<size_t> {
        size_t n = std::min<uint64_t>(buffer.size(), size - *offset);
        size_t done = 0;
        while (done < n) {
            size_t at = (*offset + done) % pattern().size();
            size_t chunk = std::min(n - done, pattern().size() - at);
            std::memcpy(buffer.data() + done, pattern().data() + at, chunk);
            done += chunk;
        }
        *offset += n;
        return n;
    };
}

double pool_get(pool::Pool& pool, uint64_t size) {
    drop_caches();
    uint64_t received = 0;
    auto start = Clock::now();
    Status status = pool.get("big", 0, std::nullopt, [&](std::span<const std::byte> bytes) -> Status {
        received += bytes.size();
        return {};
    });
    double rate = size / seconds_since(start) / 1e6;
    if (!status || received != size)
        std::printf("get failed: %s\n", status ? "short read" : status.error().describe().c_str());
    return rate;
}

double isal_encode_seconds_per_gb() {
    auto coder = codec::ErasureCoder::create(4, 2);
    std::vector<std::vector<uint8_t>> data(4, std::vector<uint8_t>(1 << 20, 7)), parity(2, std::vector<uint8_t>(1 << 20));
    std::vector<const uint8_t*> in;
    std::vector<uint8_t*> out;
    for (auto& d : data) in.push_back(d.data());
    for (auto& p : parity) out.push_back(p.data());
    auto start = Clock::now();
    const int rounds = 256;  // 1 GiB of data
    for (int i = 0; i < rounds; ++i)
        (void)coder->encode(in, out, 1 << 20);
    return seconds_since(start) / (rounds * 4.0 * (1 << 20) / 1e9);
}

}  // namespace

int main(int argc, char** argv) {
    std::string root = argc > 1 ? argv[1] : "/tmp/tiercel-pool-bench";
    uint64_t size = (argc > 2 ? std::stoull(argv[2]) : 1024) << 20;
    int small_objects = argc > 3 ? std::stoi(argv[3]) : 20000;
    int memory_objects = argc > 4 ? std::stoi(argv[4]) : 1000000;
    tune_allocator_for_stripes();
    log::set_threshold(log::Level::error);
    std::filesystem::remove_all(root);
    std::vector<std::string> dirs;
    for (int i = 0; i < 6; ++i) {
        dirs.push_back(root + "/disk" + std::to_string(i));
        std::filesystem::create_directories(dirs.back());
    }
    pattern();
    double write_mb = native_write(root + "/native.bin", size);
    double read_mb = native_read(root + "/native.bin", size);
    std::filesystem::remove(root + "/native.bin");

    auto created = pool::Pool::create(spec_for(dirs, false), {});
    if (!created) {
        std::printf("create failed: %s\n", created.error().describe().c_str());
        return 1;
    }
    auto& pool = **created;
    double cpu_before = cpu_seconds();
    auto start = Clock::now();
    auto put = pool.put("big", pattern_source(size));
    double put_mb = size / seconds_since(start) / 1e6;
    double put_cpu_per_gb = (cpu_seconds() - cpu_before) / (size / 1e9);
    if (!put) {
        std::printf("put failed: %s\n", put.error().describe().c_str());
        return 1;
    }
    double get_mb = pool_get(pool, size);
    created->reset();
    auto degraded = pool::Pool::open(spec_for(dirs, true));
    double degraded_mb = degraded ? pool_get(**degraded, size) : 0;
    degraded->reset();

    std::printf("pool benchmark: %llu MiB, 4+2, compression none, six directories on one filesystem (%s)\n",
                static_cast<unsigned long long>(size >> 20), root.c_str());
    std::printf("  native write+fsync      %8.0f MB/s   (physical limit for put: /1.5 = %.0f MB/s)\n", write_mb,
                write_mb / 1.5);
    std::printf("  native read (cold)      %8.0f MB/s\n", read_mb);
    std::printf("  pool put                %8.0f MB/s   ratio to limit %.2f (target >= 0.8)\n", put_mb,
                put_mb / (write_mb / 1.5));
    std::printf("  pool get healthy (cold) %8.0f MB/s   ratio to native read %.2f (target >= 0.8)\n", get_mb,
                get_mb / read_mb);
    std::printf("  pool get, 1 disk gone   %8.0f MB/s   ratio to healthy get %.2f (target >= 0.6)\n", degraded_mb,
                degraded_mb / get_mb);
    std::printf("  put CPU                 %8.2f s/GB   single-core ISA-L encode 4+2: %.3f s/GB\n", put_cpu_per_gb,
                isal_encode_seconds_per_gb());

    // Small objects: 4 KiB puts from 8 threads (inline in the metadata, group-committed).
    auto small_pool = pool::Pool::open(spec_for(dirs, false));
    std::atomic<int> next{0};
    start = Clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int i = next++; i < small_objects; i = next++)
                (void)(*small_pool)->put("small/" + std::to_string(i), pattern_source(4096));
        });
    for (auto& thread : threads)
        thread.join();
    std::printf("  4 KiB puts, 8 threads   %8.0f puts/s (%d objects)\n", small_objects / seconds_since(start),
                small_objects);

    // Memory per object: empty objects, so only the per-object metadata is counted.
    long rss_before = rss_kib();
    next = small_objects;
    int target = small_objects + memory_objects;
    start = Clock::now();
    threads.clear();
    // Many writers, so group commit batches many small commits into one fsync round.
    for (int t = 0; t < 64; ++t)
        threads.emplace_back([&] {
            for (int i = next++; i < target; i = next++)
                (void)(*small_pool)->put("m/" + std::to_string(i) + "/some/typical/path.jpg", pattern_source(0));
        });
    for (auto& thread : threads)
        thread.join();
    long rss_after = rss_kib();
    std::printf("  metadata memory         %8.0f bytes/object over %d objects (name ~28 B, empty object; "
                "inline data adds its own size) [%.0f s]\n",
                (rss_after - rss_before) * 1024.0 / memory_objects, memory_objects, seconds_since(start));
    small_pool->reset();
    std::filesystem::remove_all(root);
    return 0;
}
