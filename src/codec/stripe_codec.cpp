#include "tiercel/codec/stripe_codec.hpp"

#include "tiercel/codec/checksum.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace tiercel::codec {
namespace {

// What was learnt about the given shards: a verified header per usable slot, the rejected ones with reasons.
struct Screening {
    std::vector<std::optional<ShardHeader>> usable;
    std::vector<BadShard> bad;
    ShardMask missing = 0;
};

void screen_slot(Screening& screening, const StripeIdentity& identity, unsigned slot, ByteView bytes, int k,
                 int m) {
    if (bytes.empty()) {
        screening.missing |= shard_bit(slot);
        return;
    }
    auto header = verify_shard(bytes);
    if (!header.ok()) {
        screening.bad.push_back({slot, header.error().message()});
        return;
    }
    if (auto belongs = check_shard_identity(*header, identity, slot); !belongs.ok()) {
        screening.bad.push_back({slot, belongs.error().message()});
        return;
    }
    if (header->data_shards != k || header->parity_shards != m) {
        screening.bad.push_back({slot, "shard has layout " + std::to_string(header->data_shards) + "+" +
                                           std::to_string(header->parity_shards) + ", this codec decodes " +
                                           std::to_string(k) + "+" + std::to_string(m)});
        return;
    }
    screening.usable[slot] = *header;
}

// The slot whose parameters the most usable shards share (ties go to the lowest slot), or -1 when none is usable.
// Shards of one stripe write always agree; disagreement means damage that slipped past the CRCs or a mix-up.
int consensus_slot(const Screening& screening) {
    int best_slot = -1;
    int best_votes = 0;
    for (std::size_t i = 0; i < screening.usable.size(); ++i) {
        if (!screening.usable[i])
            continue;
        int votes = 0;
        for (const auto& other : screening.usable)
            votes += other && same_stripe_write(*screening.usable[i], *other) ? 1 : 0;
        if (votes > best_votes) {
            best_votes = votes;
            best_slot = static_cast<int>(i);
        }
    }
    return best_slot;
}

// Demotes every usable shard that disagrees with the consensus; returns the mask of the ones kept.
ShardMask settle_consensus(Screening& screening, int chosen) {
    ShardMask kept = 0;
    if (chosen < 0)
        return kept;
    const ShardHeader reference = *screening.usable[static_cast<std::size_t>(chosen)];
    for (std::size_t i = 0; i < screening.usable.size(); ++i) {
        auto& header = screening.usable[i];
        if (!header)
            continue;
        if (same_stripe_write(reference, *header)) {
            kept |= shard_bit(static_cast<unsigned>(i));
        } else {
            screening.bad.push_back({static_cast<unsigned>(i), "shard header disagrees with shard " +
                                                                   std::to_string(chosen) +
                                                                   " about the stripe's parameters"});
            header.reset();
        }
    }
    return kept;
}

std::string describe_loss(const Screening& screening) {
    std::string missing;
    for (unsigned i = 0; i < 64; ++i)
        if (screening.missing & shard_bit(i))
            missing += (missing.empty() ? "" : ",") + std::to_string(i);
    std::string bad;
    for (const BadShard& shard : screening.bad)
        bad += (bad.empty() ? "" : "; ") + std::to_string(shard.index) + " (" + shard.reason + ")";
    return "missing: " + (missing.empty() ? std::string("none") : missing) +
           "; bad: " + (bad.empty() ? std::string("none") : bad);
}

std::uint64_t ceil_div(std::uint64_t value, std::uint64_t divisor) { return (value + divisor - 1) / divisor; }

}  // namespace

struct StripeCodec::Recovered {
    ShardHeader common;  // the agreed parameters; shard_index and shard_data_crc32c are zeroed
    Bytes payload;       // the k data shards back to back (k * shard_data_length bytes, padding included)
    std::vector<BadShard> bad_shards;
    ShardMask missing = 0;
    bool reconstructed = false;
};

StripeCodec::StripeCodec(StripeCodecConfig config, ErasureCoder erasure)
    : config_(std::move(config)), erasure_(std::move(erasure)) {}

