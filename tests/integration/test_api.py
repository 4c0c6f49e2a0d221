"""The REST API v1 against a real `tiercel serve` with a real pool on 8 directory disks, real SQLite and real HTTP.

SMART is FAKED (the only part that is, the machine has no drives to spare): `[health] smartctl` is a wrapper around
tests/fixtures/fake_smartctl.py replaying recorded `smartctl --json -a` output; disk3's attribute 5 rises poll by
poll like a degrading drive. The planner auto-approves nothing here, so its scrub proposal waits for a person.

Covered: every route in docs/openapi.yaml (reads open on loopback, every documented mutation 401 without a token),
the dashboard's flow (log in, approve the scrub plan with cookie + X-CSRF-Token), the SSE stream (several clients at
once receive the approval, the scrub job and the verification; Last-Event-ID replays; `: keepalive` after 15 quiet
seconds; other requests are served meanwhile), paged events, status, config redaction, /metrics families, the event
log surviving a restart, and packaging/homeassistant/tiercel.yaml rendered against the real /api/v1/ha response.
"""
import json
import os
import random
import re
import sqlite3
import stat
import sys
import tempfile
import time
from datetime import datetime

try:
    import jinja2
    import yaml
except ImportError:  # Debian's python3-jinja2 and python3-yaml (scripts/install-deps.sh) under another python3
    sys.path.append("/usr/lib/python3/dist-packages")
    import jinja2
    import yaml

from api_testlib import BrowserSession, SseClient, error_code
import fake_smart
from tiercel_testlib import SOURCE_DIR, Daemon, check, finish, run_cli

WORK = tempfile.mkdtemp(prefix="tiercel-api-")
DISKS = 8
DEGRADING = 3
PROMETHEUS_LINE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? '
                             r'[-+]?([0-9.eE+-]+|NaN|Inf)$')


def fake_smartctl():
    """A smartctl wrapper that replays fixtures: /dev/fakeN passes, except disk3 which degrades."""
    return fake_smart.write_fake_smartctl(WORK, DISKS, DEGRADING, rising=[0, 16, 48, 96, 160, 240, 320, 400])


def sections(wrapper):
    text = (f'[health]\nsmartctl = "{wrapper}"\nsmart_interval = "300ms"\n'
            '[planner]\ninterval = "300ms"\nauto_approve = []\nscrub_interval = "2s"\ndrain_confirm_polls = 1000\n'
            '[pool]\nk = 4\nm = 2\ncompression = "none"\nchunk_size = 65536\n')
    for i in range(DISKS):
        os.makedirs(os.path.join(WORK, f"d{i}"), exist_ok=True)
        text += f'[[pool.disk]]\npath = "{WORK}/d{i}"\ndevice = "/dev/fake{i}"\n'
    return text


