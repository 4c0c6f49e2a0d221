// fuse_meta_ceiling: the FUSE metadata transport's ceiling on this machine, for comparison with tiercel's mount.
// Usage: fuse_meta_ceiling MOUNTPOINT [--transport uring|dev]   (runs in the foreground until unmounted)
//
// Mounts an empty in-memory filesystem that answers the namespace and small-file requests (lookup, getattr, setattr,
// create, open, write, release, unlink, mkdir, rmdir, symlink, readlink, link, readdir, xattrs, statfs) from maps:
// no pool, no metadata store, no write-back. Written bytes are counted, not kept (nothing reads them back). It asks
// the kernel for what tiercel's mount asks: fs::kBaseMountOptions, fs::kAttrTimeout for entries and attributes,
// noflush opens, no OPENDIR, the INIT answer from fs::negotiate_connection, and FUSE_HANDLE_KILLPRIV_V2 through
// fs/fuse_killpriv.hpp (without it the kernel sends a GETATTR and a GETXATTR more per chown and per written file).
// It answers through tiercel's own FUSE-over-io_uring queues (fs/fuse_uring.hpp, the default) or plain /dev/fuse.
// So the kernel sends it the same requests per file as it sends tiercel, over the same transport, and
// bench/fuse_bench.py's `meta-ceiling` and `untar-ceiling` rows measure what those round trips alone cost: the part
// of a metadata gap between tiercel and ext4 that lies below this line is not tiercel's handlers. Single-threaded on
// /dev/fuse; one thread per CPU on the rings.
#include "fs/fuse_ops.hpp"  // first: it sets FUSE_USE_VERSION for fuse_lowlevel.h

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fs/fuse_killpriv.hpp"
#include "fs/fuse_uring.hpp"

namespace {

using tiercel::fs::kAttrTimeout;

struct Node {
    struct stat st {};
    std::map<std::string, fuse_ino_t, std::less<>> children;  // directories only
    std::string link_target;                                  // symlinks only
    std::map<std::string, std::string, std::less<>> xattrs;
};

std::mutex mu;  // ring queues answer on one thread per CPU
std::map<fuse_ino_t, Node> nodes;
fuse_ino_t next_ino = FUSE_ROOT_ID + 1;
std::atomic<tiercel::fs::FuseUring*> rings{nullptr};
tiercel::fs::KillPrivNegotiation killpriv;  // INIT comes on /dev/fuse; its answer goes through write_reply
bool init_seen = false;

void reply_entry(fuse_req_t req, const Node& node) {
    fuse_entry_param e{};
    e.ino = node.st.st_ino;
    e.attr = node.st;
    e.attr_timeout = e.entry_timeout = kAttrTimeout;
    fuse_reply_entry(req, &e);
}

Node* find(fuse_ino_t ino) {
    auto it = nodes.find(ino);
    return it == nodes.end() ? nullptr : &it->second;
}

void on_init(void*, fuse_conn_info* conn) {
    init_seen = true;
    tiercel::fs::negotiate_connection(conn);
}

void on_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    std::lock_guard lock(mu);
    Node* dir = find(parent);
    auto it = dir ? dir->children.find(name) : decltype(dir->children.end()){};
    if (!dir || it == dir->children.end()) {
        fuse_entry_param negative{};  // cached like tiercel's
        negative.entry_timeout = kAttrTimeout;
        fuse_reply_entry(req, &negative);
        return;
    }
    reply_entry(req, nodes[it->second]);
}

void on_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    std::lock_guard lock(mu);
    if (Node* node = find(ino))
        fuse_reply_attr(req, &node->st, kAttrTimeout);
    else
        fuse_reply_err(req, ENOENT);
}

void on_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
    std::lock_guard lock(mu);
    Node* node = find(ino);
    if (!node) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (to_set & FUSE_SET_ATTR_MODE)
        node->st.st_mode = (node->st.st_mode & S_IFMT) | (attr->st_mode & 07777);
    if (to_set & FUSE_SET_ATTR_UID)
        node->st.st_uid = attr->st_uid;
    if (to_set & FUSE_SET_ATTR_GID)
        node->st.st_gid = attr->st_gid;
    if (to_set & FUSE_SET_ATTR_SIZE)
        node->st.st_size = attr->st_size;
    if (to_set & FUSE_SET_ATTR_MTIME)
        node->st.st_mtim = attr->st_mtim;
    if (to_set & FUSE_SET_ATTR_ATIME)
        node->st.st_atim = attr->st_atim;
    fuse_reply_attr(req, &node->st, kAttrTimeout);
}

// A new child of `parent`, or an errno.
int make_node(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, Node*& made) {
    Node* dir = find(parent);
    if (!dir)
        return ENOENT;
    if (dir->children.count(name))
        return EEXIST;
    const fuse_ctx* ctx = fuse_req_ctx(req);
    Node& node = nodes[next_ino];
    node.st.st_ino = next_ino;
    node.st.st_mode = mode;
    node.st.st_nlink = S_ISDIR(mode) ? 2 : 1;
    node.st.st_uid = ctx->uid;
    node.st.st_gid = ctx->gid;
    node.st.st_blksize = 4096;
    dir->children.emplace(name, next_ino++);
    if (S_ISDIR(mode))
        dir->st.st_nlink++;
    made = &node;
    return 0;
}

