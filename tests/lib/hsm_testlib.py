"""Helpers for the HSM integration tests: a loop-mounted ext4 image (always unmounted and detached), a daemon config
with an [hsm] section, and file helpers that never read a stub by accident (lseek and xattrs only)."""
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile


@contextlib.contextmanager
def ext4_mount(size="1200M"):
    """A fresh ext4 filesystem on a sparse image in a temp dir; yields the mount point. Cleans up always."""
    workdir = tempfile.mkdtemp(prefix="tiercel-hsm-")
    image = os.path.join(workdir, "fs.img")
    mountpoint = os.path.join(workdir, "mnt")
    os.mkdir(mountpoint)
    subprocess.run(["truncate", "-s", size, image], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", image], check=True)
    mounted = False
    try:
        subprocess.run(["mount", "-o", "loop", image, mountpoint], check=True)
        mounted = True
        yield workdir, mountpoint
    finally:
        if mounted:
            for _ in range(50):
                if subprocess.run(["umount", mountpoint], capture_output=True).returncode == 0:
                    break
                subprocess.run(["sleep", "0.1"])
            else:
                subprocess.run(["umount", "-l", mountpoint])
        shutil.rmtree(workdir, ignore_errors=True)


def hsm_sections(mountpoint, archive_dir, extra=""):
    return f"""
[hsm]
watch = ["{mountpoint}"]
recall_timeout = "3s"
{extra}
[[hsm.target]]
name = "shelf"
type = "dir"
path = "{archive_dir}"
"""


def write_pattern(path, size, seed=1):
    """Deterministic content that zstd compresses a little: 64 KiB of seeded bytes repeated with a counter."""
    block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB
    with open(path, "wb") as f:
        written = 0
        counter = 0
        while written < size:
            chunk = (counter.to_bytes(8, "little") + block)[: min(len(block) + 8, size - written)]
            f.write(chunk)
            written += len(chunk)
            counter += 1
    return sha256_of_pattern(size, seed)


def pattern_bytes(size, seed=1):
    """The bytes write_pattern(path, size, seed) writes, in memory (for small sizes)."""
    block = hashlib.sha256(str(seed).encode()).digest() * 2048
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += (counter.to_bytes(8, "little") + block)[: min(len(block) + 8, size - len(out))]
        counter += 1
    return bytes(out)


def sha256_of_pattern(size, seed=1):
    block = hashlib.sha256(str(seed).encode()).digest() * 2048
    digest = hashlib.sha256()
    written = 0
    counter = 0
    while written < size:
        chunk = (counter.to_bytes(8, "little") + block)[: min(len(block) + 8, size - written)]
        digest.update(chunk)
        written += len(chunk)
        counter += 1
    return digest.hexdigest()


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                return digest.hexdigest()
            digest.update(chunk)


def resident_bytes(path):
    """Bytes backed by data (SEEK_DATA/SEEK_HOLE): reads no content, so it never triggers a recall."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        offset, total = 0, 0
        while offset < size:
            try:
                data = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError:
                break
            hole = os.lseek(fd, data, os.SEEK_HOLE)
            total += hole - data
            offset = hole
        return total
    finally:
        os.close(fd)


def state_xattr(path):
    try:
        return os.getxattr(path, "user.tiercel.hsm").decode()
    except OSError:
        return ""


def kill_guardian(state_dir):
    """The guardian outlives daemons on purpose (it keeps stubs guarded); tests stop it before unmounting."""
    try:
        with open(os.path.join(state_dir, "hsm", "guardian.pid")) as f:
            os.kill(int(f.read().strip()), signal.SIGKILL)
    except (OSError, ValueError):
        pass
