// The stripe codec's promise: the exact original bytes or an error, whatever subset of shards survives.
#include "tiercel/codec/stripe_codec.hpp"

#include "tiercel/codec/checksum.hpp"

#include <sodium.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>

using namespace tiercel;
using namespace tiercel::codec;

namespace {

StripeIdentity stripe(std::uint64_t id, std::uint64_t generation = 1) {
    StripeIdentity identity;
    identity.pool_uuid.fill(0x5C);
    identity.stripe_id = id;
    identity.generation = generation;
    return identity;
}

// Text with random bytes sprinkled in: compressible, but not trivially.
Bytes logical_bytes(std::size_t size, unsigned seed) {
    const std::string words = "cold files move to the hdd pool, hot ones stay on nvme. ";
    std::mt19937 rng(seed);
    Bytes out(size);
    for (std::size_t i = 0; i < size; ++i)
        out[i] = (rng() % 8 == 0) ? static_cast<std::uint8_t>(rng()) : static_cast<std::uint8_t>(words[i % words.size()]);
    return out;
}

const AeadKey& test_key(std::string_view passphrase = "stripe test passphrase") {
    static const auto make = [](std::string_view phrase) {
        KdfParams params;
        params.salt.fill(0x11);
        params.opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
        params.memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
        auto key = AeadKey::derive(phrase, params);
        REQUIRE(key.ok());
        return *key;
    };
    static const AeadKey right = make("stripe test passphrase");
    static const AeadKey wrong = make("another passphrase");
    return passphrase == "stripe test passphrase" ? right : wrong;
}

StripeCodec make_codec(int k, int m, Compression compression, bool encrypted) {
    StripeCodecConfig config;
    config.data_shards = k;
    config.parity_shards = m;
    config.compression = compression;
    if (encrypted)
        config.key = test_key();
    auto codec = StripeCodec::create(config);
    REQUIRE(codec.ok());
    return std::move(codec).value();
}

std::vector<ByteView> views(const std::vector<Bytes>& shards, ShardMask dropped = 0) {
    std::vector<ByteView> out;
    for (std::size_t i = 0; i < shards.size(); ++i)
        out.push_back((dropped & shard_bit(static_cast<unsigned>(i))) ? ByteView{} : ByteView(shards[i]));
    return out;
}

bool lists_bad(const DecodedStripe& decoded, unsigned index) {
    return std::ranges::any_of(decoded.bad_shards, [&](const BadShard& bad) { return bad.index == index; });
}

// Rewrites a shard's header with valid CRCs: what a forger (or a badly confused writer) could produce.
void rewrite_header(Bytes& shard, const std::function<void(ShardHeader&)>& edit) {
    auto header = parse_shard_header(shard);
    REQUIRE(header.ok());
    edit(*header);
    header->shard_data_crc32c = crc32c(ByteView(shard).subspan(shard_header_size));
    const auto bytes = serialize_shard_header(*header);
    std::copy(bytes.begin(), bytes.end(), shard.begin());
}

// Encodes, then decodes with every loss pattern of up to m shards and checks m + 1 losses are unavailable.
void check_round_trip(const StripeCodec& codec, const Bytes& logical) {
    const StripeIdentity id = stripe(17, 3);
    auto shards = codec.encode(id, logical);
    REQUIRE(shards.ok());
    REQUIRE(shards->size() == static_cast<std::size_t>(codec.total_shards()));
    for (const Bytes& shard : *shards)
        CHECK(shard.size() <= codec.encoded_shard_size(logical.size()));
    const ShardMask all = (ShardMask{1} << codec.total_shards()) - 1;
    for (ShardMask dropped = 0; dropped <= all; ++dropped) {
        const int losses = std::popcount(dropped);
        if (losses > codec.parity_shards() + 1)
            continue;
        CAPTURE(dropped);
        auto decoded = codec.decode(id, views(*shards, dropped));
        if (losses <= codec.parity_shards()) {
            REQUIRE(decoded.ok());
            REQUIRE(decoded->data == logical);
            CHECK(decoded->bad_shards.empty());
            CHECK(decoded->reconstructed == ((dropped & ((ShardMask{1} << codec.data_shards()) - 1)) != 0));
        } else {
            REQUIRE_FALSE(decoded.ok());
            CHECK(decoded.error().code() == Errc::unavailable);
            CHECK(decoded.error().message().find("stripe 17 (generation 3)") != std::string::npos);
        }
    }
}

}  // namespace

