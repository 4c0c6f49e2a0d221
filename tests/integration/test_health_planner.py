"""Health autopilot end to end, through the real binary, a real pool on 8 directory disks and real HTTP.

SMART is FAKED (the only part that is): `[health] smartctl` points at tests/fixtures/fake_smartctl.py, which replays
recorded `smartctl --json -a` output of real drives (tests/fixtures/smartctl/). Seven disks serve a passing WDC
drive; disk3 serves the same recording with attribute 5 (Reallocated_Sector_Ct) rising poll by poll, as a degrading
drive does. disk1 serves it with attribute 5 held at 4 (a drive that reallocated a few sectors once: "watch").
A watched tmpfs path has no block device and must read as "unknown".
No recorded fixture is a real failing drive: tests/fixtures/smartctl/smart-fail.json, despite its name, is smartctl
failing to open a device (exit status 2, no data; the unit tests check it reads as unknown), so the degrading disk
is a real passing recording with a faked rising count.

Must show: `tiercel plan --json` proposes a drain of disk3 naming attribute 5 and its trend; `plan approve` (CLI, Unix
socket) starts it; the drain keeps full redundancy (sampled), and the plan ends `verified`. The audit log survives a
restart, and so does `tiercel disks ack disk1 5`: the restarted daemon keeps disk1's attribute 5 quiet.
"""
import json
import os
import random
import sqlite3
import stat
import tempfile

from planner_testlib import get_json, wait_for
import fake_smart
from tiercel_testlib import SOURCE_DIR, Daemon, check, finish, run_cli

WORK = tempfile.mkdtemp(prefix="tiercel-health-")
DISKS = 8
DEGRADING = 3
ACKED = 1


def write_fake_smartctl():
    return fake_smart.write_fake_smartctl(WORK, DISKS, DEGRADING, held={ACKED: 4})


def pool_sections(wrapper, paths):
    text = (f'[health]\nsmartctl = "{wrapper}"\nsmart_interval = "400ms"\nwatch = ["/dev/shm"]\n'
            '[planner]\ninterval = "300ms"\ndrain_confirm_polls = 3\nscrub_interval = "3650d"\ncooldown = "1s"\n'
            '[pool]\nk = 4\nm = 2\ncompression = "none"\nchunk_size = 65536\n')
    for i, path in enumerate(paths):
        text += f'[[pool.disk]]\npath = "{path}"\ndevice = "/dev/fake{i}"\n'
    return text






def ata5(daemon):
    """disk1's attribute 5 fact (weight and detail) and its risk level, as the daemon explains them."""
    status, disk = get_json(daemon, f"/api/v1/disks/disk{ACKED}")
    if status != 200:
        return None, None
    fact = next((f for f in disk["risk"]["explanation"] if f["fact"] == "ata.5"), None)
    return fact, disk["risk"]["level"]


def drain_plan(config):
    result = run_cli("plan", "--json", config=config)
    if result.returncode != 0:
        return None
    evaluation = json.loads(result.stdout)
    for plan in evaluation["would_run"]:
        if plan["action"] == "drain" and plan["target"] == f"disk{DEGRADING}":
            return plan, evaluation
    return None


