// Crash at every write point: FaultDisk wrappers stop every replica after n mutating ops, the script runs until a
// commit fails, the un-synced writes are dropped, and the reopened store must hold exactly the acknowledged commits,
// or those plus the one in flight.
#include <doctest/doctest.h>

#include "test_meta_support.hpp"
#include "tiercel/io/fault_disk.hpp"
#include "tiercel/io/sim_disk.hpp"
#include "tiercel/pool/meta_store.hpp"

using namespace tiercel;
using namespace tiercel::pool;

namespace {

constexpr std::size_t kScriptLength = 30;
constexpr std::size_t kCheckpointAfter = 15;

struct Replicas {
    std::vector<std::shared_ptr<io::FaultDisk>> faulty;
    std::vector<io::DiskPtr> disks;  // the same FaultDisks, as the store sees them
};

Replicas wrap(const std::vector<io::DiskPtr>& inner) {
    Replicas out;
    for (const auto& disk : inner) {
        out.faulty.push_back(io::FaultDisk::wrap(disk));
        out.disks.push_back(out.faulty.back());
    }
    return out;
}

// Commits the script in order (a forced checkpoint in the middle) until a commit fails; returns how many were
// acknowledged.
std::size_t run_until_failure(MetaStore& store, const std::vector<MetaBatch>& script) {
    for (std::size_t i = 0; i < script.size(); ++i) {
        if (!store.commit(script[i]).ok())
            return i;
        if (i + 1 == kCheckpointAfter)
            (void)store.checkpoint();  // a failure here shows up as a refused next commit
    }
    return script.size();
}

// Reopens after a crash and checks the recovered state against the script. Returns the recovered sequence.
std::uint64_t check_recovery(const Replicas& replicas, const std::vector<MetaMap>& states, std::size_t acked,
                             const std::string& label) {
    for (const auto& disk : replicas.faulty)
        REQUIRE(disk->simulate_crash().ok());
    auto opened = MetaStore::open(replicas.disks, test::kPool, replicas.disks.size());
    REQUIRE_MESSAGE(opened.ok(), label << ": " << test::describe(opened));
    const std::uint64_t sequence = opened->store->last_sequence();
    INFO(label << ", acknowledged " << acked << ", recovered sequence " << sequence << "\n"
               << opened->report.describe());
    CHECK((sequence == acked || sequence == acked + 1));
    CHECK(test::matching_prefix(states, test::snapshot(*opened->store), sequence) == static_cast<long>(sequence));
    // Recovery repaired every replica: a scrub right after must find nothing, and commits must work again.
    auto verified = opened->store->verify_replicas();
    CHECK_MESSAGE(verified.clean(), verified.describe());
    MetaBatch probe;
    probe.put("probe", "after recovery");
    auto committed = opened->store->commit(probe);
    CHECK_MESSAGE(committed.ok(), test::describe(committed));
    return sequence;
}

}  // namespace

TEST_CASE("meta crash: every write point on PosixDisk replicas keeps a prefix with all acknowledged commits") {
    const auto script = test::make_script(kScriptLength, 21);
    const auto states = test::prefix_states(script);
    bool completed = false;
    for (std::uint64_t n = 0; !completed && n < 1000; ++n) {
        test::TempDir dir;
        auto replicas = wrap(test::posix_disks(dir, 3));
        std::size_t acked = 0;
        {
            auto store = MetaStore::create(replicas.disks, test::kPool);
            REQUIRE_MESSAGE(store.ok(), test::describe(store));
            for (const auto& disk : replicas.faulty)
                disk->crash_after_ops(n);
            acked = run_until_failure(**store, script);
            completed = acked == script.size();
        }
        check_recovery(replicas, states, acked, "crash after " + std::to_string(n) + " ops");
    }
    CHECK(completed);
}

TEST_CASE("meta crash: replicas crashing at different points (SimDisk inner) still recover a valid prefix") {
    const auto script = test::make_script(kScriptLength, 22);
    const auto states = test::prefix_states(script);
    for (std::uint64_t n = 0; n < 80; ++n) {
        for (std::uint64_t stagger : {1u, 3u, 7u}) {
            std::vector<io::DiskPtr> inner;
            for (int i = 0; i < 3; ++i)
                inner.push_back(io::SimDisk::create("sim" + std::to_string(i), {.seed = n * 10 + i}));
            auto replicas = wrap(inner);
            std::size_t acked = 0;
            {
                auto store = MetaStore::create(replicas.disks, test::kPool);
                REQUIRE(store.ok());
                for (std::size_t i = 0; i < replicas.faulty.size(); ++i)
                    replicas.faulty[i]->crash_after_ops(n + stagger * i);
                acked = run_until_failure(**store, script);
            }
            check_recovery(replicas, states, acked,
                           "crash after " + std::to_string(n) + " ops, stagger " + std::to_string(stagger));
        }
    }
}

TEST_CASE("meta crash: a crash during recovery's own repair loses nothing that recovery had found") {
    const auto script = test::make_script(kScriptLength, 23);
    const auto states = test::prefix_states(script);
    for (std::uint64_t n = 1; n < 70; n += 3) {
        std::vector<io::DiskPtr> inner;
        for (int i = 0; i < 3; ++i)
            inner.push_back(io::SimDisk::create("sim" + std::to_string(i), {.seed = n}));
        auto replicas = wrap(inner);
        std::size_t acked = 0;
        {
            auto store = MetaStore::create(replicas.disks, test::kPool);
            REQUIRE(store.ok());
            for (std::size_t i = 0; i < replicas.faulty.size(); ++i)
                replicas.faulty[i]->crash_after_ops(n + 2 * i);  // staggered, so replicas need repair
            acked = run_until_failure(**store, script);
        }
        for (const auto& disk : replicas.faulty)
            REQUIRE(disk->simulate_crash().ok());
        // Recover over and over, each time crashing the repair after m ops: the recovered sequence may never shrink.
        std::optional<std::uint64_t> found;
        for (std::uint64_t m = 0; m < 12; ++m) {
            for (const auto& disk : replicas.faulty)
                disk->crash_after_ops(m);
            {
                auto opened = MetaStore::open(replicas.disks, test::kPool, 3);
                if (opened.ok() && !found)
                    found = opened->store->last_sequence();
            }
            for (const auto& disk : replicas.faulty)
                REQUIRE(disk->simulate_crash().ok());
            auto reopened = MetaStore::open(replicas.disks, test::kPool, 3);
            REQUIRE_MESSAGE(reopened.ok(), "n " << n << " m " << m << ": " << test::describe(reopened));
            const std::uint64_t sequence = reopened->store->last_sequence();
            INFO("n " << n << ", repair crashed after " << m << " ops, acked " << acked << "\n"
                      << reopened->report.describe());
            CHECK((sequence == acked || sequence == acked + 1));
            if (found)
                CHECK(sequence >= *found);
            found = sequence;
            CHECK(test::matching_prefix(states, test::snapshot(*reopened->store), sequence) ==
                  static_cast<long>(sequence));
        }
    }
}