TEST_CASE("round trip at chunk boundaries for every compression, with and without encryption, every loss") {
    for (auto [k, m] : {std::pair{4, 2}, std::pair{3, 2}}) {
        const std::size_t chunk = 4096 * static_cast<std::size_t>(k);
        for (Compression compression : {Compression::none, Compression::zstd, Compression::lz4}) {
            for (bool encrypted : {false, true}) {
                const StripeCodec codec = make_codec(k, m, compression, encrypted);
                for (std::size_t size : {std::size_t{0}, std::size_t{1}, chunk - 1, chunk, chunk + 1}) {
                    CAPTURE(k);
                    CAPTURE(compression_name(compression));
                    CAPTURE(encrypted);
                    CAPTURE(size);
                    check_round_trip(codec, logical_bytes(size, static_cast<unsigned>(size)));
                }
            }
        }
    }
}

TEST_CASE("a real 1 MiB-per-shard stripe survives two lost shards") {
    const StripeCodec codec = make_codec(4, 2, Compression::zstd, true);
    const Bytes logical = logical_bytes(4 << 20, 4);
    auto shards = codec.encode(stripe(1), logical);
    REQUIRE(shards.ok());
    auto header = parse_shard_header((*shards)[0]);
    REQUIRE(header.ok());
    CHECK(header->compression == Compression::zstd);  // it did compress
    auto decoded = codec.decode(stripe(1), views(*shards, shard_bit(1) | shard_bit(4)));
    REQUIRE(decoded.ok());
    CHECK(decoded->data == logical);
    CHECK(decoded->reconstructed);
}

TEST_CASE("encode_into reuses dirty buffers and produces the same shards as encode") {
    const StripeCodec codec = make_codec(3, 2, Compression::lz4, false);
    const Bytes small = logical_bytes(1000, 20);
    std::vector<Bytes> reused(7, Bytes(50000, 0xAB));  // too many, too large, full of junk
    REQUIRE(codec.encode_into(stripe(20), small, reused).ok());
    auto fresh = codec.encode(stripe(20), small);
    REQUIRE(fresh.ok());
    CHECK(reused == *fresh);  // lz4 and plain shards are deterministic, so byte equality holds
    auto decoded = codec.decode(stripe(20), views(reused));
    REQUIRE(decoded.ok());
    CHECK(decoded->data == small);
}

TEST_CASE("incompressible data is stored raw and still decodes") {
    const StripeCodec codec = make_codec(3, 1, Compression::zstd, false);
    Bytes logical(30000);
    std::mt19937 rng(5);
    for (auto& byte : logical)
        byte = static_cast<std::uint8_t>(rng());
    auto shards = codec.encode(stripe(2), logical);
    REQUIRE(shards.ok());
    CHECK(parse_shard_header((*shards)[0])->compression == Compression::none);
    auto decoded = codec.decode(stripe(2), views(*shards));
    REQUIRE(decoded.ok());
    CHECK(decoded->data == logical);
}

TEST_CASE("healthy reads need only the data shards and never inspect parity") {
    const StripeCodec codec = make_codec(4, 2, Compression::lz4, false);
    const Bytes logical = logical_bytes(20000, 6);
    auto shards = codec.encode(stripe(3), logical);
    REQUIRE(shards.ok());
    auto data_only = codec.decode(stripe(3), views(*shards, shard_bit(4) | shard_bit(5)));
    REQUIRE(data_only.ok());
    CHECK(data_only->data == logical);
    CHECK_FALSE(data_only->reconstructed);
    std::vector<Bytes> garbage_parity = *shards;
    garbage_parity[4].assign(garbage_parity[4].size(), 0xFF);
    auto healthy = codec.decode(stripe(3), views(garbage_parity));
    REQUIRE(healthy.ok());
    CHECK(healthy->bad_shards.empty());  // parity was not even looked at
}

