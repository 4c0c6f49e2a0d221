#!/usr/bin/env bash
# Installs what is needed, builds, and runs a demo on embedded defaults: six directory-backed disks under a
# temporary directory joined into a 4+2 pool, a few files stored in it, and the daemon with its dashboard on
# http://127.0.0.1:8080 (TIERCEL_DEMO_PORT to change). Ctrl-C stops it and removes the demo directory.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build tiercel

demo=$(mktemp -d /tmp/tiercel-demo.XXXXXX)
trap 'rm -rf "$demo"' EXIT
port=${TIERCEL_DEMO_PORT:-8080}
config="$demo/tiercel.toml"
{
  echo "state_dir = \"$demo/state\""
  echo "[http]"
  echo "listen = \"127.0.0.1:$port\""
  echo "[pool]"
  echo "name = \"demo\""
  echo "k = 4"
  echo "m = 2"
  echo "chunk_size = \"256KiB\""
  for i in 1 2 3 4 5 6; do
    mkdir -p "$demo/disks/disk$i"
    echo "[[pool.disk]]"
    echo "path = \"$demo/disks/disk$i\""
    [ "$i" -le 2 ] && echo 'tier = "ssd"' || echo 'tier = "hdd"'
  done
} >"$config"

tiercel() { build/tiercel -c "$config" "$@"; }
echo "demo: creating a 4+2 pool on six directories in $demo/disks"
tiercel pool create
echo "demo: storing a few files"
tar -C /usr/share -cf "$demo/doc.tar" doc 2>/dev/null || true
tiercel pool put docs/usr-share-doc.tar "$demo/doc.tar"
tiercel pool put bin/tiercel build/tiercel
tiercel pool put notes/readme.md README.md
tiercel pool status
echo
echo "demo: dashboard on http://127.0.0.1:$port/  (API token: $demo/state/api.token; Ctrl-C to stop)"
tiercel serve
