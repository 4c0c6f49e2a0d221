// Disk loss and bit rot: every combination of up to m lost disks still reads back byte-identical; m+1 lost fails
// with an error naming the object; flipped bits anywhere in shards never change what get returns.
#include <algorithm>

#include "pool_test_support.hpp"

using namespace tiercel;
using namespace tiercel::pool;
using namespace tiercel::pool::testing;

namespace {

struct Fixture {
    std::vector<std::shared_ptr<io::SimDisk>> sims;
    std::vector<std::shared_ptr<io::FaultDisk>> faults;
    std::vector<io::DiskPtr> disks;
    std::unique_ptr<Pool> pool;
    std::map<std::string, std::string> objects;

    explicit Fixture(uint64_t seed, int k = 4, int m = 2) : sims(sim_disks(k + m, seed)) {
        disks = wrap_in_faults(sims, faults);
        auto created = Pool::create(small_spec(disks, k, m), {});
        REQUIRE_MESSAGE(created.ok(), created.error().describe());
        pool = std::move(*created);
        for (size_t size : {size_t{100}, size_t{16384}, size_t{70000}, size_t{200001}}) {
            std::string name = "obj" + std::to_string(size);
            objects[name] = random_bytes(size, seed + size);
            REQUIRE(pool->put(name, source_of(objects[name])).ok());
        }
    }
};

// Every subset of `n` elements of size `r`, as bitmasks.
std::vector<unsigned> combinations(unsigned n, unsigned r) {
    std::vector<unsigned> out;
    for (unsigned mask = 0; mask < (1u << n); ++mask)
        if (static_cast<unsigned>(__builtin_popcount(mask)) == r)
            out.push_back(mask);
    return out;
}

}  // namespace

TEST_CASE("any m lost disks: every object still reads back byte-identical") {
    Fixture fixture(11);
    for (unsigned lost = 1; lost <= 2; ++lost) {
        for (unsigned mask : combinations(6, lost)) {
            for (unsigned i = 0; i < 6; ++i)
                if (mask & (1u << i))
                    fixture.faults[i]->fail_all(Errc::not_found);
            for (const auto& [name, data] : fixture.objects) {
                auto back = read_all(*fixture.pool, name);
                REQUIRE_MESSAGE(back.ok(), "lost mask " << mask << ": " << back.error().describe());
                CHECK_MESSAGE(*back == data, "lost mask " << mask << " object " << name);
            }
            for (auto& fault : fixture.faults)
                fault->heal();
        }
    }
}

TEST_CASE("m+1 lost disks: a clear error naming the object, never bytes") {
    Fixture fixture(12);
    for (unsigned mask : combinations(6, 3)) {
        for (unsigned i = 0; i < 6; ++i)
            if (mask & (1u << i))
                fixture.faults[i]->fail_all(Errc::io_error);
        for (const auto& [name, data] : fixture.objects) {
            if (data.size() <= 256)
                continue;  // inline objects live in the metadata replicas, not in stripes
            size_t delivered = 0;
            Status status = fixture.pool->get(name, 0, std::nullopt, [&](std::span<const std::byte> bytes) -> Status {
                // Whatever is delivered before the failure must be the true prefix.
                CHECK(std::equal(reinterpret_cast<const char*>(bytes.data()),
                                 reinterpret_cast<const char*>(bytes.data()) + bytes.size(), data.begin() + delivered));
                delivered += bytes.size();
                return {};
            });
            REQUIRE_MESSAGE(!status.ok(), "mask " << mask << " object " << name << " should be unreadable");
            CHECK(status.error().code() == Errc::unavailable);
            CHECK(status.error().message().find("'" + name + "'") != std::string::npos);
            CHECK(status.error().message().find("stripe") != std::string::npos);
        }
        for (auto& fault : fixture.faults)
            fault->heal();
    }
}

TEST_CASE("random bit flips in shards never change what get returns") {
    for (uint64_t seed = 20; seed < 30; ++seed) {
        Fixture fixture(seed);
        std::mt19937_64 rng(seed);
        // Bits flip in any file; the metadata is already in memory, so shards are what this exercises
        // (metadata replicas have their own bit-rot tests).
        for (auto& sim : fixture.sims) {
            auto flips = sim->corrupt_random(3);
            (void)flips;
        }
        for (const auto& [name, data] : fixture.objects) {
            auto back = read_all(*fixture.pool, name);
            if (back.ok())
                CHECK_MESSAGE(*back == data, "seed " << seed << " object " << name << " returned wrong bytes");
            else
                CHECK_MESSAGE((back.error().code() == Errc::unavailable || back.error().code() == Errc::corruption),
                              "seed " << seed << ": " << back.error().describe());
        }
    }
}

TEST_CASE("one flipped byte in every shard of a stripe position is repaired on read") {
    Fixture fixture(31);
    auto status = fixture.pool->status();
    // Flip one byte in the data part of every shard file of disk 2: each stripe loses at most one shard.
    auto buckets = fixture.sims[2]->list("shards");
    REQUIRE(buckets.ok());
    int flipped = 0;
    for (const auto& bucket : *buckets) {
        auto files = fixture.sims[2]->list("shards/" + bucket);
        for (const auto& file : *files) {
            REQUIRE(fixture.faults[2]->flip_bit("shards/" + bucket + "/" + file, 100, 3).ok());
            ++flipped;
        }
    }
    CHECK(flipped > 0);
    for (const auto& [name, data] : fixture.objects)
        CHECK(*read_all(*fixture.pool, name) == data);
    CHECK(fixture.pool->status().disks[2].checksum_errors > 0);
}

TEST_CASE("truncated shards are detected and answered from parity") {
    Fixture fixture(32);
    auto buckets = fixture.sims[4]->list("shards");
    for (const auto& bucket : *buckets) {
        auto files = fixture.sims[4]->list("shards/" + bucket);
        for (const auto& file : *files)
            REQUIRE(fixture.sims[4]->truncate("shards/" + bucket + "/" + file, 10).ok());
    }
    for (const auto& [name, data] : fixture.objects)
        CHECK(*read_all(*fixture.pool, name) == data);
}
