"""Pool maintenance while the daemon holds the pool: the CLI's heal, scrub, fsck, drain and add-disk run as jobs in
the daemon over its Unix socket, with progress, one job at a time, Ctrl-C cancelling the job (and a rerun resuming
it), and every bad job request refused with a message that names the problem. The objects are checked byte for byte
offline after the daemon stops."""
import json
import os
import random
import shutil
import signal
import subprocess
import time

from tiercel_testlib import BINARY, Daemon, check, finish, run_cli

DISKS = 8


def pool_section(workdir):
    # The planner would heal the deleted disk by itself (heal is auto-approved by default): this test starts the
    # jobs by hand, so it switches the planner off.
    lines = ['[planner]', 'enabled = false',
             '[pool]', 'k = 4', 'm = 2', 'compression = "none"', 'chunk_size = 65536']
    for i in range(DISKS):
        lines += ['[[pool.disk]]', f'path = "{workdir}/d{i}"']
    return "\n".join(lines) + "\n"


def cli(daemon, *args, timeout=120):
    return run_cli(*args, config=daemon.config_path, timeout=timeout)


def job_json(result):
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        return {}


def put_objects(daemon, count, seed):
    rng = random.Random(seed)
    objects = {}
    for i in range(count):
        data = rng.randbytes(200_000 + rng.randrange(200_000))
        path = os.path.join(daemon.workdir, "in")
        with open(path, "wb") as f:
            f.write(data)
        result = cli(daemon, "pool", "put", f"obj{i}", path)
        check(result.returncode == 0, f"put obj{i}: {result.stderr.decode()}")
        objects[f"obj{i}"] = data
    return objects


def check_identical(daemon, objects):
    out = os.path.join(daemon.workdir, "out")
    for name, data in objects.items():
        result = cli(daemon, "pool", "get", name, out)
        if result.returncode != 0:
            check(False, f"get {name} after the daemon stopped: {result.stderr.decode()}")
            return
        with open(out, "rb") as f:
            if f.read() != data:
                check(False, f"{name} differs after maintenance through the daemon")
                return
    check(True, "")


def test_bad_requests(daemon, token):
    for body, expect in [({"operation": "explode"}, "operation"), ({"operation": "drain"}, "disk"),
                         ({"operation": "scrub", "colour": "red"}, "colour"),
                         ({"operation": "scrub", "budget": "soon"}, "budget"),
                         ({"operation": "scrub", "workers": "four"}, "workers"),
                         ({"operation": "add-disk", "path": "/nonexistent"}, "tier")]:
        status, _, data = daemon.request("POST", "/api/v1/pool/jobs", body=body, token=token)
        message = json.loads(data)["error"]["message"] if data else ""
        check(status == 400 and expect in message, f"job {body}: want 400 naming '{expect}', got {status} {message}")
    status, _, _ = daemon.request("POST", "/api/v1/pool/jobs", body="{not json", token=token,
                                  headers={"Content-Type": "application/json"})
    check(status == 400, f"malformed JSON job request: {status}")
    status, _, _ = daemon.request("POST", "/api/v1/pool/jobs", body={"operation": "scrub"})
    check(status == 401, f"job request without a token over TCP: want 401, got {status}")
    status, _, _ = daemon.request("GET", "/api/v1/pool/jobs/999")
    check(status == 404, f"unknown job: want 404, got {status}")
    status, _, _ = daemon.request("POST", "/api/v1/pool/jobs/abc/cancel", token=token)
    check(status == 400, f"non-numeric job id: want 400, got {status}")


def test_heal(daemon):
    result = cli(daemon, "pool", "heal", "--json")
    report = job_json(result)
    check(result.returncode == 0, f"heal through the daemon: {result.stderr.decode()}")
    check(b"as job" in result.stderr, f"heal should say it runs in the daemon: {result.stderr.decode()}")
    check(report.get("shards_rebuilt", 0) > 0 and report.get("complete"), f"heal rebuilt nothing: {report}")
    status, _, data = daemon.request("GET", "/api/v1/pool")
    pool = json.loads(data)
    check(status == 200 and pool["stripes"]["degraded"] == 0 and pool["stripes"]["lost"] == 0,
          f"degraded stripes left after heal: {data[:300]!r}")


