// Pool::get_view: the same verified bytes as get(), handed over as views. Small stripes use heap buffers, 4 MiB
// stripes (1 MiB chunks, the filesystem's block) a huge-page arena that is recycled; both must give exactly the
// object's bytes, keep them while the view lives (after overwrite and remove), and never show a corrupt shard.
#include "pool_test_support.hpp"

using namespace tiercel;
using namespace tiercel::pool;
using namespace tiercel::pool::testing;

namespace {

struct Fixture {
    std::vector<std::shared_ptr<io::SimDisk>> sims;
    std::vector<std::shared_ptr<io::FaultDisk>> faults;
    std::unique_ptr<Pool> pool;

    Fixture(uint64_t seed, uint64_t chunk_size) : sims(sim_disks(6, seed)) {
        PoolSpec spec = small_spec(wrap_in_faults(sims, faults));
        spec.chunk_size = chunk_size;
        auto created = Pool::create(spec, {});
        REQUIRE_MESSAGE(created.ok(), created.error().describe());
        pool = std::move(*created);
    }

    void put(const std::string& name, const std::string& data) {
        auto info = pool->put(name, source_of(data));
        REQUIRE_MESSAGE(info.ok(), info.error().describe());
    }

    // Flips one bit in the data part of every shard file with index `shard` (the name ends in ".<index>").
    int flip_shards(unsigned shard) {
        int flipped = 0;
        for (size_t d = 0; d < sims.size(); ++d) {
            auto buckets = sims[d]->list("shards");
            if (!buckets.ok())
                continue;
            for (const auto& bucket : *buckets) {
                auto files = sims[d]->list("shards/" + bucket);
                REQUIRE(files.ok());
                for (const auto& file : *files)
                    if (file.ends_with("." + std::to_string(shard))) {
                        REQUIRE(faults[d]->flip_bit("shards/" + bucket + "/" + file, 1000, 5).ok());
                        ++flipped;
                    }
            }
        }
        return flipped;
    }
};

std::string joined(const ObjectView& view) {
    std::string out;
    for (const auto& bytes : view.views)
        out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return out;
}

Result<std::string> view_all(Pool& pool, const std::string& name, uint64_t offset = 0,
                             std::optional<uint64_t> length = std::nullopt) {
    TIERCEL_ASSIGN(ObjectView view, pool.get_view(name, offset, length));
    std::string out = joined(view);
    if (out.size() != view.size)
        return make_error(Errc::corruption, "views hold " + std::to_string(out.size()) + " bytes, size says " +
                                                std::to_string(view.size));
    return out;
}

}  // namespace

TEST_CASE("get_view returns what get returns, whole objects and ranges, small and huge-page stripes") {
    for (uint64_t chunk : {uint64_t{4096}, uint64_t{1} << 20}) {
        Fixture f(40 + chunk % 7, chunk);
        const uint64_t stripe = 4 * chunk;
        for (uint64_t size : {uint64_t{0}, uint64_t{100}, stripe - 1, stripe, 2 * stripe + 17}) {
            const std::string name = "o" + std::to_string(size);
            const std::string data = random_bytes(size, size + chunk);
            f.put(name, data);
            auto whole = view_all(*f.pool, name);
            REQUIRE_MESSAGE(whole.ok(), whole.error().describe());
            CHECK_MESSAGE(*whole == data, "chunk " << chunk << " size " << size);
            for (auto [offset, length] : std::vector<std::pair<uint64_t, uint64_t>>{
                     {0, 1}, {chunk - 1, 2}, {stripe - 3, 10}, {size / 2, size}, {size, 5}}) {
                if (offset > size)
                    continue;
                auto part = view_all(*f.pool, name, offset, length);
                REQUIRE_MESSAGE(part.ok(), part.error().describe());
                CHECK_MESSAGE(*part == data.substr(offset, length),
                              "chunk " << chunk << " size " << size << " at " << offset << "+" << length);
                CHECK(*part == *read_all(*f.pool, name, offset, length));
            }
        }
        auto past = f.pool->get_view("o100", 101, 1);
        REQUIRE_FALSE(past.ok());
        CHECK(past.error().code() == Errc::invalid_input);
        CHECK(f.pool->get_view("missing", 0, std::nullopt).error().code() == Errc::not_found);
    }
}

TEST_CASE("a view keeps its bytes after the object is overwritten and removed, and recycled memory is rewritten") {
    Fixture f(50, 1 << 20);
    const std::string first = random_bytes(4 << 20, 1), second = random_bytes(4 << 20, 2);
    f.put("x", first);
    auto view = f.pool->get_view("x", 0, std::nullopt);
    REQUIRE(view.ok());
    f.put("x", second);
    CHECK(joined(*view) == first);
    REQUIRE(f.pool->remove("x").ok());
    CHECK(joined(*view) == first);
    // Dropping views returns their arenas for reuse: later reads of other objects of the same size must show only
    // their own bytes.
    view = make_error(Errc::not_found, "dropped");
    for (uint64_t seed = 3; seed < 8; ++seed) {
        const std::string data = random_bytes(4 << 20, seed);
        f.put("y", data);
        CHECK(*view_all(*f.pool, "y") == data);
        CHECK(*read_all(*f.pool, "y") == data);
    }
}

TEST_CASE("get_view answers a corrupt shard from parity and fails rather than return wrong bytes") {
    Fixture f(60, 1 << 20);
    const std::string data = random_bytes(8 << 20, 9);
    f.put("big", data);
    REQUIRE(f.flip_shards(1) > 0);
    auto repaired = view_all(*f.pool, "big");
    REQUIRE_MESSAGE(repaired.ok(), repaired.error().describe());
    CHECK(*repaired == data);
    REQUIRE(f.flip_shards(2) > 0);
    REQUIRE(f.flip_shards(4) > 0);  // three bad shards per stripe: more than m = 2
    auto lost = f.pool->get_view("big", 0, std::nullopt);
    REQUIRE_FALSE(lost.ok());
    CHECK((lost.error().code() == Errc::unavailable || lost.error().code() == Errc::corruption));
    CHECK(lost.error().message().find("'big'") != std::string::npos);
}
