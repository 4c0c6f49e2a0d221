// FUSE request handlers: translate each request into a Filesystem call and reply. Requests that touch memory only
// are answered on the core loop; those that may wait for disks are posted to the worker pool and reply from there
// (libfuse's reply functions are thread-safe). No exception leaves a handler.
#include "fuse_ops.hpp"

#include <sys/uio.h>
#include <sys/xattr.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include <boost/asio/post.hpp>

#include "fuse_killpriv.hpp"
#include "tiercel/core/log.hpp"
#include "tiercel/fs/fs_service.hpp"

namespace tiercel::fs {
namespace {

// Every change to the namespace and to attributes goes through this kernel (one mount, no other writer), and the
// kernel updates or invalidates its cached entries and attributes on each reply (sizes on write, atime on read,
// nlink/ctime on link/unlink/rename, the parent on create). So entries, negative entries and attributes are cached
// for a day: a stat or path walk of a known name costs no request.

FsService& service(fuse_req_t req) { return *static_cast<FsService*>(fuse_req_userdata(req)); }
Filesystem& filesystem(fuse_req_t req) { return *service(req).filesystem(); }

// Runs `work` on the worker pool; a handler that throws answers EIO instead of leaving the request unanswered.
template <class Work>
void defer(fuse_req_t req, Work work) {
    boost::asio::post(service(req).workers(), [req, work = std::move(work)]() mutable {
        try {
            work();
        } catch (const std::exception& e) {
            log::error("fs", std::string("request failed: ") + e.what());
            fuse_reply_err(req, EIO);
        }
    });
}

Caller caller_of(fuse_req_t req) {
    const fuse_ctx* ctx = fuse_req_ctx(req);
    return Caller{ctx->uid, ctx->gid, ctx->umask};
}

void reply_entry(fuse_req_t req, int rc, const struct stat& attr) {
    if (rc) {
        fuse_reply_err(req, rc);
        return;
    }
    fuse_entry_param e{};
    e.ino = attr.st_ino;
    e.generation = 1;
    e.attr = attr;
    e.attr_timeout = kAttrTimeout;
    e.entry_timeout = kAttrTimeout;
    fuse_reply_entry(req, &e);
}

// Whether the caller belongs to `gid`, its supplementary groups read from /proc (libfuse 3.14's
// fuse_req_getgroups reads past the end of its buffer: ASan caught it). A caller that is gone counts as outside,
// which clears the bit: the safe side.
bool caller_in_group(fuse_req_t req, uint32_t gid) {
    const fuse_ctx* ctx = fuse_req_ctx(req);
    if (ctx->gid == gid)
        return true;
    std::ifstream status("/proc/" + std::to_string(ctx->pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (!line.starts_with("Groups:"))
            continue;
        std::istringstream groups(line.substr(std::strlen("Groups:")));
        for (uint32_t group = 0; groups >> group;)
            if (group == gid)
                return true;
        return false;
    }
    return false;
}

// After a write or truncate by a caller without CAP_FSETID: see Filesystem::lone_setgid_group().
void drop_setgid_outside_group(fuse_req_t req, fuse_ino_t ino) {
    if (auto group = filesystem(req).lone_setgid_group(ino); group && !caller_in_group(req, *group))
        filesystem(req).clear_setgid(ino);
}

void op_init(void* userdata, fuse_conn_info* conn) {
    static_cast<FsService*>(userdata)->on_init((conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0);
    negotiate_connection(conn);
}

}  // namespace

void negotiate_connection(fuse_conn_info* conn) {
    auto want = [conn](unsigned cap) {
        if (conn->capable & cap)
            conn->want |= cap;
    };
    want(FUSE_CAP_POSIX_ACL);
    want(FUSE_CAP_DONT_MASK);  // the umask is applied here, unless a default ACL takes its place
    want(FUSE_CAP_ATOMIC_O_TRUNC);
    want(FUSE_CAP_ASYNC_READ);
    want(FUSE_CAP_PARALLEL_DIROPS);
    want(FUSE_CAP_READDIRPLUS);
    want(FUSE_CAP_READDIRPLUS_AUTO);
    want(FUSE_CAP_EXPORT_SUPPORT);
    // v1 KILLPRIV is declined: KILLPRIV_V2 (fuse_killpriv.hpp, which libfuse 3.14 cannot ask for) takes its place.
    // The request buffer is plain memory: no splice.
    conn->want &= ~(FUSE_CAP_HANDLE_KILLPRIV | FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
                    FUSE_CAP_WRITEBACK_CACHE);
    // Largest requests this kernel takes (max_pages 256): 1 MiB writes and readahead; reads follow max_readahead.
    conn->max_write = 1u << 20;
    conn->max_readahead = 1u << 20;
    conn->max_background = 64;
    conn->congestion_threshold = 48;
    conn->time_gran = 1;
}

namespace {

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    struct stat attr {};
    int rc = filesystem(req).lookup(parent, name, attr);
    if (rc == ENOENT) {  // a negative entry the kernel may cache for the attribute timeout
        fuse_entry_param e{};
        e.entry_timeout = kAttrTimeout;
        fuse_reply_entry(req, &e);
        return;
    }
    reply_entry(req, rc, attr);
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
    filesystem(req).forget(ino, nlookup);
    fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
    for (size_t i = 0; i < count; ++i)
        filesystem(req).forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    struct stat attr {};
    if (int rc = filesystem(req).getattr(ino, attr))
        fuse_reply_err(req, rc);
    else
        fuse_reply_attr(req, &attr, kAttrTimeout);
}

int64_t to_ns(const struct timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
    Filesystem::SetAttr change;
    if (to_set & FUSE_SET_ATTR_MODE)
        change.mode = attr->st_mode;
    if (to_set & FUSE_SET_ATTR_UID)
        change.uid = attr->st_uid;
    if (to_set & FUSE_SET_ATTR_GID)
        change.gid = attr->st_gid;
    if (to_set & FUSE_SET_ATTR_SIZE)
        change.size = static_cast<uint64_t>(attr->st_size);
    if (to_set & FUSE_SET_ATTR_ATIME_NOW)
        change.atime_ns = now_ns();
    else if (to_set & FUSE_SET_ATTR_ATIME)
        change.atime_ns = to_ns(attr->st_atim);
    if (to_set & FUSE_SET_ATTR_MTIME_NOW)
        change.mtime_ns = now_ns();
    else if (to_set & FUSE_SET_ATTR_MTIME)
        change.mtime_ns = to_ns(attr->st_mtim);
    change.kill_suidgid = request_kills_suidgid();
    auto run = [req, ino, change] {
        struct stat out {};
        int rc = filesystem(req).setattr(ino, change, out);
        if (rc == 0 && change.size && change.kill_suidgid && (out.st_mode & S_ISGID)) {
            drop_setgid_outside_group(req, ino);
            rc = filesystem(req).getattr(ino, out);
        }
        if (rc)
            fuse_reply_err(req, rc);
        else
            fuse_reply_attr(req, &out, kAttrTimeout);
    };
    if (change.size)
        defer(req, run);  // a truncate may remove blocks from disks
    else
        run();
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
    std::string target;
    if (int rc = filesystem(req).readlink(ino, target))
        fuse_reply_err(req, rc);
    else
        fuse_reply_readlink(req, target.c_str());
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
    struct stat attr {};
    reply_entry(req, filesystem(req).mknod(parent, name, mode, rdev, caller_of(req), attr), attr);
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
    struct stat attr {};
    reply_entry(req, filesystem(req).mkdir(parent, name, mode, caller_of(req), attr), attr);
}

void op_symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
    struct stat attr {};
    reply_entry(req, filesystem(req).symlink(parent, name, link, caller_of(req), attr), attr);
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) {
    struct stat attr {};
    reply_entry(req, filesystem(req).link(ino, new_parent, new_name, attr), attr);
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
    fuse_reply_err(req, filesystem(req).unlink(parent, name));
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
    fuse_reply_err(req, filesystem(req).rmdir(parent, name));
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent, const char* new_name,
               unsigned flags) {
    fuse_reply_err(req, filesystem(req).rename(parent, name, new_parent, new_name, flags));
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    const bool truncate = (fi->flags & O_TRUNC) != 0;
    fi->keep_cache = truncate ? 0 : 1;  // every change goes through this kernel, so its page cache stays right
    fi->noflush = 1;  // FLUSH has nothing to do (errors surface at fsync): spare close() a round trip
    fuse_file_info copy = *fi;
    auto run = [req, ino, truncate, copy, kill_suidgid = request_kills_suidgid()] {
        if (int rc = filesystem(req).open(ino, truncate, kill_suidgid)) {
            fuse_reply_err(req, rc);
            return;
        }
        if (truncate && kill_suidgid)
            drop_setgid_outside_group(req, ino);
        fuse_reply_open(req, &copy);
    };
    if (truncate)
        defer(req, run);
    else
        run();
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
    struct stat attr {};
    Filesystem& fs = filesystem(req);
    if (int rc = fs.mknod(parent, name, S_IFREG | (mode & 07777), 0, caller_of(req), attr)) {
        fuse_reply_err(req, rc);
        return;
    }
    (void)fs.open(attr.st_ino, false);
    fuse_entry_param e{};
    e.ino = attr.st_ino;
    e.generation = 1;
    e.attr = attr;
    e.attr_timeout = kAttrTimeout;
    e.entry_timeout = kAttrTimeout;
    fi->keep_cache = 1;
    fi->noflush = 1;
    fuse_reply_create(req, &e, fi);
}

// Holes and bytes past a short block are sent from this (reads are at most 1 MiB, max_pages 256).
const std::vector<std::byte>& zeros() {
    static const std::vector<std::byte> bytes(1u << 20);
    return bytes;
}

// Straight from the block buffers into the kernel (one writev): no intermediate copy of the bytes.
void reply_pieces(fuse_req_t req, const std::vector<Filesystem::ReadPiece>& pieces) {
    std::vector<iovec> iov;
    for (const auto& piece : pieces)
        for (size_t done = 0; done < piece.size;) {
            const size_t n = piece.data ? piece.size - done : std::min(piece.size - done, zeros().size());
            const std::byte* from = piece.data ? piece.data + done : zeros().data();
            iov.push_back(iovec{const_cast<std::byte*>(from), n});
            done += n;
        }
    if (iov.empty())
        fuse_reply_buf(req, nullptr, 0);
    else
        fuse_reply_iov(req, iov.data(), static_cast<int>(iov.size()));
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    // Blocks already in memory (prefetched, cached, dirty) are answered here; the rest wait on a worker.
    std::vector<Filesystem::ReadPiece> pieces;
    const int now = filesystem(req).try_read(ino, static_cast<uint64_t>(off), size, pieces);
    if (now > 0) {
        fuse_reply_err(req, now);
        return;
    }
    if (now == 0) {
        reply_pieces(req, pieces);
        return;
    }
    defer(req, [req, ino, size, off] {
        std::vector<Filesystem::ReadPiece> waited;
        if (int rc = filesystem(req).read(ino, static_cast<uint64_t>(off), size, waited))
            fuse_reply_err(req, rc);
        else
            reply_pieces(req, waited);
    });
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info*) {
    // Most writes only fill memory buffers: answer them here, without a copy and a hop to a worker.
    const bool kill_suidgid = request_kills_suidgid();
    const int now = filesystem(req).try_write(ino, static_cast<uint64_t>(off),
                                              std::span(reinterpret_cast<const std::byte*>(buf), size), kill_suidgid);
    if (now > 0) {
        fuse_reply_err(req, now);
        return;
    }
    if (now == 0) {
        if (kill_suidgid)
            drop_setgid_outside_group(req, ino);
        fuse_reply_write(req, size);
        return;
    }
    // The write must wait (dirty memory full, a truncate, a block to read first). The request buffer is reused for
    // the next request as soon as this returns: copy the data.
    auto data = std::make_shared<std::vector<std::byte>>(reinterpret_cast<const std::byte*>(buf),
                                                         reinterpret_cast<const std::byte*>(buf) + size);
    defer(req, [req, ino, off, data, kill_suidgid] {
        if (int rc = filesystem(req).write(ino, static_cast<uint64_t>(off), *data, kill_suidgid)) {
            fuse_reply_err(req, rc);
            return;
        }
        if (kill_suidgid)
            drop_setgid_outside_group(req, ino);
        fuse_reply_write(req, data->size());
    });
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void op_release(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    fuse_reply_err(req, filesystem(req).release(ino));
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
    defer(req, [req, ino, datasync] { fuse_reply_err(req, filesystem(req).fsync(ino, datasync != 0)); });
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
    defer(req, [req, ino] { fuse_reply_err(req, filesystem(req).fsyncdir(ino)); });
}

// A directory handle carries no state here, so OPENDIR and RELEASEDIR are left to the kernel where it can do them
// itself (ENOSYS, "zero-message opendir": two round trips fewer per directory walked), and it then caches readdir
// results as if opened with cache_readdir and keep_cache, as the reply asks otherwise: a second walk of a tree (find,
// then du) reads no directory from here. The cache stays right for the same reason the day-long entry timeouts do:
// every change to a directory goes through this kernel, which drops the cache when the directory changes (its
// i_version and mtime move on create, unlink, rename, link, ...).
void op_opendir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    if (service(req).opendir_in_kernel()) {
        fuse_reply_err(req, ENOSYS);
        return;
    }
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

// The smallest entry fuse_add_direntry / fuse_add_direntry_plus can add (a one-byte name, 8-byte aligned): asking the
// namespace for size / that many entries never leaves a reply short, and no more are built than can fit.
constexpr size_t kMinDirent = 32;
constexpr size_t kMinDirentPlus = 160;

void read_directory(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus) {
    std::vector<DirEntry> entries;
    Filesystem& fs = filesystem(req);
    const size_t most = size / (plus ? kMinDirentPlus : kMinDirent) + 1;
    if (int rc = fs.readdir(ino, static_cast<uint64_t>(off), most, entries)) {
        fuse_reply_err(req, rc);
        return;
    }
    std::vector<char> buffer(size);
    size_t used = 0;
    for (const auto& entry : entries) {
        size_t needed = 0;
        if (plus) {
            fuse_entry_param e{};
            e.ino = entry.attr.st_ino;
            e.generation = 1;
            e.attr = entry.attr;
            e.attr_timeout = kAttrTimeout;
            e.entry_timeout = kAttrTimeout;
            needed = fuse_add_direntry_plus(req, buffer.data() + used, size - used, entry.name.c_str(), &e,
                                            static_cast<off_t>(entry.cookie));
        } else {
            needed = fuse_add_direntry(req, buffer.data() + used, size - used, entry.name.c_str(), &entry.attr,
                                       static_cast<off_t>(entry.cookie));
        }
        if (needed > size - used)
            break;
        used += needed;
        if (plus && entry.name != "." && entry.name != "..")
            fs.retain(entry.attr.st_ino);
    }
    fuse_reply_buf(req, buffer.data(), used);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    read_directory(req, ino, size, off, false);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    read_directory(req, ino, size, off, true);
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
    defer(req, [req] {
        FsStats stats = filesystem(req).statfs();
        struct statvfs out {};
        out.f_bsize = 4096;
        out.f_frsize = 4096;
        out.f_blocks = stats.total_bytes / 4096;
        out.f_bfree = stats.free_bytes / 4096;
        out.f_bavail = stats.free_bytes / 4096;
        out.f_files = stats.files + (stats.free_bytes / 4096);
        out.f_ffree = stats.free_bytes / 4096;
        out.f_favail = out.f_ffree;
        out.f_namemax = 255;
        fuse_reply_statfs(req, &out);
    });
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags) {
    fuse_reply_err(req, filesystem(req).setxattr(ino, name, std::string_view(value, size), flags));
}

void reply_sized(fuse_req_t req, int rc, const std::string& value, size_t size) {
    if (rc)
        fuse_reply_err(req, rc);
    else if (size == 0)
        fuse_reply_xattr(req, value.size());
    else if (value.size() > size)
        fuse_reply_err(req, ERANGE);
    else
        fuse_reply_buf(req, value.data(), value.size());
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
    std::string value;
    int rc = filesystem(req).getxattr(ino, name, value);
    reply_sized(req, rc, value, size);
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    std::string names;
    int rc = filesystem(req).listxattr(ino, names);
    reply_sized(req, rc, names, size);
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
    fuse_reply_err(req, filesystem(req).removexattr(ino, name));
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, fuse_file_info*) {
    // The kernel sends no CAP_FSETID hint with these two; a non-root caller stands in for "lacks CAP_FSETID".
    defer(req, [req, ino, mode, offset, length, kill_suidgid = fuse_req_ctx(req)->uid != 0] {
        fuse_reply_err(req, filesystem(req).fallocate(ino, mode, static_cast<uint64_t>(offset),
                                                      static_cast<uint64_t>(length), kill_suidgid));
    });
}

void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info*) {
    uint64_t out = 0;
    if (int rc = filesystem(req).lseek(ino, static_cast<uint64_t>(off), whence, out))
        fuse_reply_err(req, rc);
    else
        fuse_reply_lseek(req, static_cast<off_t>(out));
}

void op_copy_file_range(fuse_req_t req, fuse_ino_t in_ino, off_t in_off, fuse_file_info*, fuse_ino_t out_ino,
                        off_t out_off, fuse_file_info*, size_t len, int) {
    defer(req, [req, in_ino, in_off, out_ino, out_off, len, kill_suidgid = fuse_req_ctx(req)->uid != 0] {
        size_t copied = 0;
        if (int rc = filesystem(req).copy_file_range(in_ino, static_cast<uint64_t>(in_off), out_ino,
                                                     static_cast<uint64_t>(out_off), len, copied, kill_suidgid))
            fuse_reply_err(req, rc);
        else
            fuse_reply_write(req, copied);
    });
}

fuse_lowlevel_ops make_operations() {
    fuse_lowlevel_ops ops{};
    ops.init = op_init;
    ops.lookup = op_lookup;
    ops.forget = op_forget;
    ops.forget_multi = op_forget_multi;
    ops.getattr = op_getattr;
    ops.setattr = op_setattr;
    ops.readlink = op_readlink;
    ops.mknod = op_mknod;
    ops.mkdir = op_mkdir;
    ops.symlink = op_symlink;
    ops.link = op_link;
    ops.unlink = op_unlink;
    ops.rmdir = op_rmdir;
    ops.rename = op_rename;
    ops.open = op_open;
    ops.create = op_create;
    ops.read = op_read;
    ops.write = op_write;
    ops.flush = op_flush;
    ops.release = op_release;
    ops.fsync = op_fsync;
    ops.fsyncdir = op_fsyncdir;
    ops.opendir = op_opendir;
    ops.readdir = op_readdir;
    ops.readdirplus = op_readdirplus;
    ops.statfs = op_statfs;
    ops.setxattr = op_setxattr;
    ops.getxattr = op_getxattr;
    ops.listxattr = op_listxattr;
    ops.removexattr = op_removexattr;
    ops.fallocate = op_fallocate;
    ops.lseek = op_lseek;
    ops.copy_file_range = op_copy_file_range;
    return ops;
}

}  // namespace

const fuse_lowlevel_ops& fuse_operations() {
    static const fuse_lowlevel_ops ops = make_operations();
    return ops;
}

}  // namespace tiercel::fs
