// Contract: whole-buffer compression with zstd or lz4, or none. compress() never expands: when the algorithm's
// output is not strictly smaller than the input, the input is kept raw and the result says Compression::none, so
// the caller must record Compressed::algorithm (not the one it asked for) to decompress later.
//
// decompress() is told the exact original size and fails with Errc::corruption on any garbage, truncation, trailing
// bytes or size mismatch; it never returns a buffer of the wrong length. zstd frames carry zstd's own content
// checksum, so a flipped byte in a zstd stream is caught here. The lz4 block format has no checksum: a flip inside a
// literal run can decode to wrong bytes of the right length, so lz4 callers must checksum the result themselves
// (the stripe codec does, with a CRC-32C of the logical bytes or the AEAD tag).
//
// Inputs are limited to max_compress_input (1 GiB) so that every size fits lz4's int API. Thread-safe: zstd
// contexts are per thread.
#pragma once

#include "tiercel/codec/bytes.hpp"
#include "tiercel/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tiercel::codec {

// The on-disk values (shard header byte 67) — never renumber.
enum class Compression : std::uint8_t { none = 0, zstd = 1, lz4 = 2 };

inline constexpr std::size_t max_compress_input = std::size_t{1} << 30;

std::string_view compression_name(Compression algorithm);
// "none", "zstd" or "lz4" (exact, lower case); anything else is invalid_input listing the valid names.
Result<Compression> parse_compression(std::string_view name);
// Maps a stored byte back to the enum; unknown values are corruption.
Result<Compression> compression_from_byte(std::uint8_t value);

// Level 0 means the algorithm's default. zstd accepts its own range (negative = fast modes, up to 22); lz4 accepts
// 1 (fast, LZ4_compress_default) to 12 (LZ4HC levels 2-12); none ignores the level.
Status validate_compression_level(Compression algorithm, int level);

struct Compressed {
    Bytes bytes;
    Compression algorithm = Compression::none;  // what was actually applied
};

Result<Compressed> compress(ByteView input, Compression algorithm, int level = 0);
Result<Bytes> decompress(ByteView stored, Compression algorithm, std::size_t original_size);

}  // namespace tiercel::codec
