// The filesystem layer without FUSE, over a 4+2 pool on simulated disks (16 KiB blocks): records, ACL helpers,
// data across blocks, truncate, holes, renames, links, persistence across reopen, copy-on-write per block, and the
// clearing of setuid/setgid/capabilities.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#include "../pool/pool_test_support.hpp"
#include "tiercel/fs/acl.hpp"
#include "tiercel/fs/fs_check.hpp"
#include "tiercel/fs/filesystem.hpp"

namespace tiercel::fs {
namespace {

using pool::testing::random_bytes;

struct Fixture {
    std::vector<io::DiskPtr> disks;
    std::unique_ptr<pool::Pool> pool;
    std::unique_ptr<Filesystem> fs;
    Fixture() {
        for (auto& disk : pool::testing::sim_disks(6, 7))
            disks.push_back(disk);
        auto created = pool::Pool::create(pool::testing::small_spec(disks), {});
        REQUIRE(created.ok());
        pool = std::move(*created);
        reopen();
    }
    void reopen() {
        if (fs)
            REQUIRE(fs->shutdown().ok());
        fs.reset();
        auto opened = Filesystem::open(*pool);
        REQUIRE(opened.ok());
        fs = std::move(*opened);
    }
    uint64_t create(uint64_t parent, const std::string& name) {
        struct stat attr {};
        REQUIRE(fs->mknod(parent, name, S_IFREG | 0644, 0, Caller{}, attr) == 0);
        return attr.st_ino;
    }
    std::string read_all(uint64_t ino) {
        struct stat attr {};
        REQUIRE(fs->getattr(ino, attr) == 0);
        std::vector<std::byte> out;
        REQUIRE(fs->read(ino, 0, static_cast<size_t>(attr.st_size), out) == 0);
        return std::string(reinterpret_cast<const char*>(out.data()), out.size());
    }
    void write(uint64_t ino, uint64_t offset, const std::string& data) {
        REQUIRE(fs->write(ino, offset, std::as_bytes(std::span(data.data(), data.size()))) == 0);
    }
};

TEST_CASE("inode records round-trip and reject damage") {
    InodeRecord r;
    r.ino = 42;
    r.mode = S_IFREG | 0640;
    r.nlink = 3;
    r.size = 123456789;
    r.symlink = "target";
    r.xattrs["user.a"] = std::string("b\0c", 3);
    std::string encoded = encode_inode(r);
    auto decoded = decode_inode(encoded, inode_key(42));
    REQUIRE(decoded.ok());
    CHECK(decoded->size == r.size);
    CHECK(decoded->xattrs == r.xattrs);
    CHECK(decode_inode(encoded.substr(0, encoded.size() - 1), inode_key(42)).error().code() == Errc::corruption);
    CHECK(decode_inode(encoded, inode_key(43)).error().code() == Errc::corruption);
    auto parsed = parse_fs_block_name(fs_block_name(7, 9));
    REQUIRE(parsed);
    CHECK(parsed->first == 7);
    CHECK(parsed->second == 9);
    CHECK(!parse_fs_block_name("fs/x"));
    auto entry = parse_dentry_key(dentry_key(5, "name"));
    REQUIRE(entry);
    CHECK(entry->first == 5);
    CHECK(entry->second == "name");
}

TEST_CASE("ACL helpers follow posix_acl_create and chmod") {
    auto entry = [](uint16_t tag, uint16_t perm, uint32_t id) {
        std::string out(8, '\0');
        std::memcpy(out.data(), &tag, 2);
        std::memcpy(out.data() + 2, &perm, 2);
        std::memcpy(out.data() + 4, &id, 4);
        return out;
    };
    std::string header("\x02\0\0\0", 4);
    std::string minimal = header + entry(1, 6, ~0u) + entry(4, 4, ~0u) + entry(0x20, 0, ~0u);
    CHECK(acl::is_minimal(minimal));
    CHECK(acl::mode_bits(minimal) == 0640u);
    std::string with_user = header + entry(1, 7, ~0u) + entry(2, 5, 1000) + entry(4, 5, ~0u) + entry(0x10, 5, ~0u) +
                            entry(0x20, 0, ~0u);
    uint32_t mode = S_IFREG | 0666;
    std::string access = acl::inherit(with_user, mode);
    CHECK(mode == (S_IFREG | 0640));
    CHECK(!access.empty());
    CHECK(acl::mode_bits(acl::with_mode(access, 0600)) == 0600u);
    CHECK(!acl::mode_bits("garbage"));
}

TEST_CASE("data across blocks, holes, truncate and persistence") {
    Fixture f;
    const uint64_t block = f.fs->block_size();
    CHECK(block == 16384);
    uint64_t ino = f.create(kRootIno, "file");
    REQUIRE(f.fs->open(ino, false) == 0);
    std::string data = random_bytes(3 * block + 100, 1);
    f.write(ino, 0, data);
    f.write(ino, 5 * block, "tail");  // a hole of more than a block
    std::string expected = data + std::string(2 * block - 100, '\0') + "tail";
    CHECK(f.read_all(ino) == expected);
    uint64_t hole = 0;
    CHECK(f.fs->lseek(ino, 0, SEEK_HOLE, hole) == 0);
    CHECK(hole == 4 * block);
    REQUIRE(f.fs->fsync(ino, false) == 0);
    CHECK(f.read_all(ino) == expected);

    Filesystem::SetAttr shrink;
    shrink.size = block + 10;
    struct stat attr {};
    REQUIRE(f.fs->setattr(ino, shrink, attr) == 0);
    Filesystem::SetAttr grow;
    grow.size = 2 * block;
    REQUIRE(f.fs->setattr(ino, grow, attr) == 0);
    expected = data.substr(0, block + 10) + std::string(block - 10, '\0');
    CHECK(f.read_all(ino) == expected);
    REQUIRE(f.fs->release(ino) == 0);
    f.reopen();
    CHECK(f.read_all(ino) == expected);
    CHECK(check_filesystem(*f.pool).ok());
}

// What the FUSE loop may answer itself: try_write/try_read act only when nothing has to wait, and say -1 (changing
// nothing) otherwise; read pieces are views that a later write does not change under them.
TEST_CASE("try_write and try_read act only on memory; read pieces stay intact") {
    Fixture f;
    const uint64_t block = f.fs->block_size();
    auto bytes = [](const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); };
    auto joined = [](const std::vector<Filesystem::ReadPiece>& pieces) {
        std::string out;
        for (const auto& piece : pieces)
            out += piece.data ? std::string(reinterpret_cast<const char*>(piece.data), piece.size)
                              : std::string(piece.size, '\0');
        return out;
    };
    uint64_t ino = f.create(kRootIno, "file");
    const std::string data = random_bytes(block + 100, 3);
    CHECK(f.fs->try_write(ino, 0, bytes(data)) == 0);  // a new file: nothing to read first
    CHECK(f.fs->try_write(999999, 0, bytes(data)) == ENOENT);
    std::vector<Filesystem::ReadPiece> pieces;
    REQUIRE(f.fs->try_read(ino, 10, 50, pieces) == 0);  // dirty blocks are in memory
    const std::string before = joined(pieces);
    CHECK(before == data.substr(10, 50));
    f.write(ino, 10, "XXXX");  // the buffer the pieces point into is shared: the write goes to a copy
    CHECK(joined(pieces) == before);
    pieces.clear();
    REQUIRE(f.fs->fsync(ino, false) == 0);
    f.reopen();  // stored, nothing cached