void on_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
    std::lock_guard lock(mu);
    Node* made = nullptr;
    if (int rc = make_node(req, parent, name, S_IFREG | (mode & 07777), made)) {
        fuse_reply_err(req, rc);
        return;
    }
    fi->keep_cache = 1;
    fi->noflush = 1;
    fuse_entry_param e{};
    e.ino = made->st.st_ino;
    e.attr = made->st;
    e.attr_timeout = e.entry_timeout = kAttrTimeout;
    fuse_reply_create(req, &e, fi);
}

void on_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
    std::lock_guard lock(mu);
    Node* made = nullptr;
    if (int rc = make_node(req, parent, name, S_IFDIR | (mode & 07777), made))
        fuse_reply_err(req, rc);
    else
        reply_entry(req, *made);
}

void remove_child(fuse_req_t req, fuse_ino_t parent, const char* name, bool directory) {
    std::lock_guard lock(mu);
    Node* dir = find(parent);
    auto it = dir ? dir->children.find(name) : decltype(dir->children.end()){};
    if (!dir || it == dir->children.end()) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    Node& child = nodes[it->second];
    if (directory && !child.children.empty()) {
        fuse_reply_err(req, ENOTEMPTY);
        return;
    }
    if (directory)
        dir->st.st_nlink--;
    child.st.st_nlink = directory ? 0 : child.st.st_nlink - 1;  // nodes stay in the map: the benchmarks are short
    dir->children.erase(it);
    fuse_reply_err(req, 0);
}

void on_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) { remove_child(req, parent, name, false); }
void on_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) { remove_child(req, parent, name, true); }

void on_open(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    fi->keep_cache = 1;
    fi->noflush = 1;
    fuse_reply_open(req, fi);
}

void on_release(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }
void on_fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) { fuse_reply_err(req, 0); }

void on_write(fuse_req_t req, fuse_ino_t ino, const char*, size_t size, off_t offset, fuse_file_info*) {
    std::lock_guard lock(mu);
    Node* node = find(ino);
    if (!node) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    node->st.st_size = std::max<off_t>(node->st.st_size, offset + static_cast<off_t>(size));
    node->st.st_blocks = (node->st.st_size + 511) / 512;
    fuse_reply_write(req, size);
}

void on_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
    std::lock_guard lock(mu);
    Node* made = nullptr;
    if (int rc = make_node(req, parent, name, S_IFLNK | 0777, made)) {
        fuse_reply_err(req, rc);
        return;
    }
    made->link_target = target;
    made->st.st_size = static_cast<off_t>(made->link_target.size());
    reply_entry(req, *made);
}

void on_readlink(fuse_req_t req, fuse_ino_t ino) {
    std::lock_guard lock(mu);
    Node* node = find(ino);
    if (node && S_ISLNK(node->st.st_mode))
        fuse_reply_readlink(req, node->link_target.c_str());
    else
        fuse_reply_err(req, node ? EINVAL : ENOENT);
}

void on_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char* name) {
    std::lock_guard lock(mu);
    Node* node = find(ino);
    Node* dir = find(parent);
    if (!node || !dir) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (!dir->children.emplace(name, ino).second) {
        fuse_reply_err(req, EEXIST);
        return;
    }
    node->st.st_nlink++;
    reply_entry(req, *node);
}

void on_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int) {
    std::lock_guard lock(mu);
    if (Node* node = find(ino)) {
        node->xattrs[name] = std::string(value, size);
        fuse_reply_err(req, 0);
    } else {
        fuse_reply_err(req, ENOENT);
    }
}

void on_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
    std::lock_guard lock(mu);
    Node* node = find(ino);
    auto it = node ? node->xattrs.find(name) : decltype(node->xattrs.end()){};
    if (!node || it == node->xattrs.end())
        fuse_reply_err(req, node ? ENODATA : ENOENT);
    else if (size == 0)
        fuse_reply_xattr(req, it->second.size());
    else if (size < it->second.size())
        fuse_reply_err(req, ERANGE);
    else
        fuse_reply_buf(req, it->second.data(), it->second.size());
}

void on_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    std::lock_guard lock(mu);
    Node* node = find(ino);
    if (!node) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    std::string names;
    for (const auto& [name, value] : node->xattrs)
        names.append(name).push_back('\0');
    if (size == 0)
        fuse_reply_xattr(req, names.size());
    else if (size < names.size())
        fuse_reply_err(req, ERANGE);
    else
        fuse_reply_buf(req, names.data(), names.size());
}

void on_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
    std::lock_guard lock(mu);
    Node* node = find(ino);
    fuse_reply_err(req, !node ? ENOENT : node->xattrs.erase(name) ? 0 : ENODATA);
}
void on_opendir(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, ENOSYS); }
void on_forget(fuse_req_t req, fuse_ino_t, uint64_t) { fuse_reply_none(req); }

