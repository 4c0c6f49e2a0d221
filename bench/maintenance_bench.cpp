// maintenance_bench: heal and scrub throughput against native sequential write/read on the same filesystem, and the
// effect of a running scrub on foreground read latency. Standalone (not in a bench/CMakeLists.txt).
// Setup: a 4+2 pool (1 MiB chunks, no compression) on 8 directory disks under DIR, filled with SIZE MiB of random
// objects of 16 MiB.
//   1. native: one 256 MiB file written in 1 MiB pwrite()s + fsync (MiB/s), then read back cold (page cache dropped
//      with posix_fadvise DONTNEED) in 1 MiB reads.
//   2. heal: disk3's directory is wiped, the pool reopened and healed; rate = bytes of shards rebuilt and written per
//      second (the heal also reads k shards per stripe: read bytes are printed too).
//   3. scrub: page cache of every shard dropped, then a full scrub; rate = shard bytes read and verified per second.
//   4. foreground reads: 2000 random 256 KiB get()s, p50/p99 latency, alone and while scrubs run in a loop in a second
//      thread (scrub with default throttling: 4 workers, 50 ms latency back-off, no bandwidth limit; then again with
//      --bandwidth 50M).
// Build and run (after `ninja -C build tiercel`):
//   ninja -C build maintenance_bench && build/bench/maintenance_bench 1024 /tmp
//   arguments: [SIZE MiB=1024] [DIR=/tmp]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tiercel/io/posix_disk.hpp"
#include "tiercel/pool/maintenance.hpp"
#include "tiercel/pool/pool.hpp"

using namespace tiercel;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void drop_cache(const fs::path& root) {
    for (auto& entry : fs::recursive_directory_iterator(root)) {
        if (!entry.is_regular_file())
            continue;
        int fd = ::open(entry.path().c_str(), O_RDONLY);
        if (fd >= 0) {
            ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            ::close(fd);
        }
    }
}

std::pair<double, double> native_write_read(const fs::path& dir) {
    const size_t total = 256u << 20, block = 1u << 20;
    std::vector<char> buffer(block);
    std::mt19937_64 rng(1);
    for (auto& c : buffer)
        c = static_cast<char>(rng());
    fs::path file = dir / "native.bin";
    int fd = ::open(file.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    auto start = Clock::now();
    for (size_t off = 0; off < total; off += block)
        if (::pwrite(fd, buffer.data(), block, static_cast<off_t>(off)) != static_cast<ssize_t>(block))
            std::abort();
    ::fsync(fd);
    double write_rate = total / seconds_since(start) / (1 << 20);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
    fd = ::open(file.c_str(), O_RDONLY);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    start = Clock::now();
    for (size_t off = 0; off < total; off += block)
        if (::pread(fd, buffer.data(), block, static_cast<off_t>(off)) != static_cast<ssize_t>(block))
            std::abort();
    double read_rate = total / seconds_since(start) / (1 << 20);
    ::close(fd);
    fs::remove(file);
    return {write_rate, read_rate};
}

pool::PoolSpec make_spec(const fs::path& root) {
    pool::PoolSpec spec;
    spec.k = 4;
    spec.m = 2;
    spec.chunk_size = 1 << 20;
    spec.compression = "none";
    for (int i = 0; i < 8; ++i) {
        fs::path path = root / ("d" + std::to_string(i));
        fs::create_directories(path);
        pool::PoolDiskSpec disk;
        disk.path = path.string();
        auto opened = io::PosixDisk::open("d" + std::to_string(i), disk.path);
        if (opened)
            disk.disk = *opened;
        spec.disks.push_back(disk);
    }
    return spec;
}

std::pair<double, double> latency_ms(pool::Pool& pool, size_t objects, uint64_t object_size, int reads) {
    std::mt19937_64 rng(7);
    std::vector<double> samples;
    for (int i = 0; i < reads; ++i) {
        std::string name = "o" + std::to_string(rng() % objects);
        uint64_t offset = (rng() % (object_size / (256 << 10))) * (256 << 10);
        auto start = Clock::now();
        Status status = pool.get(name, offset, 256u << 10, [](std::span<const std::byte>) -> Status { return {}; });
        if (!status)
            std::fprintf(stderr, "get failed: %s\n", status.error().describe().c_str());
        samples.push_back(seconds_since(start) * 1000);
    }
    std::sort(samples.begin(), samples.end());
    return {samples[samples.size() / 2], samples[samples.size() * 99 / 100]};
}

}  // namespace

