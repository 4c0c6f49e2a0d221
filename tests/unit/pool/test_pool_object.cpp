// The pool's object layer over simulated disks: round trips at stripe boundaries, ranges, overwrite, remove, list,
// and the errors a caller sees.
#include <cstring>

#include "pool_test_support.hpp"

using namespace tiercel;
using namespace tiercel::pool;
using namespace tiercel::pool::testing;

namespace {

std::unique_ptr<Pool> make_pool(std::vector<io::DiskPtr> disks) {
    auto pool = Pool::create(small_spec(disks), {});
    REQUIRE_MESSAGE(pool.ok(), (pool.ok() ? "" : pool.error().describe()));
    return std::move(*pool);
}

std::vector<io::DiskPtr> as_disks(const std::vector<std::shared_ptr<io::SimDisk>>& sims) {
    return {sims.begin(), sims.end()};
}

}  // namespace

TEST_CASE("objects round-trip at every size around the stripe and inline boundaries") {
    auto pool = make_pool(as_disks(sim_disks(6, 1)));
    const size_t stripe = 4 * 4096;
    for (size_t size : {size_t{0}, size_t{1}, size_t{255}, size_t{256}, size_t{257}, stripe - 1, stripe, stripe + 1,
                        3 * stripe + 17}) {
        std::string data = random_bytes(size, size);
        std::string name = "obj-" + std::to_string(size);
        auto info = pool->put(name, source_of(data));
        REQUIRE_MESSAGE(info.ok(), info.error().describe());
        CHECK(info->size == size);
        CHECK(info->is_inline == (size <= 256));
        auto back = read_all(*pool, name);
        REQUIRE_MESSAGE(back.ok(), back.error().describe());
        CHECK_MESSAGE(*back == data, "size " << size);
    }
}

TEST_CASE("put_shared stores a prefix of a shared buffer, at every size around the boundaries, deferred too") {
    auto pool = make_pool(as_disks(sim_disks(6, 11)));
    const size_t stripe = 4 * 4096;
    std::string all = random_bytes(3 * stripe + 100, 7);
    auto buffer = std::make_shared<std::vector<std::byte>>(all.size());
    std::memcpy(buffer->data(), all.data(), all.size());
    for (size_t length : {size_t{0}, size_t{256}, size_t{257}, stripe - 1, stripe, stripe + 1, 3 * stripe + 17}) {
        for (auto durability : {Pool::Durability::immediate, Pool::Durability::deferred}) {
            std::string name = "shared-" + std::to_string(length) +
                               (durability == Pool::Durability::deferred ? "-deferred" : "");
            auto info = pool->put_shared(name, buffer, length, durability);
            REQUIRE_MESSAGE(info.ok(), info.error().describe());
            CHECK(info->size == length);
            auto back = read_all(*pool, name);
            REQUIRE_MESSAGE(back.ok(), back.error().describe());
            CHECK_MESSAGE(*back == all.substr(0, length), name);
        }
    }
    REQUIRE(pool->sync().ok());
    auto past = pool->put_shared("past", buffer, buffer->size() + 1);
    REQUIRE_FALSE(past.ok());
    CHECK(past.error().code() == Errc::invalid_input);
    CHECK(past.error().describe().find("past the buffer's end") != std::string::npos);
}

TEST_CASE("range reads return exactly the requested bytes") {
    auto pool = make_pool(as_disks(sim_disks(6, 2)));
    std::string data = random_bytes(5 * 16384 + 123, 7);
    REQUIRE(pool->put("r", source_of(data)).ok());
    for (auto [offset, length] : std::vector<std::pair<uint64_t, uint64_t>>{
             {0, 1}, {16383, 2}, {16384, 16384}, {100, 50000}, {data.size() - 5, 100}, {data.size(), 10}}) {
        auto part = read_all(*pool, "r", offset, length);
        REQUIRE_MESSAGE(part.ok(), part.error().describe());
        CHECK(*part == data.substr(offset, length));
    }
    auto past = read_all(*pool, "r", data.size() + 1, 1);
    REQUIRE_FALSE(past.ok());
    CHECK(past.error().code() == Errc::invalid_input);
}

