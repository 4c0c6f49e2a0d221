// Pool::get, stat and list. Stripes covering the requested range are fetched in a pipeline of `inflight_stripes`
// jobs; each job reads the k data shards in parallel (one per disk queue) and decodes. Only when a data shard is
// missing, unreadable or fails its checks are the parity shards read, and the stripe is then recorded as degraded.
#include <sys/mman.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <new>

#include "pool_internal.hpp"
#include "tiercel/core/log.hpp"

namespace tiercel::pool {
namespace {

// Memory for the shard reads of one stripe: one mapping, 2 MiB aligned and marked for transparent huge pages. The
// filesystem's block cache keeps a fetched stripe's buffers (no copy), so they are not freed and reused at once as
// a streaming get's are: faulting fresh memory in 4 KiB pages cost about as much CPU as the copy the cache no longer
// makes. In huge pages a 4 MiB stripe takes two faults instead of a thousand, and pinning them for a FUSE reply is
// cheaper too; a freed mapping is kept for the next stripe (SpareMappings), which then costs no fault and no zeroing.
// Without huge pages (none free, or THP off) it is ordinary memory.
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kSpareBytes = size_t{32} << 20;

// Unused arena mappings, at most kSpareBytes of them. A streaming get frees each stripe's arena once delivered, so a
// few circulate; the filesystem frees them as it evicts blocks.
class SpareMappings {
public:
    static SpareMappings& instance() {
        static auto* spares = new SpareMappings;  // never destroyed: arenas may be freed during exit
        return *spares;
    }
    std::byte* take(size_t length) {
        std::lock_guard lock(mutex_);
        for (auto it = spare_.begin(); it != spare_.end(); ++it)
            if (it->second == length) {
                std::byte* base = it->first;
                spare_.erase(it);
                bytes_ -= length;
                return base;
            }
        return nullptr;
    }
    // false: no room, the caller unmaps it.
    bool give(std::byte* base, size_t length) {
        std::lock_guard lock(mutex_);
        if (bytes_ + length > kSpareBytes)
            return false;
        spare_.emplace_back(base, length);
        bytes_ += length;
        return true;
    }

private:
    std::mutex mutex_;
    std::vector<std::pair<std::byte*, size_t>> spare_;
    size_t bytes_ = 0;
};

class ShardArena {
public:
    static std::shared_ptr<ShardArena> map(size_t slots, size_t slot_size) {
        constexpr size_t page = 4096;
        const size_t stride = (slot_size + 63) / 64 * 64;
        const size_t length = (slots * stride + page - 1) / page * page;
        std::byte* base = SpareMappings::instance().take(length);
        if (!base)
            base = map_aligned(length);
        return std::shared_ptr<ShardArena>(new ShardArena(base, length, stride));
    }
    ~ShardArena() {
        if (!SpareMappings::instance().give(base_, length_))
            ::munmap(base_, length_);
    }
    ShardArena(const ShardArena&) = delete;
    ShardArena& operator=(const ShardArena&) = delete;
    std::byte* slot(size_t i) const { return base_ + i * stride_; }

private:
    ShardArena(std::byte* base, size_t length, size_t stride) : base_(base), length_(length), stride_(stride) {}

    static std::byte* map_aligned(size_t length) {
        void* raw = ::mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (raw == MAP_FAILED)
            throw std::bad_alloc();
        // Keep the 2 MiB aligned part and give back the rest.
        auto* first = static_cast<std::byte*>(raw);
        auto* aligned =
            reinterpret_cast<std::byte*>((reinterpret_cast<uintptr_t>(first) + kHugePage - 1) & ~(kHugePage - 1));
        if (aligned > first)
            ::munmap(first, static_cast<size_t>(aligned - first));
        if (std::byte* tail = aligned + length; tail < first + length + kHugePage)
            ::munmap(tail, static_cast<size_t>(first + length + kHugePage - tail));
        ::madvise(aligned, length, MADV_HUGEPAGE);  // a hint: without THP the mapping still works
        return aligned;
    }

