// fs/fuse/file.c: open and create (OPEN-1..21), flush and release with their close ordering
// (IO-14, LIFE-14); llseek, fsync, fallocate and copy_file_range are in file-ops.ts.
import { fsnotifyClose, fsnotifyModify, fsnotifyOpen } from './fsnotify.ts';
import type { OpenFlagName } from '../spec/case.ts';
import type { Errno } from '../spec/errno.ts';
import { FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FOPEN_NOFLUSH, FOPEN_PASSTHROUGH, OPEN_FLAG_BITS, openFlagWord } from '../spec/uapi.ts';
import type { Trace } from './explain.ts';
import { fuseFileIoOpen, fuseFileIoRelease } from './iomode.ts';
import { fuseSuperPutIfIdle } from './mount.ts';
import { err, ok, type Outcome } from './outcome.ts';
import { fusePassthroughRelease } from './passthrough.ts';
import type { KernelState } from './state.ts';
import type { FuseFile, FuseInode, FuseOpenFile } from './types.ts';
import { addInode, dropPagesFrom, fuseLookup, fuseSetattrSize } from './dir.ts';
import { replyErrno, type FuseRequest, type Sent } from './daemon-port.ts';
import { filemapCheckErrors, filemapSampleWbErr, invalidateInodePages2, writeDirtyPages } from './pagecache.ts';
import { fileRemovePrivs } from './rw.ts';
import { fcntlSetlkAccess, locksLockInode, locksRemoveFile, newLockTable, type LockKind, type LockType } from './locks.ts';

/** DIRECT_IO non-PT files counted in FuseInode.dioFiles. */
const dioCounted = new WeakSet<FuseFile>();
/** Known FOPEN bits: DIRECT_IO..PASSTHROUGH (bits 0..7). */
const KNOWN_FOPEN = 0xff;

// ---- open / create / close ------------------------------------------------------------------

export function accessMode(flags: readonly OpenFlagName[]): 'r' | 'w' | 'rw' {
  if (flags.includes('O_RDWR')) return 'rw';
  if (flags.includes('O_WRONLY')) return 'w';
  return 'r';
}

/** fuse_open_in.flags (fuse_file_open): f_flags without O_CREAT, O_EXCL, O_NOCTTY, and O_TRUNC unless atomic. */
export function fuseOpenInFlags(flags: readonly OpenFlagName[], atomicOTrunc: boolean): number {
  const NOCTTY = 0o400;
  let w = openFlagWord(flags) & ~(OPEN_FLAG_BITS.O_CREAT | OPEN_FLAG_BITS.O_EXCL | NOCTTY);
  if (!atomicOTrunc) w &= ~OPEN_FLAG_BITS.O_TRUNC;
  return w;
}

/** fuse_file_open: OPEN or OPENDIR and the reply handling (OPEN-2..5, OPEN-19); CREATE is fuse_create_open. */
export function fuseFileOpen(k: KernelState, fi: FuseInode, isDir: boolean, t: Trace, openFlags = 0): { ff: FuseFile; backingId: number } | Errno {
  t.fn('fuse_file_open');
  const fc = k.conn!;
  const noOpen = isDir ? fc.noOpendir : fc.noOpen;
  if (noOpen) {
    t.pass('OPEN-4');
    return { ff: newFf(fi, 0, FOPEN_KEEP_CACHE, false, isDir), backingId: 0 };
  }
  const sent = k.send(t, { op: isDir ? 'OPENDIR' : 'OPEN', nodeid: fi.nodeid, flags: openFlags });
  if (typeof sent === 'string') return sent;
  const r = sent.error !== null ? { error: sent.error, fh: 0, openFlags: 0, backingId: 0 } : { error: null, fh: 0, openFlags: 0, backingId: 0, ...sent.open };
  if (!isDir) t.pass('OPEN-2');
  if (r.error !== null) {
    if (r.error === 'ENOSYS') {
      if (isDir) fc.noOpendir = true;
      else fc.noOpen = true;
      t.pass('OPEN-4');
      return { ff: newFf(fi, 0, FOPEN_KEEP_CACHE, false, isDir), backingId: 0 };
    }
    t.pass('OPEN-3');
    return r.error;
  }
  let flags = r.openFlags;
  if (isDir) {
    flags &= ~FOPEN_DIRECT_IO;
    if (flags & FOPEN_PASSTHROUGH) t.pass('OPEN-19');
  } else if (!(flags & FOPEN_PASSTHROUGH)) {
    if (r.backingId !== 0) t.pass('OPEN-5');
    if (flags & ~KNOWN_FOPEN) t.pass('OPEN-10');
  }
  return { ff: newFf(fi, r.fh, flags, true, isDir), backingId: r.backingId };
}

