"""Pool maintenance through the real binary on directory disks: drain, heal after a deleted disk directory, heal killed
with SIGKILL half-way and resumed, scrub of 100 shard corruptions + 1 metadata replica corruption, add-disk +
rebalance (on tmpfs mounts of different sizes, skipped when mounting is not permitted), and the refusals."""
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from tiercel_testlib import BINARY, check, finish, run_cli

WORK = tempfile.mkdtemp(prefix="tiercel-maint-")


def make_pool(name, disks, chunk=65536, paths=None, capacities=None):
    root = os.path.join(WORK, name)
    os.makedirs(root)
    paths = paths or [os.path.join(root, f"d{i}") for i in range(disks)]
    for path in paths:
        os.makedirs(path, exist_ok=True)
    config = os.path.join(root, "tiercel.toml")
    with open(config, "w") as f:
        f.write(f'state_dir = "{root}/state"\n[pool]\nk = 4\nm = 2\ncompression = "none"\nchunk_size = {chunk}\n')
        for path in paths:
            f.write(f'[[pool.disk]]\npath = "{path}"\n')
    result = run_cli("pool", "create", config=config)
    check(result.returncode == 0, f"{name}: pool create: {result.stderr.decode()}")
    return root, config, paths


def put_objects(root, config, count, size, seed):
    rng = random.Random(seed)
    objects = {}
    for i in range(count):
        data = rng.randbytes(size + rng.randrange(size // 2))
        path = os.path.join(root, f"obj{i}")
        with open(path, "wb") as f:
            f.write(data)
        result = run_cli("pool", "put", f"obj{i}", path, config=config)
        check(result.returncode == 0, f"put obj{i}: {result.stderr.decode()}")
        objects[f"obj{i}"] = data
    return objects


def objects_identical(root, config, objects):
    for name, data in objects.items():
        out = os.path.join(root, "out")
        result = run_cli("pool", "get", name, out, config=config)
        if result.returncode != 0:
            print(f"get {name}: {result.stderr.decode()}")
            return False
        with open(out, "rb") as f:
            if f.read() != data:
                print(f"{name} differs")
                return False
    return True


def status(config):
    result = run_cli("pool", "status", "--json", config=config)
    return json.loads(result.stdout)


def fsck_intact(config):
    result = run_cli("pool", "fsck", "--json", config=config)
    report = json.loads(result.stdout)
    return report["data_intact"] and not report["missing_shards"] and not report["corrupt_shards"], report


def maintenance(config, *args, timeout=300):
    result = run_cli("pool", *args, "--json", config=config, timeout=timeout)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        report = {}
    return result, report


def shard_files(path):
    return glob.glob(os.path.join(path, "shards", "*", "*"))


def test_drain():
    root, config, paths = make_pool("drain", 8)
    objects = put_objects(root, config, 8, 1 << 20, seed=1)
    before = status(config)["disks"][2]["shards"]
    check(before > 0, "disk2 holds shards before the drain")
    result, report = maintenance(config, "drain", "2")
    check(result.returncode == 0, f"drain: {result.stderr.decode()}")
    check(report.get("complete") and not report.get("unrepairable"), f"drain report: {report}")
    check(report.get("shards_copied") == before, f"drain copied {report.get('shards_copied')} of {before} shards")
    progress = [json.loads(line) for line in result.stderr.decode().splitlines() if line.startswith("{")]
    check(progress and progress[-1]["finished"] and progress[-1]["done_bytes"] == progress[-1]["total_bytes"],
          f"drain progress lines: {progress[-1:]}")
    disk = status(config)["disks"][2]
    check(disk["state"] == "retired" and disk["shards"] == 0, f"drained disk: {disk}")
    check(not shard_files(paths[2]), "the drained disk holds no shard files")
    intact, fsck = fsck_intact(config)
    check(intact and not fsck["orphan_shards"], f"fsck after drain: {fsck}")
    check(objects_identical(root, config, objects), "objects identical after drain")
    # Removing it now works; removing a disk with data does not.
    result = run_cli("pool", "remove", "disk3", config=config)
    check(result.returncode == 1 and b"still holds" in result.stderr, f"remove with data: {result.stderr.decode()}")
    result = run_cli("pool", "remove", "2", config=config)
    check(result.returncode == 0, f"remove drained disk: {result.stderr.decode()}")
    check(not os.path.exists(os.path.join(paths[2], "tiercel.label")), "removed disk has no label")


def test_heal_deleted_directory():
    root, config, paths = make_pool("heal", 8)
    objects = put_objects(root, config, 8, 1 << 20, seed=2)
    lost = status(config)["disks"][0]["shards"]  # disk0 holds a metadata replica too
    shutil.rmtree(paths[0])
    check(status(config)["stripes"]["degraded"] > 0, "stripes degraded after deleting disk0's directory")
    result, report = maintenance(config, "heal")
    check(result.returncode == 0, f"heal: {result.stderr.decode()}")
    check(report.get("shards_rebuilt") == lost, f"heal rebuilt {report.get('shards_rebuilt')} of {lost} shards")
    after = status(config)
    check(after["stripes"]["degraded"] == 0 and after["stripes"]["lost"] == 0, f"stripes after heal: {after}")
    check(sum(1 for r in after["metadata"]["replicas"] if r["healthy"]) == 3, "three healthy metadata replicas")
    intact, fsck = fsck_intact(config)
    check(intact, f"fsck after heal: {fsck}")
    check(objects_identical(root, config, objects), "objects identical after heal")


def test_heal_killed_and_resumed():
    root, config, paths = make_pool("resume", 8)
    objects = put_objects(root, config, 12, 2 << 20, seed=3)
    lost = status(config)["disks"][5]["shards"]
    shutil.rmtree(paths[5])
    # Throttled so that it is surely half-way when killed; progress is committed at least every 2 s.
    process = subprocess.Popen([BINARY, "-c", config, "pool", "heal", "--json", "--bandwidth", "4M"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done_fraction = 0.0
    deadline = time.monotonic() + 120
    for line in process.stderr:
        if line.startswith(b"{"):
            step = json.loads(line)
            done_fraction = step["done_bytes"] / max(1, step["total_bytes"])
            if done_fraction >= 0.4 or time.monotonic() > deadline:
                break
    process.send_signal(signal.SIGKILL)
    process.wait()
    check(0.0 < done_fraction < 1.0, f"heal killed half-way (at {done_fraction:.0%})")
    result, report = maintenance(config, "heal")
    check(result.returncode == 0, f"heal rerun: {result.stderr.decode()}")
    check(report.get("resumed_after_stripe") is not None, f"the rerun resumed: {report}")
    check(report.get("stripes_skipped", 0) > 0, f"the rerun skipped finished stripes: {report.get('stripes_skipped')}")
    check(0 < report.get("shards_rebuilt", 0) < lost,
          f"the rerun rebuilt {report.get('shards_rebuilt')} shards, fewer than all {lost}")
    after = status(config)
    check(after["stripes"]["degraded"] == 0 and after["stripes"]["lost"] == 0, f"stripes after resumed heal: {after}")
    check(objects_identical(root, config, objects), "objects identical after the resumed heal")


def test_scrub():
    root, config, paths = make_pool("scrub", 6, chunk=16384)
    objects = put_objects(root, config, 10, 900 * 1024, seed=4)
    # One corrupted shard in each of 100 different stripes (random byte of a random shard of the stripe).
    by_stripe = {}
    for path in paths:
        for shard in shard_files(path):
            by_stripe.setdefault(os.path.basename(shard).split(".")[0], []).append(shard)
    check(len(by_stripe) >= 100, f"at least 100 stripes ({len(by_stripe)})")
    rng = random.Random(5)
    for stripe in rng.sample(sorted(by_stripe), 100):
        shard = rng.choice(by_stripe[stripe])
        with open(shard, "r+b") as f:
            size = os.path.getsize(shard)
            offset = rng.randrange(size)
            f.seek(offset)
            byte = f.read(1)[0]
            f.seek(offset)
            f.write(bytes([byte ^ (1 << rng.randrange(8))]))
    log = sorted(glob.glob(os.path.join(paths[0], "meta", "log.*")))[-1]
    with open(log, "r+b") as f:
        f.seek(os.path.getsize(log) // 2)
        byte = f.read(1)[0]
        f.seek(os.path.getsize(log) // 2)
        f.write(bytes([byte ^ 0x40]))
    result, report = maintenance(config, "scrub")
    check(result.returncode == 0, f"scrub: {result.stderr.decode()}")
    check(report.get("shards_bad") == 100 and report.get("shards_rebuilt") == 100,
          f"scrub found {report.get('shards_bad')} and rebuilt {report.get('shards_rebuilt')} of 100")
    # Opening the pool already verifies and repairs the metadata replicas (and logs what it found); scrub's own
    # check then finds them clean. Either way the damaged replica must be reported as repaired.
    check(report.get("metadata_repaired") or (b"damaged" in result.stderr and b"rewritten" in result.stderr),
          f"the damaged metadata replica was repaired: {report.get('metadata_findings')} {result.stderr[-2000:]}")
    result, second = maintenance(config, "scrub")
    check(result.returncode == 0 and second.get("shards_bad") == 0 and not second.get("metadata_findings")
          and not second.get("metadata_repaired"), f"second scrub finds nothing: {second}")
    check(objects_identical(root, config, objects), "objects identical after scrub")


def try_mount(path, size_mib):
    os.makedirs(path, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", path],
                          capture_output=True).returncode == 0


def test_add_disk_rebalance_and_room():
    base = os.path.join(WORK, "mounts")
    paths = [os.path.join(base, f"m{i}") for i in range(8)]
    mounted = []
    try:
        for i, path in enumerate(paths):
            # The added disk's share (640 of 4224 MiB) stays below the 1/(k+m) one disk can hold at most.
            if not try_mount(path, 640 if i == 7 else 512):
                print("SKIP add-disk/rebalance: cannot mount tmpfs here (needs root)")
                return
            mounted.append(path)
        root, config, _ = make_pool("rebalance", 7, paths=paths[:7])
        objects = put_objects(root, config, 12, 2 << 20, seed=6)
        result = run_cli("pool", "add-disk", paths[7], "--tier", "hdd", config=config)
        check(result.returncode == 0 and b"[[pool.disk]]" in result.stdout, f"add-disk: {result.stdout.decode()}"
              f"{result.stderr.decode()}")
        with open(config, "a") as f:
            f.write(f'[[pool.disk]]\npath = "{paths[7]}"\ntier = "hdd"\n')
        result, report = maintenance(config, "rebalance")
        check(result.returncode == 0, f"rebalance: {result.stderr.decode()}")
        disks = [d for d in status(config)["disks"] if d["state"] == "active"]
        total_shards = sum(d["shards"] for d in disks)
        total_capacity = sum(d["capacity_bytes"] for d in disks)
        for d in disks:
            share = d["shards"] / (total_shards * d["capacity_bytes"] / total_capacity)
            check(abs(share - 1) <= 0.10, f"{d['name']} holds {share:.2f} of its capacity share")
        check(objects_identical(root, config, objects), "objects identical after rebalance")
        # Drain refuses when the other disks lack room: fill them up to just above the placement reserve.
        for path in paths[:7]:
            free = shutil.disk_usage(path).free
            with open(os.path.join(path, "ballast"), "wb") as f:
                f.truncate(0)
                chunk = b"\0" * (1 << 20)
                for _ in range(max(0, (free - (64 << 20)) >> 20)):
                    f.write(chunk)
                f.write(b"\0" * max(0, shutil.disk_usage(path).free - (64 << 20) - (128 << 10)))
        result = run_cli("pool", "drain", "7", config=config)
        check(result.returncode == 1 and b"refusing" in result.stderr and b"free" in result.stderr,
              f"drain without room: {result.stderr.decode()}")
        check(status(config)["disks"][7]["state"] == "active", "a refused drain changes nothing")
    finally:
        for path in mounted:
            subprocess.run(["umount", path], capture_output=True)


def test_drain_refused_on_minimal_pool():
    root, config, paths = make_pool("minimal", 6)
    put_objects(root, config, 2, 1 << 20, seed=7)
    result = run_cli("pool", "drain", "1", config=config)
    check(result.returncode == 1 and b"refusing" in result.stderr, f"drain of a 6-disk 4+2 pool: {result.stderr}")


try:
    for test in (test_drain, test_heal_deleted_directory, test_heal_killed_and_resumed, test_scrub,
                 test_add_disk_rebalance_and_room, test_drain_refused_on_minimal_pool):
        print(f"-- {test.__name__}", flush=True)
        test()
finally:
    shutil.rmtree(WORK, ignore_errors=True)
finish()
