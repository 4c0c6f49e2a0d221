// Contract: what Tiercel records on an archived file itself, and how it snapshots a file's identity.
//  - The xattr "user.tiercel.hsm" holds "state=<s> id=<file id> version=<n>" (docs/formats.md). It is the truth
//    about one file: the interceptor reads it from the event's fd to learn what to recall.
//  - A Snapshot is what "unchanged" means: same device, inode, size, mtime and ctime.
// Functions take an open fd (never a path) so they act on the file that was checked.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "tiercel/core/error.hpp"

namespace tiercel::hsm {

inline constexpr const char* state_xattr = "user.tiercel.hsm";

struct FileState {
    std::string state;  // premigrated | stub | partial | dirty
    int64_t file_id = 0;
    int64_t version = 0;
};

std::string format_state(const FileState& state);
std::optional<FileState> parse_state(const std::string& text);
Result<std::optional<FileState>> read_state(int fd);
Status write_state(int fd, const FileState& state);

struct Snapshot {
    uint64_t dev = 0, ino = 0, size = 0, blocks = 0;
    int64_t atime_ns = 0, mtime_ns = 0, ctime_ns = 0;
    uint32_t mode = 0, uid = 0, gid = 0;
};

Result<Snapshot> snapshot(int fd);
bool same_identity(const Snapshot& a, const Snapshot& b);
// Every xattr of the file except Tiercel's own (ACLs are the system.posix_acl_* xattrs, so they are included).
Result<std::map<std::string, std::string>> read_xattrs(int fd);
// Puts atime and mtime back (after a hole punch or a recall write changed them).
Status restore_times(int fd, const Snapshot& times);

}  // namespace tiercel::hsm
