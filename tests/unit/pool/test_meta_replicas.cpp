// Replica set management: foreign pools, missing and dead replicas, replace_replica, disagreement, scrub and repair.
#include <doctest/doctest.h>

#include <filesystem>

#include "test_meta_support.hpp"
#include "tiercel/io/fault_disk.hpp"
#include "tiercel/pool/meta_format.hpp"
#include "tiercel/pool/meta_store.hpp"

using namespace tiercel;
using namespace tiercel::pool;

namespace {

MetaBatch one_put(const std::string& key, const std::string& value) {
    MetaBatch batch;
    batch.put(key, value);
    return batch;
}

std::unique_ptr<MetaStore> create_with(const std::vector<io::DiskPtr>& disks, const PoolUuid& pool,
                                       const std::vector<std::string>& keys) {
    auto store = MetaStore::create(disks, pool);
    REQUIRE_MESSAGE(store.ok(), test::describe(store));
    for (const auto& key : keys)
        REQUIRE((*store)->commit(one_put(key, "v-" + key)).ok());
    return std::move(*store);
}

}  // namespace

TEST_CASE("meta replicas: a replica of another pool is rejected, left untouched, and replaceable") {
    test::TempDir dir;
    auto disks = test::posix_disks(dir, 4);
    create_with({disks[0], disks[1]}, test::kPool, {"a", "b"});
    create_with({disks[2]}, test::kOtherPool, {"x"});

    auto opened = MetaStore::open({disks[0], disks[1], disks[2]}, test::kPool, 3);
    REQUIRE_MESSAGE(opened.ok(), test::describe(opened));
    const ReplicaReport* foreign = opened->report.find(disks[2]->name());
    REQUIRE(foreign != nullptr);
    CHECK(foreign->status == ReplicaStatus::foreign);
    CHECK(foreign->detail.find(uuid_to_string(test::kOtherPool)) != std::string::npos);
    CHECK(foreign->action == RepairAction::none);
    CHECK(opened->store->get("b") == "v-b");

    auto refused = opened->store->commit(one_put("c", "c"));
    REQUIRE(!refused.ok());
    CHECK(refused.error().code() == Errc::unavailable);
    CHECK(refused.error().message().find(disks[2]->name()) != std::string::npos);
    auto other = MetaStore::open({disks[2]}, test::kOtherPool, 1);
    REQUIRE(other.ok());
    CHECK(other->store->get("x") == "v-x");  // the other pool's metadata was not overwritten

    CHECK(opened->store->replace_replica(disks[2], disks[2]).error().code() == Errc::already_exists);
    REQUIRE(opened->store->replace_replica(disks[2], disks[3]).ok());
    REQUIRE(opened->store->commit(one_put("c", "c")).ok());

    auto only_foreign = MetaStore::open({disks[2]}, test::kPool, 1);
    REQUIRE(!only_foreign.ok());
    CHECK(only_foreign.error().code() == Errc::corruption);
    CHECK(only_foreign.error().message().find(disks[2]->name()) != std::string::npos);
    CHECK(only_foreign.error().message().find("foreign") != std::string::npos);
}

TEST_CASE("meta replicas: a replica whose disk directory was deleted is reported; the rest open the store") {
    test::TempDir dir;
    auto disks = test::posix_disks(dir, 3);
    auto spare = test::posix_disks(dir, 1, "spare");
    create_with(disks, test::kPool, {"a", "b", "c"});
    std::filesystem::remove_all(dir.path() + "/disk1");

    auto opened = MetaStore::open(disks, test::kPool, 3);
    REQUIRE_MESSAGE(opened.ok(), test::describe(opened));
    INFO(opened->report.describe());
    const ReplicaReport* missing = opened->report.find(disks[1]->name());
    REQUIRE(missing != nullptr);
    CHECK((missing->status == ReplicaStatus::missing || missing->status == ReplicaStatus::unreadable));
    CHECK(missing->action == RepairAction::failed);
    CHECK(missing->stale);
    CHECK(opened->store->get("c") == "v-c");
    CHECK(!opened->report.clean());

    auto refused = opened->store->commit(one_put("d", "d"));
    REQUIRE(!refused.ok());
    CHECK(refused.error().message().find(disks[1]->name()) != std::string::npos);
    REQUIRE(opened->store->replace_replica(disks[1], spare[0]).ok());
    REQUIRE(opened->store->commit(one_put("d", "d")).ok());
    opened->store.reset();

    auto healed = MetaStore::open({disks[0], spare[0], disks[2]}, test::kPool, 3);
    REQUIRE(healed.ok());
    CHECK_MESSAGE(healed->report.clean(), healed->report.describe());
    CHECK(healed->store->get("d") == "d");
}