export function newFf(inode: FuseInode, fh: number, openFlags: number, hasArgs: boolean, isDir: boolean): FuseFile {
  return { inode, fh, openFlags: openFlags >>> 0, hasArgs, iomode: 'none', passthrough: null, cred: null, openedWith: null, isDir, released: false };
}

/** The connection is usable for client syscalls, or the outcome to return. */
export function clientGate(k: KernelState, t: Trace): Outcome | null {
  const fc = k.conn;
  if (fc === null || !fc.mounted) return err(t.vfs('ENOENT', 'path_openat', 'the FUSE mount under test is not mounted'));
  if (fc.initPending) return { errno: null, fault: { kind: 'timeout', message: 'the request waits for the INIT reply (replyInit)' } };
  return null;
}

export interface OpenArgs {
  node: string;
  flags: readonly OpenFlagName[];
  compat32?: boolean;
}

/** open(2) of a FUSE node: fuse_open, or fuse_create_open for O_CREAT of a new name. */
export function fuseOpen(k: KernelState, a: OpenArgs, t: Trace): Outcome & { file?: FuseOpenFile } {
  const gate = clientGate(k, t);
  if (gate !== null) return gate;
  const mode = accessMode(a.flags);
  const flags = new Set<string>(a.flags);
  let fi = fuseLookup(k, a.node, t);
  let created = false;
  let opened: { ff: FuseFile; backingId: number } | Errno;
  if (typeof fi === 'string') {
    if (fi !== 'ENOENT' || !flags.has('O_CREAT')) return err(fi);
    // fuse_atomic_open: CREATE adds an empty node (fixtures: World.create reply); a daemon that
    // answers ENOSYS gets MKNOD then OPEN from then on (fc->no_create).
    created = true;
    let r: Sent | null = null;
    if (!k.conn!.noCreate) {
      t.fn('fuse_create_open');
      r = k.send(t, { op: 'CREATE', nodeid: 1, name: a.node, flags: openFlagWord(a.flags), mode: 0o100644 });
      if (typeof r === 'string') return err(r);
      if (r.error === 'ENOSYS') {
        k.conn!.noCreate = true;
        r = null;
      } else if (r.error !== null) return err(r.error);
    }
    if (r !== null) {
      if (r.entry === undefined || r.open === undefined) return err(t.vfs('EIO', 'fuse_create_open', 'the CREATE reply carries no entry or no open reply'));
      fi = addInode(k, a.node, { ...r.entry, isDir: false });
      t.pass('OPEN-17');
      opened = { ff: newFf(fi, r.open.fh, r.open.openFlags, true, false), backingId: r.open.backingId };
    } else {
      // fuse_mknod, then finish_no_open: the VFS opens the new inode with ->open (OPEN).
      t.fn('fuse_mknod');
      const m = k.send(t, { op: 'MKNOD', nodeid: 1, name: a.node, mode: 0o100644 });
      if (typeof m === 'string') return err(m);
      if (m.error !== null) return err(m.error);
      if (m.entry === undefined) return err(t.vfs('EIO', 'fuse_mknod', 'the MKNOD reply carries no entry'));
      fi = addInode(k, a.node, { ...m.entry, isDir: false });
      t.fn('fuse_open');
      opened = fuseFileOpen(k, fi, false, t, fuseOpenInFlags(a.flags, k.conn!.atomicOTrunc));
      if (typeof opened === 'string') return err(opened);
    }
  } else {
    if (flags.has('O_CREAT') && flags.has('O_EXCL')) return err(t.vfs('EEXIST', 'do_open', 'O_CREAT|O_EXCL of an existing node'));
    if (fi.isDir) {
      if (mode !== 'r') return err(t.vfs('EISDIR', 'may_open', 'a directory opens only read-only'));
      return fuseDirOpen(k, fi, t);
    }
    t.fn('fuse_open');
    // OPEN-1: generic_file_open refuses a large file without O_LARGEFILE (32-bit caller).
    if (a.compat32 === true && fi.iSize > 0x7fffffff) return err(t.fail('EOVERFLOW', 'OPEN-1'));
    opened = fuseFileOpen(k, fi, false, t, fuseOpenInFlags(a.flags, k.conn!.atomicOTrunc));
    if (typeof opened === 'string') return err(opened);
  }
  // raPrevPos present (undefined) from the start: one hidden class for every open file.
  const file: FuseOpenFile = { ff: opened.ff, mode, flags, count: 1, pos: 0, raPrevPos: undefined, ra: undefined, wbErrSeen: filemapSampleWbErr(fi) };
  const e = fuseFinishOpen(k, file, opened.backingId, t);
  if (e === 'WAIT') return { errno: null, fault: { kind: 'timeout', message: 'the cached open sleeps until the parallel DIO writes end (IOM-5)' } };
  if (e !== null) {
    // OPEN-6 / OPEN-18: fuse_sync_release sends RELEASE synchronously, open(2) sees EIO.
    t.pass(created ? 'OPEN-18' : 'OPEN-6');
    fuseSyncRelease(k, file.ff, t);
    return err(e);
  }
  fi.users++;
  if (file.ff.iomode === 'none' && file.ff.hasArgs && file.ff.openFlags & FOPEN_DIRECT_IO) {
    fi.dioFiles++;
    dioCounted.add(file.ff);
  }
  if (file.ff.openFlags & FOPEN_PASSTHROUGH) {
    t.pass(created ? 'OPEN-17' : 'OPEN-14');
    t.pass('OPEN-16');
    t.pass('IO-27');
  }
  fsnotifyOpen(k, fi); // vfs_open, once ->open succeeded
  // fuse_open, after the open succeeded: an atomic O_TRUNC truncates the page cache (dirty pages
  // dropped unwritten, below); otherwise without FOPEN_KEEP_CACHE invalidate_inode_pages2
  // writes dirty pages back and drops the cache.
  if (!(file.ff.openFlags & FOPEN_KEEP_CACHE) && !(flags.has('O_TRUNC') && !created && k.conn!.atomicOTrunc)) {
    invalidateInodePages2(k, fi, t);
  }
  // do_open truncates on O_TRUNC whatever the access mode (O_RDONLY|O_TRUNC too; found by
  // fusepass fuzz against the 6.18 kernel).
  if (flags.has('O_TRUNC') && !created) {
    const fc = k.conn!;
    // handle_truncate -> do_truncate: dentry_needs_remove_privs (GETXATTR) in both cases.
    t.fn('handle_truncate');
    fileRemovePrivs(k, fi, t);
    if (fc.atomicOTrunc) {
      // fuse_truncate_update_attr: i_size 0 locally; the backing file is untouched (OPEN-15).
      fi.iSize = 0;
      fi.attrValid = false;
      dropPagesFrom(fi, 0);
      t.pass('OPEN-15');
    } else {
      // notify_change -> SETATTR (IO-15).
      const se = fuseSetattrSize(k, fi, 0, t, false);
      if (se !== null) return { errno: se, file };
    }
    fsnotifyModify(k, fi); // notify_change: fsnotify_change with ATTR_SIZE
  }
  return { errno: null, file };
}

