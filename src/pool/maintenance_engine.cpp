// The maintenance engine: walks stripe records in id order, in batches; each stripe is checked and repaired or moved
// by a worker (at most `workers` stripes in memory), then the batch's changed stripe records and the progress key
// are committed in one metadata batch, and only then are the shards they no longer name deleted.
#include <algorithm>
#include <chrono>
#include <deque>
#include <future>
#include <thread>

#include "maintenance_internal.hpp"
#include "tiercel/codec/shard_header.hpp"
#include "tiercel/core/log.hpp"

namespace tiercel::pool {
namespace {

using Clock = std::chrono::steady_clock;

struct ShardState {
    std::optional<io::Bytes> bytes;  // read (and then verified: see problem)
    bool bad = false;                // missing, unreadable, offline, or failing a check
    std::string problem;
};

struct StripeOutcome {
    uint64_t id = 0;
    uint32_t logical_length = 0;
    bool visited = false;
    StripeRecord old_record;
    StripeRecord new_record;
    bool record_changed = false;
    bool changed = false;
    std::vector<std::pair<uint32_t, std::string>> delete_after_commit;  // shards the new record no longer names
    std::vector<std::pair<uint32_t, std::string>> written_elsewhere;    // new shard files on other disks
    uint64_t shards_checked = 0, shards_rebuilt = 0, shards_copied = 0, shards_bad = 0;
    std::string unrepairable;
};

std::string verify_bytes(Pool& pool, uint64_t id, uint64_t generation, unsigned index, const io::Bytes& bytes) {
    codec::ByteView view(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    auto header = codec::verify_shard(view);
    if (!header)
        return header.error().message();
    if (Status identity = codec::check_shard_identity(*header, codec::StripeIdentity{pool.uuid(), id, generation}, index);
        !identity)
        return identity.error().message();
    return "";
}

class Engine {
public:
    Engine(Pool& pool, const EngineConfig& config, const MaintenanceOptions& options)
        : pool_(pool), config_(config), options_(options), started_(Clock::now()) {}

    Result<MaintenanceReport> run();

private:
    StripeOutcome process(uint64_t id, const StripeRecord& record, const StripePlan& plan,
                          const std::vector<PlacementCandidate>& candidates);
    void read_and_verify(uint64_t id, const StripeRecord& record, const std::vector<Pool::Member*>& members,
                         std::vector<ShardState>& shards, const std::vector<bool>& wanted, StripeOutcome& out);
    Status commit_batch(std::vector<StripeOutcome>& outcomes, std::optional<uint64_t> progress);
    void throttle();
    bool should_stop();

    Pool& pool_;
    const EngineConfig& config_;
    const MaintenanceOptions& options_;
    Clock::time_point started_;
    std::atomic<uint64_t> io_bytes_{0};
    std::atomic<uint64_t> bytes_read_{0};
    std::atomic<uint64_t> bytes_written_{0};
    uint64_t processed_bytes_ = 0;
    double throttled_seconds_ = 0;
    MaintenanceReport report_;
};

bool Engine::should_stop() {
    if (options_.cancel && options_.cancel->load()) {
        report_.stopped_because = "cancelled";
        return true;
    }
    if (options_.budget_bytes && processed_bytes_ >= options_.budget_bytes) {
        report_.stopped_because = "budget";
        return true;
    }
    if (options_.budget_time.count() > 0 && Clock::now() - started_ >= options_.budget_time) {
        report_.stopped_because = "budget";
        return true;
    }
    return false;
}

void Engine::throttle() {
    if (options_.bandwidth_limit > 0) {
        double allowed = static_cast<double>(io_bytes_.load()) / static_cast<double>(options_.bandwidth_limit);
        double elapsed = std::chrono::duration<double>(Clock::now() - started_).count();
        if (allowed > elapsed) {
            double pause = std::min(allowed - elapsed, 2.0);
            std::this_thread::sleep_for(std::chrono::duration<double>(pause));
            throttled_seconds_ += pause;
        }
    }
    if (options_.max_latency_ms > 0) {
        double worst = 0;
        for (size_t i = 0; i < PoolInternals::member_count(pool_); ++i) {
            Pool::Member* member = PoolInternals::member(pool_, static_cast<uint32_t>(i));
            if (member && member->online)
                worst = std::max(worst, member->latency_ms());
        }
        if (worst > options_.max_latency_ms) {
            // Slow down in proportion to how far the disks are above the limit, at most a second per stripe.
            double pause = std::min(1.0, 0.02 * worst / options_.max_latency_ms);
            std::this_thread::sleep_for(std::chrono::duration<double>(pause));
            throttled_seconds_ += pause;
        }
    }
}

void Engine::read_and_verify(uint64_t id, const StripeRecord& record, const std::vector<Pool::Member*>& members,
                             std::vector<ShardState>& shards, const std::vector<bool>& wanted, StripeOutcome& out) {
    std::vector<std::pair<unsigned, std::future<Result<io::Bytes>>>> pending;
    for (unsigned i = 0; i < shards.size(); ++i) {
        if (!wanted[i] || shards[i].bad || shards[i].bytes)
            continue;
        Pool::Member* member = members[i];
        std::string path = shard_path(id, record.generation, i);
        pending.emplace_back(i, member->io->submit([member, path]() -> Result<io::Bytes> {
            auto began = Clock::now();
            auto bytes = member->disk->read_file(path);
            member->record_latency(std::chrono::duration<double, std::milli>(Clock::now() - began).count());
            return bytes;
        }));
    }
    for (auto& [index, future] : pending) {
        auto bytes = future.get();
        out.shards_checked++;
        ShardState& shard = shards[index];
        if (!bytes) {
            shard.bad = true;
            shard.problem = bytes.error().code() == Errc::not_found ? "missing" : bytes.error().describe();
            if (bytes.error().code() != Errc::not_found)
                members[index]->read_errors++;
            continue;
        }
        bytes_read_ += bytes->size();
        io_bytes_ += bytes->size();
        shard.problem = verify_bytes(pool_, id, record.generation, index, *bytes);
        if (!shard.problem.empty()) {
            shard.bad = true;
            members[index]->checksum_errors++;
            continue;
        }
        shard.bytes = std::move(*bytes);
    }
}

StripeOutcome Engine::process(uint64_t id, const StripeRecord& record, const StripePlan& plan,
                              const std::vector<PlacementCandidate>& candidates) {
    StripeOutcome out;
    out.id = id;
    out.logical_length = record.logical_length;
    out.visited = true;
    out.old_record = record;
    out.new_record = record;
    const unsigned n = static_cast<unsigned>(record.shard_disks.size());
    std::vector<Pool::Member*> members(n);
    std::vector<ShardState> shards(n);
    std::vector<bool> leave(n, false);
    std::vector<std::optional<uint32_t>> destination(n);
    for (unsigned i = 0; i < n; ++i) {
        members[i] = PoolInternals::member(pool_, record.shard_disks[i]);
        bool online = members[i] && members[i]->online && members[i]->disk;
        if (!online) {
            shards[i].bad = true;
            shards[i].problem = members[i] ? members[i]->name() + " offline" : "unknown disk";
        }
        if (auto found = plan.relocate.find(i); found != plan.relocate.end()) {
            leave[i] = true;
            destination[i] = found->second;
        } else if (config_.move_off_unusable && (!online || members[i]->record.state == DiskState::retired)) {
            leave[i] = true;
        }
    }
    std::vector<bool> all(n, true);
    if (config_.verify_all) {
        read_and_verify(id, record, members, shards, all, out);
    } else if (config_.check_exists) {
        std::vector<std::pair<unsigned, std::future<Result<bool>>>> pending;
        for (unsigned i = 0; i < n; ++i) {
            if (shards[i].bad || leave[i])
                continue;
            Pool::Member* member = members[i];
            std::string path = shard_path(id, record.generation, i);
            pending.emplace_back(i, member->io->submit([member, path] { return member->disk->exists(path); }));
        }
        for (auto& [index, future] : pending) {
            auto exists = future.get();
            out.shards_checked++;
            if (!exists || !*exists) {
                shards[index].bad = true;
                shards[index].problem = exists ? "missing" : exists.error().describe();
            }
        }
    }
    // A bad shard on a disk that takes no new shards (draining, retired) is rebuilt elsewhere, not in place.
    for (unsigned i = 0; i < n; ++i)
        if (shards[i].bad && !leave[i] && !usable_for_writes(members[i]))
            leave[i] = true;
    for (unsigned i = 0; i < n; ++i)
        if (shards[i].bad)
            out.shards_bad++;
    std::vector<bool> needs(n);
    bool any = false;
    for (unsigned i = 0; i < n; ++i) {
        needs[i] = leave[i] || shards[i].bad;
        any = any || needs[i];
    }
    if (!any)
        return out;

    // A shard that moves is copied when its own bytes verify, rebuilt otherwise.
    read_and_verify(id, record, members, shards, leave, out);
    codec::ShardMask wanted = 0;
    for (unsigned i = 0; i < n; ++i)
        if (needs[i] && shards[i].bad)
            wanted |= codec::shard_bit(i);
    std::map<unsigned, io::Bytes> fresh;
    if (wanted) {
        // Read just enough shards for k good ones; the rest only when some of those fail their checks.
        for (;;) {
            unsigned good_or_pending = 0;
            std::vector<bool> next(n, false);
            for (unsigned i = 0; i < n; ++i) {
                if (shards[i].bad)
                    continue;
                if (!shards[i].bytes && good_or_pending < static_cast<unsigned>(record.k))
                    next[i] = true;
                if (shards[i].bytes || next[i])
                    good_or_pending++;
            }
            if (std::none_of(next.begin(), next.end(), [](bool b) { return b; }))
                break;
            read_and_verify(id, record, members, shards, next, out);
        }
        std::vector<codec::ByteView> views(n);
        unsigned good = 0;
        for (unsigned i = 0; i < n; ++i)
            if (shards[i].bytes && !shards[i].bad) {
                views[i] = codec::ByteView(reinterpret_cast<const uint8_t*>(shards[i].bytes->data()),
                                           shards[i].bytes->size());
                good++;
            }
        auto rebuilt = PoolInternals::codec(pool_)->rebuild(codec::StripeIdentity{pool_.uuid(), id, record.generation},
                                                            views, wanted);
        if (!rebuilt) {
            out.unrepairable = "stripe " + std::to_string(id) + ": " + std::to_string(good) + " good shards of " +
                               std::to_string(n) + ": " + rebuilt.error().message();
            for (unsigned i = 0; i < n; ++i)
                if (shards[i].bad)
                    out.unrepairable += "; shard " + std::to_string(i) + ": " + shards[i].problem;
            return out;
        }
        for (auto& shard : rebuilt->shards) {
            auto* begin = reinterpret_cast<const std::byte*>(shard.encoded.data());
            fresh[shard.index] = io::Bytes(begin, begin + shard.encoded.size());
            out.shards_rebuilt++;
        }
    }
    for (unsigned i = 0; i < n; ++i)
        if (needs[i] && !shards[i].bad) {
            fresh[i] = std::move(*shards[i].bytes);
            out.shards_copied++;
        }

    // Where each changed shard goes: its own disk, the disk the plan names, or a placement that avoids the disks
    // (and failure domains) of every other shard of the stripe.
    std::set<uint32_t> taken(record.shard_disks.begin(), record.shard_disks.end());
    std::vector<uint32_t> target(n);
    for (unsigned i = 0; i < n; ++i) {
        if (!needs[i])
            continue;
        if (!leave[i]) {
            target[i] = record.shard_disks[i];
            continue;
        }
        if (destination[i] && !taken.count(*destination[i]) &&
            usable_for_writes(PoolInternals::member(pool_, *destination[i]))) {
            target[i] = *destination[i];
        } else {
            std::vector<uint32_t> staying;
            for (unsigned j = 0; j < n; ++j)
                if (j != i)
                    staying.push_back(out.new_record.shard_disks[j]);
            std::set<uint32_t> exclude = same_domain_disks(pool_, staying);
            exclude.insert(taken.begin(), taken.end());
            auto placed = place_stripe(id, candidates, 1, exclude);
            if (!placed) {
                // The other shards are still repaired; this one stays where it is until a disk can take it.
                out.unrepairable += std::string(out.unrepairable.empty() ? "" : "; ") + "stripe " +
                                    std::to_string(id) + ": no usable disk can take shard " + std::to_string(i) +
                                    " (" + (members[i] ? members[i]->name() : "unknown disk") +
                                    "): every other usable disk already holds a shard of this stripe or shares its "
                                    "failure domain; add a disk or 'pool replace' the lost one";
                needs[i] = false;
                fresh.erase(i);
                continue;
            }
            target[i] = placed->shard_disks[0];
        }
        taken.insert(target[i]);
        out.new_record.shard_disks[i] = target[i];
    }

    std::vector<std::pair<unsigned, std::future<Status>>> writes;
    for (auto& [index, bytes] : fresh) {
        Pool::Member* member = PoolInternals::member(pool_, target[index]);
        std::string path = shard_path(id, record.generation, index);
        const io::Bytes* data = &bytes;
        writes.emplace_back(index, member->io->submit([member, path, data] {
            Status status = member->disk->write_file(path, io::ByteSpan(*data), true);
            if (!status)
                member->write_errors++;
            return status;
        }));
    }
    std::string failure;
    for (auto& [index, future] : writes) {
        Status status = future.get();
        if (!status) {
            if (failure.empty())
                failure = "stripe " + std::to_string(id) + ": writing shard " + std::to_string(index) + ": " +
                          status.error().describe();
            continue;
        }
        bytes_written_ += fresh[index].size();
        io_bytes_ += fresh[index].size();
        if (target[index] != record.shard_disks[index])
            out.written_elsewhere.emplace_back(target[index], shard_path(id, record.generation, index));
    }
    if (!failure.empty()) {
        // The committed record still names the old shards: remove the copies nothing will name.
        for (auto& [disk, path] : out.written_elsewhere)
            (void)PoolInternals::member(pool_, disk)->disk->remove(path);
        out.written_elsewhere.clear();
        out.unrepairable += std::string(out.unrepairable.empty() ? "" : "; ") + failure;
        out.shards_rebuilt = out.shards_copied = 0;
        return out;
    }
    out.changed = !fresh.empty();
    for (unsigned i = 0; i < n; ++i) {
        if (out.new_record.shard_disks[i] == record.shard_disks[i])
            continue;
        out.record_changed = true;
        Pool::Member* old_member = members[i];
        if (old_member && old_member->online)
            out.delete_after_commit.emplace_back(record.shard_disks[i], shard_path(id, record.generation, i));
    }
    return out;
}

Status Engine::commit_batch(std::vector<StripeOutcome>& outcomes, std::optional<uint64_t> progress) {
    MetaBatch batch;
    std::vector<StripeOutcome*> committed;
    for (auto& outcome : outcomes) {
        if (!outcome.record_changed)
            continue;
        // Only if the stripe still is what this run read (no put or remove replaced it meanwhile).
        auto current = pool_.meta().get(stripe_key(outcome.id));
        if (!current || *current != encode_stripe(outcome.old_record)) {
            for (auto& [disk, path] : outcome.written_elsewhere)
                (void)PoolInternals::member(pool_, disk)->disk->remove(path);
            outcome.changed = false;
            continue;
        }
        batch.put(stripe_key(outcome.id), encode_stripe(outcome.new_record));
        committed.push_back(&outcome);
    }
    if (config_.resumable && progress)
        batch.put(maintenance_key(config_.operation), encode_u64(*progress));
    if (!batch.empty())
        TIERCEL_TRY(pool_.meta().commit(batch));
    for (StripeOutcome* outcome : committed)
        for (auto& [disk, path] : outcome->delete_after_commit)
            (void)PoolInternals::member(pool_, disk)->disk->remove(path);
    return {};
}

Result<MaintenanceReport> Engine::run() {
    report_.operation = config_.display;
    const std::string key = maintenance_key(config_.operation);
    uint64_t from = 0;
    if (config_.resumable && !options_.restart)
        if (auto saved = pool_.meta().get(key)) {
            report_.resumed_after = decode_u64(*saved);
            from = *report_.resumed_after + 1;
        }
    const std::string end_key(1, static_cast<char>(kStripePrefix[0] + 1));  // "t": just past every "s/" key

    MaintenanceProgress progress;
    progress.operation = config_.display;
    pool_.meta().range(std::string(kStripePrefix), end_key, [&](std::string_view key_view, std::string_view value) {
        uint64_t id = stripe_id_from_key(key_view);
        if (id < from) {
            report_.stripes_skipped++;
            return true;
        }
        progress.stripes_total++;
        if (value.size() >= 13)  // version u8, generation u64, then the logical length
            progress.total_bytes += decode_u64(value.substr(9, 4));
        return true;
    });
    report_.stripes_total = progress.stripes_total;

    TaskPool workers("maint", std::max(1u, options_.workers));
    bool stopped = false;
    while (!stopped) {
        std::vector<std::pair<uint64_t, std::string>> batch;
        pool_.meta().range(stripe_key(from), end_key, [&](std::string_view key_view, std::string_view value) {
            batch.emplace_back(stripe_id_from_key(key_view), std::string(value));
            return batch.size() < std::max(1u, options_.batch_stripes);
        });
        if (batch.empty())
            break;
        auto candidates = PoolInternals::placement_candidates(pool_);
        std::deque<std::future<StripeOutcome>> inflight;
        std::vector<StripeOutcome> outcomes;
        auto collect = [&] {
            outcomes.push_back(inflight.front().get());
            inflight.pop_front();
            const StripeOutcome& done = outcomes.back();
            if (done.visited)
                processed_bytes_ += done.logical_length;
            progress.done_bytes += done.logical_length;
            progress.stripes_done++;
            if (options_.on_progress)
                options_.on_progress(progress);
        };
        const auto batch_started = Clock::now();
        for (auto& [id, value] : batch) {
            if (!outcomes.empty() || !inflight.empty())
                if (Clock::now() - batch_started >= options_.commit_interval) {
                    // Commit what is done now (resume granularity in time); the rest goes into the next batch.
                    break;
                }
            if (should_stop()) {
                stopped = true;
                break;
            }
            auto record = decode_stripe(value, stripe_key(id));
            std::promise<StripeOutcome> immediate;
            if (!record) {
                StripeOutcome bad;
                bad.id = id;
                bad.unrepairable = record.error().message();
                immediate.set_value(std::move(bad));
                inflight.push_back(immediate.get_future());
                continue;
            }
            StripePlan plan = config_.plan ? config_.plan(id, *record) : StripePlan{true, {}};
            if (!plan.visit) {
                StripeOutcome skipped;
                skipped.id = id;
                skipped.logical_length = record->logical_length;
                immediate.set_value(std::move(skipped));
                inflight.push_back(immediate.get_future());
                continue;
            }
            throttle();
            while (inflight.size() >= std::max(1u, options_.workers))
                collect();
            inflight.push_back(workers.submit([this, id = id, rec = *record, plan = std::move(plan), &candidates] {
                return process(id, rec, plan, candidates);
            }));
        }
        while (!inflight.empty())
            collect();
        if (outcomes.empty())
            break;
        std::optional<uint64_t> last = outcomes.back().id;
        TIERCEL_TRY(commit_batch(outcomes, last));
        for (const auto& outcome : outcomes) {
            if (outcome.visited)
                report_.stripes_checked++;
            report_.shards_checked += outcome.shards_checked;
            report_.shards_bad += outcome.shards_bad;
            if (!outcome.unrepairable.empty())
                report_.unrepairable.push_back(outcome.unrepairable);
            if (outcome.changed) {
                report_.stripes_changed++;
                report_.shards_rebuilt += outcome.shards_rebuilt;
                report_.shards_copied += outcome.shards_copied;
            }
            if (outcome.visited && outcome.unrepairable.empty())
                PoolInternals::forget_degraded(pool_, outcome.id);
        }
        if (options_.after_batch)
            options_.after_batch(*last);
        from = *last + 1;
    }
    report_.complete = !stopped;
    if (report_.complete)
        report_.stopped_because.clear();
    if (report_.complete && config_.resumable && pool_.meta().get(key)) {
        MetaBatch done;
        done.remove(key);
        TIERCEL_TRY(pool_.meta().commit(done));
    }
    report_.bytes_read = bytes_read_;
    report_.bytes_written = bytes_written_;
    report_.throttled_seconds = throttled_seconds_;
    report_.seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    return report_;
}

}  // namespace

std::string maintenance_key(std::string_view operation) { return std::string(kMaintenancePrefix) + std::string(operation); }

Result<MaintenanceReport> run_engine(Pool& pool, const EngineConfig& config, const MaintenanceOptions& options) {
    Engine engine(pool, config, options);
    return engine.run();
}

}  // namespace tiercel::pool
