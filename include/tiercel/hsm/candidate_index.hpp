// Contract: the daemon's in-memory index of the regular files below the watched paths: path -> size, times and the
// HSM state seen when the file last changed. The initial full scan fills it; change tracking (change_tracker.hpp)
// keeps it current; each policy pass evaluates it instead of walking the trees again. Only the policy runner's
// thread uses it (no locking).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tiercel/hsm/policy.hpp"

namespace tiercel::hsm {

struct IndexEntry {
    FileFacts facts;
    int64_t ctime = 0;
    std::string state = "resident";  // effective state (report.hpp), as of the last change seen
};

class CandidateIndex {
public:
    void put(const std::string& path, IndexEntry entry) { entries_[path] = std::move(entry); }
    // Removes `path` and, when it was a directory, everything below it.
    void erase(const std::string& path);
    // Removes the entries below `root` (before a rescan of that tree).
    void erase_below(const std::string& root);
    const IndexEntry* find(const std::string& path) const;
    size_t size() const { return entries_.size(); }

    // Every indexed file below usage.path, decided as scan() would: the rules first, then the water marks.
    std::vector<Decision> evaluate(const HsmConfig& config, const std::map<std::string, bool>& pinned,
                                   int64_t now_seconds, const WatchUsage& usage) const;

private:
    std::map<std::string, IndexEntry> entries_;
};

// True when `path` is `root` or lies below it.
bool below(const std::string& path, const std::string& root);

}  // namespace tiercel::hsm