int main(int argc, char** argv) {
    const uint64_t size_mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1024;
    const fs::path base = argc > 2 ? argv[2] : "/tmp";
    char templ[4096];
    std::snprintf(templ, sizeof templ, "%s/tiercel-maint-bench-XXXXXX", base.c_str());
    fs::path root = ::mkdtemp(templ);
    std::printf("pool: 4+2, 1 MiB chunks, 8 directory disks under %s, %llu MiB of data\n", root.c_str(),
                static_cast<unsigned long long>(size_mib));

    auto [native_write, native_read] = native_write_read(root);
    std::printf("native sequential write %.0f MiB/s, cold read %.0f MiB/s\n", native_write, native_read);

    pool::PoolSpec spec = make_spec(root);
    auto created = pool::Pool::create(spec, {});
    if (!created) {
        std::fprintf(stderr, "%s\n", created.error().describe().c_str());
        return 1;
    }
    const uint64_t object_size = 16ull << 20;
    const size_t objects = std::max<uint64_t>(1, (size_mib << 20) / object_size);
    {
        std::mt19937_64 rng(3);
        std::vector<uint64_t> block(object_size / 8);
        for (size_t i = 0; i < objects; ++i) {
            for (auto& word : block)
                word = rng();
            size_t offset = 0;
            auto bytes = reinterpret_cast<const std::byte*>(block.data());
            auto put = (*created)->put("o" + std::to_string(i), [&](std::span<std::byte> out) -> Result<size_t> {
                size_t n = std::min(out.size(), static_cast<size_t>(object_size) - offset);
                std::memcpy(out.data(), bytes + offset, n);
                offset += n;
                return n;
            });
            if (!put)
                return 1;
        }
    }
    created->reset();

    // Heal of one lost disk.
    fs::remove_all(root / "d3");
    fs::create_directories(root / "d3");
    spec = make_spec(root);
    auto opened = pool::Pool::open(spec);
    if (!opened)
        return 1;
    pool::Pool& pool = **opened;
    auto heal = pool::heal_pool(pool, {});
    if (!heal || !heal->unrepairable.empty()) {
        std::fprintf(stderr, "heal failed\n");
        return 1;
    }
    double heal_rate = heal->bytes_written / heal->seconds / (1 << 20);
    std::printf("heal: rebuilt %llu shards, wrote %.0f MiB (read %.0f MiB) in %.2f s = %.0f MiB/s rebuilt "
                "(%.2f x native write)\n",
                static_cast<unsigned long long>(heal->shards_rebuilt), heal->bytes_written / 1048576.0,
                heal->bytes_read / 1048576.0, heal->seconds, heal_rate, heal_rate / native_write);

    // Scrub, cold.
    drop_cache(root);
    auto scrub = pool::scrub_pool(pool, {});
    if (!scrub)
        return 1;
    double scrub_rate = scrub->bytes_read / scrub->seconds / (1 << 20);
    std::printf("scrub: verified %llu shards, %.0f MiB in %.2f s = %.0f MiB/s (%.2f x native read)\n",
                static_cast<unsigned long long>(scrub->shards_checked), scrub->bytes_read / 1048576.0, scrub->seconds,
                scrub_rate, scrub_rate / native_read);

    // Foreground latency without and with a scrub running.
    drop_cache(root);
    auto [p50, p99] = latency_ms(pool, objects, object_size, 2000);
    std::printf("foreground 256 KiB reads, no scrub:        p50 %.2f ms  p99 %.2f ms\n", p50, p99);
    for (uint64_t bandwidth : {uint64_t{0}, uint64_t{50} << 20}) {
        std::atomic<bool> stop{false};
        std::thread scrubber([&] {
            pool::MaintenanceOptions options;
            options.restart = true;
            options.bandwidth_limit = bandwidth;
            options.cancel = &stop;
            while (!stop) {
                drop_cache(root);
                (void)pool::scrub_pool(pool, options);
            }
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        auto [s50, s99] = latency_ms(pool, objects, object_size, 2000);
        stop = true;
        scrubber.join();
        std::printf("foreground 256 KiB reads, scrub running%s: p50 %.2f ms  p99 %.2f ms\n",
                    bandwidth ? " (50 MiB/s limit)" : " (unlimited)", s50, s99);
    }
    opened->reset();
    fs::remove_all(root);
    return 0;
}
