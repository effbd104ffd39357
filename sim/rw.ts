// fs/fuse/file.c read_iter / write_iter / splice: DIRECT_IO overrides PT (IO-3, IO-8, IO-10),
// PT goes to the backing file (IO-1, IO-4..7, IO-9), the rest through the page cache.
import { fsnotifyAccess, fsnotifyModify } from './fsnotify.ts';
import type { Errno } from '../spec/errno.ts';
import { FOPEN_BITS, FOPEN_DIRECT_IO, FOPEN_PARALLEL_DIRECT_WRITES } from '../spec/uapi.ts';
import type { Trace } from './explain.ts';
import { fuseInodeUncachedIoEnd, fuseInodeUncachedIoStart } from './iomode.ts';
import { err, ok, type Outcome } from './outcome.ts';
import { backingDirectIoMisaligned, fuseFileAccessed, fusePassthroughEndWrite, fusePassthroughRead, fusePassthroughWrite } from './passthrough.ts';
import type { KernelState } from './state.ts';
import type { FuseFile, FuseInode, FuseOpenFile } from './types.ts';
import { fuseUpdateAttributes, fuseWriteUpdateAttr } from './dir.ts';
import { FUSE_MAX_PAGES, PAGE_SIZE, clearPagesUptodate, fuseSendRead, fuseSendWrite, fuseWriteBegin, invalidateRange, pageCacheRead, pageCacheStore, summarize, writeRange } from './pagecache.ts';
import { filemapRead } from './readahead.ts';

// ---- read / write / splice ------------------------------------------------------------------

export const isDio = (ff: FuseFile): boolean => (ff.openFlags & FOPEN_DIRECT_IO) !== 0;
export const isPt = (ff: FuseFile): boolean => ff.passthrough !== null;

/** fuse_file_read_iter: DIRECT_IO overrides PT (IO-3), then PT (IO-1), else cached. */
/**
 * fuse_finish_open: FOPEN_STREAM (stream_open) or FOPEN_NONSEEKABLE (nonseekable_open) clear
 * FMODE_PREAD, FMODE_PWRITE and FMODE_LSEEK, so pread, pwrite and lseek fail with ESPIPE before
 * any other check (ksys_pread64, ksys_pwrite64, vfs_llseek). Found by fusepass fuzz on 6.18.
 */
export function unseekable(ff: FuseFile): boolean {
  return (ff.openFlags & ((1 << FOPEN_BITS.STREAM) | (1 << FOPEN_BITS.NONSEEKABLE))) !== 0;
}

export function fuseRead(k: KernelState, file: FuseOpenFile, len: number, offset: number | undefined, t: Trace, splice = false): Outcome {
  const data = fuseReadData(k, file, len, offset, t, splice);
  if (typeof data === 'string') return err(data);
  if (data.length > 0) fsnotifyAccess(k, file.ff.inode); // vfs_read, do_splice: only when it read
  return { errno: null, value: summarize(data) };
}

/**
 * write(2), pwrite(2) or a splice into the file, as a syscall: fuseWrite, then IN_MODIFY on the
 * FUSE file when it wrote (vfs_write, do_splice). sendfile and the emulations call fuseWrite
 * and report once themselves.
 */
export function fuseWriteSyscall(k: KernelState, file: FuseOpenFile, data: Uint8Array, offset: number | undefined, t: Trace, splice = false): Outcome {
  const r = fuseWrite(k, file, data, offset, t, splice);
  if (r.errno === null && typeof r.value === 'number' && r.value > 0) fsnotifyModify(k, file.ff.inode);
  return r;
}

/** PIPE_DEF_BUFFERS: the buffers of a new pipe, the harness's and do_splice_direct's alike. */
const PIPE_BUFFERS = 16;

/**
 * read(2), pread(2) or a splice from the file: the bytes read (fuseRead summarises them).
 * `pipe`: the splice fills one empty pipe (the splice syscall, a round of do_splice_direct), so
 * it asks at most the pipe's 16 pages (filemap_splice_read, copy_splice_read trim the length
 * first), and from the page cache takes one buffer per folio: a read from within a page ends at
 * the 16th page boundary (6.18: 65536 bytes at offset 5000 gave 64632). Through passthrough the
 * backing filesystem's folios decide, which may be larger: the model keeps the page count only.
 */
