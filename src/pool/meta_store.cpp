// MetaStore: reads, group commit and log rollover. Opening is in meta_open.cpp, scrub and repair in
// meta_maintenance.cpp.
#include "tiercel/pool/meta_store.hpp"

#include "tiercel/pool/meta_parallel.hpp"
#include "tiercel/pool/meta_replica.hpp"

namespace tiercel::pool {

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
    out.checkpoint_bytes = checkpoint_bytes_.load();
    return out;
}

std::vector<ReplicaHealth> MetaStore::replicas() const {
    std::lock_guard lock(write_mu_);
    std::vector<ReplicaHealth> out;
    for (const auto& replica : replicas_)
        out.push_back({replica.disk->name(), replica.healthy, replica.stale_reason});
    return out;
}

// ---- commits
//
// A commit applies its batch to the map and appends its record to `unwritten_` under state_mu_, so the order of
// sequence numbers, of the map's changes and of the records in the log is one order. Writing is separate: whoever
// holds write_mu_ next writes every queued record in one round (group commit without a leader queue).

std::uint64_t MetaStore::durable_sequence() const { return durable_sequence_.load(); }

void MetaStore::set_before_write(std::function<Status()> hook) {
    std::lock_guard write_lock(write_mu_);
    before_write_ = std::move(hook);
}

void MetaStore::set_after_durable(std::function<void(std::uint64_t)> hook) {
    std::lock_guard write_lock(write_mu_);
    after_durable_ = std::move(hook);
}

Result<std::uint64_t> MetaStore::commit_deferred(const MetaBatch& batch) {
    if (batch.empty())
        return last_sequence();
    std::shared_lock admission(admission_mu_);
    if (degraded_.load()) {
        std::lock_guard write_lock(write_mu_);
        if (auto refused = refuse_if_degraded())
            return *refused;
    }
    std::unique_lock lock(state_mu_);
    const std::uint64_t sequence = last_sequence_.load() + 1;
    auto applied = apply_batch(batch.encoded(), "commit", state_);
    (void)applied;  // MetaBatch builds only well-formed encodings
    meta::append_record(unwritten_, sequence, batch.encoded());
    last_sequence_.store(sequence);
    commits_.fetch_add(1);
    return sequence;
}

Result<std::uint64_t> MetaStore::commit(const MetaBatch& batch) {
    if (batch.empty())
        return last_sequence();
    TIERCEL_ASSIGN(std::uint64_t sequence, commit_deferred(batch));
    TIERCEL_TRY(flush_through(sequence));
    maybe_checkpoint();
    return sequence;
}

Status MetaStore::flush() {
    TIERCEL_TRY(flush_through(last_sequence()));
    maybe_checkpoint();
    return {};
}

Status MetaStore::flush_through(std::uint64_t sequence) {
    std::lock_guard write_lock(write_mu_);
    return flush_locked(sequence);
}

Status MetaStore::flush_locked(std::uint64_t sequence) {
    if (durable_sequence_.load() >= sequence) {
        // Written by someone else's round; that round's failure, if it covered this record, is this caller's too.
        if (failed_round_.error && sequence >= failed_round_.first && sequence <= failed_round_.last)
            return *failed_round_.error;
        return {};
    }
    if (auto refused = refuse_if_degraded())
        return *refused;
    std::string records;
    std::uint64_t first = 0, last = 0;
    {
        std::unique_lock lock(state_mu_);
        records.swap(unwritten_);
        first = durable_sequence_.load() + 1;
        last = last_sequence_.load();
    }
    auto put_back = [&] {
        std::unique_lock lock(state_mu_);
        records += unwritten_;
        unwritten_.swap(records);
    };
    if (before_write_) {
        if (Status ready = before_write_(); !ready) {
            put_back();
            return ready.error().context("making the data of metadata sequences " + std::to_string(first) + ".." +
                                         std::to_string(last) + " durable");
        }
    }
    Status written = write_records(records, first, last);
    if (durable_sequence_.load() < last)
        put_back();  // it reached no replica: every replica is stale now, and repair rewrites them from memory
    else if (after_durable_)
        after_durable_(last);
    return written;  // `sequence` <= last: the caller's record was in this round
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

void MetaStore::publish_health() { degraded_.store(refuse_if_degraded().has_value()); }

void MetaStore::mark_stale(Replica& replica, const Error& why) {
    replica.healthy = false;
    replica.stale_reason = why.describe();
    publish_health();
}

Status MetaStore::write_records(const std::string& records, std::uint64_t first, std::uint64_t last) {
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
    if (!durable_on.empty())
        durable_sequence_.store(last);
    std::uint64_t largest_log = 0;
    for (const auto& replica : replicas_)
        if (replica.healthy)
            largest_log = std::max(largest_log, replica.log_size);
    log_bytes_.store(largest_log);

    if (failures.empty())
        return {};
    failed_rounds_.fetch_add(1);
    const std::string fate = durable_on.empty()
                                 ? "it reached no replica"
                                 : "it is durable on " + durable_on + ", but not on every replica";
    const Error error = make_error(Errc::io_error, "metadata commit of sequences " + std::to_string(first) + ".." +
                                                       std::to_string(last) + " not acknowledged: " + failures +
                                                       "; " + fate + "; the failed replicas are now stale");
    failed_round_ = {first, last, error};
    return error;
}

Status MetaStore::settle_locked() {
    if (durable_sequence_.load() >= last_sequence_.load())
        return {};
    if (flush_locked(last_sequence_.load()))
        return {};
    return before_write_ ? before_write_() : Status{};
}

void MetaStore::memory_is_durable() {
    std::unique_lock lock(state_mu_);
    unwritten_.clear();
    durable_sequence_.store(last_sequence_.load());
}

// ---- rollover

void MetaStore::maybe_checkpoint() {
    const std::uint64_t threshold =
        std::max(options_.checkpoint_min_log_bytes, options_.checkpoint_growth_factor * checkpoint_bytes_.load());
    if (log_bytes_.load() <= threshold)
        return;
    // A failure marks the replica stale (the next commit says so); the commits already acknowledged stay durable.
    (void)checkpoint();
}

Status MetaStore::checkpoint() {
    std::unique_lock admission(admission_mu_);
    std::lock_guard write_lock(write_mu_);
    // The checkpoint carries the whole map: the queued records must be written (and their data durable) first.
    TIERCEL_TRY(flush_locked(last_sequence_.load()));
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