TEST_CASE("meta replicas: a commit with a dead replica fails naming it; replace_replica restores R-way replication") {
    test::TempDir dir;
    auto inner = test::posix_disks(dir, 3);
    auto spare = test::posix_disks(dir, 1, "spare");
    std::vector<std::shared_ptr<io::FaultDisk>> faulty;
    std::vector<io::DiskPtr> disks;
    for (const auto& disk : inner) {
        faulty.push_back(io::FaultDisk::wrap(disk));
        disks.push_back(faulty.back());
    }
    auto store = create_with(disks, test::kPool, {"a"});
    faulty[1]->fail_all(Errc::io_error);

    auto failed = store->commit(one_put("b", "b"));
    REQUIRE(!failed.ok());
    CHECK(failed.error().code() == Errc::io_error);
    CHECK(failed.error().message().find(disks[1]->name()) != std::string::npos);
    CHECK(failed.error().message().find("sequences 2..2") != std::string::npos);
    // It reached the two healthy replicas, so it is applied (and would come back after a restart anyway).
    CHECK(store->get("b") == "b");
    CHECK(store->stats().failed_rounds == 1);

    auto refused = store->commit(one_put("c", "c"));
    REQUIRE(!refused.ok());
    CHECK(refused.error().code() == Errc::unavailable);
    CHECK(refused.error().message().find(disks[1]->name()) != std::string::npos);
    CHECK(!store->replicas()[1].healthy);

    REQUIRE(store->replace_replica(disks[1], spare[0]).ok());
    CHECK(store->replicas()[1].disk == spare[0]->name());
    REQUIRE(store->commit(one_put("c", "c")).ok());
    auto verified = store->verify_replicas();
    CHECK_MESSAGE(verified.clean(), verified.describe());
    store.reset();

    auto reopened = MetaStore::open({disks[0], spare[0], disks[2]}, test::kPool, 3);
    REQUIRE(reopened.ok());
    CHECK_MESSAGE(reopened->report.clean(), reopened->report.describe());
    CHECK(test::snapshot(*reopened->store) == MetaMap{{"a", "v-a"}, {"b", "b"}, {"c", "c"}});
}

TEST_CASE("meta replicas: replicas that hold different bytes for one sequence are reported as disagreeing") {
    test::TempDir dir;
    auto disks = test::posix_disks(dir, 2);
    create_with({disks[0]}, test::kPool, {"a", "b", "c"});
    create_with({disks[1]}, test::kPool, {"a", "B", "c"});
    auto opened = MetaStore::open(disks, test::kPool, 2);
    REQUIRE(opened.ok());
    INFO(opened->report.describe());
    REQUIRE(opened->report.findings.size() == 1);
    CHECK(opened->report.findings[0].find("disagree at sequence 2") != std::string::npos);
    CHECK(opened->report.find(disks[1]->name())->status == ReplicaStatus::disagrees);
    CHECK(opened->report.find(disks[1]->name())->action == RepairAction::rewritten);
    CHECK(opened->store->get("b") == "v-b");
    auto verified = opened->store->verify_replicas();
    CHECK_MESSAGE(verified.clean(), verified.describe());
}

