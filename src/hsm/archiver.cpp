// Premigrate (payload written, verified, cataloged) and stub (marked, then punched) for one file.
#include "tiercel/hsm/archiver.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <utility>
#include <vector>

#include "tiercel/hsm/file_state.hpp"

namespace tiercel::hsm {
namespace {

struct Fd {
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    Fd(Fd&& other) noexcept : fd(std::exchange(other.fd, -1)) {}
    Fd& operator=(Fd&&) = delete;
    ~Fd() {
        if (fd >= 0)
            ::close(fd);
    }
};

Result<std::string> absolute(const std::string& path) {
    std::error_code ec;
    auto result = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
    if (ec)
        return make_error(Errc::invalid_input, path + ": " + ec.message());
    return result.string();
}

// Writes and verifies one copy; returns the payload size.
Result<uint64_t> write_copy(Target& target, int fd, const PayloadHeader& header, const std::string& key, int level,
                            WrittenPayload& written) {
    TIERCEL_ASSIGN(auto writer, target.create(key));
    TIERCEL_ASSIGN(written, write_payload(fd, header, *writer, level));
    TIERCEL_TRY(writer->commit());
    TIERCEL_ASSIGN(auto source, target.open(key));
    TIERCEL_ASSIGN(auto stored_header, read_header(*source));
    TIERCEL_ASSIGN(auto table, read_seek_table(*source));
    if (stored_header.blake2b != written.header.blake2b || table.frames.size() != written.table.frames.size())
        return make_error(Errc::corruption, "target " + target.name() + ": " + key + " reads back differently");
    TIERCEL_TRY(verify_payload(*source, stored_header, table));
    return written.payload_size;
}

// Premigrations into one catalog take turns across processes (the CLI, the daemon's job thread and its policy
// runner): two writers of the same new version would write the same payload key, and the loser's cleanup would
// remove the object the winner recorded. flock() also excludes two opens in one process.
Result<Fd> lock_archiving(Catalog& catalog) {
    std::string path = catalog.database().path() + ".archive-lock";
    Fd lock{::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)};
    if (lock.fd < 0)
        return Error::from_errno(errno, path);
    while (::flock(lock.fd, LOCK_EX) != 0)
        if (errno != EINTR)
            return Error::from_errno(errno, "flock " + path);
    return lock;
}

Result<bool> matches_current_version(Catalog& catalog, int fd, const Snapshot& now) {
    TIERCEL_ASSIGN(auto state, read_state(fd));
    if (!state || state->state != "premigrated")
        return false;
    TIERCEL_ASSIGN(auto version, catalog.version(state->file_id, state->version));
    return version && version->size == now.size && version->mtime_ns == now.mtime_ns;
}

}  // namespace

Target* Targets::find(const std::string& name) const {
    for (const auto& target : all)
        if (target->name() == name)
            return target.get();
    return nullptr;
}

Result<Targets> make_targets(const HsmConfig& config, pool::Pool* pool, const std::string& scratch_dir,
                             pool::PoolGate gate) {
    Targets targets;
    for (const auto& target : config.targets) {
        if (target.type == "dir")
            targets.all.push_back(make_dir_target(target.name, target.path));
        else if (pool)
            targets.all.push_back(make_pool_target(target.name, *pool, scratch_dir, gate));
        else
            return make_error(Errc::unavailable, "hsm target " + target.name +
                                                     ": type pool needs the pool ([pool] in the config, opened)");
    }
    return targets;
}

bool has_pool_target(const HsmConfig& config) {
    for (const auto& target : config.targets)
        if (target.type == "pool")
            return true;
    return false;
}

Result<PremigrateResult> premigrate(Catalog& catalog, const std::vector<Target*>& targets, const std::string& path_in,
                                    int compression_level) {
    if (targets.empty())
        return make_error(Errc::invalid_input, "no target to archive " + path_in + " to");
    TIERCEL_ASSIGN(auto path, absolute(path_in));
    TIERCEL_ASSIGN(Fd turn, lock_archiving(catalog));
    Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
    if (file.fd < 0)
        return Error::from_errno(errno, path);
    TIERCEL_ASSIGN(auto before, snapshot(file.fd));
    if (!S_ISREG(before.mode))
        return make_error(Errc::invalid_input, path + " is not a regular file");
    TIERCEL_ASSIGN(auto state, read_state(file.fd));
    if (state && (state->state == "stub" || state->state == "partial"))
        return make_error(Errc::invalid_input, path + " is already a stub (state " + state->state + ")");
    TIERCEL_ASSIGN(bool current, matches_current_version(catalog, file.fd, before));
    if (current) {
        PremigrateResult result;
        result.file_id = state->file_id;
        result.version = state->version;
        result.size = before.size;
        result.already = true;
        return result;
    }
    TIERCEL_ASSIGN(auto file_id, catalog.ensure_file(path));
    TIERCEL_ASSIGN(auto version, catalog.next_version(file_id));
    PayloadHeader header;
    header.path = path;
    header.size = before.size;
    header.mode = before.mode;
    header.uid = before.uid;
    header.gid = before.gid;
    header.atime_ns = before.atime_ns;
    header.mtime_ns = before.mtime_ns;
    header.ctime_ns = before.ctime_ns;
    TIERCEL_ASSIGN(header.xattrs, read_xattrs(file.fd));
    header.file_id = file_id;
    header.version = version;

    auto key = payload_key(file_id, version);
    std::vector<CopyRow> copies;
    WrittenPayload written;
    auto discard = [&] {
        for (Target* target : targets)
            (void)target->remove(key);
    };
    for (Target* target : targets) {
        auto size = write_copy(*target, file.fd, header, key, compression_level, written);
        if (!size) {
            discard();
            return size.error().context(path);
        }
        copies.push_back({file_id, version, target->name(), key, *size, now_ns()});
    }
    TIERCEL_ASSIGN(auto after, snapshot(file.fd));
    if (!same_identity(before, after)) {
        discard();
        (void)catalog.add_event("archive-skipped", path, "changed while being archived; left untouched");
        return make_error(Errc::busy, path + " changed while being archived; it was left untouched");
    }
    VersionRow row{file_id, version, before.size, before.mode, before.uid, before.gid,
                   before.mtime_ns, before.ctime_ns, written.header.blake2b, now_ns()};
    if (auto recorded = catalog.add_version(row, copies, written.table); !recorded) {
        discard();
        return recorded.error();
    }
    TIERCEL_TRY(write_state(file.fd, {"premigrated", file_id, version}));
    (void)restore_times(file.fd, before);  // reading set atime (unless noatime); put it back
    (void)catalog.add_event("premigrate", path, "version " + std::to_string(version) + ", " +
                                                    std::to_string(copies.size()) + " copies");
    PremigrateResult result;
    result.file_id = file_id;
    result.version = version;
    result.size = before.size;
    result.blake2b = written.header.blake2b;
    for (const auto& copy : copies)
        result.payload_bytes += copy.payload_size;
    return result;
}

