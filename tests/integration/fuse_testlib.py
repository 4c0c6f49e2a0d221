"""Helpers for the FUSE tests: a 4+2 pool on six directory disks and a `tiercel mount` process that is always
unmounted and killed at the end (no mount or daemon outlives a failing test)."""
import contextlib
import hashlib
import os
import signal
import subprocess
import tempfile
import time

from tiercel_testlib import BINARY, run_cli


def make_pool(workdir, k=4, m=2, chunk="64KiB", compression="none"):
    """Creates the pool and returns (config path, disk dirs). Small chunks keep the tests' blocks small."""
    disks = [os.path.join(workdir, f"disk{i}") for i in range(k + m)]
    for disk in disks:
        os.makedirs(disk)
    config = os.path.join(workdir, "pool.toml")
    with open(config, "w") as f:
        f.write(f'state_dir = "{workdir}/state"\nshutdown_timeout = "20s"\n[pool]\nk = {k}\nm = {m}\n'
                f'compression = "{compression}"\nchunk_size = "{chunk}"\n')
        for disk in disks:
            f.write(f'[[pool.disk]]\npath = "{disk}"\n')
    result = run_cli("pool", "create", config=config)
    if result.returncode != 0:
        raise RuntimeError(f"pool create failed: {result.stderr.decode()}")
    return config, disks


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def in_mount_table(path):
    """Whether the kernel's mount table lists `path`. Unlike os.path.ismount (an lstat), it sends the mount no
    request, so a mount that has stopped answering cannot hang the caller here."""
    real = os.path.realpath(path)
    with open("/proc/self/mountinfo") as table:
        for line in table:
            point = line.split()[4].encode().decode("unicode_escape")  # "\040" and friends
            if point == real:
                return True
    return False


def drop_caches():
    with contextlib.suppress(OSError):
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")


class Mount:
    """`tiercel mount` in the background. Use as a context manager."""

    def __init__(self, config, mountpoint, log_path, options=None, extra_args=()):
        self.config = config
        self.extra_args = list(extra_args)
        self.mountpoint = mountpoint
        self.log_path = log_path
        self.options = options
        self.process = None
        os.makedirs(mountpoint, exist_ok=True)

    def start(self, timeout=20):
        self.log = open(self.log_path, "ab")
        command = [BINARY, "mount", self.mountpoint, "-c", self.config]
        if self.options:
            command += ["-o", self.options]
        command += self.extra_args
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mount exited with {self.process.returncode}:\n{self.read_log()}")
            if in_mount_table(self.mountpoint):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"not mounted after {timeout}s:\n{self.read_log()}")

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Returns the exit code; SIGTERM must unmount cleanly."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.cleanup_mount()
        return self.process.returncode if self.process else None

    def kill9(self):
        self.process.kill()
        self.process.wait()
        self.cleanup_mount()

    def unmount_externally(self, timeout=60):
        result = subprocess.run(["fusermount3", "-u", self.mountpoint], capture_output=True)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return result.returncode, self.process.returncode

    def cleanup_mount(self):
        if os.path.ismount(self.mountpoint) or self._stale():
            subprocess.run(["fusermount3", "-u", "-z", self.mountpoint], capture_output=True)

    def _stale(self):
        try:
            os.stat(self.mountpoint)
            return False
        except OSError:
            return True

    def read_log(self):
        with contextlib.suppress(OSError):
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.cleanup_mount()
        return False


def temp_workdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)
