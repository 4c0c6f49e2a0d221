"""Must-show for the FUSE mount: a 4+2 pool on six directory disks mounted with `tiercel mount`; files,
directories, symlinks, hard links, xattrs and renames behave; a 256 MiB file written through the mount reads back
identical after a remount and again with two disk directories removed (degraded reads, also while mounted); writes
with too few disks fail with ENOSPC; SIGTERM and `fusermount3 -u` both leave the pool consistent (pool fsck).
Requests go over io_uring (a queue per CPU) where the kernel has it, and the same checks pass on /dev/fuse alone
(--fuse-transport dev). The first request after each of several mounts is answered (the rings go live while the
mount is still publishing them)."""
import errno
import json
import os
import shutil
import subprocess

from fuse_testlib import Mount, drop_caches, make_pool, sha256_file, temp_workdir
from tiercel_testlib import check, finish, run_cli


def namespace_checks(mnt):
    os.makedirs(f"{mnt}/dir/sub")
    with open(f"{mnt}/dir/file", "wb") as f:
        f.write(b"hello world\n")
    os.symlink("file", f"{mnt}/dir/link")
    os.link(f"{mnt}/dir/file", f"{mnt}/dir/hard")
    os.setxattr(f"{mnt}/dir/file", "user.color", b"blue")
    os.mknod(f"{mnt}/dir/fifo", 0o600 | 0o010000)
    os.rename(f"{mnt}/dir/sub", f"{mnt}/moved")
    check(os.readlink(f"{mnt}/dir/link") == "file", "readlink")
    with open(f"{mnt}/dir/link", "rb") as f:
        check(f.read() == b"hello world\n", "read through a symlink")
    check(os.stat(f"{mnt}/dir/file").st_nlink == 2, "nlink is 2 with a hard link")
    check(os.stat(f"{mnt}/dir/file").st_ino == os.stat(f"{mnt}/dir/hard").st_ino, "hard link shares the inode")
    check(os.getxattr(f"{mnt}/dir/file", "user.color") == b"blue", "xattr round trip")
    check(sorted(os.listdir(f"{mnt}/dir")) == ["fifo", "file", "hard", "link"], f"listdir: {os.listdir(f'{mnt}/dir')}")
    check(os.stat(mnt).st_nlink == 4, f"root nlink counts subdirectories: {os.stat(mnt).st_nlink}")
    try:
        os.rmdir(f"{mnt}/dir")
        check(False, "rmdir of a non-empty directory fails")
    except OSError as e:
        check(e.errno == errno.ENOTEMPTY, f"rmdir non-empty: ENOTEMPTY, got {e.errno}")


def snapshot(mnt):
    """Names, types, inode numbers, link counts, sizes and xattrs of the tree (inode numbers must be stable)."""
    out = {}
    for root, dirs, files in os.walk(mnt):
        for name in dirs + files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            xattrs = {} if os.path.islink(path) else {x: os.getxattr(path, x) for x in os.listxattr(path)}
            out[os.path.relpath(path, mnt)] = (st.st_mode, st.st_ino, st.st_nlink, st.st_size, sorted(xattrs.items()))
    return out


def fsck_intact(config, what, clean=True):
    result = run_cli("pool", "fsck", "--json", config=config, timeout=300)
    report = json.loads(result.stdout or b"{}")
    check(report.get("data_intact") is True, f"{what}: pool fsck finds no damage: {result.stdout[:300]!r}")
    check(not clean or report.get("clean") is True, f"{what}: pool fsck is clean: {result.stdout[:600]!r}")


def first_requests_answered(config, mnt, log, mounts=10):
    """Right after mounting, the kernel can hand the first request to a ring before the mount has finished setting
    the rings up; that request's reply once went to /dev/fuse and was lost, and the caller (here a stat of the root)
    hung forever. The stat runs in a child with a timeout so that a lost reply fails the test instead of hanging it;
    Mount.start() waits on the mount table, which sends no FUSE request."""
    for attempt in range(mounts):
        mount = Mount(config, mnt, log).start()
        try:
            answered = subprocess.run(["stat", "-c", "%i", mnt], capture_output=True, timeout=15).returncode == 0
        except subprocess.TimeoutExpired:
            answered = False
        check(answered, f"mount {attempt + 1}: the first stat of the root is answered\n{mount.read_log()[-1500:]}")
        mount.stop()
        if not answered:
            return


