#!/bin/bash
# Build the tiercel Debian package: packaging/build-deb.sh  ->  packaging/out/tiercel_<version>_<arch>.deb
#
# The version is project(VERSION) from CMakeLists.txt, plus an optional suffix (--version-suffix +test1 gives
# 0.1.0+test1; the binary itself still reports the CMake version). The source tree is never written to: the
# files git does not ignore are copied into a scratch directory, packaging/debian becomes ./debian there, and
# dpkg-buildpackage runs on that copy. The scratch path is fixed (TIERCEL_DEB_WORKDIR, default
# /var/tmp/tiercel-deb) so ccache sees the same paths every time and warm builds hit. See docs/packaging.md.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: packaging/build-deb.sh [--version-suffix SUFFIX] [--out-dir DIR] [--install-build-deps] [--keep-scratch]

  --version-suffix SUFFIX  append SUFFIX (e.g. +test1, ~rc1) to the package version
  --out-dir DIR            where to put the .deb (default: packaging/out)
  --install-build-deps     apt-get build-dep the package's Build-Depends first
  --keep-scratch           keep the scratch build tree after a successful build

Environment: TIERCEL_DEB_WORKDIR (scratch directory, default /var/tmp/tiercel-deb), JOBS (parallel jobs,
default: all CPUs), CCACHE_DIR (default: ccache's own setting for the calling user).
The last line of output is the path of the built .deb.
EOF
}

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUFFIX=""
OUT_DIR="$SRC/packaging/out"
INSTALL_DEPS=0
KEEP_SCRATCH=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --version-suffix) SUFFIX="${2:?--version-suffix needs a value}"; shift 2 ;;
        --version-suffix=*) SUFFIX="${1#*=}"; shift ;;
        --out-dir) OUT_DIR="${2:?--out-dir needs a value}"; shift 2 ;;
        --out-dir=*) OUT_DIR="${1#*=}"; shift ;;
        --install-build-deps) INSTALL_DEPS=1; shift ;;
        --keep-scratch) KEEP_SCRATCH=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "build-deb: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

say() { echo "build-deb: $*" >&2; }
die() { say "error: $*"; exit 1; }

[[ -z "$SUFFIX" || "$SUFFIX" =~ ^[+~.][A-Za-z0-9.+~]*$ ]] \
    || die "version suffix '$SUFFIX' must start with + ~ or . and hold only letters, digits, . + ~"
for tool in dpkg-buildpackage dpkg-parsechangelog dh; do
    command -v "$tool" > /dev/null || die "$tool is missing: apt-get install dpkg-dev debhelper"
done

VERSION="$(sed -nE 's/^project\([[:space:]]*tiercel[[:space:]].*VERSION[[:space:]]+([0-9][0-9A-Za-z.]*).*/\1/p' \
    "$SRC/CMakeLists.txt" | head -n 1)"
[[ -n "$VERSION" ]] || die "cannot read project(tiercel VERSION x.y.z) from $SRC/CMakeLists.txt"
DEB_VERSION="$VERSION$SUFFIX"
ARCH="$(dpkg --print-architecture)"
OUT_DIR="$(mkdir -p "$OUT_DIR" && cd "$OUT_DIR" && pwd)"

WORK="${TIERCEL_DEB_WORKDIR:-/var/tmp/tiercel-deb}"
TREE="$WORK/tiercel"
mkdir -p "$WORK"
exec 9> "$WORK/.lock"
flock -w 1800 9 || die "another build holds $WORK/.lock"

started=$(date +%s)
say "tiercel $DEB_VERSION ($ARCH): copying $SRC to $TREE"
rm -rf "$TREE"
mkdir -p "$TREE"
if git -C "$SRC" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
    # Exactly the files git would track: sources, not build trees or earlier packages.
    (cd "$SRC" && git ls-files -z --cached --others --exclude-standard) \
        | (cd "$SRC" && tar --null --ignore-failed-read --warning=no-failed-read -T - -cf -) \
        | tar -C "$TREE" -xf -
else
    tar -C "$SRC" --exclude='./build*' --exclude=./packaging/out --exclude='*/node_modules' --exclude=./.git \
        --exclude=./debian --exclude='./obj-*' --exclude='*.deb' --exclude=__pycache__ -cf - . | tar -C "$TREE" -xf -
