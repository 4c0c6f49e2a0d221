// Contract: the pool as a daemon service. When the config has a [pool] section, start() opens it (taking its
// exclusive lock, so offline CLI commands are refused while the daemon runs) and stop() closes it. A pool that
// cannot be opened fails the daemon's start with the reason. Thread-safe access goes through pool(); nullptr when
// no pool is configured.
#pragma once

#include <memory>

#include "tiercel/core/daemon.hpp"
#include "tiercel/core/service.hpp"
#include "tiercel/pool/pool_from_config.hpp"

namespace tiercel::pool {

class PoolService : public Service {
public:
    explicit PoolService(Daemon& daemon) : daemon_(daemon) {}
    std::string_view name() const override { return "pool"; }
    Status start() override;
    void stop() override;

    Pool* pool() { return handle_ ? &handle_->pool() : nullptr; }

private:
    Daemon& daemon_;
    std::unique_ptr<PoolHandle> handle_;
};

}  // namespace tiercel::pool
