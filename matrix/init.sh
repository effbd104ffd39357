#!/bin/busybox sh
# /init of the matrix guest: load the modules, mount the host's / read-only over 9p, put /tmp
# and /var/tmp on the ext4 scratch disk (a tmpfs-free place node and the cases may write), and
# switch_root into it (a chroot would break user namespaces) to run the stage the host wrote to
# the scratch disk.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod "/lib/modules/$m" || echo "matrix: insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /newroot || { echo "matrix: no 9p root"; poweroff -f; }
mount -t ext4 /dev/vda /newroot/tmp || { echo "matrix: no scratch disk"; poweroff -f; }
mkdir -p /newroot/tmp/var-tmp
mount --bind /newroot/tmp/var-tmp /newroot/var/tmp
umount /proc /sys /dev
exec switch_root /newroot /bin/sh /tmp/stage2.sh
