// Pool::put and Pool::remove: stripes are encoded and written in a pipeline of `inflight_stripes`, each shard to
// its own disk's queue. An immediate put's object becomes visible only when the metadata commit that names its
// stripes is durable — after every shard and shard directory was fsynced. A deferred put syncs nothing: it notes its
// disks, and the flush that makes its commit durable syncs them first (pool_deferred.cpp).
#include <chrono>
#include <deque>
#include <functional>
#include <future>

#include <sodium.h>

#include "pool_internal.hpp"
#include "tiercel/core/log.hpp"

namespace tiercel::pool {
namespace {

constexpr int kPlacementAttempts = 3;

struct WrittenStripe {
    uint64_t stripe_id = 0;
    StripeRecord record;
};

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Same-name puts and removes serialise their read-previous-then-commit step, so neither leaks the other's stripes.
std::mutex& name_lock(std::string_view name) {
    static std::array<std::mutex, 64> locks;
    return locks[std::hash<std::string_view>{}(name) % locks.size()];
}

// Reads up to `limit` bytes into `buffer` (empty on entry, capacity reserved). The buffer grows as the bytes come
// (doubling from 64 KiB): a small object must not pay for zeroing and faulting in a whole stripe buffer.
Result<size_t> fill(const ByteSource& source, std::vector<std::byte>& buffer, size_t limit) {
    size_t filled = 0;
    while (filled < limit) {
        if (filled == buffer.size())
            buffer.resize(std::min(limit, std::max<size_t>(size_t{64} << 10, filled * 2)));
        TIERCEL_ASSIGN(size_t n, source(std::span(buffer).subspan(filled)));
        if (n == 0)
            break;
        filled += n;
    }
    buffer.resize(filled);
    return filled;
}

std::shared_ptr<std::vector<std::byte>> stripe_buffer(size_t stripe_bytes) {
    auto buffer = std::make_shared<std::vector<std::byte>>();
    buffer->reserve(stripe_bytes);  // address space only: pages are touched as fill() grows the buffer
    return buffer;
}

// One stripe's logical bytes, kept alive by `owner` until the stripe is encoded. Empty bytes = end of the object.
struct StripeInput {
    std::shared_ptr<const void> owner;
    std::span<const std::byte> bytes;
};
using StripeFeeder = std::function<Result<StripeInput>()>;

// Stripes read from a ByteSource into fresh buffers.
StripeFeeder feed_from_source(const ByteSource& source, size_t stripe_bytes) {
    return [&source, stripe_bytes]() -> Result<StripeInput> {
        auto buffer = stripe_buffer(stripe_bytes);
        TIERCEL_ASSIGN(size_t filled, fill(source, *buffer, stripe_bytes));
        return StripeInput{buffer, std::span<const std::byte>(buffer->data(), filled)};
    };
}

// Stripes that are slices of one shared buffer: nothing is copied.
StripeFeeder feed_from_buffer(std::shared_ptr<const std::vector<std::byte>> data, size_t length, size_t stripe_bytes) {
    return [data = std::move(data), length, stripe_bytes, offset = size_t{0}]() mutable -> Result<StripeInput> {
        const size_t take = std::min(stripe_bytes, length - offset);
        StripeInput input{data, std::span<const std::byte>(data->data() + offset, take)};
        offset += take;
        return input;
    };
}

using Durability = Pool::Durability;

Status write_shard(Pool::Member& member, const std::string& path, const codec::Bytes& bytes, Durability durability) {
    auto started = std::chrono::steady_clock::now();
    Status status = member.disk->write_file(path, as_bytes_view(bytes), false);
    if (status && durability == Durability::immediate)
        status = member.disk->sync_file(path);
    member.record_latency(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    if (!status)
        member.write_errors++;
    return status;
}

// Where a stripe's shard writes run. Small deferred stripes are written by the calling thread: each write only
// copies a few KiB into the page cache, and six hand-offs to the disk queues (and back) cost more than the writes
// (they dominated a profile of untar on the mount). Everything else goes to the disks' queues in parallel.
enum class ShardWriters { disk_queues, this_thread };

std::vector<Status> write_shards(Pool& pool, uint64_t stripe_id, const std::vector<codec::Bytes>& shards,
                                 const Placement& placement, uint32_t generation, Durability durability,
                                 ShardWriters writers) {
    std::vector<Status> outcomes;
    std::vector<std::future<Status>> writes;
    for (size_t i = 0; i < shards.size(); ++i) {
        Pool::Member* member = PoolInternals::member(pool, placement.shard_disks[i]);
        std::string path = shard_path(stripe_id, generation, static_cast<unsigned>(i));
        if (writers == ShardWriters::this_thread)
            outcomes.push_back(write_shard(*member, path, shards[i], durability));
        else
            writes.push_back(member->io->submit(
                [member, path, &shards, i, durability] { return write_shard(*member, path, shards[i], durability); }));
    }
    for (auto& write : writes)
        outcomes.push_back(write.get());
    return outcomes;
}

// One attempt: place, write every shard, wait. Disks whose write failed are added to `failed`.
Status write_attempt(Pool& pool, uint64_t stripe_id, const std::vector<codec::Bytes>& shards,
                     const std::vector<PlacementCandidate>& candidates, std::set<uint32_t>& failed,
                     StripeRecord& record, Durability durability, ShardWriters writers) {
    TIERCEL_ASSIGN(Placement placement, place_stripe(stripe_id, candidates, static_cast<int>(shards.size()), failed));
    std::vector<Status> writes =
        write_shards(pool, stripe_id, shards, placement, record.generation, durability, writers);
    Status outcome;
    for (size_t i = 0; i < writes.size(); ++i) {
        Status status = writes[i];
        if (!status) {
            failed.insert(placement.shard_disks[i]);
            if (outcome)
                outcome = status.error().context("writing shard " + std::to_string(i) + " of stripe " +
                                                     std::to_string(stripe_id));
        }
    }
    if (!outcome) {
        // Remove what this attempt did write: the retry places the stripe afresh.
        for (size_t i = 0; i < shards.size(); ++i)
            if (!failed.count(placement.shard_disks[i]))
                (void)PoolInternals::member(pool, placement.shard_disks[i])
                    ->disk->remove(shard_path(stripe_id, record.generation, static_cast<unsigned>(i)));
        return outcome;
    }
    record.shard_disks = placement.shard_disks;
    return {};
}

// A stripe job: encode on this thread, then write with up to kPlacementAttempts placements.
Result<WrittenStripe> write_stripe(Pool& pool, uint64_t stripe_id, StripeInput input,
                                   std::shared_ptr<const std::vector<PlacementCandidate>> candidates,
                                   Durability durability, ShardWriters writers) {
    codec::StripeIdentity identity{pool.uuid(), stripe_id, 1};
    codec::ByteView logical(reinterpret_cast<const uint8_t*>(input.bytes.data()), input.bytes.size());
    TIERCEL_ASSIGN(auto shards, PoolInternals::codec(pool)->encode(identity, logical));
    input.owner.reset();  // the input buffer is no longer needed: keep memory to one copy per stripe in flight
    WrittenStripe written{stripe_id, StripeRecord{1, static_cast<uint32_t>(logical.size()),
                                                  static_cast<uint8_t>(pool.k()), static_cast<uint8_t>(pool.m()), {}}};
    std::set<uint32_t> failed;
    Status status;
    for (int attempt = 0; attempt < kPlacementAttempts; ++attempt) {
        status = write_attempt(pool, stripe_id, shards, *candidates, failed, written.record, durability, writers);
        if (status)
            return written;
        if (status.error().code() == Errc::no_space)
            break;
        log::warning("pool", status.error().describe() + "; placing the stripe again without the failed disk");
    }
    return status.error();
}

// Makes the new directory entries durable: one fsync per (disk, shard directory) the put touched.
Status sync_directories(Pool& pool, const std::vector<WrittenStripe>& stripes) {
    std::set<std::pair<uint32_t, std::string>> dirs;
    for (const auto& stripe : stripes)
        for (uint32_t disk : stripe.record.shard_disks)
            dirs.emplace(disk, shard_directory(stripe.stripe_id));
    std::vector<std::future<Status>> syncs;
    for (const auto& [disk_id, dir] : dirs) {
        Pool::Member* member = PoolInternals::member(pool, disk_id);
        syncs.push_back(member->io->submit([member, dir] { return member->disk->sync_dir(dir); }));
    }
    Status result;
    for (auto& sync : syncs)
        if (Status status = sync.get(); !status && result)
            result = status;
    return result;
}

// The previous version's stripes, for removal in the same commit that replaces or removes the object.
Result<std::vector<std::pair<uint64_t, StripeRecord>>> previous_stripes(Pool& pool, std::string_view name) {
    std::vector<std::pair<uint64_t, StripeRecord>> stripes;
    auto value = pool.meta().get(object_key(name));
    if (!value)
        return stripes;
    TIERCEL_ASSIGN(ObjectRecord previous, decode_object(*value, object_key(name)));
    for (const auto& ref : previous.stripes) {
        auto stripe_value = pool.meta().get(stripe_key(ref.stripe_id));
        if (!stripe_value)
            continue;
        TIERCEL_ASSIGN(StripeRecord record, decode_stripe(*stripe_value, stripe_key(ref.stripe_id)));
        stripes.emplace_back(ref.stripe_id, record);
    }
    return stripes;
}

// Commits `batch`, which replaces or removes `previous`, and deletes the previous shards once that is durable.
Status commit_replacing(Pool& pool, const MetaBatch& batch, std::vector<std::pair<uint64_t, StripeRecord>> previous,
                        Durability durability) {
    if (durability == Durability::immediate) {
        TIERCEL_TRY(pool.meta().commit(batch));
        for (const auto& [id, old] : previous)
            delete_shards(pool, id, old);
        return {};
    }
    TIERCEL_ASSIGN(uint64_t sequence, pool.meta().commit_deferred(batch));
    PoolInternals::delete_when_durable(pool, sequence, std::move(previous));
    return {};
}

Status commit_object(Pool& pool, std::string_view name, const ObjectRecord& record,
                     const std::vector<WrittenStripe>& stripes, Durability durability) {
    std::lock_guard lock(name_lock(name));
    TIERCEL_ASSIGN(auto previous, previous_stripes(pool, name));
    MetaBatch batch;
    for (const auto& [id, old] : previous)
        batch.remove(stripe_key(id));
    for (const auto& stripe : stripes)
        batch.put(stripe_key(stripe.stripe_id), encode_stripe(stripe.record));
    batch.put(object_key(name), encode_object(record));
    batch.put(kNextStripeKey, encode_u64(PoolInternals::next_stripe_id(pool).load()));
    return commit_replacing(pool, batch, std::move(previous), durability);
}

uint64_t random_object_id() {
    uint64_t id = 0;
    randombytes_buf(&id, sizeof id);
    return id;
}

Result<ObjectInfo> put_inline(Pool& pool, std::string_view name, std::span<const std::byte> bytes,
                              Durability durability) {
    const size_t size = bytes.size();
    ObjectRecord record{size, now_ns(), random_object_id(), true, {}, {}};
    std::string_view plain(reinterpret_cast<const char*>(bytes.data()), size);
    if (auto& key = PoolInternals::key(pool)) {
        std::string aad = PoolInternals::inline_aad(pool, record.object_id);
        TIERCEL_ASSIGN(auto sealed, codec::seal(*key, codec::ByteView(reinterpret_cast<const uint8_t*>(plain.data()), size),
                                                codec::ByteView(reinterpret_cast<const uint8_t*>(aad.data()), aad.size())));
        record.inline_data.assign(reinterpret_cast<const char*>(sealed.data()), sealed.size());
    } else {
        record.inline_data = plain;
    }
    TIERCEL_TRY(commit_object(pool, name, record, {}, durability));
    return ObjectInfo{std::string(name), size, record.mtime_ns, true, 0};
}

// The disks a deferred put wrote to, for the flush that will sync them.
std::vector<uint32_t> disks_of(const std::vector<WrittenStripe>& stripes) {
    std::set<uint32_t> disks;
    for (const auto& stripe : stripes)
        disks.insert(stripe.record.shard_disks.begin(), stripe.record.shard_disks.end());
    return {disks.begin(), disks.end()};
}

}  // namespace

void delete_shards(Pool& pool, uint64_t stripe_id, const StripeRecord& record) {
    for (size_t i = 0; i < record.shard_disks.size(); ++i) {
        Pool::Member* member = PoolInternals::member(pool, record.shard_disks[i]);
        if (member && member->online)
            (void)member->disk->remove(shard_path(stripe_id, record.generation, static_cast<unsigned>(i)));
    }
}

std::vector<PlacementCandidate> PoolInternals::placement_candidates(Pool& pool) {
    std::vector<PlacementCandidate> candidates;
    for (auto& member : pool.members_) {
        PlacementCandidate candidate;
        candidate.disk_id = member->record.disk_id;
        candidate.name = member->name();
        candidate.uuid = member->record.uuid;
        candidate.failure_domain = member->record.failure_domain;
        candidate.tier = member->record.tier;
        candidate.online = member->online;
        candidate.state = std::string(disk_state_name(member->record.state));
        candidate.accepts_writes = member->record.state == DiskState::active;
        candidate.latency_ms = member->latency_ms();
        if (member->online) {
            if (auto space = member->disk->space()) {
                candidate.capacity = member->record.capacity ? member->record.capacity : space->total_bytes;
                uint64_t used_elsewhere = space->total_bytes - space->free_bytes;
                candidate.free_bytes = member->record.capacity
                                           ? (member->record.capacity > used_elsewhere
                                                  ? std::min(space->free_bytes, member->record.capacity - used_elsewhere)
                                                  : 0)
                                           : space->free_bytes;
            } else {
                candidate.online = false;
            }
        }
        candidates.push_back(std::move(candidate));
    }
    return candidates;
}

namespace {

// The body of both puts: stripes from `next` (the first already read) are encoded and written in a pipeline of
// `inflight_stripes`, then the object is committed.
Result<ObjectInfo> put_stripes(Pool& pool, std::string_view name, StripeInput input, const StripeFeeder& next,
                               Durability durability) {
    const size_t stripe_bytes = pool.stripe_size();
    if (input.bytes.size() <= PoolInternals::spec(pool).inline_max && input.bytes.size() < stripe_bytes)
        return put_inline(pool, name, input.bytes, durability);

    auto candidates = std::make_shared<const std::vector<PlacementCandidate>>(PoolInternals::placement_candidates(pool));
    std::deque<std::future<Result<WrittenStripe>>> inflight;
    std::vector<WrittenStripe> written;
    ObjectRecord record{0, now_ns(), 0, false, {}, {}};
    Status status;
    auto collect = [&](Result<WrittenStripe> result) {
        if (!result) {
            if (status)
                status = result.error();
            return;
        }
        written.push_back(*result);
    };
    auto collect_oldest = [&] {
        auto oldest = std::move(inflight.front());
        inflight.pop_front();
        collect(oldest.get());
    };
    while (!input.bytes.empty() && status) {
        const size_t filled = input.bytes.size();
        uint64_t id = PoolInternals::next_stripe_id(pool).fetch_add(1);
        record.stripes.push_back({id, static_cast<uint32_t>(filled)});
        record.size += filled;
        if (durability == Durability::deferred && record.stripes.size() == 1 && filled < stripe_bytes) {
            // The whole object is one small stripe: encode and write it here (see ShardWriters).
            collect(write_stripe(pool, id, std::move(input), candidates, durability, ShardWriters::this_thread));
        } else {
            inflight.push_back(PoolInternals::stripe_jobs(pool).submit([&pool, id, input, candidates, durability] {
                return write_stripe(pool, id, input, candidates, durability, ShardWriters::disk_queues);
            }));
        }
        if (inflight.size() >= PoolInternals::spec(pool).inflight_stripes)
            collect_oldest();
        auto following = next();
        if (!following) {
            status = following.error().context("reading the input");
            break;
        }
        input = std::move(*following);
    }
    while (!inflight.empty())
        collect_oldest();
    if (status && durability == Durability::immediate)
        status = sync_directories(pool, written);
    else if (status)
        PoolInternals::note_unsynced(pool, disks_of(written));  // before the commit: see pool_internal.hpp
    if (status)
        status = commit_object(pool, name, record, written, durability);
    if (!status) {
        // Nothing names these shards: remove them so a failed put leaves no garbage behind.
        for (const auto& stripe : written)
            delete_shards(pool, stripe.stripe_id, stripe.record);
        return status.error().context("put '" + std::string(name) + "'");
    }
    return ObjectInfo{std::string(name), record.size, record.mtime_ns, false, record.stripes.size()};
}

}  // namespace

Result<ObjectInfo> Pool::put(std::string_view name, const ByteSource& source, Durability durability) {
    TIERCEL_TRY(validate_object_name(name));
    StripeFeeder next = feed_from_source(source, stripe_size());
    TIERCEL_ASSIGN(StripeInput first, next());
    return put_stripes(*this, name, std::move(first), next, durability);
}

Result<ObjectInfo> Pool::put_shared(std::string_view name, std::shared_ptr<const std::vector<std::byte>> data,
                                    size_t length, Durability durability) {
    TIERCEL_TRY(validate_object_name(name));
    if (!data || length > data->size())
        return make_error(Errc::invalid_input, "put '" + std::string(name) + "': length is past the buffer's end");
    StripeFeeder next = feed_from_buffer(std::move(data), length, stripe_size());
    TIERCEL_ASSIGN(StripeInput first, next());
    return put_stripes(*this, name, std::move(first), next, durability);
}

Status Pool::remove(std::string_view name, Durability durability) {
    TIERCEL_TRY(validate_object_name(name));
    std::lock_guard lock(name_lock(name));
    if (!meta_->get(object_key(name)))
        return make_error(Errc::not_found, "no object named '" + std::string(name) + "'");
    TIERCEL_ASSIGN(auto previous, previous_stripes(*this, name));
    MetaBatch batch;
    for (const auto& [id, old] : previous)
        batch.remove(stripe_key(id));
    batch.remove(object_key(name));
    return commit_replacing(*this, batch, std::move(previous), durability);
}

}  // namespace tiercel::pool
