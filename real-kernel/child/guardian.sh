#!/bin/sh
# The guardian of one namespace child: outlives it by moments, in the host namespace, to undo
# what its death cannot undo by itself.
# - A child killed while a FUSE file is open can hang in exit: closing that file sends FLUSH to a
#   daemon thread that died with it. Then (and only then: a task of the dying child is still
#   alive) abort the connections it listed in $D/conns that are still its own, through fusectl
#   in a throwaway private namespace.
# - Kill the process groups listed in $D/pgids, then remove the child's disk dir $D.
# argv: <child pid> <runner pid> <disk dir>
trap '' INT TERM HUP
P=$1 R=$2 D=$3

# The child starts us from inside its private mount namespace; living there would keep that
# namespace, and so any mount on $D, alive after the child (and $D could not be removed).
# Move to the runner's namespace, the host's, first: the child hands it to us open on fd 3
# (FUSEPASS_GUARDIAN_NS_FD), so this works even when the runner died before we started.
if [ -z "${FUSEPASS_GUARDIAN_OUTSIDE:-}" ] && [ "${FUSEPASS_GUARDIAN_NS_FD:-}" = 3 ]; then
  FUSEPASS_GUARDIAN_OUTSIDE=1 exec nsenter --mount=/proc/self/fd/3 -- sh "$0" "$@"
fi
exec 3>&-

alive() {
  s=$(cat /proc/$P/stat 2>/dev/null) || return 1
  s=${s##*) }
  case ${s%% *} in Z|X) return 1 ;; esac
  return 0
}

# After the grace period, a dying child that still has a live task is stuck in exit (the task
# waits in request_wait_answer, in S or D state); a plain unreaped zombie has none.
stuck() {
  for t in /proc/$P/task/*/stat; do
    s=$(cat "$t" 2>/dev/null) || continue
    s=${s##*) }
    case ${s%% *} in Z|X) ;; *) return 0 ;; esac
  done
  return 1
}

while alive && [ -e /proc/$R ]; do sleep 0.1; done
i=0
while [ -e /proc/$P ] && [ $i -lt 5 ]; do sleep 0.1; i=$((i + 1)); done
# Connection numbers are reused as soon as a connection is freed, so $D/conns lists each as
# "<N> <inode of /sys/fs/fuse/connections/N>": fusectl gives every connection fresh inodes, so a
# matching inode means the connection is still the child's.
if [ -e /proc/$P ] && stuck && [ -s "$D/conns" ]; then
  unshare --mount --propagation private sh -c \
    'grep -q " /sys/fs/fuse/connections fusectl " /proc/self/mounts || mount -t fusectl none /sys/fs/fuse/connections
     while read -r n ino; do
       [ "$(stat -c %i /sys/fs/fuse/connections/$n 2>/dev/null)" = "$ino" ] && echo 1 > /sys/fs/fuse/connections/$n/abort
     done < "$1"' \
    sh "$D/conns" 2>/dev/null
fi
while [ -e /proc/$P ]; do sleep 0.1; done
# Process groups the child started (fusepass check's daemon and whatever it spawned): they
# outlive it otherwise, and keep its mount namespace (and so its mountpoint) alive.
if [ -s "$D/pgids" ]; then
  while read -r g; do kill -KILL -- "-$g" 2>/dev/null; done < "$D/pgids"
fi
# The child's mount namespace is torn down after its last task exits; until then a directory
# that was a mountpoint in it cannot be removed (EBUSY), so retry for a moment.
i=0
while [ -e "$D" ] && [ $i -lt 300 ]; do rm -rf "$D" 2>/dev/null; [ -e "$D" ] && sleep 0.1; i=$((i + 1)); done
