#!/bin/sh
# Builds libfuse 3.18.2's example/passthrough_hp, unmodified, from the upstream tarball in
# ../shared/third-party (or $FUSEPASS_THIRD_PARTY), with Debian's meson, ninja and g++, into a
# cache keyed by the tarball's sha256. Prints the binary's path as its last line. Idempotent:
# a cached build is reused (~15 s to build on 2 cores). `fusepass check` tests and CI use it:
# a real third-party daemon, never a copy of its code in this repository.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
third=${FUSEPASS_THIRD_PARTY:-$here/../../shared/third-party}
tarball=$third/libfuse-3.18.2.tar.gz
[ -f "$tarball" ] || { echo "build-passthrough-hp: $tarball not found (set FUSEPASS_THIRD_PARTY to the folder holding it)" >&2; exit 1; }
sum=$(sha256sum "$tarball" | cut -c1-16)
cache=${FUSEPASS_CACHE:-/var/tmp/fusepass-cache}
dest=$cache/libfuse-3.18.2-$sum
bin=$dest/build/example/passthrough_hp
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

missing=
for tool in meson ninja pkg-config g++; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "build-passthrough-hp: missing$missing; install them as root: apt-get install -y meson ninja-build pkg-config g++" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends meson ninja-build pkg-config g++ >/dev/null
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar xzf "$tarball" -C "$work"
src=$work/libfuse-3.18.2
(cd "$src" && meson setup build -Dexamples=true -Dtests=false -Dutils=false >"$work/setup.log" 2>&1) || { tail -20 "$work/setup.log" >&2; exit 1; }
ninja -C "$src/build" example/passthrough_hp >"$work/ninja.log" 2>&1 || { tail -20 "$work/ninja.log" >&2; exit 1; }
# Publish whole or not at all: a concurrent build that finished first wins.
mv -T "$src" "$dest" 2>/dev/null || true
[ -x "$bin" ] || { echo "build-passthrough-hp: the build finished but $bin is missing" >&2; exit 1; }
echo "$bin"