void on_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info*) {
    std::lock_guard lock(mu);
    Node* dir = find(ino);
    if (!dir) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    std::vector<char> buffer(size);
    size_t used = 0;
    off_t index = 0;
    for (const auto& [name, child] : dir->children) {
        if (index++ < offset)
            continue;
        const size_t need = fuse_add_direntry(req, buffer.data() + used, size - used, name.c_str(),
                                              &nodes[child].st, index);
        if (need > size - used)
            break;
        used += need;
    }
    fuse_reply_buf(req, buffer.data(), used);
}

void on_statfs(fuse_req_t req, fuse_ino_t) {
    struct statvfs st {};
    st.f_bsize = st.f_frsize = 4096;
    st.f_blocks = st.f_bfree = st.f_bavail = 1u << 30;
    st.f_namemax = 255;
    fuse_reply_statfs(req, &st);
}

ssize_t write_reply(int fd, struct iovec* iov, int count, void*) {
    killpriv.on_reply(iov, count);
    ssize_t written = 0;
    if (tiercel::fs::FuseUring* uring = rings.load(); uring && uring->reply(iov, count, written))
        return written;
    return ::writev(fd, iov, count);
}

ssize_t read_request(int fd, void* buf, size_t len, void*) { return ::read(fd, buf, len); }

}  // namespace

int main(int argc, char** argv) {
    bool use_rings = true;
    if (argc == 4 && std::strcmp(argv[2], "--transport") == 0 &&
        (std::strcmp(argv[3], "uring") == 0 || std::strcmp(argv[3], "dev") == 0)) {
        use_rings = std::strcmp(argv[3], "uring") == 0;
    } else if (argc != 2) {
        std::fprintf(stderr, "usage: fuse_meta_ceiling MOUNTPOINT [--transport uring|dev]\n");
        return 2;
    }
    Node& root = nodes[FUSE_ROOT_ID];
    root.st.st_ino = FUSE_ROOT_ID;
    root.st.st_mode = S_IFDIR | 0755;
    root.st.st_nlink = 2;

    fuse_lowlevel_ops ops{};
    ops.init = on_init;
    ops.lookup = on_lookup;
    ops.forget = on_forget;
    ops.getattr = on_getattr;
    ops.setattr = on_setattr;
    ops.create = on_create;
    ops.mkdir = on_mkdir;
    ops.unlink = on_unlink;
    ops.rmdir = on_rmdir;
    ops.open = on_open;
    ops.release = on_release;
    ops.fsync = on_fsync;
    ops.write = on_write;
    ops.symlink = on_symlink;
    ops.readlink = on_readlink;
    ops.link = on_link;
    ops.setxattr = on_setxattr;
    ops.getxattr = on_getxattr;
    ops.listxattr = on_listxattr;
    ops.removexattr = on_removexattr;
    ops.opendir = on_opendir;
    ops.readdir = on_readdir;
    ops.statfs = on_statfs;
    const std::string options = std::string(tiercel::fs::kBaseMountOptions) + ",fsname=meta-ceiling,subtype=ceiling";
    std::vector<std::string> strings = {"fuse_meta_ceiling", "-o", options};
    std::vector<char*> args_v;
    for (auto& s : strings)
        args_v.push_back(s.data());
    fuse_args args = FUSE_ARGS_INIT(static_cast<int>(args_v.size()), args_v.data());
    fuse_session* session = fuse_session_new(&args, &ops, sizeof ops, nullptr);
    if (!session || fuse_session_mount(session, argv[1]) != 0) {
        std::fprintf(stderr, "fuse_meta_ceiling: cannot mount on %s\n", argv[1]);
        return 1;
    }
    const fuse_custom_io io{&write_reply, &read_request, nullptr, nullptr};
    fuse_session_custom_io(session, &io, fuse_session_fd(session));

    std::unique_ptr<tiercel::fs::FuseUring> uring;
    fuse_buf buf{};
    for (;;) {
        const int received = fuse_session_receive_buf(session, &buf);
        if (received == -EINTR)
            continue;
        if (received <= 0 || fuse_session_exited(session))
            break;
        killpriv.on_request(buf.mem, static_cast<size_t>(received));
        fuse_session_process_buf(session, &buf);
        if (init_seen && use_rings && !uring) {  // the same order as FsService::start_uring
            use_rings = false;
            if (tiercel::fs::enable_fuse_uring()) {
                uring = tiercel::fs::FuseUring::create(session, fuse_session_fd(session), {});
                rings.store(uring.get());
                if (!uring->start()) {
                    std::fprintf(stderr, "fuse_meta_ceiling: the kernel refused the rings; staying on /dev/fuse\n");
                    rings.store(nullptr);
                }
            }
        }
    }
    if (uring)
        uring->stop();
    rings.store(nullptr);
    fuse_session_unmount(session);
    fuse_session_destroy(session);
    std::free(buf.mem);
    return 0;
}