def test_busy_cancel_resume(daemon, token):
    # A slow scrub (bandwidth-limited) is running: a second job is refused, Ctrl-C cancels, a rerun resumes.
    scrub = subprocess.Popen([BINARY, "-c", daemon.config_path, "pool", "scrub", "--restart", "--bandwidth", "400K",
                              "--workers", "1", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    running = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and running is None:
        _, _, data = daemon.request("GET", "/api/v1/pool/jobs")
        jobs = [j for j in json.loads(data)["jobs"] if j["state"] == "running"]
        if jobs and jobs[0]["progress"]["done_bytes"] > 0:
            running = jobs[0]
        time.sleep(0.1)
    check(running is not None and running["operation"] == "scrub", f"scrub job not seen running: {running}")
    status, _, data = daemon.request("POST", "/api/v1/pool/jobs", body={"operation": "heal"}, token=token)
    check(status == 409 and b"is running" in data, f"second job while scrub runs: want 409 busy, got {status} {data}")
    result = cli(daemon, "pool", "drain", "disk3")
    check(result.returncode != 0 and b"is running" in result.stderr,
          f"CLI drain while scrub runs should be refused: {result.returncode} {result.stderr.decode()}")
    scrub.send_signal(signal.SIGINT)
    out, err = scrub.communicate(timeout=60)
    check(scrub.returncode == 1, f"cancelled scrub should exit 1, got {scrub.returncode}: {err.decode()}")
    report = json.loads(out) if out.strip() else {}
    check(report.get("stopped_because") == "cancelled", f"scrub report after Ctrl-C: {report}")
    check(b'"done_bytes"' in err, "scrub --json should print progress as JSON lines on stderr")
    result = cli(daemon, "pool", "scrub", "--json")
    report = job_json(result)
    check(result.returncode == 0 and report.get("complete"), f"scrub rerun: {result.stderr.decode()}")
    check(report.get("resumed_after_stripe") is not None, f"scrub rerun should resume, not start over: {report}")


def test_fsck_drain_add(daemon):
    result = cli(daemon, "pool", "fsck", "--json")
    report = job_json(result)
    check(result.returncode == 0 and report.get("data_intact"), f"fsck through the daemon: {result.stdout[:400]!r}")
    result = cli(daemon, "pool", "drain", "disk1", "--json")
    report = job_json(result)
    check(result.returncode == 0 and report.get("complete"), f"drain disk1: {result.stderr.decode()}")
    _, _, data = daemon.request("GET", "/api/v1/pool")
    disks = {d["id"]: d for d in json.loads(data)["disks"]}
    disk1 = disks.get(1, {})
    check(disk1.get("state") == "retired" and disk1.get("shards") == 0, f"disk1 after drain: {disk1}")
    new_disk = os.path.join(daemon.workdir, "d8")
    os.makedirs(new_disk)
    result = cli(daemon, "pool", "add-disk", new_disk, "--tier", "hdd", "--json")
    added = job_json(result)
    check(result.returncode == 0 and added.get("disk_id") == DISKS, f"add-disk through the daemon: {result.stdout!r} "
          f"{result.stderr.decode()}")
    check(os.path.exists(os.path.join(new_disk, "tiercel.label")), "add-disk should label the new directory")


def main():
    daemon = Daemon()
    try:
        daemon.write_config(sections=pool_section(daemon.workdir))
        for i in range(DISKS):
            os.makedirs(os.path.join(daemon.workdir, f"d{i}"))
        result = cli(daemon, "pool", "create")
        check(result.returncode == 0, f"pool create: {result.stderr.decode()}")
        objects = put_objects(daemon, 24, seed=6)
        shutil.rmtree(os.path.join(daemon.workdir, "d2"))  # a lost disk: heal must rebuild its shards elsewhere
        os.makedirs(os.path.join(daemon.workdir, "d2"))
        daemon.start()
        token = daemon.token()
        result = cli(daemon, "pool", "put", "x", "/etc/hostname")
        check(result.returncode != 0 and b"daemon" in result.stderr,
              f"offline put while the daemon runs should be refused naming the daemon: {result.stderr.decode()}")
        result = cli(daemon, "pool", "status")
        check(result.returncode == 0 and b"pool tank" in result.stdout and b"disk7" in result.stdout,
              f"pool status while the daemon runs (answered by the daemon): {result.stderr.decode()}")
        result = cli(daemon, "pool", "status", "--json")
        check(result.returncode == 0 and job_json(result).get("objects") == 24, f"pool status --json: {result.stdout!r}")
        test_bad_requests(daemon, token)
        test_heal(daemon)
        test_busy_cancel_resume(daemon, token)
        test_fsck_drain_add(daemon)
        check(daemon.stop() == 0, "daemon should exit 0 on SIGTERM")
        check_identical(daemon, objects)
    finally:
        daemon.__exit__(None, None, None)
        print(daemon.read_log()[-3000:])
        shutil.rmtree(daemon.workdir, ignore_errors=True)
    finish()


main()
