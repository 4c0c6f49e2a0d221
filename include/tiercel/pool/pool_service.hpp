// Contract: the pool as a daemon service. When the config has a [pool] section, start() opens it (taking its
// exclusive lock, so offline CLI commands are refused while the daemon runs and go through the API instead) and
// stop() cancels the running maintenance job and closes it. A pool that cannot be opened fails the daemon's start
// with the reason.
// Access: every user of the pool inside the daemon holds the gate shared while it uses pool() (access() or
// try_access()); maintenance jobs that change the member list hold it exclusively (maintenance_jobs.hpp). Code on the
// core loop must use try_access(), which never blocks: it fails with Errc::busy while such a job runs.
#pragma once

#include <memory>
#include <shared_mutex>

#include "tiercel/core/daemon.hpp"
#include "tiercel/core/service.hpp"
#include "tiercel/pool/maintenance_jobs.hpp"
#include "tiercel/pool/pool_gate.hpp"
#include "tiercel/pool/pool_from_config.hpp"

namespace tiercel::pool {

// Shared use of the pool for as long as the object lives.
struct PoolAccess {
    std::shared_lock<std::shared_mutex> lock;
    Pool* pool = nullptr;
    Pool* operator->() const { return pool; }
    Pool& operator*() const { return *pool; }
};

class PoolService : public Service {
public:
    explicit PoolService(Daemon& daemon) : daemon_(daemon) {}
    std::string_view name() const override { return "pool"; }
    Status start() override;
    void stop() override;

    bool configured() const { return handle_ != nullptr; }
    // Blocks while an exclusive maintenance step runs. Errc::not_found when no pool is configured.
    Result<PoolAccess> access();
    // Never blocks: Errc::busy naming the job that holds the pool exclusively.
    Result<PoolAccess> try_access();
    MaintenanceJobs* jobs() { return jobs_.get(); }
    // For long-lived users that keep a Pool& and call it from their own threads (FUSE, HSM pool targets).
    PoolGate gate() { return PoolGate(gate_); }

    // Unsynchronised: for code that already holds access.
    Pool* pool() { return handle_ ? &handle_->pool() : nullptr; }

private:
    Daemon& daemon_;
    std::unique_ptr<PoolHandle> handle_;
    std::shared_mutex gate_;
    std::unique_ptr<MaintenanceJobs> jobs_;
};

}  // namespace tiercel::pool
