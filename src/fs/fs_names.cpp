// Filesystem: names, links, directories and attributes. Everything here changes memory only and marks the records
// the next namespace commit writes; nothing waits for a disk except setattr with a size (truncate).
#include <fcntl.h>

#include <linux/fs.h>

#include "tiercel/fs/acl.hpp"
#include "tiercel/fs/filesystem.hpp"

namespace tiercel::fs {
namespace {

constexpr size_t kNameMax = 255;

}  // namespace

void Filesystem::touch_dir(Node& dir, int64_t now) {
    dir.rec.mtime_ns = dir.rec.ctime_ns = now;
    mark(dir);
}

int Filesystem::lookup(uint64_t parent, std::string_view name, struct stat& out) {
    Lock lock(mu_);
    Node* dir = node(parent);
    if (!dir)
        return ENOENT;
    if (!S_ISDIR(dir->rec.mode))
        return ENOTDIR;
    if (name.size() > kNameMax)
        return ENAMETOOLONG;
    uint64_t ino = 0;
    if (name == ".")
        ino = parent;
    else if (name == "..")
        ino = dir->parent ? dir->parent : kRootIno;
    else if (auto it = dir->entries.find(name); it != dir->entries.end())
        ino = it->second.ino;
    Node* n = ino ? node(ino) : nullptr;
    if (!n)
        return ENOENT;
    n->nlookup++;
    fill_stat(*n, out);
    return 0;
}

void Filesystem::retain(uint64_t ino) {
    Lock lock(mu_);
    if (Node* n = node(ino))
        n->nlookup++;
}

void Filesystem::forget(uint64_t ino, uint64_t nlookup) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n || ino == kRootIno)
        return;
    n->nlookup -= std::min(n->nlookup, nlookup);
    maybe_free(lock, ino);
}

int Filesystem::check_new_name(Node*& dir, uint64_t parent, std::string_view name) {
    dir = node(parent);
    if (!dir || (dir->rec.nlink == 0))
        return ENOENT;
    if (!S_ISDIR(dir->rec.mode))
        return ENOTDIR;
    if (name.size() > kNameMax)
        return ENAMETOOLONG;
    if (name == "." || name == ".." || dir->entries.count(name))
        return EEXIST;
    return 0;
}

Filesystem::Node& Filesystem::new_node(Node& dir, uint32_t mode, const Caller& caller) {
    auto n = std::make_unique<Node>();
    InodeRecord& r = n->rec;
    r.ino = next_ino_++;
    r.generation = 1;
    r.uid = caller.uid;
    r.gid = caller.gid;
    // setgid directory: the new inode takes the directory's group, and a new directory stays setgid.
    if (dir.rec.mode & S_ISGID) {
        r.gid = dir.rec.gid;
        if (S_ISDIR(mode))
            mode |= S_ISGID;
    }
    if (!S_ISLNK(mode)) {
        auto default_acl = dir.rec.xattrs.find(acl::kDefaultXattr);
        if (default_acl != dir.rec.xattrs.end()) {
            std::string access = acl::inherit(default_acl->second, mode);
            if (!access.empty())
                r.xattrs[std::string(acl::kAccessXattr)] = access;
            if (S_ISDIR(mode))
                r.xattrs[std::string(acl::kDefaultXattr)] = default_acl->second;
        } else {
            mode &= ~(caller.umask & 0777u);
        }
    }
    r.mode = mode;
    r.nlink = S_ISDIR(mode) ? 2 : 1;
    r.atime_ns = r.mtime_ns = r.ctime_ns = now_ns();
    Node& ref = *n;
    nodes_[r.ino] = std::move(n);
    mark(ref);
    return ref;
}

int Filesystem::mknod(uint64_t parent, std::string_view name, uint32_t mode, uint64_t rdev, const Caller& caller,
                      struct stat& out) {
    Lock lock(mu_);
    Node* dir = nullptr;
    if (int rc = check_new_name(dir, parent, name))
        return rc;
    if (!S_ISREG(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode) && !S_ISCHR(mode) && !S_ISBLK(mode))
        return EINVAL;
    Node& n = new_node(*dir, mode, caller);
    n.rec.rdev = (S_ISCHR(mode) || S_ISBLK(mode)) ? rdev : 0;
    add_entry(*dir, name, n.rec.ino);
    mark_entry(parent, name);
    touch_dir(*dir, n.rec.ctime_ns);
    n.nlookup++;
    fill_stat(n, out);
    return 0;
}

