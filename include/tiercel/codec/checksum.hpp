// Contract: standard CRC-32C (Castagnoli, the iSCSI/ext4/Btrfs polynomial 0x1EDC6F41, reflected), computed with
// ISA-L's crc32_iscsi. The convention is the usual one: the register starts at 0xFFFFFFFF and the result is
// complemented, so crc32c("123456789") == 0xE3069283 and crc32c of nothing is 0. Chaining works like zlib's crc32:
// crc32c(b, crc32c(a)) == crc32c(a ‖ b). CRC-32C detects accidents (bit rot, torn or misdirected writes); it is not a
// MAC and says nothing against a deliberate forger — that is the AEAD's job. Pure functions, safe from any thread.
#pragma once

#include "tiercel/codec/bytes.hpp"

#include <cstdint>

namespace tiercel::codec {

// CRC-32C of `bytes`, continuing from `previous` (the CRC of what came before, 0 for a fresh start).
std::uint32_t crc32c(ByteView bytes, std::uint32_t previous = 0);

}  // namespace tiercel::codec
