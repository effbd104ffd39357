// fs/fuse/file.c: open and create (OPEN-1..21), flush and release with their close ordering
// (IO-14, LIFE-14), llseek, fsync, fallocate and copy_file_range (IO-13, IO-17..21).
import type { OpenFlagName } from '../spec/case.ts';
import type { Errno } from '../spec/errno.ts';
import { FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FOPEN_NOFLUSH, FOPEN_PASSTHROUGH } from '../spec/uapi.ts';
import type { Trace } from './explain.ts';
import { fuseFileIoOpen, fuseFileIoRelease } from './iomode.ts';
import { fuseSuperPutIfIdle } from './mount.ts';
import { err, ok, type Outcome } from './outcome.ts';
import { backingDirectIoMisaligned, fusePassthroughRead, fusePassthroughRelease } from './passthrough.ts';
import type { KernelState } from './state.ts';
import type { FuseFile, FuseInode, FuseOpenFile } from './types.ts';
import { addInode, daemonNode, dropPagesFrom, fuseLookup, fuseSetattrSize, fuseUpdateAttributes } from './dir.ts';
import { fileCheckAndAdvanceWbErr, filemapCheckErrors, filemapSampleWbErr, invalidateInodePages2, mappingSetError, pageCacheRead, writeDirtyPages, writePages, writeRange } from './pagecache.ts';
import { fileRemovePrivs, fuseWrite, isDio, isPt, unseekable } from './rw.ts';

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

