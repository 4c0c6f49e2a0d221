// Contract: a full consistency check of the pool's metadata against the shards on its disks.
// It reads every shard file's header and data checksum (verify_shard), so its cost is a read of the whole pool.
// Findings:
//  - missing / corrupt: a shard that a stripe record names is absent or fails a check (data at risk: heal it);
//  - misplaced: a shard file whose header names another stripe, generation or index than its file name;
//  - orphans: shard files no stripe record names (left by interrupted puts or removes; reclaimable garbage);
//  - temp files: leftovers of atomic writes interrupted by a crash;
//  - metadata replicas that are damaged, behind or disagree; records that do not decode.
// clean() is true when nothing at all was found. With repair=true, orphans and temp files are deleted and metadata
// replicas are repaired; missing or corrupt shards are left for `pool heal`, which rebuilds them from parity.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tiercel/pool/pool.hpp"

namespace tiercel::pool {

struct FsckReport {
    uint64_t stripes_checked = 0;
    uint64_t shards_checked = 0;
    uint64_t objects_checked = 0;
    std::vector<std::string> missing_shards;
    std::vector<std::string> corrupt_shards;
    std::vector<std::string> orphan_shards;
    std::vector<std::string> temp_files;
    std::vector<std::string> bad_records;
    std::vector<std::string> metadata_findings;
    std::vector<std::string> repairs;  // what --repair changed

    bool data_intact() const { return missing_shards.empty() && corrupt_shards.empty() && bad_records.empty(); }
    bool clean() const;
};

FsckReport fsck_pool(Pool& pool, bool repair);

}  // namespace tiercel::pool
