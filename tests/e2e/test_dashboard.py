"""The dashboard end to end: Debian's headless Chromium, driven by playwright-core (tests/e2e/dashboard.mjs),
against a real daemon hosting a real 4+2 pool on eight directory disks, with real HTTP and real SQLite.

The HSM watches a real loop-mounted ext4 image (needs root and Linux 6.14+, as tests/integration/test_hsm.py):
files are archived to a real `dir` target and two are read back, so the tiering page shows real usage against
the water marks, stubs and recalls.

SMART is FAKED (the only part that is): `[health] smartctl` points at tests/fixtures/fake_smartctl.py, which replays
recorded `smartctl --json -a` output of a real drive; disk3 serves it with attribute 5 (Reallocated_Sector_Ct)
rising poll by poll, as a degrading drive does.

Must show: the browser logs in, sees disk3 at risk on the overview and the disks page, opens the planner's drain
of disk3 and its explanation, approves it by clicking, and watches it reach "verified" in the page; the daemon's
own record then says the dashboard decided it. Screenshots of every page, desktop and phone, go to
build/tests/e2e-artifacts/. The static file server is checked over raw HTTP: content types, cache headers, the
Content-Security-Policy, ETags, and 404s for unknown files and traversal attempts. Finally a disk directory is
removed and the overview must say the pool is degraded.
"""
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

from fake_smart import write_fake_smartctl
from hsm_testlib import ext4_mount, hsm_sections, write_pattern
from tiercel_testlib import BINARY, Daemon, check, finish, run_cli

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NODE = shutil.which("node") or "/usr/bin/node"
NODE_MODULES = os.environ.get("TIERCEL_NODE_MODULES") or os.path.join(os.path.dirname(BINARY), "web", "node_modules")
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboard.mjs")
ARTIFACTS = os.path.join(os.getcwd(), "e2e-artifacts")
WORK = tempfile.mkdtemp(prefix="tiercel-e2e-")
DISKS = 8
DEGRADING = 3


def sections(wrapper, paths, mnt, archive_dir):
    text = hsm_sections(mnt, archive_dir) + (f'[health]\nsmartctl = "{wrapper}"\nsmart_interval = "400ms"\n'
            '[planner]\ninterval = "300ms"\ndrain_confirm_polls = 3\nscrub_interval = "3650d"\ncooldown = "1s"\n'
            '[pool]\nname = "e2e"\nk = 4\nm = 2\ncompression = "none"\nchunk_size = "64KiB"\n')
    for i, path in enumerate(paths):
        text += f'[[pool.disk]]\npath = "{path}"\ndevice = "/dev/fake{i}"\ntier = "{"ssd" if i < 2 else "hdd"}"\n'
    return text