int Filesystem::mkdir(uint64_t parent, std::string_view name, uint32_t mode, const Caller& caller,
                      struct stat& out) {
    Lock lock(mu_);
    Node* dir = nullptr;
    if (int rc = check_new_name(dir, parent, name))
        return rc;
    Node& n = new_node(*dir, S_IFDIR | (mode & 07777), caller);
    n.parent = parent;
    add_entry(*dir, name, n.rec.ino);
    mark_entry(parent, name);
    dir->rec.nlink++;
    touch_dir(*dir, n.rec.ctime_ns);
    n.nlookup++;
    fill_stat(n, out);
    return 0;
}

int Filesystem::symlink(uint64_t parent, std::string_view name, std::string_view target, const Caller& caller,
                        struct stat& out) {
    Lock lock(mu_);
    Node* dir = nullptr;
    if (int rc = check_new_name(dir, parent, name))
        return rc;
    if (target.size() >= 4096)
        return ENAMETOOLONG;
    Node& n = new_node(*dir, S_IFLNK | 0777, caller);
    n.rec.symlink = std::string(target);
    n.rec.size = target.size();
    add_entry(*dir, name, n.rec.ino);
    mark_entry(parent, name);
    touch_dir(*dir, n.rec.ctime_ns);
    n.nlookup++;
    fill_stat(n, out);
    return 0;
}

int Filesystem::link(uint64_t ino, uint64_t new_parent, std::string_view new_name, struct stat& out) {
    Lock lock(mu_);
    Node* dir = nullptr;
    if (int rc = check_new_name(dir, new_parent, new_name))
        return rc;
    Node* n = node(ino);
    if (!n || n->rec.nlink == 0)
        return ENOENT;
    if (S_ISDIR(n->rec.mode))
        return EPERM;
    if (n->rec.nlink >= 65000)
        return EMLINK;
    const int64_t now = now_ns();
    n->rec.nlink++;
    n->rec.ctime_ns = now;
    mark(*n);
    add_entry(*dir, new_name, ino);
    mark_entry(new_parent, new_name);
    touch_dir(*dir, now);
    n->nlookup++;
    fill_stat(*n, out);
    return 0;
}

void Filesystem::drop_link(Node& n, int64_t now) {
    if (S_ISDIR(n.rec.mode))
        n.rec.nlink = 0;
    else if (n.rec.nlink > 0)
        n.rec.nlink--;
    n.rec.ctime_ns = now;
    mark(n);
}

int Filesystem::unlink(uint64_t parent, std::string_view name) {
    Lock lock(mu_);
    Node* dir = node(parent);
    if (!dir)
        return ENOENT;
    if (!S_ISDIR(dir->rec.mode))
        return ENOTDIR;
    if (name.size() > kNameMax)
        return ENAMETOOLONG;
    auto it = dir->entries.find(name);
    if (it == dir->entries.end())
        return ENOENT;
    const uint64_t ino = it->second.ino;
    Node* n = node(ino);
    if (n && S_ISDIR(n->rec.mode))
        return EISDIR;
    const int64_t now = now_ns();
    remove_entry(*dir, name);
    mark_entry(parent, name);
    touch_dir(*dir, now);
    if (n) {
        drop_link(*n, now);
        maybe_free(lock, ino);
    }
    return 0;
}

int Filesystem::rmdir(uint64_t parent, std::string_view name) {
    Lock lock(mu_);
    Node* dir = node(parent);
    if (!dir)
        return ENOENT;
    if (!S_ISDIR(dir->rec.mode))
        return ENOTDIR;
    if (name == ".")
        return EINVAL;
    if (name == "..")
        return ENOTEMPTY;
    auto it = dir->entries.find(name);
    if (it == dir->entries.end())
        return ENOENT;
    const uint64_t ino = it->second.ino;
    Node* n = node(ino);
    if (!n)
        return ENOENT;
    if (!S_ISDIR(n->rec.mode))
        return ENOTDIR;
    if (!n->entries.empty())
        return ENOTEMPTY;
    const int64_t now = now_ns();
    remove_entry(*dir, name);
    mark_entry(parent, name);
    dir->rec.nlink--;
    touch_dir(*dir, now);
    drop_link(*n, now);
    maybe_free(lock, ino);
    return 0;
}

bool Filesystem::is_ancestor(uint64_t maybe_ancestor, uint64_t ino) {
    for (int depth = 0; depth < 4096; ++depth) {
        if (ino == maybe_ancestor)
            return true;
        if (ino == kRootIno)
            return false;
        Node* n = node(ino);
        if (!n)
            return false;
        ino = n->parent;
    }
    return false;
}

