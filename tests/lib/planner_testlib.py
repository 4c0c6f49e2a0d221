"""Helpers for the planner's integration tests: polling with a deadline, GET as JSON, and the CLI's dry run."""
import json
import time

from tiercel_testlib import check, run_cli


def wait_for(what, predicate, timeout=60, interval=0.2):
    """predicate() until it returns something true (returned), or a failed check naming `what` and None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    check(False, f"timed out waiting for {what}")
    return None


def get_json(daemon, path):
    status, _, body = daemon.request("GET", path)
    return status, (json.loads(body) if body else None)


def dry_run(config):
    """`tiercel plan --json` (the daemon's dry run when one runs), or None when it fails."""
    result = run_cli("plan", "--json", config=config)
    return json.loads(result.stdout) if result.returncode == 0 else None
