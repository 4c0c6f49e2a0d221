"""POSIX parity: every step runs on the mount and on ext4 (a temp dir under /tmp), as root or as uid/gid 65534 in a
forked child, and must give the same result (return value, or errno). Covers names, links, renames (NOREPLACE,
EXCHANGE, over files and directories), ENOENT/EEXIST/ENOTEMPTY/EISDIR/ENOTDIR/ELOOP/ENAMETOOLONG/EXDEV, permissions
for a non-root user, sticky and setgid directories, xattrs (user, trusted), POSIX ACLs (enforced, inherited), special
files, truncate, fallocate, SEEK_DATA/SEEK_HOLE, copy_file_range and unlink-while-open."""
import ctypes
import os
import shutil
import stat
import struct

from fuse_testlib import Mount, make_pool, temp_workdir
from tiercel_testlib import check, finish

NOBODY = 65534
libc = ctypes.CDLL(None, use_errno=True)
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2


def renameat2(old, new, flags):
    if libc.renameat2(-100, old.encode(), -100, new.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def acl(*entries):
    """system.posix_acl_* bytes: (tag, perm, id) entries."""
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i) for t, p, i in entries)


USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 1, 2, 4, 8, 0x10, 0x20
ANY = 0xFFFFFFFF


# A version-2 file capability (struct vfs_cap_data): magic_etc, then permitted/inheritable, low and high words.
# CAP_NET_BIND_SERVICE (bit 10) permitted.
FILE_CAPABILITY = struct.pack("<IIIII", 0x02000000, 1 << 10, 0, 0, 0)


def st(path, follow=True):
    s = os.stat(path) if follow else os.lstat(path)
    return (stat.filemode(s.st_mode), s.st_nlink, s.st_size if not stat.S_ISDIR(s.st_mode) else 0, s.st_uid, s.st_gid)


def write(path, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode=0o644):
    fd = os.open(path, flags, mode)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def unlink_while_open(p):
    write(p("uwo"), b"still here")
    fd = os.open(p("uwo"), os.O_RDONLY)
    os.unlink(p("uwo"))
    data = os.pread(fd, 100, 0)
    os.close(fd)
    return data


def seeks(p):
    write(p("sparse"), b"")
    fd = os.open(p("sparse"), os.O_RDWR)
    os.pwrite(fd, b"a" * 5000, 0)
    out = [os.lseek(fd, 0, os.SEEK_DATA), os.fstat(fd).st_size]
    try:
        os.lseek(fd, 10_000, os.SEEK_DATA)
        out.append("no ENXIO")
    except OSError as e:
        out.append(e.errno)
    os.close(fd)
    return out


def punch(p):
    write(p("punched"), b"b" * 300_000)
    fd = os.open(p("punched"), os.O_RDWR)
    os.posix_fallocate(fd, 0, 400_000)
    size_after_alloc = os.fstat(fd).st_size
    FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2
    if libc.fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, ctypes.c_long(4096), ctypes.c_long(200_000)):
        e = ctypes.get_errno()
        os.close(fd)
        raise OSError(e, os.strerror(e))
    data = os.pread(fd, 400_000, 0)
    os.close(fd)
    return size_after_alloc, data == b"b" * 4096 + b"\0" * 200_000 + b"b" * (300_000 - 204_096) + b"\0" * 100_000


def copy_range(p):
    write(p("cfr_src"), bytes(range(256)) * 1000)
    src = os.open(p("cfr_src"), os.O_RDONLY)
    dst = os.open(p("cfr_dst"), os.O_WRONLY | os.O_CREAT, 0o644)
    copied = os.copy_file_range(src, dst, 100_000, 10, 5)
    os.close(src)
    os.close(dst)
    return copied, read(p("cfr_dst")) == b"\0" * 5 + (bytes(range(256)) * 1000)[10:100_010]


