// The daemon's open(2) of a world file (daemonOpen, registerMany): the path walk (through the
// mount under test for `self` and `nestedFuse` files), do_dentry_open's checks in the kernel's
// order, and the fd in the daemon's table (split from daemon-api.ts).
import type { DaemonOpenMode } from '../spec/case.ts';
import type { Trace } from './explain.ts';
import { fuseLookup, nestedFuseWalk } from './dir.ts';
import { err, setupFault, type Outcome } from './outcome.ts';
import type { KernelState } from './state.ts';
import { writeOpenRefusal } from './world/open.ts';

/** open(2) of a world file by the daemon: its fd number, or the outcome to answer instead. */
export function daemonOpenWorldFile(s: KernelState, file: string, mode: DaemonOpenMode, t: Trace): number | Outcome {
  const entry = s.backing.files.get(file);
  if (entry === undefined) return setupFault(`no world file named "${file}"`);
  if (entry.unlinked === true) return err(t.vfs('ENOENT', 'path_openat', `the world file "${file}" was unlinked (unlinkWorldFile)`));
  if (entry.spec.on === 'self' && s.conn !== null && s.conn.mounted) {
    // The path walk looks the name up on the mount under test first (LOOKUP, noise in
    // observations, unless the dentry is cached): after a failed INIT that request fails
    // with ECONNREFUSED whatever the open mode, O_PATH too (fuzz --target both, seed 38).
    const fi = fuseLookup(s, file, t);
    if (typeof fi === 'string') return err(fi);
  }
  if (entry.spec.on === 'nestedFuse') {
    const walked = nestedFuseWalk(s, t, { file });
    if (walked !== null) return walked;
  }
  let inode = entry.inode;
  if (inode.type === 'symlink' && mode !== 'pathNofollow') inode = inode.target!;
  const access = mode === 'rdonly' ? 'r' : mode === 'wronly' ? 'w' : mode === 'rdwr' ? 'rw' : 'path';
  if (entry.held !== undefined && entry.spec.on === 'sockfs' && access !== 'path') {
    // A socket cannot be opened by path: the kernel target dups the world's end (F_DUPFD),
    // the same open file, so no IN_OPEN and, while the world holds it, no close event.
    const fd = s.daemonTask.install({ kind: 'world', file: s.vfs.get(entry.held) });
    if (fd !== 'EMFILE') return fd;
    s.vfs.fput(entry.held);
    return err(t.vfs('EMFILE', 'f_dupfd', 'the daemon reached its RLIMIT_NOFILE'));
  }
  const writes = access === 'w' || access === 'rw';
  if (access !== 'path') {
    if (inode.type === 'dir' && writes) return err(t.vfs('EISDIR', 'may_open', 'a directory opens only read-only'));
    if (inode.type === 'socket') return err(t.vfs('ENXIO', 'do_dentry_open', 'a socket can be opened only with O_PATH'));
    // The daemon opens a fifo non-blocking (the kernel target does, so that a read-only open
    // does not wait for a writer); write-only then needs a reader: fifo_open says ENXIO. The
    // world holds both ends of an anonymous pipe, so its reopens never wait nor fail.
    if (inode.type === 'fifo' && access === 'w' && entry.held === undefined && !s.vfs.allFiles.some((f) => f.inode === inode && f.count > 0 && (f.mode === 'r' || f.mode === 'rw'))) {
      return err(t.vfs('ENXIO', 'fifo_open', 'a fifo opened write-only and non-blocking needs a reader'));
    }
    const refused = writes ? writeOpenRefusal(inode, t) : null;
    if (refused !== null) return err(refused);
  }
  if (entry.spec.on === 'self') {
    if (s.conn === null || !s.conn.mounted) return err(t.vfs('ENOENT', 'path_openat', 'the FUSE mount under test is not mounted'));
    // An O_PATH open never calls ->open: no OPEN (found by fuzz --target both).
    if (access !== 'path') {
      // The flags are the daemon's own O_RDONLY-style open; the model keeps no handle for it.
      const r = s.send(t, { op: 'OPEN', nodeid: s.daemon.nodes.get(file)?.nodeid ?? 0, flags: 0 });
      if (typeof r === 'string') return err(r);
    }
    s.selfFileUsers++;
  }
  const f = s.vfs.openFile(inode, access, new Set(), 'user');
  const fd = s.daemonTask.install({ kind: 'world', file: f });
  if (fd === 'EMFILE') {
    s.vfs.fput(f);
    return err(t.vfs('EMFILE', 'alloc_fd', 'the daemon reached its RLIMIT_NOFILE'));
  }
  return fd;
}
