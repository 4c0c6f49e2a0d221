#include "tiercel/pool/placement.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace tiercel::pool {
namespace {

// FNV-1a then a splitmix64 finaliser: cheap, stable across builds and platforms.
uint64_t rendezvous_hash(uint64_t stripe_id, const std::string& disk_uuid) {
    uint64_t h = 1469598103934665603ULL;
    for (char c : disk_uuid)
        h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
    h ^= stripe_id + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBULL;
    h ^= h >> 31;
    return h;
}

double tier_factor(const std::string& tier) {
    if (tier == "nvme") return 1.0;
    if (tier == "ssd") return 1.0;
    if (tier == "hdd") return 1.0;
    if (tier == "smr") return 0.5;  // SMR disks rewrite slowly: give them a smaller share
    return 1.0;
}

std::string ineligibility(const PlacementCandidate& disk) {
    if (!disk.online)
        return "offline";
    if (!disk.accepts_writes)
        return disk.state;
    if (disk.free_bytes < kPlacementReserveBytes)
        return "full (free space below the 64 MiB reserve)";
    return "";
}

std::string format_score(double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3g", value);
    return buffer;
}

Placement decide(uint64_t stripe_id, const std::vector<PlacementCandidate>& disks, int count,
                 const std::set<uint32_t>& exclude) {
    Placement placement;
    placement.decisions.resize(disks.size());
    for (size_t i = 0; i < disks.size(); ++i) {
        PlacementDecision& decision = placement.decisions[i];
        decision.disk_id = disks[i].disk_id;
        decision.name = disks[i].name;
        decision.weight = placement_weight(disks[i]);
        double u = (static_cast<double>(rendezvous_hash(stripe_id, disks[i].uuid) >> 11) + 0.5) / 9007199254740992.0;
        decision.score = decision.weight > 0 ? -decision.weight / std::log(u) : 0;
    }
    std::vector<size_t> order(disks.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return placement.decisions[a].score > placement.decisions[b].score;
    });
    std::set<std::string> used_domains;
    for (size_t i : order) {
        PlacementDecision& decision = placement.decisions[i];
        const PlacementCandidate& disk = disks[i];
        std::string domain = disk.failure_domain.empty() ? "disk:" + disk.uuid : "domain:" + disk.failure_domain;
        if (std::string why = ineligibility(disk); !why.empty())
            decision.reason = "skipped: " + why;
        else if (exclude.count(disk.disk_id))
            decision.reason = "skipped: excluded for this stripe (a write to it failed)";
        else if (static_cast<int>(placement.shard_disks.size()) >= count)
            decision.reason = "not needed: lower score (" + format_score(decision.score) + ")";
        else if (used_domains.count(domain))
            decision.reason = "skipped: failure domain '" + disk.failure_domain + "' already holds a shard";
        else {
            used_domains.insert(domain);
            decision.chosen = true;
            decision.shard_index = static_cast<int>(placement.shard_disks.size());
            decision.reason = "chosen for shard " + std::to_string(decision.shard_index) + " (score " +
                              format_score(decision.score) + ")";
            placement.shard_disks.push_back(disk.disk_id);
        }
    }
    return placement;
}

}  // namespace

int tier_rank(const std::string& tier) {
    if (tier == "nvme") return 0;
    if (tier == "ssd") return 1;
    if (tier == "hdd") return 2;
    return 3;
}

double placement_weight(const PlacementCandidate& disk) {
    if (!ineligibility(disk).empty())
        return 0;
    // Free space in GiB drives the share, so fuller disks receive less; at least a small positive weight.
    double weight = std::max(static_cast<double>(disk.free_bytes - kPlacementReserveBytes) / (1u << 30), 1e-3);
    weight *= tier_factor(disk.tier);
    // A disk much slower than 20 ms per op gets a smaller share, down to a quarter.
    if (disk.latency_ms > 20)
        weight *= std::max(0.25, 20.0 / disk.latency_ms);
    return weight;
}

Result<Placement> place_stripe(uint64_t stripe_id, const std::vector<PlacementCandidate>& disks, int count,
                               const std::set<uint32_t>& exclude) {
    Placement placement = decide(stripe_id, disks, count, exclude);
    if (static_cast<int>(placement.shard_disks.size()) == count)
        return placement;
    std::string message = "need " + std::to_string(count) + " distinct disks for a stripe but only " +
                          std::to_string(placement.shard_disks.size()) + " are usable";
    for (const auto& decision : placement.decisions)
        if (!decision.chosen)
            message += "; " + decision.name + " " + decision.reason;
    return make_error(Errc::no_space, message);
}

Placement explain_placement(uint64_t stripe_id, const std::vector<PlacementCandidate>& disks, int count) {
    return decide(stripe_id, disks, count, {});
}

}  // namespace tiercel::pool