export function fuseReadData(k: KernelState, file: FuseOpenFile, len: number, offset: number | undefined, t: Trace, splice = false, pipe = splice): Uint8Array | Errno {
  const ff = file.ff;
  if (offset !== undefined && !splice && unseekable(ff)) return t.vfs('ESPIPE', 'ksys_pread64', 'the daemon opened the file FOPEN_STREAM or FOPEN_NONSEEKABLE: no pread');
  if (ff.isDir) return t.vfs('EISDIR', 'vfs_read', 'read(2) of a directory');
  if (file.mode === 'w') return t.vfs('EBADF', 'vfs_read', 'the fd was opened write-only');
  // do_splice, file to pipe: an offset needs FMODE_PREAD, which stream_open/nonseekable_open
  // cleared; splice says EINVAL, not ESPIPE (found by fuzz --target both on 6.18).
  if (splice && offset !== undefined && unseekable(ff)) return t.vfs('EINVAL', 'do_splice', 'the daemon opened the file FOPEN_STREAM or FOPEN_NONSEEKABLE: splice(2) with an offset needs FMODE_PREAD');
  // FOPEN_STREAM (stream_open): no file position, every read(2) and write(2) is at offset 0.
  const stream = (ff.openFlags & (1 << FOPEN_BITS.STREAM)) !== 0;
  const pos = offset ?? (stream ? 0 : file.pos);
  if (pipe) len = Math.min(len, PIPE_BUFFERS * PAGE_SIZE);
  let data: Uint8Array | Errno;
  /** The bytes came through filemap_read or filemap_splice_read (readahead state to update). */
  let viaPageCache = false;
  if (splice && file.flags.has('O_DIRECT')) {
    // do_splice_read: an O_DIRECT file is read with copy_splice_read, i.e. through ->read_iter
    // like read(2) (found by fuzz --target both: the size check sends GETATTR).
    t.fn('copy_splice_read');
    splice = false;
  }
  if (splice) {
    t.fn('fuse_splice_read');
    if (isPt(ff) && !isDio(ff)) {
      t.pass('IO-7');
      data = fusePassthroughRead(k, file, pos, len, t, true);
    } else {
      if (isPt(ff)) t.pass('IO-8');
      // filemap_splice_read: filemap_get_pages reads ahead as filemap_read does (fuzz --target
      // both seed 30437040: a 1-byte splice at 0 read the whole 2-page file on 6.18).
      const got = filemapRead(k, ff.inode, file, pos, len, t);
      data = typeof got === 'string' ? got : pageCacheRead(k, ff.inode, pos, got - pos, t);
      viaPageCache = true;
    }
  } else if (isDio(ff)) {
    t.fn('fuse_direct_read_iter');
    if (isPt(ff)) t.pass('IO-3');
    // fuse_direct_io of a FOPEN_DIRECT_IO file: the range's dirty pages are written first
    // (6.18 does so with or without DIRECT_IO_ALLOW_MMAP: a dirty page mapped through another fd
    // went to the daemon as WRITE before the READ).
    const we = writeRange(k, ff.inode, pos, len, t);
    if (we !== null) return we;
    const r = fuseSendRead(k, ff, pos, len, t);
    ff.inode.atimeInvalid = true; // __fuse_direct_read invalidates atime whatever the result
    if (typeof r === 'string') return r;
    data = r;
  } else if (isPt(ff)) {
    if (backingDirectIoMisaligned(k, file, pos, len, true)) {
      // backing_file_read_iter calls ctx->accessed whatever the read returned (fuzz --target
      // both seed 1975035796: after the EINVAL, fstat sent GETATTR on 6.18, IO-26).
      fuseFileAccessed(ff.inode, t);
      return t.vfs('EINVAL', 'ext4_dio_read_iter', 'O_DIRECT I/O on the backing disk file must be block-aligned');
    }
    data = fusePassthroughRead(k, file, pos, len, t);
  } else {
    t.fn('fuse_cache_read_iter');
    if (pos + len > ff.inode.iSize) {
      const e = fuseUpdateAttributes(k, ff.inode, t, 'size');
      if (e !== null) return e;
    }
    if (file.flags.has('O_DIRECT')) {
      // generic_file_read_iter with IOCB_DIRECT -> fuse_direct_IO: a READ every time, the page
      // cache bypassed, but nothing at or past i_size (found by fuzz --target both on 6.18).
      // kiocb_write_and_wait first: dirty pages of the range go to the daemon.
      const we = writeRange(k, ff.inode, pos, len, t);
      if (we !== null) return we;
      const r = cachedFileDirectRead(k, file, pos, len, t);
      if (typeof r === 'string') return r;
      data = r;
    } else {
      const got = filemapRead(k, ff.inode, file, pos, len, t);
      data = typeof got === 'string' ? got : pageCacheRead(k, ff.inode, pos, got - pos, t);
      viaPageCache = true;
    }
  }
  if (typeof data === 'string') return data;
  if (pipe && viaPageCache) data = data.subarray(0, (Math.floor(pos / PAGE_SIZE) + PIPE_BUFFERS) * PAGE_SIZE - pos);
  // filemap_read and filemap_splice_read: f_ra.prev_pos is where the bytes read ended; a read
  // that returns nothing leaves it (a zero count, or a position at or past EOF).
  if (viaPageCache && data.length > 0) file.raPrevPos = pos + data.length;
  if (offset === undefined && !stream) file.pos = pos + data.length;
  return data;
}