def main():
    workdir = temp_workdir("tiercel-fuse-it-")
    config, disks = make_pool(workdir)
    mnt = os.path.join(workdir, "mnt")
    log = os.path.join(workdir, "mount.log")
    source = os.path.join(workdir, "random.bin")
    with open(source, "wb") as f:
        for _ in range(256):
            f.write(os.urandom(1 << 20))
    expected = sha256_file(source)

    with Mount(config, mnt, log) as mount:
        namespace_checks(mnt)
        if os.path.exists("/sys/module/fuse/parameters/enable_uring"):  # Linux 6.14+
            check("FUSE requests over io_uring" in mount.read_log(),
                  f"this kernel has FUSE over io_uring and the mount uses it\n{mount.read_log()[-1500:]}")
        shutil.copyfile(source, f"{mnt}/big.bin")
        fd = os.open(f"{mnt}/big.bin", os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        before = snapshot(mnt)
        check(mount.stop() == 0, f"SIGTERM: clean exit\n{mount.read_log()[-2000:]}")
    check(not os.path.ismount(mnt), "SIGTERM unmounted")
    fsck_intact(config, "after SIGTERM")
    ls = run_cli("pool", "ls", config=config)
    check(ls.returncode == 0 and b"fs/" not in ls.stdout, f"pool ls hides file blocks: {ls.stdout[:200]!r}")

    with Mount(config, mnt, log) as mount:
        check(snapshot(mnt) == before, "the tree, inode numbers and xattrs survive a remount")
        check(sha256_file(f"{mnt}/big.bin") == expected, "256 MiB file identical after remount")
        # Two disk directories vanish while mounted: reads go on returning the right bytes.
        for disk in disks[1:3]:
            os.rename(disk, disk + ".gone")
        drop_caches()
        mount.stop()  # drop the filesystem's own block cache too, then read again on a fresh mount
        with Mount(config, mnt, log) as degraded:
            check(sha256_file(f"{mnt}/big.bin") == expected, "256 MiB file identical with two disks removed")
            try:
                with open(f"{mnt}/new.bin", "wb") as f:
                    f.write(os.urandom(300_000))
                    f.flush()
                    os.fsync(f.fileno())
                check(False, "a write with only 4 of 6 disks fails")
            except OSError as e:
                check(e.errno == errno.ENOSPC, f"write with 4 of 6 disks: ENOSPC, got {e.errno}")
            degraded.stop()
        for disk in disks[1:3]:
            os.rename(disk + ".gone", disk)

    # The same namespace behaviour with every request on /dev/fuse.
    log_before = os.path.getsize(log)
    with Mount(config, mnt, log, extra_args=["--fuse-transport", "dev"]) as mount:
        os.makedirs(f"{mnt}/on-dev")
        namespace_checks(f"{mnt}/on-dev")
        check(sha256_file(f"{mnt}/big.bin") == expected, "256 MiB file identical over /dev/fuse")
        check("FUSE requests over io_uring" not in mount.read_log()[log_before:],
              "--fuse-transport dev keeps requests on /dev/fuse")
        shutil.rmtree(f"{mnt}/on-dev")
        check(mount.stop() == 0, "clean exit over /dev/fuse")

    # fusermount3 -u on a healthy pool: the process exits cleanly and the pool is consistent.
    with Mount(config, mnt, log) as mount:
        with open(f"{mnt}/after.txt", "wb") as f:
            f.write(b"x" * 100_000)
        rc, exit_code = mount.unmount_externally()
        check(rc == 0 and exit_code == 0, f"fusermount3 -u: {rc}, exit {exit_code}\n{mount.read_log()[-1500:]}")
    with Mount(config, mnt, log) as mount:
        with open(f"{mnt}/after.txt", "rb") as f:
            check(f.read() == b"x" * 100_000, "data written before fusermount3 -u is there")
        mount.stop()
    fsck_intact(config, "after fusermount3 -u", clean=False)
    first_requests_answered(config, mnt, log)
    shutil.rmtree(workdir, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
