// Helpers shared by the io unit tests: byte/string conversion and a self-deleting temporary directory.
#pragma once

#include "../support/temp_dir.hpp"
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "tiercel/io/disk.hpp"

namespace tiercel::io::test {

inline Bytes bytes_of(std::string_view text) {
    Bytes out(text.size());
    for (size_t i = 0; i < text.size(); ++i)
        out[i] = static_cast<std::byte>(text[i]);
    return out;
}

inline std::string text_of(const Bytes& bytes) {
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Bytes whose value depends on position and seed, so misplaced or stale data is visible.
inline Bytes pattern(size_t size, uint64_t seed) {
    Bytes out(size);
    uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < size; ++i) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out[i] = static_cast<std::byte>(state);
    }
    return out;
}

// The text of a Result's error, or "" when it succeeded: lets CHECK messages show the failure.
template <typename R>
std::string describe(const R& result) {
    return result.ok() ? std::string() : result.error().describe();
}

using TempDir = tiercel::testing::TempDir;

}  // namespace tiercel::io::test
