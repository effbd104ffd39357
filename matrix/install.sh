#!/bin/sh
# What `npm run matrix` needs from Debian: QEMU (TCG: this machine's /dev/kvm cannot run a stock
# kernel), busybox for the initramfs, cpio, kmod's depmod, e2fsprogs (mkfs.ext4 -d, debugfs)
# and xz. Installed when missing (as root), else a one-line error.
set -eu
PATH=$PATH:/usr/sbin:/sbin
missing=
for tool in qemu-system-x86_64 busybox cpio depmod mkfs.ext4 e2fsck debugfs xz; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "matrix: missing$missing; install as root: apt-get install -y qemu-system-x86 busybox-static cpio kmod e2fsprogs xz-utils" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends qemu-system-x86 busybox-static cpio kmod e2fsprogs xz-utils >/dev/null
