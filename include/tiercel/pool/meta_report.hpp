// Contract: what recovery, verification and repair of the metadata replicas found and did, per replica, in words a
// person can act on. Plain data: building one never touches a disk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tiercel::pool {

enum class ReplicaStatus {
    ok,         // holds exactly the chosen history, nothing to fix
    torn_tail,  // the newest log ends in an incomplete record (a crash during an append)
    behind,     // valid, but shorter than the chosen history
    damaged,    // a checkpoint or record fails its checksum, or files are missing or out of sequence
    disagrees,  // holds a record with the same sequence but different bytes than the chosen replica
    missing,    // no metadata at all (new or wiped disk, deleted directory)
    foreign,    // metadata of another pool: never read, never overwritten
    unreadable, // the disk could not even be listed
};

enum class RepairAction {
    none,
    truncated_tail,   // cut the newest log back to its last valid record
    started_log,      // wrote the missing log file after a valid checkpoint
    removed_leftovers,// removed files an interrupted rollover left behind
    rewritten,        // replaced all metadata files with a fresh checkpoint of the chosen state
    failed,           // a repair was needed but a write failed: the replica is stale
};

std::string_view to_string(ReplicaStatus status);
std::string_view to_string(RepairAction action);

struct ReplicaReport {
    std::string disk;
    ReplicaStatus status = ReplicaStatus::ok;
    bool stale = false;                           // commits no longer go to it (stale_reason says why)
    std::string stale_reason;
    std::optional<std::uint64_t> valid_sequence;  // end of this replica's valid prefix
    std::string fault_file;                       // where the valid prefix stops, when it stops on a fault
    std::uint64_t fault_offset = 0;
    std::string detail;                           // the reason, e.g. "record checksum mismatch"
    RepairAction action = RepairAction::none;
    std::string action_detail;                    // e.g. "rewritten from disk1 at sequence 42", or the write error
};

struct RecoveryReport {
    std::uint64_t sequence = 0;   // the recovered (or verified) last sequence
    std::string source_disk;      // the replica the state was loaded from
    std::vector<ReplicaReport> replicas;
    std::vector<std::string> findings;  // cross-replica observations, e.g. "replicas disagree at sequence 17"

    // True when every replica was already fine and nothing disagreed.
    bool clean() const;
    const ReplicaReport* find(std::string_view disk) const;
    // Multi-line text for logs and `pool fsck`.
    std::string describe() const;
};

}  // namespace tiercel::pool
