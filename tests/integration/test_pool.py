"""The pool through the real CLI on six directory disks (4+2): create, put/get of a 64 MiB file, any two disks
removed, three removed, a flipped byte in a shard, range reads, stdin/stdout, refusals and bad input."""
import hashlib
import itertools
import json
import os
import random
import shutil
import tempfile

from tiercel_testlib import Daemon, check, finish, run_cli


def write_config(workdir, disks, extra=""):
    path = os.path.join(workdir, "pool.toml")
    with open(path, "w") as f:
        f.write(f'state_dir = "{workdir}/state"\n[pool]\nk = 4\nm = 2\ncompression = "zstd"\n{extra}')
        for disk in disks:
            f.write(f'[[pool.disk]]\npath = "{disk}"\n')
    return path


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def get_ok(config, key, out, *extra):
    result = run_cli("pool", "get", key, out, *extra, config=config, timeout=120)
    return result.returncode == 0, result


def main():
    workdir = tempfile.mkdtemp(prefix="tiercel-pool-it-")
    disks = [os.path.join(workdir, f"disk{i}") for i in range(6)]
    for disk in disks:
        os.makedirs(disk)
    config = write_config(workdir, disks)

    result = run_cli("pool", "create", config=config)
    check(result.returncode == 0, f"pool create: {result.stderr.decode()}")
    check(all(os.path.exists(os.path.join(d, "tiercel.label")) for d in disks), "every disk has a label")
    result = run_cli("pool", "create", config=config)
    check(result.returncode != 0 and b"already belongs to pool" in result.stderr, "create refuses a formatted disk")

    source = os.path.join(workdir, "random.bin")
    with open(source, "wb") as f:
        f.write(os.urandom(64 << 20))
    expected = sha256(source)
    result = run_cli("pool", "put", "big", source, config=config, timeout=300)
    check(result.returncode == 0, f"put 64 MiB: {result.stderr.decode()}")
    out = os.path.join(workdir, "out.bin")
    ok, result = get_ok(config, "big", out)
    check(ok and sha256(out) == expected, f"get returns identical bytes: {result.stderr.decode()[-300:]}")

    # Any two disks removed (every pair): still identical.
    for pair in itertools.combinations(range(6), 2):
        for i in pair:
            os.rename(disks[i], disks[i] + ".away")
        os.remove(out) if os.path.exists(out) else None
        ok, result = get_ok(config, "big", out)
        check(ok and sha256(out) == expected, f"get with disks {pair} removed: {result.stderr.decode()[-300:]}")
        for i in pair:
            os.rename(disks[i] + ".away", disks[i])

    # Three removed: a clear error, no output file.
    for i in (0, 2, 4):
        os.rename(disks[i], disks[i] + ".away")
    lost_out = os.path.join(workdir, "lost.bin")
    ok, result = get_ok(config, "big", lost_out)
    stderr = result.stderr.decode()
    check(not ok and result.returncode == 1, f"get with three disks removed fails (rc {result.returncode})")
    check("'big'" in stderr and "stripe" in stderr and "cannot be read" in stderr, f"error names the object: {stderr}")
    check(not os.path.exists(lost_out), "a failed get leaves no output file")
    for i in (0, 2, 4):
        os.rename(disks[i] + ".away", disks[i])

    # A flipped byte in a shard does not change what get returns.
    shard_files = [os.path.join(root, name) for root, _, names in os.walk(os.path.join(disks[3], "shards"))
                   for name in names]
    check(len(shard_files) > 0, "disk3 holds shards")
    rng = random.Random(7)
    for victim in rng.sample(shard_files, min(5, len(shard_files))):
        with open(victim, "r+b") as f:
            size = os.path.getsize(victim)
            offset = rng.randrange(size)
            f.seek(offset)
            byte = f.read(1)
            f.seek(offset)
            f.write(bytes([byte[0] ^ 0x5A]))
    ok, result = get_ok(config, "big", out)
    check(ok and sha256(out) == expected, f"get after bit flips: {result.stderr.decode()[-300:]}")

    # Ranges, stdin and stdout.
    with open(source, "rb") as f:
        f.seek(5_000_000)
        want = f.read(3_000_000)
    result = run_cli("pool", "get", "big", "-", "--offset", "5000000", "--length", "3000000", config=config)
    check(result.returncode == 0 and result.stdout == want, "range get to stdout")
    small = os.urandom(1000)
    result = run_cli("pool", "put", "small", "-", config=config, input_bytes=small)
    check(result.returncode == 0, f"put from stdin: {result.stderr.decode()}")
    result = run_cli("pool", "get", "small", "-", config=config)
    check(result.stdout == small, "small object round trip through stdin/stdout")

    result = run_cli("pool", "status", "--json", config=config)
    status = json.loads(result.stdout) if result.returncode == 0 else {}
    check(status.get("objects") == 2 and status.get("k") == 4, f"status --json: {result.stdout[:200]!r}")
    check(len(status.get("metadata", {}).get("replicas", [])) >= 3, "metadata on m+1 = 3 disks")
    check(all(d["online"] for d in status.get("disks", [])), "all disks online")
    result = run_cli("pool", "ls", "--json", config=config)
    check(result.returncode == 0 and {o["name"] for o in json.loads(result.stdout)} == {"big", "small"}, "ls")
    result = run_cli("pool", "fsck", config=config)
    check(result.returncode == 1 and b"corrupt_shards" in result.stdout, "fsck reports the flipped shards")
    result = run_cli("pool", "rm", "small", config=config)
    check(result.returncode == 0, "rm")
    result = run_cli("pool", "stat", "small", config=config)
    check(result.returncode == 1 and b"no object named 'small'" in result.stderr, "stat after rm says not found")
    result = run_cli("pool", "get", "big", out, "--offset", str(1 << 40), config=config)
    check(result.returncode == 2 and b"past the end" in result.stderr, "offset past the end is a usage error")

    # The daemon hosts the pool: its API shows the status, and offline commands are refused while it holds the lock.
    pool_section = "[pool]\nk = 4\nm = 2\ncompression = \"zstd\"\n" + "".join(
        f'[[pool.disk]]\npath = "{d}"\n' for d in disks)
    with Daemon(sections=pool_section) as daemon:
        daemon.start()
        status, _, body = daemon.request("GET", "/api/v1/pool")
        pool_json = json.loads(body) if status == 200 else {}
        check(status == 200 and pool_json.get("objects") == 1, f"GET /api/v1/pool: {status} {body[:200]!r}")
        status, _, body = daemon.request("GET", "/api/v1/pool/objects?prefix=bi")
        check(status == 200 and [o["name"] for o in json.loads(body)["objects"]] == ["big"], "GET objects by prefix")
        status, _, body = daemon.request("GET", "/api/v1/pool/placement/notanumber")
        check(status == 400 and b"invalid_input" in body, "placement with a bad id is 400")
        result = run_cli("pool", "ls", config=config)
        check(result.returncode == 1 and b"in use by another tiercel process" in result.stderr,
              f"offline commands refused while the daemon holds the pool: {result.stderr!r}")
        check(daemon.stop() == 0, "daemon with a pool stops cleanly")
    check(run_cli("pool", "ls", config=config).returncode == 0, "the lock is released when the daemon stops")

    # Bad input: a corrupt label, a wrong key, unrelated data on a disk.
    label = os.path.join(disks[1], "tiercel.label")
    with open(label, "r+b") as f:
        f.seek(40)
        f.write(b"X")
    result = run_cli("pool", "status", "--json", config=config)
    status = json.loads(result.stdout) if result.stdout else {}
    offline = [d for d in status.get("disks", []) if not d["online"]]
    check(len(offline) == 1 and "checksum mismatch" in offline[0]["offline_reason"],
          f"a damaged label takes its disk offline with the reason: {offline}")

    crypt_dir = os.path.join(workdir, "crypt")
    crypt_disks = [os.path.join(crypt_dir, f"d{i}") for i in range(6)]
    for disk in crypt_disks:
        os.makedirs(disk)
    key_file = os.path.join(crypt_dir, "pool.key")
    with open(key_file, "w") as f:
        f.write("correct horse battery staple\n")
    crypt_config = write_config(crypt_dir, crypt_disks, f'key_file = "{key_file}"\n')
    check(run_cli("pool", "create", config=crypt_config).returncode == 0, "create an encrypted pool")
    result = run_cli("pool", "put", "secret", source, config=crypt_config, timeout=300)
    check(result.returncode == 0, f"put into the encrypted pool: {result.stderr.decode()}")
    ok, result = get_ok(crypt_config, "secret", out)
    check(ok and sha256(out) == expected, "encrypted round trip")
    with open(key_file, "w") as f:
        f.write("wrong passphrase\n")
    result = run_cli("pool", "get", "secret", out, config=crypt_config)
    check(result.returncode == 1 and b"wrong key" in result.stderr, f"wrong key: {result.stderr.decode()}")

    dirty = [os.path.join(workdir, f"dirty{i}") for i in range(6)]
    for disk in dirty:
        os.makedirs(disk)
    with open(os.path.join(dirty[2], "thesis.docx"), "w") as f:
        f.write("precious")
    dirty_dir = os.path.join(workdir, "dirty")
    os.makedirs(dirty_dir)
    result = run_cli("pool", "create", config=write_config(dirty_dir, dirty))
    check(result.returncode == 1 and b"thesis.docx" in result.stderr, f"create refuses a disk with data: {result}")
    check(os.path.exists(os.path.join(dirty[2], "thesis.docx")), "the user's file is untouched")

    shutil.rmtree(workdir, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