/** fuse_file_open: send OPEN/OPENDIR/CREATE reply handling (OPEN-2..5, OPEN-19). */
export function fuseFileOpen(k: KernelState, fi: FuseInode, isDir: boolean, t: Trace, opcode: 'OPEN' | 'OPENDIR' | 'CREATE' = isDir ? 'OPENDIR' : 'OPEN'): { ff: FuseFile; backingId: number } | Errno {
  t.fn('fuse_file_open');
  const fc = k.conn!;
  const noOpen = isDir ? fc.noOpendir : fc.noOpen;
  if (noOpen && opcode !== 'CREATE') {
    t.pass('OPEN-4');
    return { ff: newFf(fi, 0, FOPEN_KEEP_CACHE, false, isDir), backingId: 0 };
  }
  const e = k.send(t, opcode);
  if (e !== null) return e;
  const node = daemonNode(k, fi);
  const spec = isDir && fi.nodeid === 1 ? k.daemon.rootOpen : opcode === 'CREATE' ? k.daemon.createReply : node?.open ?? {};
  const r = k.daemon.openReply(spec);
  if (!isDir) t.pass('OPEN-2');
  if (r.error !== null) {
    if (r.error === 'ENOSYS' && opcode !== 'CREATE') {
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
    // fuse_create_open: CREATE adds an empty node (fixtures: World.create reply).
    t.fn('fuse_create_open');
    if (k.conn!.noCreate) return err(t.vfs('ENOSYS', 'fuse_create_open', 'the daemon answered CREATE with ENOSYS before'));
    const e = k.send(t, 'CREATE');
    if (e !== null) return err(e);
    const r = k.daemon.openReply(k.daemon.createReply);
    if (r.error !== null) {
      if (r.error === 'ENOSYS') k.conn!.noCreate = true;
      return err(r.error);
    }
    const node = k.daemon.addNode(a.node, { content: '', open: k.daemon.createReply });
    fi = addInode(k, node);
    t.pass('OPEN-17');
    opened = { ff: newFf(fi, r.fh, r.openFlags, true, false), backingId: r.backingId };
    created = true;
  } else {
    if (flags.has('O_CREAT') && flags.has('O_EXCL')) return err(t.vfs('EEXIST', 'do_open', 'O_CREAT|O_EXCL of an existing node'));
    if (fi.isDir) {
      if (mode !== 'r') return err(t.vfs('EISDIR', 'may_open', 'a directory opens only read-only'));
      return fuseDirOpen(k, fi, t);
    }
    t.fn('fuse_open');
    // OPEN-1: generic_file_open refuses a large file without O_LARGEFILE (32-bit caller).
    if (a.compat32 === true && fi.iSize > 0x7fffffff) return err(t.fail('EOVERFLOW', 'OPEN-1'));
    opened = fuseFileOpen(k, fi, false, t);
    if (typeof opened === 'string') return err(opened);
  }
  const file: FuseOpenFile = { ff: opened.ff, mode, flags, count: 1, pos: 0, wbErrSeen: filemapSampleWbErr(fi) };
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
  if (ff.hasArgs) k.send(t, ff.isDir ? 'RELEASEDIR' : 'RELEASE');
}

/** fuse_dir_open: OPENDIR; a PT flag in the reply is ignored, no io-mode (OPEN-19). */
export function fuseDirOpen(k: KernelState, fi: FuseInode, t: Trace): Outcome & { file?: FuseOpenFile } {
  t.fn('fuse_dir_open');
  const gate = clientGate(k, t);
  if (gate !== null) return gate;
  const opened = fuseFileOpen(k, fi, true, t);
  if (typeof opened === 'string') return err(opened);
  fi.users++;
  return { errno: null, file: { ff: opened.ff, mode: 'r', flags: new Set(), count: 1, pos: 0 } };
}

/** readdir: always READDIR to the daemon (OPEN-20). Value: the number of entries. */
export function fuseReaddir(k: KernelState, file: FuseOpenFile, t: Trace): Outcome {
  t.fn('fuse_readdir');
  if (!file.ff.isDir) return err(t.vfs('ENOTDIR', 'iterate_dir', 'readdir of a regular file'));
  const e = k.send(t, 'READDIR');
  if (e !== null) return err(e);
  t.pass('OPEN-20');
  // The reply holds ".", ".." and the nodes; a second READDIR returns the empty end.
  k.send(t, 'READDIR');
  // Value: the entry names without "." and "..", sorted, comma-separated.
  return ok([...k.daemon.nodes.keys()].sort().join(','));
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
    e = k.send(t, 'FLUSH');
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
  if (ff.hasArgs) k.sendAsync(t, ff.isDir ? 'RELEASEDIR' : 'RELEASE');
  fuseSuperPutIfIdle(k, t);
}

export function fuseCopyRange(k: KernelState, from: FuseOpenFile, to: FuseOpenFile, len: number, t: Trace): Outcome {
  t.fn('fuse_copy_file_range');
  t.pass('IO-21');
  if (from.mode === 'w' || to.mode === 'r') return err(t.vfs('EBADF', 'vfs_copy_file_range', 'copy_file_range needs a readable source and a writable destination'));
  if (to.flags.has('O_APPEND')) return err(t.vfs('EBADF', 'generic_copy_file_checks', 'copy_file_range cannot write to an O_APPEND file'));
  const fi = from.ff.inode;
  // generic_copy_file_checks shortens the copy to the source's EOF before the overlap check:
  // at or past EOF nothing overlaps and the copy returns 0 (found by fusepass fuzz on 6.18).
  const count = from.pos >= fi.iSize ? 0 : Math.min(len, fi.iSize - from.pos);
  if (fi === to.ff.inode && to.pos < from.pos + count && from.pos < to.pos + count) {
    return err(t.vfs('EINVAL', 'generic_copy_file_checks', 'source and destination ranges overlap in the same file'));
  }
  if (count === 0) return ok(0); // vfs_copy_file_range: nothing to copy, no request
  const fc = k.conn!;
  let timesJustSet = false;
  if (!fc.noCopyFileRange) {
    // __fuse_copy_file_range: fuse_writeback_range of the source from pos_in to the end of
    // the file (dirty pages as WRITE), then file_modified(file_out) (GETXATTR, as IO-5; with the
    // writeback cache the times are kept locally), the destination's writeback range, the
    // request, and at `out:` fuse_flush_time_update(inode_out) whatever the result (SETATTR for
    // dirty times). 6.18: [WRITE, GETXATTR, COPY_FILE_RANGE_64, COPY_FILE_RANGE, SETATTR] before
    // the splice fallback.
    const to_ = to.ff.inode;
    const re = writeRange(k, fi, from.pos, Number.MAX_SAFE_INTEGER - from.pos, t);
    if (re !== null) return err(re);
    fileRemovePrivs(k, to_, t);
    if (fc.writebackCache) to_.timesDirty = true;
    let e = writeRange(k, to_, to.pos, Number.MAX_SAFE_INTEGER - to.pos, t);
    if (e === null && k.profile.copyFileRange64 && !fc.noCopyFileRange64) {
      // 6.18 asks the 64-bit request first; the scripted daemon answers ENOSYS, which the
      // kernel remembers for the connection and then asks the old request.
      e = k.send(t, 'COPY_FILE_RANGE_64');
      if (e === null) fc.noCopyFileRange64 = true;
    }
    if (e === null) {
      e = k.send(t, 'COPY_FILE_RANGE');
      if (e === null) fc.noCopyFileRange = true; // the daemon answers ENOSYS: fallback below
    }
    if (to_.timesDirty) {
      to_.timesDirty = false;
      t.fn('fuse_flush_time_update');
      const se = k.send(t, 'SETATTR');
      if (se !== null) mappingSetError(to_, se);
      timesJustSet = true;
    }
    if (e !== null) return err(e);
  }
  const r = fuseReadBytes(k, from, count, t); // do_splice_direct copies the checked count
  if (typeof r === 'string') return err(r);
  const w = fuseWrite(k, to, r, undefined, t, true);
  // The splice fallback's file_update_time runs microseconds after file_modified set the times:
  // inode_needs_update_time finds them current and dirties nothing (6.18: the destination's
  // close then sent no SETATTR).
  if (timesJustSet) to.ff.inode.timesDirty = false;
  return w.errno !== null ? w : ok(r.length);
}

export function fuseReadBytes(k: KernelState, file: FuseOpenFile, len: number, t: Trace): Uint8Array | Errno {
  const ff = file.ff;
  const pos = file.pos;
  let data: Uint8Array | Errno;
  if (isPt(ff) && !isDio(ff)) {
    // The splice fallback reads an O_DIRECT file through ->read_iter (copy_splice_read), so the
    // backing file's block alignment applies (fuzz --target both seed 156: a 1-byte copy from a
    // PT O_DIRECT file on disk gave EINVAL after COPY_FILE_RANGE).
    if (backingDirectIoMisaligned(k, file, pos, len, true)) return t.vfs('EINVAL', 'ext4_dio_read_iter', 'O_DIRECT I/O on the backing disk file must be block-aligned');
    data = fusePassthroughRead(k, file, pos, len, t);
  } else if (file.flags.has('O_DIRECT') && !isDio(ff)) {
    // A cached file opened O_DIRECT: copy_splice_read -> fuse_cache_read_iter -> fuse_direct_IO,
    // a READ every time, the cache bypassed (6.18: a second copy from it sent READ again).
    if (pos + len > ff.inode.iSize) {
      const e = fuseUpdateAttributes(k, ff.inode, t, 'size');
      if (e !== null) return e;
    }
    const we = writeRange(k, ff.inode, pos, len, t);
    if (we !== null) return we;
    if (pos >= ff.inode.iSize) {
      data = new Uint8Array(0);
    } else {
      const e = k.send(t, 'READ');
      ff.inode.atimeInvalid = true;
      if (e !== null) return e;
      const node = daemonNode(k, ff.inode);
      data = node === undefined ? new Uint8Array(0) : k.daemon.read(node, pos, len);
    }
  } else data = pageCacheRead(k, ff.inode, pos, len, t);
  if (typeof data !== 'string') file.pos = pos + data.length;
  return data;
}

/** fuse_file_llseek (IO-17..19). */
export function fuseLseek(k: KernelState, file: FuseOpenFile, whence: 'SET' | 'CUR' | 'END' | 'DATA' | 'HOLE', offset: number, t: Trace): Outcome {
  if (unseekable(file.ff)) return err(t.vfs('ESPIPE', 'vfs_llseek', 'the daemon opened the file FOPEN_STREAM or FOPEN_NONSEEKABLE: no lseek'));
  const fi = file.ff.inode;
  let pos: number;
  if (whence === 'SET' || whence === 'CUR') {
    t.pass('IO-17');
    pos = whence === 'SET' ? offset : file.pos + offset;
  } else if (whence === 'END') {
    t.pass('IO-18');
    const e = fuseUpdateAttributes(k, fi, t, 'size');
    if (e !== null) return err(e);
    pos = fi.iSize + offset;
  } else {
    t.pass('IO-19');
    const fc = k.conn!;
    if (!fc.noLseek) {
      const e = k.send(t, 'LSEEK');
      if (e !== null) return err(e);
      fc.noLseek = true; // the daemon answers ENOSYS: generic fallback from now on
    }
    const e = fuseUpdateAttributes(k, fi, t, 'size');
    if (e !== null) return err(e);
    if (offset >= fi.iSize) return err(t.vfs('ENXIO', 'generic_file_llseek_size', 'SEEK_DATA/SEEK_HOLE at or past the end of the file'));
    pos = whence === 'DATA' ? offset : fi.iSize;
  }
  if (pos < 0) return err(t.vfs('EINVAL', 'vfs_setpos', 'negative file position'));
  file.pos = pos;
  return ok(pos);
}

/** fuse_fsync: write back, then FSYNC to the daemon; the backing file is not synced (IO-13). */
export function fuseFsync(k: KernelState, file: FuseOpenFile, t: Trace): Outcome {
  t.fn('fuse_fsync');
  // file_write_and_wait_range (dirty pages), then file_check_and_advance_wb_err (the errseq,
  // clearing AS_EIO), then sync_inode_metadata (the times as SETATTR).
  const fi = file.ff.inode;
  const pe = writePages(k, fi, t) ?? fileCheckAndAdvanceWbErr(file) ?? writeDirtyPages(k, fi, t);
  if (pe !== null) return err(pe);
  const fc = k.conn!;
  t.pass('IO-13');
  if (fc.noFsync) return ok();
  const e = k.send(t, file.ff.isDir ? 'FSYNCDIR' : 'FSYNC');
  return e === null ? ok() : err(e);
}

/** fuse_file_fallocate: FALLOCATE; ENOSYS becomes EOPNOTSUPP (IO-20). */
export function fuseFallocate(k: KernelState, file: FuseOpenFile, t: Trace): Outcome {
  if (file.mode === 'r') return err(t.vfs('EBADF', 'vfs_fallocate', 'the fd was opened read-only'));
  const fc = k.conn!;
  t.pass('IO-20');
  if (fc.noFallocate) return err('EOPNOTSUPP');
  // file_modified: remove privileges first (GETXATTR, as IO-5), then update the times, which
  // the writeback cache keeps locally.
  const fi = file.ff.inode;
  fileRemovePrivs(k, fi, t);
  if (fc.writebackCache) fi.timesDirty = true;
  const e = k.send(t, 'FALLOCATE');
  if (e === null) fc.noFallocate = true;
  // fuse_flush_time_update at the end, whatever the result: SETATTR for dirty times.
  if (fi.timesDirty) {
    fi.timesDirty = false;
    t.fn('fuse_flush_time_update');
    const se = k.send(t, 'SETATTR');
    if (se !== null) mappingSetError(fi, se);
  }
  return err(e ?? 'EOPNOTSUPP');
}
