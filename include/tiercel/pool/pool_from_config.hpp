// Contract: opening (or creating) the pool named by a Config's [pool] section, as the CLI and the daemon do.
// It opens each [[pool.disk]] directory as a PosixDisk, reads the passphrase from key_file, and takes an exclusive
// flock on every disk directory that exists, held as long as the PoolHandle lives: a second process (the daemon and
// an offline CLI command, say) gets Errc::busy naming the disk instead of two writers corrupting one pool.
#pragma once

#include <memory>
#include <vector>

#include "tiercel/core/config.hpp"
#include "tiercel/pool/pool.hpp"

namespace tiercel::pool {

class PoolHandle {
public:
    PoolHandle(std::unique_ptr<Pool> pool, std::vector<int> lock_fds);
    ~PoolHandle();
    PoolHandle(const PoolHandle&) = delete;
    PoolHandle& operator=(const PoolHandle&) = delete;
    Pool& pool() { return *pool_; }

private:
    std::unique_ptr<Pool> pool_;
    std::vector<int> lock_fds_;
};

enum class PoolOpenMode { open, create };

Result<std::unique_ptr<PoolHandle>> open_configured_pool(const PoolConfig& config, PoolOpenMode mode,
                                                         const CreateOptions& options = {});

// The PoolSpec for a config, with disks opened but not locked (for tests and tools).
Result<PoolSpec> spec_from_config(const PoolConfig& config);

}  // namespace tiercel::pool
