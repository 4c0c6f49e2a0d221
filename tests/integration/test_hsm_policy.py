"""The daemon's automatic HSM policy on a real loop-mounted ext4 image, with the real daemon, real fanotify (a
notification group for change tracking, the pre-content group for stubs) and a real `dir` target:
- a file a rule selects is premigrated by the daemon on its own (found by the initial full scan), and a file created
  later is found by change tracking;
- a premigrated file that is modified becomes dirty through incremental tracking: the status counters show no
  second full scan;
- retention (keep_versions = 2) prunes the oldest version from the catalog and its payload from the dir target;
  `hsm restore --version 1` then says it was pruned, and version 2 still restores;
- filling the filesystem above high_water stubs premigrated files coldest first until usage is below low_water;
- when the change relay process is gone (killed here), the daemon says so and rescans the trees at every pass.
Needs root and Linux 6.14+."""
import glob
import json
import os
import signal
import subprocess
import time

from hsm_testlib import (ext4_mount, hsm_sections, kill_guardian, resident_bytes, sha256_file, sha256_of_pattern,
                         state_xattr, write_pattern)
import tiercel_testlib
from tiercel_testlib import Daemon, check, finish, run_cli

MiB = 1 << 20
DAY = 86400


def cli(daemon, *args, timeout=120):
    return run_cli(*args, config=daemon.config_path, timeout=timeout)


def policy(daemon):
    status, _, body = daemon.request("GET", "/api/v1/hsm")
    check(status == 200, f"GET /api/v1/hsm: {status} {body[:300]!r}")
    return json.loads(body) if status == 200 else {}


