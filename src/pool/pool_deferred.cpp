// Deferred durability: what a Durability::deferred put or remove leaves for later, and the two metadata-store hooks
// that settle it. Before the store writes queued records it runs sync_unsynced_disks (one syncfs per disk that got
// shards since the last flush), so no record is durable before the shards it names; after the records are durable it
// runs delete_replaced_shards for the changes they made durable.
#include <future>

#include "pool_internal.hpp"
#include "tiercel/core/log.hpp"

namespace tiercel::pool {

namespace {

Status sync_unsynced_disks(Pool& pool, Pool::DeferredWork& work) {
    std::set<uint32_t> disks;
    {
        std::lock_guard lock(work.mu);
        disks.swap(work.unsynced_disks);
    }
    if (disks.empty())
        return {};
    std::vector<std::pair<uint32_t, std::future<Status>>> syncs;
    for (uint32_t id : disks) {
        Pool::Member* member = PoolInternals::member(pool, id);
        if (!member || !member->io)
            continue;
        syncs.emplace_back(id, member->io->submit([member] { return member->disk->sync_all(); }));
    }
    Status result;
    std::set<uint32_t> failed;
    for (auto& [id, sync] : syncs)
        if (Status status = sync.get(); !status) {
            failed.insert(id);
            PoolInternals::member(pool, id)->write_errors++;
            if (result)
                result = status;
        }
    if (!failed.empty()) {
        // Still unsynced: the next flush tries again, and the records wait for it.
        std::lock_guard lock(work.mu);
        work.unsynced_disks.insert(failed.begin(), failed.end());
    }
    return result;
}

void delete_replaced_shards(Pool& pool, Pool::DeferredWork& work, uint64_t durable_sequence) {
    std::vector<std::pair<uint64_t, StripeRecord>> doomed;
    {
        std::lock_guard lock(work.mu);
        auto end = work.deletions.upper_bound(durable_sequence);
        for (auto it = work.deletions.begin(); it != end; ++it)
            doomed.insert(doomed.end(), it->second.begin(), it->second.end());
        work.deletions.erase(work.deletions.begin(), end);
    }
    for (const auto& [id, record] : doomed)
        delete_shards(pool, id, record);
}

}  // namespace

void PoolInternals::install_durability_hooks(Pool& pool) {
    if (!pool.deferred_)
        pool.deferred_ = std::make_unique<Pool::DeferredWork>();
    Pool::DeferredWork* work = pool.deferred_.get();
    pool.meta_->set_before_write([&pool, work] { return sync_unsynced_disks(pool, *work); });
    pool.meta_->set_after_durable([&pool, work](uint64_t sequence) { delete_replaced_shards(pool, *work, sequence); });
}

void PoolInternals::note_unsynced(Pool& pool, const std::vector<uint32_t>& disk_ids) {
    std::lock_guard lock(pool.deferred_->mu);
    pool.deferred_->unsynced_disks.insert(disk_ids.begin(), disk_ids.end());
}

void PoolInternals::delete_when_durable(Pool& pool, uint64_t sequence,
                                        std::vector<std::pair<uint64_t, StripeRecord>> stripes) {
    if (stripes.empty())
        return;
    {
        std::lock_guard lock(pool.deferred_->mu);
        if (pool.meta_->durable_sequence() < sequence) {
            pool.deferred_->deletions.emplace(sequence, std::move(stripes));
            return;
        }
    }
    for (const auto& [id, record] : stripes)  // a flush made it durable while we were getting here
        delete_shards(pool, id, record);
}

Status Pool::sync() { return meta_->flush(); }

}  // namespace tiercel::pool
