#include "tiercel/codec/shard_header.hpp"

#include "tiercel/codec/aead.hpp"
#include "tiercel/codec/checksum.hpp"
#include "tiercel/codec/erasure.hpp"

#include <algorithm>
#include <cstring>

namespace tiercel::codec {
namespace {

// Field offsets; the table in docs/formats.md (shard files) and docs/modules/codec.md is the reference.
constexpr std::size_t off_magic = 0;
constexpr std::size_t off_version = 4;
constexpr std::size_t off_header_size = 6;
constexpr std::size_t off_pool_uuid = 8;
constexpr std::size_t off_stripe_id = 24;
constexpr std::size_t off_generation = 32;
constexpr std::size_t off_logical_length = 40;
constexpr std::size_t off_payload_length = 48;
constexpr std::size_t off_shard_data_length = 56;
constexpr std::size_t off_logical_crc = 60;
constexpr std::size_t off_shard_index = 64;
constexpr std::size_t off_k = 65;
constexpr std::size_t off_m = 66;
constexpr std::size_t off_compression = 67;
constexpr std::size_t off_flags = 68;
constexpr std::size_t off_reserved = 69;  // 3 bytes, zero
constexpr std::size_t off_shard_data_crc = 72;
constexpr std::size_t off_header_crc = 76;
static_assert(off_header_crc + 4 == shard_header_size);

constexpr std::uint8_t flag_encrypted = 0x01;

template <typename T>
void put_le(std::uint8_t* out, T value) {
    for (std::size_t i = 0; i < sizeof(T); ++i)
        out[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(value) >> (8 * i));
}

template <typename T>
T get_le(const std::uint8_t* in) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
        value |= static_cast<std::uint64_t>(in[i]) << (8 * i);
    return static_cast<T>(value);
}

Error bad_header(const std::string& why) { return make_error(Errc::corruption, "shard header: " + why); }

// Lengths must be exactly what encode() would have written for these flags; anything else is damage.
Status check_lengths(const ShardHeader& h) {
    if (h.logical_length > max_stripe_logical_length)
        return bad_header("logical length " + std::to_string(h.logical_length) + " exceeds the format limit");
    const std::uint64_t k = h.data_shards;
    if (h.shard_data_length != (h.payload_length + k - 1) / k)
        return bad_header("shard data length " + std::to_string(h.shard_data_length) +
                          " does not match payload length " + std::to_string(h.payload_length) + " over k=" +
                          std::to_string(k));
    const std::uint64_t envelope = h.encrypted ? aead_overhead : 0;
    if (h.payload_length < envelope)
        return bad_header("encrypted payload of " + std::to_string(h.payload_length) + " bytes is too short");
    const std::uint64_t stored = h.payload_length - envelope;
    const bool plausible = h.compression == Compression::none ? stored == h.logical_length
                                                              : stored > 0 && stored < h.logical_length;
    if (!plausible)
        return bad_header("payload length " + std::to_string(h.payload_length) + " is impossible for " +
                          std::to_string(h.logical_length) + " logical bytes with " +
                          std::string(compression_name(h.compression)) + (h.encrypted ? ", encrypted" : ""));
    return {};
}

Status check_layout(const ShardHeader& h) {
    if (h.data_shards < 1 || h.data_shards > max_data_shards || h.parity_shards > max_parity_shards)
        return bad_header("layout " + std::to_string(h.data_shards) + "+" + std::to_string(h.parity_shards) +
                          " is out of range");
    if (h.shard_index >= h.data_shards + h.parity_shards)
        return bad_header("shard index " + std::to_string(h.shard_index) + " is beyond layout " +
                          std::to_string(h.data_shards) + "+" + std::to_string(h.parity_shards));
    return {};
}

Status check_frame(ByteView bytes) {
    if (bytes.size() < shard_header_size)
        return bad_header("truncated: " + std::to_string(bytes.size()) + " bytes, need " +
                          std::to_string(shard_header_size));
    if (!std::equal(shard_magic.begin(), shard_magic.end(), bytes.begin() + off_magic))
        return bad_header("bad magic (not a Tiercel shard)");
    const auto stored_crc = get_le<std::uint32_t>(bytes.data() + off_header_crc);
    if (crc32c(bytes.first(off_header_crc)) != stored_crc)
        return bad_header("header checksum mismatch");
    const auto version = get_le<std::uint16_t>(bytes.data() + off_version);
    if (version != shard_format_version)
        return bad_header("unsupported format version " + std::to_string(version));
    const auto size = get_le<std::uint16_t>(bytes.data() + off_header_size);
    if (size != shard_header_size)
        return bad_header("unexpected header size " + std::to_string(size));
    return {};
}

}  // namespace

std::string describe_stripe(const StripeIdentity& identity) {
    return "stripe " + std::to_string(identity.stripe_id) + " (generation " + std::to_string(identity.generation) +
           ")";
}

bool same_stripe_write(const ShardHeader& a, const ShardHeader& b) {
    ShardHeader a_common = a;
    a_common.shard_index = b.shard_index;
    a_common.shard_data_crc32c = b.shard_data_crc32c;
    return a_common == b;
}

