"""The FAN_OPEN_PERM fallback for kernels without pre-content events, on a real loop-mounted ext4 image with real
fanotify. This machine's kernel has FAN_PRE_ACCESS, so the test forces the fallback with the documented test hook
$TIERCEL_HSM_FORCE_OPEN_PERM (the daemon then creates a FAN_CLASS_CONTENT group, exactly what it does when
fanotify_init rejects the pre-content class). Checks: the daemon says so at start-up; a stub keeps its size and mtime
and holds no data; opening it recalls the whole file before open returns, so `cat` gets identical bytes; with the
target gone the open fails (EPERM: a content-class group cannot carry an errno), never zeros; after a restart (the group adopted from the guardian) stubs still
recall. Needs root."""
import errno
import json
import os
import subprocess
import time

from hsm_testlib import ext4_mount, hsm_sections, kill_guardian, sha256_of_pattern, state_xattr, write_pattern
from tiercel_testlib import Daemon, check, finish, run_cli

MiB = 1 << 20


def cli(daemon, *args):
    return run_cli(*args, config=daemon.config_path, timeout=120)


def archive(daemon, path):
    result = cli(daemon, "hsm", "archive", path)
    check(result.returncode == 0, f"hsm archive {path}: {result.stdout!r} {result.stderr!r}")


def sha256_by_cat(path):
    result = subprocess.run(["sh", "-c", f"cat '{path}' | sha256sum"], capture_output=True, timeout=120)
    return result.stdout.decode().split()[0] if result.stdout else ""


def test_stub_recalls_whole_at_open(daemon, mnt):
    path = os.path.join(mnt, "whole.bin")
    write_pattern(path, 24 * MiB + 77, seed=31)
    before = os.stat(path)
    archive(daemon, path)
    after = os.stat(path)
    check(after.st_size == before.st_size and after.st_mtime_ns == before.st_mtime_ns, "size and mtime kept")
    check(after.st_blocks * 512 < 64 * 1024, f"the stub holds no data: {after.st_blocks} blocks")
    check(state_xattr(path).startswith("state=stub"), f"state stub: {state_xattr(path)}")
    check(sha256_by_cat(path) == sha256_of_pattern(24 * MiB + 77, seed=31), "cat of the stub returns identical bytes")
    check(os.stat(path).st_blocks * 512 >= 24 * MiB, "every byte was in the file when open returned")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not state_xattr(path).startswith("state=premigrated"):
        time.sleep(0.05)
    check(state_xattr(path).startswith("state=premigrated"), f"then verified -> premigrated: {state_xattr(path)}")
    status, _, body = daemon.request("GET", "/api/v1/hsm")
    interceptor = json.loads(body)["interceptor"] if status == 200 else {}
    check(interceptor.get("mode") == "FAN_OPEN_PERM", f"/api/v1/hsm reports the fallback: {interceptor}")


def test_target_gone_fails_the_open(daemon, mnt, archive_dir):
    path = os.path.join(mnt, "lost.bin")
    write_pattern(path, 4 * MiB, seed=32)
    archive(daemon, path)
    moved = archive_dir + ".away"
    os.rename(archive_dir, moved)
    try:
        error = None
        try:
            with open(path, "rb") as f:
                data = f.read(4096)
                check(False, f"open of a stub with its target gone must fail, got {data[:16]!r}")
        except OSError as e:
            error = e.errno
        # Without pre-content events the kernel cannot carry an errno in FAN_DENY: the open fails with EPERM.
        check(error == errno.EPERM, f"EPERM with the target gone, got {error}")
    finally:
        os.rename(moved, archive_dir)
    check(sha256_by_cat(path) == sha256_of_pattern(4 * MiB, seed=32), "with the target back the stub recalls")


def main():
    with ext4_mount("300M") as (workdir, mnt):
        archive_dir = os.path.join(workdir, "archive")
        os.makedirs(archive_dir)
        os.makedirs(os.path.join(workdir, "d"))
        env = dict(os.environ, TIERCEL_HSM_FORCE_OPEN_PERM="1")
        with Daemon(sections=hsm_sections(mnt, archive_dir), workdir=os.path.join(workdir, "d"), env=env) as daemon:
            daemon.start()
            try:
                check("falling back to FAN_OPEN_PERM" in daemon.read_log(), "the fallback is announced at start-up")
                test_stub_recalls_whole_at_open(daemon, mnt)
                test_target_gone_fails_the_open(daemon, mnt, archive_dir)
                path = os.path.join(mnt, "later.bin")
                write_pattern(path, 8 * MiB, seed=33)
                archive(daemon, path)
                daemon.stop()
                daemon.start()
                check(sha256_by_cat(path) == sha256_of_pattern(8 * MiB, seed=33),
                      "after a restart (group adopted from the guardian) the stub recalls")
            except BaseException:
                print(daemon.read_log()[-5000:])
                raise
            finally:
                daemon.stop()
                kill_guardian(daemon.state_dir)
    finish()


if __name__ == "__main__":
    main()