Result<StripeCodec> StripeCodec::create(StripeCodecConfig config) {
    TIERCEL_TRY(validate_compression_level(config.compression, config.compression_level));
    TIERCEL_ASSIGN(ErasureCoder erasure,
                   ErasureCoder::create(config.data_shards, config.parity_shards, config.decode_cache_capacity));
    return StripeCodec(std::move(config), std::move(erasure));
}

std::size_t StripeCodec::encoded_shard_size(std::uint64_t logical_length) const {
    // Compression never grows the payload (it falls back to raw), so only the AEAD envelope adds bytes.
    const std::uint64_t payload = logical_length + (encrypted() ? aead_overhead : 0);
    return shard_header_size + static_cast<std::size_t>(ceil_div(payload, static_cast<std::uint64_t>(data_shards())));
}

Result<std::vector<Bytes>> StripeCodec::encode(const StripeIdentity& identity, ByteView logical) const {
    std::vector<Bytes> shards;
    TIERCEL_TRY(encode_into(identity, logical, shards));
    return shards;
}

Status StripeCodec::encode_into(const StripeIdentity& identity, ByteView logical, std::vector<Bytes>& shards) const {
    if (logical.size() > max_stripe_logical_length)
        return make_error(Errc::invalid_input, describe_stripe(identity) + ": " + std::to_string(logical.size()) +
                                                   " bytes exceed the stripe limit of " +
                                                   std::to_string(max_stripe_logical_length));
    ShardHeader common;
    common.identity = identity;
    common.data_shards = static_cast<std::uint8_t>(data_shards());
    common.parity_shards = static_cast<std::uint8_t>(parity_shards());
    common.logical_length = logical.size();

    Bytes compressed_storage;
    ByteView stored = logical;
    if (config_.compression != Compression::none) {
        TIERCEL_ASSIGN(Compressed compressed, compress(logical, config_.compression, config_.compression_level));
        common.compression = compressed.algorithm;
        compressed_storage = std::move(compressed.bytes);
        stored = compressed_storage;
    }
    Bytes sealed_storage;
    if (config_.key) {
        common.encrypted = true;
        TIERCEL_ASSIGN(sealed_storage, seal(*config_.key, stored, stripe_associated_data(common)));
        stored = sealed_storage;
    } else {
        common.logical_crc32c = crc32c(logical);
    }
    common.payload_length = stored.size();
    common.shard_data_length = static_cast<std::uint32_t>(ceil_div(stored.size(), common.data_shards));
    return build_shards(common, stored, shards);
}

Status StripeCodec::build_shards(ShardHeader common, ByteView payload, std::vector<Bytes>& shards) const {
    const std::size_t shard_len = common.shard_data_length;
    const std::size_t k = static_cast<std::size_t>(data_shards());
    shards.resize(static_cast<std::size_t>(total_shards()));
    std::vector<const std::uint8_t*> data_regions;
    std::vector<std::uint8_t*> parity_regions;
    for (std::size_t i = 0; i < shards.size(); ++i) {
        shards[i].resize(shard_header_size + shard_len);
        std::uint8_t* region = shards[i].data() + shard_header_size;
        if (i < k) {
            // Reused buffers hold old bytes, so the padding after the payload is zeroed explicitly: the format
            // promises zeros there.
            const std::size_t begin = std::min(payload.size(), i * shard_len);
            const std::size_t count = std::min(shard_len, payload.size() - begin);
            if (count > 0)
                std::memcpy(region, payload.data() + begin, count);
            std::fill(region + count, region + shard_len, std::uint8_t{0});
            data_regions.push_back(region);
        } else {
            parity_regions.push_back(region);
        }
    }
    TIERCEL_TRY(erasure_.encode(data_regions, parity_regions, shard_len));
    for (std::size_t i = 0; i < shards.size(); ++i) {
        common.shard_index = static_cast<std::uint8_t>(i);
        common.shard_data_crc32c = crc32c(ByteView(shards[i]).subspan(shard_header_size));
        const auto header = serialize_shard_header(common);
        std::copy(header.begin(), header.end(), shards[i].begin());
    }
    return {};
}