TEST_CASE("a flipped byte anywhere in any shard is detected and the stripe still decodes") {
    for (bool encrypted : {false, true}) {
        const StripeCodec codec = make_codec(4, 2, encrypted ? Compression::lz4 : Compression::none, encrypted);
        const Bytes logical = logical_bytes(10000, 7);
        auto shards = codec.encode(stripe(4), logical);
        REQUIRE(shards.ok());
        for (unsigned index = 0; index < shards->size(); ++index) {
            const std::size_t size = (*shards)[index].size();
            std::vector<std::size_t> positions;
            for (std::size_t p = 0; p < shard_header_size; ++p)
                positions.push_back(p);
            for (std::size_t p : {shard_header_size, shard_header_size + 1, size / 2, size - 1})
                positions.push_back(p);
            for (std::size_t position : positions) {
                CAPTURE(encrypted);
                CAPTURE(index);
                CAPTURE(position);
                std::vector<Bytes> damaged = *shards;
                damaged[index][position] ^= 0x40;
                auto decoded = codec.decode(stripe(4), views(damaged));
                REQUIRE(decoded.ok());
                CHECK(decoded->data == logical);
                if (index < 4)  // parity is not inspected on a healthy read
                    CHECK(lists_bad(*decoded, index));
            }
        }
    }
}

TEST_CASE("more than m damaged shards is unavailable and the message names the stripe and the shards") {
    const StripeCodec codec = make_codec(4, 2, Compression::zstd, false);
    auto shards = codec.encode(stripe(5, 8), logical_bytes(9000, 8));
    REQUIRE(shards.ok());
    std::vector<Bytes> damaged = *shards;
    damaged[0][shard_header_size + 3] ^= 1;
    damaged[2][10] ^= 1;
    damaged[5].resize(20);
    auto decoded = codec.decode(stripe(5, 8), views(damaged));
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().code() == Errc::unavailable);
    const std::string& message = decoded.error().message();
    CHECK(message.find("stripe 5 (generation 8)") != std::string::npos);
    CHECK(message.find("0 (shard data checksum mismatch)") != std::string::npos);
    CHECK(message.find("2 (shard header: header checksum mismatch)") != std::string::npos);
    CHECK(message.find("5 (shard header: truncated") != std::string::npos);
}

TEST_CASE("a shard of another stripe or generation is rejected") {
    const StripeCodec codec = make_codec(3, 2, Compression::none, false);
    const Bytes logical = logical_bytes(5000, 9);
    auto mine = codec.encode(stripe(6, 2), logical);
    auto other_stripe = codec.encode(stripe(7, 2), logical);
    auto older = codec.encode(stripe(6, 1), logical);
    REQUIRE((mine.ok() && other_stripe.ok() && older.ok()));
    std::vector<Bytes> mixed = *mine;
    mixed[0] = (*other_stripe)[0];
    mixed[1] = (*older)[1];
    auto decoded = codec.decode(stripe(6, 2), views(mixed));
    REQUIRE(decoded.ok());
    CHECK(decoded->data == logical);
    REQUIRE(decoded->bad_shards.size() == 2);
    CHECK(decoded->bad_shards[0].reason.find("belongs to stripe 7") != std::string::npos);
    CHECK(decoded->bad_shards[1].reason.find("generation 1") != std::string::npos);
    mixed[2] = (*older)[2];
    CHECK(codec.decode(stripe(6, 2), views(mixed)).error().code() == Errc::unavailable);
    std::vector<Bytes> swapped = *mine;
    std::swap(swapped[0], swapped[1]);  // right stripe, wrong slots
    auto misplaced = codec.decode(stripe(6, 2), views(swapped));
    REQUIRE(misplaced.ok());
    CHECK(misplaced->data == logical);
    CHECK(misplaced->bad_shards.size() == 2);
}

