// Contract: the filesystem's namespace records in the pool's metadata store (docs/formats.md, "Filesystem records").
//   F/i<ino, 8 B BE>               InodeRecord: type+mode, owner, nlink, size, times, symlink target, xattrs
//   F/d<parent, 8 B BE><name>      a directory entry: the child's inode number (8 B LE)
//   F/c/next_ino, F/c/block_size   counters and the file block size, fixed when the filesystem is first mounted
// File data lives in pool objects named fs_block_name(ino, block) (one object per block, see docs/design.md).
// Encodings are little-endian and versioned; decoding is strict (Errc::corruption naming the key).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "tiercel/core/error.hpp"

namespace tiercel::fs {

inline constexpr uint64_t kRootIno = 1;
inline constexpr std::string_view kInodePrefix = "F/i";
inline constexpr std::string_view kDentryPrefix = "F/d";
inline constexpr std::string_view kNextInoKey = "F/c/next_ino";
inline constexpr std::string_view kBlockSizeKey = "F/c/block_size";
// Pool object names of file blocks start with this; `pool ls` hides them (pool::is_internal_object).
inline constexpr std::string_view kBlockObjectPrefix = "\x01" "fs/";

struct InodeRecord {
    uint64_t ino = 0;
    uint64_t generation = 0;
    uint32_t mode = 0;  // S_IFMT type bits and permission bits
    uint32_t uid = 0;
    uint32_t gid = 0;
    uint32_t nlink = 0;
    uint64_t rdev = 0;
    uint64_t size = 0;
    int64_t atime_ns = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    std::string symlink;  // target of a symlink
    std::map<std::string, std::string, std::less<>> xattrs;
};

std::string inode_key(uint64_t ino);
std::string dentry_key(uint64_t parent, std::string_view name);
std::string dentry_prefix(uint64_t parent);
uint64_t ino_from_inode_key(std::string_view key);
// Splits a dentry key into parent and name; nullopt when malformed.
std::optional<std::pair<uint64_t, std::string>> parse_dentry_key(std::string_view key);

std::string encode_inode(const InodeRecord& record);
Result<InodeRecord> decode_inode(std::string_view value, std::string_view key);
std::string encode_u64_le(uint64_t value);
Result<uint64_t> decode_u64_le(std::string_view value, std::string_view key);

std::string fs_block_name(uint64_t ino, uint64_t block);
// Parses a pool object name made by fs_block_name; nullopt for any other name.
std::optional<std::pair<uint64_t, uint64_t>> parse_fs_block_name(std::string_view name);

}  // namespace tiercel::fs