std::array<std::uint8_t, shard_header_size> serialize_shard_header(const ShardHeader& h) {
    std::array<std::uint8_t, shard_header_size> out{};
    std::copy(shard_magic.begin(), shard_magic.end(), out.begin() + off_magic);
    put_le<std::uint16_t>(&out[off_version], shard_format_version);
    put_le<std::uint16_t>(&out[off_header_size], shard_header_size);
    std::copy(h.identity.pool_uuid.begin(), h.identity.pool_uuid.end(), out.begin() + off_pool_uuid);
    put_le(&out[off_stripe_id], h.identity.stripe_id);
    put_le(&out[off_generation], h.identity.generation);
    put_le(&out[off_logical_length], h.logical_length);
    put_le(&out[off_payload_length], h.payload_length);
    put_le(&out[off_shard_data_length], h.shard_data_length);
    put_le(&out[off_logical_crc], h.logical_crc32c);
    out[off_shard_index] = h.shard_index;
    out[off_k] = h.data_shards;
    out[off_m] = h.parity_shards;
    out[off_compression] = static_cast<std::uint8_t>(h.compression);
    out[off_flags] = h.encrypted ? flag_encrypted : 0;
    put_le(&out[off_shard_data_crc], h.shard_data_crc32c);
    put_le(&out[off_header_crc], crc32c(ByteView(out).first(off_header_crc)));
    return out;
}

Result<ShardHeader> parse_shard_header(ByteView bytes) {
    TIERCEL_TRY(check_frame(bytes));
    const std::uint8_t* in = bytes.data();
    ShardHeader h;
    std::copy(in + off_pool_uuid, in + off_pool_uuid + h.identity.pool_uuid.size(), h.identity.pool_uuid.begin());
    h.identity.stripe_id = get_le<std::uint64_t>(in + off_stripe_id);
    h.identity.generation = get_le<std::uint64_t>(in + off_generation);
    h.logical_length = get_le<std::uint64_t>(in + off_logical_length);
    h.payload_length = get_le<std::uint64_t>(in + off_payload_length);
    h.shard_data_length = get_le<std::uint32_t>(in + off_shard_data_length);
    h.logical_crc32c = get_le<std::uint32_t>(in + off_logical_crc);
    h.shard_index = in[off_shard_index];
    h.data_shards = in[off_k];
    h.parity_shards = in[off_m];
    TIERCEL_ASSIGN(h.compression, compression_from_byte(in[off_compression]));
    if ((in[off_flags] & ~flag_encrypted) != 0)
        return bad_header("unknown flag bits " + std::to_string(in[off_flags]));
    h.encrypted = (in[off_flags] & flag_encrypted) != 0;
    if (in[off_reserved] != 0 || in[off_reserved + 1] != 0 || in[off_reserved + 2] != 0)
        return bad_header("reserved bytes are not zero");
    h.shard_data_crc32c = get_le<std::uint32_t>(in + off_shard_data_crc);
    TIERCEL_TRY(check_layout(h));
    TIERCEL_TRY(check_lengths(h));
    return h;
}

Result<ShardHeader> verify_shard(ByteView encoded) {
    TIERCEL_ASSIGN(ShardHeader header, parse_shard_header(encoded));
    const std::size_t expected_size = shard_header_size + header.shard_data_length;
    if (encoded.size() != expected_size)
        return make_error(Errc::corruption, "shard is " + std::to_string(encoded.size()) + " bytes, header says " +
                                                std::to_string(expected_size));
    if (crc32c(encoded.subspan(shard_header_size)) != header.shard_data_crc32c)
        return make_error(Errc::corruption, "shard data checksum mismatch");
    return header;
}

Status check_shard_identity(const ShardHeader& header, const StripeIdentity& expected, unsigned expected_index) {
    if (header.identity.pool_uuid != expected.pool_uuid)
        return make_error(Errc::corruption, "shard belongs to another pool");
    if (header.identity.stripe_id != expected.stripe_id || header.identity.generation != expected.generation)
        return make_error(Errc::corruption, "shard belongs to " + describe_stripe(header.identity) + ", expected " +
                                                describe_stripe(expected));
    if (header.shard_index != expected_index)
        return make_error(Errc::corruption, "shard " + std::to_string(header.shard_index) + " found in slot " +
                                                std::to_string(expected_index));
    return {};
}

Bytes stripe_associated_data(const ShardHeader& h) {
    Bytes aad(stripe_associated_data_size);
    std::copy(h.identity.pool_uuid.begin(), h.identity.pool_uuid.end(), aad.begin());
    put_le(&aad[16], h.identity.stripe_id);
    put_le(&aad[24], h.identity.generation);
    put_le(&aad[32], h.logical_length);
    aad[40] = static_cast<std::uint8_t>(h.compression);
    put_le<std::uint16_t>(&aad[41], shard_format_version);
    return aad;
}

}  // namespace tiercel::codec
