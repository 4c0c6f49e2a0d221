// compress() must never expand and decompress() must never hand back wrong bytes silently.
#include "tiercel/codec/compress.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>

using namespace tiercel;
using namespace tiercel::codec;

namespace {

Bytes random_bytes(std::size_t size, unsigned seed) {
    std::mt19937 rng(seed);
    Bytes out(size);
    for (auto& byte : out)
        byte = static_cast<std::uint8_t>(rng());
    return out;
}

Bytes text_bytes(std::size_t size) {
    const std::string words = "tiercel keeps hot files on nvme and cold files on the shelf of disks; ";
    Bytes out(size);
    for (std::size_t i = 0; i < size; ++i)
        out[i] = static_cast<std::uint8_t>(words[(i * 7 / 5) % words.size()]);
    return out;
}

}  // namespace

TEST_CASE("compressible data round-trips through zstd and lz4 and shrinks") {
    const Bytes input = text_bytes(100000);
    for (Compression algorithm : {Compression::zstd, Compression::lz4}) {
        CAPTURE(compression_name(algorithm));
        for (int level : {0, 1, 5}) {
            auto packed = compress(input, algorithm, level);
            REQUIRE(packed.ok());
            CHECK(packed->algorithm == algorithm);
            CHECK(packed->bytes.size() < input.size() / 4);
            auto restored = decompress(packed->bytes, packed->algorithm, input.size());
            REQUIRE(restored.ok());
            CHECK(*restored == input);
        }
    }
}

TEST_CASE("incompressible data is stored raw and reported as none") {
    const Bytes input = random_bytes(65536, 1);
    for (Compression algorithm : {Compression::none, Compression::zstd, Compression::lz4}) {
        auto packed = compress(input, algorithm);
        REQUIRE(packed.ok());
        CHECK(packed->algorithm == Compression::none);
        CHECK(packed->bytes == input);
    }
}

TEST_CASE("empty input is stored raw") {
    auto packed = compress(Bytes{}, Compression::zstd);
    REQUIRE(packed.ok());
    CHECK(packed->algorithm == Compression::none);
    CHECK(packed->bytes.empty());
    CHECK(decompress(Bytes{}, Compression::none, 0).ok());
}

TEST_CASE("every single-byte flip in a zstd stream is an error or the exact original, never wrong bytes") {
    const Bytes input = text_bytes(3000);
    auto packed = compress(input, Compression::zstd);
    REQUIRE(packed.ok());
    REQUIRE(packed->algorithm == Compression::zstd);
    int detected = 0;
    for (std::size_t i = 0; i < packed->bytes.size(); ++i) {
        Bytes damaged = packed->bytes;
        damaged[i] ^= 0x5A;
        auto restored = decompress(damaged, Compression::zstd, input.size());
        if (restored.ok()) {
            CHECK(*restored == input);
        } else {
            CHECK(restored.error().code() == Errc::corruption);
            ++detected;
        }
    }
    CHECK(detected > 0);
}

TEST_CASE("garbage, truncation, trailing bytes and wrong sizes are corruption") {
    const Bytes input = text_bytes(20000);
    for (Compression algorithm : {Compression::zstd, Compression::lz4}) {
        CAPTURE(compression_name(algorithm));
        auto packed = compress(input, algorithm);
        REQUIRE(packed.ok());
        const Bytes& good = packed->bytes;
        Bytes truncated(good.begin(), good.end() - 5);
        Bytes trailing = good;
        trailing.push_back(0x42);
        const Bytes garbage = random_bytes(good.size(), 2);
        CHECK(decompress(truncated, algorithm, input.size()).error().code() == Errc::corruption);
        CHECK(decompress(trailing, algorithm, input.size()).error().code() == Errc::corruption);
        CHECK(decompress(garbage, algorithm, input.size()).error().code() == Errc::corruption);
        CHECK(decompress(good, algorithm, input.size() - 1).error().code() == Errc::corruption);
        CHECK(decompress(good, algorithm, input.size() + 1).error().code() == Errc::corruption);
        CHECK(decompress(Bytes{}, algorithm, input.size()).error().code() == Errc::corruption);
    }
    CHECK(decompress(input, Compression::none, input.size() + 1).error().code() == Errc::corruption);
}

TEST_CASE("compression names parse, and a bad name lists the valid ones") {
    CHECK(*parse_compression("zstd") == Compression::zstd);
    CHECK(*parse_compression("lz4") == Compression::lz4);
    CHECK(*parse_compression("none") == Compression::none);
    auto bad = parse_compression("gzip");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code() == Errc::invalid_input);
    CHECK(bad.error().message().find("gzip") != std::string::npos);
    CHECK(bad.error().message().find("none, zstd, lz4") != std::string::npos);
    CHECK_FALSE(parse_compression("ZSTD").ok());
    CHECK(compression_from_byte(3).error().code() == Errc::corruption);
}

TEST_CASE("out-of-range levels are invalid input") {
    CHECK(compress(text_bytes(100), Compression::zstd, 23).error().code() == Errc::invalid_input);
    CHECK(compress(text_bytes(100), Compression::lz4, 13).error().code() == Errc::invalid_input);
    CHECK(compress(text_bytes(100), Compression::lz4, -1).error().code() == Errc::invalid_input);
    CHECK(compress(text_bytes(100), Compression::none, 99).ok());
}
