// Bit rot: flipped bits in one replica are found (replica and offset named), recovered from another replica and
// repaired; flips in every replica yield the longest valid prefix or a clear error, never an uncommitted value.
#include <doctest/doctest.h>

#include <random>

#include "test_meta_support.hpp"
#include "tiercel/io/fault_disk.hpp"
#include "tiercel/pool/meta_format.hpp"
#include "tiercel/pool/meta_store.hpp"

using namespace tiercel;
using namespace tiercel::pool;

namespace {

constexpr std::size_t kBatches = 40;
constexpr std::uint64_t kCheckpointAt = 20;

struct Fixture {
    test::TempDir dir;
    std::vector<std::shared_ptr<io::FaultDisk>> faulty;
    std::vector<io::DiskPtr> disks;
    std::vector<MetaMap> states;

    Fixture() {
        for (const auto& disk : test::posix_disks(dir, 3)) {
            faulty.push_back(io::FaultDisk::wrap(disk));
            disks.push_back(faulty.back());
        }
        const auto script = test::make_script(kBatches, 31);
        states = test::prefix_states(script);
        auto store = MetaStore::create(disks, test::kPool);
        REQUIRE(store.ok());
        for (std::size_t i = 0; i < script.size(); ++i) {
            REQUIRE((*store)->commit(script[i]).ok());
            if (i + 1 == kCheckpointAt)
                REQUIRE((*store)->checkpoint().ok());
        }
    }

    std::uint64_t size_of(std::size_t replica, const std::string& path) {
        auto size = disks[replica]->file_size(path);
        REQUIRE(size.ok());
        return *size;
    }
};

// Flips one random bit at or after `from` in `path` of `replica`; returns the byte offset.
std::uint64_t flip_random_bit(Fixture& fixture, std::size_t replica, const std::string& path, std::uint64_t from,
                              std::mt19937_64& rng) {
    const std::uint64_t size = fixture.size_of(replica, path);
    const std::uint64_t offset = from + rng() % (size - from);
    REQUIRE(fixture.faulty[replica]->flip_bit(path, offset, static_cast<unsigned>(rng() % 8)).ok());
    return offset;
}

void check_detected_and_repaired(Fixture& fixture, std::size_t replica, const std::string& path,
                                 std::uint64_t offset) {
    auto opened = MetaStore::open(fixture.disks, test::kPool, 3);
    REQUIRE_MESSAGE(opened.ok(), test::describe(opened));
    INFO("flipped " << path << " byte " << offset << " on " << fixture.disks[replica]->name() << "\n"
                    << opened->report.describe());
    CHECK(opened->store->last_sequence() == kBatches);
    CHECK(test::snapshot(*opened->store) == fixture.states.back());
    const ReplicaReport* report = opened->report.find(fixture.disks[replica]->name());
    REQUIRE(report != nullptr);
    CHECK(report->status != ReplicaStatus::ok);
    CHECK(report->fault_file == path);
    CHECK(report->fault_offset <= offset);
    CHECK(offset - report->fault_offset < 16 * 1024);  // within the record or chunk that holds the flip
    CHECK(report->action == RepairAction::rewritten);
    for (const auto& other : opened->report.replicas)
        if (other.disk != report->disk)
            CHECK(other.status == ReplicaStatus::ok);
    auto verified = opened->store->verify_replicas();
    CHECK_MESSAGE(verified.clean(), verified.describe());
}

}  // namespace

TEST_CASE("meta bitrot: a flipped bit in one replica's log is found, named and repaired from another replica") {
    std::mt19937_64 rng(41);
    for (int trial = 0; trial < 12; ++trial) {
        Fixture fixture;
        const std::size_t replica = trial % 3;
        const std::string path = meta::log_path(kCheckpointAt);
        const std::uint64_t offset = flip_random_bit(fixture, replica, path, 0, rng);
        check_detected_and_repaired(fixture, replica, path, offset);
    }
}

TEST_CASE("meta bitrot: a flipped bit in one replica's checkpoint is found, named and repaired") {
    std::mt19937_64 rng(42);
    for (int trial = 0; trial < 6; ++trial) {
        Fixture fixture;
        const std::size_t replica = trial % 3;
        const std::string path = meta::checkpoint_path(kCheckpointAt);
        const std::uint64_t offset = flip_random_bit(fixture, replica, path, 0, rng);
        check_detected_and_repaired(fixture, replica, path, offset);
    }
}

TEST_CASE("meta bitrot: flips in every replica give the longest valid prefix or a clear error, never other values") {
    int recovered_full = 0, recovered_prefix = 0, refused = 0;
    for (std::uint64_t seed = 1; seed <= 30; ++seed) {
        INFO("seed " << seed);
        std::mt19937_64 rng(seed);
        Fixture fixture;
        for (std::size_t replica = 0; replica < 3; ++replica) {
            const bool in_log = rng() % 3 != 0;
            const std::string path = in_log ? meta::log_path(kCheckpointAt) : meta::checkpoint_path(kCheckpointAt);
            flip_random_bit(fixture, replica, path, meta::kFileHeaderSize, rng);
        }
        auto opened = MetaStore::open(fixture.disks, test::kPool, 3);
        if (!opened.ok()) {
            ++refused;
            CHECK(opened.error().code() == Errc::corruption);
            for (const auto& disk : fixture.disks)
                CHECK_MESSAGE(opened.error().message().find(disk->name()) != std::string::npos,
                              opened.error().describe());
            continue;
        }
        const std::uint64_t sequence = opened->store->last_sequence();
        INFO(opened->report.describe());
        REQUIRE(sequence <= kBatches);
        CHECK(test::matching_prefix(fixture.states, test::snapshot(*opened->store), sequence) ==
              static_cast<long>(sequence));
        std::uint64_t longest = 0;
        for (const auto& replica : opened->report.replicas)
            longest = std::max(longest, replica.valid_sequence.value_or(0));
        CHECK(sequence == longest);
        (sequence == kBatches ? recovered_full : recovered_prefix)++;
        auto verified = opened->store->verify_replicas();
        CHECK_MESSAGE(verified.clean(), verified.describe());
    }
    MESSAGE("full " << recovered_full << ", prefix " << recovered_prefix << ", refused " << refused);
}

TEST_CASE("meta bitrot: every replica's checkpoint damaged is refused as corruption naming each replica") {
    Fixture fixture;
    for (std::size_t replica = 0; replica < 3; ++replica)
        REQUIRE(fixture.faulty[replica]->flip_bit(meta::checkpoint_path(kCheckpointAt), 100 + replica, 3).ok());
    auto opened = MetaStore::open(fixture.disks, test::kPool, 3);
    REQUIRE(!opened.ok());
    CHECK(opened.error().code() == Errc::corruption);
    for (const auto& disk : fixture.disks)
        CHECK_MESSAGE(opened.error().message().find(disk->name()) != std::string::npos, opened.error().describe());
    CHECK(opened.error().message().find("checksum") != std::string::npos);
}
