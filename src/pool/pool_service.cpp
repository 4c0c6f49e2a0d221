#include "tiercel/pool/pool_service.hpp"

#include "tiercel/core/log.hpp"

namespace tiercel::pool {

Status PoolService::start() {
    const PoolConfig& config = daemon_.config().pool;
    if (!config.configured) {
        log::info("pool", "no [pool] section: the pool service is idle");
        return {};
    }
    TIERCEL_ASSIGN(handle_, open_configured_pool(config, PoolOpenMode::open));
    jobs_ = std::make_unique<MaintenanceJobs>(handle_->pool(), gate_);
    PoolStatus status = handle_->pool().status();
    log::notice("pool", "opened pool '" + status.name + "': " + std::to_string(status.objects) + " objects, " +
                            std::to_string(status.stripes_degraded) + " degraded and " +
                            std::to_string(status.stripes_lost) + " lost stripes");
    return {};
}

void PoolService::stop() {
    jobs_.reset();  // cancels the running job and waits for its progress commit
    handle_.reset();
}

Result<PoolAccess> PoolService::access() {
    if (!handle_)
        return Error(Errc::not_found, "no pool is configured ([pool] in the config)");
    return PoolAccess{std::shared_lock(gate_), &handle_->pool()};
}

Result<PoolAccess> PoolService::try_access() {
    if (!handle_)
        return Error(Errc::not_found, "no pool is configured ([pool] in the config)");
    std::shared_lock lock(gate_, std::try_to_lock);
    if (!lock.owns_lock()) {
        auto job = jobs_ ? jobs_->running() : std::nullopt;
        return Error(Errc::busy, job ? "the pool is held by maintenance job " + std::to_string(job->id) + " (" +
                                           job->operation + " " + job->target + "); try again when it finishes"
                                     : std::string("the pool is held by a maintenance job; try again shortly"));
    }
    return PoolAccess{std::move(lock), &handle_->pool()};
}

}  // namespace tiercel::pool
