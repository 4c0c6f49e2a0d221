// CRC-32C must be the standard one: other tools (and docs/formats.md (shard files) and docs/modules/codec.md readers) recompute it.
#include "tiercel/codec/checksum.hpp"

#include <doctest/doctest.h>

#include <numeric>
#include <string_view>

using tiercel::codec::ByteView;
using tiercel::codec::Bytes;
using tiercel::codec::crc32c;

namespace {
ByteView text(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }
}  // namespace

TEST_CASE("crc32c matches the standard check value for \"123456789\"") {
    CHECK(crc32c(text("123456789")) == 0xE3069283u);
}

TEST_CASE("crc32c matches the RFC 3720 (iSCSI) test vectors") {
    Bytes zeros(32, 0x00);
    Bytes ones(32, 0xFF);
    Bytes ascending(32);
    std::iota(ascending.begin(), ascending.end(), std::uint8_t{0});
    CHECK(crc32c(zeros) == 0x8A9136AAu);
    CHECK(crc32c(ones) == 0x62A8AB43u);
    CHECK(crc32c(ascending) == 0x46DD794Eu);
}

TEST_CASE("crc32c of nothing is zero") { CHECK(crc32c(ByteView{}) == 0u); }

TEST_CASE("crc32c chains: crc(b, crc(a)) == crc(a + b)") {
    const ByteView whole = text("The quick brown fox jumps over the lazy dog");
    for (std::size_t split = 0; split <= whole.size(); ++split)
        CHECK(crc32c(whole.subspan(split), crc32c(whole.first(split))) == crc32c(whole));
}

TEST_CASE("crc32c changes when any single bit of the input flips") {
    Bytes data(257);
    std::iota(data.begin(), data.end(), std::uint8_t{7});
    const std::uint32_t original = crc32c(data);
    for (std::size_t byte = 0; byte < data.size(); ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
            data[byte] ^= static_cast<std::uint8_t>(1u << bit);
            CHECK(crc32c(data) != original);
            data[byte] ^= static_cast<std::uint8_t>(1u << bit);
        }
    }
}
