#!/bin/sh
# Mount the FUSE filesystem under test from inside a new user and mount namespace (rootless FUSE,
# World.daemonInUserns), started as `unshare -U --map-root-user --mount --propagation private`.
# The kernel wants the /dev/fuse fd opened in the mounting user namespace, so open it here as fd 3
# (the case thread takes it over with pidfd_getfd and then creates $2.taken, upon which we close
# ours, so the connection's lifetime is the case's fds only). Writes mount's exit status to $2,
# then holds the namespace until killed.
# argv: <mountpoint> <status file>
exec 3<>/dev/fuse
mount -i -t fuse.fusepass -o fd=3,rootmode=40000,user_id=0,group_id=0 fusepass "$1" 2>/dev/null
echo $? > "$2.tmp" && mv "$2.tmp" "$2"
while [ ! -e "$2.taken" ]; do sleep 0.01; done
exec 3>&-
exec cat >/dev/null
