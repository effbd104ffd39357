// A FUSE connection as fusectl names it, pinned to its identity. fusectl is one filesystem for
// the whole machine (every namespace sees every connection), and a connection number is reused
// as soon as its connection is freed, possibly by a FUSE mount of another process or test run.
// So the number alone is not ours after our superblock died: writing `abort` there aborted
// somebody else's connection (an `abort` step after umount succeeded, and another run's inner
// FUSE mount went ENOTCONN), and observing it read somebody else's files. fusectl gives every
// connection directory a fresh inode number, so (number, inode) identifies ours.
import * as fs from 'node:fs';
import type { Errno } from '../../spec/errno.ts';
import { sys } from '../ffi/libc.ts';
import { O } from '../ffi/consts.ts';

const ROOT = '/sys/fs/fuse/connections';

export interface ConnId {
  n: number;
  ino: number;
}

/** The identity of connection `n` now (just after our mount made it), or null. */
export function connIdentity(n: number | null): ConnId | null {
  if (n === null) return null;
  try {
    return { n, ino: fs.statSync(`${ROOT}/${n}`).ino };
  } catch {
    return null;
  }
}

/**
 * Run `use` on our connection's fusectl directory (a path through an fd we hold, so the
 * directory cannot change under us); ENOENT when the connection is gone or the number now names
 * another connection, which is what the fusectl path answers once our connection is freed.
 */
export function withConnDir<T>(id: ConnId | null, use: (dir: string) => T): T | { errno: Errno } {
  if (id === null) return { errno: 'ENOENT' };
  const fd = sys.open(`${ROOT}/${id.n}`, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
  if (fd < 0) return { errno: 'ENOENT' };
  try {
    if (fs.fstatSync(fd).ino !== id.ino) return { errno: 'ENOENT' };
    return use(`/proc/self/fd/${fd}`);
  } finally {
    sys.close(fd);
  }
}

/**
 * The fusectl connection number of the FUSE mount at `mnt`: the minor of its st_dev (OBS-1),
 * read from mountinfo because stat(2) of the root would send GETATTR to the daemon.
 */
export function connOf(mnt: string): number | null {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[4] === mnt && (line.includes(' - fuse') || line.includes(' - fuse.'))) return Number(f[2]!.split(':')[1]);
  }
  return null;
}
