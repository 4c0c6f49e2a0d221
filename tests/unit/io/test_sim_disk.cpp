// SimDisk: replay from the seed, crash outcomes (kept, dropped, torn), capacity, transient faults, corruption and
// thread safety. Every test that depends on the PRNG names its seed in the failure output.
#include <doctest/doctest.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "io_test_support.hpp"
#include "tiercel/io/sim_disk.hpp"

namespace tiercel::io {
namespace {

using test::bytes_of;
using test::pattern;
using test::text_of;

// A mixed workload whose every observable result is written to a trace string.
std::string run_workload(uint64_t seed) {
    auto disk = SimDisk::create("sim", SimDiskOptions{.seed = seed,
                                                      .max_latency = std::chrono::microseconds(3),
                                                      .read_error_probability = 0.1,
                                                      .write_error_probability = 0.1});
    std::ostringstream trace;
    auto note = [&trace](const auto& result) { trace << (result.ok() ? "ok" : result.error().describe()) << ';'; };
    note(disk->make_dirs("d"));
    for (int i = 0; i < 40; ++i) {
        std::string path = "d/f" + std::to_string(i % 5);
        note(disk->write_at(path, (i * 700) % 3000, pattern(1500, i)));
        if (i % 3 == 0)
            note(disk->sync_file(path));
        if (i % 7 == 0)
            note(disk->sync_dir("d"));
        auto content = disk->read_file(path);
        note(content);
        if (content.ok())
            trace << content->size() << ':' << std::hash<std::string>{}(text_of(*content));
    }
    CrashReport report = disk->crash();
    trace << report.mutations_kept << ',' << report.mutations_dropped << ',' << report.writes_torn << ','
          << report.files_lost << ';';
    for (const BitFlip& flip : disk->corrupt_random(3))
        trace << flip.path << '@' << flip.byte_offset << '.' << flip.bit << ';';
    auto names = disk->list("d");  // kept alive: a range-for over *temporary would dangle
    for (const std::string& name : names.value()) {
        auto content = disk->read_file("d/" + name);
        trace << name << '=';
        note(content);
        if (content.ok())
            trace << std::hash<std::string>{}(text_of(*content)) << ';';
    }
    return trace.str();
}

TEST_CASE("SimDisk replays exactly from its seed") {
    for (uint64_t seed : {1ull, 42ull, 0xdeadbeefull}) {
        CAPTURE(seed);
        std::string first = run_workload(seed);
        CHECK(first == run_workload(seed));
        CHECK(first != run_workload(seed + 1));
    }
}

TEST_CASE("SimDisk crash keeps synced data, write_file(sync=true), and only durable names") {
    auto disk = SimDisk::create("sim", SimDiskOptions{.seed = 3});
    REQUIRE(disk->write_file("atomic", bytes_of("v1"), true).ok());
    REQUIRE(disk->write_file("atomic", bytes_of("v2"), true).ok());
    REQUIRE(disk->write_file("plain", bytes_of("v1"), true).ok());
    REQUIRE(disk->write_file("plain", bytes_of("v2-longer"), false).ok());
    REQUIRE(disk->write_at("synced", 0, bytes_of("data")).ok());
    REQUIRE(disk->sync_file("synced").ok());
    REQUIRE(disk->sync_dir("").ok());
    REQUIRE(disk->write_at("nameless", 0, bytes_of("data")).ok());
    REQUIRE(disk->sync_file("nameless").ok());
    REQUIRE(disk->rename("synced", "renamed").ok());
    CrashReport report = disk->crash();
    CHECK(text_of(*disk->read_file("atomic")) == "v2");
    CHECK(text_of(*disk->read_file("synced")) == "data");  // the rename was never made durable
    CHECK(!*disk->exists("renamed"));
    CHECK(!*disk->exists("nameless"));
    std::string plain = text_of(*disk->read_file("plain"));
    CHECK_MESSAGE((plain == "v1" || plain == "" || plain == "v2-longer" || plain.size() == 9), "got ", plain);
    CHECK(report.files_lost == 2);  // nameless and renamed
}

TEST_CASE("SimDisk crash keeps, drops or tears unsynced writes sector by sector") {
    constexpr size_t kSector = 512;
    constexpr size_t kSize = 8 * kSector;
    Bytes old_bytes = pattern(kSize, 1);
    Bytes new_bytes = pattern(kSize, 2);
    size_t kept = 0, dropped = 0, torn = 0, mixed = 0;
    for (uint64_t seed = 0; seed < 60; ++seed) {
        CAPTURE(seed);
        auto disk = SimDisk::create("sim", SimDiskOptions{.seed = seed, .sector_size = kSector});
        REQUIRE(disk->write_file("f", old_bytes, true).ok());
        REQUIRE(disk->write_at("f", 0, new_bytes).ok());
        CrashReport report = disk->crash();
        Bytes after = *disk->read_file("f");
        REQUIRE(after.size() == kSize);
        size_t new_sectors = 0;
        for (size_t s = 0; s < kSize / kSector; ++s) {
            auto begin = static_cast<std::ptrdiff_t>(s * kSector);
            bool is_old = std::equal(after.begin() + begin, after.begin() + begin + kSector, old_bytes.begin() + begin);
            bool is_new = std::equal(after.begin() + begin, after.begin() + begin + kSector, new_bytes.begin() + begin);
            REQUIRE_MESSAGE((is_old || is_new), "sector ", s, " is neither old nor new");
            new_sectors += is_new;
        }
        kept += report.mutations_kept;
        dropped += report.mutations_dropped;
        torn += report.writes_torn;
        if (report.mutations_kept == 1)
            CHECK(new_sectors == kSize / kSector);
        if (report.mutations_dropped == 1)
            CHECK(new_sectors == 0);
        mixed += new_sectors > 0 && new_sectors < kSize / kSector;
    }
    CHECK(mixed > 0);  // some torn write really left old and new sectors side by side
    CHECK(kept > 0);
    CHECK(dropped > 0);
    CHECK(torn > 0);
}

TEST_CASE("SimDisk enforces its capacity and reports it in space()") {
    auto disk = SimDisk::create("sim", SimDiskOptions{.seed = 5, .capacity_bytes = 1000});
    REQUIRE(disk->write_at("a", 0, Bytes(600)).ok());
    auto full = disk->write_at("b", 0, Bytes(500));
    REQUIRE(!full.ok());
    CHECK(full.error().code() == Errc::no_space);
    CHECK(!*disk->exists("b"));  // a refused write changes nothing
    CHECK(disk->space()->total_bytes == 1000);
    CHECK(disk->space()->free_bytes == 400);
    CHECK(disk->append("a", Bytes(401)).error().code() == Errc::no_space);
    CHECK(disk->write_file("a", Bytes(1000), true).ok());  // replacing frees the old bytes
    REQUIRE(disk->truncate("a", 100).ok());
    CHECK(disk->write_at("b", 0, Bytes(500)).ok());
    CHECK(disk->space()->free_bytes == 400);
}

TEST_CASE("SimDisk transient faults follow their probabilities and change nothing") {
    auto always = SimDisk::create("sim", SimDiskOptions{.seed = 9, .write_error_probability = 1.0});
    auto failed = always->write_at("a", 0, bytes_of("x"));
    REQUIRE(!failed.ok());
    CHECK(failed.error().code() == Errc::io_error);
    CHECK(failed.error().message().find("seed 9") != std::string::npos);
    CHECK(!*always->exists("a"));
    CHECK(always->make_dirs("d").ok());  // only data calls draw faults

    auto reads = SimDisk::create("sim", SimDiskOptions{.seed = 9, .read_error_probability = 0.5});
    REQUIRE(reads->write_file("a", bytes_of("x"), true).ok());
    int failures = 0;
    for (int i = 0; i < 200; ++i)
        failures += reads->read_file("a").ok() ? 0 : 1;
    CHECK(failures > 50);
    CHECK(failures < 150);
}

TEST_CASE("SimDisk::corrupt_random flips the bits it reports, and they survive a crash") {
    auto disk = SimDisk::create("sim", SimDiskOptions{.seed = 11});
    Bytes original = pattern(4096, 3);
    REQUIRE(disk->write_file("f", original, true).ok());
    CHECK(disk->corrupt_random(0).empty());
    auto flips = disk->corrupt_random(1);
    REQUIRE(flips.size() == 1);
    CHECK(flips[0].path == "f");
    Bytes expected = original;
    expected[flips[0].byte_offset] ^= std::byte{static_cast<unsigned char>(1u << flips[0].bit)};
    CHECK(*disk->read_file("f") == expected);
    disk->crash();
    CHECK(*disk->read_file("f") == expected);
    CHECK(SimDisk::create("empty", SimDiskOptions{})->corrupt_random(3).empty());
}

TEST_CASE("SimDisk directory rules match a real filesystem") {
    auto disk = SimDisk::create("sim", SimDiskOptions{.seed = 1});
    REQUIRE(disk->make_dirs("a/b").ok());
    REQUIRE(disk->write_file("a/b/f", bytes_of("x"), false).ok());
    CHECK(disk->remove("a/b").error().code() == Errc::io_error);  // not empty
    CHECK(disk->rename("a/b", "c").error().code() == Errc::invalid_input);
    CHECK(disk->write_file("a", bytes_of("x"), false).error().code() == Errc::io_error);  // a directory
    CHECK(disk->make_dirs("a/b/f").error().code() == Errc::already_exists);
    REQUIRE(disk->remove("a/b/f").ok());
    CHECK(disk->remove("a/b").ok());
    CHECK(*disk->list("a") == std::vector<std::string>{});
}

TEST_CASE("SimDisk is safe to use from 8 threads") {
    auto disk = SimDisk::create("sim", SimDiskOptions{.seed = 13});
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            std::string path = "f" + std::to_string(t);
            for (int i = 0; i < 200; ++i) {
                Bytes chunk = pattern(64, t * 1000 + i);
                auto offset = disk->append(path, chunk);
                Bytes back(64);
                if (!offset.ok() || *disk->read_at(path, *offset, back) != 64 || back != chunk)
                    failures.fetch_add(1);
                if (i % 50 == 0)
                    (void)disk->sync_dir("");
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    CHECK(failures.load() == 0);
    CHECK(disk->used_bytes() == 8 * 200 * 64);
}

}  // namespace
}  // namespace tiercel::io
