"""The dashboard in real headless Chromium against a real daemon hosting a real pool on directory disks.
Chromium renders each page (JavaScript included) and dumps the resulting DOM; the test checks that the overview
shows the pool's health and every disk, that the pool page shows capacity by tier, and that a degraded pool (a
disk directory removed) is shown as degraded. Screenshots of every page are saved under
build/tests/e2e-artifacts/ for people to look at."""
import os
import shutil
import subprocess
import tempfile

from tiercel_testlib import Daemon, check, finish, run_cli

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=5000", "--window-size=1200,900"]
ARTIFACTS = os.path.join(os.getcwd(), "e2e-artifacts")


def chromium(url, *extra):
    profile = tempfile.mkdtemp(prefix="tiercel-chromium-")
    try:
        result = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, url],
                                capture_output=True, timeout=90)
        return result
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def render(url):
    return chromium(url, "--dump-dom").stdout.decode(errors="replace")


def screenshot(url, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, f"{name}.png")
    chromium(url, f"--screenshot={path}")
    check(os.path.exists(path) and os.path.getsize(path) > 1000, f"screenshot of {name} saved at {path}")


def main():
    check(os.path.exists(CHROMIUM), f"Debian's chromium is installed at {CHROMIUM}")
    workdir = tempfile.mkdtemp(prefix="tiercel-e2e-")
    disks = [os.path.join(workdir, f"disk{i}") for i in range(6)]
    for disk in disks:
        os.makedirs(disk)
    pool_section = '[pool]\nname = "e2e"\nk = 4\nm = 2\nchunk_size = "64KiB"\n' + "".join(
        f'[[pool.disk]]\npath = "{d}"\ntier = "{"ssd" if i < 2 else "hdd"}"\n' for i, d in enumerate(disks))
    with Daemon(sections=pool_section, workdir=workdir) as daemon:
        check(run_cli("pool", "create", config=daemon.config_path).returncode == 0, "pool create")
        data = os.path.join(workdir, "data.bin")
        with open(data, "wb") as f:
            f.write(os.urandom(3 << 20))
        check(run_cli("pool", "put", "photos/a.bin", data, config=daemon.config_path).returncode == 0, "put")
        daemon.start()
        base = f"http://127.0.0.1:{daemon.port}/"

        dom = render(base + "#overview")
        check('id="pool-health"' in dom and ">healthy<" in dom, f"overview shows the pool as healthy: {dom[-600:]}")
        check("Pool e2e" in dom and "1 objects" in dom, "overview names the pool and counts its objects")
        check(all(f"disk{i}" in dom for i in range(6)), "overview lists all six disks")
        check("daemon ok" in dom, "the header shows the daemon's health")
        dom = render(base + "#pool")
        check("Capacity by tier" in dom and ">ssd<" in dom and ">hdd<" in dom, "pool page shows capacity by tier")
        check("Metadata at sequence" in dom, "pool page shows the metadata replicas")
        for page in ("overview", "disks", "pool", "tiering", "plans", "events"):
            screenshot(base + "#" + page, page)
        daemon.stop()

        os.rename(disks[5], disks[5] + ".gone")
        daemon.start()
        dom = render(base + "#overview")
        check(">degraded<" in dom and "OFFLINE" in dom, "with a disk directory removed the overview says degraded")
        screenshot(base + "#overview", "overview-degraded")
        daemon.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
