#include "tiercel/fs/inode.hpp"

#include <cstdio>

namespace tiercel::fs {
namespace {

constexpr uint8_t kInodeVersion = 1;

void put_le(std::string& out, uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_bytes(std::string& out, std::string_view v) {
    put_le(out, v.size(), 4);
    out.append(v);
}

std::string be64(uint64_t v) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i)
        out[7 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
    return out;
}

uint64_t get_be64(std::string_view in) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v = (v << 8) | static_cast<uint8_t>(in[i]);
    return v;
}

// Reads fields in order; the first short read latches ok_ false so the caller checks once.
class Reader {
public:
    explicit Reader(std::string_view in) : in_(in) {}
    uint64_t le(int n) {
        if (!ok_ || in_.size() - pos_ < static_cast<size_t>(n)) {
            ok_ = false;
            return 0;
        }
        uint64_t v = 0;
        for (int i = 0; i < n; ++i)
            v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
        pos_ += n;
        return v;
    }
    std::string bytes() {
        uint64_t n = le(4);
        if (!ok_ || n > in_.size() - pos_) {
            ok_ = false;
            return {};
        }
        std::string out(in_.substr(pos_, n));
        pos_ += n;
        return out;
    }
    bool ok() const { return ok_; }
    bool finished() const { return ok_ && pos_ == in_.size(); }

private:
    std::string_view in_;
    size_t pos_ = 0;
    bool ok_ = true;
};

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
    std::string out;
    out.push_back(static_cast<char>(kInodeVersion));
    put_le(out, r.ino, 8);
    put_le(out, r.generation, 8);
    put_le(out, r.mode, 4);
    put_le(out, r.uid, 4);
    put_le(out, r.gid, 4);
    put_le(out, r.nlink, 4);
    put_le(out, r.rdev, 8);
    put_le(out, r.size, 8);
    put_le(out, static_cast<uint64_t>(r.atime_ns), 8);
    put_le(out, static_cast<uint64_t>(r.mtime_ns), 8);
    put_le(out, static_cast<uint64_t>(r.ctime_ns), 8);
    put_bytes(out, r.symlink);
    put_le(out, r.xattrs.size(), 4);
    for (const auto& [name, value] : r.xattrs) {
        put_bytes(out, name);
        put_bytes(out, value);
    }
    return out;
}

Result<InodeRecord> decode_inode(std::string_view value, std::string_view key) {
    Reader in(value);
    if (uint64_t version = in.le(1); in.ok() && version != kInodeVersion)
        return corrupt(key, "unknown inode record version " + std::to_string(version));
    InodeRecord r;
    r.ino = in.le(8);
    r.generation = in.le(8);
    r.mode = static_cast<uint32_t>(in.le(4));
    r.uid = static_cast<uint32_t>(in.le(4));
    r.gid = static_cast<uint32_t>(in.le(4));
    r.nlink = static_cast<uint32_t>(in.le(4));
    r.rdev = in.le(8);
    r.size = in.le(8);
    r.atime_ns = static_cast<int64_t>(in.le(8));
    r.mtime_ns = static_cast<int64_t>(in.le(8));
    r.ctime_ns = static_cast<int64_t>(in.le(8));
    r.symlink = in.bytes();
    uint64_t count = in.le(4);
    if (in.ok() && count > value.size() / 8)
        return corrupt(key, "xattr count " + std::to_string(count) + " exceeds the record");
    for (uint64_t i = 0; i < count && in.ok(); ++i) {
        std::string name = in.bytes();
        r.xattrs[name] = in.bytes();
    }
    if (!in.finished())
        return corrupt(key, "truncated or over-long inode record");
    if (r.ino != ino_from_inode_key(key))
        return corrupt(key, "inode number " + std::to_string(r.ino) + " does not match its key");
    return r;
}

std::string encode_u64_le(uint64_t value) {
    std::string out;
    put_le(out, value, 8);
    return out;
}

Result<uint64_t> decode_u64_le(std::string_view value, std::string_view key) {
    Reader in(value);
    uint64_t v = in.le(8);
    if (!in.finished())
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
