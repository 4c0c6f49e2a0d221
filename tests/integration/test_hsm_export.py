"""The HSM catalog leaves the box in open formats: the Parquet export read back with DuckDB (npm @duckdb/node-api,
installed into a cache dir on first use) matches the SQLite catalog row for row, CSV and JSON lines match too; the
easy exit works with only sqlite3, zstd and b2sum; `catalog rebuild` recreates the catalog from payload headers.
Files are premigrated on a loop-mounted ext4 image (no daemon needed for that)."""
import csv
import json
import os
import shutil
import subprocess

from hsm_testlib import ext4_mount, hsm_sections, sha256_file, write_pattern
from tiercel_testlib import Daemon, check, finish, run_cli

MiB = 1 << 20
DUCKDB_DIR = os.path.expanduser("~/.cache/tiercel-test/duckdb")
CATALOG_QUERY = ("SELECT f.id, f.path, v.version, v.size, v.blake2b, c.target, c.key, c.payload_size FROM files f "
                 "JOIN versions v ON v.file_id = f.id JOIN copies c ON c.file_id = v.file_id AND c.version = v.version "
                 "ORDER BY f.path, v.version, c.target")


def sqlite_rows(catalog, query):
    out = subprocess.run(["sqlite3", "-json", catalog, query], capture_output=True, text=True, check=True).stdout
    return json.loads(out) if out.strip() else []


def duckdb_rows(parquet):
    if not os.path.isdir(os.path.join(DUCKDB_DIR, "node_modules", "@duckdb", "node-api")):
        os.makedirs(DUCKDB_DIR, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "@duckdb/node-api"], cwd=DUCKDB_DIR,
                       check=True, capture_output=True, timeout=600)
    script = """
const { DuckDBInstance } = require('@duckdb/node-api');
(async () => {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const reader = await con.runAndReadAll(
    "SELECT file_id, path, version, size, blake2b_256, target, key, payload_size FROM read_parquet('" +
    process.argv[process.argv.length - 1] + "') ORDER BY path, version, target");
  console.log(JSON.stringify(reader.getRowObjectsJson()));
})().catch(e => { console.error(e); process.exit(1); });
"""
    out = subprocess.run(["node", "-e", script, parquet], capture_output=True, text=True, cwd=DUCKDB_DIR,
                         timeout=120)
    check(out.returncode == 0, f"DuckDB reads the Parquet export: {out.stderr[-2000:]}")
    return json.loads(out.stdout) if out.returncode == 0 else []


def normalize(rows):
    keys = ["id", "path", "version", "size", "blake2b", "target", "key", "payload_size"]
    result = []
    for row in rows:
        values = list(row.values())
        result.append({k: str(v) for k, v in zip(keys, values)})
    return result


def main():
    with ext4_mount("200M") as (workdir, mnt):
        archive_dir = os.path.join(workdir, "archive")
        os.mkdir(archive_dir)
        os.mkdir(os.path.join(workdir, "d"))
        daemon = Daemon(sections=hsm_sections(mnt, archive_dir), workdir=os.path.join(workdir, "d"))
        paths = []
        for i, size in enumerate([3 * MiB + 17, 1, 0, 2 * MiB]):
            path = os.path.join(mnt, f"dir {i}", "file,with \"odd\" name.bin")
            os.makedirs(os.path.dirname(path))
            write_pattern(path, size, seed=30 + i)
            paths.append(path)
        result = run_cli("hsm", "premigrate", *paths, config=daemon.config_path)
        check(result.returncode == 0, f"premigrate: {result}")
        catalog = os.path.join(daemon.state_dir, "hsm", "catalog.db")
        expected = normalize(sqlite_rows(catalog, CATALOG_QUERY))
        check(len(expected) == 4, f"4 rows in the catalog: {expected}")

        out = os.path.join(workdir, "catalog.parquet")
        result = run_cli("catalog", "export", "--format", "parquet", out, config=daemon.config_path)
        check(result.returncode == 0, f"export parquet: {result}")
        check(normalize(duckdb_rows(out)) == expected, "DuckDB's reading of the Parquet export matches the catalog")

        out_csv = os.path.join(workdir, "catalog.csv")
        run_cli("catalog", "export", "--format", "csv", out_csv, config=daemon.config_path)
        with open(out_csv, newline="") as f:
            rows = list(csv.DictReader(f))
        check([r["path"] for r in rows] == [e["path"] for e in expected], "CSV export paths (quoted) match")
        out_jsonl = os.path.join(workdir, "catalog.jsonl")
        run_cli("catalog", "export", "--format", "jsonl", out_jsonl, config=daemon.config_path)
        with open(out_jsonl) as f:
            lines = [json.loads(line) for line in f]
        check([r["blake2b_256"] for r in lines] == [e["blake2b"] for e in expected], "JSON lines export matches")

        # Easy exit: only sqlite3, zstd and b2sum.
        for path in paths:
            row = sqlite_rows(catalog, "SELECT c.key, v.blake2b FROM files f JOIN versions v ON v.file_id = f.id "
                                       "AND v.version = f.current_version JOIN copies c ON c.file_id = v.file_id "
                                       f"AND c.version = v.version WHERE f.path = '{path}'")[0]
            restored = os.path.join(workdir, "restored.bin")
            subprocess.run(["zstd", "-q", "-f", "-d", os.path.join(archive_dir, row["key"]), "-o", restored],
                           check=True)
            b2 = subprocess.run(["b2sum", "-l", "256", restored], capture_output=True, text=True).stdout.split()[0]
            check(b2 == row["blake2b"], f"b2sum -l 256 of the zstd -d output matches the catalog for {path}")
            check(sha256_file(restored) == sha256_file(path), f"zstd -d restores {path} exactly")

        # Rebuild from payload headers into an empty catalog.
        shutil.move(catalog, catalog + ".old")
        for suffix in ("-wal", "-shm"):
            if os.path.exists(catalog + suffix):
                os.remove(catalog + suffix)
        result = run_cli("catalog", "rebuild", "--target", "shelf", config=daemon.config_path)
        check(result.returncode == 0 and b"4 payloads recorded" in result.stdout, f"rebuild: {result}")
        check(normalize(sqlite_rows(catalog, CATALOG_QUERY)) == expected, "the rebuilt catalog matches the original")
    finish()


if __name__ == "__main__":
    main()
