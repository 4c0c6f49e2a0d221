// MetaStore: reads, group commit and log rollover. Opening is in meta_open.cpp, scrub and repair in
// meta_maintenance.cpp.
#include "tiercel/pool/meta_store.hpp"

#include "tiercel/pool/meta_parallel.hpp"
#include "tiercel/pool/meta_replica.hpp"

namespace tiercel::pool {

// One caller of commit() waiting in the group-commit queue; lives on that caller's stack.
struct MetaStore::Writer {
    const MetaBatch* batch = nullptr;
    Result<std::uint64_t> result{std::uint64_t{0}};
    bool done = false;
    std::condition_variable wake;
};

MetaStore::MetaStore(const PoolUuid& pool, std::size_t required, MetaStoreOptions options)
    : pool_(pool), required_(required), options_(options) {}

MetaStore::~MetaStore() = default;

// ---- reads

std::optional<std::string> MetaStore::get(std::string_view key) const {
    std::shared_lock lock(state_mu_);
    auto it = state_.find(key);
    if (it == state_.end())
        return std::nullopt;
    return it->second;
}

void MetaStore::scan(std::string_view prefix, const MetaVisitor& visit) const {
    std::shared_lock lock(state_mu_);
    for (auto it = state_.lower_bound(prefix); it != state_.end() && it->first.starts_with(prefix); ++it)
        if (!visit(it->first, it->second))
            return;
}

void MetaStore::range(std::string_view from, std::string_view to, const MetaVisitor& visit) const {
    std::shared_lock lock(state_mu_);
    for (auto it = state_.lower_bound(from); it != state_.end(); ++it) {
        if (!to.empty() && !(std::string_view(it->first) < to))
            return;
        if (!visit(it->first, it->second))
            return;
    }
}

std::size_t MetaStore::size() const {
    std::shared_lock lock(state_mu_);
    return state_.size();
}

std::uint64_t MetaStore::last_sequence() const { return last_sequence_.load(); }

MetaStats MetaStore::stats() const {
    MetaStats out;
    out.commits = commits_.load();
    out.sync_rounds = sync_rounds_.load();
    out.failed_rounds = failed_rounds_.load();
    out.checkpoints = checkpoints_.load();
    out.log_bytes = log_bytes_.load();
    std::lock_guard lock(write_mu_);
    out.checkpoint_bytes = checkpoint_bytes_;
    return out;
}

std::vector<ReplicaHealth> MetaStore::replicas() const {
    std::lock_guard lock(write_mu_);
    std::vector<ReplicaHealth> out;
    for (const auto& replica : replicas_)
        out.push_back({replica.disk->name(), replica.healthy, replica.stale_reason});
    return out;
}

// ---- group commit

Result<std::uint64_t> MetaStore::commit(const MetaBatch& batch) {
    if (batch.empty())
        return last_sequence();
    Writer self;
    self.batch = &batch;
    std::unique_lock queue_lock(queue_mu_);
    queue_.push_back(&self);
    self.wake.wait(queue_lock, [&] { return self.done || queue_.front() == &self; });
    if (self.done)
        return std::move(self.result);

    // This caller leads: it takes every queued batch (up to the byte cap) into one round.
    std::vector<Writer*> group;
    std::size_t group_bytes = 0;
    for (Writer* writer : queue_) {
        const std::size_t bytes = writer->batch->encoded().size() + meta::kRecordHeaderSize;
        if (!group.empty() && group_bytes + bytes > options_.max_group_bytes)
            break;
        group.push_back(writer);
        group_bytes += bytes;
    }
    queue_lock.unlock();

    std::lock_guard write_lock(write_mu_);
    run_round(group);
    queue_lock.lock();
    for (Writer* writer : group) {
        queue_.pop_front();
        writer->done = true;
        if (writer != &self)
            writer->wake.notify_one();  // under queue_mu_: the waiter cannot return and free itself before we let go
    }
    if (!queue_.empty())
        queue_.front()->wake.notify_one();
    queue_lock.unlock();
    // The waiters are already answered; the next leader waits on write_mu_ until the rollover is done.
    maybe_checkpoint();
    return std::move(self.result);
}

std::optional<Error> MetaStore::refuse_if_degraded() const {
    std::size_t healthy = 0;
    std::string stale;
    for (const auto& replica : replicas_) {
        if (replica.healthy) {
            ++healthy;
            continue;
        }
        stale += (stale.empty() ? "" : "; ") + replica.disk->name() + " (" + replica.stale_reason + ")";
    }
    if (healthy >= required_ && healthy > 0)
        return std::nullopt;
    return make_error(Errc::unavailable, "metadata commit refused: " + std::to_string(healthy) + " healthy replicas, " +
                                             std::to_string(required_) + " required; stale: " + stale +
                                             "; replace or repair the stale replicas first");
}

void MetaStore::mark_stale(Replica& replica, const Error& why) {
    replica.healthy = false;
    replica.stale_reason = why.describe();
}

void MetaStore::run_round(const std::vector<Writer*>& group) {
    if (auto refused = refuse_if_degraded()) {
        for (Writer* writer : group)
            writer->result = *refused;
        return;
    }
    const std::uint64_t first = last_sequence_.load() + 1;
    std::string records;
    for (std::size_t i = 0; i < group.size(); ++i)
        meta::append_record(records, first + i, group[i]->batch->encoded());
    const std::uint64_t last = first + group.size() - 1;

    std::vector<Replica*> targets;
    for (auto& replica : replicas_)
        if (replica.healthy)
            targets.push_back(&replica);
    std::vector<Status> outcomes(targets.size());
    meta::run_parallel(targets.size(), [&](std::size_t i) {
        Replica& replica = *targets[i];
        // write_at, not append: the record lands exactly after the last record we know is valid.
        auto written = replica.disk->write_at(replica.log_path, replica.log_size, as_byte_view(records));
        if (written.ok())
            written = replica.disk->sync_file(replica.log_path);
        outcomes[i] = std::move(written);
    });
    sync_rounds_.fetch_add(1);

    std::string failures;
    std::string durable_on;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        Replica& replica = *targets[i];
        if (outcomes[i].ok()) {
            replica.log_size += records.size();
            durable_on += (durable_on.empty() ? "" : ", ") + replica.disk->name();
            continue;
        }
        const Error why = outcomes[i].error().context("appending sequences " + std::to_string(first) + ".." +
                                                      std::to_string(last) + " to " + replica.log_path);
        mark_stale(replica, why);
        failures += (failures.empty() ? "" : "; ") + replica.disk->name() + ": " + why.describe();
    }