TEST_CASE("meta replicas: scrub finds rot in a live replica and repair_replicas fixes it") {
    test::TempDir dir;
    auto inner = test::posix_disks(dir, 3);
    std::vector<std::shared_ptr<io::FaultDisk>> faulty;
    std::vector<io::DiskPtr> disks;
    for (const auto& disk : inner) {
        faulty.push_back(io::FaultDisk::wrap(disk));
        disks.push_back(faulty.back());
    }
    auto store = create_with(disks, test::kPool, {"a", "b", "c", "d"});
    REQUIRE(faulty[2]->flip_bit(meta::log_path(0), meta::kFileHeaderSize + 20, 1).ok());

    auto verified = store->verify_replicas();
    INFO(verified.describe());
    CHECK(!verified.clean());
    const ReplicaReport* rotten = verified.find(disks[2]->name());
    REQUIRE(rotten != nullptr);
    CHECK(rotten->status == ReplicaStatus::damaged);
    CHECK(rotten->fault_file == meta::log_path(0));
    CHECK(rotten->fault_offset == meta::kFileHeaderSize);
    CHECK(rotten->action == RepairAction::none);  // verify changes nothing

    auto repaired = store->repair_replicas();
    CHECK(repaired.find(disks[2]->name())->action == RepairAction::rewritten);
    auto after = store->verify_replicas();
    CHECK_MESSAGE(after.clean(), after.describe());
    REQUIRE(store->commit(one_put("e", "e")).ok());
    store.reset();
    auto reopened = MetaStore::open(disks, test::kPool, 3);
    REQUIRE(reopened.ok());
    CHECK_MESSAGE(reopened->report.clean(), reopened->report.describe());
    CHECK(reopened->store->size() == 5);
}

TEST_CASE("meta replicas: a checkpoint whose log was never started gets its log on open") {
    test::TempDir dir;
    auto disks = test::posix_disks(dir, 2);
    {
        auto store = create_with(disks, test::kPool, {"a", "b"});
        REQUIRE(store->checkpoint().ok());
    }
    REQUIRE(disks[0]->remove(meta::log_path(2)).ok());
    auto opened = MetaStore::open(disks, test::kPool, 2);
    REQUIRE(opened.ok());
    INFO(opened->report.describe());
    CHECK(opened->report.find(disks[0]->name())->status == ReplicaStatus::ok);
    CHECK(opened->report.find(disks[0]->name())->action == RepairAction::started_log);
    REQUIRE(opened->store->commit(one_put("c", "c")).ok());
    opened->store.reset();
    auto again = MetaStore::open(disks, test::kPool, 2);
    REQUIRE(again.ok());
    CHECK_MESSAGE(again->report.clean(), again->report.describe());
    CHECK(again->store->get("c") == "c");
}

TEST_CASE("meta replicas: a torn tail on every replica is cut back to the last valid record") {
    test::TempDir dir;
    auto disks = test::posix_disks(dir, 2);
    create_with(disks, test::kPool, {"a", "b", "c"});
    std::vector<std::uint64_t> valid_ends;
    for (const auto& disk : disks) {
        auto size = disk->file_size(meta::log_path(0));
        REQUIRE(size.ok());
        valid_ends.push_back(*size);
        // Half of a record header: what a crash in the middle of an append leaves.
        const std::string torn("\x20\x00\x00\x00\x04\x00", 6);
        REQUIRE(disk->append(meta::log_path(0), as_byte_view(torn)).ok());
    }
    auto opened = MetaStore::open(disks, test::kPool, 2);
    REQUIRE(opened.ok());
    INFO(opened->report.describe());
    CHECK(opened->store->last_sequence() == 3);
    for (std::size_t i = 0; i < disks.size(); ++i) {
        const ReplicaReport* report = opened->report.find(disks[i]->name());
        CHECK(report->status == ReplicaStatus::torn_tail);
        CHECK(report->fault_offset == valid_ends[i]);
        CHECK(report->action == RepairAction::truncated_tail);
        auto size = disks[i]->file_size(meta::log_path(0));
        REQUIRE(size.ok());
        CHECK(*size == valid_ends[i]);
    }
    auto verified = opened->store->verify_replicas();
    CHECK_MESSAGE(verified.clean(), verified.describe());
}
