// The Disk contract, checked the same way on every implementation, so PosixDisk, SimDisk and FaultDisk agree.
#include <doctest/doctest.h>

#include <functional>

#include "io_test_support.hpp"
#include "tiercel/io/fault_disk.hpp"
#include "tiercel/io/posix_disk.hpp"
#include "tiercel/io/sim_disk.hpp"

namespace tiercel::io {
namespace {

using test::bytes_of;
using test::describe;
using test::text_of;

void check_file_round_trips(Disk& disk) {
    REQUIRE(disk.write_file("a", bytes_of("first"), true).ok());
    CHECK(text_of(*disk.read_file("a")) == "first");
    REQUIRE(disk.write_file("a", bytes_of("xy"), false).ok());
    CHECK(text_of(*disk.read_file("a")) == "xy");  // replaced, not overwritten in place
    REQUIRE(disk.write_at("a", 4, bytes_of("Z")).ok());
    CHECK(*disk.file_size("a") == 5);
    Bytes hole = *disk.read_file("a");
    CHECK(hole[2] == std::byte{0});  // a gap reads as zeros
    CHECK(*disk.append("a", bytes_of("END")) == 5);
    CHECK(*disk.append("a", bytes_of("!")) == 8);
    Bytes buffer(16);
    auto got = disk.read_at("a", 5, buffer);
    REQUIRE(got.ok());
    CHECK(*got == 4);  // short only at end of file
    CHECK(text_of(Bytes(buffer.begin(), buffer.begin() + 4)) == "END!");
    CHECK(*disk.read_at("a", 100, buffer) == 0);
    REQUIRE(disk.truncate("a", 2).ok());
    CHECK(text_of(*disk.read_file("a")) == "xy");
    CHECK(disk.sync_file("a").ok());
    CHECK(disk.sync_dir("").ok());
    CHECK(*disk.append("new_by_append", bytes_of("q")) == 0);
}

void check_namespace(Disk& disk) {
    REQUIRE(disk.make_dirs("d/e/f").ok());
    CHECK(disk.make_dirs("d/e").ok());  // existing is fine
    CHECK(disk.make_dirs("").ok());
    REQUIRE(disk.write_file("d/b", bytes_of("b"), true).ok());
    REQUIRE(disk.write_file("d/a", bytes_of("a"), false).ok());
    CHECK(*disk.list("d") == std::vector<std::string>{"a", "b", "e"});
    CHECK(*disk.exists("d/e"));
    CHECK(!*disk.exists("d/zzz"));
    REQUIRE(disk.rename("d/a", "d/b").ok());  // replaces the target
    CHECK(text_of(*disk.read_file("d/b")) == "a");
    CHECK(!*disk.exists("d/a"));
    REQUIRE(disk.rename("d/b", "d/e/moved").ok());
    CHECK(text_of(*disk.read_file("d/e/moved")) == "a");
    CHECK(disk.sync_dir("d/e").ok());
    REQUIRE(disk.remove("d/e/moved").ok());
    CHECK(disk.remove("d/e/moved").ok());  // removing a missing file is ok
    CHECK(!*disk.exists("d/e/moved"));
    CHECK(disk.remove("d/e/f").ok());  // an empty directory
    CHECK(*disk.list("d/e") == std::vector<std::string>{});
    auto space = disk.space();
    REQUIRE(space.ok());
    CHECK(space->total_bytes > 0);
    CHECK(space->free_bytes <= space->total_bytes);
}

void check_errors(Disk& disk) {
    auto missing = disk.read_file("nope");
    REQUIRE(!missing.ok());
    CHECK(missing.error().code() == Errc::not_found);
    CHECK(missing.error().message().find(disk.name()) != std::string::npos);
    CHECK(missing.error().message().find("nope") != std::string::npos);
    Bytes buffer(4);
    CHECK(disk.read_at("nope", 0, buffer).error().code() == Errc::not_found);
    CHECK(disk.file_size("nope").error().code() == Errc::not_found);
    CHECK(disk.truncate("nope", 0).error().code() == Errc::not_found);
    CHECK(disk.sync_file("nope").error().code() == Errc::not_found);
    CHECK(disk.list("nodir").error().code() == Errc::not_found);
    CHECK(disk.sync_dir("nodir").error().code() == Errc::not_found);
    CHECK(disk.write_file("nodir/x", bytes_of("x"), true).error().code() == Errc::not_found);
    CHECK(disk.write_at("nodir/x", 0, bytes_of("x")).error().code() == Errc::not_found);
    CHECK(disk.rename("nope", "other").error().code() == Errc::not_found);
    CHECK(!*disk.exists("nope"));
    for (std::string_view bad : {"/abs", "../up", "a/../b", "a//b", "a/./b", "trailing/", ""}) {
        auto result = disk.write_file(bad, bytes_of("x"), true);
        CHECK_MESSAGE(result.error().code() == Errc::invalid_input, "path \"", bad, "\"");
        CHECK(disk.read_file(bad).error().code() == Errc::invalid_input);
    }
    CHECK(disk.list("../x").error().code() == Errc::invalid_input);
}

void check_contract(Disk& disk) {
    SUBCASE("file round trips") { check_file_round_trips(disk); }
    SUBCASE("namespace") { check_namespace(disk); }
    SUBCASE("errors") { check_errors(disk); }
}

TEST_CASE("Disk contract: PosixDisk with io_uring") {
    test::TempDir dir;
    auto disk = PosixDisk::open("disk1", dir.path());
    REQUIRE_MESSAGE(disk.ok(), describe(disk));
    CHECK((*disk)->uses_io_uring());
    check_contract(**disk);
}

TEST_CASE("Disk contract: PosixDisk with pread/pwrite and no fd cache") {
    test::TempDir dir;
    auto disk = PosixDisk::open("disk1", dir.path(), PosixDiskOptions{.use_io_uring = false, .open_file_cache = 0});
    REQUIRE_MESSAGE(disk.ok(), describe(disk));
    CHECK(!(*disk)->uses_io_uring());
    check_contract(**disk);
}

TEST_CASE("Disk contract: SimDisk") {
    auto disk = SimDisk::create("sim", SimDiskOptions{.seed = 7});
    check_contract(*disk);
}

TEST_CASE("Disk contract: FaultDisk over PosixDisk, no faults armed") {
    test::TempDir dir;
    auto inner = PosixDisk::open("disk1", dir.path());
    REQUIRE(inner.ok());
    auto disk = FaultDisk::wrap(*inner);
    check_contract(*disk);
}

}  // namespace
}  // namespace tiercel::io