def main():
    wrapper = write_fake_smartctl()
    paths = [os.path.join(WORK, f"d{i}") for i in range(DISKS)]
    for path in paths:
        os.makedirs(path)
    os.makedirs(os.path.join(WORK, "daemon"))
    daemon = Daemon(sections=pool_sections(wrapper, paths), workdir=os.path.join(WORK, "daemon"))
    config = daemon.config_path
    result = run_cli("pool", "create", config=config)
    check(result.returncode == 0, f"pool create: {result.stderr.decode()}")
    rng = random.Random(7)
    for i in range(12):
        source = os.path.join(WORK, f"obj{i}")
        with open(source, "wb") as f:
            f.write(rng.randbytes(200_000 + rng.randrange(100_000)))
        result = run_cli("pool", "put", f"obj{i}", source, config=config)
        check(result.returncode == 0, f"put obj{i}: {result.stderr.decode()}")

    # Offline dry run (no daemon): one poll, no trend memory — nothing to drain yet.
    result = run_cli("plan", "--json", config=config)
    check(result.returncode == 0, f"offline plan --json: {result.stderr.decode()}")
    offline = json.loads(result.stdout)
    check(offline.get("offline") is True, "the dry run without a daemon says it is offline")
    check(not any(p["action"] == "drain" for p in offline["would_run"]), "offline: no drain on one poll")

    with daemon:
        daemon.start()
        # Disks: passing drives ok, the tmpfs path unknown, disk3 escalating.
        found = wait_for("disk3 at risk", lambda: next((d for d in get_json(daemon, "/api/v1/disks")[1]["disks"]
                                                      if d["id"] == f"disk{DEGRADING}" and
                                                      d["risk"]["level"] == "at_risk"), None))
        status, disks = get_json(daemon, "/api/v1/disks")
        check(status == 200, "GET /api/v1/disks")
        by_id = {d["id"]: d for d in disks["disks"]}
        check(by_id["disk0"]["risk"]["level"] == "ok", f"a passing drive is ok: {by_id['disk0']['risk']}")
        check(by_id["disk0"]["smart"]["status"] == "passed", "disk0 SMART passed")
        check(by_id["disk0"]["smart"]["model"] == "WDC WD140EDFZ-11A0VA0", "disk0 model from the fixture")
        check(by_id["disk0"]["smart"]["temperature_c"] == 32, "disk0 temperature")
        check(any(a["id"] == 5 for a in by_id["disk0"]["smart"]["attributes"]), "attributes listed")
        check(by_id["watch0"]["risk"]["level"] == "unknown", f"tmpfs is unknown: {by_id['watch0']['risk']}")
        check(by_id["watch0"]["smart"]["status"] == "unknown" and by_id["watch0"]["smart"].get("reason"),
              "tmpfs: SMART unknown with a reason")
        if found:
            check(found["risk"]["explanation"][0]["fact"] == "ata.5", f"disk3 risk names ata.5: {found['risk']}")
        status, one = get_json(daemon, f"/api/v1/disks/disk{DEGRADING}")
        check(status == 200 and one["id"] == f"disk{DEGRADING}", "GET /api/v1/disks/{id}")
        check(len(one["history"]) >= 2, "history samples are kept")

        # The must-show dry run: a drain of disk3 naming attribute 5 and its trend.
        proposal = wait_for("a drain proposed by plan --json", lambda: drain_plan(config))
        plan = proposal[0] if proposal else {}
        if not proposal:
            print(run_cli("plan", "--json", config=config).stdout.decode())
        text = json.dumps(plan)
        print("plan --json proposes:", plan.get("reason"))
        for line in plan.get("explanation", []):
            print("   ", line)
        check("Reallocated_Sector_Ct" in text and "attribute 5" in text, "the drain names attribute 5")
        check("rising over" in text, "the drain names the trend")
        check(plan.get("state") == "proposed", f"the drain waits for a person: {plan.get('state')}")
        check(not plan.get("auto_approved"), "drain is not auto-approved")
        check(any(f["fact"] == "ata.5" for f in plan.get("facts", [])), "the facts include ata.5")
        plan_id = plan.get("id")
        if plan_id is None:
            print(daemon.read_log())
            finish()

        # Mutations need the token over TCP; the CLI over the Unix socket is trusted.
        status, _, _ = daemon.request("POST", f"/api/v1/plans/{plan_id}/approve", body={})
        check(status == 401, f"approve without a token is refused: {status}")
        status, _, _ = daemon.request("POST", f"/api/v1/disks/disk0/acknowledge", body={"counter": "ata.5"},
                                      token=daemon.token())
        check(status == 200, f"acknowledge a counter: {status}")

        result = run_cli("plan", "approve", str(plan_id), "--reason", "integration test", config=config)
        check(result.returncode == 0, f"plan approve: {result.stderr.decode()}")

        samples = []

        def verified():
            status, pool = get_json(daemon, "/api/v1/pool")
            if status == 200:
                samples.append((pool["stripes"]["degraded"], pool["stripes"]["lost"]))
            _, current = get_json(daemon, f"/api/v1/plans/{plan_id}")
            return current if current and current["state"] in ("verified", "failed") else None

        final = wait_for("the drain to finish", verified, timeout=120, interval=0.05)
        check(final is not None and final["state"] == "verified", f"the plan ends verified: {final}")
        if final:
            print("plan result:", final["result"])
            events = [entry["event"] for entry in final["audit"]]
            check(events[:4] == ["proposed", "approved", "started", "verified"], f"audit trail: {events}")
            check(final["decided_by"] == "cli", "decided by the CLI")
        check(samples and all(d == 0 and l == 0 for d, l in samples),
              f"redundancy kept at every sample ({len(samples)} samples)")
        status, jobs = get_json(daemon, "/api/v1/pool/jobs")
        check(status == 200 and any(j.get("requested_by") == f"plan {plan_id}" for j in jobs.get("jobs", [])),
              f"the drain ran as a maintenance job of the daemon: {jobs}")
        status, pool = get_json(daemon, "/api/v1/pool")
        disk = next(d for d in pool["disks"] if d["name"] == f"disk{DEGRADING}")
        check(disk["state"] == "retired" and disk["shards"] == 0, f"disk3 retired and empty: {disk}")
        check(pool["stripes"]["degraded"] == 0 and pool["stripes"]["lost"] == 0, "no degraded or lost stripe")

        _, _, metrics = daemon.request("GET", "/metrics")
        metrics = metrics.decode()
        for needle in ['tiercel_disk_risk_score{disk="disk3"}', 'tiercel_disk_temperature_celsius{disk="disk0"} 32',
                       'tiercel_disk_smart_status{disk="disk0",status="passed"} 1', 'tiercel_plans{state="verified"} 1',
                       'tiercel_planner_actions_total{action="drain",result="verified"} 1']:
            check(needle in metrics, f"/metrics has {needle}")

        status, listed = get_json(daemon, "/api/v1/plans?state=verified")
        check(status == 200 and any(p["id"] == plan_id for p in listed["plans"]), "list by state")
        status, _ = get_json(daemon, "/api/v1/plans?state=bogus")
        check(status == 400, "a bad state filter is a 400")
        status, _, _ = daemon.request("POST", "/api/v1/plans/99999/reject", body={"reason": "x"}, token=daemon.token())
        check(status == 404, "rejecting an unknown plan is a 404")
        result = run_cli("plan", "reject", str(plan_id), config=config)
        check(result.returncode != 0 and b"only a proposed or approved" in result.stderr,
              f"a verified plan cannot be rejected: {result.stderr.decode()}")

        # Acknowledgement: disk1 watches on attribute 5 at 4 until a person acknowledges it.
        fact, level = ata5(daemon)
        check(level == "watch" and fact and fact["weight"] > 0, f"disk1 watches on ata.5: {level} {fact}")
        result = run_cli("disks", "ack", f"disk{ACKED}", "ata.999", config=config)
        check(result.returncode != 0 and b"no counter 'ata.999'" in result.stderr,
              f"acknowledging an unknown counter fails with the reason: {result.stderr.decode()}")
        result = run_cli("disks", "ack", f"disk{ACKED}", "5", config=config)
        check(result.returncode == 0, f"disks ack: {result.stderr.decode()}")
        quiet = wait_for("disk1's ata.5 acknowledged", lambda: (lambda f, l: f if f and l == "ok" and
                                                                  "acknowledged at 4" in f["detail"] else None)(
                                                                      *ata5(daemon)))
        check(quiet is not None and quiet["weight"] == 0, f"an acknowledged counter weighs nothing: {quiet}")
        daemon.stop()

    db = sqlite3.connect(os.path.join(daemon.state_dir, "health.db"))
    rows = list(db.execute("SELECT disk, counter, value FROM acknowledgements ORDER BY disk"))
    db.close()
    # disk0's over HTTP (attribute 5 at 0) and disk1's from the CLI.
    check(rows == [("disk0", "ata.5", 0), (f"disk{ACKED}", "ata.5", 4)], f"the acknowledgements are in SQLite: {rows}")

    db = sqlite3.connect(os.path.join(daemon.state_dir, "planner.db"))
    events = [row[0] for row in db.execute("SELECT event FROM audit WHERE plan_id = ? ORDER BY seq", (plan_id,))]
    db.close()
    check("verified" in events and "approved" in events, f"the audit log is in SQLite: {events}")

    with Daemon(sections=pool_sections(wrapper, paths), workdir=os.path.join(WORK, "daemon"),
                port=daemon.port) as again:
        again.start()
        status, kept = get_json(again, f"/api/v1/plans/{plan_id}")
        check(status == 200 and kept["state"] == "verified", "plans survive a restart")
        # Without the stored acknowledgement the first poll would put disk1 back at watch on ata.5.
        polled = wait_for("a poll after the restart", lambda: ata5(again)[1])
        fact, level = ata5(again)
        check(polled and level == "ok" and fact and fact["weight"] == 0 and "acknowledged at 4" in fact["detail"],
              f"the acknowledgement survives a restart: {level} {fact}")
        again.stop()
    finish()


if __name__ == "__main__":
    main()
