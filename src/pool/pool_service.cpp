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
    PoolStatus status = handle_->pool().status();
    log::notice("pool", "opened pool '" + status.name + "': " + std::to_string(status.objects) + " objects, " +
                            std::to_string(status.stripes_degraded) + " degraded and " +
                            std::to_string(status.stripes_lost) + " lost stripes");
    return {};
}

void PoolService::stop() { handle_.reset(); }

}  // namespace tiercel::pool