def get_json(daemon, path):
    status, headers, body = daemon.request("GET", path)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def wait_for(what, predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    check(False, f"timed out waiting for {what}")
    return None


def concrete(path, ids):
    """A path from docs/openapi.yaml with its {captures} filled with ids that exist in this daemon."""
    if path.startswith("/api/v1/pool/jobs/"):
        return path.replace("{id}", str(ids["job"]))
    if path.startswith("/api/v1/disks/"):
        return path.replace("{id}", "disk0")
    if path == "/assets/{asset}":
        return "/" + ids["bundle"]  # Vite's content-hashed bundle, as index.html names it
    return path.format(id=ids["plan"], stripe=1, asset="index.html")


def test_every_route(daemon, ids):
    """Each path and method in docs/openapi.yaml answers: reads with 200 (or a documented JSON error when the
    resource is not configured), and every mutation with 401 when no token comes along."""
    with open(os.path.join(SOURCE_DIR, "docs", "openapi.yaml")) as f:
        spec = yaml.safe_load(f)
    open_posts = {"/api/v1/plans/dry-run", "/api/v1/login", "/api/v1/logout"}
    for path, operations in spec["paths"].items():
        target_path = concrete(path, ids)
        for method, operation in operations.items():
            if path == "/api/v1/events/stream":
                continue  # a stream; tested below
            if method == "get":
                target = target_path + ("?path=/tmp/x" if path == "/api/v1/hsm/file" else "")
                status, headers, body = daemon.request("GET", target)
                if path.startswith("/api/v1/hsm"):
                    ok = status == 404 and error_code(body) == "no_hsm"  # no [hsm] in this config
                elif path == "/api/v1/pool/placement/{stripe}":
                    ok = status == 200 or (status == 404 and error_code(body) == "not_found")  # stripe 1 may not exist
                else:
                    ok = status == 200
                check(ok, f"GET {target}: {status} {body[:100]!r}")
                if path.startswith("/api/v1/") and not path.endswith(".yaml"):
                    check(headers.get("Content-Type") == "application/json", f"GET {target} answers JSON")
            elif method == "post":
                status, _, body = daemon.request("POST", target_path, body={})
                if path in open_posts:
                    check(status != 401, f"POST {target_path} is open: {status}")
                else:
                    check(operation.get("security") and status == 401 and error_code(body) == "unauthorized",
                          f"POST {target_path} without a token: want 401, got {status} {body[:100]!r}")


def test_config(daemon):
    status, config = get_json(daemon, "/api/v1/config")
    check(status == 200 and config["config"]["pool"]["k"] == 4, f"config as JSON: {config and config['config']}")
    check(config["config"]["http"]["token_file"].endswith("api.token"), "paths to secrets are shown")
    check(daemon.token() not in json.dumps(config), "the token itself never appears")


def test_sse_and_plan_approval(daemon):
    status, page = get_json(daemon, "/api/v1/events?limit=500")
    check(status == 200 and any(e["kind"] == "daemon_started" for e in page["events"]), "daemon_started is logged")
    streams = [SseClient(daemon.port) for _ in range(3)]
    check(all(s.response.status == 200 for s in streams), "three streams open")
    check(streams[0].response.getheader("Content-Type") == "text/event-stream", "text/event-stream")
    started = time.monotonic()
    status, _, _ = daemon.request("GET", "/api/v1/health")
    check(status == 200 and time.monotonic() - started < 1, "other requests are served while streams are open")

    plans = wait_for("a proposed scrub plan", lambda: [p for p in get_json(daemon, "/api/v1/plans?state=proposed")[1]
                                                       ["plans"] if p["action"] == "scrub"])
    if not plans:
        return None
    plan_id = plans[0]["id"]
    browser = BrowserSession(daemon)
    status, _, _ = browser.login(daemon.token())
    check(status == 200, "dashboard login")
    status, _, body = browser.request("POST", f"/api/v1/plans/{plan_id}/approve", body={"reason": "api test"},
                                      csrf=False)
    check(status == 403 and error_code(body) == "csrf", f"approve by cookie without CSRF: {status}")
    status, _, body = browser.request("POST", f"/api/v1/plans/{plan_id}/approve", body={"reason": "api test"})
    check(status == 200 and json.loads(body)["state"] in ("approved", "running", "verified"),
          f"approve by cookie + CSRF: {status} {body[:200]!r}")

    def kind_is(kind, **data):
        return lambda e: e[1] == kind and all(e[2]["data"].get(k) == v for k, v in data.items())

    for stream in streams:
        approved = stream.wait_for(kind_is("plan_approved", plan_id=plan_id), timeout=30)
        check(approved is not None, "every stream receives plan_approved")
        if approved:
            event = approved[2]
            check(event["id"] == approved[0] and event["kind"] == "plan_approved" and event["source"] == "planner",
                  f"SSE id/event match the JSON: {approved}")
            check(set(event) == {"id", "time", "level", "source", "kind", "message", "data"}, f"event shape {event}")
            check(datetime.fromisoformat(event["time"].replace("Z", "+00:00")).tzinfo is not None, "RFC 3339 time")
    stream = streams[0]
    job = stream.wait_for(kind_is("job_started", operation="scrub"), timeout=60)
    finished = stream.wait_for(kind_is("job_finished", operation="scrub", state="done"), timeout=120)
    verified = stream.wait_for(kind_is("plan_verified", plan_id=plan_id), timeout=60)
    check(job and finished and verified, f"the stream shows the scrub start, finish and verification: "
                                         f"{[e[1] for e in stream.events]}")
    ids = [e[0] for e in stream.events]
    check(ids == sorted(ids) and len(set(ids)) == len(ids), f"event ids strictly increase: {ids}")

    # Last-Event-ID: a reconnecting client gets what it missed at once.
    if verified:
        approved_id = next(e[0] for e in stream.events if e[1] == "plan_approved")
        replay = SseClient(daemon.port, last_event_id=approved_id - 1)
        got = replay.wait_for(lambda e: e[0] == approved_id, timeout=5)
        check(got is not None and got[1] == "plan_approved", "Last-Event-ID replays the missed events")
        replay.close()
    metrics = daemon.request("GET", "/metrics")[2].decode()
    check(re.search(r"^tiercel_http_event_streams [3-9]", metrics, re.M) is not None, "open streams are counted")
    for s in streams:
        s.close()
    return {"plan": plan_id, "job": finished[2]["data"]["job_id"] if finished else 1}


def test_paged_events(daemon):
    status, first = get_json(daemon, "/api/v1/events?limit=3")
    check(status == 200 and len(first["events"]) == 3 and first["next"] == first["events"][-1]["id"],
          f"a page of 3 with a cursor: {first}")
    ids = [e["id"] for e in first["events"]]
    check(ids == sorted(ids, reverse=True), "newest first")
    status, second = get_json(daemon, f"/api/v1/events?before={first['next']}&limit=3")
    check(status == 200 and second["events"] and second["events"][0]["id"] < ids[-1], "the next page is older")
    status, all_events = get_json(daemon, "/api/v1/events?limit=500")
    kinds = {e["kind"] for e in all_events["events"]}
    for kind in ("daemon_started", "plan_proposed", "plan_approved", "job_started", "job_finished", "plan_verified",
                 "disk_risk_changed", "login"):
        check(kind in kinds, f"the event log has {kind}: {sorted(kinds)}")
    risk = [e for e in all_events["events"] if e["kind"] == "disk_risk_changed"]
    check(any(e["data"]["disk"] == f"disk{DEGRADING}" and e["level"] in ("warning", "error") for e in risk),
          f"disk{DEGRADING}'s risk change is an event: {risk[:2]}")
    return all_events["events"][0]["id"]


def test_status(daemon):
    status, body = get_json(daemon, "/api/v1/status")
    check(status == 200, f"status: {status}")
    check(body["state"] in ("warning", "critical"), f"a disk at risk is not ok: {body['state']}")
    check(isinstance(body["summary"], str) and f"disk{DEGRADING}" in body["summary"],
          f"the summary names the worst problem: {body['summary']}")
    check(body["pool"]["state"] == "ok" and body["pool"]["redundancy"]["fully_redundant"] is True,
          f"pool ok: {body['pool']}")
    capacity = body["pool"]["capacity"]
    check(capacity["usable_total_bytes"] > 0 and capacity["tiers"]["hdd"]["disks"] == DISKS, f"capacity {capacity}")
    check(body["disks"]["total"] >= DISKS and body["disks"]["at_risk"] >= 1, f"disks {body['disks']}")
    check(any(f"disk{DEGRADING}" in a["message"] for a in body["alerts"]), f"alerts name disk3: {body['alerts']}")
    check(body["hsm"] is None, "no [hsm]: hsm is null")
    check(body["last_scrub"] is not None, "the finished scrub is the last scrub")


def render_home_assistant(ha):
    """Render every template of the example against the real response, the way HA's RESTful integration does:
    `value_json` is the parsed body. StrictUndefined turns a misspelt field into a failure."""
    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!secret", lambda loader, node: f"secret:{loader.construct_scalar(node)}")
    with open(os.path.join(SOURCE_DIR, "packaging", "homeassistant", "tiercel.yaml")) as f:
        example = yaml.load(f, Loader=Loader)
    resource = example["rest"][0]
    check(resource["resource"].endswith("/api/v1/ha"), "the example polls /api/v1/ha")
    check(resource["headers"]["Authorization"] == "secret:tiercel_authorization", "the token comes from secrets")
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    rendered = {}
    for kind in ("sensor", "binary_sensor"):
        for entity in resource[kind]:
            try:
                value = environment.from_string(entity["value_template"]).render(value_json=ha).strip()
            except jinja2.TemplateError as error:
                check(False, f"{entity['name']}: template fails: {error}")
                continue
            rendered[entity["name"]] = value
            for key in entity.get("json_attributes", []):
                check(key in ha, f"{entity['name']}: attribute {key} is in the response")
            if kind == "binary_sensor":
                check(value in ("True", "False"), f"{entity['name']} renders a boolean: {value!r}")
            elif entity.get("device_class") == "timestamp":
                check(value == "None" or datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None,
                      f"{entity['name']} renders a timestamp: {value!r}")
            elif "unit_of_measurement" in entity:
                try:
                    float(value)
                except ValueError:
                    check(False, f"{entity['name']} renders a number: {value!r}")
    names = " ".join(rendered).lower()
    for want in ("pool state", "free space", "disks at risk", "pending plans", "last scrub"):
        check(want in names, f"the example has a sensor for {want}")
    return rendered


def test_home_assistant(daemon):
    status, ha = get_json(daemon, "/api/v1/ha")
    check(status == 200, f"/api/v1/ha: {status}")
    check(all(not isinstance(v, (dict, list)) for v in ha.values()), f"flat JSON: {ha}")
    check(ha["pool_state"] == "ok" and ha["pool_free_bytes"] > 0 and ha["pool_used_bytes"] >= 0, f"pool: {ha}")
    check(ha["disks_at_risk"] >= 1 and ha["problem_disk_at_risk"] is True and ha["problem"] is True, f"risk: {ha}")
    check(ha["last_scrub"] is not None, "last_scrub after the scrub")
    rendered = render_home_assistant(ha)
    print("Home Assistant example rendered:", json.dumps(rendered, indent=1))
    check(rendered.get("Tiercel pool state") == "ok", "the pool state sensor reads ok")
    check(rendered.get("Tiercel disk at risk") == "True", "the disk-at-risk binary sensor is on")
    check(rendered.get("Tiercel last scrub") == ha["last_scrub"], "the last scrub sensor is the timestamp")


def test_metrics(daemon):
    status, _, body = daemon.request("GET", "/metrics")
    text = body.decode()
    bad = [line for line in text.splitlines() if line and not line.startswith("#") and not PROMETHEUS_LINE.match(line)]
    check(status == 200 and not bad, f"valid Prometheus text: {bad[:3]}")
    for needle in ['tiercel_pool_stripes{state="healthy"}', 'tiercel_pool_disk_capacity_bytes{disk="disk0",tier="hdd"}',
                   'tiercel_pool_disk_errors_total{disk="disk0",tier="hdd",kind="checksum"} 0',
                   'tiercel_disks{risk="at_risk"}', "tiercel_planner_alerts 0", "tiercel_pool_maintenance_running",
                   "tiercel_http_requests_total{", "tiercel_disk_risk_score{", "tiercel_plans{",
                   "# TYPE tiercel_pool_disk_errors_total counter", "# TYPE tiercel_pool_disk_latency_seconds gauge"]:
        check(needle in text, f"/metrics has {needle}")
    for name in re.findall(r"^# TYPE (\S+) counter", text, re.M):
        check(name.endswith("_total"), f"counter {name} ends in _total")


def test_keepalive(daemon):
    stream = SseClient(daemon.port)
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline and not any(text == "keepalive" for _, text in stream.comments):
        time.sleep(0.2)
    check(any(text == "keepalive" for _, text in stream.comments), "a quiet stream gets ': keepalive'")
    stream.close()


def main():
    wrapper = fake_smartctl()
    os.makedirs(os.path.join(WORK, "daemon"))
    daemon = Daemon(sections=sections(wrapper), workdir=os.path.join(WORK, "daemon"))
    result = run_cli("pool", "create", config=daemon.config_path)
    check(result.returncode == 0, f"pool create: {result.stderr.decode()}")
    rng = random.Random(8)
    for i in range(6):
        source = os.path.join(WORK, f"obj{i}")
        with open(source, "wb") as f:
            f.write(rng.randbytes(150_000 + rng.randrange(100_000)))
        result = run_cli("pool", "put", f"obj{i}", source, config=daemon.config_path)
        check(result.returncode == 0, f"put obj{i}: {result.stderr.decode()}")

    with daemon:
        daemon.start()
        wait_for(f"disk{DEGRADING} at risk", lambda: get_json(daemon, "/api/v1/ha")[1]["disks_at_risk"] >= 1)
        test_config(daemon)
        ids = test_sse_and_plan_approval(daemon) or {"plan": 1, "job": 1}
        status, _, index = daemon.request("GET", "/")
        bundle = re.search(rb"assets/[A-Za-z0-9._-]+\.js", index)
        check(status == 200 and bundle, f"index.html names its script bundle: {index[:300]!r}")
        ids["bundle"] = bundle.group(0).decode() if bundle else "assets/missing.js"
        test_every_route(daemon, ids)
        status, job = get_json(daemon, f"/api/v1/pool/jobs/{ids['job']}")
        check(status == 200 and job["operation"] == "scrub", f"the scrub job by id: {status}")
        status, disk = get_json(daemon, "/api/v1/disks/disk0")
        check(status == 200 and disk["id"] == "disk0", "a disk by id")
        newest = test_paged_events(daemon)
        test_status(daemon)
        test_home_assistant(daemon)
        test_metrics(daemon)
        test_keepalive(daemon)
        check(daemon.stop() == 0, "clean shutdown")

        # The event log is SQLite in the state dir and survives a restart; ids continue.
        db = sqlite3.connect(os.path.join(daemon.state_dir, "events.db"))
        rows = db.execute("SELECT id, kind, source FROM events ORDER BY id DESC LIMIT 1").fetchall()
        db.close()
        check(rows and rows[0][1] == "daemon_stopping" and rows[0][2] == "daemon" and rows[0][0] > newest,
              f"daemon_stopping is the last stored event: {rows}")
        daemon.start()
        status, page = get_json(daemon, "/api/v1/events?limit=500")
        restarted = [e for e in page["events"] if e["kind"] == "daemon_started"]
        check(len(restarted) >= 2 and restarted[0]["id"] > rows[0][0], "after a restart ids continue")
        check(any(e["kind"] == "plan_verified" for e in page["events"]), "old events are still listed")
        daemon.stop()
    finish()


if __name__ == "__main__":
    main()