int Filesystem::rename(uint64_t parent, std::string_view name, uint64_t new_parent, std::string_view new_name,
                       unsigned flags) {
    Lock lock(mu_);
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
        return EINVAL;
    if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
        return EINVAL;
    Node* from_dir = node(parent);
    Node* to_dir = node(new_parent);
    if (!from_dir || !to_dir)
        return ENOENT;
    if (!S_ISDIR(from_dir->rec.mode) || !S_ISDIR(to_dir->rec.mode))
        return ENOTDIR;
    if (name.size() > kNameMax || new_name.size() > kNameMax)
        return ENAMETOOLONG;
    auto src_it = from_dir->entries.find(name);
    if (src_it == from_dir->entries.end())
        return ENOENT;
    const uint64_t src_ino = src_it->second.ino;
    Node* src = node(src_ino);
    if (!src)
        return ENOENT;
    auto dst_it = to_dir->entries.find(new_name);
    Node* dst = dst_it == to_dir->entries.end() ? nullptr : node(dst_it->second.ino);
    const bool src_is_dir = S_ISDIR(src->rec.mode);
    const int64_t now = now_ns();

    if (flags & RENAME_EXCHANGE) {
        if (!dst)
            return ENOENT;
        const bool dst_is_dir = S_ISDIR(dst->rec.mode);
        if ((src_is_dir && is_ancestor(src_ino, new_parent)) || (dst_is_dir && is_ancestor(dst->rec.ino, parent)))
            return EINVAL;
        from_dir->entries[std::string(name)].ino = dst->rec.ino;
        to_dir->entries[std::string(new_name)].ino = src_ino;
        if (parent != new_parent && src_is_dir != dst_is_dir) {
            (src_is_dir ? from_dir : to_dir)->rec.nlink--;
            (src_is_dir ? to_dir : from_dir)->rec.nlink++;
        }
        if (src_is_dir)
            src->parent = new_parent;
        if (dst_is_dir)
            dst->parent = parent;
        src->rec.ctime_ns = dst->rec.ctime_ns = now;
        mark(*src);
        mark(*dst);
        mark_entry(parent, name);
        mark_entry(new_parent, new_name);
        touch_dir(*from_dir, now);
        touch_dir(*to_dir, now);
        return 0;
    }
    if (dst && (flags & RENAME_NOREPLACE))
        return EEXIST;
    if (src_is_dir && is_ancestor(src_ino, new_parent))
        return EINVAL;
    if (dst) {
        if (dst->rec.ino == src_ino)
            return 0;  // two links to one inode: POSIX says do nothing
        const bool dst_is_dir = S_ISDIR(dst->rec.mode);
        if (src_is_dir && !dst_is_dir)
            return ENOTDIR;
        if (!src_is_dir && dst_is_dir)
            return EISDIR;
        if (dst_is_dir && !dst->entries.empty())
            return ENOTEMPTY;
        const uint64_t dst_ino = dst->rec.ino;
        remove_entry(*to_dir, new_name);
        if (dst_is_dir)
            to_dir->rec.nlink--;
        drop_link(*dst, now);
        maybe_free(lock, dst_ino);
        // maybe_free never frees src, from_dir or to_dir (all still linked), so the pointers stay valid.
    }
    remove_entry(*from_dir, name);
    add_entry(*to_dir, new_name, src_ino);
    if (src_is_dir && parent != new_parent) {
        from_dir->rec.nlink--;
        to_dir->rec.nlink++;
        src->parent = new_parent;
    }
    src->rec.ctime_ns = now;
    mark(*src);
    mark_entry(parent, name);
    mark_entry(new_parent, new_name);
    touch_dir(*from_dir, now);
    touch_dir(*to_dir, now);
    return 0;
}

int Filesystem::readlink(uint64_t ino, std::string& out) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n)
        return ENOENT;
    if (!S_ISLNK(n->rec.mode))
        return EINVAL;
    out = n->rec.symlink;
    relatime(*n);
    return 0;
}