    if (!durable_on.empty()) {
        // Applied even when some replica failed: the records are durable on the others and recovery would bring them
        // back, so leaving them out of memory would only make memory and disk disagree.
        std::unique_lock lock(state_mu_);
        for (Writer* writer : group) {
            auto applied = apply_batch(writer->batch->encoded(), "commit", state_);
            (void)applied;  // MetaBatch builds only well-formed encodings
        }
        last_sequence_.store(last);
    }
    std::uint64_t largest_log = 0;
    for (const auto& replica : replicas_)
        if (replica.healthy)
            largest_log = std::max(largest_log, replica.log_size);
    log_bytes_.store(largest_log);

    if (failures.empty()) {
        for (std::size_t i = 0; i < group.size(); ++i)
            group[i]->result = first + i;
        commits_.fetch_add(group.size());
        return;
    }
    failed_rounds_.fetch_add(1);
    const std::string fate = durable_on.empty()
                                 ? "it reached no replica and was not applied"
                                 : "it is durable on " + durable_on + " and applied, but not on every replica";
    const Error error = make_error(Errc::io_error, "metadata commit of sequences " + std::to_string(first) + ".." +
                                                       std::to_string(last) + " not acknowledged: " + failures +
                                                       "; " + fate + "; the failed replicas are now stale");
    for (Writer* writer : group)
        writer->result = error;
}

// ---- rollover

void MetaStore::maybe_checkpoint() {
    const std::uint64_t threshold =
        std::max(options_.checkpoint_min_log_bytes, options_.checkpoint_growth_factor * checkpoint_bytes_);
    if (log_bytes_.load() <= threshold)
        return;
    // A failure marks the replica stale (the next commit says so); the commits already acknowledged stay durable.
    (void)checkpoint_locked();
}

Status MetaStore::checkpoint() {
    std::lock_guard write_lock(write_mu_);
    return checkpoint_locked();
}

Status MetaStore::checkpoint_locked() {
    std::string encoded;
    std::uint64_t sequence = 0;
    {
        std::shared_lock lock(state_mu_);
        sequence = last_sequence_.load();
        encoded = meta::encode_checkpoint(pool_, sequence, state_);
    }
    std::vector<Replica*> targets;
    for (auto& replica : replicas_)
        if (replica.healthy && replica.log_path != meta::log_path(sequence))
            targets.push_back(&replica);
    std::vector<Status> outcomes(targets.size());
    meta::run_parallel(targets.size(), [&](std::size_t i) {
        outcomes[i] = meta::write_fresh_replica(*targets[i]->disk, pool_, sequence, encoded);
    });
    Status first_failure;
    std::uint64_t largest_log = 0;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        Replica& replica = *targets[i];
        if (!outcomes[i].ok()) {
            // Its files may now end at the new checkpoint with no log after it: appending to the old log would be
            // invisible to recovery, so the replica takes no more commits until it is repaired or replaced.
            mark_stale(replica, outcomes[i].error().context("checkpoint at sequence " + std::to_string(sequence)));
            if (first_failure.ok())
                first_failure = outcomes[i].error();
            continue;
        }
        replica.log_path = meta::log_path(sequence);
        replica.log_size = meta::kFileHeaderSize;
    }
    for (const auto& replica : replicas_)
        if (replica.healthy)
            largest_log = std::max(largest_log, replica.log_size);
    log_bytes_.store(largest_log);
    checkpoint_bytes_ = encoded.size();
    checkpoints_.fetch_add(1);
    return first_failure;
}

}  // namespace tiercel::pool
