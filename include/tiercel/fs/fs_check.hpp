// Contract: an offline consistency check of the filesystem's namespace in a pool (`tiercel fs check`). It reads the
// metadata only and changes nothing. Problems (any one makes ok() false): a record that does not decode, a directory
// entry naming a missing inode or living in a non-directory, a link count that differs from the entries naming the
// inode (2 + subdirectories for a directory), a directory with more than one entry naming it, a linked inode no entry
// reaches. Leftovers that the next mount removes by design (blocks of deleted inodes or past a file's end, left by a
// crash between a block write and the namespace commit) are counted, not problems.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tiercel/pool/pool.hpp"

namespace tiercel::fs {

struct FsCheckReport {
    uint64_t inodes = 0;
    uint64_t entries = 0;
    uint64_t blocks = 0;
    uint64_t leftover_blocks = 0;
    std::vector<std::string> problems;
    bool ok() const { return problems.empty(); }
};

FsCheckReport check_filesystem(pool::Pool& pool);

}  // namespace tiercel::fs
