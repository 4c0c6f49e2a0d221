// Version retention: which old versions go, and removing them from the catalog and every target.
#include "tiercel/hsm/retention.hpp"

#include <sys/xattr.h>

#include <algorithm>

#include "tiercel/core/log.hpp"
#include "tiercel/hsm/file_state.hpp"

namespace tiercel::hsm {
namespace {

constexpr int64_t ns_per_day = 86'400LL * 1'000'000'000;

// The version the file's own xattr names (lgetxattr: the file is not opened, so a stub is not recalled).
std::optional<int64_t> xattr_version(const std::string& path) {
    char buffer[256];
    ssize_t n = ::lgetxattr(path.c_str(), state_xattr, buffer, sizeof buffer - 1);
    if (n < 0)
        return std::nullopt;
    auto state = parse_state(std::string(buffer, static_cast<size_t>(n)));
    return state ? std::optional<int64_t>(state->version) : std::nullopt;
}

}  // namespace

std::vector<int64_t> select_prunable(const std::vector<VersionRow>& versions, const std::set<int64_t>& protect,
                                     int64_t keep_versions, int64_t keep_days, int64_t now_ns) {
    std::vector<int64_t> out;
    if (keep_versions <= 0 && keep_days <= 0)
        return out;
    std::vector<const VersionRow*> newest_first;
    for (const auto& v : versions)
        newest_first.push_back(&v);
    std::sort(newest_first.begin(), newest_first.end(),
              [](const VersionRow* a, const VersionRow* b) { return a->version > b->version; });
    for (size_t i = 0; i < newest_first.size(); ++i) {
        const VersionRow& v = *newest_first[i];
        bool by_count = keep_versions > 0 && static_cast<int64_t>(i) < keep_versions;
        bool by_age = keep_days > 0 && now_ns - v.archived_ns < keep_days * ns_per_day;
        if (!by_count && !by_age && !protect.count(v.version))
            out.push_back(v.version);
    }
    std::sort(out.begin(), out.end());
    return out;
}

Result<RetentionResult> apply_retention(Catalog& catalog, const Targets& targets, const HsmConfig& config,
                                        int64_t file_id) {
    RetentionResult result;
    TIERCEL_ASSIGN(auto file, catalog.file_by_id(file_id));
    if (!file)
        return result;
    TIERCEL_ASSIGN(auto versions, catalog.versions(file_id));
    std::set<int64_t> protect{file->current_version};
    if (auto named = xattr_version(file->path))
        protect.insert(*named);
    for (int64_t version : select_prunable(versions, protect, config.keep_versions, config.keep_days, now_ns())) {
        TIERCEL_ASSIGN(auto copies, catalog.copies(file_id, version));
        TIERCEL_TRY(catalog.remove_version(file_id, version));
        ++result.versions_pruned;
        for (const auto& copy : copies) {
            Target* target = targets.find(copy.target);
            auto removed = target ? target->remove(copy.key)
                                  : Status(make_error(Errc::not_found, "no target named " + copy.target));
            if (!removed) {
                ++result.errors;
                log::warning("hsm", "retention: cannot remove " + copy.key + " from " + copy.target + ": " +
                                        removed.error().describe() + " (orphan payload)");
                continue;
            }
            ++result.payloads_removed;
            result.payload_bytes += copy.payload_size;
        }
        (void)catalog.add_event("prune", file->path,
                                "version " + std::to_string(version) + " pruned by retention (keep_versions " +
                                    std::to_string(config.keep_versions) + ", keep_days " +
                                    std::to_string(config.keep_days) + ")");
    }
    return result;
}

Result<RetentionResult> apply_retention_all(Catalog& catalog, const Targets& targets, const HsmConfig& config) {
    RetentionResult total;
    TIERCEL_ASSIGN(auto ids, catalog.files_with_old_versions());
    for (int64_t id : ids) {
        TIERCEL_ASSIGN(auto one, apply_retention(catalog, targets, config, id));
        total.versions_pruned += one.versions_pruned;
        total.payloads_removed += one.payloads_removed;
        total.payload_bytes += one.payload_bytes;
        total.errors += one.errors;
    }
    return total;
}

}  // namespace tiercel::hsm
