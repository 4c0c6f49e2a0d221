"""The HSM's `pool` target: payloads stored in Tiercel's own erasure-coded pool (2+1 on directory disks). Offline,
`hsm premigrate` opens the pool itself; with the daemon running (it holds the pool), `hsm archive` has the daemon
premigrate, then stub; `cat` of the stub recalls identical bytes from the pool, and the payload in the pool is a
valid zstd stream. Real fanotify on a loop-mounted ext4 image."""
import os
import subprocess

from hsm_testlib import ext4_mount, kill_guardian, sha256_file, sha256_of_pattern, state_xattr, write_pattern
from tiercel_testlib import Daemon, check, finish, run_cli

MiB = 1 << 20


def main():
    with ext4_mount("300M") as (workdir, mnt):
        disks = [os.path.join(workdir, f"disk{i}") for i in range(3)]
        for disk in disks:
            os.mkdir(disk)
        os.mkdir(os.path.join(workdir, "d"))
        sections = "[pool]\nk = 2\nm = 1\n" + "".join(f'[[pool.disk]]\npath = "{d}"\n' for d in disks) + f"""
[hsm]
watch = ["{mnt}"]
recall_timeout = "5s"
[[hsm.target]]
name = "tank"
type = "pool"
"""
        daemon = Daemon(sections=sections, workdir=os.path.join(workdir, "d"))
        try:
            check(run_cli("pool", "create", config=daemon.config_path).returncode == 0, "pool create")
            offline = os.path.join(mnt, "offline.bin")
            write_pattern(offline, 3 * MiB, seed=40)
            result = run_cli("hsm", "premigrate", offline, config=daemon.config_path)
            check(result.returncode == 0, f"premigrate to the pool without a daemon: {result}")

            online = os.path.join(mnt, "online.bin")
            write_pattern(online, 5 * MiB + 3, seed=41)
            daemon.start()
            result = run_cli("hsm", "archive", online, offline, config=daemon.config_path)
            out = result.stdout.decode()
            check(result.returncode == 0 and "by the daemon" in out, f"archive through the daemon: {result}")
            check(state_xattr(online).startswith("state=stub"), f"stubbed: {state_xattr(online)}")
            check(state_xattr(offline).startswith("state=stub"), f"stubbed: {state_xattr(offline)}")
            cat = subprocess.run(["sh", "-c", f"cat '{online}' | sha256sum"], capture_output=True, timeout=60)
            check(cat.stdout.decode().split()[0] == sha256_of_pattern(5 * MiB + 3, seed=41),
                  "cat of a stub recalls identical bytes from the pool")
            check(sha256_file(offline) == sha256_of_pattern(3 * MiB, seed=40), "and the offline-archived one too")
            status, _, body = daemon.request("GET", "/api/v1/pool/objects?prefix=tiercel-hsm/")
            check(status == 200 and body.count(b"tiercel-hsm/") == 2, f"two payload objects in the pool: {body!r}")
        finally:
            daemon.stop()
            if daemon.process and daemon.process.returncode not in (0, None):
                print(daemon.read_log()[-3000:])
            kill_guardian(daemon.state_dir)
    finish()


if __name__ == "__main__":
    main()