TEST_CASE("overwrite replaces, remove deletes, list and stat agree") {
    auto sims = sim_disks(6, 3);
    auto pool = make_pool(as_disks(sims));
    std::string first = random_bytes(40000, 1), second = random_bytes(20000, 2);
    REQUIRE(pool->put("a/x", source_of(first)).ok());
    REQUIRE(pool->put("a/y", source_of(second)).ok());
    REQUIRE(pool->put("b/z", source_of(second)).ok());
    auto shard_files = [&] {
        size_t count = 0;
        for (auto& disk : sims) {
            auto buckets = disk->list("shards");
            for (const auto& bucket : *buckets)
                count += disk->list("shards/" + bucket)->size();
        }
        return count;
    };
    // 40000 bytes = 3 stripes of 16 KiB, 20000 bytes = 2: six shards each.
    CHECK(shard_files() == (3 + 2 + 2) * 6);
    REQUIRE(pool->put("a/x", source_of(second)).ok());
    CHECK(*read_all(*pool, "a/x") == second);
    CHECK_MESSAGE(shard_files() == (2 + 2 + 2) * 6, "the old version's shards were freed");
    CHECK(pool->list("a/").size() == 2);
    CHECK(pool->list("").size() == 3);
    CHECK(pool->stat("b/z")->size == 20000);
    REQUIRE(pool->remove("a/y").ok());
    CHECK(pool->stat("a/y").error().code() == Errc::not_found);
    CHECK(pool->remove("a/y").error().code() == Errc::not_found);
    auto missing = read_all(*pool, "nope");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message().find("'nope'") != std::string::npos);
}

TEST_CASE("bad object names are refused") {
    auto pool = make_pool(as_disks(sim_disks(6, 4)));
    CHECK(pool->put("", source_of("x")).error().code() == Errc::invalid_input);
    CHECK(pool->put(std::string(1025, 'n'), source_of("x")).error().code() == Errc::invalid_input);
    CHECK(pool->put(std::string("a\0b", 3), source_of("x")).error().code() == Errc::invalid_input);
}

TEST_CASE("a pool reopens with its objects") {
    auto sims = sim_disks(6, 5);
    std::string data = random_bytes(50000, 9);
    {
        auto pool = make_pool(as_disks(sims));
        REQUIRE(pool->put("keep", source_of(data)).ok());
    }
    auto reopened = Pool::open(small_spec(as_disks(sims)));
    REQUIRE_MESSAGE(reopened.ok(), reopened.error().describe());
    CHECK(*read_all(**reopened, "keep") == data);
    auto again = (*reopened)->put("new", source_of(data));
    REQUIRE(again.ok());
    CHECK(*read_all(**reopened, "new") == data);
}

TEST_CASE("create refuses disks of another pool or with other data, unless forced") {
    auto sims = sim_disks(6, 6);
    { auto pool = make_pool(as_disks(sims)); }
    auto again = Pool::create(small_spec(as_disks(sims)), {});
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code() == Errc::already_exists);
    CHECK(again.error().message().find("already belongs to pool") != std::string::npos);
    auto other = sim_disks(6, 7);
    REQUIRE(other[2]->write_file("family-photos.jpg", std::as_bytes(std::span("x", 1)), true).ok());
    auto dirty = Pool::create(small_spec(as_disks(other)), {});
    REQUIRE_FALSE(dirty.ok());
    CHECK(dirty.error().message().find("family-photos.jpg") != std::string::npos);
    CHECK(Pool::create(small_spec(as_disks(other)), CreateOptions{true}).ok());
}

TEST_CASE("writes need k+m usable disks and say which are missing") {
    auto sims = sim_disks(6, 8);
    std::vector<io::DiskPtr> disks = as_disks(sims);
    auto pool = make_pool(disks);
    auto faulty = io::FaultDisk::wrap(sims[3]);
    disks[3] = faulty;
    pool.reset();
    auto reopened = Pool::open(small_spec(disks));
    REQUIRE(reopened.ok());
    faulty->fail_all(Errc::io_error);
    auto put = (*reopened)->put("big", source_of(random_bytes(40000, 3)));
    REQUIRE_FALSE(put.ok());
    CHECK(put.error().code() == Errc::no_space);
    CHECK(put.error().message().find("need 6 distinct disks") != std::string::npos);
    CHECK(put.error().message().find("disk3") != std::string::npos);
}

TEST_CASE("a write failure on one disk is retried elsewhere when a spare disk exists") {
    auto sims = sim_disks(7, 9);
    std::vector<io::DiskPtr> disks = as_disks(sims);
    { auto pool = make_pool(disks); }
    auto faulty = io::FaultDisk::wrap(sims[1]);
    disks[1] = faulty;
    auto pool = Pool::open(small_spec(disks));
    REQUIRE(pool.ok());
    faulty->fail_ops_matching([](const io::OpInfo& op) -> std::optional<Errc> {
        return op.op == io::DiskOp::write_file ? std::optional<Errc>(Errc::io_error) : std::nullopt;
    });
    std::string data = random_bytes(100000, 4);
    auto put = (*pool)->put("retry", source_of(data));
    REQUIRE_MESSAGE(put.ok(), put.error().describe());
    faulty->heal();
    CHECK(*read_all(**pool, "retry") == data);
    auto status = (*pool)->status();
    CHECK(status.disks[1].shards == 0);
    CHECK(status.disks[1].write_errors > 0);
}
