#include "tiercel/codec/checksum.hpp"

#include <isa-l/crc.h>

#include <algorithm>
#include <climits>

namespace tiercel::codec {

std::uint32_t crc32c(ByteView bytes, std::uint32_t previous) {
    // crc32_iscsi neither pre- nor post-inverts the register, so the standard convention is applied here: invert the
    // caller's finished CRC back into a register, run, invert again. ISA-L takes an int length, so feed long inputs
    // in pieces below INT_MAX.
    constexpr std::size_t max_piece = std::size_t{1} << 30;
    std::uint32_t reg = ~previous;
    const std::uint8_t* cursor = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
        const std::size_t piece = std::min(left, max_piece);
        reg = crc32_iscsi(const_cast<std::uint8_t*>(cursor), static_cast<int>(piece), reg);  // ISA-L only reads
        cursor += piece;
        left -= piece;
    }
    return ~reg;
}

}  // namespace tiercel::codec