def raw_get(port, target, headers=None):
    """GET with the target sent byte for byte (no client-side normalisation of '..')."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("GET", target, skip_accept_encoding=True)
    for key, value in (headers or {}).items():
        connection.putheader(key, value)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def check_static_files(port):
    status, headers, body = raw_get(port, "/")
    check(status == 200 and headers.get("content-type", "").startswith("text/html"), f"/ serves HTML: {status}")
    csp = headers.get("content-security-policy", "")
    check("script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp,
          f"/ has a strict Content-Security-Policy: {csp}")
    check(headers.get("cache-control") == "no-cache", "index.html is revalidated on every load")
    check(headers.get("x-content-type-options") == "nosniff", "nosniff is set")
    scripts = re.findall(rb'src="(/assets/[^"]+\.js)"', body)
    styles = re.findall(rb'href="(/assets/[^"]+\.css)"', body)
    check(len(scripts) == 1 and len(styles) == 1, f"index.html names one hashed script and stylesheet: {scripts} {styles}")
    check(b"<script>" not in body and b"style=" not in body, "index.html has no inline script or style")
    if scripts:
        status, headers, js = raw_get(port, scripts[0].decode())
        check(status == 200 and headers.get("content-type", "").startswith("text/javascript"), "the bundle is JavaScript")
        check("immutable" in headers.get("cache-control", ""), "hashed bundles are cached as immutable")
        etag = headers.get("etag")
        status, _, again = raw_get(port, scripts[0].decode(), {"If-None-Match": etag or "none"})
        check(etag and status == 304 and not again, f"a matching ETag answers 304 without a body: {status}")
    if styles:
        status, headers, _ = raw_get(port, styles[0].decode())
        check(status == 200 and headers.get("content-type", "").startswith("text/css"), "the stylesheet is CSS")
    for target in ["/nope.js", "/assets/nope.js", "/assets/.hidden", "/index.html.bak", "/assets/a%2fb.js"]:
        status, headers, body = raw_get(port, target)
        check(status == 404 and json.loads(body)["error"]["code"] == "not_found", f"{target} is a JSON 404: {status}")
    for target in ["/../../../../etc/passwd", "/assets/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                   "/assets/..%2f..%2f..%2fetc%2fpasswd", "/..%5c..%5cetc%5cpasswd"]:
        status, _, body = raw_get(port, target)
        check(status in (400, 404) and b"root:" not in body and b'"error"' in body,
              f"traversal {target} is refused with a JSON error: {status}")


def archive_and_recall(daemon, mnt):
    """Real HSM traffic for the tiering page: four files archived (stubs), two of them read back (recalls)."""
    paths = [os.path.join(mnt, f"video{i}.bin") for i in range(4)]
    for i, path in enumerate(paths):
        write_pattern(path, 4 << 20, seed=i)
    result = run_cli("hsm", "archive", *paths, config=daemon.config_path, timeout=120)
    check(result.returncode == 0, f"hsm archive: {result.stdout!r} {result.stderr!r}")
    for path in paths[:2]:
        with open(path, "rb") as f:
            check(len(f.read()) == 4 << 20, f"reading {path} recalls it whole")


def run_browser(mode, daemon, token, mnt):
    env = dict(os.environ, TIERCEL_HSM_PATH=mnt, TIERCEL_URL=f"http://127.0.0.1:{daemon.port}", TIERCEL_TOKEN=token,
               TIERCEL_ARTIFACTS=ARTIFACTS, TIERCEL_NODE_MODULES=NODE_MODULES, CHROMIUM=CHROMIUM,
               DEGRADING=f"disk{DEGRADING}")
    result = subprocess.run([NODE, SCRIPT, mode], env=env, capture_output=True, text=True, timeout=400)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr[-4000:])
    for line in result.stdout.splitlines():
        if line.startswith("FAIL "):
            check(False, f"browser: {line[5:]}")
        elif line.startswith("ok "):
            check(True, line[3:])
    check(result.returncode == 0, f"the browser script ({mode}) exits 0: {result.returncode}")
    summary = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(summary[-1][7:]) if summary else {}


def check_decision(daemon, plan_id):
    status, _, body = daemon.request("GET", f"/api/v1/plans/{plan_id}")
    plan = json.loads(body) if status == 200 else {}
    check(plan.get("state") == "verified", f"the daemon says plan {plan_id} is verified: {plan.get('state')}")
    # The page sends {"by": "dashboard"}; a daemon may record the session instead, but never the CLI.
    check(plan.get("decided_by") not in (None, "", "cli"), f"the daemon records the browser's click: {plan.get('decided_by')}")
    events = [entry["event"] for entry in plan.get("audit", [])]
    check(events[:2] == ["proposed", "approved"] and "verified" in events, f"audit trail: {events}")
    status, _, body = daemon.request("GET", "/api/v1/pool")
    pool = json.loads(body)
    disk = next(d for d in pool["disks"] if d["name"] == f"disk{DEGRADING}")
    check(disk["state"] == "retired" and disk["shards"] == 0, f"disk{DEGRADING} is drained and retired: {disk}")


def run_everything(daemon, paths, mnt):
    check(run_cli("pool", "create", config=daemon.config_path).returncode == 0, "pool create")
    rng = random.Random(8)
    for i in range(8):
        source = os.path.join(WORK, f"obj{i}")
        with open(source, "wb") as f:
            f.write(rng.randbytes(150_000 + rng.randrange(100_000)))
        check(run_cli("pool", "put", f"photos/{i}.jpg", source, config=daemon.config_path).returncode == 0, f"put {i}")

    with daemon:
        daemon.start()
        check_static_files(daemon.port)
        archive_and_recall(daemon, mnt)
        status, _, _ = daemon.request("POST", "/api/v1/plans/1/approve", body={})
        check(status == 401, f"approving without a token or session is refused: {status}")
        result = run_browser("full", daemon, daemon.token(), mnt)
        print("browser summary:", json.dumps(result))
        if result.get("plan_id"):
            check_decision(daemon, result["plan_id"])
        else:
            check(False, "the browser found and approved a plan")
            print(daemon.read_log()[-3000:])
        daemon.stop()

        os.rename(paths[5], paths[5] + ".gone")
        daemon.start()
        run_browser("degraded", daemon, daemon.token(), mnt)
        daemon.stop()


def main():
    for tool, path in [("chromium", CHROMIUM), ("node", NODE), ("playwright-core", os.path.join(NODE_MODULES, "playwright-core"))]:
        check(os.path.exists(path), f"{tool} is installed at {path}")
    os.makedirs(ARTIFACTS, exist_ok=True)
    wrapper = write_fake_smartctl(WORK, DISKS, DEGRADING)
    paths = [os.path.join(WORK, f"disk{i}") for i in range(DISKS)]
    for path in paths:
        os.makedirs(path)
    os.makedirs(os.path.join(WORK, "daemon"))
    with ext4_mount("300M") as (hsm_dir, mnt):
        archive_dir = os.path.join(hsm_dir, "archive")
        os.mkdir(archive_dir)
        daemon = Daemon(sections=sections(wrapper, paths, mnt, archive_dir), workdir=os.path.join(WORK, "daemon"))
        run_everything(daemon, paths, mnt)
    shots = sorted(name for name in os.listdir(ARTIFACTS) if name.endswith(".png"))
    for page in ("overview", "disks", "pool", "tiering", "plans", "events", "login"):
        for kind in ("desktop", "phone"):
            name = f"{page}-{kind}.png"
            check(name in shots and os.path.getsize(os.path.join(ARTIFACTS, name)) > 5000, f"screenshot {name} saved")
    print(f"screenshots in {ARTIFACTS}: {', '.join(shots)}")
    shutil.rmtree(WORK, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
