// Test support for pool tests: pools over simulated or fault-injecting disks, and byte helpers.
#pragma once

#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tiercel/io/fault_disk.hpp"
#include "tiercel/io/sim_disk.hpp"
#include "tiercel/pool/pool.hpp"

namespace tiercel::pool::testing {

inline std::string random_bytes(size_t size, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string out(size, '\0');
    for (auto& c : out)
        c = static_cast<char>(rng());
    return out;
}

// A small 4+2 layout that keeps tests fast: 4 KiB chunks, so a 16 KiB stripe.
inline PoolSpec small_spec(const std::vector<io::DiskPtr>& disks, int k = 4, int m = 2) {
    PoolSpec spec;
    spec.k = k;
    spec.m = m;
    spec.chunk_size = 4096;
    spec.compression = "none";
    spec.inline_max = 256;
    spec.inflight_stripes = 3;
    spec.threads_per_disk = 1;
    for (size_t i = 0; i < disks.size(); ++i)
        spec.disks.push_back({disks[i], "", "/sim/disk" + std::to_string(i), "hdd", std::nullopt, ""});
    return spec;
}

inline std::vector<std::shared_ptr<io::SimDisk>> sim_disks(size_t count, uint64_t seed) {
    std::vector<std::shared_ptr<io::SimDisk>> disks;
    for (size_t i = 0; i < count; ++i) {
        io::SimDiskOptions options;
        options.seed = seed * 100 + i;
        options.capacity_bytes = 1ull << 30;
        disks.push_back(io::SimDisk::create("disk" + std::to_string(i), options));
    }
    return disks;
}

// Wraps each simulated disk in a FaultDisk (appended to `faults`, for injecting failures) and returns the wrappers as
// the disk list a pool opens.
inline std::vector<io::DiskPtr> wrap_in_faults(const std::vector<std::shared_ptr<io::SimDisk>>& sims,
                                               std::vector<std::shared_ptr<io::FaultDisk>>& faults) {
    std::vector<io::DiskPtr> disks;
    for (const auto& sim : sims) {
        faults.push_back(io::FaultDisk::wrap(sim));
        disks.push_back(faults.back());
    }
    return disks;
}

inline ByteSource source_of(const std::string& data) {
    auto offset = std::make_shared<size_t>(0);
    return [&data, offset](std::span<std::byte> buffer) -> Result<size_t> {
        size_t n = std::min(buffer.size(), data.size() - *offset);
        std::memcpy(buffer.data(), data.data() + *offset, n);
        *offset += n;
        return n;
    };
}

inline Result<std::string> read_all(Pool& pool, const std::string& name, uint64_t offset = 0,
                                    std::optional<uint64_t> length = std::nullopt) {
    std::string out;
    Status status = pool.get(name, offset, length, [&](std::span<const std::byte> bytes) -> Status {
        out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        return {};
    });
    if (!status)
        return status.error();
    return out;
}

}  // namespace tiercel::pool::testing
