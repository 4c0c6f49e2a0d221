// Contract: where the shards of a stripe go. Weighted rendezvous (highest-random-weight) hashing: every disk gets a
// score -weight / ln(u), u = a hash of (stripe id, disk uuid) in (0,1); the highest-scoring eligible disks win, one
// shard per disk and one per failure domain. The same inputs always give the same answer, and adding or removing a
// disk moves only the stripes that disk wins or loses. Weight grows with free capacity, shrinks for slower tiers and
// for a disk whose latency is above its peers'; a disk that is not active, is offline, or is nearly full is not
// eligible. explain() says for every disk why it was chosen or skipped.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "tiercel/core/error.hpp"

namespace tiercel::pool {

struct PlacementCandidate {
    uint32_t disk_id = 0;
    std::string name;            // for explanations
    std::string uuid;            // hashed with the stripe id
    std::string failure_domain;  // "" = its own domain
    std::string tier;            // nvme | ssd | hdd | smr
    uint64_t capacity = 0;
    uint64_t free_bytes = 0;
    double latency_ms = 0;       // measured EWMA; 0 = unknown
    bool online = true;
    bool accepts_writes = true;  // false for draining / retired disks
    std::string state = "active";
};

struct PlacementDecision {
    uint32_t disk_id = 0;
    std::string name;
    double weight = 0;
    double score = 0;
    bool chosen = false;
    int shard_index = -1;
    std::string reason;  // "chosen for shard 2 (score 3.1)" or "skipped: draining"
};

struct Placement {
    std::vector<uint32_t> shard_disks;  // index = shard index
    std::vector<PlacementDecision> decisions;
};

inline constexpr uint64_t kPlacementReserveBytes = 64ull << 20;  // never fill a disk past this much free space

double placement_weight(const PlacementCandidate& candidate);
// Fastest first: nvme 0, ssd 1, hdd 2, anything else (smr) 3. Metadata replicas prefer low ranks.
int tier_rank(const std::string& tier);

// Chooses `count` disks for `stripe_id`, never one in `exclude`. Errc::no_space naming every skipped disk and why
// when there are not enough eligible disks or failure domains.
Result<Placement> place_stripe(uint64_t stripe_id, const std::vector<PlacementCandidate>& disks, int count,
                               const std::set<uint32_t>& exclude = {});
// Same decisions, but never fails: for `pool placement --explain`.
Placement explain_placement(uint64_t stripe_id, const std::vector<PlacementCandidate>& disks, int count);

}  // namespace tiercel::pool