Status stub(Catalog& catalog, const std::string& path_in, const MarkFn& mark) {
    TIERCEL_ASSIGN(auto path, absolute(path_in));
    Fd file{::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW)};
    if (file.fd < 0)
        return Error::from_errno(errno, path);
    TIERCEL_ASSIGN(auto before, snapshot(file.fd));
    TIERCEL_ASSIGN(auto state, read_state(file.fd));
    if (state && (state->state == "stub" || state->state == "partial"))
        return {};  // already a stub
    TIERCEL_ASSIGN(bool current, matches_current_version(catalog, file.fd, before));
    if (!current)
        return make_error(Errc::invalid_input, path + " is not premigrated, or changed since (premigrate it first)");
    // A write lease is granted only while nobody else has the file open, and makes a new opener wait until it is
    // released: no reader is inside the file while its data is punched out. SIGURG (ignored by default) instead of
    // SIGIO (fatal by default) reports a lease break, which only shortens the wait.
    if (::fcntl(file.fd, F_SETSIG, SIGURG) != 0 || ::fcntl(file.fd, F_SETLEASE, F_WRLCK) != 0)
        return make_error(Errc::busy, path + " is open in another process: not stubbed (try again later)");
    struct LeaseRelease {
        int fd;
        ~LeaseRelease() { ::fcntl(fd, F_SETLEASE, F_UNLCK); }
    } lease{file.fd};
    // Catalog and xattr say "stub" before any byte goes: after a crash from here on, the next daemon marks the file
    // again and a read recalls it (rewriting bytes that may still be there) instead of reading holes.
    TIERCEL_TRY(catalog.set_state(state->file_id, "stub"));
    TIERCEL_TRY(write_state(file.fd, {"stub", state->file_id, state->version}));
    auto undo = [&](const Error& error) -> Error {
        (void)write_state(file.fd, {"premigrated", state->file_id, state->version});
        (void)catalog.set_state(state->file_id, "premigrated");
        return error;
    };
    // A hole punch only zeroes a partial last block, which would then look present (no hole) to the recall. Cut the
    // file back to the block boundary and extend it again first: with a mark in place the truncate would raise an
    // event whose fd the kernel cannot open under our lease. The lease keeps readers out; the tail is kept in memory
    // in case the mark fails.
    uint64_t tail = before.size % 4096;
    std::vector<uint8_t> tail_bytes(tail);
    if (tail != 0) {
        auto cut = static_cast<off_t>(before.size - tail);
        if (::pread(file.fd, tail_bytes.data(), tail, cut) != static_cast<ssize_t>(tail) || ::ftruncate(file.fd, cut) != 0 ||
            ::ftruncate(file.fd, static_cast<off_t>(before.size)) != 0)
            return undo(Error::from_errno(errno, "making the tail of " + path + " a hole"));
    }
    if (auto marked = mark(file.fd); !marked) {
        if (tail != 0 && ::pwrite(file.fd, tail_bytes.data(), tail, static_cast<off_t>(before.size - tail)) !=
                             static_cast<ssize_t>(tail))
            return marked.error().context("and putting back the tail of " + path + " failed (it recalls on read)");
        (void)restore_times(file.fd, before);
        return undo(marked.error());
    }
    if (before.size > tail && ::fallocate(file.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                                          static_cast<off_t>(before.size - tail)) != 0)
        return Error::from_errno(errno, "punching out " + path + " (it stays a stub and recalls on read)");
    TIERCEL_TRY(restore_times(file.fd, before));
    (void)catalog.add_event("stub", path, "version " + std::to_string(state->version));
    return {};
}

}  // namespace tiercel::hsm
