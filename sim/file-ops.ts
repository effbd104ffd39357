// fs/fuse/file.c, the calls beside read and write: llseek (IO-17..19), fsync (IO-13), fallocate
// (IO-20) and copy_file_range (IO-21), with the writeback and time flushes they do first.
import { fsnotifyModify } from './fsnotify.ts';
import type { Trace } from './explain.ts';
import { err, ok, type Outcome } from './outcome.ts';
import type { KernelState } from './state.ts';
import type { FuseOpenFile } from './types.ts';
import { fuseUpdateAttributes, fuseWriteUpdateAttr } from './dir.ts';
import { replyErrno, type Sent } from './daemon-port.ts';
import { fileCheckAndAdvanceWbErr, fuseFlushTimeUpdate, invalidateRange, writeDirtyPages, writePages, writeRange } from './pagecache.ts';
import { fileRemovePrivs, fuseReadData, fuseWrite, unseekable } from './rw.ts';

/** copy_file_range(2)'s explicit offsets (`off_in`, `off_out`): absent, the fds' positions. */
export interface CopyOffsets {
  in?: number | undefined;
  out?: number | undefined;
}

/**
 * copy_file_range(2) between a FUSE file and a file of another filesystem: after the access
 * checks, generic_copy_file_checks refuses a pair whose ->copy_file_range differ, or
 * that has none and two superblocks, with EXDEV (IO-21): no request reaches the daemon.
 */
export function copyFileRangeAcrossFs(file: FuseOpenFile, fuseIsSource: boolean, t: Trace): Outcome {
  t.fn('vfs_copy_file_range');
  if (fuseIsSource ? file.mode === 'w' : file.mode === 'r') return err(t.vfs('EBADF', 'generic_file_rw_checks', 'copy_file_range needs a readable source and a writable destination'));
  if (!fuseIsSource && file.flags.has('O_APPEND')) return err(t.vfs('EBADF', 'generic_file_rw_checks', 'copy_file_range cannot write to an O_APPEND file'));
  t.pass('IO-21');
  return err(t.vfs('EXDEV', 'generic_copy_file_checks', 'copy_file_range copies only within one filesystem type (FUSE to FUSE): copy with read and write, or splice through a pipe'));
}

