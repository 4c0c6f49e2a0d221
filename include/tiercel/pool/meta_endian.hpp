// Contract: little-endian integer packing and the crc32c used by every metadata format unit. get_* read from a
// string_view at an offset the caller has already bounds-checked; put_* append. Independent of host byte order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tiercel::pool::meta {

inline void put_u32(std::string& out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i)
        out += static_cast<char>((value >> (8 * i)) & 0xff);
}

inline void put_u64(std::string& out, std::uint64_t value) {
    for (int i = 0; i < 8; ++i)
        out += static_cast<char>((value >> (8 * i)) & 0xff);
}

inline std::uint32_t get_u32(std::string_view in, std::size_t offset) {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i)
        value |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[offset + i])) << (8 * i);
    return value;
}

inline std::uint64_t get_u64(std::string_view in, std::size_t offset) {
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i)
        value |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[offset + i])) << (8 * i);
    return value;
}

// Standard CRC-32C (codec::crc32c), chained like zlib: crc_of(b, crc_of(a)) == crc_of(a ‖ b).
std::uint32_t crc_of(std::string_view bytes, std::uint32_t previous = 0);

}  // namespace tiercel::pool::meta