/**
 * generic_file_read_iter with IOCB_DIRECT on a cached file: fuse_direct_IO sends READ (nothing
 * at or past i_size); a short read that stops below i_size falls through to filemap_read for
 * the rest, whose READ of the page cache then finds the EOF and shrinks i_size
 * (fuse_short_read). 6.18: a 1-byte O_DIRECT read of a file the daemon called 100 bytes long
 * but served empty sent READ twice, and the next read none.
 */
export function cachedFileDirectRead(k: KernelState, file: FuseOpenFile, pos: number, len: number, t: Trace): Uint8Array | Errno {
  const ff = file.ff;
  t.fn('fuse_direct_IO');
  if (pos >= ff.inode.iSize) return new Uint8Array(0);
  const r = fuseSendRead(k, ff, pos, len, t);
  ff.inode.atimeInvalid = true;
  if (typeof r === 'string') return r;
  const end = pos + r.length;
  if (r.length >= len || end >= ff.inode.iSize) return r;
  t.fn('filemap_read');
  const got = filemapRead(k, ff.inode, file, end, len - r.length, t);
  const rest = typeof got === 'string' ? got : pageCacheRead(k, ff.inode, end, got - end, t);
  if (typeof rest === 'string') return r.length > 0 ? r : rest;
  const out = new Uint8Array(r.length + rest.length);
  out.set(r);
  out.set(rest, r.length);
  return out;
}

/**
 * fuse_perform_write: the write-through of a cached file, one WRITE per fuse_fill_write_pages
 * batch. Without FUSE_BIG_WRITES a batch is one page; with it a batch runs on while pages are
 * filled whole, up to max_write, and ends after a page it filled in part unless that page was
 * uptodate (6.18: a 4097-byte write at 0 without BIG_WRITES sent two WRITEs). Returns the bytes
 * written, or the errno of a WRITE that failed before any was.
 */
function fusePerformWrite(k: KernelState, fi: FuseInode, fh: number, pos: number, data: Uint8Array, t: Trace): number | Errno {
  const big = k.conn!.bigWrites === true;
  let done = 0;
  while (done < data.length) {
    // fuse_fill_write_pages: how much this batch takes.
    let count = 0;
    for (;;) {
      const at = pos + done + count;
      const inPage = at % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, data.length - done - count, MAX_WRITE - count);
      count += n;
      const whole = n === PAGE_SIZE;
      const uptodate = whole || fi.pages.has(Math.floor(at / PAGE_SIZE));
      if (!uptodate || !big) break;
      if (done + count >= data.length || count >= MAX_WRITE || (at + n) % PAGE_SIZE !== 0) break;
    }
    const chunk = data.subarray(done, done + count);
    const at = pos + done;
    const w = fuseSendWrite(k, fi, fh, at, chunk, t);
    if (typeof w === 'string') {
      // fuse_perform_write ends with fuse_write_update_attr even when WRITE failed (found by
      // fuzz --target both: the next fstat asks the daemon).
      clearPagesUptodate(fi, at, chunk.length);
      fuseWriteUpdateAttr(fi, at, 0);
      return done > 0 ? done : w;
    }
    pageCacheStore(fi, at, chunk.subarray(0, w), false);
    done += w;
    fuseWriteUpdateAttr(fi, pos + done, w);
    if (w !== count) return done; // a short WRITE ends the loop (-EIO, hidden by the bytes written)
  }
  return done;
}

