#!/bin/sh
# Builds the initramfs that boots a Debian kernel under QEMU for `npm run matrix`: busybox and the
# modules the guest needs (virtio, 9p for the host's / read-only, ext4 for the scratch disk,
# overlay and FUSE where they are modules), decompressed and listed in load order from
# modules.dep, with matrix/init.sh as /init.
#   build-initramfs.sh ROOT OUT     ROOT: the unpacked kernel package (boot/, lib/modules/<rel>/)
set -eu
PATH=$PATH:/usr/sbin:/sbin
root=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
rel=$(ls "$root/lib/modules" | head -1)
mods=$root/lib/modules/$rel
# The package ships no modules.dep (depmod makes it at install): make it in the unpacked tree.
[ -f "$mods/modules.dep" ] || depmod -b "$root" "$rel"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/lib/modules" "$work/proc" "$work/sys" "$work/dev" "$work/newroot"
cp "$(command -v busybox)" "$work/bin/busybox"
cp "$here/init.sh" "$work/init"
chmod 755 "$work/init"
# The modules wanted, by name; each comes after what modules.dep says it needs.
: > "$work/modules.order"
want() {
  local path dep name
  path=$(grep -E "(^|/)$1\.ko(\.xz|\.zst)?:" "$mods/modules.dep" | head -1 | cut -d: -f1) || true
  [ -n "$path" ] || return 0 # built in
  ! grep -qx "$path" "$work/seen" 2>/dev/null || return 0
  echo "$path" >> "$work/seen"
  for dep in $(grep -E "^$path:" "$mods/modules.dep" | cut -d: -f2); do
    want "$(basename "$dep" | sed -E 's/\.ko(\.xz|\.zst)?$//')"
  done
  name=$(basename "$path" | sed -E 's/\.(xz|zst)$//')
  case "$path" in
    *.xz) xz -dc "$mods/$path" > "$work/lib/modules/$name" ;;
    *.zst) zstd -qdc "$mods/$path" > "$work/lib/modules/$name" ;;
    *) cp "$mods/$path" "$work/lib/modules/$name" ;;
  esac
  echo "$name" >> "$work/modules.order"
}
for m in crc32c_generic virtio virtio_ring virtio_pci virtio_blk 9pnet_virtio 9p ext4 overlay fuse; do want "$m"; done
(cd "$work" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out"
echo "$out"
