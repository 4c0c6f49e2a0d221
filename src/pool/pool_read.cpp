// Pool::get, stat and list. Stripes covering the requested range are fetched in a pipeline of `inflight_stripes`
// jobs; each job reads the k data shards in parallel (one per disk queue) and decodes. Only when a data shard is
// missing, unreadable or fails its checks are the parity shards read, and the stripe is then recorded as degraded.
#include <chrono>
#include <deque>

#include "pool_internal.hpp"
#include "tiercel/core/log.hpp"

namespace tiercel::pool {
namespace {

struct ShardRead {
    // Uninitialised storage: zero-filling a buffer the read overwrites anyway costs a pass over every byte.
    std::unique_ptr<std::byte[]> bytes;
    size_t size = 0;
    std::string problem;  // "" when read
};

// Reads one shard file with a single read_at into a buffer of the largest size the stripe's shards can have; a
// file longer than that is not a shard of this stripe and fails verification as truncated/over-long.
ShardRead read_shard(Pool::Member* member, const std::string& path, size_t max_size) {
    if (!member)
        return {nullptr, 0, "unknown disk"};
    if (!member->online)
        return {nullptr, 0, member->name() + " offline"};
    ShardRead read{std::make_unique_for_overwrite<std::byte[]>(max_size + 1), 0, ""};
    auto started = std::chrono::steady_clock::now();
    auto got = member->disk->read_at(path, 0, std::span(read.bytes.get(), max_size + 1));
    member->record_latency(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    if (!got) {
        if (got.error().code() != Errc::not_found)
            member->read_errors++;
        return {nullptr, 0, got.error().describe()};
    }
    read.size = *got;
    return read;
}

// Reads the shards in `wanted` (by index) that have not been read yet, in parallel.
void read_shards(Pool& pool, uint64_t stripe_id, const StripeRecord& record, codec::ShardMask wanted,
                 std::vector<std::optional<ShardRead>>& reads) {
    const size_t max_size = PoolInternals::codec(pool)->encoded_shard_size(record.logical_length);
    std::vector<std::pair<size_t, std::future<ShardRead>>> pending;
    for (size_t i = 0; i < record.shard_disks.size(); ++i) {
        if (!(wanted & codec::shard_bit(static_cast<unsigned>(i))) || reads[i])
            continue;
        Pool::Member* member = PoolInternals::member(pool, record.shard_disks[i]);
        std::string path = shard_path(stripe_id, record.generation, static_cast<unsigned>(i));
        if (!member || !member->online) {
            reads[i] = read_shard(member, path, max_size);
            continue;
        }
        pending.emplace_back(i, member->io->submit([member, path, max_size] {
            return read_shard(member, path, max_size);
        }));
    }
    for (auto& [index, future] : pending)
        reads[index] = future.get();
}

Error lost_stripe_error(Pool& pool, uint64_t stripe_id, const StripeRecord& record,
                        const std::vector<std::optional<ShardRead>>& reads, const codec::DecodedStripe* decoded,
                        const Error& cause) {
    std::string detail;
    for (size_t i = 0; i < reads.size(); ++i) {
        Pool::Member* member = PoolInternals::member(pool, record.shard_disks[i]);
        std::string where = member ? member->name() : "disk" + std::to_string(record.shard_disks[i]);
        if (reads[i] && !reads[i]->problem.empty())
            detail += "; shard " + std::to_string(i) + " on " + where + ": " + reads[i]->problem;
    }
    if (decoded)
        for (const auto& bad : decoded->bad_shards)
            detail += "; shard " + std::to_string(bad.index) + ": " + bad.reason;
    return make_error(cause.code() == Errc::corruption ? Errc::corruption : Errc::unavailable,
                      "stripe " + std::to_string(stripe_id) + " cannot be read (" + cause.message() + ")" + detail);
}

// The logical bytes of one stripe, in order: either views straight into the shard buffers (a healthy plain
// stripe needs no copy) or one view of a decoded buffer.
struct StripeData {
    std::vector<std::optional<ShardRead>> reads;  // owns the buffers `views` may point into
    codec::Bytes decoded;
    std::vector<codec::ByteView> views;
};

std::vector<codec::ByteView> slot_views(const std::vector<std::optional<ShardRead>>& reads) {
    std::vector<codec::ByteView> views(reads.size());
    for (size_t i = 0; i < reads.size(); ++i)
        if (reads[i] && reads[i]->problem.empty())
            views[i] = codec::ByteView(reinterpret_cast<const uint8_t*>(reads[i]->bytes.get()), reads[i]->size);
    return views;
}

Result<StripeData> decode_from(Pool& pool, const codec::StripeIdentity& identity,
                               std::vector<std::optional<ShardRead>>& reads, codec::DecodedStripe& decoded_out) {
    TIERCEL_ASSIGN(decoded_out, PoolInternals::codec(pool)->decode(identity, slot_views(reads)));
    StripeData data;
    data.decoded = std::move(decoded_out.data);
    data.views.push_back(codec::ByteView(data.decoded));
    return data;
}

// A stripe job: fetch and decode one stripe. `degraded` counts stripes that needed parity.
Result<StripeData> read_stripe(Pool& pool, uint64_t stripe_id, std::atomic<uint64_t>& degraded) {
    auto value = pool.meta().get(stripe_key(stripe_id));
    if (!value)
        return make_error(Errc::corruption, "stripe " + std::to_string(stripe_id) + " has no metadata record");
    TIERCEL_ASSIGN(StripeRecord record, decode_stripe(*value, stripe_key(stripe_id)));
    codec::StripeIdentity identity{pool.uuid(), stripe_id, record.generation};
    std::vector<std::optional<ShardRead>> reads(record.shard_disks.size());
    codec::ShardMask data_mask = (codec::ShardMask{1} << record.k) - 1;
    read_shards(pool, stripe_id, record, data_mask, reads);

    bool data_complete = true;
    for (int i = 0; i < record.k; ++i)
        data_complete = data_complete && reads[i]->problem.empty();
    codec::DecodedStripe decoded;
    if (data_complete) {
        if (auto plain = PoolInternals::codec(pool)->plain_data_views(identity, slot_views(reads))) {
            StripeData data;
            data.views = std::move(*plain);  // point into the buffers, which moving `reads` does not move
            data.reads = std::move(reads);
            return data;
        }
        auto fast = decode_from(pool, identity, reads, decoded);
        if (fast && decoded.bad_shards.empty())
            return fast;
    }
    // Degraded: fetch the parity too and let the codec rebuild from whatever passes its checks.
    read_shards(pool, stripe_id, record, ~codec::ShardMask{0}, reads);
    codec::DecodedStripe rebuilt;
    auto result = decode_from(pool, identity, reads, rebuilt);
    for (const auto& bad : rebuilt.bad_shards)
        if (Pool::Member* member = PoolInternals::member(pool, record.shard_disks[bad.index]))
            member->checksum_errors++;
    if (!result)
        return lost_stripe_error(pool, stripe_id, record, reads, &rebuilt, result.error());
    degraded++;
    if (PoolInternals::note_degraded(pool, stripe_id))
        log::debug("pool", "stripe " + std::to_string(stripe_id) + " read from parity; recorded for healing");
    return result;
}

// Hands bytes [skip, skip + take) of a stripe to the sink, view by view.
Status deliver(const StripeData& data, uint64_t stripe_id, uint64_t skip, uint64_t take, const ByteSink& sink) {
    uint64_t total = 0;
    for (const auto& view : data.views)
        total += view.size();
    if (skip + take > total)
        return make_error(Errc::corruption, "stripe " + std::to_string(stripe_id) + " holds " + std::to_string(total) +
                                                " bytes, fewer than its record says");
    for (const auto& view : data.views) {
        if (take == 0)
            break;
        if (skip >= view.size()) {
            skip -= view.size();
            continue;
        }
        uint64_t n = std::min<uint64_t>(take, view.size() - skip);
        TIERCEL_TRY(sink(std::as_bytes(view.subspan(skip, n))));
        take -= n;
        skip = 0;
    }
    return {};
}

Result<ObjectRecord> load_object(Pool& pool, std::string_view name) {
    TIERCEL_TRY(validate_object_name(name));
    auto value = pool.meta().get(object_key(name));
    if (!value)
        return make_error(Errc::not_found, "no object named '" + std::string(name) + "'");
    return decode_object(*value, object_key(name));
}

Status get_inline(Pool& pool, const ObjectRecord& record, uint64_t offset, uint64_t length, const ByteSink& sink) {
    std::string plain = record.inline_data;
    if (auto& key = PoolInternals::key(pool)) {
        std::string aad = PoolInternals::inline_aad(pool, record.object_id);
        TIERCEL_ASSIGN(auto opened,
                       codec::open(*key,
                                   codec::ByteView(reinterpret_cast<const uint8_t*>(plain.data()), plain.size()),
                                   codec::ByteView(reinterpret_cast<const uint8_t*>(aad.data()), aad.size())));
        plain.assign(reinterpret_cast<const char*>(opened.data()), opened.size());
    }
    if (plain.size() != record.size)
        return make_error(Errc::corruption, "inline object holds " + std::to_string(plain.size()) +
                                                " bytes, its record says " + std::to_string(record.size));
    return sink(std::as_bytes(std::span(plain)).subspan(offset, length));
}

}  // namespace

Status Pool::get(std::string_view name, uint64_t offset, std::optional<uint64_t> length, const ByteSink& sink) {
    TIERCEL_ASSIGN(ObjectRecord record, load_object(*this, name));
    if (offset > record.size)
        return make_error(Errc::invalid_input, "offset " + std::to_string(offset) + " is past the end of '" +
                                                   std::string(name) + "' (" + std::to_string(record.size) +
                                                   " bytes)");
    uint64_t end = length ? std::min(record.size, offset + *length) : record.size;
    if (record.is_inline)
        return get_inline(*this, record, offset, end - offset, sink);

    // Only the stripes that overlap [offset, end) are fetched.
    struct Slice {
        uint64_t stripe_id, skip, take;
    };
    std::vector<Slice> slices;
    uint64_t position = 0;
    for (const auto& stripe : record.stripes) {
        uint64_t stripe_end = position + stripe.logical_length;
        if (stripe_end > offset && position < end) {
            uint64_t from = std::max(offset, position), to = std::min(end, stripe_end);
            slices.push_back({stripe.stripe_id, from - position, to - from});
        }
        position = stripe_end;
    }
    std::deque<std::future<Result<StripeData>>> inflight;
    std::atomic<uint64_t> degraded{0};
    size_t next = 0, delivered = 0;
    Status status;
    while (delivered < slices.size()) {
        while (next < slices.size() && inflight.size() < spec_.inflight_stripes && status) {
            uint64_t id = slices[next++].stripe_id;
            inflight.push_back(stripe_jobs_->submit([this, id, &degraded] { return read_stripe(*this, id, degraded); }));
        }
        if (inflight.empty())
            break;
        auto data = inflight.front().get();
        inflight.pop_front();
        const Slice& slice = slices[delivered++];
        if (!status)
            continue;  // drain what is in flight after a failure
        if (!data) {
            status = data.error().context("object '" + std::string(name) + "'");
            continue;
        }
        status = deliver(*data, slice.stripe_id, slice.skip, slice.take, sink);
    }
    if (degraded > 0)
        log::warning("pool", "'" + std::string(name) + "': " + std::to_string(degraded.load()) +
                                 " stripe(s) were rebuilt from parity and are recorded for healing");
    return status;
}

Result<ObjectInfo> Pool::stat(std::string_view name) {
    TIERCEL_ASSIGN(ObjectRecord record, load_object(*this, name));
    return ObjectInfo{std::string(name), record.size, record.mtime_ns, record.is_inline, record.stripes.size()};
}

std::vector<ObjectInfo> Pool::list(std::string_view prefix) {
    std::vector<ObjectInfo> objects;
    meta_->scan(object_key(prefix), [&](std::string_view key, std::string_view value) {
        auto record = decode_object(value, key);
        std::string name(key.substr(kObjectPrefix.size()));
        if (record)
            objects.push_back({name, record->size, record->mtime_ns, record->is_inline, record->stripes.size()});
        else
            log::error("pool", record.error().describe());
        return true;
    });
    return objects;
}

}  // namespace tiercel::pool