/** One WRITE's most: fc->max_pages pages, which is also the scripted daemon's max_write. */
const MAX_WRITE = FUSE_MAX_PAGES * PAGE_SIZE;

/**
 * file_remove_privs before a PT or cached write (IO-5): security_inode_need_killpriv reads
 * security.capability, a GETXATTR to the daemon. FUSE clears SB_NOSEC unless the daemon
 * negotiated HANDLE_KILLPRIV_V2, so without it every write asks again; with it the inode turns
 * S_NOSEC after the first check finds nothing.
 */
export function fileRemovePrivs(k: KernelState, fi: FuseInode, t: Trace): void {
  t.fn('file_remove_privs');
  if (fi.nosec) return;
  const fc = k.conn!;
  if (!fc.noGetxattr) {
    // security_inode_need_killpriv -> cap_inode_need_killpriv: __vfs_getxattr of
    // security.capability with size 0; any answer but a value means "nothing to kill".
    const r = k.send(t, { op: 'GETXATTR', nodeid: fi.nodeid, name: 'security.capability', size: 0 });
    if (typeof r !== 'string') {
      t.pass('IO-5');
      if (r.error === 'ENOSYS') fc.noGetxattr = true;
    }
  } else {
    t.pass('IO-5'); // fuse_getxattr answers EOPNOTSUPP without a request: nothing to kill
  }
  if (fc.handleKillprivV2) fi.nosec = true;
}

/**
 * generic_file_direct_write on a cached (not FOPEN_DIRECT_IO) file opened O_DIRECT:
 * kiocb_invalidate_pages writes the range's dirty pages and drops the range, fuse_direct_IO
 * sends WRITE, kiocb_invalidate_post_direct_write drops the range again; fuse_direct_IO ends with
 * fuse_write_update_attr whatever the result.
 */
function genericFileDirectWrite(k: KernelState, fi: FuseInode, fh: number, pos: number, data: Uint8Array, t: Trace): Errno | number {
  const fe = writeRange(k, fi, pos, data.length, t);
  if (fe !== null) return fe;
  invalidateRange(k, fi, pos, data.length, t);
  t.fn('fuse_direct_IO');
  const w = fuseSendWrite(k, fi, fh, pos, data, t);
  const we = typeof w === 'string' ? w : null;
  let written = 0;
  if (typeof w === 'number') {
    written = w;
    invalidateRange(k, fi, pos, data.length, t);
  }
  fuseWriteUpdateAttr(fi, pos + written, written);
  return we ?? written;
}

