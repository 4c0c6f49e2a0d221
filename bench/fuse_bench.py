#!/usr/bin/env python3
"""FUSE mount vs ext4 on the same device, in the same run (issue 4's benchmark).

A 4+2 pool (compression off, chunk 1 MiB as by default, so 4 MiB file blocks) on six directories of one ext4 filesystem is
mounted with `tiercel mount`; each workload runs on the mount and in a plain directory of that same ext4, and the
ratio tiercel/ext4 (of throughput, or of ext4 time / tiercel time) is printed. Two rows measure the FUSE transport
alone, with servers that answer from memory: `ceiling`, a cold read through build/bench/fuse_read_ceiling, and
`meta-ceiling` and `untar-ceiling`, create+stat+unlink and the untar through build/bench/fuse_meta_ceiling (an
in-memory namespace answering over tiercel's own FUSE-over-io_uring queues, with the mount's options).

With `--rounds N` every row is measured N times, the two sides taking turns to go first; the row gives each side's
median and the ratio of the medians, and lists every round's ratio (a single sample on a shared host can be off by
2x either way: ext4's own cold read has ranged 0.9-2.2 GiB/s between rounds of one run).

Usage: sudo python3 bench/fuse_bench.py build/tiercel [--dir /var/tmp] [--fresh-ext4 GIB] [--rounds N] [--size-mib 1024]
Needs root (drop_caches, allow_other mount)."""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))


class FreshExt4:
    """A new ext4 on a loop device over a sparse image file in `parent`; both ext4 and the pool's disks live on it."""

    def __init__(self, parent, gib):
        self.image = tempfile.mktemp(prefix="tiercel-bench-ext4-", suffix=".img", dir=parent)
        self.mountpoint = tempfile.mkdtemp(prefix="tiercel-bench-ext4-", dir=parent)
        with open(self.image, "wb") as f:
            f.truncate(gib << 30)
        subprocess.run(["mkfs.ext4", "-q", "-F", self.image], check=True)
        # Direct I/O on the loop device: the image's own page cache would copy every byte a second time, which a
        # real disk does not.
        self.device = subprocess.run(["losetup", "--find", "--show", "--direct-io=on", self.image], check=True,
                                     capture_output=True, text=True).stdout.strip()
        subprocess.run(["mount", self.device, self.mountpoint], check=True)
        print(f"fresh ext4: {gib} GiB image {self.image} on {self.device} (direct I/O) mounted on {self.mountpoint}",
              flush=True)

    def remove(self):
        # For some seconds after the daemon exits, the kernel's deferred io_uring teardown (iou_exit) still holds
        # files on this filesystem.
        for _ in range(100):
            if subprocess.run(["umount", self.mountpoint], stderr=subprocess.DEVNULL).returncode == 0:
                break
            time.sleep(0.2)
        else:
            # Lazy: the filesystem goes when the last reference does; the loop device detaches itself then.
            subprocess.run(["umount", "-l", self.mountpoint], check=False)
        subprocess.run(["losetup", "-d", self.device], check=False)
        os.rmdir(self.mountpoint)
        os.unlink(self.image)


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def seq_write(path, size_mib):
    chunk = os.urandom(1 << 20)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for _ in range(size_mib):
        os.write(fd, chunk)
    os.fsync(fd)
    os.close(fd)


def seq_read(path):
    fd = os.open(path, os.O_RDONLY)
    while os.read(fd, 1 << 20):
        pass
    os.close(fd)


