"""Transparent HSM on a real loop-mounted ext4 image with real fanotify (FAN_PRE_ACCESS), a real `dir` target and the
real daemon: archive without a daemon premigrates only; archive with it stubs (st_blocks ~ 0, size and mtime kept);
`cat`, mmap and 8 concurrent readers get identical bytes; the first 4 KiB of a 1 GiB stub arrive before the file is
resident; a file changed during archiving is left alone; a modified recalled file becomes dirty and the next archive
makes version 2; with the target gone a read fails with EIO (not zeros) within the bound; after a restart stubs
recall again. Needs root and Linux 6.14+."""
import concurrent.futures
import errno
import json
import mmap
import os
import shutil
import subprocess
import threading
import time

from hsm_testlib import (ext4_mount, hsm_sections, kill_guardian, pattern_bytes, resident_bytes, sha256_file,
                         sha256_of_pattern, state_xattr, write_pattern)
from tiercel_testlib import Daemon, check, finish, run_cli

MiB = 1 << 20


def cli(daemon, *args, timeout=120):
    return run_cli(*args, config=daemon.config_path, timeout=timeout)


def archive(daemon, *paths):
    result = cli(daemon, "hsm", "archive", *paths)
    check(result.returncode == 0, f"hsm archive {paths}: {result.stdout!r} {result.stderr!r}")
    return result


def test_premigrate_without_daemon(daemon, mnt):
    path = os.path.join(mnt, "alone.bin")
    write_pattern(path, 8 * MiB, seed=2)
    blocks = os.stat(path).st_blocks
    result = cli(daemon, "hsm", "archive", path)
    out = result.stdout.decode()
    check(result.returncode == 0, f"archive without daemon: {result}")
    check("premigrated only" in out and "no daemon" in out, f"archive without daemon says so: {out!r}")
    check(state_xattr(path).startswith("state=premigrated"), f"xattr after premigrate: {state_xattr(path)!r}")
    check(os.stat(path).st_blocks == blocks, "premigrate leaves the data in place")
    result = cli(daemon, "hsm", "stub", path)
    check(result.returncode != 0 and b"daemon" in result.stderr, f"stub without daemon refused: {result}")


def test_archive_and_cat(daemon, mnt):
    path = os.path.join(mnt, "movie.bin")
    digest = write_pattern(path, 64 * MiB, seed=3)
    os.utime(path, ns=(1_600_000_000_123_456_789, 1_600_000_000_987_654_321))
    os.setxattr(path, "user.note", b"keep me")
    os.chmod(path, 0o640)
    before = os.stat(path)
    archive(daemon, path)
    after = os.stat(path)
    check(state_xattr(path).startswith("state=stub"), f"stub xattr: {state_xattr(path)!r}")
    check(after.st_blocks <= 16, f"st_blocks after stubbing is about 0: {after.st_blocks}")
    check(after.st_size == before.st_size, "size kept")
    check(after.st_mtime_ns == before.st_mtime_ns, f"mtime kept: {after.st_mtime_ns} vs {before.st_mtime_ns}")
    check(after.st_mode == before.st_mode and after.st_uid == before.st_uid, "mode and owner kept")
    check(os.getxattr(path, "user.note") == b"keep me", "xattrs kept")
    cat = subprocess.run(["sh", "-c", f"cat '{path}' | sha256sum"], capture_output=True, timeout=60)
    check(cat.stdout.decode().split()[0] == digest, "cat of the stub returns identical bytes")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not state_xattr(path).startswith("state=premigrated"):
        time.sleep(0.05)
    check(state_xattr(path).startswith("state=premigrated"), f"fully recalled -> premigrated: {state_xattr(path)}")
    check(resident_bytes(path) == 64 * MiB, "every byte resident after the recall")
    check(os.stat(path).st_mtime_ns == before.st_mtime_ns, "mtime still kept after the recall")
    status, _, body = daemon.request("GET", "/api/v1/hsm")
    check(status == 200 and b"recalls_completed" in body, f"GET /api/v1/hsm: {status} {body[:200]!r}")


def test_first_bytes_of_1gib_stub(daemon, mnt):
    path = os.path.join(mnt, "big.bin")
    write_pattern(path, 1024 * MiB, seed=4)
    archive(daemon, path)
    check(resident_bytes(path) == 0, f"1 GiB stub holds no data: {resident_bytes(path)}")
    start = time.monotonic()
    with open(path, "rb") as f:
        first = f.read(4096)
    elapsed = time.monotonic() - start
    resident_then = resident_bytes(path)
    expected = sha256_of_pattern(1024 * MiB, seed=4)
    check(len(first) == 4096 and first[8:40] != bytes(32), "the first 4 KiB are real data")
    check(resident_then < 1024 * MiB, f"first 4 KiB arrived before the whole file ({resident_then} bytes resident)")
    print(f"time to first 4 KiB of a 1 GiB stub: {elapsed * 1000:.1f} ms; resident then: {resident_then >> 20} MiB")
    check(sha256_file(path) == expected, "the whole 1 GiB reads back identical")


