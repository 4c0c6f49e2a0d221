#include "tiercel/pool/records.hpp"

#include <cstdio>
#include <cstring>

#include "tiercel/pool/meta_endian.hpp"

namespace tiercel::pool {
namespace {

constexpr uint8_t kObjectVersion = 1;
constexpr uint8_t kStripeVersion = 1;
constexpr uint8_t kDiskVersion = 1;

using meta::FieldReader;
using meta::FieldWriter;

Error corrupt(std::string_view key, std::string_view what) {
    return make_error(Errc::corruption, "metadata record '" + std::string(key) + "': " + std::string(what));
}

}  // namespace

std::string object_key(std::string_view name) { return std::string(kObjectPrefix) + std::string(name); }
std::string stripe_key(uint64_t stripe_id) { return std::string(kStripePrefix) + meta::put_be(stripe_id, 8); }
std::string disk_key(uint32_t disk_id) { return std::string(kDiskPrefix) + meta::put_be(disk_id, 4); }

uint64_t stripe_id_from_key(std::string_view key) {
    uint64_t id = 0;
    for (size_t i = kStripePrefix.size(); i < key.size() && i < kStripePrefix.size() + 8; ++i)
        id = (id << 8) | static_cast<uint8_t>(key[i]);
    return id;
}

std::string_view disk_state_name(DiskState state) {
    switch (state) {
    case DiskState::active: return "active";
    case DiskState::draining: return "draining";
    case DiskState::retired: return "retired";
    }
    return "unknown";
}

std::string encode_object(const ObjectRecord& record) {
    FieldWriter w;
    w.u8(kObjectVersion);
    w.u8(record.is_inline ? 1 : 2);
    w.u64(record.size);
    w.u64(static_cast<uint64_t>(record.mtime_ns));
    w.u64(record.object_id);
    if (record.is_inline) {
        w.bytes(record.inline_data);
    } else {
        w.u32(static_cast<uint32_t>(record.stripes.size()));
        for (const auto& stripe : record.stripes) {
            w.u64(stripe.stripe_id);
            w.u32(stripe.logical_length);
        }
    }
    return w.take();
}

Result<ObjectRecord> decode_object(std::string_view value, std::string_view key) {
    FieldReader r(value);
    ObjectRecord record;
    if (uint8_t version = r.u8(); r.ok() && version != kObjectVersion)
        return corrupt(key, "unknown object record version " + std::to_string(version));
    uint8_t kind = r.u8();
    record.size = r.u64();
    record.mtime_ns = static_cast<int64_t>(r.u64());
    record.object_id = r.u64();
    if (kind == 1) {
        record.is_inline = true;
        record.inline_data = r.bytes();
    } else if (kind == 2) {
        uint32_t count = r.u32();
        if (r.ok() && count > value.size() / 12)
            return corrupt(key, "stripe count " + std::to_string(count) + " exceeds the record");
        uint64_t total = 0;
        for (uint32_t i = 0; i < count && r.ok(); ++i) {
            StripeRef ref{r.u64(), r.u32()};
            total += ref.logical_length;
            record.stripes.push_back(ref);
        }
        if (r.ok() && total != record.size)
            return corrupt(key, "stripe lengths add up to " + std::to_string(total) + ", not the object size " +
                                    std::to_string(record.size));
    } else if (r.ok()) {
        return corrupt(key, "unknown object kind " + std::to_string(kind));
    }
    if (!r.finished_cleanly())
        return corrupt(key, "truncated or over-long object record");
    return record;
}

std::string encode_stripe(const StripeRecord& record) {
    FieldWriter w;
    w.u8(kStripeVersion);
    w.u64(record.generation);
    w.u32(record.logical_length);
    w.u8(record.k);
    w.u8(record.m);
    for (uint32_t disk : record.shard_disks)
        w.u32(disk);
    return w.take();
}

Result<StripeRecord> decode_stripe(std::string_view value, std::string_view key) {
    FieldReader r(value);
    StripeRecord record;
    if (uint8_t version = r.u8(); r.ok() && version != kStripeVersion)
        return corrupt(key, "unknown stripe record version " + std::to_string(version));
    record.generation = r.u64();
    record.logical_length = r.u32();
    record.k = r.u8();
    record.m = r.u8();
    if (r.ok() && (record.k < 1 || record.k > 32 || record.m > 8))
        return corrupt(key, "impossible layout k=" + std::to_string(record.k) + " m=" + std::to_string(record.m));
    for (int i = 0; i < record.k + record.m && r.ok(); ++i)
        record.shard_disks.push_back(r.u32());
    if (!r.finished_cleanly())
        return corrupt(key, "truncated or over-long stripe record");
    return record;
}

std::string encode_disk(const DiskRecord& record) {
    FieldWriter w;
    w.u8(kDiskVersion);
    w.u32(record.disk_id);
    w.bytes(record.uuid);
    w.bytes(record.path);
    w.bytes(record.tier);
    w.bytes(record.failure_domain);
    w.u64(record.capacity);
    w.u8(static_cast<uint8_t>(record.state));
    return w.take();
}

Result<DiskRecord> decode_disk(std::string_view value, std::string_view key) {
    FieldReader r(value);
    DiskRecord record;
    if (uint8_t version = r.u8(); r.ok() && version != kDiskVersion)
        return corrupt(key, "unknown disk record version " + std::to_string(version));
    record.disk_id = r.u32();
    record.uuid = r.bytes();
    record.path = r.bytes();
    record.tier = r.bytes();
    record.failure_domain = r.bytes();
    record.capacity = r.u64();
    uint8_t state = r.u8();
    if (r.ok() && (state < 1 || state > 3))
        return corrupt(key, "unknown disk state " + std::to_string(state));
    record.state = static_cast<DiskState>(state);
    if (!r.finished_cleanly())
        return corrupt(key, "truncated or over-long disk record");
    return record;
}

std::string shard_directory(uint64_t stripe_id) {
    // A multiplicative hash spreads consecutive ids over the 256 directories.
    unsigned bucket = static_cast<unsigned>((stripe_id * 0x9E3779B97F4A7C15ULL) >> 56);
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "shards/%02x", bucket);
    return buffer;
}

std::string shard_path(uint64_t stripe_id, uint64_t generation, unsigned index) {
    char buffer[96];
    std::snprintf(buffer, sizeof buffer, "/%016llx.%llu.%u", static_cast<unsigned long long>(stripe_id),
                  static_cast<unsigned long long>(generation), index);
    return shard_directory(stripe_id) + buffer;
}

}  // namespace tiercel::pool