def steps(xdev_target):
    """(description, as_nobody, function of the path maker p)."""
    return [
        ("mkdir", False, lambda p: os.mkdir(p("a"))),
        ("mkdir exists", False, lambda p: os.mkdir(p("a"))),
        ("rmdir missing", False, lambda p: os.rmdir(p("nope"))),
        ("open missing", False, lambda p: read(p("nope"))),
        ("create", False, lambda p: write(p("f"), b"12345")),
        ("create O_EXCL exists", False, lambda p: write(p("f"), b"", os.O_CREAT | os.O_EXCL | os.O_WRONLY)),
        ("stat file", False, lambda p: st(p("f"))),
        ("O_DIRECTORY on a file", False, lambda p: os.open(p("f"), os.O_RDONLY | os.O_DIRECTORY)),
        ("mkdir under a file", False, lambda p: os.mkdir(p("f/x"))),
        ("rmdir a file", False, lambda p: os.rmdir(p("f"))),
        ("unlink a directory", False, lambda p: os.unlink(p("a"))),
        ("open a directory for writing", False, lambda p: os.open(p("a"), os.O_WRONLY)),
        ("name too long", False, lambda p: write(p("x" * 256), b"")),
        ("name of 255 bytes", False, lambda p: write(p("y" * 255), b"ok")),
        ("symlink loop", False, lambda p: (os.symlink("l2", p("l1")), os.symlink("l1", p("l2")))),
        ("open a symlink loop", False, lambda p: read(p("l1"))),
        ("symlink + readlink", False, lambda p: (os.symlink("f", p("sl")), os.readlink(p("sl")), read(p("sl")))),
        ("lstat symlink", False, lambda p: st(p("sl"), follow=False)),
        ("hard link", False, lambda p: (os.link(p("f"), p("g")), st(p("f"))[1])),
        ("hard link exists", False, lambda p: os.link(p("f"), p("g"))),
        ("hard link a directory", False, lambda p: os.link(p("a"), p("a2"))),
        ("unlink one link", False, lambda p: (os.unlink(p("g")), st(p("f"))[1])),
        ("rename over a file", False, lambda p: (write(p("h"), b"h"), os.rename(p("h"), p("f")), read(p("f")))),
        ("rename dir over non-empty dir", False,
         lambda p: (os.makedirs(p("d1")), os.makedirs(p("d2/x")), os.rename(p("d1"), p("d2")))),
        ("rename dir over empty dir", False, lambda p: (os.makedirs(p("d3")), os.rename(p("d1"), p("d3")))),
        ("rename dir over a file", False, lambda p: os.rename(p("d3"), p("f"))),
        ("rename file over a dir", False, lambda p: os.rename(p("f"), p("d2"))),
        ("rename dir into itself", False, lambda p: os.rename(p("d2"), p("d2/x/inside"))),
        ("rename missing", False, lambda p: os.rename(p("nope"), p("nope2"))),
        ("rename NOREPLACE onto existing", False, lambda p: (write(p("r1"), b"1"), renameat2(p("r1"), p("f"), 1))),
        ("rename NOREPLACE to a new name", False, lambda p: (renameat2(p("r1"), p("r2"), 1), read(p("r2")))),
        ("rename EXCHANGE", False, lambda p: (renameat2(p("r2"), p("f"), 2), read(p("r2")), read(p("f")))),
        ("rename EXCHANGE file and dir", False, lambda p: (renameat2(p("r2"), p("d2"), 2), st(p("r2"))[0])),
        ("rename EXCHANGE with missing", False, lambda p: renameat2(p("f"), p("nope"), 2)),
        ("rename across filesystems", False, lambda p: os.rename(p("f"), xdev_target(p))),
        ("dir nlink", False, lambda p: (st(p(""))[1], st(p("d3"))[1], st(p("r2"))[1])),
        ("rmdir .", False, lambda p: os.rmdir(p("d3/."))),
        ("truncate up and down", False,
         lambda p: (os.truncate(p("f"), 10), read(p("f")), os.truncate(p("f"), 2), read(p("f")))),
        ("chmod + chown", False, lambda p: (os.chmod(p("f"), 0o640), os.chown(p("f"), 123, 456), st(p("f")))),
        ("mknod fifo, socket, devices", False,
         lambda p: [(os.mknod(p(n), m | 0o600, os.makedev(1, 3)), st(p(n)), os.stat(p(n)).st_rdev)[1:]
                    for n, m in (("fifo", stat.S_IFIFO), ("sock", stat.S_IFSOCK), ("chr", stat.S_IFCHR),
                                 ("blk", stat.S_IFBLK))]),
        ("unlink while open", False, unlink_while_open),
        ("SEEK_DATA/SEEK_HOLE", False, seeks),
        ("fallocate + punch hole", False, punch),
        ("copy_file_range", False, copy_range),
        # xattrs
        ("setxattr user", False, lambda p: (os.setxattr(p("f"), "user.k", b"v"), os.getxattr(p("f"), "user.k"))),
        ("setxattr CREATE exists", False, lambda p: os.setxattr(p("f"), "user.k", b"w", os.XATTR_CREATE)),
        ("setxattr REPLACE missing", False, lambda p: os.setxattr(p("f"), "user.z", b"w", os.XATTR_REPLACE)),
        ("getxattr missing", False, lambda p: os.getxattr(p("f"), "user.z")),
        ("removexattr missing", False, lambda p: os.removexattr(p("f"), "user.z")),
        ("listxattr", False, lambda p: sorted(os.listxattr(p("f")))),
        ("trusted xattr as root", False, lambda p: (os.setxattr(p("f"), "trusted.t", b"1"), os.getxattr(p("f"), "trusted.t"))),
        ("user xattr on a fifo", False, lambda p: os.setxattr(p("fifo"), "user.k", b"v")),
        # a non-root user
        ("setup shared tree", False,
         lambda p: (os.chmod(p(""), 0o755), os.makedirs(p("pub")), os.chmod(p("pub"), 0o777), os.makedirs(p("priv")),
                    os.chmod(p("priv"), 0o700), write(p("ro"), b"secret", mode=0o600), os.chmod(p("ro"), 0o600),
                    write(p("world"), b"w"), os.chmod(p("world"), 0o644))),
        ("nobody: list a 0700 dir", True, lambda p: os.listdir(p("priv"))),
        ("nobody: read a 0600 file", True, lambda p: read(p("ro"))),
        ("nobody: write a 0644 file", True, lambda p: write(p("world"), b"x", os.O_WRONLY)),
        ("nobody: create in a root 0755 dir", True, lambda p: write(p("mine"), b"")),
        ("nobody: create in a 0777 dir", True, lambda p: (write(p("pub/mine"), b"m"), st(p("pub/mine")))),
        ("nobody: chmod root's file", True, lambda p: os.chmod(p("world"), 0o777)),
        ("nobody: chown own file", True, lambda p: os.chown(p("pub/mine"), 0, 0)),
        ("nobody: utime root's file", True, lambda p: os.utime(p("world"), (1, 1))),
        ("nobody: trusted xattr", True, lambda p: os.setxattr(p("pub/mine"), "trusted.t", b"1")),
        ("nobody: user xattr on own file", True, lambda p: os.setxattr(p("pub/mine"), "user.n", b"1")),
        ("nobody: rename root's file", True, lambda p: os.rename(p("world"), p("pub/w"))),
        ("sticky dir setup", False,
         lambda p: (os.makedirs(p("tmp")), os.chmod(p("tmp"), 0o1777), write(p("tmp/roots"), b"r"))),
        ("nobody: unlink root's file in a sticky dir", True, lambda p: os.unlink(p("tmp/roots"))),
        ("nobody: rename root's file in a sticky dir", True, lambda p: os.rename(p("tmp/roots"), p("tmp/x"))),
        ("nobody: own file in a sticky dir", True,
         lambda p: (write(p("tmp/own"), b"o"), os.rename(p("tmp/own"), p("tmp/own2")), os.unlink(p("tmp/own2")))),
        ("setgid dir", False,
         lambda p: (os.makedirs(p("sg")), os.chown(p("sg"), 0, 4321), os.chmod(p("sg"), 0o2775),
                    write(p("sg/file"), b""), os.mkdir(p("sg/sub")), st(p("sg/file")), st(p("sg/sub")))),
        ("chmod g+s by root keeps it", False, lambda p: (os.chmod(p("sg/file"), 0o2755), st(p("sg/file")))),
        ("write by nobody clears setuid", False,
         lambda p: (write(p("pub/suid"), b"s", mode=0o777), os.chmod(p("pub/suid"), 0o4777), st(p("pub/suid")))),
        ("nobody: write a setuid file", True, lambda p: (write(p("pub/suid"), b"t", os.O_WRONLY), st(p("pub/suid")))),
        # Who clears setuid/setgid and file capabilities (the mount takes FUSE_HANDLE_KILLPRIV_V2, so tiercel does)
        ("root: write keeps setuid", False,
         lambda p: (write(p("rootsuid"), b"r", mode=0o755), os.chmod(p("rootsuid"), 0o6755),
                    write(p("rootsuid"), b"rr", os.O_WRONLY), st(p("rootsuid")))),
        ("setuid files for nobody", False,
         lambda p: [(write(p(f"pub/{n}"), b"0123456789", mode=0o777), os.chmod(p(f"pub/{n}"), m), st(p(f"pub/{n}")))
                    for n, m in (("t1", 0o6777), ("t2", 0o6777), ("t3", 0o2767))]),
        ("nobody: truncate a setuid file", True, lambda p: (os.truncate(p("pub/t1"), 3), st(p("pub/t1")))),
        ("nobody: open O_TRUNC a setuid file", True,
         lambda p: (os.close(os.open(p("pub/t2"), os.O_WRONLY | os.O_TRUNC)), st(p("pub/t2")))),
        ("nobody: write a setgid file without group exec", True,
         lambda p: (write(p("pub/t3"), b"x", os.O_WRONLY), st(p("pub/t3")))),
        ("root: chown clears setuid and setgid", False,
         lambda p: (write(p("chownme"), b"c", mode=0o755), os.chmod(p("chownme"), 0o6755),
                    os.chown(p("chownme"), 1000, 1000), st(p("chownme")))),
        ("root: chown keeps setgid without group exec", False,
         lambda p: (write(p("chownme2"), b"c"), os.chmod(p("chownme2"), 0o2644),
                    os.chown(p("chownme2"), 1000, 1000), st(p("chownme2")))),
        ("root: write drops file capabilities", False,
         lambda p: (write(p("capfile"), b"c", mode=0o755),
                    os.setxattr(p("capfile"), "security.capability", FILE_CAPABILITY),
                    "security.capability" in os.listxattr(p("capfile")),
                    write(p("capfile"), b"d", os.O_WRONLY),
                    "security.capability" in os.listxattr(p("capfile")))),
        ("root: chown drops file capabilities", False,
         lambda p: (os.setxattr(p("capfile"), "security.capability", FILE_CAPABILITY),
                    os.chown(p("capfile"), 0, 0), "security.capability" in os.listxattr(p("capfile")))),
        # POSIX ACLs
        ("access ACL denies nobody", False,
         lambda p: (write(p("acl"), b"a"), os.chmod(p("acl"), 0o644),
                    os.setxattr(p("acl"), "system.posix_acl_access",
                                acl((USER_OBJ, 6, ANY), (USER, 0, NOBODY), (GROUP_OBJ, 4, ANY), (MASK, 4, ANY),
                                    (OTHER, 4, ANY))), st(p("acl")))),
        ("nobody: read with a denying ACL", True, lambda p: read(p("acl"))),
        ("access ACL grants nobody", False,
         lambda p: (write(p("acl2"), b"b"), os.chmod(p("acl2"), 0o600),
                    os.setxattr(p("acl2"), "system.posix_acl_access",
                                acl((USER_OBJ, 6, ANY), (USER, 6, NOBODY), (GROUP_OBJ, 0, ANY), (MASK, 6, ANY),
                                    (OTHER, 0, ANY))), st(p("acl2")))),
        ("nobody: read with a granting ACL", True, lambda p: read(p("acl2"))),
        ("chmod narrows the ACL mask", False, lambda p: (os.chmod(p("acl2"), 0o600), st(p("acl2")))),
        ("nobody: read after chmod 600", True, lambda p: read(p("acl2"))),
        ("default ACL is inherited", False,
         lambda p: (os.makedirs(p("dacl")),
                    os.setxattr(p("dacl"), "system.posix_acl_default",
                                acl((USER_OBJ, 7, ANY), (USER, 5, NOBODY), (GROUP_OBJ, 5, ANY), (MASK, 5, ANY),
                                    (OTHER, 0, ANY))),
                    write(p("dacl/file"), b"d", mode=0o666), os.mkdir(p("dacl/sub"), 0o777), st(p("dacl/file")),
                    st(p("dacl/sub")), os.getxattr(p("dacl/file"), "system.posix_acl_access"),
                    os.getxattr(p("dacl/sub"), "system.posix_acl_default"))),
        ("nobody: read an inherited ACL", True, lambda p: read(p("dacl/file"))),
        ("umask applies without a default ACL", False,
         lambda p: (os.umask(0o027), write(p("um"), b"", mode=0o777), os.mkdir(p("umd"), 0o777), os.umask(0o022),
                    st(p("um")), st(p("umd")))),
        ("listdir", False, lambda p: sorted(os.listdir(p("")))),
    ]


