// Contract: the two archive steps on one file.
//  - premigrate(): write a payload to every target, read each back and verify it (every frame decoded, size and
//    BLAKE2b-256 compared), record the version in the catalog, then set the state xattr to "premigrated". The data
//    stays local. If the file changes while this runs (device, inode, size, mtime or ctime differ from the first
//    look) the file is left untouched, the payloads are removed and the result is Errc::busy. Works without a daemon.
//  - stub(): only for a premigrated file that still matches its current version (size and mtime). The caller passes
//    `mark`, which must put the interceptor's FAN_PRE_ACCESS mark on the open file and fail if it cannot: a file is
//    punched only while the interceptor runs and has marked it. Then the xattr says "stub", the data is punched out
//    (size kept) and atime/mtime are put back; mode, owner and xattrs (ACLs) are untouched by a hole punch.
// Both are blocking; the daemon runs them off the core loop.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tiercel/core/config.hpp"
#include "tiercel/hsm/catalog.hpp"
#include "tiercel/hsm/target.hpp"

namespace tiercel::hsm {

struct Targets {
    std::vector<std::unique_ptr<Target>> all;
    Target* find(const std::string& name) const;
};

// The targets of [[hsm.target]]. `pool` targets need the open pool (`pool`; null: they are an error naming why) and
// spool their payloads in `scratch_dir`.
Result<Targets> make_targets(const HsmConfig& config, pool::Pool* pool = nullptr, const std::string& scratch_dir = "",
                             pool::PoolGate gate = {});
bool has_pool_target(const HsmConfig& config);

struct PremigrateResult {
    int64_t file_id = 0, version = 0;
    uint64_t size = 0, payload_bytes = 0;
    bool already = false;  // the current version already matched: nothing written
    std::string blake2b;
};

Result<PremigrateResult> premigrate(Catalog& catalog, const std::vector<Target*>& targets, const std::string& path,
                                    int compression_level);

using MarkFn = std::function<Status(int fd)>;
Status stub(Catalog& catalog, const std::string& path, const MarkFn& mark);

}  // namespace tiercel::hsm
