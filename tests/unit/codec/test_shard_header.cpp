// The shard header is an on-disk format: its bytes are pinned here so docs/formats.md (shard files) and docs/modules/codec.md stays true.
#include "tiercel/codec/shard_header.hpp"

#include "tiercel/codec/checksum.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace tiercel;
using namespace tiercel::codec;

namespace {

ShardHeader sample_header() {
    ShardHeader h;
    for (std::size_t i = 0; i < h.identity.pool_uuid.size(); ++i)
        h.identity.pool_uuid[i] = static_cast<std::uint8_t>(0xA0 + i);
    h.identity.stripe_id = 0x0102030405060708ULL;
    h.identity.generation = 9;
    h.shard_index = 5;
    h.data_shards = 4;
    h.parity_shards = 2;
    h.compression = Compression::zstd;
    h.encrypted = true;
    h.logical_length = 10000;
    h.payload_length = 4040;  // 4000 compressed + 40 AEAD
    h.shard_data_length = 1010;
    h.logical_crc32c = 0;
    h.shard_data_crc32c = 0xDEADBEEF;
    return h;
}

using HeaderBytes = std::array<std::uint8_t, shard_header_size>;

// Re-seals a hand-edited header so that only the field checks, not the CRC, can reject it.
void reseal(HeaderBytes& bytes) {
    const std::uint32_t crc = crc32c(ByteView(bytes).first(76));
    for (int i = 0; i < 4; ++i)
        bytes[76 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(crc >> (8 * i));
}

std::uint64_t read_le(const HeaderBytes& bytes, std::size_t offset, std::size_t size) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < size; ++i)
        value |= static_cast<std::uint64_t>(bytes[offset + i]) << (8 * i);
    return value;
}

Bytes encoded_shard(ShardHeader header, const Bytes& data) {
    header.shard_data_crc32c = crc32c(data);
    const auto bytes = serialize_shard_header(header);
    Bytes out(shard_header_size + data.size());
    std::copy(bytes.begin(), bytes.end(), out.begin());
    std::copy(data.begin(), data.end(), out.begin() + shard_header_size);
    return out;
}

}  // namespace

TEST_CASE("header serialises to the documented byte layout") {
    const HeaderBytes bytes = serialize_shard_header(sample_header());
    CHECK(std::string(bytes.begin(), bytes.begin() + 4) == "TCSH");
    CHECK(read_le(bytes, 4, 2) == 1);    // format version
    CHECK(read_le(bytes, 6, 2) == 80);   // header size
    CHECK(bytes[8] == 0xA0);             // pool uuid
    CHECK(bytes[23] == 0xAF);
    CHECK(read_le(bytes, 24, 8) == 0x0102030405060708ULL);
    CHECK(read_le(bytes, 32, 8) == 9);
    CHECK(read_le(bytes, 40, 8) == 10000);
    CHECK(read_le(bytes, 48, 8) == 4040);
    CHECK(read_le(bytes, 56, 4) == 1010);
    CHECK(read_le(bytes, 60, 4) == 0);
    CHECK(bytes[64] == 5);
    CHECK(bytes[65] == 4);
    CHECK(bytes[66] == 2);
    CHECK(bytes[67] == 1);  // zstd
    CHECK(bytes[68] == 1);  // encrypted
    CHECK((bytes[69] == 0 && bytes[70] == 0 && bytes[71] == 0));
    CHECK(read_le(bytes, 72, 4) == 0xDEADBEEF);
    CHECK(read_le(bytes, 76, 4) == crc32c(ByteView(bytes).first(76)));
}

TEST_CASE("header round-trips") {
    const ShardHeader original = sample_header();
    auto parsed = parse_shard_header(serialize_shard_header(original));
    REQUIRE(parsed.ok());
    CHECK(*parsed == original);
}

TEST_CASE("every flipped header byte is detected") {
    const HeaderBytes good = serialize_shard_header(sample_header());
    for (std::size_t i = 0; i < good.size(); ++i) {
        HeaderBytes damaged = good;
        damaged[i] ^= 0x10;
        auto parsed = parse_shard_header(damaged);
        REQUIRE_FALSE(parsed.ok());
        CHECK(parsed.error().code() == Errc::corruption);
    }
    CHECK(parse_shard_header(ByteView(good).first(79)).error().message().find("truncated") != std::string::npos);
}