    const std::string expected = data.substr(0, 10) + "XXXX" + data.substr(14);
    CHECK(f.fs->try_read(ino, 0, 100, pieces) == -1);
    CHECK(f.fs->try_write(ino, 5, bytes("yy")) == -1);  // partial write over a stored block not in memory
    CHECK(f.fs->try_write(ino, block, bytes(std::string(block, 'z'))) == 0);  // a whole block needs no read
    // Its write-back counts against the dirty limit until it lands (then try_write says -1: "would wait"); fsync
    // waits for it, so the next try_write depends on the cache alone, not on how fast the flush thread ran.
    REQUIRE(f.fs->fsync(ino, false) == 0);
    CHECK(f.read_all(ino) == expected.substr(0, block) + std::string(block, 'z'));  // both blocks are cached now
    CHECK(f.fs->try_write(ino, 5, bytes("yy")) == 0);
    REQUIRE(f.fs->try_read(ino, 0, 2 * block, pieces) == 0);
    CHECK(joined(pieces) == expected.substr(0, 5) + "yy" + expected.substr(7, block - 7) + std::string(block, 'z'));

    f.write(ino, 4 * block, "end");  // blocks 2 and 3 are a hole: zeros, from no buffer
    REQUIRE(f.fs->try_read(ino, 2 * block, 2 * block + 3, pieces) == 0);
    CHECK(joined(pieces) == std::string(2 * block, '\0') + "end");
    CHECK(pieces.front().data == nullptr);
}

TEST_CASE("a stored whole block leaves memory; a stored partial block stays cached for the next small write") {
    // A streaming writer's whole blocks are not kept in the clean cache after their put: the kernel's page cache on
    // the mount already holds what was just written, and keeping them doubled the buffers a 1 GiB write touched.
    Fixture f;
    const uint64_t block = f.fs->block_size();
    uint64_t ino = f.create(kRootIno, "stream");
    const std::string data = random_bytes(2 * block + 100, 5);
    f.write(ino, 0, data);
    REQUIRE(f.fs->fsync(ino, false) == 0);
    std::vector<Filesystem::ReadPiece> pieces;
    CHECK(f.fs->try_read(ino, 0, 100, pieces) == -1);          // block 0: stored, must be fetched
    CHECK(f.fs->try_read(ino, block, 100, pieces) == -1);      // block 1 too
    CHECK(f.fs->try_read(ino, 2 * block, 100, pieces) == 0);   // the 100-byte tail block is still in memory
    CHECK(f.read_all(ino) == data);                            // and every byte reads back from the pool
}

TEST_CASE("a small write replaces one block, not the file") {
    Fixture f;
    const uint64_t block = f.fs->block_size();
    uint64_t ino = f.create(kRootIno, "big");
    f.write(ino, 0, random_bytes(8 * block, 2));
    REQUIRE(f.fs->fsync(ino, false) == 0);
    std::map<std::string, int64_t> before;
    for (const auto& object : f.pool->list(kBlockObjectPrefix))
        before[object.name] = object.mtime_ns;
    REQUIRE(before.size() == 8);
    f.write(ino, 3 * block + 7, "x");
    REQUIRE(f.fs->fsync(ino, false) == 0);
    int changed = 0;
    for (const auto& object : f.pool->list(kBlockObjectPrefix))
        changed += before[object.name] != object.mtime_ns;
    CHECK(changed == 1);
}

TEST_CASE("names: links, renames, rmdir, unlink of an open file") {
    Fixture f;
    struct stat attr {};
    REQUIRE(f.fs->mkdir(kRootIno, "d", 0755, Caller{}, attr) == 0);
    const uint64_t dir = attr.st_ino;
    uint64_t a = f.create(dir, "a");
    REQUIRE(f.fs->link(a, kRootIno, "a2", attr) == 0);
    CHECK(attr.st_nlink == 2);
    CHECK(f.fs->link(a, kRootIno, "a2", attr) == EEXIST);
    CHECK(f.fs->rmdir(kRootIno, "d") == ENOTEMPTY);
    CHECK(f.fs->rename(dir, "a", kRootIno, "a2", RENAME_NOREPLACE) == EEXIST);
    CHECK(f.fs->rename(kRootIno, "d", dir, "inside", 0) == EINVAL);
    uint64_t b = f.create(kRootIno, "b");
    CHECK(f.fs->rename(kRootIno, "b", dir, "a", RENAME_EXCHANGE) == 0);
    CHECK(f.fs->lookup(dir, "a", attr) == 0);
    CHECK(attr.st_ino == b);
    CHECK(f.fs->rename(kRootIno, "d", kRootIno, "b", 0) == ENOTDIR);
    CHECK(f.fs->getattr(kRootIno, attr) == 0);
    CHECK(attr.st_nlink == 3);

    REQUIRE(f.fs->open(b, false) == 0);
    f.write(b, 0, "keep me");
    REQUIRE(f.fs->fsync(b, false) == 0);  // so no flush is running when the last reference goes
    CHECK(f.fs->unlink(dir, "a") == 0);
    CHECK(f.read_all(b) == "keep me");  // still open
    REQUIRE(f.fs->release(b) == 0);
    f.fs->forget(b, 100);
    CHECK(f.fs->getattr(b, attr) == ENOENT);
    f.reopen();
    CHECK(f.fs->lookup(kRootIno, "a2", attr) == 0);
    CHECK(attr.st_nlink == 2);  // "a2" and "b" (which got inode a in the exchange)
    CHECK(check_filesystem(*f.pool).ok());
}

TEST_CASE("fallocate punches holes and copy_file_range copies") {
    Fixture f;
    const uint64_t block = f.fs->block_size();
    uint64_t src = f.create(kRootIno, "src");
    std::string data = random_bytes(3 * block, 3);
    f.write(src, 0, data);
    CHECK(f.fs->fallocate(src, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10, 2 * block) == 0);
    std::string expected = data.substr(0, 10) + std::string(2 * block, '\0') + data.substr(2 * block + 10);
    CHECK(f.read_all(src) == expected);
    uint64_t data_at = 0;
    CHECK(f.fs->lseek(src, block, SEEK_DATA, data_at) == 0);
    CHECK(data_at == 2 * block);  // the middle block became a hole
    uint64_t dst = f.create(kRootIno, "dst");
    size_t copied = 0;
    CHECK(f.fs->copy_file_range(src, 0, dst, 0, 3 * block, copied) == 0);
    CHECK(copied == 3 * block);
    CHECK(f.read_all(dst) == expected);
}

}  // namespace
// The mount takes FUSE_HANDLE_KILLPRIV_V2, so these rules (ext4's) are the filesystem's, not the kernel's.
TEST_CASE("writes, truncates and chown clear setuid, setgid and file capabilities as ext4 does") {
    Fixture f;
    uint64_t ino = f.create(kRootIno, "suid");
    struct stat attr {};
    auto set_mode = [&](uint32_t mode) {
        Filesystem::SetAttr change;
        change.mode = mode;
        REQUIRE(f.fs->setattr(ino, change, attr) == 0);
    };
    auto mode_now = [&] {
        REQUIRE(f.fs->getattr(ino, attr) == 0);
        return attr.st_mode & 07777;
    };
    const std::string data = "x";
    const auto bytes = std::as_bytes(std::span(data.data(), data.size()));

    set_mode(06755);
    REQUIRE(f.fs->write(ino, 0, bytes, false) == 0);  // a writer with CAP_FSETID keeps both
    CHECK(mode_now() == 06755);
    REQUIRE(f.fs->write(ino, 0, bytes, true) == 0);
    CHECK(mode_now() == 0755);

    set_mode(02644);  // setgid without group execute stays (the FUSE layer checks the caller's groups)
    REQUIRE(f.fs->try_write(ino, 0, bytes, true) == 0);
    CHECK(mode_now() == 02644);
    CHECK(f.fs->lone_setgid_group(ino) == attr.st_gid);
    f.fs->clear_setgid(ino);
    CHECK(mode_now() == 0644);
    CHECK_FALSE(f.fs->lone_setgid_group(ino).has_value());

    set_mode(04755);
    Filesystem::SetAttr truncate;
    truncate.size = 0;
    REQUIRE(f.fs->setattr(ino, truncate, attr) == 0);
    CHECK(mode_now() == 04755);
    truncate.kill_suidgid = true;
    REQUIRE(f.fs->setattr(ino, truncate, attr) == 0);
    CHECK(mode_now() == 0755);

    set_mode(06755);
    REQUIRE(f.fs->setxattr(ino, "security.capability", "cap", 0) == 0);
    Filesystem::SetAttr chown;
    chown.uid = 1000;
    REQUIRE(f.fs->setattr(ino, chown, attr) == 0);  // chown clears them whoever asks, and drops capabilities
    CHECK(mode_now() == 0755);
    std::string value;
    CHECK(f.fs->getxattr(ino, "security.capability", value) == ENODATA);

    REQUIRE(f.fs->setxattr(ino, "security.capability", "cap", 0) == 0);
    REQUIRE(f.fs->write(ino, 0, bytes, false) == 0);  // every writer drops capabilities
    CHECK(f.fs->getxattr(ino, "security.capability", value) == ENODATA);
}

}  // namespace tiercel::fs
