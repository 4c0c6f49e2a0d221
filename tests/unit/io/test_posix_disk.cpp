// PosixDisk on a real temporary directory: opening, io_uring use, large files, direct (page-cache-bypassing) writes,
// the fd cache, crash-atomic write_file, concurrency, and a root directory deleted while the disk is open.
#include <doctest/doctest.h>

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/magic.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "io_test_support.hpp"
#include "tiercel/io/posix_disk.hpp"

namespace tiercel::io {
namespace {

using test::bytes_of;
using test::describe;
using test::pattern;
using test::text_of;

std::shared_ptr<PosixDisk> open_disk(const test::TempDir& dir, PosixDiskOptions options = {}) {
    auto disk = PosixDisk::open("disk1", dir.path(), options);
    REQUIRE_MESSAGE(disk.ok(), describe(disk));
    return *disk;
}

TEST_CASE("PosixDisk::open rejects a missing root and a root that is a file") {
    test::TempDir dir;
    auto missing = PosixDisk::open("disk9", dir.path() + "/absent");
    REQUIRE(!missing.ok());
    CHECK(missing.error().code() == Errc::not_found);
    CHECK(missing.error().message().find("disk9") != std::string::npos);
    std::ofstream(dir.path() + "/plain") << "x";
    auto file_root = PosixDisk::open("disk9", dir.path() + "/plain");
    REQUIRE(!file_root.ok());
    CHECK(file_root.error().code() == Errc::invalid_input);
}

TEST_CASE("PosixDisk name carries the root path") {
    test::TempDir dir;
    auto disk = open_disk(dir);
    CHECK(disk->name() == "disk1 (" + dir.path() + ")");
    CHECK(disk->root() == dir.path());
}

TEST_CASE("PosixDisk writes and reads back 64 MiB through both backends") {
    test::TempDir dir;
    for (bool ring : {true, false}) {
        CAPTURE(ring);
        auto disk = open_disk(dir, PosixDiskOptions{.use_io_uring = ring});
        Bytes big = pattern(64u << 20, ring ? 1 : 2);
        REQUIRE(disk->write_file("big", big, true).ok());
        auto back = disk->read_file("big");
        REQUIRE_MESSAGE(back.ok(), describe(back));
        CHECK(*back == big);
        Bytes middle(1 << 20);
        REQUIRE(*disk->read_at("big", 33u << 20, middle) == middle.size());
        CHECK(std::equal(middle.begin(), middle.end(), big.begin() + (33 << 20)));
        REQUIRE(disk->write_at("big", 64u << 20, big).ok());  // extend to 128 MiB in one call
        CHECK(*disk->file_size("big") == 128u << 20);
    }
}

// Pages of `path` in the page cache (mincore over a read-only mapping).
size_t resident_pages(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    struct stat st {};
    REQUIRE(::fstat(fd, &st) == 0);
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t pages = (static_cast<size_t>(st.st_size) + page - 1) / page;
    void* map = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    REQUIRE(map != MAP_FAILED);
    std::vector<unsigned char> in_core(pages);
    REQUIRE(::mincore(map, static_cast<size_t>(st.st_size), in_core.data()) == 0);
    ::munmap(map, static_cast<size_t>(st.st_size));
    size_t resident = 0;
    for (unsigned char flag : in_core)
        resident += flag & 1u;
    return resident;
}

TEST_CASE("PosixDisk writes large files past the page cache and keeps every byte, length and rewrite exact") {
    test::TempDir dir;
    struct statfs fs {};
    REQUIRE(::statfs(dir.path().c_str(), &fs) == 0);
    const bool page_cache_is_the_store = fs.f_type == TMPFS_MAGIC;  // tmpfs keeps every page resident by design
    const size_t min = PosixDisk::kDirectWriteMin, align = PosixDisk::kDirectAlign;
    for (bool ring : {true, false}) {
        CAPTURE(ring);
        auto disk = open_disk(dir, PosixDiskOptions{.use_io_uring = ring});
        // Below the threshold, exactly aligned, a shard-like 80-byte tail, and a shorter then longer rewrite.
        for (size_t size : std::vector<size_t>{min - 1, min, 4 * align * 64, (1u << 20) + 80, min + 80, (2u << 20) + 4095}) {
            CAPTURE(size);
            Bytes data = pattern(size, size ^ (ring ? 7 : 9));
            REQUIRE(disk->write_file("shard", data, false).ok());
            auto back = disk->read_file("shard");
            REQUIRE_MESSAGE(back.ok(), describe(back));
            CHECK(*back == data);
            CHECK(*disk->file_size("shard") == size);
            if (size >= min && !page_cache_is_the_store) {
                // Only the unaligned tail went through the page cache (read_file above read it all back, so look
                // at a fresh copy written now).
                REQUIRE(disk->write_file("fresh", data, false).ok());
                CHECK(resident_pages(dir.path() + "/fresh") <= 1);
                REQUIRE(disk->remove("fresh").ok());
            }
        }
        CHECK(disk->direct_writes_active());
    }
}

TEST_CASE("PosixDisk with direct writes off keeps large writes in the page cache, byte for byte") {
    test::TempDir dir;
    auto disk = open_disk(dir, PosixDiskOptions{.direct_writes = false});
    CHECK_FALSE(disk->direct_writes_active());
    Bytes data = pattern((1u << 20) + 80, 3);
    REQUIRE(disk->write_file("shard", data, false).ok());
    CHECK(*disk->read_file("shard") == data);
    CHECK(resident_pages(dir.path() + "/shard") == ((1u << 20) + 80 + 4095) / 4096);
}

TEST_CASE("PosixDisk write_file(sync=true) leaves no temp file and replaces what cached readers see") {
    test::TempDir dir;
    auto disk = open_disk(dir);
    REQUIRE(disk->make_dirs("sub").ok());
    REQUIRE(disk->write_file("sub/f", bytes_of("old"), true).ok());
    CHECK(text_of(*disk->read_file("sub/f")) == "old");  // now cached
    REQUIRE(disk->write_file("sub/f", bytes_of("new content"), true).ok());
    CHECK(text_of(*disk->read_file("sub/f")) == "new content");
    CHECK(*disk->list("sub") == std::vector<std::string>{"f"});
    CHECK(PosixDisk::is_temp_name(".tmp.f.1.2"));
    CHECK(!PosixDisk::is_temp_name("f"));
}

TEST_CASE("PosixDisk write_file(sync=true) cleans its temp file when the rename fails") {
    test::TempDir dir;
    auto disk = open_disk(dir);
    REQUIRE(disk->make_dirs("target_is_dir/inside").ok());
    auto result = disk->write_file("target_is_dir", bytes_of("x"), true);
    CHECK(!result.ok());
    auto names = *disk->list("");
    CHECK(names == std::vector<std::string>{"target_is_dir"});
}

TEST_CASE("PosixDisk caches fds, bounds the cache, and drops entries on rename and remove") {
    test::TempDir dir;
    auto disk = open_disk(dir, PosixDiskOptions{.open_file_cache = 4});
    for (int i = 0; i < 10; ++i)
        REQUIRE(disk->write_at("f" + std::to_string(i), 0, bytes_of("v" + std::to_string(i))).ok());
    CHECK(disk->cached_fds() == 4);
    REQUIRE(disk->rename("f9", "g"));
    CHECK(disk->cached_fds() == 3);
    REQUIRE(disk->write_at("f1", 0, bytes_of("one")).ok());
    REQUIRE(disk->rename("f1", "f8"));  // f8 was cached: the stale fd must not serve the new name
    Bytes head(3);
    REQUIRE(*disk->read_at("f8", 0, head) == 3);  // read_at trusts the cache (read_file would re-check)
    CHECK(text_of(head) == "one");
    REQUIRE(disk->remove("f8"));
    CHECK(disk->read_file("f8").error().code() == Errc::not_found);
}

TEST_CASE("PosixDisk notices a file removed behind its back") {
    test::TempDir dir;
    auto disk = open_disk(dir);
    REQUIRE(disk->write_file("f", bytes_of("data"), false).ok());
    REQUIRE(disk->read_file("f").ok());  // cached
    std::filesystem::remove(dir.path() + "/f");
    CHECK(disk->read_file("f").error().code() == Errc::not_found);
    REQUIRE(disk->write_at("g", 0, bytes_of("data")).ok());
    std::filesystem::remove(dir.path() + "/g");
    auto sync = disk->sync_file("g");
    CHECK(sync.error().code() == Errc::not_found);  // never report a ghost durable
}

TEST_CASE("PosixDisk gives clean errors after its root directory is deleted") {
    test::TempDir dir;
    std::string root = dir.path() + "/disk";
    std::filesystem::create_directory(root);
    auto opened = PosixDisk::open("disk2", root);
    REQUIRE(opened.ok());
    auto disk = *opened;
    REQUIRE(disk->make_dirs("d").ok());
    REQUIRE(disk->write_file("d/f", bytes_of("data"), true).ok());
    REQUIRE(disk->read_file("d/f").ok());
    REQUIRE(disk->write_at("g", 0, bytes_of("data")).ok());
    std::filesystem::remove_all(root);

    auto expect_gone = [&disk](const auto& result, const char* what) {
        CAPTURE(what);
        REQUIRE(!result.ok());
        CHECK(result.error().code() == Errc::not_found);
        CHECK(result.error().message().find(disk->name()) != std::string::npos);
        CHECK_MESSAGE(result.error().message().find("gone") != std::string::npos, result.error().message());
    };
    Bytes buffer(4);
    expect_gone(disk->read_file("d/f"), "read_file of a cached file");
    expect_gone(disk->read_at("h", 0, buffer), "read_at");
    expect_gone(disk->write_file("d/f", bytes_of("x"), true), "write_file sync");
    expect_gone(disk->write_file("x", bytes_of("x"), false), "write_file");
    expect_gone(disk->append("x", bytes_of("x")), "append");
    expect_gone(disk->sync_file("g"), "sync_file of a cached file");
    expect_gone(disk->sync_dir(""), "sync_dir");
    expect_gone(disk->list(""), "list");
    expect_gone(disk->exists("d"), "exists");
    expect_gone(disk->remove("d/f"), "remove");
    expect_gone(disk->make_dirs("new"), "make_dirs");
    expect_gone(disk->rename("g", "h"), "rename");
    expect_gone(disk->space(), "space");
    expect_gone(disk->file_size("g"), "file_size");

    std::filesystem::create_directory(root);  // a new directory at the same path is not the disk we opened
    expect_gone(disk->list(""), "list after the path was recreated");
}

TEST_CASE("PosixDisk serves 8 threads on different files in parallel") {
    test::TempDir dir;
    auto disk = open_disk(dir, PosixDiskOptions{.open_file_cache = 4});  // smaller than the thread count: evictions
    constexpr int kThreads = 8;
    constexpr int kChunks = 64;
    constexpr size_t kChunk = 16 << 10;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::string path = "file" + std::to_string(t);
            for (int c = 0; c < kChunks; ++c) {
                Bytes chunk = pattern(kChunk, t * 1000 + c);
                bool ok = c % 2 == 0 ? disk->write_at(path, c * kChunk, chunk).ok()
                                     : disk->append(path, chunk).ok() && *disk->append(path, {}) == (c + 1) * kChunk;
                Bytes back(kChunk);
                ok = ok && *disk->read_at(path, c * kChunk, back) == kChunk && back == chunk;
                if (!ok)
                    failures.fetch_add(1);
            }
            if (!disk->sync_file(path).ok() || *disk->file_size(path) != kChunks * kChunk)
                failures.fetch_add(1);
        });
    }
    for (auto& thread : threads)
        thread.join();
    CHECK(failures.load() == 0);
}

TEST_CASE("PosixDisk appends from 8 threads to one file never share an offset") {
    test::TempDir dir;
    auto disk = open_disk(dir);
    constexpr int kThreads = 8;
    constexpr int kAppends = 50;
    std::mutex offsets_mutex;
    std::set<uint64_t> offsets;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < kAppends; ++i) {
                auto offset = disk->append("log", bytes_of("0123456789"));
                std::lock_guard lock(offsets_mutex);
                offsets.insert(offset.ok() ? *offset : ~uint64_t{0});
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    CHECK(offsets.size() == kThreads * kAppends);
    CHECK(!offsets.contains(~uint64_t{0}));
    CHECK(*disk->file_size("log") == kThreads * kAppends * 10);
}

}  // namespace
}  // namespace tiercel::io
