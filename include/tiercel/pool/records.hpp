// Contract: the pool's metadata records and the metadata keys they live under (docs/formats.md, "Pool metadata").
//   o/<object key>         ObjectRecord: size, times, and either inline bytes or the list of its stripes
//   s/<stripe id, 8 B BE>  StripeRecord: generation, length, and which disk holds each of its k+m shards
//   d/<disk id, 4 B BE>    DiskRecord: a member disk and its state
// Encodings are little-endian, versioned, and decode strictly: a truncated or over-long value, an unknown version or
// an out-of-range field is Errc::corruption naming the key. Decoders never read past the value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tiercel/core/error.hpp"

namespace tiercel::pool {

inline constexpr std::string_view kObjectPrefix = "o/";
inline constexpr std::string_view kStripePrefix = "s/";
inline constexpr std::string_view kDiskPrefix = "d/";

std::string object_key(std::string_view name);
std::string stripe_key(uint64_t stripe_id);
std::string disk_key(uint32_t disk_id);
uint64_t stripe_id_from_key(std::string_view key);  // key must start with kStripePrefix and hold 8 bytes

struct StripeRef {
    uint64_t stripe_id = 0;
    uint32_t logical_length = 0;  // bytes of the object in this stripe
};

struct ObjectRecord {
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    uint64_t object_id = 0;      // unique per put; binds inline ciphertext to this version
    bool is_inline = false;
    std::string inline_data;     // the bytes (sealed when the pool is encrypted)
    std::vector<StripeRef> stripes;
};

enum class DiskState : uint8_t { active = 1, draining = 2, retired = 3 };
std::string_view disk_state_name(DiskState state);

struct StripeRecord {
    uint64_t generation = 1;
    uint32_t logical_length = 0;
    uint8_t k = 0;
    uint8_t m = 0;
    std::vector<uint32_t> shard_disks;  // k+m disk ids, index = shard index
};

struct DiskRecord {
    uint32_t disk_id = 0;
    std::string uuid;
    std::string path;
    std::string tier;
    std::string failure_domain;
    uint64_t capacity = 0;  // 0 = what statfs says
    DiskState state = DiskState::active;
};

std::string encode_object(const ObjectRecord& record);
Result<ObjectRecord> decode_object(std::string_view value, std::string_view key);
std::string encode_stripe(const StripeRecord& record);
Result<StripeRecord> decode_stripe(std::string_view value, std::string_view key);
std::string encode_disk(const DiskRecord& record);
Result<DiskRecord> decode_disk(std::string_view value, std::string_view key);

// Where shard `index` of a stripe lives on its disk: "shards/<hh>/<id:016x>.<generation>.<index>", hh spreading
// stripes over 256 directories so no directory grows huge.
std::string shard_path(uint64_t stripe_id, uint64_t generation, unsigned index);
std::string shard_directory(uint64_t stripe_id);

}  // namespace tiercel::pool