/** fuse_file_write_iter: DIRECT_IO overrides PT (IO-3), then PT (IO-4), else cached. */
export function fuseWrite(k: KernelState, file: FuseOpenFile, data: Uint8Array, offset: number | undefined, t: Trace, splice = false): Outcome {
  const ff = file.ff;
  const fi = ff.inode;
  if (offset !== undefined && !splice && unseekable(ff)) return err(t.vfs('ESPIPE', 'ksys_pwrite64', 'the daemon opened the file FOPEN_STREAM or FOPEN_NONSEEKABLE: no pwrite'));
  if (ff.isDir) return err(t.vfs('EISDIR', 'vfs_write', 'write(2) of a directory'));
  if (file.mode === 'r') return err(t.vfs('EBADF', 'vfs_write', 'the fd was opened read-only'));
  // do_splice, pipe to file: an offset needs FMODE_PWRITE (EINVAL), checked before O_APPEND.
  if (splice && offset !== undefined && unseekable(ff)) return err(t.vfs('EINVAL', 'do_splice', 'the daemon opened the file FOPEN_STREAM or FOPEN_NONSEEKABLE: splice(2) with an offset needs FMODE_PWRITE'));
  const append = file.flags.has('O_APPEND');
  if (splice && append) return err(t.vfs('EINVAL', 'do_splice', 'splice(2) cannot write to an O_APPEND file'));
  const stream = (ff.openFlags & (1 << FOPEN_BITS.STREAM)) !== 0;
  let pos = offset ?? (stream ? 0 : file.pos);
  let written = 0;
  if (isDio(ff)) {
    t.fn('fuse_direct_write_iter');
    if (isPt(ff)) t.pass(splice ? 'IO-10' : 'IO-3');
    if (append) pos = fi.iSize;
    // IOM-18: parallel DIO write under the shared lock takes an uncached count, never an fb.
    const parallel = (ff.openFlags & FOPEN_PARALLEL_DIRECT_WRITES) !== 0 && !append && pos + data.length <= fi.iSize && !fi.cacheIoModeBit;
    const started = parallel && fuseInodeUncachedIoStart(k, fi, null, t) === null;
    if (started) t.pass('IOM-18');
    // fuse_direct_io, before the WRITE: the range's dirty pages are written (6.18, with or
    // without DIRECT_IO_ALLOW_MMAP); then invalidate_inode_pages2_range drops the range's pages
    // (6.18: a dirty writeback-cache page reached the daemon at a DIRECT_IO write).
    const we = writeRange(k, fi, pos, data.length, t);
    if (we !== null) {
      if (started) fuseInodeUncachedIoEnd(k, fi, t);
      return err(we);
    }
    invalidateRange(k, fi, pos, data.length, t);
    const w = fuseSendWrite(k, fi, ff.fh, pos, data, t);
    const e = typeof w === 'string' ? w : null;
    if (typeof w === 'number') written = w;
    // fuse_direct_write_iter calls fuse_write_update_attr whatever the result: attrs go stale.
    fuseWriteUpdateAttr(fi, pos + written, written);
    if (started) fuseInodeUncachedIoEnd(k, fi, t);
    if (e !== null) return err(e);
    if (offset === undefined && !stream) file.pos = pos + written;
  } else if (isPt(ff)) {
    // fuse_passthrough_write_iter returns 0 for an empty write before backing_file_write_iter's
    // file_remove_privs (6.18: no GETXATTR); an empty splice never reaches the file.
    if (data.length === 0) return ok(0);
    if (splice) t.pass('IO-9');
    fileRemovePrivs(k, fi, t);
    if (backingDirectIoMisaligned(k, file, pos, data.length)) {
      // The backing write fails, and end_write still runs (fuzz --target both seed 869197813:
      // a misaligned O_DIRECT PT write, then SEEK_HOLE asked GETATTR on 6.18).
      fusePassthroughEndWrite(k, fi, pos, 0, t);
      return err(t.vfs('EINVAL', 'ext4_dio_write_iter', 'O_DIRECT I/O on the backing disk file must be block-aligned'));
    }
    const r = fusePassthroughWrite(k, file, pos, data, t, splice);
    written = r.written;
    if (offset === undefined && !stream) file.pos = r.end;
  } else {
    t.fn('fuse_cache_write_iter');
    const fc = k.conn!;
    if (fc.writebackCache) {
      // STATX_SIZE | STATX_MODE (the EOF optimisation, SUID clearing): the model's invalidations
      // are FUSE_STATX_MODSIZE, which holds no MODE, so this asks as a size-only request does.
      const e = fuseUpdateAttributes(k, fi, t, 'size');
      if (e !== null) return err(e);
      if (append) pos = fi.iSize;
      // generic_file_write_iter: file_remove_privs, then file_update_time (times kept locally).
      fileRemovePrivs(k, fi, t);
      fi.timesDirty = true;
      if (file.flags.has('O_DIRECT')) {
        const r = genericFileDirectWrite(k, fi, ff.fh, pos, data, t);
        if (typeof r === 'string') return err(r);
        written = r;
      } else {
        const re = fuseWriteBegin(k, fi, pos, data.length, t);
        if (re !== null) return err(re);
        pageCacheStore(fi, pos, data, true);
        if (pos + data.length > fi.iSize) fi.iSize = pos + data.length;
        written = data.length;
      }
    } else if (file.flags.has('O_DIRECT')) {
      if (append) pos = fi.iSize;
      fileRemovePrivs(k, fi, t);
      // Without the writeback cache too, an O_DIRECT write leaves no page of its range cached
      // (6.18: the next read through another fd sent READ).
      const r = genericFileDirectWrite(k, fi, ff.fh, pos, data, t);
      if (typeof r === 'string') return err(r);
      written = r;
    } else {
      if (append) pos = fi.iSize;
      fileRemovePrivs(k, fi, t);
      const r = fusePerformWrite(k, fi, ff.fh, pos, data, t);
      if (typeof r === 'string') return err(r);
      written = r;
    }
    if (offset === undefined && !stream) file.pos = pos + written;
  }
  return ok(written);
}
