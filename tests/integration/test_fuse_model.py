"""Randomized model test: the same random sequence of open, read, write, pwrite at random offsets, truncate, rename,
link, unlink, fsync and mmap reads and writes runs on the mount and on ext4; every read and, after each seed, every
file's content must match. Half way, the mount is stopped with SIGTERM and mounted again. Seeds are printed; rerun one
with TIERCEL_MODEL_SEEDS=<seed>."""
import mmap
import os
import random
import shutil

from fuse_testlib import Mount, make_pool, temp_workdir
from tiercel_testlib import check, finish

NAMES = ["a", "b", "c", "d", "e"]
MAX_SIZE = 1_200_000  # several 256 KiB blocks


def apply(op, root, fds):
    """Runs one op on one tree; returns a comparable result."""
    kind = op[0]
    path = lambda name: os.path.join(root, name)
    try:
        if kind == "pwrite":
            _, name, offset, data = op
            fd = os.open(path(name), os.O_RDWR | os.O_CREAT, 0o644)
            n = os.pwrite(fd, data, offset)
            os.close(fd)
            return n
        if kind == "append":
            _, name, data = op
            fd = os.open(path(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            n = os.write(fd, data)
            os.close(fd)
            return n
        if kind == "read":
            _, name, offset, length = op
            fd = os.open(path(name), os.O_RDONLY)
            data = os.pread(fd, length, offset)
            os.close(fd)
            return data
        if kind == "truncate":
            os.truncate(path(op[1]), op[2])
            return None
        if kind == "rename":
            os.rename(path(op[1]), path(op[2]))
            return None
        if kind == "link":
            os.link(path(op[1]), path(op[2]))
            return os.stat(path(op[1])).st_nlink
        if kind == "unlink":
            os.unlink(path(op[1]))
            return None
        if kind == "fsync":
            fd = os.open(path(op[1]), os.O_RDWR)
            os.fsync(fd)
            os.close(fd)
            return None
        if kind == "stat":
            st = os.stat(path(op[1]))
            return st.st_size, st.st_nlink
        if kind in ("mmap_read", "mmap_write"):
            _, name, offset, data = op
            fd = os.open(path(name), os.O_RDWR)
            size = os.fstat(fd).st_size
            if size == 0:
                os.close(fd)
                return "empty"
            with mmap.mmap(fd, size) as m:
                start = offset % size
                end = min(size, start + len(data))
                if kind == "mmap_write":
                    m[start:end] = data[: end - start]
                    m.flush()
                    result = end - start
                else:
                    result = bytes(m[start:end])
            os.close(fd)
            return result
        if kind == "open_trunc":
            fd = os.open(path(op[1]), os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
            os.write(fd, op[2])
            os.close(fd)
            return None
    except OSError as e:
        return ("errno", e.errno)
    raise AssertionError(kind)


def random_op(rng):
    name = rng.choice(NAMES)
    kind = rng.choices(["pwrite", "append", "read", "truncate", "rename", "link", "unlink", "fsync", "stat",
                        "mmap_read", "mmap_write", "open_trunc"],
                       weights=[20, 6, 20, 6, 5, 4, 4, 4, 5, 5, 5, 3])[0]
    data = lambda: rng.randbytes(rng.choice([1, 100, 4096, 5000, 70_000, 300_000]))
    if kind == "pwrite":
        return (kind, name, rng.randrange(MAX_SIZE), data())
    if kind == "append":
        return (kind, name, data())
    if kind == "read":
        return (kind, name, rng.randrange(MAX_SIZE), rng.choice([1, 4096, 100_000, 600_000]))
    if kind == "truncate":
        return (kind, name, rng.randrange(MAX_SIZE))
    if kind in ("rename", "link"):
        return (kind, name, rng.choice(NAMES))
    if kind in ("mmap_read", "mmap_write"):
        return (kind, name, rng.randrange(MAX_SIZE), data()[:100_000])
    if kind == "open_trunc":
        return (kind, name, data())
    return (kind, name)


def contents(root):
    out = {}
    for name in sorted(os.listdir(root)):
        with open(os.path.join(root, name), "rb") as f:
            out[name] = f.read()
    return out


def main():
    seeds = [int(s) for s in os.environ.get("TIERCEL_MODEL_SEEDS", "").split(",") if s]
    seeds = seeds or [random.randrange(1 << 30) for _ in range(6)]
    workdir = temp_workdir("tiercel-fuse-model-")
    config, _ = make_pool(workdir)
    mnt = os.path.join(workdir, "mnt")
    log = os.path.join(workdir, "mount.log")
    mount = Mount(config, mnt, log).start()
    try:
        for index, seed in enumerate(seeds):
            print(f"seed {seed}", flush=True)
            rng = random.Random(seed)
            ref = os.path.join(workdir, f"ext4-{seed}")
            tree = os.path.join(mnt, f"t{seed}")
            os.makedirs(ref)
            os.makedirs(tree)
            mismatches = 0
            for step in range(400):
                op = random_op(rng)
                expected = apply(op, ref, {})
                got = apply(op, tree, {})
                if expected != got and mismatches < 3:
                    mismatches += 1
                    check(False, f"seed {seed} step {step} {op[:2]} {op[2] if len(op) > 2 and isinstance(op[2], int) else ''}"
                                 f": ext4 {str(expected)[:80]} vs tiercel {str(got)[:80]}")
            check(contents(ref) == contents(tree), f"seed {seed}: every file matches ext4")
            if index == len(seeds) // 2:
                check(mount.stop() == 0, "SIGTERM mid-test exits cleanly")
                mount = Mount(config, mnt, log).start()
                check(contents(ref) == contents(tree), f"seed {seed}: every file matches ext4 after a remount")
        check(mount.stop() == 0, f"clean stop\n{mount.read_log()[-1500:]}")
    finally:
        mount.__exit__(None, None, None)
    shutil.rmtree(workdir, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