    std::byte* base_;
    size_t length_, stride_;
};

struct ShardRead {
    // Uninitialised storage (zero-filling a buffer the read overwrites anyway costs a pass over every byte), owned
    // alone or as a slot of a ShardArena shared with the stripe's other shards.
    std::shared_ptr<std::byte> bytes;
    size_t size = 0;
    std::string problem;  // "" when read
};

// Reads one shard file with a single read_at into `buffer`, which holds the largest size the stripe's shards can have
// plus one byte: a file longer than that is not a shard of this stripe and fails verification as truncated/over-long.
ShardRead read_shard(Pool::Member* member, const std::string& path, size_t max_size, std::shared_ptr<std::byte> buffer) {
    if (!member)
        return {nullptr, 0, "unknown disk"};
    if (!member->online)
        return {nullptr, 0, member->name() + " offline"};
    ShardRead read{std::move(buffer), 0, ""};
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

// Reads the shards in `wanted` (by index) that have not been read yet, in parallel, into one arena.
void read_shards(Pool& pool, uint64_t stripe_id, const StripeRecord& record, codec::ShardMask wanted,
                 std::vector<std::optional<ShardRead>>& reads) {
    const size_t max_size = PoolInternals::codec(pool)->encoded_shard_size(record.logical_length);
    std::vector<size_t> to_read;
    for (size_t i = 0; i < record.shard_disks.size(); ++i)
        if ((wanted & codec::shard_bit(static_cast<unsigned>(i))) && !reads[i])
            to_read.push_back(i);
    if (to_read.empty())
        return;
    // A huge page is 2 MiB: smaller stripes keep plain heap buffers (a mapping per small read would cost more).
    const bool huge = to_read.size() * (max_size + 1) >= kHugePage;
    const auto arena = huge ? ShardArena::map(to_read.size(), max_size + 1) : nullptr;
    std::vector<std::pair<size_t, std::future<ShardRead>>> pending;
    for (size_t slot = 0; slot < to_read.size(); ++slot) {
        const size_t i = to_read[slot];
        std::shared_ptr<std::byte> buffer =
            arena ? std::shared_ptr<std::byte>(arena, arena->slot(slot))
                  : std::shared_ptr<std::byte>(std::make_unique_for_overwrite<std::byte[]>(max_size + 1).release(),
                                               std::default_delete<std::byte[]>());
        Pool::Member* member = PoolInternals::member(pool, record.shard_disks[i]);
        std::string path = shard_path(stripe_id, record.generation, static_cast<unsigned>(i));
        if (!member || !member->online) {
            reads[i] = read_shard(member, path, max_size, std::move(buffer));
            continue;
        }
        pending.emplace_back(i, member->io->submit([member, path, max_size, buffer = std::move(buffer)]() mutable {
            return read_shard(member, path, max_size, std::move(buffer));
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

// The verified plain bytes of an inline object (decrypted when the pool is encrypted).
Result<std::string> inline_bytes(Pool& pool, const ObjectRecord& record) {
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
    return plain;
}

// The part of one stripe that lies in the requested range.
struct Slice {
    uint64_t stripe_id, skip, take;
};

// Fetches the stripes of a striped object that overlap [offset, end) in a pipeline of `inflight_stripes` jobs and
// hands each one, in order, to `consume` with its slice. After a failure the jobs in flight are drained, not consumed.
using StripeConsumer = std::function<Status(StripeData&&, const Slice&)>;
Status fetch_stripes(Pool& pool, std::string_view name, const ObjectRecord& record, uint64_t offset, uint64_t end,
                     const StripeConsumer& consume) {
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
    const unsigned inflight_max = PoolInternals::spec(pool).inflight_stripes;
    std::deque<std::future<Result<StripeData>>> inflight;
    std::atomic<uint64_t> degraded{0};
    size_t next = 0, delivered = 0;
    Status status;
    while (delivered < slices.size()) {
        while (next < slices.size() && inflight.size() < inflight_max && status) {
            uint64_t id = slices[next++].stripe_id;
            inflight.push_back(PoolInternals::stripe_jobs(pool).submit(
                [&pool, id, &degraded] { return read_stripe(pool, id, degraded); }));
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
        status = consume(std::move(*data), slice);
    }
    if (degraded > 0)
        log::warning("pool", "'" + std::string(name) + "': " + std::to_string(degraded.load()) +
                                 " stripe(s) were rebuilt from parity and are recorded for healing");
    return status;
}

// Checks the range of a get and returns its end.
Result<uint64_t> range_end(std::string_view name, const ObjectRecord& record, uint64_t offset,
                           std::optional<uint64_t> length) {
    if (offset > record.size)
        return make_error(Errc::invalid_input, "offset " + std::to_string(offset) + " is past the end of '" +
                                                   std::string(name) + "' (" + std::to_string(record.size) +
                                                   " bytes)");
    return length ? std::min(record.size, offset + *length) : record.size;
}

// What a view of an object keeps alive: the stripes' shard (or decoded) buffers, or an inline object's bytes.
struct HeldBytes {
    std::vector<StripeData> stripes;
    std::string inline_data;
};

}  // namespace

Status Pool::get(std::string_view name, uint64_t offset, std::optional<uint64_t> length, const ByteSink& sink) {
    TIERCEL_ASSIGN(ObjectRecord record, load_object(*this, name));
    TIERCEL_ASSIGN(uint64_t end, range_end(name, record, offset, length));
    if (record.is_inline) {
        TIERCEL_ASSIGN(std::string plain, inline_bytes(*this, record));
        return sink(std::as_bytes(std::span(plain)).subspan(offset, end - offset));
    }
    return fetch_stripes(*this, name, record, offset, end, [&](StripeData&& data, const Slice& slice) {
        return deliver(data, slice.stripe_id, slice.skip, slice.take, sink);
    });
}

Result<ObjectView> Pool::get_view(std::string_view name, uint64_t offset, std::optional<uint64_t> length) {
    TIERCEL_ASSIGN(ObjectRecord record, load_object(*this, name));
    TIERCEL_ASSIGN(uint64_t end, range_end(name, record, offset, length));
    // The views point into heap buffers that moving a StripeData (or the vector of them) leaves in place; the inline
    // string is filled where it stays, since moving a short string would move its bytes.
    auto held = std::make_shared<HeldBytes>();
    ObjectView view;
    if (record.is_inline) {
        TIERCEL_ASSIGN(held->inline_data, inline_bytes(*this, record));
        if (end > offset)
            view.views.push_back(std::as_bytes(std::span(held->inline_data)).subspan(offset, end - offset));
    } else {
        held->stripes.reserve(record.stripes.size());
        TIERCEL_TRY(fetch_stripes(*this, name, record, offset, end, [&](StripeData&& data, const Slice& slice) {
            held->stripes.push_back(std::move(data));
            auto keep = [&](std::span<const std::byte> bytes) {
                view.views.push_back(bytes);
                return Status{};
            };
            return deliver(held->stripes.back(), slice.stripe_id, slice.skip, slice.take, keep);
        }));
    }
    for (const auto& bytes : view.views)
        view.size += bytes.size();
    view.owner = std::move(held);
    return view;
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
