// Pool::space: the raw capacity a filesystem's statfs reports (after dividing by the redundancy).
#include "pool_internal.hpp"

namespace tiercel::pool {

PoolSpace Pool::space() {
    PoolSpace space;
    for (const auto& candidate : PoolInternals::placement_candidates(*this)) {
        if (!candidate.online || !candidate.accepts_writes)
            continue;
        space.total_bytes += candidate.capacity;
        space.free_bytes += candidate.free_bytes;
    }
    return space;
}

}  // namespace tiercel::pool
