// Contract: how code outside the maintenance jobs uses a Pool that the daemon shares. Member changes (add-disk,
// remove, replace, fsck --repair) hold PoolService's gate exclusively; every other user (the FUSE filesystem, the
// HSM's pool target) holds it shared around each pool call through share(), so no read or write ever runs while the
// member list changes. A default PoolGate (unit tests, tools that own their Pool alone) shares nothing.
// Calls must not nest share() inside share() on one thread while they wait for something the exclusive holder owns.
#pragma once

#include <shared_mutex>

namespace tiercel::pool {

class PoolGate {
public:
    PoolGate() = default;
    explicit PoolGate(std::shared_mutex& gate) : gate_(&gate) {}

    // Blocks while an exclusive member change runs; the returned lock is empty when there is no gate.
    [[nodiscard]] std::shared_lock<std::shared_mutex> share() const {
        return gate_ ? std::shared_lock<std::shared_mutex>(*gate_) : std::shared_lock<std::shared_mutex>();
    }

private:
    std::shared_mutex* gate_ = nullptr;
};

}  // namespace tiercel::pool