def test_mmap_and_concurrent_readers(daemon, mnt):
    paths = []
    for i in range(2):
        path = os.path.join(mnt, f"shared{i}.bin")
        write_pattern(path, 32 * MiB, seed=10 + i)
        paths.append(path)
    archive(daemon, *paths)
    with open(paths[0], "rb") as f:
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            import hashlib
            check(hashlib.sha256(mapped[:]).hexdigest() == sha256_of_pattern(32 * MiB, seed=10), "mmap reads")
    expected = sha256_of_pattern(32 * MiB, seed=11)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: sha256_file(paths[1]), range(8)))
    check(all(r == expected for r in results), "8 concurrent readers of one stub get identical bytes")


def test_changed_during_archive(daemon, mnt):
    path = os.path.join(mnt, "busy.bin")
    write_pattern(path, 256 * MiB, seed=5)
    stop = threading.Event()

    def toucher():
        n = 0
        while not stop.is_set():
            n += 1
            os.utime(path, ns=(n, n))
            time.sleep(0.01)

    thread = threading.Thread(target=toucher)
    thread.start()
    try:
        result = cli(daemon, "hsm", "archive", path)
    finally:
        stop.set()
        thread.join()
    check(result.returncode != 0 and b"changed while being archived" in result.stderr,
          f"a file changed during archiving is refused: {result}")
    check(state_xattr(path) == "", f"and left untouched: {state_xattr(path)!r}")
    check(resident_bytes(path) == 256 * MiB, "its data is all there")
    leftovers = [f for _, _, files in os.walk(daemon.archive_dir) for f in files if f.endswith(".part")]
    check(not leftovers, f"no half-written payload stays: {leftovers}")


def test_dirty_and_new_version(daemon, mnt):
    path = os.path.join(mnt, "notes.bin")
    write_pattern(path, 4 * MiB, seed=6)
    archive(daemon, path)
    with open(path, "ab") as f:
        f.write(b"more")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and ("stub" in state_xattr(path) or "partial" in state_xattr(path)):
        time.sleep(0.05)
    status = cli(daemon, "hsm", "status", "--json", path)
    import json
    described = json.loads(status.stdout) if status.returncode == 0 else {}
    check(described.get("state") == "dirty", f"modified after recall -> dirty: {described.get('state')}")
    archive(daemon, path)
    described = json.loads(cli(daemon, "hsm", "status", "--json", path).stdout)
    check([v["version"] for v in described["versions"]] == [1, 2], f"a new version: {described['versions']}")
    with open(path, "rb") as f:
        check(f.read()[-4:] == b"more", "the modified content reads back")


def interceptor_stats(daemon):
    status, _, body = daemon.request("GET", "/api/v1/hsm")
    check(status == 200, f"GET /api/v1/hsm: {status}")
    return json.loads(body)["interceptor"]