export function fuseCopyRange(k: KernelState, from: FuseOpenFile, to: FuseOpenFile, len: number, t: Trace, off: CopyOffsets = {}): Outcome {
  t.fn('fuse_copy_file_range');
  t.pass('IO-21');
  if (from.mode === 'w' || to.mode === 'r') return err(t.vfs('EBADF', 'vfs_copy_file_range', 'copy_file_range needs a readable source and a writable destination'));
  if (to.flags.has('O_APPEND')) return err(t.vfs('EBADF', 'generic_copy_file_checks', 'copy_file_range cannot write to an O_APPEND file'));
  const fi = from.ff.inode;
  // The positions copied from and to; the fds' own move by what was copied unless given.
  const posIn = off.in ?? from.pos;
  const posOut = off.out ?? to.pos;
  const advance = (n: number) => {
    if (off.in === undefined) from.pos = posIn + n;
    if (off.out === undefined) to.pos = posOut + n;
  };
  // generic_copy_file_checks shortens the copy to the source's EOF before the overlap check:
  // at or past EOF nothing overlaps and the copy returns 0 (found by fusepass fuzz on 6.18).
  const count = posIn >= fi.iSize ? 0 : Math.min(len, fi.iSize - posIn);
  if (fi === to.ff.inode && posOut < posIn + count && posIn < posOut + count) {
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
    const re = writeRange(k, fi, posIn, Number.MAX_SAFE_INTEGER - posIn, t);
    if (re !== null) return err(re);
    fileRemovePrivs(k, to_, t);
    if (fc.writebackCache) to_.timesDirty = true;
    let e = writeRange(k, to_, posOut, Number.MAX_SAFE_INTEGER - posOut, t);
    const req = { nodeid: fi.nodeid, fh: from.ff.fh, offset: posIn, nodeidOut: to_.nodeid, fhOut: to.ff.fh, offsetOut: posOut, size: count };
    let copied: Sent | null = null;
    if (e === null && k.profile.copyFileRange64 && !fc.noCopyFileRange64) {
      // 6.18 asks the 64-bit request first; ENOSYS is remembered for the connection and the
      // old request asked instead.
      copied = k.send(t, { op: 'COPY_FILE_RANGE_64', ...req });
      if (replyErrno(copied) === 'ENOSYS') {
        fc.noCopyFileRange64 = true;
        copied = null;
      }
    }
    if (e === null && copied === null) {
      copied = k.send(t, { op: 'COPY_FILE_RANGE', ...req });
      if (replyErrno(copied) === 'ENOSYS') {
        fc.noCopyFileRange = true; // the splice fallback below
        copied = null;
      }
    }
    e ??= copied === null ? null : replyErrno(copied);
    if (e === null && copied !== null && typeof copied !== 'string') {
      // The daemon copied: the destination's cached range goes, its size and times are stale.
      const n = Math.min(copied.written ?? 0, count);
      invalidateRange(k, to_, posOut, n, t);
      fuseWriteUpdateAttr(to_, posOut + n, n);
      advance(n);
    }
    if (to_.timesDirty) {
      fuseFlushTimeUpdate(k, to_, t);
      timesJustSet = true;
    }
    if (e !== null) return err(e);
    if (copied !== null && typeof copied !== 'string') return ok(Math.min(copied.written ?? 0, count));
  }
  // The splice fallback needs a positioned read of the source: one opened FOPEN_STREAM or
  // FOPEN_NONSEEKABLE (no FMODE_PREAD) is EINVAL before any READ, an unseekable destination is
  // not (6.18, all four combinations; fuzz --target both seed 622588024).
  if (unseekable(from.ff)) return err(t.vfs('EINVAL', 'do_splice_direct', 'the source was opened FOPEN_STREAM or FOPEN_NONSEEKABLE: the kernel\'s copy fallback cannot read it at an offset'));
  // do_splice_direct copies the checked count, read as sendfile reads (sendfile.ts): through
  // ->splice_read, with readahead for a cached file (fuzz seed 1: a sendfile after a copy found
  // the copy's readahead page cached on 6.18).
  // splice_direct_to_actor: rounds of one pipe's worth, each read then written (6.18: 100000
  // bytes of a cached file went as READ, GETXATTR and 16 WRITEs, then again for the rest, the
  // second READ the readahead window that the first round's mark started).
  let total = 0;
  let outPos = off.out;
  while (total < count) {
    const r = fuseReadData(k, from, count - total, posIn + total, t, true);
    if (typeof r === 'string') {
      if (total === 0) return err(r);
      break;
    }
    // It stops at the source's EOF: nothing read, nothing written, so no file_remove_privs
    // either (fuzz --target both seed 551921664: no second GETXATTR on 6.18).
    if (r.length === 0) break;
    const w = fuseWrite(k, to, r, outPos, t, true);
    // The splice fallback's file_update_time runs microseconds after file_modified set the
    // times: inode_needs_update_time finds them current and dirties nothing (6.18: the
    // destination's close then sent no SETATTR).
    if (timesJustSet) to.ff.inode.timesDirty = false;
    if (w.errno !== null) {
      if (total === 0) return w;
      break;
    }
    const written = typeof w.value === 'number' ? w.value : 0;
    total += written;
    if (outPos !== undefined) outPos += written;
    if (written < r.length) break;
  }
  if (off.in === undefined) from.pos = posIn + total;
  return ok(total);
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
      const r = k.send(t, { op: 'LSEEK', nodeid: fi.nodeid, fh: file.ff.fh, offset, whence: whence === 'DATA' ? 3 : 4 });
      const e = replyErrno(r);
      if (e === 'ENOSYS') fc.noLseek = true; // the generic fallback from now on
      else if (e !== null) return err(e);
      else if (typeof r !== 'string') {
        file.pos = r.offset ?? 0;
        return ok(file.pos);
      }
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
  const pe = writePages(k, fi, t) ?? fileCheckAndAdvanceWbErr(file, t) ?? writeDirtyPages(k, fi, t);
  if (pe !== null) return err(pe);
  const fc = k.conn!;
  t.pass('IO-13');
  if (fc.noFsync) return ok();
  const e = replyErrno(k.send(t, { op: file.ff.isDir ? 'FSYNCDIR' : 'FSYNC', nodeid: fi.nodeid, fh: file.ff.fh }));
  // fuse_fsync_common: ENOSYS marks the connection; the fsync succeeds.
  if (e === 'ENOSYS') {
    if (!file.ff.isDir) fc.noFsync = true;
    return ok();
  }
  return e === null ? ok() : err(e);
}

/** vfs_fallocate, then fuse_file_fallocate: FALLOCATE; ENOSYS becomes EOPNOTSUPP (IO-20). */
export function fuseFallocate(k: KernelState, file: FuseOpenFile, t: Trace, length = 4096): Outcome {
  if (length <= 0) return err(t.vfs('EINVAL', 'vfs_fallocate', 'fallocate needs a length above 0'));
  if (file.mode === 'r') return err(t.vfs('EBADF', 'vfs_fallocate', 'the fd was opened read-only'));
  const fc = k.conn!;
  t.pass('IO-20');
  if (fc.noFallocate) return err('EOPNOTSUPP');
  // file_modified: remove privileges first (GETXATTR, as IO-5), then update the times, which
  // the writeback cache keeps locally.
  const fi = file.ff.inode;
  fileRemovePrivs(k, fi, t);
  if (fc.writebackCache) fi.timesDirty = true;
  let e = replyErrno(k.send(t, { op: 'FALLOCATE', nodeid: fi.nodeid, fh: file.ff.fh }));
  if (e === 'ENOSYS') {
    fc.noFallocate = true;
    e = 'EOPNOTSUPP';
  }
  // fuse_flush_time_update at the end, whatever the result: SETATTR for dirty times.
  if (fi.timesDirty) fuseFlushTimeUpdate(k, fi, t);
  if (e !== null) return err(e);
  fsnotifyModify(k, fi); // vfs_fallocate: on success
  return ok();
}
