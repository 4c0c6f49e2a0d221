// The policy runner's index of watched files, and its evaluation against the rules and water marks.
#include "tiercel/hsm/candidate_index.hpp"

namespace tiercel::hsm {

bool below(const std::string& path, const std::string& root) {
    if (root == "/")
        return !path.empty() && path.front() == '/';
    return path.size() >= root.size() && path.compare(0, root.size(), root) == 0 &&
           (path.size() == root.size() || path[root.size()] == '/');
}

void CandidateIndex::erase(const std::string& path) {
    entries_.erase(path);
    erase_below(path);
}

void CandidateIndex::erase_below(const std::string& root) {
    std::string prefix = root.back() == '/' ? root : root + "/";
    auto it = entries_.lower_bound(prefix);
    while (it != entries_.end() && it->first.compare(0, prefix.size(), prefix) == 0)
        it = entries_.erase(it);
}

const IndexEntry* CandidateIndex::find(const std::string& path) const {
    auto it = entries_.find(path);
    return it == entries_.end() ? nullptr : &it->second;
}

std::vector<Decision> CandidateIndex::evaluate(const HsmConfig& config, const std::map<std::string, bool>& pinned,
                                               int64_t now, const WatchUsage& usage) const {
    std::vector<Decision> out;
    std::string prefix = usage.path.back() == '/' ? usage.path : usage.path + "/";
    for (auto it = entries_.lower_bound(prefix); it != entries_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
         ++it) {
        auto pin = pinned.find(it->first);
        out.push_back(decide(config, it->first, it->second.facts, it->second.state, pin != pinned.end() && pin->second,
                             now));
    }
    plan_stubs(out, 0, usage);
    return out;
}

}  // namespace tiercel::hsm
