"""`tiercel serve` with [pool] mountpoint: the daemon mounts the pool next to its HTTP API, and SIGTERM or SIGINT
after heavy FUSE traffic (many small files, a copy of /usr/share/doc) unmounts cleanly and exits 0 well within
shutdown_timeout. A regression test for the Asio/liburing cancellation bug (docs/design.md, "Asio 1.81 io_uring
cancellations"): the HTTP listeners' cancelled accepts never completed after such traffic, the daemon exited 1 with
"shutdown deadline passed", and under ASan the abandoned accepts were a use after free. Files written through the daemon's mount read back identical after a restart."""
import hashlib
import os
import shutil
import signal
import subprocess
import time

from tiercel_testlib import Daemon, check, finish, run_cli

SMALL_FILES = 1500


def pool_sections(workdir, mountpoint):
    lines = ['[planner]', 'enabled = false',
             '[pool]', 'k = 4', 'm = 2', 'compression = "none"', 'chunk_size = "64KiB"', f'mountpoint = "{mountpoint}"']
    for i in range(6):
        os.makedirs(os.path.join(workdir, f"disk{i}"), exist_ok=True)
        lines += ['[[pool.disk]]', f'path = "{workdir}/disk{i}"']
    return "\n".join(lines) + "\n"


def is_mounted(path):
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


def wait_mounted(path, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_mounted(path):
            return True
        time.sleep(0.1)
    return False


def write_tree(root, count):
    """Many small files in a few directories (like `cp -r /usr/share/doc`), then one larger file; returns digests."""
    digests = {}
    for i in range(count):
        directory = os.path.join(root, f"dir{i % 20:02d}")
        os.makedirs(directory, exist_ok=True)
        data = (f"file {i}\n" * (1 + i % 300)).encode()
        path = os.path.join(directory, f"f{i:05d}.txt")
        with open(path, "wb") as f:
            f.write(data)
        digests[path] = hashlib.sha256(data).hexdigest()
    big = os.path.join(root, "big.bin")
    data = os.urandom(8 << 20)
    with open(big, "wb") as f:
        f.write(data)
    digests[big] = hashlib.sha256(data).hexdigest()
    return digests


def stop_and_check(daemon, sig, mountpoint, what):
    time.sleep(3)  # as at a terminal: the signal comes a moment after the traffic, not in the middle of it
    started = time.monotonic()
    code = daemon.stop(sig=sig, timeout=20)
    elapsed = time.monotonic() - started
    log = daemon.read_log()
    check(code == 0, f"{what}: exit code {code} (log tail: {log[-600:]!r})")
    check("shutdown deadline passed" not in log, f"{what}: the loop ended before the shutdown deadline")
    check("stopped cleanly" in log, f"{what}: the daemon says it stopped cleanly")
    check(elapsed < 3.5, f"{what}: stopped in {elapsed:.2f} s (shutdown_timeout is 4 s)")
    check(not is_mounted(mountpoint), f"{what}: {mountpoint} is unmounted")


def main():
    mountpoint = None
    daemon = Daemon()
    try:
        mountpoint = os.path.join(daemon.workdir, "mnt")
        os.makedirs(mountpoint)
        daemon.write_config(sections=pool_sections(daemon.workdir, mountpoint))
        result = run_cli("pool", "create", config=daemon.config_path)
        check(result.returncode == 0, f"pool create: {result.stderr.decode()}")

        daemon.start()
        check(wait_mounted(mountpoint), "serve mounts [pool] mountpoint")
        digests = write_tree(os.path.join(mountpoint, "tree"), SMALL_FILES)
        subprocess.run(["cp", "-r", "/usr/share/doc", os.path.join(mountpoint, "doc")], check=False)
        os.sync()
        stop_and_check(daemon, signal.SIGTERM, mountpoint, "SIGTERM after writing")

        daemon.start()
        check(wait_mounted(mountpoint), "serve mounts the pool again")
        mismatched = [p for p, d in digests.items()
                      if not os.path.exists(p) or hashlib.sha256(open(p, "rb").read()).hexdigest() != d]
        check(not mismatched, f"every file reads back identical after a restart ({len(mismatched)} differ)")
        # Heavy read and metadata traffic, then Ctrl-C (SIGINT), as at the demo's terminal.
        copy = os.path.join(mountpoint, "copy")
        shutil.copytree(os.path.join(mountpoint, "tree"), copy)
        check(len(os.listdir(os.path.join(copy, "dir00"))) == SMALL_FILES // 20, "the copy is complete")
        stop_and_check(daemon, signal.SIGINT, mountpoint, "SIGINT after copying")
    finally:
        if daemon.process and daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait()
        if mountpoint and is_mounted(mountpoint):
            subprocess.run(["umount", "-l", mountpoint], check=False)
    finish()


if __name__ == "__main__":
    main()
