#!/usr/bin/env bash
# Installs everything Tiercel needs to build, test and package, from Debian 12 packages only. Idempotent: a
# package already installed is skipped by apt. Run as root.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config python3 git
  # libraries (Boost 1.81, not the 1.74 default: Asio's io_uring file support needs it)
  libboost1.81-dev liburing-dev libfuse3-dev fuse3 libisal-dev libzstd-dev liblz4-dev libsodium-dev
  libsqlite3-dev nlohmann-json3-dev doctest-dev libtomlplusplus-dev libcli11-dev libsystemd-dev
  # tools the tests and the easy-exit story use
  sqlite3 zstd curl e2fsprogs util-linux procps psmisc
  # the dashboard's end-to-end tests drive Debian's headless Chromium
  chromium
  # the dashboard is built with Node (Vite, from npm; see web/package.json); the .deb needs no Node at run time
  nodejs
  # packaging
  debhelper devscripts lintian fakeroot systemd man-db groff-base
  # SMART of real drives for the health poller ([health] smartctl); tests use a fake that replays recordings
  smartmontools
)
# the API: libFuzzer target (fuzz/run.sh) and the Home Assistant example's template test
packages+=(clang libclang-rt-14-dev python3-jinja2 python3-yaml)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#packages[@]} packages present"
fi

# npm: Debian's package, unless the installed Node already bundles it (NodeSource's nodejs does, and conflicts with
# Debian's npm package).
if ! command -v npm >/dev/null; then
  apt-get install -y -qq --no-install-recommends npm
fi
