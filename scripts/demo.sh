#!/usr/bin/env bash
# Installs what is needed, builds, and runs a demo on embedded defaults: the daemon with its dashboard on
# http://127.0.0.1:8080 over a temporary state dir. Ctrl-C stops it (and cleans up).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build tiercel

demo=$(mktemp -d /tmp/tiercel-demo.XXXXXX)
port=${TIERCEL_DEMO_PORT:-8080}
cat >"$demo/tiercel.toml" <<TOML
state_dir = "$demo/state"
[http]
listen = "127.0.0.1:$port"
TOML
echo "demo: config $demo/tiercel.toml"
echo "demo: dashboard http://127.0.0.1:$port/   API token in $demo/state/api.token"
trap 'rm -rf "$demo"' EXIT
build/tiercel -c "$demo/tiercel.toml" serve