Result<StripeCodec::Recovered> StripeCodec::recover_payload(const StripeIdentity& identity,
                                                            std::span<const ByteView> shards) const {
    const int k = data_shards();
    const int n = total_shards();
    if (shards.size() != static_cast<std::size_t>(n))
        return make_error(Errc::invalid_input, describe_stripe(identity) + ": decode needs " + std::to_string(n) +
                                                   " shard slots, got " + std::to_string(shards.size()));
    Screening screening;
    screening.usable.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < k; ++i)
        screen_slot(screening, identity, static_cast<unsigned>(i), shards[static_cast<std::size_t>(i)], k, n - k);
    int chosen = consensus_slot(screening);
    const bool data_complete = chosen >= 0 && std::ranges::all_of(screening.usable.begin(),
                                                                  screening.usable.begin() + k, [&](const auto& h) {
        return h && same_stripe_write(*h, *screening.usable[static_cast<std::size_t>(chosen)]);
    });
    if (!data_complete) {
        // Only now is parity worth reading: the healthy path never touches it.
        for (int i = k; i < n; ++i)
            screen_slot(screening, identity, static_cast<unsigned>(i), shards[static_cast<std::size_t>(i)], k,
                        n - k);
        chosen = consensus_slot(screening);
    }
    const ShardMask usable = settle_consensus(screening, chosen);
    if (std::popcount(usable) < k)
        return make_error(Errc::unavailable, describe_stripe(identity) + ": " + std::to_string(std::popcount(usable)) +
                                                 " usable shards, need " + std::to_string(k) + " (layout " +
                                                 std::to_string(k) + "+" + std::to_string(n - k) + "); " +
                                                 describe_loss(screening));

    Recovered recovered;
    recovered.common = *screening.usable[static_cast<std::size_t>(chosen)];
    recovered.common.shard_index = 0;
    recovered.common.shard_data_crc32c = 0;
    recovered.bad_shards = std::move(screening.bad);
    recovered.missing = screening.missing;
    const std::size_t shard_len = recovered.common.shard_data_length;
    recovered.payload.resize(static_cast<std::size_t>(k) * shard_len);

    std::vector<const std::uint8_t*> inputs(static_cast<std::size_t>(n), nullptr);
    std::vector<std::uint8_t*> outputs(static_cast<std::size_t>(n), nullptr);
    for (int i = 0; i < n; ++i) {
        const auto slot = static_cast<std::size_t>(i);
        const bool is_usable = (usable & shard_bit(static_cast<unsigned>(i))) != 0;
        if (i < k) {
            std::uint8_t* region = recovered.payload.data() + slot * shard_len;
            if (is_usable && shard_len > 0)
                std::memcpy(region, shards[slot].data() + shard_header_size, shard_len);
            inputs[slot] = region;
            outputs[slot] = region;
        } else if (is_usable) {
            inputs[slot] = shards[slot].data() + shard_header_size;
        }
    }
    const ShardMask all_data = (ShardMask{1} << k) - 1;
    const ShardMask lost_data = all_data & ~usable;
    if (lost_data != 0) {
        TIERCEL_TRY(erasure_.reconstruct(inputs, usable, outputs, lost_data, shard_len));
        recovered.reconstructed = true;
    }
    return recovered;
}