TEST_CASE("a header with a valid checksum but impossible fields is rejected") {
    const HeaderBytes good = serialize_shard_header(sample_header());
    const std::pair<std::size_t, std::uint8_t> edits[] = {
        {0, 'X'},   // magic
        {4, 2},     // version
        {6, 96},    // header size
        {64, 6},    // shard index == k + m
        {65, 0},    // k = 0
        {65, 33},   // k > 32
        {66, 9},    // m > 8
        {67, 3},    // unknown compression
        {68, 0x03}, // unknown flag bit
        {70, 1},    // reserved byte
        {56, 0x00}, // shard length no longer ceil(payload / k)
    };
    for (auto [offset, value] : edits) {
        CAPTURE(offset);
        HeaderBytes edited = good;
        edited[offset] = value;
        reseal(edited);
        auto parsed = parse_shard_header(edited);
        REQUIRE_FALSE(parsed.ok());
        CHECK(parsed.error().code() == Errc::corruption);
    }
}

TEST_CASE("payload lengths must fit the compression and encryption flags") {
    ShardHeader h = sample_header();
    h.compression = Compression::none;  // encrypted, uncompressed: payload must be logical + 40
    h.payload_length = 10040;
    h.shard_data_length = 2510;
    CHECK(parse_shard_header(serialize_shard_header(h)).ok());
    h.payload_length = 10041;
    h.shard_data_length = 2511;
    CHECK_FALSE(parse_shard_header(serialize_shard_header(h)).ok());
    h = sample_header();
    h.payload_length = 10040;  // "compressed" but not smaller than the input: encode never writes that
    h.shard_data_length = 2510;
    CHECK_FALSE(parse_shard_header(serialize_shard_header(h)).ok());
    h = sample_header();
    h.payload_length = 39;  // shorter than the AEAD envelope
    h.shard_data_length = 10;
    CHECK_FALSE(parse_shard_header(serialize_shard_header(h)).ok());
}

TEST_CASE("verify_shard checks the data checksum and the exact length") {
    ShardHeader h = sample_header();
    const Bytes data(h.shard_data_length, 0x33);
    const Bytes good = encoded_shard(h, data);
    auto verified = verify_shard(good);
    REQUIRE(verified.ok());
    CHECK(verified->shard_index == 5);

    Bytes flipped = good;
    flipped[shard_header_size + 17] ^= 0x01;
    CHECK(verify_shard(flipped).error().message().find("data checksum mismatch") != std::string::npos);
    Bytes longer = good;
    longer.push_back(0);
    CHECK(verify_shard(longer).error().code() == Errc::corruption);
    Bytes shorter(good.begin(), good.end() - 1);
    CHECK(verify_shard(shorter).error().code() == Errc::corruption);
}

TEST_CASE("check_shard_identity rejects another pool, stripe, generation or slot") {
    const ShardHeader h = sample_header();
    CHECK(check_shard_identity(h, h.identity, 5).ok());
    StripeIdentity other = h.identity;
    other.pool_uuid[0] ^= 1;
    CHECK(check_shard_identity(h, other, 5).error().message().find("another pool") != std::string::npos);
    other = h.identity;
    other.stripe_id += 1;
    CHECK(check_shard_identity(h, other, 5).error().code() == Errc::corruption);
    other = h.identity;
    other.generation += 1;
    CHECK(check_shard_identity(h, other, 5).error().message().find("generation 9") != std::string::npos);
    CHECK(check_shard_identity(h, h.identity, 4).error().message().find("slot 4") != std::string::npos);
}

TEST_CASE("the AEAD associated data is 43 bytes and binds identity, length, compression and version") {
    const ShardHeader h = sample_header();
    const Bytes aad = stripe_associated_data(h);
    REQUIRE(aad.size() == stripe_associated_data_size);
    CHECK(aad[0] == 0xA0);
    CHECK(aad[16] == 0x08);  // stripe id, little endian
    CHECK(aad[24] == 9);     // generation
    CHECK(aad[32] == 0x10);  // 10000 = 0x2710
    CHECK(aad[33] == 0x27);
    CHECK(aad[40] == 1);     // zstd
    CHECK(aad[41] == 1);     // format version
    ShardHeader changed = h;
    changed.logical_length += 1;
    CHECK(stripe_associated_data(changed) != aad);
    changed = h;
    changed.compression = Compression::lz4;
    CHECK(stripe_associated_data(changed) != aad);
    changed = h;
    changed.shard_index = 0;  // per-shard fields are not bound: every shard must yield the same AAD
    changed.shard_data_crc32c = 1;
    CHECK(stripe_associated_data(changed) == aad);
}
