// FaultDisk over a real PosixDisk: injected failures, the crash model (what survives simulate_crash), crashing at
// every mutating step of a protocol, bit flips and latency.
#include <doctest/doctest.h>

#include <chrono>

#include "io_test_support.hpp"
#include "tiercel/io/fault_disk.hpp"
#include "tiercel/io/posix_disk.hpp"

namespace tiercel::io {
namespace {

using test::bytes_of;
using test::describe;
using test::text_of;

struct Fixture {
    test::TempDir dir;
    std::shared_ptr<PosixDisk> inner;
    std::shared_ptr<FaultDisk> disk;

    Fixture() {
        auto opened = PosixDisk::open("disk1", dir.path());
        REQUIRE(opened.ok());
        inner = *opened;
        disk = FaultDisk::wrap(inner);
    }

    void crash() {
        auto status = disk->simulate_crash();
        REQUIRE_MESSAGE(status.ok(), describe(status));
    }
    std::string content(std::string_view path) {
        auto bytes = inner->read_file(path);
        return bytes.ok() ? text_of(*bytes) : "<" + std::string(errc_name(bytes.error().code())) + ">";
    }
};

TEST_CASE("FaultDisk::fail_nth_op is 0-based, fails once, and never reaches the inner disk") {
    Fixture f;
    f.disk->fail_nth_op(0, Errc::no_space);
    auto first = f.disk->write_file("a", bytes_of("x"), false);
    REQUIRE(!first.ok());
    CHECK(first.error().code() == Errc::no_space);
    CHECK(first.error().message().find(f.inner->name()) != std::string::npos);
    CHECK(first.error().message().find("a") != std::string::npos);
    CHECK(!*f.inner->exists("a"));
    CHECK(f.disk->write_file("a", bytes_of("x"), false).ok());

    f.disk->fail_nth_op(2, Errc::io_error);  // the third call from now
    CHECK(f.disk->read_file("a").ok());
    CHECK(f.disk->exists("a").ok());
    CHECK(f.disk->read_file("a").error().code() == Errc::io_error);
    CHECK(f.disk->read_file("a").ok());
    CHECK(f.disk->op_count() == 6);
}

TEST_CASE("FaultDisk::fail_all makes a dead disk until heal()") {
    Fixture f;
    REQUIRE(f.disk->write_file("a", bytes_of("x"), true).ok());
    f.disk->fail_all(Errc::io_error);
    CHECK(f.disk->read_file("a").error().code() == Errc::io_error);
    CHECK(f.disk->space().error().code() == Errc::io_error);
    CHECK(f.disk->list("").error().code() == Errc::io_error);
    f.disk->heal();
    CHECK(f.disk->read_file("a").ok());
}

TEST_CASE("FaultDisk::fail_ops_matching targets one path and op") {
    Fixture f;
    f.disk->fail_ops_matching([](const OpInfo& op) -> std::optional<Errc> {
        if (op.op == DiskOp::sync_file && op.path == "wal")
            return Errc::io_error;
        return std::nullopt;
    });
    REQUIRE(f.disk->write_at("wal", 0, bytes_of("x")).ok());
    REQUIRE(f.disk->write_at("data", 0, bytes_of("x")).ok());
    CHECK(f.disk->sync_file("wal").error().code() == Errc::io_error);
    CHECK(f.disk->sync_file("data").ok());
}

TEST_CASE("FaultDisk crash keeps synced write_at data and drops the unsynced rest") {
    Fixture f;
    REQUIRE(f.disk->write_file("a", bytes_of("11111111"), true).ok());
    REQUIRE(f.disk->write_at("a", 0, bytes_of("22")).ok());
    REQUIRE(f.disk->sync_file("a").ok());
    REQUIRE(f.disk->write_at("a", 4, bytes_of("3333")).ok());
    f.crash();
    CHECK(f.content("a") == "22111111");
}

TEST_CASE("FaultDisk crash keeps the synced prefix of an append-only file") {
    Fixture f;
    REQUIRE(f.disk->append("log", bytes_of("one,")).ok());
    REQUIRE(f.disk->sync_file("log").ok());
    REQUIRE(f.disk->sync_dir("").ok());
    REQUIRE(f.disk->append("log", bytes_of("two,")).ok());
    REQUIRE(f.disk->truncate("log", 2).ok());
    f.crash();
    CHECK(f.content("log") == "one,");
}

TEST_CASE("FaultDisk crash removes a new file until both sync_file and sync_dir made it durable") {
    Fixture f;
    REQUIRE(f.disk->make_dirs("d").ok());
    REQUIRE(f.disk->write_file("d/file_synced", bytes_of("x"), false).ok());
    REQUIRE(f.disk->sync_file("d/file_synced").ok());
    REQUIRE(f.disk->write_file("d/dir_synced", bytes_of("x"), false).ok());
    REQUIRE(f.disk->write_file("d/both", bytes_of("x"), false).ok());
    REQUIRE(f.disk->sync_file("d/both").ok());
    REQUIRE(f.disk->sync_dir("").ok());  // the wrong directory: makes nothing in d durable
    REQUIRE(f.disk->sync_dir("d").ok());
    REQUIRE(f.disk->write_file("d/after", bytes_of("x"), false).ok());  // no sync at all
    REQUIRE(f.disk->write_file("d/after_synced", bytes_of("x"), false).ok());
    REQUIRE(f.disk->sync_file("d/after_synced").ok());  // data durable, name not
    f.crash();
    CHECK(*f.inner->list("d") == std::vector<std::string>{"both", "dir_synced", "file_synced"});
    CHECK(f.content("d/after") == "<not found>");
    CHECK(f.content("d/after_synced") == "<not found>");
    CHECK(f.content("d/file_synced") == "x");  // its entry was made durable by the later sync_dir("d")
    CHECK(f.content("d/dir_synced") == "");    // entry durable, data never synced
    CHECK(f.content("d/both") == "x");
}

TEST_CASE("FaultDisk: write_file(sync=true) survives a crash and write_file(sync=false) does not") {
    Fixture f;
    REQUIRE(f.disk->write_file("synced", bytes_of("v1"), true).ok());
    REQUIRE(f.disk->write_file("synced", bytes_of("v2"), true).ok());
    REQUIRE(f.disk->write_file("unsynced", bytes_of("v1"), true).ok());
    REQUIRE(f.disk->write_file("unsynced", bytes_of("v2"), false).ok());
    REQUIRE(f.disk->write_file("fresh", bytes_of("v1"), false).ok());
    f.crash();
    CHECK(f.content("synced") == "v2");
    CHECK(f.content("unsynced") == "v1");
    CHECK(f.content("fresh") == "<not found>");
}

TEST_CASE("FaultDisk crash undoes renames and removes not made durable by sync_dir") {
    Fixture f;
    REQUIRE(f.disk->write_file("a", bytes_of("A"), true).ok());
    REQUIRE(f.disk->write_file("b", bytes_of("B"), true).ok());
    REQUIRE(f.disk->write_file("gone", bytes_of("G"), true).ok());

    SUBCASE("without sync_dir everything comes back") {
        REQUIRE(f.disk->rename("a", "b").ok());
        REQUIRE(f.disk->remove("gone").ok());
        REQUIRE(f.disk->rename("b", "c").ok());
        f.crash();
        CHECK(f.content("a") == "A");
        CHECK(f.content("b") == "B");
        CHECK(f.content("c") == "<not found>");
        CHECK(f.content("gone") == "G");
    }
    SUBCASE("with sync_dir the new names stay") {
        REQUIRE(f.disk->rename("a", "b").ok());
        REQUIRE(f.disk->remove("gone").ok());
        REQUIRE(f.disk->sync_dir("").ok());
        f.crash();
        CHECK(f.content("a") == "<not found>");
        CHECK(f.content("b") == "A");
        CHECK(f.content("gone") == "<not found>");
    }
    SUBCASE("a renamed file keeps only its synced bytes") {
        REQUIRE(f.disk->write_at("a", 1, bytes_of("unsynced")).ok());
        REQUIRE(f.disk->rename("a", "moved").ok());
        REQUIRE(f.disk->sync_dir("").ok());
        f.crash();
        CHECK(f.content("moved") == "A");
    }
}

// The replace-a-file protocol the pool's metadata uses; a crash at any step must leave old or new, nothing else.
void replace_protocol(Disk& disk) {
    (void)disk.write_file("meta.tmp", bytes_of("new"), false);
    (void)disk.sync_file("meta.tmp");
    (void)disk.rename("meta.tmp", "meta");
    (void)disk.sync_dir("");
}

TEST_CASE("FaultDisk::crash_after_ops crashes at every mutating step of a protocol") {
    uint64_t steps = 0;
    {
        Fixture f;
        REQUIRE(f.disk->write_file("meta", bytes_of("old"), true).ok());
        uint64_t before = f.disk->mutating_op_count();
        replace_protocol(*f.disk);
        steps = f.disk->mutating_op_count() - before;
        CHECK(f.content("meta") == "new");
    }
    REQUIRE(steps == 4);
    for (uint64_t crash_at = 0; crash_at <= steps; ++crash_at) {
        CAPTURE(crash_at);
        Fixture f;
        REQUIRE(f.disk->write_file("meta", bytes_of("old"), true).ok());
        f.disk->crash_after_ops(crash_at);
        replace_protocol(*f.disk);
        CHECK(f.disk->crashed() == (crash_at < steps));
        if (f.disk->crashed())
            CHECK(f.disk->read_file("meta").error().code() == Errc::io_error);  // reads fail too once crashed
        f.crash();
        CHECK(!f.disk->crashed());
        std::string meta = f.content("meta");
        CHECK((meta == "old" || meta == "new"));
        CHECK((crash_at < 4 ? meta == "old" : meta == "new"));  // only the sync_dir makes the rename durable
        CHECK(f.disk->write_file("after", bytes_of("ok"), true).ok());  // works again after the "reboot"
    }
}

TEST_CASE("FaultDisk::flip_bit corrupts exactly one bit of stored bytes") {
    Fixture f;
    REQUIRE(f.disk->write_file("a", bytes_of("AAAA"), true).ok());
    uint64_t ops = f.disk->op_count();
    REQUIRE(f.disk->flip_bit("a", 2, 0).ok());
    CHECK(f.content("a") == "AA@A");
    CHECK(f.disk->op_count() == ops);  // a test control, not a Disk call
    CHECK(f.disk->flip_bit("a", 4, 0).error().code() == Errc::invalid_input);
}

TEST_CASE("FaultDisk::set_latency delays every call") {
    Fixture f;
    f.disk->set_latency(std::chrono::milliseconds(5));
    auto start = std::chrono::steady_clock::now();
    CHECK(f.disk->exists("a").ok());
    CHECK(f.disk->exists("a").ok());
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(10));
}

}  // namespace
}  // namespace tiercel::io
