// StripeCodec::plain_data_views: the zero-copy healthy read must accept exactly what decode() accepts for a plain
// stripe, and refuse everything else so the caller falls back to decode().
#include <doctest/doctest.h>

#include <random>

#include "tiercel/codec/stripe_codec.hpp"

using namespace tiercel;
using namespace tiercel::codec;

namespace {

StripeCodec plain_codec(Compression compression = Compression::none) {
    StripeCodecConfig config;
    config.data_shards = 4;
    config.parity_shards = 2;
    config.compression = compression;
    return std::move(StripeCodec::create(config)).value();
}

Bytes random_bytes(size_t size) {
    std::mt19937_64 rng(size);
    Bytes out(size);
    for (auto& b : out)
        b = static_cast<uint8_t>(rng());
    return out;
}

std::vector<ByteView> views_of(const std::vector<Bytes>& shards) { return {shards.begin(), shards.end()}; }

Bytes join(const std::vector<ByteView>& views) {
    Bytes out;
    for (const auto& view : views)
        out.insert(out.end(), view.begin(), view.end());
    return out;
}

}  // namespace

TEST_CASE("plain views return exactly the logical bytes for every size") {
    const StripeCodec codec = plain_codec();
    StripeIdentity identity{{1, 2, 3}, 9, 1};
    for (size_t size : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{16383}, size_t{16384}, size_t{99999}}) {
        Bytes logical = random_bytes(size);
        auto shards = *codec.encode(identity, logical);
        auto views = codec.plain_data_views(identity, views_of(shards));
        REQUIRE_MESSAGE(views.ok(), views.error().describe());
        CHECK(join(*views) == logical);
    }
}

TEST_CASE("plain views refuse damaged, foreign and non-plain stripes") {
    const StripeCodec codec = plain_codec();
    StripeIdentity identity{{1, 2, 3}, 9, 1};
    Bytes logical = random_bytes(50000);
    auto shards = *codec.encode(identity, logical);
    auto flipped = shards;
    flipped[2][shard_header_size + 10] ^= 1;
    CHECK_FALSE(codec.plain_data_views(identity, views_of(flipped)).ok());
    auto missing = views_of(shards);
    missing[1] = {};
    CHECK_FALSE(codec.plain_data_views(identity, missing).ok());
    StripeIdentity other = identity;
    other.generation = 2;
    CHECK_FALSE(codec.plain_data_views(other, views_of(shards)).ok());
    auto swapped = views_of(shards);
    std::swap(swapped[0], swapped[1]);
    CHECK_FALSE(codec.plain_data_views(identity, swapped).ok());

    const StripeCodec compressing = plain_codec(Compression::zstd);
    Bytes compressible(50000, 7);
    auto packed = *compressing.encode(identity, compressible);
    auto refused = compressing.plain_data_views(identity, views_of(packed));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message().find("not a plain stripe") != std::string::npos);
}