int Filesystem::readdir(uint64_t ino, uint64_t cookie, size_t max_entries, std::vector<DirEntry>& out) {
    Lock lock(mu_);
    Node* dir = node(ino);
    if (!dir)
        return ENOENT;
    if (!S_ISDIR(dir->rec.mode))
        return ENOTDIR;
    auto emit = [&](std::string_view name, const Node& n, uint64_t next_cookie) {
        DirEntry entry;
        entry.name = std::string(name);
        fill_stat(n, entry.attr);
        entry.cookie = next_cookie;
        out.push_back(std::move(entry));
    };
    if (cookie < 1 && out.size() < max_entries)
        emit(".", *dir, 1);
    if (cookie < 2 && out.size() < max_entries)
        if (Node* up = node(dir->parent ? dir->parent : kRootIno))
            emit("..", *up, 2);
    for (auto it = dir->by_cookie.upper_bound(std::max<uint64_t>(cookie, 2));
         it != dir->by_cookie.end() && out.size() < max_entries; ++it) {
        auto slot = dir->entries.find(it->second);
        if (slot == dir->entries.end())
            continue;
        if (Node* n = node(slot->second.ino))
            emit(it->second, *n, it->first);
    }
    relatime(*dir);
    return 0;
}

void Filesystem::relatime(Node& n) {
    // relatime: atime moves only when it is older than mtime or ctime, or more than a day old.
    const int64_t now = now_ns();
    constexpr int64_t kDay = 24ll * 3600 * 1'000'000'000;
    if (n.rec.atime_ns <= n.rec.mtime_ns || n.rec.atime_ns <= n.rec.ctime_ns || now - n.rec.atime_ns > kDay) {
        n.rec.atime_ns = now;
        mark(n);
    }
}

void Filesystem::remove_privileges(Node& n, bool kill_suidgid) {
    bool changed = false;
    if (auto cap = n.rec.xattrs.find(std::string_view("security.capability")); cap != n.rec.xattrs.end()) {
        n.rec.xattrs.erase(cap);  // found by view: this runs on every write, and the key would allocate
        changed = true;
    }
    uint32_t drop = 0;
    if (kill_suidgid && S_ISREG(n.rec.mode)) {
        drop = S_ISUID;
        if ((n.rec.mode & S_IXGRP) != 0)
            drop |= S_ISGID;  // setgid without group execute marks mandatory locking, and stays
    }
    if (drop_mode_bits(n, drop) || changed) {
        n.rec.ctime_ns = now_ns();
        mark(n);
    }
}

bool Filesystem::drop_mode_bits(Node& n, uint32_t bits) {
    if ((n.rec.mode & bits) == 0)
        return false;
    n.rec.mode &= ~bits;
    return true;
}

std::optional<uint32_t> Filesystem::lone_setgid_group(uint64_t ino) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n || !S_ISREG(n->rec.mode) || (n->rec.mode & (S_ISGID | S_IXGRP)) != S_ISGID)
        return std::nullopt;
    return n->rec.gid;
}

void Filesystem::clear_setgid(uint64_t ino) {
    Lock lock(mu_);
    if (Node* n = node(ino); n && drop_mode_bits(*n, S_ISGID)) {
        n->rec.ctime_ns = now_ns();
        mark(*n);
    }
}

int Filesystem::setattr(uint64_t ino, const SetAttr& change, struct stat& out) {
    Lock lock(mu_);
    Node* n = node(ino);
    if (!n)
        return ENOENT;
    const int64_t now = now_ns();
    if (change.size) {
        if (S_ISDIR(n->rec.mode))
            return EISDIR;
        if (!S_ISREG(n->rec.mode))
            return EINVAL;
        if (*change.size != n->rec.size) {
            if (int rc = truncate_locked(lock, ino, *change.size))
                return rc;
            n = node(ino);
            n->rec.mtime_ns = now;
        }
    }
    if (change.mode) {
        n->rec.mode = (n->rec.mode & S_IFMT) | (*change.mode & 07777);
        auto access = n->rec.xattrs.find(acl::kAccessXattr);
        if (access != n->rec.xattrs.end())
            access->second = acl::with_mode(access->second, n->rec.mode);
    }
    if (change.uid)
        n->rec.uid = *change.uid;
    if (change.gid)
        n->rec.gid = *change.gid;
    // chown clears setuid (and setgid with group execute) whoever calls it; a truncate only for callers without
    // CAP_FSETID. Both drop file capabilities. (ext4's notify_change; here since the mount takes KILLPRIV_V2.)
    if ((change.uid || change.gid) && !S_ISDIR(n->rec.mode))
        remove_privileges(*n, true);
    else if (change.size)
        remove_privileges(*n, change.kill_suidgid);
    if (change.atime_ns)
        n->rec.atime_ns = *change.atime_ns;
    if (change.mtime_ns)
        n->rec.mtime_ns = *change.mtime_ns;
    n->rec.ctime_ns = now;
    mark(*n);
    fill_stat(*n, out);
    return 0;
}

}  // namespace tiercel::fs
