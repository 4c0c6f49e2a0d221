// Filesystem: extended attributes, stored in the inode record. Namespaces as on ext4: user.* (regular files and
// directories only), trusted.* and security.* (the kernel checks the caller's capability), and the POSIX ACLs.
#include <sys/xattr.h>

#include "tiercel/fs/acl.hpp"
#include "tiercel/fs/filesystem.hpp"

namespace tiercel::fs {
namespace {

constexpr size_t kXattrBytesMax = 64 * 1024;  // all names and values of one inode, like a 64 KiB ext4 xattr block

bool known_namespace(std::string_view name) {
    return name.starts_with("user.") || name.starts_with("trusted.") || name.starts_with("security.") ||
           name == acl::kAccessXattr || name == acl::kDefaultXattr;
}

size_t xattr_bytes(const InodeRecord& r) {
    size_t bytes = 0;
    for (const auto& [name, value] : r.xattrs)
        bytes += name.size() + value.size() + 16;
    return bytes;
}

}  // namespace

int Filesystem::setxattr(uint64_t ino, std::string_view name, std::string_view value, int flags) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n)
        return ENOENT;
    if (!known_namespace(name))
        return EOPNOTSUPP;
    if (name.starts_with("user.") && !S_ISREG(n->rec.mode) && !S_ISDIR(n->rec.mode))
        return EPERM;
    auto it = n->rec.xattrs.find(name);
    if ((flags & XATTR_CREATE) && it != n->rec.xattrs.end())
        return EEXIST;
    if ((flags & XATTR_REPLACE) && it == n->rec.xattrs.end())
        return ENODATA;
    const size_t old_bytes = it == n->rec.xattrs.end() ? 0 : it->first.size() + it->second.size() + 16;
    if (xattr_bytes(n->rec) - old_bytes + name.size() + value.size() + 16 > kXattrBytesMax)
        return ENOSPC;
    if (name == acl::kDefaultXattr && !S_ISDIR(n->rec.mode))
        return value.empty() ? 0 : EACCES;
    if (name == acl::kAccessXattr || name == acl::kDefaultXattr) {
        auto bits = acl::mode_bits(value);
        if (!bits)
            return EINVAL;
        if (name == acl::kAccessXattr) {
            // The mode's permission bits follow the ACL; an ACL the mode says in full is not stored (as ext4).
            n->rec.mode = (n->rec.mode & ~0777u) | *bits;
            if (acl::is_minimal(value)) {
                n->rec.xattrs.erase(std::string(name));
                n->rec.ctime_ns = now_ns();
                mark(*n);
                return 0;
            }
        }
    }
    n->rec.xattrs[std::string(name)] = std::string(value);
    n->rec.ctime_ns = now_ns();
    mark(*n);
    return 0;
}

int Filesystem::getxattr(uint64_t ino, std::string_view name, std::string& out) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n)
        return ENOENT;
    if (!known_namespace(name))
        return EOPNOTSUPP;
    auto it = n->rec.xattrs.find(name);
    if (it == n->rec.xattrs.end())
        return ENODATA;
    out = it->second;
    return 0;
}

int Filesystem::listxattr(uint64_t ino, std::string& out) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n)
        return ENOENT;
    out.clear();
    for (const auto& [name, value] : n->rec.xattrs) {
        out += name;
        out.push_back('\0');
    }
    return 0;
}

int Filesystem::removexattr(uint64_t ino, std::string_view name) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n)
        return ENOENT;
    if (!known_namespace(name))
        return EOPNOTSUPP;
    auto it = n->rec.xattrs.find(name);
    if (it == n->rec.xattrs.end())
        return ENODATA;
    n->rec.xattrs.erase(it);
    n->rec.ctime_ns = now_ns();
    mark(*n);
    return 0;
}

}  // namespace tiercel::fs
