#!/usr/bin/env bash
# Installs what is needed, builds, and runs a demo of the main job on embedded defaults, as root:
#  - six directory-backed disks joined into a 4+2 erasure-coded pool, mounted with FUSE at <demo>/pool;
#  - a "hot" ext4 filesystem (a loop-mounted image, as an NVMe tier would be) whose cold files the HSM archives to a
#    local cold target directory, leaving stubs that recall when read;
#  - the daemon with its dashboard on http://127.0.0.1:8080 (TIERCEL_DEMO_PORT to change).
# Ctrl-C stops the daemon, unmounts everything and removes the demo directory (TIERCEL_DEMO_DIR keeps it elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build tiercel

demo=${TIERCEL_DEMO_DIR:-$(mktemp -d /tmp/tiercel-demo.XXXXXX)}
mkdir -p "$demo"/{pool,hot,cold,state}
port=${TIERCEL_DEMO_PORT:-8080}
config="$demo/tiercel.toml"
daemon_pid=""

cleanup() {
  set +e
  [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  # The HSM guardian outlives daemons on purpose (it keeps stubs guarded); the demo is over, so stop it too.
  [ -f "$demo/state/hsm/guardian.pid" ] && kill "$(cat "$demo/state/hsm/guardian.pid")" 2>/dev/null
  mountpoint -q "$demo/pool" && umount "$demo/pool"
  mountpoint -q "$demo/hot" && umount "$demo/hot"
  [ -z "${TIERCEL_DEMO_DIR:-}" ] && rm -rf "$demo"
}
trap cleanup EXIT

# The hot tier: HSM stubs need a filesystem with fanotify pre-content support (ext4, XFS, btrfs), so a 512 MiB ext4
# image stands in for the NVMe.
truncate -s 512M "$demo/hot.img"
mkfs.ext4 -q -F "$demo/hot.img"
mount -o loop "$demo/hot.img" "$demo/hot"

{
  echo "state_dir = \"$demo/state\""
  echo "[http]"
  echo "listen = \"127.0.0.1:$port\""
  echo "[pool]"
  echo "name = \"demo\""
  echo "k = 4"
  echo "m = 2"
  echo "chunk_size = \"256KiB\""
  echo "mountpoint = \"$demo/pool\""
  for i in 1 2 3 4 5 6; do
    mkdir -p "$demo/disks/disk$i"
    echo "[[pool.disk]]"
    echo "path = \"$demo/disks/disk$i\""
    [ "$i" -le 2 ] && echo 'tier = "ssd"' || echo 'tier = "hdd"'
  done
  echo "[hsm]"
  echo "watch = [\"$demo/hot\"]"
  echo "[[hsm.target]]"
  echo "name = \"cold\""
  echo "type = \"dir\""
  echo "path = \"$demo/cold\""
  echo "[[hsm.rule]]"
  echo "name = \"big-and-idle\""
  echo "include = [\"$demo/hot/**\"]"
  echo "min_size = \"1MiB\""
  echo "idle = \"30d\""
  echo "copies = [\"cold\"]"
} >"$config"

tiercel() { build/tiercel -c "$config" "$@"; }
echo "demo: creating a 4+2 pool on six directories in $demo/disks"
tiercel pool create

echo "demo: starting the daemon (pool mounted at $demo/pool, HSM watching $demo/hot)"
build/tiercel -c "$config" serve &
daemon_pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/api/v1/health" >/dev/null 2>&1 && break
  sleep 0.2
done

echo "demo: copying files into the pool through the FUSE mount"
cp -r /usr/share/doc "$demo/pool/doc" 2>/dev/null || true
cp README.md "$demo/pool/README.md"
df -h "$demo/pool" | tail -1

echo "demo: a 64 MiB file on the hot tier, archived to the cold target and left as a stub"
head -c 64M /dev/urandom >"$demo/hot/movie.bin"
before=$(sha256sum <"$demo/hot/movie.bin")
tiercel hsm archive "$demo/hot/movie.bin"
echo "demo: the stub uses $(du -k "$demo/hot/movie.bin" | cut -f1) KiB on the hot tier; reading it recalls it"
after=$(sha256sum <"$demo/hot/movie.bin")
[ "$before" = "$after" ] && echo "demo: recalled bytes are identical" || echo "demo: MISMATCH after recall"
tiercel hsm status "$demo/hot/movie.bin"

echo
echo "demo: dashboard on http://127.0.0.1:$port/  (token: $demo/state/api.token)"
echo "demo: try: ls $demo/pool; build/tiercel -c $config pool status; build/tiercel -c $config plan"
echo "demo: Ctrl-C to stop"
wait "$daemon_pid"
