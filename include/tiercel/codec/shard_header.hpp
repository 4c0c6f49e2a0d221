// Contract: the fixed 80-byte little-endian header that starts every encoded shard, and the AEAD associated data
// derived from it. docs/formats.md (shard files) and docs/modules/codec.md has the byte-by-byte table; this file and that table must agree.
//
// serialize_shard_header() fills in the header CRC itself. parse_shard_header() needs only the first 80 bytes and
// accepts a header only when magic, version, header size and header CRC-32C are right and every field is
// self-consistent (layout in range, index < k + m, known compression, no unknown flags, reserved bytes zero, shard
// length == ceil(payload / k), payload length plausible for the compression and encryption flags). It does NOT look
// at the shard data; verify_shard() checks header and data together (what scrub needs).
#pragma once

#include "tiercel/codec/bytes.hpp"
#include "tiercel/codec/compress.hpp"
#include "tiercel/core/error.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace tiercel::codec {

inline constexpr std::size_t shard_header_size = 80;
inline constexpr std::uint16_t shard_format_version = 1;
inline constexpr std::array<std::uint8_t, 4> shard_magic{'T', 'C', 'S', 'H'};
// Largest logical stripe the format accepts; keeps every length inside ISA-L's and lz4's int APIs.
inline constexpr std::uint64_t max_stripe_logical_length = std::uint64_t{1} << 30;

using PoolUuid = std::array<std::uint8_t, 16>;

// Which stripe, of which pool, in which version: a shard carrying another identity is never mixed in.
struct StripeIdentity {
    PoolUuid pool_uuid{};
    std::uint64_t stripe_id = 0;
    std::uint64_t generation = 0;
    bool operator==(const StripeIdentity&) const = default;
};

// "stripe 17 (generation 3)"
std::string describe_stripe(const StripeIdentity& identity);

struct ShardHeader {
    StripeIdentity identity;
    std::uint8_t shard_index = 0;
    std::uint8_t data_shards = 0;    // k
    std::uint8_t parity_shards = 0;  // m
    Compression compression = Compression::none;
    bool encrypted = false;
    std::uint64_t logical_length = 0;     // bytes the caller handed to encode()
    std::uint64_t payload_length = 0;     // bytes after compression (+ 40 when encrypted), before zero padding
    std::uint32_t shard_data_length = 0;  // bytes of shard data after the header: ceil(payload_length / k)
    std::uint32_t logical_crc32c = 0;     // CRC-32C of the logical bytes; 0 when encrypted (the AEAD tag covers it)
    std::uint32_t shard_data_crc32c = 0;  // CRC-32C of this shard's data bytes

    bool operator==(const ShardHeader&) const = default;
};

// True when two headers describe the same stripe write (everything equal except the per-shard index and CRC).
bool same_stripe_write(const ShardHeader& a, const ShardHeader& b);

std::array<std::uint8_t, shard_header_size> serialize_shard_header(const ShardHeader& header);
// Errc::corruption naming the first failed check.
Result<ShardHeader> parse_shard_header(ByteView bytes);

inline constexpr std::size_t stripe_associated_data_size = 43;
// A whole encoded shard (header + data): parse_shard_header(), then the exact total length and the data CRC-32C.
// Errc::corruption naming the failed check. Does not know which stripe the caller expects: see check_shard_identity.
Result<ShardHeader> verify_shard(ByteView encoded);
// Errc::corruption when a verified header belongs to another pool, stripe, generation or slot ("misplaced").
Status check_shard_identity(const ShardHeader& header, const StripeIdentity& expected, unsigned expected_index);

// The associated data bound into an encrypted stripe's AEAD tag (43 bytes, see docs/formats.md (shard files) and docs/modules/codec.md): pool uuid,
// stripe id, generation, logical length, compression, format version. Binding the last three means a forger who
// rewrites the header (its CRC is no MAC) cannot make the decoder unwrap the payload differently.
Bytes stripe_associated_data(const ShardHeader& header);

}  // namespace tiercel::codec
