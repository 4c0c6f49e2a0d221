// MetaStore basics on real directories: round trip, reopen, rollover, big values, group commit.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "test_meta_support.hpp"
#include "tiercel/pool/meta_store.hpp"

using namespace tiercel;
using namespace tiercel::pool;

namespace {

std::unique_ptr<MetaStore> create_store(const std::vector<io::DiskPtr>& disks, MetaStoreOptions options = {}) {
    auto store = MetaStore::create(disks, test::kPool, options);
    REQUIRE_MESSAGE(store.ok(), test::describe(store));
    return std::move(*store);
}

MetaStore::Opened reopen(const std::vector<io::DiskPtr>& disks, MetaStoreOptions options = {}) {
    auto opened = MetaStore::open(disks, test::kPool, disks.size(), options);
    REQUIRE_MESSAGE(opened.ok(), test::describe(opened));
    return std::move(*opened);
}

void commit_ok(MetaStore& store, const MetaBatch& batch) {
    auto committed = store.commit(batch);
    REQUIRE_MESSAGE(committed.ok(), test::describe(committed));
}

}  // namespace

TEST_CASE("meta store: round trip of puts, deletes, scans and ranges") {
    test::TempDir dir;
    auto disks = test::posix_disks(dir, 3);
    auto store = create_store(disks);
    CHECK(store->last_sequence() == 0);
    CHECK(store->size() == 0);

    MetaBatch batch;
    batch.put("inode/1", "one");
    batch.put("inode/2", "two");
    batch.put("inode/3", "three");
    batch.put(std::string("bin\0key", 7), std::string("bin\0value", 9));
    batch.put("other", "x");
    commit_ok(*store, batch);
    batch.clear();
    batch.remove("inode/2");
    batch.put("inode/3", "THREE");
    commit_ok(*store, batch);

    CHECK(store->last_sequence() == 2);
    CHECK(store->get("inode/1") == "one");
    CHECK(!store->get("inode/2"));
    CHECK(store->get("inode/3") == "THREE");
    CHECK(store->get(std::string("bin\0key", 7)) == std::string("bin\0value", 9));
    CHECK(store->size() == 4);

    std::vector<std::string> seen;
    store->scan("inode/", [&](std::string_view key, std::string_view) { seen.emplace_back(key); return true; });
    CHECK(seen == std::vector<std::string>{"inode/1", "inode/3"});
    seen.clear();
    store->range("inode/2", "other", [&](std::string_view key, std::string_view) { seen.emplace_back(key); return true; });
    CHECK(seen == std::vector<std::string>{"inode/3"});
    seen.clear();
    store->range("", "", [&](std::string_view key, std::string_view) { seen.emplace_back(key); return seen.size() < 2; });
    CHECK(seen.size() == 2);

    auto empty = store->commit(MetaBatch{});
    REQUIRE(empty.ok());
    CHECK(*empty == 2);
    CHECK(store->stats().commits == 2);
}

TEST_CASE("meta store: reopen after a clean close keeps everything, and create refuses a used disk") {
    test::TempDir dir;
    auto disks = test::posix_disks(dir, 3);
    auto script = test::make_script(40, 11);
    auto states = test::prefix_states(script);
    {
        auto store = create_store(disks);
        for (const auto& batch : script)
            commit_ok(*store, batch);
    }
    auto opened = reopen(disks);
    CHECK_MESSAGE(opened.report.clean(), opened.report.describe());
    CHECK(opened.store->last_sequence() == script.size());
    CHECK(test::snapshot(*opened.store) == states.back());

    auto again = MetaStore::create(disks, test::kPool);
    REQUIRE(!again.ok());
    CHECK(again.error().code() == Errc::already_exists);

    test::TempDir empty_dir;
    auto nothing = MetaStore::open(test::posix_disks(empty_dir, 2), test::kPool, 2);
    REQUIRE(!nothing.ok());
    CHECK(nothing.error().code() == Errc::not_found);
}

TEST_CASE("meta store: log rollover writes checkpoints, removes old files, and reopens to the same state") {
    test::TempDir dir;
    auto disks = test::posix_disks(dir, 2);
    MetaStoreOptions options;
    options.checkpoint_min_log_bytes = 4096;
    options.checkpoint_growth_factor = 1;
    auto script = test::make_script(300, 12);
    auto states = test::prefix_states(script);
    {
        auto store = create_store(disks, options);
        for (const auto& batch : script)
            commit_ok(*store, batch);
        CHECK(store->stats().checkpoints >= 3);
        auto verified = store->verify_replicas();
        CHECK_MESSAGE(verified.clean(), verified.describe());
    }
    for (const auto& disk : disks) {
        auto names = disk->list("meta");
        REQUIRE(names.ok());
        CHECK_MESSAGE(names->size() == 2, "expected one checkpoint and one log on " << disk->name());
    }
    auto opened = reopen(disks, options);
    CHECK_MESSAGE(opened.report.clean(), opened.report.describe());
    CHECK(opened.store->last_sequence() == script.size());
    CHECK(test::snapshot(*opened.store) == states.back());
}