/** fuse_finish_open -> fuse_file_io_open. */
export function fuseFinishOpen(k: KernelState, file: FuseOpenFile, backingId: number, t: Trace): Errno | null | 'WAIT' {
  t.fn('fuse_finish_open');
  return fuseFileIoOpen(k, file, backingId, t);
}

/** fuse_sync_release: synchronous RELEASE of a failed open (OPEN-6). */
export function fuseSyncRelease(k: KernelState, ff: FuseFile, t: Trace): void {
  t.fn('fuse_sync_release');
  ff.released = true;
  if (ff.hasArgs) k.send(t, releaseRequest(ff));
}

/** fuse_release_args: RELEASE or RELEASEDIR of the file's handle. */
export function releaseRequest(ff: FuseFile): FuseRequest {
  return { op: ff.isDir ? 'RELEASEDIR' : 'RELEASE', nodeid: ff.inode.nodeid, fh: ff.fh, flags: 0 };
}

/** fuse_dir_open: OPENDIR; a PT flag in the reply is ignored, no io-mode (OPEN-19). */
export function fuseDirOpen(k: KernelState, fi: FuseInode, t: Trace): Outcome & { file?: FuseOpenFile } {
  t.fn('fuse_dir_open');
  const gate = clientGate(k, t);
  if (gate !== null) return gate;
  // opendir(3): O_RDONLY|O_NONBLOCK|O_DIRECTORY (O_CLOEXEC is not an f_flag).
  const opened = fuseFileOpen(k, fi, true, t, openFlagWord(['O_NONBLOCK']) | 0o200000);
  if (typeof opened === 'string') return err(opened);
  fi.users++;
  return { errno: null, file: { ff: opened.ff, mode: 'r', flags: new Set(), count: 1, pos: 0, raPrevPos: undefined, ra: undefined, wbErrSeen: undefined } };
}