def wait_for(what, condition, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    check(False, f"timed out waiting for: {what}")
    return False


def make_old(path, days):
    then = time.time() - days * DAY
    os.utime(path, (then, then))


def usage(mnt):
    vfs = os.statvfs(mnt)
    total = vfs.f_blocks * vfs.f_frsize
    return total, total - vfs.f_bavail * vfs.f_frsize


def file_status(daemon, path):
    result = cli(daemon, "hsm", "status", path, "--json")
    check(result.returncode == 0, f"hsm status {path}: {result}")
    return json.loads(result.stdout) if result.returncode == 0 else {}


def test_initial_scan_premigrates(daemon, mnt):
    path = os.path.join(mnt, "cold", "a.bin")
    check(wait_for("a.bin premigrated by the daemon", lambda: state_xattr(path).startswith("state=premigrated")),
          f"a.bin: {state_xattr(path)!r}")
    check(state_xattr(os.path.join(mnt, "cold", "tiny.bin")) == "", "a file below min_size stays resident")
    check(state_xattr(os.path.join(mnt, "hot", "b.bin")) == "", "a file no rule includes stays resident")
    # The xattr is written inside the premigration; the decision and the pass counters are recorded right after.
    wait_for("the pass that premigrated a.bin ends",
             lambda: (policy(daemon).get("policy", {}).get("last_pass") or {}).get("premigrated", 0) >= 1)
    p = policy(daemon).get("policy", {})
    check(p.get("mode") == "incremental", f"change tracking is on: {p.get('mode')} {p.get('fallback_reason')}")
    check(p.get("full_scans") == 1, f"one full scan at start: {p.get('full_scans')}")
    decisions = [d for d in p.get("recent_decisions", []) if d["path"] == path]
    check(decisions and decisions[0]["action"] == "premigrate" and "rule cold" in decisions[0]["reason"] and
          decisions[0]["outcome"].startswith("premigrated"), f"the decision is explained: {decisions}")
    check(p.get("last_pass") and p["last_pass"]["premigrated"] >= 1, f"pass counters: {p.get('last_pass')}")
    check("policy pass:" in daemon.read_log(), "each pass logs a summary line")
    # A file created while the daemon runs is found by change tracking, not by a rescan.
    late = os.path.join(mnt, "cold", "late.bin")
    write_pattern(late, 2 * MiB, seed=21)
    make_old(late, 1)
    check(wait_for("late.bin premigrated", lambda: state_xattr(late).startswith("state=premigrated")),
          f"late.bin: {state_xattr(late)!r}")
    check(policy(daemon)["policy"]["full_scans"] == 1, "still one full scan")


def test_modified_file_becomes_dirty_incrementally(daemon, mnt):
    path = os.path.join(mnt, "hot", "manual.bin")
    write_pattern(path, 4 * MiB, seed=22)
    result = cli(daemon, "hsm", "premigrate", path)
    check(result.returncode == 0 and state_xattr(path).startswith("state=premigrated"), f"premigrate: {result}")
    before = policy(daemon)["policy"]
    with open(path, "ab") as f:
        f.write(b"changed after archiving")
    check(wait_for("manual.bin dirty", lambda: state_xattr(path).startswith("state=dirty"), timeout=10),
          f"modified premigrated file: {state_xattr(path)!r}")
    # The xattr is the first visible effect; the catalog row, the event and the counters follow it (each a SQLite
    # commit), so wait for the counters rather than sampling them the moment the xattr flips.
    wait_for("dirty counted", lambda: policy(daemon)["policy"]["marked_dirty"] > before["marked_dirty"] and
             policy(daemon)["policy"]["changes_applied"] > before["changes_applied"], timeout=10)
    after = policy(daemon)["policy"]
    check(after["full_scans"] == before["full_scans"] == 1, f"no full scan was needed: {after['full_scans']}")
    check(after["marked_dirty"] > before["marked_dirty"], f"counted as marked dirty: {after['marked_dirty']}")
    check(after["changes_applied"] > before["changes_applied"], "applied as an incremental change")
    check(after["events"] > 0, f"fanotify notification events read: {after['events']}")
    check(file_status(daemon, path).get("state") == "dirty", "hsm status says dirty")
    counts = policy(daemon).get("counts", {})
    check(counts.get("dirty", 0) >= 1, f"the catalog says dirty too: {counts}")
    check("changed after it was archived: dirty" in daemon.read_log(), "logged")


def version_of(path):
    text = state_xattr(path)
    fields = dict(part.split("=", 1) for part in text.split() if "=" in part)
    return int(fields.get("version", 0)) if fields.get("state") == "premigrated" else 0


def test_retention_prunes_oldest(daemon, mnt, archive_dir):
    path = os.path.join(mnt, "cold", "v.bin")
    contents = {}
    for version in (1, 2, 3):
        write_pattern(path, 2 * MiB + version, seed=30 + version)
        contents[version] = sha256_of_pattern(2 * MiB + version, seed=30 + version)
        make_old(path, 1)
        check(wait_for(f"v.bin version {version}", lambda v=version: version_of(path) == v),
              f"v.bin re-archived as version {version}: {state_xattr(path)!r}")
    def kept():
        return [v["version"] for v in file_status(daemon, path).get("versions", [])]

    check(wait_for("version 1 pruned", lambda: kept() == [2, 3], timeout=10),
          f"keep_versions = 2 keeps versions 2 and 3: {kept()}")
    info = file_status(daemon, path)
    file_id = info.get("file_id")
    payloads = sorted(os.path.basename(p) for p in glob.glob(os.path.join(archive_dir, "**", f"{file_id}-v*.zst"),
                                                               recursive=True))
    check(payloads == [f"{file_id}-v2.zst", f"{file_id}-v3.zst"], f"payload of version 1 removed: {payloads}")
    restored = os.path.join(mnt, "hot", "restored.bin")
    result = cli(daemon, "hsm", "restore", path, "--version", "1", "--to", restored)
    check(result.returncode != 0 and b"pruned by retention" in result.stderr, f"restore of a pruned version: {result}")
    result = cli(daemon, "hsm", "restore", path, "--version", "2", "--to", restored)
    check(result.returncode == 0 and sha256_file(restored) == contents[2], f"version 2 restores: {result}")
    os.unlink(restored)
    events = [e for e in policy(daemon).get("recent_events", []) if e["kind"] == "prune"]
    check(any(e["path"] == path and "version 1" in e["detail"] for e in events), f"a prune event: {events}")


def test_water_marks_stub_coldest_first(daemon, mnt):
    size = 20 * MiB
    files = {}
    for name, days in (("c1", 30), ("c2", 20), ("c3", 10)):
        files[name] = os.path.join(mnt, "cold", f"{name}.bin")
        write_pattern(files[name], size, seed=40 + days)
        make_old(files[name], days)
    for name, path in files.items():
        check(wait_for(f"{name} premigrated", lambda p=path: state_xattr(p).startswith("state=premigrated")),
              f"{name}: {state_xattr(path)!r}")
    total, used = usage(mnt)
    high, low = 0.60, 0.55
    check(used < high * total, f"below high_water before filling: {used / total:.2f}")
    # Fill to low_water + 1.5 files: the two coldest files must go, the third need not.
    target = int(low * total + 1.5 * size)
    check(target > high * total, "the fill crosses high_water")
    filler = os.path.join(mnt, "hot", "filler.bin")
    chunk = os.urandom(MiB)
    with open(filler, "wb") as f:
        for _ in range((target - used) // MiB + 1):
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    total, used = usage(mnt)
    # The daemon watches usage while the filler is written and may already have stubbed c1 by now (seen once in CI
    # under ASan: 0.59 right after the fsync): either the fill is still above high_water or the policy reacted.
    reacted = state_xattr(files["c1"]).startswith("state=stub")
    check(used > high * total or reacted, f"above high_water after filling: {used / total:.2f}")
    for name in ("c1", "c2"):
        check(wait_for(f"{name} stubbed", lambda n=name: state_xattr(files[n]).startswith("state=stub")),
              f"{name} stubbed: {state_xattr(files[name])!r}")
    check(wait_for("usage below low_water", lambda: usage(mnt)[1] < low * usage(mnt)[0], timeout=20),
          f"usage after stubbing: {usage(mnt)[1] / usage(mnt)[0]:.2f}")
    time.sleep(5)  # at least one more pass: nothing more is stubbed below high_water
    check(state_xattr(files["c3"]).startswith("state=premigrated"), f"c3 stays premigrated: {state_xattr(files['c3'])}")
    check(resident_bytes(files["c1"]) == 0 and resident_bytes(files["c2"]) == 0, "the stubs hold no data")
    stubs = [e["path"] for e in reversed(policy(daemon).get("recent_events", [])) if e["kind"] == "stub"]
    check(stubs[:2] == [files["c1"], files["c2"]], f"coldest first: {stubs}")
    decisions = [d for d in policy(daemon)["policy"]["recent_decisions"] if d["action"] == "stub"]
    check(decisions and "above high_water" in decisions[0]["reason"], f"stub decisions explained: {decisions[:2]}")
    check(sha256_file(files["c1"]) == sha256_of_pattern(size, seed=70), "the coldest stub still reads back")


def test_relay_gone_falls_back_to_full_scans(daemon, mnt):
    relays = subprocess.run(["pgrep", "-P", str(daemon.process.pid), "-f", "hsm-relay"], capture_output=True,
                            text=True).stdout.split()
    check(len(relays) == 1, f"one change relay runs as a child of the daemon: {relays}")
    before = policy(daemon)["policy"]["full_scans"]
    for pid in relays:
        os.kill(int(pid), signal.SIGKILL)
    path = os.path.join(mnt, "cold", "after.bin")
    write_pattern(path, 2 * MiB, seed=50)
    make_old(path, 3)
    check(wait_for("after.bin premigrated by a full scan", lambda: state_xattr(path).startswith("state=premigrated")),
          f"after.bin: {state_xattr(path)!r}")
    p = policy(daemon)["policy"]
    check(p["mode"] == "full-scan" and "relay" in p.get("fallback_reason", ""), f"fallback: {p['mode']}")
    check(p["full_scans"] > before, f"full scans instead of tracking: {p['full_scans']}")
    check("every pass rescans the watched trees" in daemon.read_log(), "the fallback is logged")


def main():
    with ext4_mount("320M") as (workdir, mnt):
        archive_dir = os.path.join(workdir, "archive")
        os.mkdir(archive_dir)
        os.mkdir(os.path.join(workdir, "d"))
        for sub in ("cold", "hot"):
            os.mkdir(os.path.join(mnt, sub))
        a = os.path.join(mnt, "cold", "a.bin")
        write_pattern(a, 3 * MiB, seed=20)
        make_old(a, 2)
        tiny = os.path.join(mnt, "cold", "tiny.bin")
        write_pattern(tiny, 1000, seed=23)
        make_old(tiny, 2)
        hot = os.path.join(mnt, "hot", "b.bin")
        write_pattern(hot, 3 * MiB, seed=24)
        make_old(hot, 2)
        extra = f"""scan_interval = "1s"
keep_versions = 2
[[hsm.rule]]
name = "cold"
include = ["{mnt}/cold/**"]
min_size = "1MiB"
idle = "1s"
copies = ["shelf"]
[hsm.space]
high_water = "60%"
low_water = "55%"
"""
        # Without the planner the policy stubs under pressure by itself (with it, that is an hsm_stub plan).
        sections = hsm_sections(mnt, archive_dir, extra) + "\n[planner]\nenabled = false\n"
        with Daemon(sections=sections, workdir=os.path.join(workdir, "d")) as daemon:
            daemon.start()
            try:
                test_initial_scan_premigrates(daemon, mnt)
                test_modified_file_becomes_dirty_incrementally(daemon, mnt)
                test_retention_prunes_oldest(daemon, mnt, archive_dir)
                test_water_marks_stub_coldest_first(daemon, mnt)
                test_relay_gone_falls_back_to_full_scans(daemon, mnt)
                # What the daemon said about its decisions (for the person reading the test output); all of it
                # when something failed.
                log = daemon.read_log()
                if tiercel_testlib._failures:
                    print(log[-8000:])
                else:
                    print("\n".join(line for line in log.splitlines() if "policy" in line and "pass:" not in line))
            except BaseException:
                print(daemon.read_log()[-6000:])
                raise
            finally:
                daemon.stop()
                kill_guardian(daemon.state_dir)
    finish()


if __name__ == "__main__":
    main()
