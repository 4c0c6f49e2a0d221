// Contract: judging replica scans against the chosen history, shared by open() and verify/repair. Pure functions over
// ReplicaScan values: they decide what a replica's status is and whether it must be rewritten, never touch a disk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tiercel/core/error.hpp"
#include "tiercel/pool/meta_report.hpp"
#include "tiercel/pool/meta_scan.hpp"

namespace tiercel::pool::meta {

// "disk2: valid to sequence 41", "disk3: missing (...)": one line per replica for error messages.
std::string describe_scan(const ReplicaScan& scan);

// Indices of the scans holding a valid prefix, best first: longest prefix, then fault-free, then the given order.
std::vector<std::size_t> preference_order(const std::vector<ReplicaScan>& scans);

// The error open() returns when no scan holds a valid prefix: not_found if every disk is empty, else corruption.
Error nothing_valid(const std::vector<ReplicaScan>& scans);

// Status of `scan` relative to the chosen replica at `sequence`; appends cross-replica findings (disagreements).
ReplicaReport assess(const ReplicaScan& scan, const ReplicaScan* chosen, std::uint64_t sequence,
                     std::vector<std::string>& findings);

// True when the replica cannot be fixed in place (truncating a torn tail, starting a missing log, removing
// leftovers) and must be rewritten from a fresh checkpoint. Foreign replicas are never rewritten.
bool needs_rewrite(const ReplicaReport& report, const ReplicaScan& scan, std::uint64_t sequence);

}  // namespace tiercel::pool::meta
