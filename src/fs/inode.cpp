#include "tiercel/fs/inode.hpp"

#include <cstdio>

#include "tiercel/pool/meta_endian.hpp"

namespace tiercel::fs {
namespace {

constexpr uint8_t kInodeVersion = 1;

using pool::meta::FieldReader;
using pool::meta::FieldWriter;

std::string be64(uint64_t v) { return pool::meta::put_be(v, 8); }

uint64_t get_be64(std::string_view in) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v = (v << 8) | static_cast<uint8_t>(in[i]);
    return v;
}

Error corrupt(std::string_view key, std::string_view what) {
    return make_error(Errc::corruption, "filesystem record '" + std::string(key) + "': " + std::string(what));
}

}  // namespace

std::string inode_key(uint64_t ino) { return std::string(kInodePrefix) + be64(ino); }
std::string dentry_prefix(uint64_t parent) { return std::string(kDentryPrefix) + be64(parent); }
std::string dentry_key(uint64_t parent, std::string_view name) { return dentry_prefix(parent) + std::string(name); }

uint64_t ino_from_inode_key(std::string_view key) {
    return key.size() == kInodePrefix.size() + 8 ? get_be64(key.substr(kInodePrefix.size())) : 0;
}

std::optional<std::pair<uint64_t, std::string>> parse_dentry_key(std::string_view key) {
    if (!key.starts_with(kDentryPrefix) || key.size() <= kDentryPrefix.size() + 8)
        return std::nullopt;
    return std::pair{get_be64(key.substr(kDentryPrefix.size())), std::string(key.substr(kDentryPrefix.size() + 8))};
}

std::string encode_inode(const InodeRecord& r) {
    FieldWriter out;
    out.u8(kInodeVersion);
    out.u64(r.ino);
    out.u64(r.generation);
    out.u32(r.mode);
    out.u32(r.uid);
    out.u32(r.gid);
    out.u32(r.nlink);
    out.u64(r.rdev);
    out.u64(r.size);
    out.u64(static_cast<uint64_t>(r.atime_ns));
    out.u64(static_cast<uint64_t>(r.mtime_ns));
    out.u64(static_cast<uint64_t>(r.ctime_ns));
    out.bytes(r.symlink);
    out.u32(static_cast<uint32_t>(r.xattrs.size()));
    for (const auto& [name, value] : r.xattrs) {
        out.bytes(name);
        out.bytes(value);
    }
    return out.take();
}

Result<InodeRecord> decode_inode(std::string_view value, std::string_view key) {
    FieldReader in(value);
    if (uint64_t version = in.u8(); in.ok() && version != kInodeVersion)
        return corrupt(key, "unknown inode record version " + std::to_string(version));
    InodeRecord r;
    r.ino = in.u64();
    r.generation = in.u64();
    r.mode = in.u32();
    r.uid = in.u32();
    r.gid = in.u32();
    r.nlink = in.u32();
    r.rdev = in.u64();
    r.size = in.u64();
    r.atime_ns = static_cast<int64_t>(in.u64());
    r.mtime_ns = static_cast<int64_t>(in.u64());
    r.ctime_ns = static_cast<int64_t>(in.u64());
    r.symlink = in.bytes();
    uint64_t count = in.u32();
    if (in.ok() && count > value.size() / 8)
        return corrupt(key, "xattr count " + std::to_string(count) + " exceeds the record");
    for (uint64_t i = 0; i < count && in.ok(); ++i) {
        std::string name = in.bytes();
        r.xattrs[name] = in.bytes();
    }
    if (!in.finished_cleanly())
        return corrupt(key, "truncated or over-long inode record");
    if (r.ino != ino_from_inode_key(key))
        return corrupt(key, "inode number " + std::to_string(r.ino) + " does not match its key");
    return r;
}

std::string encode_u64_le(uint64_t value) {
    FieldWriter out;
    out.u64(value);
    return out.take();
}

Result<uint64_t> decode_u64_le(std::string_view value, std::string_view key) {
    FieldReader in(value);
    uint64_t v = in.u64();
    if (!in.finished_cleanly())
        return corrupt(key, "expected 8 bytes, found " + std::to_string(value.size()));
    return v;
}

std::string fs_block_name(uint64_t ino, uint64_t block) {
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, "%016llx/%016llx", static_cast<unsigned long long>(ino),
                  static_cast<unsigned long long>(block));
    return std::string(kBlockObjectPrefix) + buffer;
}

std::optional<std::pair<uint64_t, uint64_t>> parse_fs_block_name(std::string_view name) {
    if (!name.starts_with(kBlockObjectPrefix))
        return std::nullopt;
    name.remove_prefix(kBlockObjectPrefix.size());
    if (name.size() != 33 || name[16] != '/')
        return std::nullopt;
    auto hex = [](std::string_view digits, uint64_t& out) {
        out = 0;
        for (char c : digits) {
            int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (v < 0)
                return false;
            out = (out << 4) | static_cast<uint64_t>(v);
        }
        return true;
    };
    uint64_t ino = 0, block = 0;
    if (!hex(name.substr(0, 16), ino) || !hex(name.substr(17), block))
        return std::nullopt;
    return std::pair{ino, block};
}

}  // namespace tiercel::fs
