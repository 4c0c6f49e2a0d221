// Every loss pattern up to m must rebuild byte-identical shards; one more loss must be refused, not guessed.
#include "tiercel/codec/erasure.hpp"

#include <doctest/doctest.h>

#include <bit>
#include <random>
#include <thread>
#include <vector>

using namespace tiercel;
using namespace tiercel::codec;

namespace {

using Shards = std::vector<std::vector<std::uint8_t>>;

// k random data shards + their m parity shards.
Shards encoded_shards(const ErasureCoder& coder, std::size_t shard_len, unsigned seed) {
    std::mt19937 rng(seed);
    Shards shards(static_cast<std::size_t>(coder.total_shards()), std::vector<std::uint8_t>(shard_len));
    std::vector<const std::uint8_t*> data;
    std::vector<std::uint8_t*> parity;
    for (int i = 0; i < coder.total_shards(); ++i) {
        auto& shard = shards[static_cast<std::size_t>(i)];
        if (i < coder.data_shards()) {
            for (auto& byte : shard)
                byte = static_cast<std::uint8_t>(rng());
            data.push_back(shard.data());
        } else {
            parity.push_back(shard.data());
        }
    }
    REQUIRE(coder.encode(data, parity, shard_len).ok());
    return shards;
}

// Drops the shards in `lost`, rebuilds them, and compares with the originals.
Status rebuild_lost(const ErasureCoder& coder, const Shards& original, ShardMask lost, std::size_t shard_len,
                    bool* identical) {
    Shards damaged = original;
    std::vector<const std::uint8_t*> inputs;
    std::vector<std::uint8_t*> outputs;
    for (std::size_t i = 0; i < damaged.size(); ++i) {
        if (lost & shard_bit(static_cast<unsigned>(i)))
            std::fill(damaged[i].begin(), damaged[i].end(), std::uint8_t{0xEE});
        inputs.push_back((lost & shard_bit(static_cast<unsigned>(i))) ? nullptr : damaged[i].data());
        outputs.push_back(damaged[i].data());
    }
    const ShardMask present = coder.all_shards() & ~lost;
    Status status = coder.reconstruct(inputs, present, outputs, lost, shard_len);
    *identical = damaged == original;
    return status;
}

void check_every_pattern(int k, int m, std::size_t shard_len) {
    CAPTURE(k);
    CAPTURE(m);
    auto coder = ErasureCoder::create(k, m);
    REQUIRE(coder.ok());
    const Shards original = encoded_shards(*coder, shard_len, static_cast<unsigned>(k * 100 + m));
    const ShardMask total = ShardMask{1} << (k + m);
    for (ShardMask lost = 0; lost < total; ++lost) {
        const int losses = std::popcount(lost);
        if (losses > m + 1)
            continue;
        CAPTURE(lost);
        bool identical = false;
        Status status = rebuild_lost(*coder, original, lost, shard_len, &identical);
        if (losses <= m) {
            REQUIRE(status.ok());
            REQUIRE(identical);
        } else {
            REQUIRE_FALSE(status.ok());
            REQUIRE(status.error().code() == Errc::unavailable);
        }
    }
}

}  // namespace

TEST_CASE("every combination of up to m lost shards rebuilds byte-identical; m + 1 lost is unavailable") {
    const std::pair<int, int> layouts[] = {{1, 0}, {1, 1}, {2, 1}, {3, 2}, {4, 2}, {6, 3}, {8, 4}, {10, 4}};
    for (auto [k, m] : layouts)
        check_every_pattern(k, m, 1000);  // not a multiple of any SIMD width: exercises ISA-L's tail handling
}

TEST_CASE("tiny and odd shard lengths rebuild correctly") {
    for (std::size_t len : {1u, 2u, 15u, 31u, 33u, 63u, 65u})
        check_every_pattern(4, 2, len);
}

