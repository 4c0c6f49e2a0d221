#include "tiercel/fs/fs_check.hpp"

#include <sys/stat.h>

#include <map>

#include "tiercel/fs/inode.hpp"

namespace tiercel::fs {

FsCheckReport check_filesystem(pool::Pool& pool) {
    FsCheckReport report;
    std::map<uint64_t, InodeRecord> inodes;
    pool.meta().scan(kInodePrefix, [&](std::string_view key, std::string_view value) {
        auto record = decode_inode(value, key);
        if (!record)
            report.problems.push_back(record.error().describe());
        else
            inodes[record->ino] = std::move(*record);
        return true;
    });
    report.inodes = inodes.size();
    std::map<uint64_t, uint64_t> links, subdirs, dir_parents;
    pool.meta().scan(kDentryPrefix, [&](std::string_view key, std::string_view value) {
        report.entries++;
        auto parsed = parse_dentry_key(key);
        auto child = decode_u64_le(value, key);
        if (!parsed || !child) {
            report.problems.push_back("malformed directory entry record");
            return true;
        }
        const auto& [parent, name] = *parsed;
        auto dir = inodes.find(parent);
        auto target = inodes.find(*child);
        const std::string where = "entry '" + name + "' in directory " + std::to_string(parent);
        if (dir == inodes.end() || !S_ISDIR(dir->second.mode))
            report.problems.push_back(where + ": the parent is missing or not a directory");
        if (target == inodes.end()) {
            report.problems.push_back(where + ": names missing inode " + std::to_string(*child));
            return true;
        }
        links[*child]++;
        if (S_ISDIR(target->second.mode)) {
            subdirs[parent]++;
            if (dir_parents[*child]++ > 0)
                report.problems.push_back("directory " + std::to_string(*child) + " has more than one entry");
        }
        return true;
    });
    for (const auto& [ino, record] : inodes) {
        const bool dir = S_ISDIR(record.mode);
        const uint64_t expected = dir ? 2 + subdirs[ino] : links[ino];
        if (ino != kRootIno && links[ino] == 0)
            report.problems.push_back("inode " + std::to_string(ino) + " has nlink " + std::to_string(record.nlink) +
                                      " but no directory entry");
        else if (record.nlink != expected)
            report.problems.push_back("inode " + std::to_string(ino) + " has nlink " + std::to_string(record.nlink) +
                                      ", entries say " + std::to_string(expected));
    }
    if (!inodes.count(kRootIno) && !inodes.empty())
        report.problems.push_back("the root directory (inode 1) is missing");
    uint64_t block_size = pool.stripe_size();
    if (auto stored = pool.meta().get(kBlockSizeKey))
        if (auto parsed = decode_u64_le(*stored, kBlockSizeKey))
            block_size = *parsed;
    for (const auto& object : pool.list(kBlockObjectPrefix)) {
        auto parsed = parse_fs_block_name(object.name);
        if (!parsed)
            continue;
        report.blocks++;
        auto it = inodes.find(parsed->first);
        if (it == inodes.end() || parsed->second * block_size >= it->second.size)
            report.leftover_blocks++;
    }
    return report;
}

}  // namespace tiercel::fs
