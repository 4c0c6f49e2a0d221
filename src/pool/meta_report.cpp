#include "tiercel/pool/meta_report.hpp"

namespace tiercel::pool {

std::string_view to_string(ReplicaStatus status) {
    switch (status) {
    case ReplicaStatus::ok: return "ok";
    case ReplicaStatus::torn_tail: return "torn tail";
    case ReplicaStatus::behind: return "behind";
    case ReplicaStatus::damaged: return "damaged";
    case ReplicaStatus::disagrees: return "disagrees";
    case ReplicaStatus::missing: return "missing";
    case ReplicaStatus::foreign: return "foreign";
    case ReplicaStatus::unreadable: return "unreadable";
    }
    return "unknown";
}

std::string_view to_string(RepairAction action) {
    switch (action) {
    case RepairAction::none: return "none";
    case RepairAction::truncated_tail: return "truncated torn tail";
    case RepairAction::started_log: return "started missing log";
    case RepairAction::removed_leftovers: return "removed leftover files";
    case RepairAction::rewritten: return "rewritten";
    case RepairAction::failed: return "repair failed";
    }
    return "unknown";
}

bool RecoveryReport::clean() const {
    if (!findings.empty())
        return false;
    for (const auto& replica : replicas)
        if (replica.status != ReplicaStatus::ok || replica.stale)
            return false;
    return true;
}

const ReplicaReport* RecoveryReport::find(std::string_view disk) const {
    for (const auto& replica : replicas)
        if (replica.disk == disk)
            return &replica;
    return nullptr;
}

std::string RecoveryReport::describe() const {
    std::string out = "metadata at sequence " + std::to_string(sequence);
    if (!source_disk.empty())
        out += " (from " + source_disk + ")";
    out += "\n";
    for (const auto& replica : replicas) {
        out += "  " + replica.disk + ": " + std::string(to_string(replica.status));
        if (replica.valid_sequence)
            out += ", valid to sequence " + std::to_string(*replica.valid_sequence);
        if (!replica.fault_file.empty())
            out += ", stops in " + replica.fault_file + " at offset " + std::to_string(replica.fault_offset);
        if (!replica.detail.empty())
            out += ": " + replica.detail;
        if (replica.stale)
            out += "; stale: " + replica.stale_reason;
        if (replica.action != RepairAction::none) {
            out += "; " + std::string(to_string(replica.action));
            if (!replica.action_detail.empty())
                out += " (" + replica.action_detail + ")";
        }
        out += "\n";
    }
    for (const auto& finding : findings)
        out += "  finding: " + finding + "\n";
    return out;
}

}  // namespace tiercel::pool