TEST_CASE("re-headered shards of an encrypted stripe fail authentication (the AAD binds the identity)") {
    const StripeCodec codec = make_codec(3, 2, Compression::zstd, true);
    auto shards = codec.encode(stripe(8, 4), logical_bytes(12000, 10));
    REQUIRE(shards.ok());
    for (auto edit : std::vector<std::function<void(ShardHeader&)>>{
             [](ShardHeader& h) { h.identity.stripe_id = 9; },
             [](ShardHeader& h) { h.identity.generation = 5; },
         }) {
        std::vector<Bytes> forged = *shards;
        for (Bytes& shard : forged)
            rewrite_header(shard, edit);
        const StripeIdentity claimed = parse_shard_header(forged[0])->identity;
        auto decoded = codec.decode(claimed, views(forged));
        REQUIRE_FALSE(decoded.ok());
        CHECK(decoded.error().code() == Errc::corruption);
        CHECK(decoded.error().message().find("authentication failed") != std::string::npos);
    }
}

TEST_CASE("a wrong key fails with an error naming authentication") {
    const StripeCodec writer = make_codec(4, 2, Compression::lz4, true);
    StripeCodecConfig config;
    config.data_shards = 4;
    config.parity_shards = 2;
    config.key = test_key("another passphrase");
    auto reader = StripeCodec::create(config);
    REQUIRE(reader.ok());
    auto shards = writer.encode(stripe(10), logical_bytes(7000, 11));
    REQUIRE(shards.ok());
    auto decoded = reader->decode(stripe(10), views(*shards));
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().code() == Errc::corruption);
    CHECK(decoded.error().message().find("authentication failed") != std::string::npos);
    CHECK(decoded.error().message().find("stripe 10") != std::string::npos);
}

TEST_CASE("encrypted stripes need a key, and an encrypted pool refuses unencrypted stripes") {
    const StripeCodec keyed = make_codec(2, 1, Compression::none, true);
    const StripeCodec plain = make_codec(2, 1, Compression::none, false);
    auto sealed = keyed.encode(stripe(11), logical_bytes(100, 12));
    auto open_text = plain.encode(stripe(11), logical_bytes(100, 12));
    REQUIRE((sealed.ok() && open_text.ok()));
    CHECK(plain.decode(stripe(11), views(*sealed)).error().code() == Errc::permission);
    CHECK(keyed.decode(stripe(11), views(*open_text)).error().code() == Errc::corruption);
}

TEST_CASE("the end-to-end checksum catches data altered behind valid shard checksums") {
    const StripeCodec codec = make_codec(2, 1, Compression::none, false);
    auto shards = codec.encode(stripe(12), logical_bytes(4000, 13));
    REQUIRE(shards.ok());
    (*shards)[1][shard_header_size + 5] ^= 0x01;
    rewrite_header((*shards)[1], [](ShardHeader&) {});  // refresh the shard CRC over the altered data
    auto decoded = codec.decode(stripe(12), views(*shards));
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().code() == Errc::corruption);
    CHECK(decoded.error().message().find("end-to-end") != std::string::npos);
}

TEST_CASE("a shard whose valid header disagrees with the others is outvoted") {
    const StripeCodec codec = make_codec(3, 2, Compression::none, false);
    const Bytes logical = logical_bytes(6000, 14);
    auto shards = codec.encode(stripe(13), logical);
    REQUIRE(shards.ok());
    rewrite_header((*shards)[0], [](ShardHeader& h) { h.logical_crc32c ^= 1; });
    auto decoded = codec.decode(stripe(13), views(*shards));
    REQUIRE(decoded.ok());
    CHECK(decoded->data == logical);
    REQUIRE(decoded->bad_shards.size() == 1);
    CHECK(decoded->bad_shards[0].reason.find("disagrees") != std::string::npos);
}