def random_reads(path, count, seed=1):
    rng = random.Random(seed)
    size = os.path.getsize(path)
    fd = os.open(path, os.O_RDONLY)
    for _ in range(count):
        os.pread(fd, 4096, rng.randrange(size // 4096) * 4096)
    os.close(fd)


def metadata(root, files, name="meta"):
    d = os.path.join(root, name)
    os.makedirs(d)
    for i in range(files):
        os.close(os.open(os.path.join(d, f"f{i}"), os.O_CREAT | os.O_WRONLY, 0o644))
    for i in range(files):
        os.stat(os.path.join(d, f"f{i}"))
    for i in range(files):
        os.unlink(os.path.join(d, f"f{i}"))


def untar(root, tarball, name="inc"):
    d = os.path.join(root, name)
    os.makedirs(d)
    subprocess.run(["tar", "xf", tarball, "-C", d], check=True)
    subprocess.run(["sync", "-f", d], check=True)


class CeilingMount:
    """A transport-ceiling server (`argv`, which names `mountpoint`) mounted there: build/bench/fuse_read_ceiling (one
    read-only file, big, whose READs come from memory) or build/bench/fuse_meta_ceiling (an in-memory namespace)."""

    def __init__(self, argv, mountpoint):
        from fuse_testlib import in_mount_table
        os.makedirs(mountpoint, exist_ok=True)
        self.mountpoint = mountpoint
        binary = argv[0]
        self.proc = subprocess.Popen(argv)
        deadline = time.monotonic() + 10
        while not in_mount_table(mountpoint):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{binary} did not mount {mountpoint}")
            time.sleep(0.05)
        # As tiercel's mount does once INIT is answered (before, the INIT answer would lower it again).
        dev = os.stat(mountpoint).st_dev
        with open(f"/sys/class/bdi/{os.major(dev)}:{os.minor(dev)}/read_ahead_kb", "w") as knob:
            knob.write("4096\n")

    def stop(self):
        subprocess.run(["fusermount3", "-u", self.mountpoint], check=False)
        self.proc.wait(timeout=30)


def find_du(root):
    d = os.path.join(root, "inc")
    subprocess.run(["find", d], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["du", "-s", d], check=True, stdout=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--dir", default="/var/tmp")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--random-reads", type=int, default=2000)
    parser.add_argument("--chunk", default="1MiB", help="pool chunk_size (the default); the file block is 4 x chunk")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every row this many times, alternating which side goes first, and report "
                             "medians (default 1)")
    parser.add_argument("--only-data", action="store_true", help="only the sequential write and read")
    parser.add_argument("--fresh-ext4", metavar="GIB", type=int, default=0,
                        help="run on a freshly made ext4 of this size (a loop device over an image file in --dir), "
                             "removed afterwards: repeated runs on one aged ext4 measure its inode allocator skipping "
                             "recently deleted inodes (recently_deleted()) more than the workload")
    parser.add_argument("--cpu-latency-zero", action="store_true",
                        help="hold /dev/cpu_dma_latency at 0 for the run (both sides): idle vCPUs then poll instead of "
                             "halting, which shows how much of a gap is the machine's wake-up latency")
    parser.add_argument("--only", default="", help="comma-separated subset: write,read,random,meta,untar,find,"
                                                   "ceiling,meta-ceiling,untar-ceiling (read, random and ceiling "
                                                   "need write; find needs untar)")
    parser.add_argument("--ceiling-binary", default="",
                        help="fuse_read_ceiling for the ceiling row (default: bench/fuse_read_ceiling beside BINARY)")
    parser.add_argument("--meta-ceiling-binary", default="",
                        help="fuse_meta_ceiling for the meta-ceiling row (default: bench/fuse_meta_ceiling beside "
                             "BINARY)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds: must be at least 1, got {args.rounds}")
    everything = {"write", "read", "ceiling", "random", "meta", "meta-ceiling", "untar", "untar-ceiling", "find"}
    wanted = set(args.only.split(",")) if args.only else everything
    if wanted - everything:
        parser.error(f"--only: unknown workload(s) {','.join(sorted(wanted - everything))}; "
                     f"choose from {','.join(sorted(everything))}")
    bench_dir = os.path.join(os.path.dirname(os.path.abspath(args.binary)), "bench")
    ceiling_binary = args.ceiling_binary or os.path.join(bench_dir, "fuse_read_ceiling")
    meta_ceiling_binary = args.meta_ceiling_binary or os.path.join(bench_dir, "fuse_meta_ceiling")
    if args.only_data:
        wanted &= {"write", "read"}
    sys.argv = [sys.argv[0], args.binary]
    from fuse_testlib import Mount, make_pool

    latency_hold = None
    if args.cpu_latency_zero:
        latency_hold = os.open("/dev/cpu_dma_latency", os.O_WRONLY)  # the kernel honours it while the fd is open
        os.write(latency_hold, (0).to_bytes(4, sys.byteorder))
    fresh = FreshExt4(args.dir, args.fresh_ext4) if args.fresh_ext4 else None
    base_dir = fresh.mountpoint if fresh else args.dir
    workdir = tempfile.mkdtemp(prefix="tiercel-fuse-bench-", dir=base_dir)
    config, _ = make_pool(workdir, chunk=args.chunk)
    ext4 = os.path.join(workdir, "ext4")
    os.makedirs(ext4)
    mnt = os.path.join(workdir, "mnt")
    log = os.path.join(workdir, "mount.log")
    tarball = os.path.join(workdir, "include.tar")
    if wanted & {"untar", "untar-ceiling", "find"}:
        subprocess.run(["tar", "cf", tarball, "-C", "/usr", "include"], check=True)
    mount = Mount(config, mnt, log).start()
    results = []

    def remount():
        nonlocal mount
        mount.stop()
        drop_caches()
        mount = Mount(config, mnt, log).start()

    def row(name, unit, amount, ext4_side, fuse_side):
        """Times `ext4_side(r)` and `fuse_side(r)` (r: the round) --rounds times, taking turns to go first, and
        records the medians. Each returns the seconds its measured part took."""
        t_ext4, t_fuse = [], []
        for r in range(args.rounds):
            sides = [(ext4_side, t_ext4), (fuse_side, t_fuse)]
            for side, times in sides if r % 2 == 0 else reversed(sides):
                times.append(side(r))
        per_round = [e / f for e, f in zip(t_ext4, t_fuse)]
        e, f = statistics.median(t_ext4), statistics.median(t_fuse)
        ratio = e / f
        rounds = f" (rounds: {', '.join(f'{x:.2f}' for x in per_round)})" if args.rounds > 1 else ""
        results.append((name, f"{amount / e:.3g} {unit}", f"{amount / f:.3g} {unit}", ratio, rounds))
        print(f"{name:38s} ext4 {amount / e:10.3g} {unit:8s} tiercel {amount / f:10.3g} {unit:8s} "
              f"ratio {ratio:.2f}{rounds}", flush=True)

    def meta_ceiling_row(tag, name, unit, amount, workload):
        """`workload(root)` in a fresh ext4 directory and on a fresh fuse_meta_ceiling mount."""
        ceiling_mnt = os.path.join(workdir, tag)
        ceiling = CeilingMount([meta_ceiling_binary, ceiling_mnt], ceiling_mnt)
        try:
            ext4_side = os.path.join(ext4, tag)
            os.makedirs(ext4_side)
            row(name, unit, amount, lambda r: timed(lambda: workload(ext4_side, r)),
                lambda r: timed(lambda: workload(ceiling_mnt, r)))
        finally:
            ceiling.stop()

    try:
        big_e, big_f = os.path.join(ext4, "big"), os.path.join(mnt, "big")
        if wanted & {"write", "read", "random", "ceiling"}:
            row(f"seq write {args.size_mib} MiB + fsync", "MiB/s", args.size_mib,
                lambda r: timed(lambda: seq_write(big_e, args.size_mib)),
                lambda r: timed(lambda: seq_write(big_f, args.size_mib)))

        def cold(path, workload, on_mount=False):
            """A side of a cold-cache row: caches dropped (on the mount, by a remount) before it is timed."""
            def side(r):
                if on_mount:
                    remount()
                else:
                    drop_caches()
                return timed(lambda: workload(path))
            return side

        if "read" in wanted:
            row("seq read, cold cache", "MiB/s", args.size_mib, cold(big_e, seq_read),
                cold(big_f, seq_read, on_mount=True))
        if "ceiling" in wanted:
            ceiling_mnt = os.path.join(workdir, "ceiling")
            ceiling = CeilingMount([ceiling_binary, ceiling_mnt, str(args.size_mib)], ceiling_mnt)
            try:
                row("FUSE transport alone: seq read, memory", "MiB/s", args.size_mib, cold(big_e, seq_read),
                    cold(os.path.join(ceiling.mountpoint, "big"), seq_read))
            finally:
                ceiling.stop()
        if "random" in wanted:
            def reads(path):
                return random_reads(path, args.random_reads)
            row("4 KiB random reads, cold cache", "IOPS", args.random_reads, cold(big_e, reads),
                cold(big_f, reads, on_mount=True))
        if wanted & {"write", "read", "random", "ceiling"}:
            os.unlink(big_e)
            os.unlink(big_f)
        if "meta" in wanted:
            row(f"create+stat+unlink {args.files} files", "files/s", args.files,
                lambda r: timed(lambda: metadata(ext4, args.files, f"meta{r}")),
                lambda r: timed(lambda: metadata(mnt, args.files, f"meta{r}")))
        if "meta-ceiling" in wanted:
            meta_ceiling_row("meta-ceiling", "FUSE transport alone: create+stat+unlink", "files/s", args.files,
                             lambda root, r: metadata(root, args.files, f"meta{r}"))
        if wanted & {"untar", "find"}:
            def tree(r):
                return "inc" if r == 0 else f"inc{r}"  # find + du runs over the first round's tree

            def untar_mount_durable(r):
                # The kernel does not forward syncfs to a FUSE server, so `sync -f` proves nothing about the mount's
                # durability: unmounting does (every dirty block is put and the last commit syncs every disk).
                nonlocal mount
                elapsed = timed(lambda: (untar(mnt, tarball, tree(r)), mount.stop()))
                mount = Mount(config, mnt, log).start()
                return elapsed
            row("untar /usr/include + sync (tiercel: + unmount)", "runs/s", 1,
                lambda r: timed(lambda: untar(ext4, tarball, tree(r))), untar_mount_durable)
        if "untar-ceiling" in wanted:
            meta_ceiling_row("untar-ceiling", "FUSE transport alone: untar + sync", "runs/s", 1,
                             lambda root, r: untar(root, tarball, f"inc{r}"))
        if "find" in wanted:
            row("find + du over it, cold", "runs/s", 1, cold(ext4, find_du),
                cold(mnt, find_du, on_mount=True))
    finally:
        mount.stop()
        # The mount logs where its write-back time went at each unmount (block puts, writers' waits).
        for line in mount.read_log().splitlines():
            if "write-back:" in line:
                print("mount:", line.strip())
        shutil.rmtree(workdir, ignore_errors=True)
        if fresh:
            fresh.remove()
        if latency_hold is not None:
            os.close(latency_hold)
    print("\n| workload | ext4 | tiercel | ratio |\n|---|---|---|---|")
    for name, e, f, ratio, rounds in results:
        print(f"| {name} | {e} | {f} | {ratio:.2f}{rounds} |")


if __name__ == "__main__":
    main()