/** readdir: always READDIR to the daemon (OPEN-20). Value: the number of entries. */
export function fuseReaddir(k: KernelState, file: FuseOpenFile, t: Trace): Outcome {
  t.fn('fuse_readdir');
  if (!file.ff.isDir) return err(t.vfs('ENOTDIR', 'iterate_dir', 'readdir of a regular file'));
  const req = { op: 'READDIR' as const, nodeid: file.ff.inode.nodeid, fh: file.ff.fh, size: 4096 };
  const r = k.send(t, { ...req, offset: 0 });
  if (typeof r === 'string') return err(r);
  if (r.error !== null) return err(r.error);
  t.pass('OPEN-20');
  // getdents reads on until a READDIR returns nothing (the scripted daemon: the second).
  const names = [...(r.names ?? [])];
  let next = r.nextOffset ?? 0;
  for (let more = names.length > 0 || next > 0; more; ) {
    const r2 = k.send(t, { ...req, offset: next });
    if (typeof r2 === 'string' || r2.error !== null) break;
    names.push(...(r2.names ?? []));
    more = (r2.names ?? []).length > 0 && (r2.nextOffset ?? next) !== next;
    next = r2.nextOffset ?? next;
  }
  // Value: the entry names without "." and "..", sorted, comma-separated.
  return ok(names.sort().join(','));
}

/**
 * close(2): ->flush (FLUSH unless NOFLUSH, IO-14), then fput; the last reference runs
 * ->release: per-open file put, io-mode release (unbind), then RELEASE (LIFE-14).
 */
export function fuseClose(k: KernelState, file: FuseOpenFile, t: Trace): Outcome {
  let result: Errno | null = null;
  if (!file.ff.isDir) result = fuseFlush(k, file, t);
  fusePutFile(k, file, t);
  return result === null ? ok() : err(result);
}