TEST_CASE("32+8 rebuilds every loss of up to 2 shards and sampled losses of 3 to 8") {
    // All C(40, <=8) ~ 10^8 patterns would take hours; every pattern of <= 2 losses plus seeded random patterns of
    // each larger size (and the contiguous windows, the classic bad case for non-MDS codes) covers the matrix math.
    auto coder = ErasureCoder::create(32, 8, 64);
    REQUIRE(coder.ok());
    const std::size_t shard_len = 48;
    const Shards original = encoded_shards(*coder, shard_len, 3208);
    std::vector<ShardMask> patterns;
    for (unsigned a = 0; a < 40; ++a) {
        patterns.push_back(shard_bit(a));
        for (unsigned b = a + 1; b < 40; ++b)
            patterns.push_back(shard_bit(a) | shard_bit(b));
    }
    for (unsigned start = 0; start + 8 <= 40; ++start)
        patterns.push_back(((ShardMask{1} << 8) - 1) << start);
    std::mt19937_64 rng(40);
    for (int losses = 3; losses <= 8; ++losses) {
        for (int sample = 0; sample < 300; ++sample) {
            ShardMask lost = 0;
            while (std::popcount(lost) < losses)
                lost |= shard_bit(static_cast<unsigned>(rng() % 40));
            patterns.push_back(lost);
        }
    }
    for (ShardMask lost : patterns) {
        CAPTURE(lost);
        bool identical = false;
        REQUIRE(rebuild_lost(*coder, original, lost, shard_len, &identical).ok());
        REQUIRE(identical);
    }
    bool identical = false;
    const Status nine_lost = rebuild_lost(*coder, original, (ShardMask{1} << 9) - 1, shard_len, &identical);
    REQUIRE(nine_lost.error().code() == Errc::unavailable);
    CHECK(coder->cached_patterns() <= 64);
}

TEST_CASE("unsupported layouts are invalid input") {
    for (auto [k, m] : {std::pair{0, 1}, std::pair{33, 1}, std::pair{4, 9}, std::pair{4, -1}, std::pair{-1, 0}}) {
        auto coder = ErasureCoder::create(k, m);
        REQUIRE_FALSE(coder.ok());
        CHECK(coder.error().code() == Errc::invalid_input);
    }
    CHECK(ErasureCoder::create(32, 8).ok());
    CHECK(ErasureCoder::create(4, 2, 0).error().code() == Errc::invalid_input);
}

TEST_CASE("reconstruct rejects a wanted shard that is also present, and masks beyond k + m") {
    auto coder = ErasureCoder::create(3, 2);
    REQUIRE(coder.ok());
    Shards shards = encoded_shards(*coder, 64, 1);
    std::vector<const std::uint8_t*> inputs;
    std::vector<std::uint8_t*> outputs;
    for (auto& shard : shards) {
        inputs.push_back(shard.data());
        outputs.push_back(shard.data());
    }
    CHECK(coder->reconstruct(inputs, 0b11111, outputs, 0b00001, 64).error().code() == Errc::invalid_input);
    CHECK(coder->reconstruct(inputs, 0b111110, outputs, 0b00001, 64).error().code() == Errc::invalid_input);
    CHECK(coder->reconstruct(inputs, 0b11110, outputs, 0, 64).ok());
}

TEST_CASE("the decode table cache stays within its capacity and still rebuilds correctly after eviction") {
    auto coder = ErasureCoder::create(6, 3, 4);
    REQUIRE(coder.ok());
    const Shards original = encoded_shards(*coder, 100, 9);
    for (int round = 0; round < 2; ++round) {
        for (unsigned a = 0; a < 9; ++a) {
            bool identical = false;
            REQUIRE(rebuild_lost(*coder, original, shard_bit(a), 100, &identical).ok());
            REQUIRE(identical);
            CHECK(coder->cached_patterns() <= 4);
        }
    }
}

TEST_CASE("one coder reconstructs correctly from many threads at once") {
    auto coder = ErasureCoder::create(8, 4, 16);  // small cache: threads insert and evict concurrently
    REQUIRE(coder.ok());
    const std::size_t shard_len = 4096;
    const Shards original = encoded_shards(*coder, shard_len, 77);
    std::vector<int> failures(8, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937_64 rng(static_cast<unsigned>(t));
            for (int i = 0; i < 200; ++i) {
                ShardMask lost = 0;
                const int losses = 1 + static_cast<int>(rng() % 4);
                while (std::popcount(lost) < losses)
                    lost |= shard_bit(static_cast<unsigned>(rng() % 12));
                bool identical = false;
                if (!rebuild_lost(*coder, original, lost, shard_len, &identical).ok() || !identical)
                    ++failures[static_cast<std::size_t>(t)];
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    for (int count : failures)
        CHECK(count == 0);
}