TEST_CASE("meta store: values of several MiB survive commit, checkpoint and reopen") {
    test::TempDir dir;
    auto disks = test::posix_disks(dir, 2);
    std::string big(5 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>(i * 131 + (i >> 12));
    {
        auto store = create_store(disks);
        MetaBatch batch;
        batch.put("small-object/inline", big);
        commit_ok(*store, batch);
        REQUIRE(store->checkpoint().ok());
        batch.clear();
        batch.put("small-object/second", big.substr(1000));
        commit_ok(*store, batch);
    }
    auto opened = reopen(disks);
    CHECK(opened.store->get("small-object/inline") == big);
    CHECK(opened.store->get("small-object/second") == big.substr(1000));
}

TEST_CASE("meta store: group commit batches concurrent commits into fewer fsync rounds") {
    test::TempDir dir;
    auto disks = test::posix_disks(dir, 3);
    auto store = create_store(disks);
    constexpr int kThreads = 8;
    constexpr int kCommitsEach = 200;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kCommitsEach; ++i) {
                MetaBatch batch;
                batch.put("t" + std::to_string(t) + "/" + std::to_string(i), std::to_string(i));
                if (!store->commit(batch).ok())
                    ++failures;
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    const auto stats = store->stats();
    MESSAGE("commits " << stats.commits << ", fsync rounds " << stats.sync_rounds);
    CHECK(failures.load() == 0);
    CHECK(stats.commits == kThreads * kCommitsEach);
    CHECK(stats.sync_rounds < stats.commits);
    CHECK(store->size() == kThreads * kCommitsEach);
    CHECK(store->last_sequence() == kThreads * kCommitsEach);
    const MetaMap before = test::snapshot(*store);
    store.reset();
    auto opened = reopen(disks);
    CHECK(test::snapshot(*opened.store) == before);
}

TEST_CASE("meta store: deferred commits are visible at once, durable only at flush, after the before-write hook") {
    test::TempDir dir;
    auto disks = test::posix_disks(dir, 3);
    auto store = create_store(disks);
    int hook_calls = 0;
    bool hook_fails = true;
    std::uint64_t durable_seen = 0;
    store->set_before_write([&]() -> Status {
        ++hook_calls;
        // The records are not on disk while the hook runs: whatever it makes durable lands before them.
        CHECK(store->durable_sequence() == 0);
        if (hook_fails)
            return make_error(Errc::io_error, "injected: shards could not be synced");
        return {};
    });
    store->set_after_durable([&](std::uint64_t sequence) { durable_seen = sequence; });

    MetaBatch batch;
    batch.put("a", "1");
    auto first = store->commit_deferred(batch);
    REQUIRE(first.ok());
    batch.clear();
    batch.put("b", "2");
    auto second = store->commit_deferred(batch);
    REQUIRE(second.ok());
    CHECK(*second == *first + 1);
    CHECK(store->get("a") == "1");
    CHECK(store->get("b") == "2");
    CHECK(store->last_sequence() == 2);
    CHECK(store->durable_sequence() == 0);
    CHECK(hook_calls == 0);

    // A failing hook fails the flush and writes nothing; the records stay queued for the next flush.
    Status failed = store->flush();
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().describe().find("shards could not be synced") != std::string::npos);
    CHECK(hook_calls == 1);
    CHECK(store->durable_sequence() == 0);
    CHECK(durable_seen == 0);

    hook_fails = false;
    REQUIRE(store->flush().ok());
    CHECK(hook_calls == 2);
    CHECK(store->durable_sequence() == 2);
    CHECK(durable_seen == 2);
    REQUIRE(store->flush().ok());  // nothing queued: no hook, no write
    CHECK(hook_calls == 2);

    // A durable commit carries the deferred records queued before it.
    batch.clear();
    batch.put("c", "3");
    REQUIRE(store->commit_deferred(batch).ok());
    batch.clear();
    batch.put("d", "4");
    store->set_before_write([&]() -> Status {
        ++hook_calls;
        return {};
    });
    REQUIRE(store->commit(batch).ok());
    CHECK(hook_calls == 3);
    CHECK(store->durable_sequence() == 4);
    store.reset();
    auto opened = reopen(disks);
    CHECK(opened.store->last_sequence() == 4);
    for (const char* key : {"a", "b", "c", "d"})
        CHECK(opened.store->get(key).has_value());
}

TEST_CASE("meta store: deferred records that were never flushed are gone after reopen, earlier ones stay") {
    test::TempDir dir;
    auto disks = test::posix_disks(dir, 3);
    {
        auto store = create_store(disks);
        MetaBatch batch;
        batch.put("kept", "1");
        commit_ok(*store, batch);
        batch.clear();
        batch.put("lost", "2");
        REQUIRE(store->commit_deferred(batch).ok());
        // The store's destructor does not flush (the pool does, when it closes), so destroying it here is a crash.
    }
    auto opened = reopen(disks);
    CHECK(opened.store->get("kept") == "1");
    CHECK_FALSE(opened.store->get("lost").has_value());
    CHECK(opened.store->last_sequence() == 1);
}