def wait_for_state(path, prefix, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not state_xattr(path).startswith(prefix):
        time.sleep(0.05)
    return state_xattr(path)


def test_truncate_stub(daemon, mnt):
    """An O_TRUNC open of a stub recalls nothing; a truncate into the middle keeps exactly the bytes below the new
    size, and the old tail never comes back, even when the file grows again."""
    path = os.path.join(mnt, "trunc0.bin")
    write_pattern(path, 16 * MiB, seed=21)
    archive(daemon, path)
    before = interceptor_stats(daemon)
    with open(path, "wb") as f:
        f.write(b"brand new")
    with open(path, "rb") as f:
        check(f.read() == b"brand new", "O_TRUNC + write of a stub: the new content only")
    check(wait_for_state(path, "state=dirty").startswith("state=dirty"), f"dirty after O_TRUNC: {state_xattr(path)}")
    after = interceptor_stats(daemon)
    check(after["bytes_recalled"] == before["bytes_recalled"], f"an O_TRUNC open recalls nothing: {before} {after}")

    path = os.path.join(mnt, "trunc1.bin")
    write_pattern(path, 16 * MiB, seed=22)
    archive(daemon, path)
    cut = 5 * MiB + 123
    before = interceptor_stats(daemon)
    os.truncate(path, cut)
    check(interceptor_stats(daemon)["truncates"] == before["truncates"] + 1, "truncate(2) is recognised as one")
    with open(path, "rb") as f:
        data = f.read()
    check(len(data) == cut and data == pattern_bytes(cut, seed=22), "truncate into a stub keeps the bytes below")
    os.truncate(path, 16 * MiB)
    with open(path, "rb") as f:
        data = f.read()
    check(data[:cut] == pattern_bytes(cut, seed=22) and data[cut:] == bytes(16 * MiB - cut),
          "grown again, the tail is the writer's zeros, never the archived bytes")
    check(wait_for_state(path, "state=dirty").startswith("state=dirty"), f"dirty after truncate: {state_xattr(path)}")


def test_parallel_fills_and_truncate_during_background(daemon, mnt):
    """Frames are filled outside the file's lock by the background workers and by readers at once: readers of
    scattered ranges (last frame first) get the right bytes while the background runs, and a truncate allowed while
    workers are mid-frame never lets a frame past the new size land after it (the tail stays the writer's zeros)."""
    size = 96 * MiB
    path = os.path.join(mnt, "scatter.bin")
    write_pattern(path, size, seed=31)
    archive(daemon, path)
    expected = pattern_bytes(size, seed=31)
    offsets = [size - 4096, 3 * MiB - 10, 77 * MiB + 5, 50 * MiB, 1, 95 * MiB - 1, 20 * MiB + 4095, 64 * MiB]

    def read_at(offset):
        with open(path, "rb") as f:
            f.seek(offset)
            return offset, f.read(8192)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(read_at, offsets))
    for offset, data in results:
        check(data == expected[offset:offset + 8192], f"scattered read at {offset} while the background fills")
    check(wait_for_state(path, "state=premigrated").startswith("state=premigrated"), f"{state_xattr(path)}")

    path = os.path.join(mnt, "trunc_mid.bin")
    write_pattern(path, size, seed=32)
    archive(daemon, path)
    cut = 40 * MiB + 321
    with open(path, "rb") as f:
        check(f.read(4096) == expected_head(32), "first read starts the background")
    os.truncate(path, cut)  # the background workers are filling frames past `cut` now
    os.truncate(path, size)
    with open(path, "rb") as f:
        data = f.read()
    check(data[:cut] == pattern_bytes(cut, seed=32), "below the cut: the archived bytes")
    check(data[cut:] == bytes(size - cut), "past the cut: zeros, no archived frame landed after the truncate")
    check(wait_for_state(path, "state=dirty").startswith("state=dirty"), f"dirty after truncate: {state_xattr(path)}")


def expected_head(seed):
    return pattern_bytes(4096, seed=seed)


def test_target_gone_gives_eio(daemon, mnt):
    path = os.path.join(mnt, "lost.bin")
    write_pattern(path, 4 * MiB, seed=7)
    archive(daemon, path)
    moved = daemon.archive_dir + ".away"
    os.rename(daemon.archive_dir, moved)
    try:
        start = time.monotonic()
        error = None
        try:
            with open(path, "rb") as f:
                data = f.read(4096)
                check(False, f"read of a stub with its target gone must fail, got {data[:16]!r}")
        except OSError as e:
            error = e.errno
        elapsed = time.monotonic() - start
        check(error == errno.EIO, f"EIO with the target gone, got {error}")
        check(elapsed < 3.5, f"within the bound (recall_timeout 3s): {elapsed:.2f}s")
    finally:
        os.rename(moved, daemon.archive_dir)
    check(sha256_file(path) == sha256_of_pattern(4 * MiB, seed=7), "with the target back the stub recalls")


def test_restart_recalls_again(daemon, mnt):
    path = os.path.join(mnt, "later.bin")
    write_pattern(path, 16 * MiB, seed=8)
    archive(daemon, path)
    daemon.stop()
    daemon.start()
    check(sha256_file(path) == sha256_of_pattern(16 * MiB, seed=8), "after a restart the stub recalls")


