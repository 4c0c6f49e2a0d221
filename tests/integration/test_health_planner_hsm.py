"""HSM space pressure as a plan, end to end: a real loop-mounted ext4 image with real fanotify (FAN_PRE_ACCESS), a
real `dir` target, the real daemon and real HTTP. Needs root and Linux 6.14+ (as test_hsm.py).

Three 40 MiB files fill a 200 MiB filesystem past `high_water` (50%) after they are premigrated (no daemon needed for
that). The planner proposes `hsm_stub` for the watched path, naming its usage and the water marks; it waits for a
person; `tiercel plan approve` runs it through the HSM's space pass, coldest first, down to `low_water` (30%); the
plan ends verified and the dry run then lists hsm_stub as rejected with `no_pressure`. A stubbed file still reads
back identical (recalled). Nothing is faked.
"""
import json
import os
import time

from hsm_testlib import ext4_mount, hsm_sections, kill_guardian, resident_bytes, sha256_file, write_pattern
from planner_testlib import dry_run, wait_for
from tiercel_testlib import Daemon, check, finish, run_cli

MiB = 1 << 20


def used_fraction(path):
    vfs = os.statvfs(path)
    return 1.0 - vfs.f_bavail / vfs.f_blocks






def main():
    with ext4_mount("200M") as (workdir, mnt):
        archive_dir = os.path.join(workdir, "archive")
        os.mkdir(archive_dir)
        os.mkdir(os.path.join(workdir, "d"))
        sections = hsm_sections(mnt, archive_dir, '[hsm.space]\nhigh_water = "50%"\nlow_water = "30%"\n')
        sections += '[planner]\ninterval = "300ms"\n'
        daemon = Daemon(sections=sections, workdir=os.path.join(workdir, "d"))
        config = daemon.config_path
        paths, digests = [], {}
        for i in range(3):
            path = os.path.join(mnt, f"big{i}.bin")
            digests[path] = write_pattern(path, 40 * MiB, seed=70 + i)
            paths.append(path)
            # Distinct ages, so "coldest first" has an order: big0 is the oldest.
            old = time.time() - (10 - i) * 86400
            os.utime(path, (old, old))
        result = run_cli("hsm", "premigrate", *paths, config=config)
        check(result.returncode == 0, f"premigrate: {result.stderr.decode()}")
        before = used_fraction(mnt)
        check(before > 0.5, f"the filesystem is above its high water mark: {before:.2f}")

        with daemon:
            daemon.start()

            def stub_plan():
                evaluation = dry_run(config)
                if not evaluation:
                    return None
                return next((p for p in evaluation["would_run"] if p["action"] == "hsm_stub"), None)

            plan = wait_for("an hsm_stub plan", stub_plan)
            if not plan:
                print(json.dumps(dry_run(config), indent=1))
                print(daemon.read_log()[-3000:])
                kill_guardian(daemon.state_dir)
                finish()
            print("hsm_stub:", plan["reason"])
            check(plan["target"] == mnt, f"the plan targets the watched path: {plan['target']}")
            check("above its high water mark 50%" in plan["reason"] and "to get below 30%" in plan["reason"],
                  f"the reason names the usage and the water marks: {plan['reason']}")
            facts = {f["fact"]: f for f in plan["facts"]}
            check(f"{mnt}.stub_files" in facts and "big0.bin" in facts[f"{mnt}.stub_files"]["detail"],
                  f"the facts name the coldest file: {facts.get(mnt + '.stub_files')}")
            check(plan["state"] == "proposed" and not plan["auto_approved"], "hsm_stub waits for a person")

            result = run_cli("plan", "approve", str(plan["id"]), "--reason", "integration test", config=config)
            check(result.returncode == 0, f"plan approve: {result.stderr.decode()}")

            def finished():
                _, _, body = daemon.request("GET", f"/api/v1/plans/{plan['id']}")
                current = json.loads(body) if body else None
                return current if current and current["state"] in ("verified", "failed") else None

            final = wait_for("the hsm_stub plan to finish", finished, timeout=120)
            print("result:", final and final["result"])
            check(final is not None and final["state"] == "verified", f"the plan ends verified: {final}")
            after = used_fraction(mnt)
            check(after <= 0.5, f"the filesystem is below its high water mark: {before:.2f} -> {after:.2f}")
            check(resident_bytes(paths[0]) < MiB, "the coldest file is a stub")

            evaluation = wait_for("the dry run without pressure", lambda: (lambda e: e if e and any(
                r["action"] == "hsm_stub" and r["guard"] == "no_pressure" for r in e["rejected"]) else None)(
                    dry_run(config)))
            check(evaluation is not None, "without pressure the dry run says why nothing is stubbed")
            check(sha256_file(paths[0]) == digests[paths[0]], "a stubbed file reads back identical (recalled)")
            daemon.stop()
        kill_guardian(daemon.state_dir)
    finish()


if __name__ == "__main__":
    main()
