"""Real crashes: `tiercel pool put` processes are killed with SIGKILL at random moments while they stream objects
onto directory disks. After each kill the pool reopens; every put that exited 0 reads back byte-identical; a killed
put's object is either absent or complete (never partial); fsck finds no missing or corrupt data, and after
`fsck --repair` (which deletes the killed puts' orphan shards) it is clean. Seeds are printed."""
import hashlib
import json
import os
import random
import signal
import subprocess
import tempfile
import time

from tiercel_testlib import BINARY, check, finish, run_cli

ROUNDS = 12


def main():
    seed = int(os.environ.get("TIERCEL_KILL9_SEED", random.randrange(1 << 30)))
    print(f"seed {seed} (rerun with TIERCEL_KILL9_SEED={seed})", flush=True)
    rng = random.Random(seed)
    workdir = tempfile.mkdtemp(prefix="tiercel-kill9-")
    disks = [os.path.join(workdir, f"disk{i}") for i in range(6)]
    for disk in disks:
        os.makedirs(disk)
    config = os.path.join(workdir, "pool.toml")
    with open(config, "w") as f:
        f.write(f'state_dir = "{workdir}/state"\n[pool]\nk = 4\nm = 2\nchunk_size = "256KiB"\ncompression = "lz4"\n')
        for disk in disks:
            f.write(f'[[pool.disk]]\npath = "{disk}"\n')
    check(run_cli("pool", "create", config=config).returncode == 0, "create")

    acknowledged = {}   # name -> sha256 of what an exited-0 put stored
    attempted = {}      # name -> sha256 of what a killed put tried to store
    for round_number in range(ROUNDS):
        name = f"obj{round_number % 5}"  # names repeat, so kills also hit overwrites
        data = rng.randbytes(rng.choice([3000, 700_000, 6_000_000, 20_000_000]))
        path = os.path.join(workdir, "input.bin")
        with open(path, "wb") as f:
            f.write(data)
        digest = hashlib.sha256(data).hexdigest()
        process = subprocess.Popen([BINARY, "-c", config, "pool", "put", name, path],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, 0.25))
        process.send_signal(signal.SIGKILL)
        code = process.wait()
        if code == 0:
            acknowledged[name] = digest
            attempted.pop(name, None)
        else:
            attempted[name] = digest
        print(f"round {round_number}: put {name} ({len(data)} bytes) -> {'done' if code == 0 else 'killed'}",
              flush=True)

        listing = run_cli("pool", "ls", "--json", config=config)
        check(listing.returncode == 0, f"round {round_number}: pool opens after the kill: {listing.stderr!r}")
        names = {o["name"] for o in json.loads(listing.stdout or b"[]")}
        for object_name in names | set(acknowledged):
            result = run_cli("pool", "get", object_name, "-", config=config, timeout=120)
            got = hashlib.sha256(result.stdout).hexdigest() if result.returncode == 0 else None
            allowed = {acknowledged.get(object_name), attempted.get(object_name)} - {None}
            check(got in allowed, f"round {round_number}: {object_name} reads back an acknowledged or complete "
                                  f"in-flight version (rc {result.returncode}, {result.stderr[-200:]!r})")
            if got is not None and got == attempted.get(object_name):
                acknowledged[object_name] = got  # the killed put had committed before it died
                attempted.pop(object_name, None)
        fsck = run_cli("pool", "fsck", "--json", config=config, timeout=300)
        report = json.loads(fsck.stdout or b"{}")
        check(report.get("data_intact") is True, f"round {round_number}: fsck finds no damage: {fsck.stdout[:400]!r}")
    result = run_cli("pool", "fsck", "--repair", config=config, timeout=300)
    check(result.returncode == 0, f"fsck --repair: {result.stdout[-400:]!r}")
    result = run_cli("pool", "fsck", "--json", config=config, timeout=300)
    check(json.loads(result.stdout or b"{}").get("clean") is True, f"clean after repair: {result.stdout[:400]!r}")
    finish()


if __name__ == "__main__":
    main()
