"""Re-protection after add-disk, end to end: the real binary, a real 4+2 pool on 6 directory disks, real HTTP.

One disk is lost (its directory emptied) before the daemon starts, so every stripe is degraded and, with only 5
usable disks for 4+2 stripes, the planner's redundancy guard refuses a heal and says so in `tiercel plan --json`.
`tiercel pool add-disk` (a job in the daemon) then adds an empty disk: the planner proposes `reprotect` (naming the
new disk and the failure-domain count), approves it by heal's policy, runs it as a heal job and verifies it. The
objects are checked byte for byte offline afterwards.

Nothing is faked: SMART is not involved (`[health] smartctl` names a program that does not exist, so every disk is
"no SMART data"; the planner does not need SMART for this).
"""
import json
import os
import random
import shutil
import tempfile

from planner_testlib import dry_run, get_json, wait_for
from tiercel_testlib import Daemon, check, finish, run_cli

WORK = tempfile.mkdtemp(prefix="tiercel-reprotect-")
DISKS = 6


def sections(paths):
    text = ('[health]\nsmartctl = "/nonexistent/smartctl"\nsmart_interval = "1h"\n'
            '[planner]\ninterval = "300ms"\nscrub_interval = "3650d"\n'
            '[pool]\nk = 4\nm = 2\ncompression = "none"\nchunk_size = 65536\n')
    for path in paths:
        text += f'[[pool.disk]]\npath = "{path}"\n'
    return text








def main():
    paths = [os.path.join(WORK, f"d{i}") for i in range(DISKS)]
    for path in paths:
        os.makedirs(path)
    os.makedirs(os.path.join(WORK, "daemon"))
    daemon = Daemon(sections=sections(paths), workdir=os.path.join(WORK, "daemon"))
    config = daemon.config_path
    result = run_cli("pool", "create", config=config)
    check(result.returncode == 0, f"pool create: {result.stderr.decode()}")
    rng = random.Random(11)
    objects = {}
    for i in range(10):
        data = rng.randbytes(150_000 + rng.randrange(100_000))
        source = os.path.join(WORK, "in")
        with open(source, "wb") as f:
            f.write(data)
        result = run_cli("pool", "put", f"obj{i}", source, config=config)
        check(result.returncode == 0, f"put obj{i}: {result.stderr.decode()}")
        objects[f"obj{i}"] = data
    shutil.rmtree(paths[2])  # disk2 is lost: its shards are gone, every stripe is degraded
    os.makedirs(paths[2])

    with daemon:
        daemon.start()

        def heal_refused():
            evaluation = dry_run(config)
            if not evaluation:
                return None
            return next((r for r in evaluation["rejected"] if r["action"] == "heal"), None)

        refused = wait_for("the heal refused by the redundancy guard", heal_refused)
        check(refused is not None and refused["guard"] == "redundancy" and
              refused["reason"].startswith("only 5 usable disks for 4+2 stripes (6 needed)"),
              f"with 5 usable disks the heal is refused with the count: {refused}")

        new_disk = os.path.join(WORK, "d6")
        os.makedirs(new_disk)
        result = run_cli("pool", "add-disk", new_disk, "--tier", "hdd", "--json", config=config, timeout=120)
        check(result.returncode == 0, f"add-disk through the daemon: {result.stderr.decode()}")

        def reprotect_done():
            status, listed = get_json(daemon, "/api/v1/plans")
            if status != 200:
                return None
            plan = next((p for p in listed["plans"] if p["action"] == "reprotect"), None)
            return plan if plan and plan["state"] in ("verified", "failed") else None

        plan = wait_for("the reprotect plan to finish", reprotect_done, timeout=120)
        if not plan:
            print(json.dumps(dry_run(config), indent=1))
            print(daemon.read_log()[-4000:])
            finish()
        print("reprotect:", plan["reason"])
        print("result:", plan["result"])
        check(plan["state"] == "verified", f"the reprotect ends verified: {plan['state']} {plan['result']}")
        check("disk6 joined the pool empty" in plan["reason"], f"the reason names the new disk: {plan['reason']}")
        facts = {f["fact"]: f["value"] for f in plan["facts"]}
        check(facts.get("usable_failure_domains") == "6" and facts.get("disk6.shards") == "0",
              f"the facts say why: {facts}")
        check(plan["auto_approved"] and plan["decided_by"] == "policy", "approved by heal's policy")
        _, full = get_json(daemon, f"/api/v1/plans/{plan['id']}")
        events = [entry["event"] for entry in full["audit"]]
        check(events[:4] == ["proposed", "approved", "started", "verified"], f"audit trail: {events}")
        status, jobs = get_json(daemon, "/api/v1/pool/jobs")
        check(any(j.get("requested_by") == f"plan {plan['id']}" and j.get("operation") == "heal"
                  for j in jobs.get("jobs", [])), f"the reprotect ran as a heal job: {jobs}")
        status, pool = get_json(daemon, "/api/v1/pool")
        check(pool["stripes"]["degraded"] == 0 and pool["stripes"]["lost"] == 0, f"full redundancy: {pool['stripes']}")
        disk6 = next(d for d in pool["disks"] if d["name"] == "disk6")
        check(disk6["shards"] > 0, f"the new disk took the missing shards: {disk6}")
        check(not any(p["action"] in ("heal", "reprotect") for p in dry_run(config)["would_run"]
                      if p["state"] == "proposed"), "nothing left to heal")
        daemon.stop()

    out = os.path.join(WORK, "out")
    for name, data in objects.items():
        result = run_cli("pool", "get", name, out, config=config)
        ok = result.returncode == 0 and open(out, "rb").read() == data
        check(ok, f"{name} reads back identical after the reprotect: {result.stderr.decode()}")
    shutil.rmtree(WORK, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