Result<std::vector<ByteView>> StripeCodec::plain_data_views(const StripeIdentity& identity,
                                                           std::span<const ByteView> shards) const {
    const int k = data_shards();
    const std::string stripe = describe_stripe(identity);
    if (config_.key)
        return make_error(Errc::invalid_input, stripe + ": an encrypted pool has no plain stripes");
    if (shards.size() != static_cast<std::size_t>(total_shards()))
        return make_error(Errc::invalid_input, stripe + ": wrong number of shard slots");
    std::optional<ShardHeader> first;
    for (int i = 0; i < k; ++i) {
        TIERCEL_ASSIGN(ShardHeader header, verify_shard(shards[static_cast<std::size_t>(i)]));
        TIERCEL_TRY(check_shard_identity(header, identity, static_cast<unsigned>(i)));
        if (header.data_shards != k || header.parity_shards != parity_shards())
            return make_error(Errc::corruption, stripe + ": shard " + std::to_string(i) + " has another layout");
        if (first && !same_stripe_write(*first, header))
            return make_error(Errc::corruption, stripe + ": data shards disagree");
        if (!first)
            first = header;
    }
    if (!first || first->encrypted || first->compression != Compression::none ||
        first->payload_length != first->logical_length)
        return make_error(Errc::invalid_input, stripe + " is not a plain stripe");
    std::vector<ByteView> views;
    std::uint64_t remaining = first->logical_length;
    std::uint32_t crc = 0;
    for (int i = 0; i < k && remaining > 0; ++i) {
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(first->shard_data_length, remaining));
        ByteView view = shards[static_cast<std::size_t>(i)].subspan(shard_header_size, take);
        crc = crc32c(view, crc);
        views.push_back(view);
        remaining -= take;
    }
    if (remaining != 0 || crc != first->logical_crc32c)
        return make_error(Errc::corruption, stripe + ": data fails its end-to-end checksum");
    return views;
}

Result<Bytes> StripeCodec::unwrap_payload(const ShardHeader& common, Bytes payload) const {
    const std::string stripe = describe_stripe(common.identity);
    payload.resize(common.payload_length);
    if (common.encrypted && !config_.key)
        return make_error(Errc::permission, stripe + " is encrypted and no key is set");
    if (!common.encrypted && config_.key)
        return make_error(Errc::corruption, stripe + " is not encrypted but the pool is: refusing unauthenticated "
                                                     "data");
    Bytes stored = std::move(payload);
    if (common.encrypted) {
        auto opened = open(*config_.key, stored, stripe_associated_data(common));
        if (!opened.ok())
            return opened.error().context(stripe);
        stored = std::move(opened).value();
    }
    Bytes logical;
    if (common.compression == Compression::none && stored.size() == common.logical_length) {
        logical = std::move(stored);  // healthy uncompressed read: no copy
    } else {
        auto expanded = decompress(stored, common.compression, common.logical_length);
        if (!expanded.ok())
            return expanded.error().context(stripe);
        logical = std::move(expanded).value();
    }
    // Unencrypted stripes get their end-to-end check here; for encrypted ones the AEAD tag already covered it.
    if (!common.encrypted && crc32c(logical) != common.logical_crc32c)
        return make_error(Errc::corruption, stripe + ": reassembled data fails its end-to-end checksum");
    return logical;
}

Result<DecodedStripe> StripeCodec::decode(const StripeIdentity& identity, std::span<const ByteView> shards) const {
    TIERCEL_ASSIGN(Recovered recovered, recover_payload(identity, shards));
    DecodedStripe decoded;
    TIERCEL_ASSIGN(decoded.data, unwrap_payload(recovered.common, std::move(recovered.payload)));
    decoded.bad_shards = std::move(recovered.bad_shards);
    decoded.missing = recovered.missing;
    decoded.reconstructed = recovered.reconstructed;
    return decoded;
}

Result<RebuildResult> StripeCodec::rebuild(const StripeIdentity& identity, std::span<const ByteView> shards,
                                           ShardMask wanted) const {
    if (wanted & ~erasure_.all_shards())
        return make_error(Errc::invalid_input, describe_stripe(identity) + ": rebuild asks for a shard index beyond " +
                                                   std::to_string(total_shards() - 1));
    TIERCEL_ASSIGN(Recovered recovered, recover_payload(identity, shards));
    // Verify the whole stripe before writing anything derived from it; the logical bytes themselves are not needed.
    TIERCEL_TRY(unwrap_payload(recovered.common, recovered.payload));
    const ByteView payload = ByteView(recovered.payload).first(recovered.common.payload_length);
    std::vector<Bytes> all;
    TIERCEL_TRY(build_shards(recovered.common, payload, all));
    RebuildResult result;
    result.bad_shards = std::move(recovered.bad_shards);
    for (std::size_t i = 0; i < all.size(); ++i)
        if (wanted & shard_bit(static_cast<unsigned>(i)))
            result.shards.push_back({static_cast<unsigned>(i), std::move(all[i])});
    return result;
}

}  // namespace tiercel::codec