def run_step(fn, p, as_nobody):
    if not as_nobody:
        try:
            return ("ok", fn(p))
        except OSError as e:
            return ("err", e.errno)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                out = ("ok", fn(p))
            except OSError as e:
                out = ("err", e.errno)
            os.write(w, repr(out).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return eval(data.decode()) if data else ("crash", None)


def main():
    workdir = temp_workdir("tiercel-fuse-posix-")
    os.chmod(workdir, 0o755)
    config, _ = make_pool(workdir)
    mnt = os.path.join(workdir, "mnt")
    ref = os.path.join(workdir, "ext4")
    os.makedirs(ref)
    shm_target = "/dev/shm/tiercel-xdev-" + str(os.getpid())
    with Mount(config, mnt, os.path.join(workdir, "mount.log")) as mount:
        os.chmod(mnt, 0o755)
        roots = {"ext4": ref, "tiercel": mnt}
        xdev = {ref: lambda p: shm_target, mnt: lambda p: os.path.join(workdir, "xdev")}
        results = {}
        for name, root in roots.items():
            p = (lambda r: lambda rel: os.path.join(r, rel) if rel else r)(root)
            os.umask(0o022)
            results[name] = [run_step(fn, p, nobody) for _, nobody, fn in steps(xdev[root])]
        for i, (desc, nobody, _) in enumerate(steps(None)):
            a, b = results["ext4"][i], results["tiercel"][i]
            check(a == b, f"{desc}{' (uid 65534)' if nobody else ''}: ext4 {a!r} vs tiercel {b!r}")
        mount.stop()
    for path in (shm_target,):
        if os.path.exists(path):
            os.unlink(path)
    shutil.rmtree(workdir, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
