// Helpers shared by the metadata store tests: temp directories of PosixDisks, fixed pool uuids, a deterministic
// script of batches with the state after each prefix of it, and state snapshots for comparison.
#pragma once

#include "../support/temp_dir.hpp"
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "tiercel/io/posix_disk.hpp"
#include "tiercel/pool/meta_store.hpp"

namespace tiercel::pool::test {

inline constexpr PoolUuid kPool{0x74, 0x69, 0x65, 0x72, 0x63, 0x65, 0x6c, 0x01,
                                0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
inline constexpr PoolUuid kOtherPool{0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

template <typename R>
std::string describe(const R& result) {
    return result.ok() ? std::string("ok") : result.error().describe();
}

using TempDir = tiercel::testing::TempDir;

// One PosixDisk per subdirectory <dir>/<stem><i>, named "<stem><i>".
inline std::vector<io::DiskPtr> posix_disks(const TempDir& dir, std::size_t count, const std::string& stem = "disk") {
    std::vector<io::DiskPtr> disks;
    for (std::size_t i = 0; i < count; ++i) {
        const std::string root = dir.path() + "/" + stem + std::to_string(i);
        std::filesystem::create_directories(root);
        auto disk = io::PosixDisk::open(stem + std::to_string(i), root);
        REQUIRE_MESSAGE(disk.ok(), describe(disk));
        disks.push_back(*disk);
    }
    return disks;
}

inline MetaMap snapshot(const MetaStore& store) {
    MetaMap out;
    store.range("", "", [&](std::string_view key, std::string_view value) {
        out.emplace(std::string(key), std::string(value));
        return true;
    });
    return out;
}

// A deterministic mix of puts, overwrites, deletes, binary keys and a few larger values.
inline std::vector<MetaBatch> make_script(std::size_t batches, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<MetaBatch> script(batches);
    for (std::size_t i = 0; i < batches; ++i) {
        const std::size_t ops = 1 + rng() % 4;
        for (std::size_t op = 0; op < ops; ++op) {
            std::string key = "k/" + std::to_string(rng() % 24);
            if (rng() % 8 == 0)
                key += std::string("\0bin", 4);
            if (rng() % 5 == 0) {
                script[i].remove(key);
                continue;
            }
            const std::size_t size = rng() % 10 == 0 ? 3000 + rng() % 5000 : rng() % 60;
            std::string value(size, '\0');
            for (auto& c : value)
                c = static_cast<char>(rng());
            value += "@" + std::to_string(i);
            script[i].put(key, value);
        }
    }
    return script;
}

// states[k] is the map after the first k batches.
inline std::vector<MetaMap> prefix_states(const std::vector<MetaBatch>& script) {
    std::vector<MetaMap> states(1);
    for (const auto& batch : script) {
        MetaMap next = states.back();
        REQUIRE(apply_batch(batch.encoded(), "script", next).ok());
        states.push_back(std::move(next));
    }
    return states;
}

// The k with states[k] == state, or -1 when the state is not any prefix of the script.
inline long matching_prefix(const std::vector<MetaMap>& states, const MetaMap& state, std::uint64_t sequence) {
    if (sequence < states.size() && states[sequence] == state)
        return static_cast<long>(sequence);
    return -1;
}

}  // namespace tiercel::pool::test