TEST_CASE("another layout's shards are refused") {
    const StripeCodec four_one = make_codec(4, 1, Compression::none, false);
    const StripeCodec three_two = make_codec(3, 2, Compression::none, false);
    auto shards = four_one.encode(stripe(14), logical_bytes(1000, 15));
    REQUIRE(shards.ok());
    auto decoded = three_two.decode(stripe(14), views(*shards));
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().message().find("layout 4+1") != std::string::npos);
    CHECK(three_two.decode(stripe(14), std::vector<ByteView>(4)).error().code() == Errc::invalid_input);
}

TEST_CASE("rebuild recreates lost data and parity shards byte-identical to the originals") {
    for (bool encrypted : {false, true}) {
        const StripeCodec codec = make_codec(4, 2, Compression::zstd, encrypted);
        auto shards = codec.encode(stripe(15), logical_bytes(30000, 16));
        REQUIRE(shards.ok());
        const ShardMask lost = shard_bit(1) | shard_bit(5);
        auto rebuilt = codec.rebuild(stripe(15), views(*shards, lost), lost);
        REQUIRE(rebuilt.ok());
        REQUIRE(rebuilt->shards.size() == 2);
        CHECK(rebuilt->shards[0].index == 1);
        CHECK(rebuilt->shards[0].encoded == (*shards)[1]);
        CHECK(rebuilt->shards[1].index == 5);
        CHECK(rebuilt->shards[1].encoded == (*shards)[5]);
        CHECK(verify_shard(rebuilt->shards[1].encoded).ok());  // what scrub would check
    }
}

TEST_CASE("rebuild refuses a stripe that fails its end-to-end check") {
    const StripeCodec writer = make_codec(3, 1, Compression::none, true);
    StripeCodecConfig config;
    config.data_shards = 3;
    config.parity_shards = 1;
    config.key = test_key("another passphrase");
    auto wrong_key = StripeCodec::create(config);
    REQUIRE(wrong_key.ok());
    auto shards = writer.encode(stripe(16), logical_bytes(3000, 17));
    REQUIRE(shards.ok());
    auto rebuilt = wrong_key->rebuild(stripe(16), views(*shards, shard_bit(3)), shard_bit(3));
    REQUIRE_FALSE(rebuilt.ok());
    CHECK(rebuilt.error().message().find("authentication failed") != std::string::npos);
}

TEST_CASE("oversized stripes and bad configs are invalid input") {
    StripeCodecConfig no_data;
    no_data.data_shards = 0;
    CHECK(StripeCodec::create(no_data).error().code() == Errc::invalid_input);
    StripeCodecConfig bad_level;
    bad_level.compression = Compression::zstd;
    bad_level.compression_level = 99;
    CHECK(StripeCodec::create(bad_level).error().code() == Errc::invalid_input);
    const StripeCodec codec = make_codec(1, 0, Compression::none, false);
    // Left uninitialised so the pages are never touched: the size check must come before any read.
    const std::size_t huge_size = max_stripe_logical_length + 1;
    std::unique_ptr<std::uint8_t[]> huge(new std::uint8_t[huge_size]);
    CHECK(codec.encode(stripe(1), ByteView(huge.get(), huge_size)).error().code() == Errc::invalid_input);
}

TEST_CASE("one codec encodes and decodes from several threads at once") {
    const StripeCodec codec = make_codec(4, 2, Compression::zstd, true);
    std::vector<int> failures(4, 0);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (unsigned i = 0; i < 20; ++i) {
                const Bytes logical = logical_bytes(20000 + i * 100, t * 100 + i);
                auto shards = codec.encode(stripe(t * 1000 + i), logical);
                const ShardMask lost = shard_bit(i % 6) | shard_bit((i + t + 1) % 6);
                auto decoded = shards.ok() ? codec.decode(stripe(t * 1000 + i), views(*shards, lost))
                                           : Result<DecodedStripe>(shards.error());
                if (!decoded.ok() || decoded->data != logical)
                    ++failures[t];
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    for (int count : failures)
        CHECK(count == 0);
}
