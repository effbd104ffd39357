// fs/locks.c as the model needs it: non-blocking whole-file flock(2) locks and open file
// description (OFD) locks, owned by a struct file and dropped at its last close
// (locks_remove_file). flock and POSIX/OFD locks never conflict with each other.
import type { Errno } from '../spec/errno.ts';
import type { Trace } from './explain.ts';

export type LockKind = 'flock' | 'ofd';
export type LockType = 'shared' | 'exclusive' | 'unlock';

/** An inode's file_lock_context: its holders by owner (the struct file), per kind. */
export interface LockTable {
  readonly flock: Map<object, 'shared' | 'exclusive'>;
  readonly ofd: Map<object, 'shared' | 'exclusive'>;
}

export function newLockTable(): LockTable {
  return { flock: new Map(), ofd: new Map() };
}

/**
 * flock_lock_inode / posix_lock_inode without FL_SLEEP: another owner's exclusive lock, or any
 * other owner's lock against an exclusive request, is a conflict (EAGAIN, EWOULDBLOCK for flock);
 * the owner's own lock is converted.
 */
export function locksLockInode(table: LockTable, owner: object, kind: LockKind, type: LockType, t: Trace): Errno | null {
  const held = table[kind];
  t.fn(kind === 'flock' ? 'flock_lock_inode' : 'posix_lock_inode');
  if (type === 'unlock') {
    held.delete(owner);
    return null;
  }
  for (const [other, otherType] of held) {
    if (other !== owner && (type === 'exclusive' || otherType === 'exclusive')) {
      return t.vfs('EAGAIN', kind === 'flock' ? 'flock_lock_inode' : 'posix_lock_inode', `another open file holds a${otherType === 'exclusive' ? 'n exclusive' : ' shared'} ${kind === 'flock' ? 'flock' : 'OFD'} lock on this inode`);
    }
  }
  held.set(owner, type);
  return null;
}

/** locks_remove_file at the last close of a struct file: its locks go. */
export function locksRemoveFile(table: LockTable | undefined, owner: object): void {
  table?.flock.delete(owner);
  table?.ofd.delete(owner);
}

/** fcntl_setlk: an OFD read lock needs FMODE_READ, a write lock FMODE_WRITE (EBADF). */
export function fcntlSetlkAccess(mode: 'r' | 'w' | 'rw' | 'path', kind: LockKind, type: LockType, t: Trace): Errno | null {
  if (kind !== 'ofd' || !((type === 'shared' && mode === 'w') || (type === 'exclusive' && mode === 'r'))) return null;
  return t.vfs('EBADF', 'fcntl_setlk', `an OFD ${type === 'shared' ? 'read' : 'write'} lock needs an fd open for ${type === 'shared' ? 'reading' : 'writing'}`);
}