fi
rm -rf "$TREE/debian"
cp -r "$SRC/packaging/debian" "$TREE/debian"

# The changelog's newest entry must carry the version being built; for a version that has no entry (a CMake bump
# not yet written down, or a test suffix) add one to the scratch copy only.
TOP="$(dpkg-parsechangelog -l "$TREE/debian/changelog" -S Version)"
if [[ "$TOP" != "$DEB_VERSION" ]]; then
    dpkg --compare-versions "$DEB_VERSION" gt "$TOP" \
        || die "packaging/debian/changelog already has $TOP, newer than $DEB_VERSION being built"
    MAINTAINER="$(sed -n 's/^Maintainer:[[:space:]]*//p' "$TREE/debian/control")"
    {
        printf 'tiercel (%s) unstable; urgency=medium\n\n' "$DEB_VERSION"
        printf '  * Built by packaging/build-deb.sh from the tree at version %s.\n\n' "$VERSION"
        printf ' -- %s  %s\n\n' "$MAINTAINER" "$(date -R)"
        cat "$SRC/packaging/debian/changelog"
    } > "$TREE/debian/changelog"
    say "no changelog entry for $DEB_VERSION (newest is $TOP): added one to the scratch copy"
fi

if [[ "$INSTALL_DEPS" == 1 ]]; then
    say "installing build dependencies"
    apt-get build-dep -y "$TREE"
fi
(cd "$TREE" && dpkg-checkbuilddeps) \
    || die "build dependencies missing: run packaging/build-deb.sh --install-build-deps (or apt-get build-dep $TREE)"

# ccache: CMakeLists.txt uses it when it is on PATH. debhelper moves HOME during the build, so pass the cache
# directory explicitly.
if command -v ccache > /dev/null; then
    export CCACHE_DIR="${CCACHE_DIR:-$(ccache -k cache_dir)}"
    export CCACHE_BASEDIR="$TREE"
    ccache_counts() {  # "hits misses" so far, without zeroing statistics others may be watching
        ccache --print-stats 2>/dev/null | awk -F'\t' '$1=="direct_cache_hit"||$1=="preprocessed_cache_hit"{h+=$2}
            $1=="cache_miss"{m+=$2} END{print h+0, m+0}'
    }
    read -r hits_before misses_before < <(ccache_counts)
    say "ccache: $CCACHE_DIR"
else
    say "ccache not found: a full compile (apt-get install ccache makes rebuilds fast)"
fi

rm -f "$WORK"/tiercel_*.deb "$WORK"/tiercel-dbgsym_*.*deb "$WORK"/tiercel_*.changes "$WORK"/tiercel_*.buildinfo
say "dpkg-buildpackage (log: $WORK/build.log)"
if ! (cd "$TREE" && dpkg-buildpackage -b -us -uc -J"${JOBS:-auto}") > "$WORK/build.log" 2>&1; then
    tail -n 60 "$WORK/build.log" >&2
    die "dpkg-buildpackage failed; full log: $WORK/build.log, tree kept at $TREE"
fi

DEB="$WORK/tiercel_${DEB_VERSION}_${ARCH}.deb"
[[ -f "$DEB" ]] || die "dpkg-buildpackage did not produce $DEB"
cp "$DEB" "$OUT_DIR/"
for extra in "$WORK/tiercel-dbgsym_${DEB_VERSION}_${ARCH}.deb" "$WORK/tiercel-dbgsym_${DEB_VERSION}_${ARCH}.ddeb" \
             "$WORK/tiercel_${DEB_VERSION}_${ARCH}.changes" \
             "$WORK/tiercel_${DEB_VERSION}_${ARCH}.buildinfo"; do
    [[ -f "$extra" ]] && cp "$extra" "$OUT_DIR/"
done
if command -v ccache > /dev/null; then
    read -r hits_after misses_after < <(ccache_counts)
    say "ccache: $((hits_after - hits_before)) hits, $((misses_after - misses_before)) misses (counts include any concurrent build)"
fi
[[ "$KEEP_SCRATCH" == 1 ]] || rm -rf "$TREE"
say "built in $(( $(date +%s) - started ))s"
echo "$OUT_DIR/$(basename "$DEB")"
