// Contract: the byte vocabulary shared by every codec unit. Bytes owns a buffer; ByteView borrows one and must not
// outlive it. Nothing else lives here.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tiercel::codec {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

}  // namespace tiercel::codec
