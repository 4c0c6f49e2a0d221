// Contract: the whole write and read path of one stripe. encode(): compress (kept raw when it does not shrink) ->
// seal with XChaCha20-Poly1305 when a key is set (AAD = stripe_associated_data) -> split into k equal, zero-padded
// data shards -> m parity shards; each output buffer is an 80-byte shard header (shard_header.hpp) + shard data.
//
// decode() takes one slot per shard index (k + m slots; an empty view = not read / missing) and returns exactly the
// bytes given to encode(), or an error — never wrong bytes. Every shard it uses has passed its header CRC, data CRC,
// identity (pool, stripe, generation, slot) and layout checks and agrees with the other shards on the stripe's
// parameters; a shard that fails is treated as missing and listed in bad_shards with the reason. The result is then
// checked end to end: by the AEAD tag when encrypted, else by a CRC-32C of the logical bytes.
// Errors: unavailable (fewer than k usable shards; the message names the stripe and every missing/bad shard),
// corruption (authentication or decompression or end-to-end check failed), permission (encrypted stripe, no key).
//
// Fast path: when the k data shards are all usable, parity slots are not even looked at and no erasure math runs,
// so a healthy read passes only the data shards. Memory stays proportional to one stripe (a few stripe-sized
// buffers). A codec decodes only its own layout (k, m); a key-less codec refuses encrypted stripes and a keyed
// codec refuses unencrypted ones (otherwise a forger could swap in plaintext shards with valid CRCs).
// All const members are safe to call from several threads at once.
#pragma once

#include "tiercel/codec/aead.hpp"
#include "tiercel/codec/bytes.hpp"
#include "tiercel/codec/compress.hpp"
#include "tiercel/codec/erasure.hpp"
#include "tiercel/codec/shard_header.hpp"
#include "tiercel/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tiercel::codec {

struct StripeCodecConfig {
    int data_shards = 4;    // k
    int parity_shards = 2;  // m
    Compression compression = Compression::none;
    int compression_level = 0;  // 0 = the algorithm's default
    std::optional<AeadKey> key;  // set: every stripe is encrypted
    std::size_t decode_cache_capacity = ErasureCoder::default_cache_capacity;
};

struct BadShard {
    unsigned index = 0;
    std::string reason;
};

struct DecodedStripe {
    Bytes data;
    std::vector<BadShard> bad_shards;  // given but rejected
    ShardMask missing = 0;             // not given (and not needed on the fast path: parity slots are not inspected)
    bool reconstructed = false;        // parity was used
};

struct RebuiltShard {
    unsigned index = 0;
    Bytes encoded;  // header + data, ready to write
};

struct RebuildResult {
    std::vector<RebuiltShard> shards;  // ascending index, one per wanted index
    std::vector<BadShard> bad_shards;
};

class StripeCodec {
public:
    static Result<StripeCodec> create(StripeCodecConfig config);

    int data_shards() const { return erasure_.data_shards(); }
    int parity_shards() const { return erasure_.parity_shards(); }
    int total_shards() const { return erasure_.total_shards(); }
    bool encrypted() const { return config_.key.has_value(); }

    // Upper bound of one encoded shard (header included) for a stripe of logical_length bytes.
    std::size_t encoded_shard_size(std::uint64_t logical_length) const;

    // k + m buffers, index i = shard i. invalid_input above max_stripe_logical_length.
    Result<std::vector<Bytes>> encode(const StripeIdentity& identity, ByteView logical) const;
    // The same into caller-owned buffers, resized to fit and reusing their capacity: a writer that keeps one set
    // of buffers per in-flight stripe avoids a fresh allocation (and its page faults) per stripe.
    Status encode_into(const StripeIdentity& identity, ByteView logical, std::vector<Bytes>& shards) const;

    // shards.size() must be k + m (invalid_input otherwise).
    Result<DecodedStripe> decode(const StripeIdentity& identity, std::span<const ByteView> shards) const;

    // Zero-copy healthy read of a plain stripe (neither compressed nor encrypted): checks the k data shards exactly
    // as decode() does (header, data CRC, identity, slot, agreement, layout) plus the end-to-end CRC of the logical
    // bytes, and returns views into the callers' shard buffers that together are the logical bytes, in order.
    // Errc::corruption/unavailable/invalid_input when any check fails or the stripe is not plain: call decode().
    Result<std::vector<ByteView>> plain_data_views(const StripeIdentity& identity,
                                                   std::span<const ByteView> shards) const;

    // For heal: the full encoded bytes of the `wanted` shard indexes, recomputed from the usable shards after the
    // stripe has been verified end to end (so a rebuilt shard is never built from bytes that fail a check).
    Result<RebuildResult> rebuild(const StripeIdentity& identity, std::span<const ByteView> shards,
                                  ShardMask wanted) const;

private:
    struct Recovered;
    StripeCodec(StripeCodecConfig config, ErasureCoder erasure);

    Result<Recovered> recover_payload(const StripeIdentity& identity, std::span<const ByteView> shards) const;
    Result<Bytes> unwrap_payload(const ShardHeader& common, Bytes payload) const;
    Status build_shards(ShardHeader common, ByteView payload, std::vector<Bytes>& shards) const;

    StripeCodecConfig config_;
    ErasureCoder erasure_;
};

}  // namespace tiercel::codec
