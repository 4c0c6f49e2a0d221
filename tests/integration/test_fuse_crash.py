"""Crash: kill -9 the mounting process while a writer creates, writes, renames and fsyncs files, then remount.
Each round: `tiercel fs check` finds the namespace consistent, `pool fsck` finds no damaged data, and every file whose
fsync returned is present with its exact bytes. Seeds are printed."""
import json
import os
import random
import shutil
import subprocess
import sys
import time

from fuse_testlib import Mount, make_pool, temp_workdir
from tiercel_testlib import check, finish, run_cli

WRITER = r"""
import os, random, sys
root, seed = sys.argv[1], int(sys.argv[2])
# Relative paths from a cwd inside the mount, and no parent creation: after the kill the lazy unmount detaches the
# mount, and an absolute path (or makedirs recreating `root`) would fall through to the directory underneath and
# go on writing there. The cwd stays on the dead connection, so every call fails instead.
os.chdir(root)
for i in range(100000):
    rng = random.Random(seed * 1000003 + i)
    data = rng.randbytes(rng.choice([10, 5000, 70000, 300000, 700000]))
    tmp = f"tmp{i}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, data)
    if i % 3:
        os.fsync(fd)
        os.close(fd)
        os.rename(tmp, f"f{i}")
        dfd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(dfd)
        os.close(dfd)
        print(i, flush=True)
    else:
        os.close(fd)
        os.mkdir(f"dir{i}")
        os.mkdir(f"dir{i}/sub")
"""


def expected_bytes(seed, i):
    rng = random.Random(seed * 1000003 + i)
    return rng.randbytes(rng.choice([10, 5000, 70000, 300000, 700000]))


def main():
    workdir = temp_workdir("tiercel-fuse-crash-")
    config, _ = make_pool(workdir)
    mnt = os.path.join(workdir, "mnt")
    log = os.path.join(workdir, "mount.log")
    synced = []  # (seed, round dir, i)
    for round_number in range(3):
        seed = random.randrange(1 << 30)
        print(f"round {round_number} seed {seed}", flush=True)
        mount = Mount(config, mnt, log).start()
        root = os.path.join(mnt, f"round{round_number}")
        os.makedirs(root)
        fd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(fd)
        os.close(fd)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, root, str(seed)], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        time.sleep(2.0 + random.random())
        mount.kill9()
        out, _ = writer.communicate(timeout=30)
        done = [int(line) for line in out.split()]
        check(len(done) > 0, f"round {round_number}: the writer fsynced some files before the kill")
        check(not os.listdir(mnt), f"round {round_number}: nothing was written beneath the mountpoint after the kill")
        synced += [(seed, round_number, i) for i in done]

        result = run_cli("fs", "check", "--json", config=config, timeout=120)
        report = json.loads(result.stdout or b"{}")
        check(report.get("ok") is True, f"round {round_number}: fs check is consistent: {result.stdout[:500]!r}")
        result = run_cli("pool", "fsck", "--json", config=config, timeout=300)
        report = json.loads(result.stdout or b"{}")
        check(report.get("data_intact") is True, f"round {round_number}: pool fsck finds no damage: {result.stdout[:400]!r}")

        mount = Mount(config, mnt, log).start()
        missing = []
        for s, r, i in synced:
            path = os.path.join(mnt, f"round{r}", f"f{i}")
            try:
                with open(path, "rb") as f:
                    if f.read() != expected_bytes(s, i):
                        missing.append(f"round{r}/f{i} differs")
            except OSError as e:
                missing.append(f"round{r}/f{i}: {e}")
        check(not missing, f"round {round_number}: all {len(synced)} fsynced files present and exact: {missing[:5]}")
        check(mount.stop() == 0, f"round {round_number}: clean stop after the remount")
    result = run_cli("fs", "check", "--json", config=config, timeout=120)
    report = json.loads(result.stdout or b"{}")
    check(report.get("ok") is True and report.get("leftover_blocks") == 0,
          f"after a clean mount: consistent, no leftover blocks: {result.stdout[:300]!r}")
    shutil.rmtree(workdir, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
