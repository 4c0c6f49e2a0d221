// Helpers shared by the maintenance tests: a pool on SimDisks that can be closed and reopened with some disks swapped
// (a wiped or new disk), deterministic object contents, and whole-pool checks (every stripe at full redundancy with
// every shard verifying on the disk its record names; every object byte-identical).
#pragma once

#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <set>
#include <random>
#include <string>
#include <vector>

#include "tiercel/codec/shard_header.hpp"
#include "tiercel/io/sim_disk.hpp"
#include "tiercel/pool/maintenance.hpp"
#include "tiercel/pool/pool.hpp"

namespace tiercel::pool::test {

template <typename R>
std::string why(const R& result) {
    return result.ok() ? std::string("ok") : result.error().describe();
}

inline io::DiskPtr sim_disk(const std::string& name, uint64_t capacity = uint64_t{1} << 30, uint64_t seed = 7) {
    io::SimDiskOptions options;
    options.seed = seed;
    options.capacity_bytes = capacity;
    return io::SimDisk::create(name, options);
}

struct SimPool {
    std::vector<io::DiskPtr> disks;
    PoolSpec spec;
    std::unique_ptr<Pool> pool;
    std::map<std::string, std::string> objects;  // name -> content

    SimPool(size_t count, int k, int m, uint64_t chunk = 4096, uint64_t capacity = uint64_t{1} << 30) {
        spec.k = k;
        spec.m = m;
        spec.chunk_size = chunk;
        spec.compression = "none";
        spec.inline_max = 0;
        for (size_t i = 0; i < count; ++i)
            disks.push_back(sim_disk("sim" + std::to_string(i), capacity, 100 + i));
        spec.disks = specs();
        auto created = Pool::create(spec, {});
        REQUIRE_MESSAGE(created.ok(), why(created));
        pool = std::move(*created);
    }

    std::vector<PoolDiskSpec> specs() const {
        std::vector<PoolDiskSpec> out;
        for (size_t i = 0; i < disks.size(); ++i) {
            PoolDiskSpec disk;
            disk.disk = disks[i];
            disk.path = "/sim/" + std::to_string(i);
            out.push_back(disk);
        }
        return out;
    }

    // Closes the pool and opens it again on the current `disks` (a test may have swapped some).
    void reopen() {
        pool.reset();
        spec.disks = specs();
        auto opened = Pool::open(spec);
        REQUIRE_MESSAGE(opened.ok(), why(opened));
        pool = std::move(*opened);
    }

    void put(const std::string& name, size_t size, uint32_t seed) {
        std::mt19937 rng(seed);
        std::string content(size, '\0');
        for (auto& c : content)
            c = static_cast<char>(rng());
        size_t offset = 0;
        auto source = [&](std::span<std::byte> buffer) -> Result<size_t> {
            size_t n = std::min(buffer.size(), content.size() - offset);
            std::memcpy(buffer.data(), content.data() + offset, n);
            offset += n;
            return n;
        };
        auto info = pool->put(name, source);
        REQUIRE_MESSAGE(info.ok(), why(info));
        objects[name] = content;
    }

    void fill(size_t count, size_t size) {
        for (size_t i = 0; i < count; ++i)
            put("object-" + std::to_string(i), size, static_cast<uint32_t>(i + 1));
    }

    std::string read(const std::string& name, Status* status_out = nullptr) {
        std::string out;
        Status status = pool->get(name, 0, std::nullopt, [&](std::span<const std::byte> bytes) -> Status {
            out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
            return {};
        });
        if (status_out)
            *status_out = status;
        return out;
    }

    // Every object reads back byte-identical.
    bool objects_intact() {
        for (const auto& [name, content] : objects) {
            Status status;
            std::string got = read(name, &status);
            if (!status || got != content) {
                INFO("object " << name << ": " << (status ? std::string("differs") : status.error().describe()));
                return false;
            }
        }
        return true;
    }
};

// Number of stripes that are not at full redundancy: a shard on a disk other than `online` ones, two shards on one
// disk, or a shard file that is missing or fails verify_shard / check_shard_identity on the disk the record names.
inline size_t stripes_below_full_redundancy(Pool& pool, const std::vector<io::DiskPtr>& disks_by_id,
                                            std::string* first_problem = nullptr) {
    size_t bad = 0;
    pool.meta().scan(kStripePrefix, [&](std::string_view key, std::string_view value) {
        auto record = decode_stripe(value, key);
        REQUIRE(record.ok());
        uint64_t id = stripe_id_from_key(key);
        std::set<uint32_t> distinct(record->shard_disks.begin(), record->shard_disks.end());
        std::string problem;
        if (distinct.size() != record->shard_disks.size())
            problem = "two shards on one disk";
        for (unsigned i = 0; i < record->shard_disks.size() && problem.empty(); ++i) {
            uint32_t disk = record->shard_disks[i];
            if (disk >= disks_by_id.size() || !disks_by_id[disk]) {
                problem = "shard " + std::to_string(i) + " on unusable disk " + std::to_string(disk);
                break;
            }
            auto bytes = disks_by_id[disk]->read_file(shard_path(id, record->generation, i));
            if (!bytes) {
                problem = "shard " + std::to_string(i) + ": " + bytes.error().describe();
                break;
            }
            codec::ByteView view(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
            auto header = codec::verify_shard(view);
            if (!header || !codec::check_shard_identity(*header, {pool.uuid(), id, record->generation}, i))
                problem = "shard " + std::to_string(i) + " fails verification";
        }
        if (!problem.empty()) {
            if (bad == 0 && first_problem)
                *first_problem = "stripe " + std::to_string(id) + ": " + problem;
            bad++;
        }
        return true;
    });
    return bad;
}

inline size_t shard_files_on(io::Disk& disk) {
    size_t count = 0;
    auto buckets = disk.list("shards");
    if (!buckets)
        return 0;
    for (const auto& bucket : *buckets)
        if (auto files = disk.list("shards/" + bucket))
            count += files->size();
    return count;
}

inline size_t stripes_naming(Pool& pool, uint32_t disk_id) {
    size_t count = 0;
    pool.meta().scan(kStripePrefix, [&](std::string_view key, std::string_view value) {
        auto record = decode_stripe(value, key);
        for (uint32_t disk : record->shard_disks)
            count += disk == disk_id;
        return true;
    });
    return count;
}

}  // namespace tiercel::pool::test