/** fuse_flush. */
export function fuseFlush(k: KernelState, file: FuseOpenFile, t: Trace): Errno | null {
  t.fn('fuse_flush');
  const fc = k.conn!;
  const ff = file.ff;
  if (ff.openFlags & FOPEN_NOFLUSH && !fc.writebackCache) {
    t.pass('IO-14');
    return null;
  }
  const we = writeDirtyPages(k, ff.inode, t);
  if (we !== null) return we;
  // filemap_check_errors before FLUSH: an earlier failed time update left AS_EIO (6.18: after an
  // abort, fallocate then close gave EIO, not ENOTCONN; fuzz --target both seed 23).
  const ce = filemapCheckErrors(ff.inode, t);
  if (ce !== null) return ce;
  let e: Errno | null = null;
  if (!fc.noFlush) {
    t.pass('IO-14');
    e = replyErrno(k.send(t, { op: 'FLUSH', nodeid: ff.inode.nodeid, fh: ff.fh }));
    // fuse_flush: ENOSYS marks the connection; the close succeeds.
    if (e === 'ENOSYS') {
      fc.noFlush = true;
      e = null;
    }
  }
  // inval_attr_out: with the writeback cache the cached i_blocks may be wrong; the next stat asks.
  if (e === null && fc.writebackCache) ff.inode.blocksInvalid = true;
  return e;
}

/** Drop one reference of the FUSE struct file; the last runs fuse_release. */
export function fusePutFile(k: KernelState, file: FuseOpenFile, t: Trace): void {
  file.count--;
  if (file.count < 0) k.vfs.bugs.push(`FUSE file f_count went negative`);
  if (file.count === 0) fuseRelease(k, file, t);
}

/** fuse_release -> fuse_prepare_release -> fuse_file_put (LIFE-14). */
export function fuseRelease(k: KernelState, file: FuseOpenFile, t: Trace): void {
  t.fn('fuse_release');
  const ff = file.ff;
  const fi = ff.inode;
  if (ff.released) k.vfs.bugs.push('fuse_file released twice');
  ff.released = true;
  fsnotifyClose(k, fi, file.mode !== 'r'); // __fput, before ->release
  locksRemoveFile(ff.inode.locks, file); // locks_remove_file, before ->release
  fi.users--;
  if (dioCounted.delete(ff)) fi.dioFiles--;
  if (k.conn!.writebackCache && !ff.isDir) writeDirtyPages(k, fi, t);
  const wasPt = ff.passthrough !== null;
  const fb = fi.fb;
  fusePassthroughRelease(k, ff, t);
  fuseFileIoRelease(k, ff, t);
  if (wasPt) {
    t.pass('LIFE-14');
    if (fb !== null && fi.fb === null) t.pass(fb.freed ? 'LIFE-13' : 'LIFE-10');
  }
  // RELEASE is queued asynchronously; the step settles it (spec/target.ts), unless an abort or
  // the umount that follows first ends it unread.
  if (ff.hasArgs) k.sendAsync(t, releaseRequest(ff));
  fuseSuperPutIfIdle(k, t);
}

/**
 * fuse_file_lock (OFD, F_OFD_SETLK) and fuse_file_flock: not passed through (IO-23). Without
 * POSIX_LOCKS / FLOCK_LOCKS in the INIT reply the VFS keeps the lock on the FUSE inode
 * (posix_lock_file, locks_lock_file_wait); with them each lock and unlock is a SETLK whose
 * answer is the result (ENOSYS included: there is no local fallback).
 */
export function fuseFileLock(k: KernelState, file: FuseOpenFile, kind: LockKind, type: LockType, t: Trace): Outcome {
  const access = fcntlSetlkAccess(file.mode, kind, type, t);
  if (access !== null) return err(access);
  t.fn(kind === 'ofd' ? 'fuse_file_lock' : 'fuse_file_flock');
  t.pass('IO-23');
  const fc = k.conn!;
  const fi = file.ff.inode;
  if (kind === 'ofd' ? !fc.noLock : !fc.noFlock) {
    t.fn('fuse_setlk');
    const e = replyErrno(k.send(t, { op: 'SETLK', nodeid: fi.nodeid, fh: file.ff.fh, flock: kind === 'flock', type }));
    return e === null ? ok() : err(e);
  }
  fi.locks ??= newLockTable();
  const e = locksLockInode(fi.locks, file, kind, type, t);
  return e === null ? ok() : err(e);
}
