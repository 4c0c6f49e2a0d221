#!/usr/bin/env python3
"""CPU seconds the mount process spends on a sequential write + fsync through the mount.

Wall-clock ratios swing with the machine's load; the mount's own CPU time per GiB (utime + stime of every thread,
from /proc/PID/stat) is steadier, so before/after comparisons of the write path use it.

Usage: sudo python3 bench/fuse_write_cpu.py build/tiercel [--dir /var/tmp] [--size-mib 1024]"""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--dir", default="/var/tmp")
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    sys.argv = [sys.argv[0], args.binary]
    from fuse_testlib import Mount, make_pool

    work = tempfile.mkdtemp(prefix="tiercel-write-cpu-", dir=args.dir)
    try:
        config, _ = make_pool(work, chunk="1MiB")
        mount = Mount(config, os.path.join(work, "mnt"), os.path.join(work, "mount.log")).start()
        chunk = os.urandom(1 << 20)
        cpu_before, started = cpu_seconds(mount.process.pid), time.perf_counter()
        fd = os.open(os.path.join(work, "mnt", "big"), os.O_WRONLY | os.O_CREAT, 0o644)
        for _ in range(args.size_mib):
            os.write(fd, chunk)
        written = time.perf_counter()
        os.fsync(fd)
        synced = time.perf_counter()
        os.close(fd)
        cpu = cpu_seconds(mount.process.pid) - cpu_before
        mount.stop()
        print(f"write {written - started:.2f} s, fsync {synced - written:.2f} s, "
              f"{args.size_mib / (synced - started):.0f} MiB/s; mount CPU {cpu:.2f} s for {args.size_mib} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