def test_cli_views_pin_recall_restore(daemon, mnt):
    import json
    path = os.path.join(mnt, "views", "kept.bin")
    os.makedirs(os.path.dirname(path))
    write_pattern(path, 3 * MiB + 5, seed=9)
    archive(daemon, path)
    listing = json.loads(cli(daemon, "hsm", "ls", os.path.dirname(path), "--state", "stub", "--json").stdout)
    check([f["path"] for f in listing] == [path], f"hsm ls --state stub: {listing}")
    result = cli(daemon, "hsm", "recall", path)
    check(result.returncode == 0 and b"recalled" in result.stdout, f"hsm recall: {result}")
    check(state_xattr(path).startswith("state=premigrated"), f"recalled file is premigrated: {state_xattr(path)}")
    check(cli(daemon, "hsm", "pin", path).returncode == 0, "hsm pin")
    result = cli(daemon, "hsm", "stub", path)
    check(result.returncode == 1 and b"pinned" in result.stdout, f"a pinned file is not stubbed: {result}")
    check(cli(daemon, "hsm", "unpin", path).returncode == 0, "hsm unpin")
    result = cli(daemon, "hsm", "stub", path)
    check(result.returncode == 0 and state_xattr(path).startswith("state=stub"), f"unpinned: stubbed: {result}")
    restored = os.path.join(mnt, "views", "restored.bin")
    result = cli(daemon, "hsm", "restore", path, "--version", "1", "--to", restored)
    check(result.returncode == 0, f"hsm restore: {result}")
    check(sha256_file(restored) == sha256_of_pattern(3 * MiB + 5, seed=9), "hsm restore writes version 1")
    check(state_xattr(path).startswith("state=stub"), "restoring elsewhere leaves the stub a stub")
    # A backup tool named in [[hsm.process]] with action deny gets EAGAIN and recalls nothing.
    head = subprocess.run(["head", "-c", "100", path], capture_output=True)
    check(head.returncode != 0 and b"Resource temporarily unavailable" in head.stderr, f"head is denied: {head}")
    check(resident_bytes(path) == 0, "and nothing was recalled for it")

    old = os.path.join(mnt, "views", "old.bin")
    write_pattern(old, 2 * MiB, seed=12)
    os.utime(old, (time.time() - 3 * 86400, time.time() - 3 * 86400))
    small = os.path.join(mnt, "views", "small.bin")
    write_pattern(small, 100, seed=13)
    os.utime(small, (time.time() - 3 * 86400, time.time() - 3 * 86400))
    part = os.path.join(mnt, "views", "film.part")
    write_pattern(part, 2 * MiB, seed=14)
    os.utime(part, (time.time() - 3 * 86400, time.time() - 3 * 86400))
    scan = cli(daemon, "hsm", "scan", "--json")
    check(scan.returncode == 0, f"hsm scan: {scan}")
    files = {f["path"]: f for f in json.loads(scan.stdout)["files"]} if scan.returncode == 0 else {}
    check(files.get(old, {}).get("action") == "premigrate", f"an idle large file would be premigrated: {files.get(old)}")
    check("min_size" in files.get(small, {}).get("reason", ""), f"a small file is explained: {files.get(small)}")
    check(files.get(part, {}).get("reason") == "no rule includes it", f"excluded *.part: {files.get(part)}")
    check("already archived" in files.get(path, {}).get("reason", ""), f"a stub is explained: {files.get(path)}")


def main():
    with ext4_mount("2200M") as (workdir, mnt):
        archive_dir = os.path.join(workdir, "archive")
        os.mkdir(archive_dir)
        os.mkdir(os.path.join(workdir, "d"))
        extra = f"""
[[hsm.rule]]
name = "views"
include = ["{mnt}/views/**"]
exclude = ["**/*.part"]
min_size = "1MiB"
idle = "1d"
copies = ["shelf"]
[[hsm.process]]
name = "head"
action = "deny"
"""
        with Daemon(sections=hsm_sections(mnt, archive_dir) + extra, workdir=os.path.join(workdir, "d")) as daemon:
            daemon.archive_dir = archive_dir
            test_premigrate_without_daemon(daemon, mnt)
            daemon.start()
            try:
                test_archive_and_cat(daemon, mnt)
                test_first_bytes_of_1gib_stub(daemon, mnt)
                test_mmap_and_concurrent_readers(daemon, mnt)
                test_changed_during_archive(daemon, mnt)
                test_dirty_and_new_version(daemon, mnt)
                test_truncate_stub(daemon, mnt)
                test_parallel_fills_and_truncate_during_background(daemon, mnt)
                test_target_gone_gives_eio(daemon, mnt)
                test_restart_recalls_again(daemon, mnt)
                test_cli_views_pin_recall_restore(daemon, mnt)
            except BaseException:
                print(daemon.read_log()[-5000:])
                raise
            finally:
                daemon.stop()
                if daemon.process and daemon.process.returncode not in (0, None):
                    print(daemon.read_log())
                kill_guardian(daemon.state_dir)
    finish()


if __name__ == "__main__":
    main()
