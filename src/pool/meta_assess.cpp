#include "tiercel/pool/meta_assess.hpp"

#include <algorithm>

namespace tiercel::pool::meta {

std::string describe_scan(const ReplicaScan& scan) {
    std::string out = scan.disk->name() + ": ";
    switch (scan.presence) {
    case Presence::empty: return out + "missing (" + scan.presence_detail + ")";
    case Presence::unreadable: return out + "unreadable (" + scan.presence_detail + ")";
    case Presence::foreign: return out + "foreign (" + scan.presence_detail + ")";
    case Presence::present: break;
    }
    if (!scan.valid_sequence)
        return out + "no valid checkpoint (" + scan.fault_file + " at offset " + std::to_string(scan.fault_offset) +
               ": " + scan.fault_reason + ")";
    std::string text = out + "valid to sequence " + std::to_string(*scan.valid_sequence);
    if (scan.has_fault())
        text += ", then " + scan.fault_file + " at offset " + std::to_string(scan.fault_offset) + ": " +
                scan.fault_reason;
    return text;
}

std::vector<std::size_t> preference_order(const std::vector<ReplicaScan>& scans) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < scans.size(); ++i)
        if (scans[i].presence == Presence::present && scans[i].valid_sequence)
            order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (*scans[a].valid_sequence != *scans[b].valid_sequence)
            return *scans[a].valid_sequence > *scans[b].valid_sequence;
        return !scans[a].has_fault() && scans[b].has_fault();
    });
    return order;
}

Error nothing_valid(const std::vector<ReplicaScan>& scans) {
    bool all_empty = true;
    std::string why;
    for (const auto& scan : scans) {
        all_empty = all_empty && scan.presence == Presence::empty;
        why += (why.empty() ? "" : "; ") + describe_scan(scan);
    }
    if (all_empty)
        return make_error(Errc::not_found, "no metadata on any candidate disk: " + why);
    return make_error(Errc::corruption, "no metadata replica holds a valid prefix: " + why);
}

namespace {

bool presence_decides(const ReplicaScan& scan, ReplicaReport& report) {
    switch (scan.presence) {
    case Presence::empty: report.status = ReplicaStatus::missing; break;
    case Presence::unreadable: report.status = ReplicaStatus::unreadable; break;
    case Presence::foreign: report.status = ReplicaStatus::foreign; break;
    case Presence::present: return false;
    }
    report.detail = scan.presence_detail;
    return true;
}

bool disagreement_decides(const ReplicaScan& scan, const ReplicaScan* chosen, std::uint64_t sequence,
                          ReplicaReport& report, std::vector<std::string>& findings) {
    if (scan.valid_sequence && *scan.valid_sequence > sequence) {
        report.status = ReplicaStatus::disagrees;
        report.detail = "holds sequence " + std::to_string(*scan.valid_sequence) + ", beyond the store's " +
                        std::to_string(sequence);
        findings.push_back(scan.disk->name() + " is ahead of the store: " + report.detail);
        return true;
    }
    if (chosen == nullptr || chosen == &scan)
        return false;
    auto at = first_disagreement(*chosen, scan);
    if (!at)
        return false;
    findings.push_back("replicas disagree at sequence " + std::to_string(*at) + ": " + scan.disk->name() + " and " +
                       chosen->disk->name() + " hold different bytes; keeping " + chosen->disk->name());
    report.status = ReplicaStatus::disagrees;
    report.detail = "different bytes at sequence " + std::to_string(*at);
    return true;
}

}  // namespace

ReplicaReport assess(const ReplicaScan& scan, const ReplicaScan* chosen, std::uint64_t sequence,
                     std::vector<std::string>& findings) {
    ReplicaReport report;
    report.disk = scan.disk->name();
    report.valid_sequence = scan.valid_sequence;
    report.fault_file = scan.fault_file;
    report.fault_offset = scan.fault_offset;
    report.detail = scan.fault_reason;
    if (presence_decides(scan, report) || disagreement_decides(scan, chosen, sequence, report, findings))
        return report;
    if (!scan.valid_sequence || scan.damaged || scan.has_unreachable_files)
        report.status = ReplicaStatus::damaged;
    else if (scan.torn_tail)
        report.status = ReplicaStatus::torn_tail;
    else if (*scan.valid_sequence < sequence)
        report.status = ReplicaStatus::behind;
    if (scan.has_unreachable_files && !scan.has_fault())
        report.detail = "metadata files beyond the valid prefix";
    if (scan.valid_sequence && *scan.valid_sequence < sequence)
        report.detail += (report.detail.empty() ? "" : "; ") + std::string("valid to sequence ") +
                         std::to_string(*scan.valid_sequence) + " of " + std::to_string(sequence);
    return report;
}

bool needs_rewrite(const ReplicaReport& report, const ReplicaScan& scan, std::uint64_t sequence) {
    if (report.status == ReplicaStatus::foreign)
        return false;
    if (report.status == ReplicaStatus::ok || report.status == ReplicaStatus::torn_tail)
        return !scan.usable_in_place() || *scan.valid_sequence != sequence;
    return true;
}

}  // namespace tiercel::pool::meta
