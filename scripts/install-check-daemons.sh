#!/bin/sh
# Installs, from Debian's packages, the third-party daemons `fusepass check` is tested against
# besides libfuse's passthrough_hp (scripts/build-passthrough-hp.sh): gocryptfs, a Go daemon on
# go-fuse that mounts through fusermount3 (package fuse3). Idempotent; needs root to install.
set -eu
missing=
command -v gocryptfs >/dev/null 2>&1 || missing="$missing gocryptfs"
command -v fusermount3 >/dev/null 2>&1 || missing="$missing fuse3"
[ -z "$missing" ] && { echo "install-check-daemons: gocryptfs and fusermount3 already installed"; exit 0; }
if [ "$(id -u)" != 0 ]; then
  echo "install-check-daemons: missing$missing; install as root: apt-get install -y$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-check-daemons: installed$missing"
