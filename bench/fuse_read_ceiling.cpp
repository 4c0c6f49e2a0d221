// fuse_read_ceiling: the FUSE read transport's ceiling on this machine, for comparison with tiercel's mount.
// Usage: fuse_read_ceiling MOUNTPOINT [SIZE_MIB]   (default 1024; runs in the foreground until unmounted)
//
// Mounts a read-only filesystem with one file, /big, of SIZE_MIB MiB whose READs are answered from a buffer in
// memory: no disk, no checksums, no erasure coding. It negotiates what tiercel's mount does (1 MiB reads, async
// reads), over libfuse's multi-threaded /dev/fuse loop; bench/fuse_bench.py (--only ceiling) raises the readahead
// to tiercel's 4 MiB through sysfs once the mount is up (the INIT answer would lower it again before) and reads
// /big cold. That measures what the kernel's FUSE path alone costs: the part of a gap between tiercel and ext4 that
// lies above this line is tiercel's own data path. The bytes are a fixed pattern, not zeros.
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

constexpr fuse_ino_t kFileIno = 2;
constexpr size_t kPatternBytes = size_t{4} << 20;  // READs are at most 1 MiB: any offset's bytes fit after it
constexpr double kForever = 86400.0;

uint64_t file_size = uint64_t{1024} << 20;
std::vector<char> pattern;

struct stat attributes(fuse_ino_t ino) {
    struct stat st {};
    st.st_ino = ino;
    if (ino == FUSE_ROOT_ID) {
        st.st_mode = S_IFDIR | 0755;
        st.st_nlink = 2;
    } else {
        st.st_mode = S_IFREG | 0444;
        st.st_nlink = 1;
        st.st_size = static_cast<off_t>(file_size);
    }
    return st;
}

void on_init(void*, fuse_conn_info* conn) {
    conn->max_readahead = 1u << 20;
    if (conn->capable & FUSE_CAP_ASYNC_READ)
        conn->want |= FUSE_CAP_ASYNC_READ;
}

void on_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    if (parent != FUSE_ROOT_ID || std::strcmp(name, "big") != 0) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    fuse_entry_param entry{};
    entry.ino = kFileIno;
    entry.attr = attributes(kFileIno);
    entry.attr_timeout = entry.entry_timeout = kForever;
    fuse_reply_entry(req, &entry);
}

void on_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    const struct stat st = attributes(ino);
    fuse_reply_attr(req, &st, kForever);
}

void on_open(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    fi->keep_cache = 1;  // as tiercel's mount does
    fuse_reply_open(req, fi);
}

void on_read(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info*) {
    const auto at = static_cast<uint64_t>(offset);
    if (at >= file_size) {
        fuse_reply_buf(req, nullptr, 0);
        return;
    }
    size = static_cast<size_t>(std::min<uint64_t>({size, file_size - at, kPatternBytes}));
    fuse_reply_buf(req, pattern.data() + at % kPatternBytes, size);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3 || std::strcmp(argv[1], "--help") == 0) {
        std::fprintf(stderr, "usage: fuse_read_ceiling MOUNTPOINT [SIZE_MIB]\n");
        return 2;
    }
    if (argc == 3) {
        char* end = nullptr;
        const unsigned long long mib = std::strtoull(argv[2], &end, 10);
        if (*end != '\0' || mib == 0 || mib > (1u << 20)) {
            std::fprintf(stderr, "fuse_read_ceiling: SIZE_MIB must be a whole number from 1 to 1048576, not '%s'\n",
                         argv[2]);
            return 2;
        }
        file_size = mib << 20;
    }
    pattern.resize(kPatternBytes + (size_t{1} << 20));
    for (size_t i = 0; i < pattern.size(); ++i)
        pattern[i] = static_cast<char>((i * 131) ^ (i >> 12));

    char* fuse_argv[] = {argv[0], nullptr};
    fuse_args args = FUSE_ARGS_INIT(1, fuse_argv);
    fuse_lowlevel_ops ops{};
    ops.init = on_init;
    ops.lookup = on_lookup;
    ops.getattr = on_getattr;
    ops.open = on_open;
    ops.read = on_read;
    fuse_session* session = fuse_session_new(&args, &ops, sizeof ops, nullptr);
    if (session == nullptr || fuse_session_mount(session, argv[1]) != 0) {
        std::fprintf(stderr, "fuse_read_ceiling: cannot mount on %s\n", argv[1]);
        return 1;
    }
    fuse_set_signal_handlers(session);
    fuse_loop_config* config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(config, 4);
    const int rc = fuse_session_loop_mt(session, config);
    fuse_loop_cfg_destroy(config);
    fuse_remove_signal_handlers(session);
    fuse_session_unmount(session);
    fuse_session_destroy(session);
    return rc == 0 ? 0 : 1;
}
