// The FUSE page cache of non-PT files: reads by page (READ), writeback of dirty pages (WRITE)
// and, with the writeback cache, of locally kept times (SETATTR).
import type { Errno } from '../spec/errno.ts';
import { summarizeBytes } from '../spec/observation.ts';
import type { Trace } from './explain.ts';
import type { KernelState } from './state.ts';
import type { FuseInode, FuseOpenFile } from './types.ts';
import { replyErrno } from './daemon-port.ts';

export const PAGE_SIZE = 4096;

// ---- READ and WRITE requests ----------------------------------------------------------------

/** fuse_send_read: READ of [pos, pos + len) on handle `ff.fh`: the daemon's bytes (at most len). */
export function fuseSendRead(k: KernelState, ff: { inode: FuseInode; fh: number }, pos: number, len: number, t: Trace): Uint8Array | Errno {
  const r = k.send(t, { op: 'READ', nodeid: ff.inode.nodeid, fh: ff.fh, offset: pos, size: len });
  if (typeof r === 'string') return r;
  if (r.error !== null) return r.error;
  const data = r.data ?? new Uint8Array(0);
  return data.length > len ? data.subarray(0, len) : data;
}

/** fuse_send_write: WRITE of `data` at `pos`: the size the daemon says it wrote. */
export function fuseSendWrite(k: KernelState, fi: FuseInode, fh: number, pos: number, data: Uint8Array, t: Trace): number | Errno {
  const r = k.send(t, { op: 'WRITE', nodeid: fi.nodeid, fh, offset: pos, data });
  if (typeof r === 'string') return r;
  if (r.error !== null) return r.error;
  // fuse_perform_write / fuse_send_write: a reply claiming more than was sent is EIO.
  const n = r.written ?? data.length;
  return n > data.length ? 'EIO' : n;
}

/**
 * The handle a page-cache request goes out on. Writeback: fuse_write_file_get takes a file open
 * for writing (fi->write_files); a read: the file being read. The model takes the first open the
 * client holds on the inode that fits.
 */
export function pageCacheFh(k: KernelState, fi: FuseInode, forWrite: boolean): number {
  for (const f of k.clientFiles.values()) if (f.ff.inode === fi && !f.ff.released && (!forWrite || f.mode !== 'r')) return f.ff.fh;
  for (const f of k.clientFiles.values()) if (f.ff.inode === fi && !f.ff.released) return f.ff.fh;
  return 0;
}

// ---- the page cache of non-PT files ---------------------------------------------------------

/**
 * FUSE_DEFAULT_MAX_PAGES_PER_REQ: a READ or WRITE carries at most this many pages (fc->max_pages;
 * the scripted daemon does not negotiate FUSE_MAX_PAGES, and its max_write is as many bytes).
 */
export const FUSE_MAX_PAGES = 32;

/** In the page cache: uptodate, or a folio left not uptodate by a partial write-through. */
export function pagePresent(fi: FuseInode, p: number): boolean {
  return fi.pages.has(p) || fi.notUptodate?.has(p) === true;
}

/**
 * Read through the page cache, bounded by i_size: each run of pages not cached goes to the
 * daemon as one READ (fuse_readahead / fuse_send_readpages batch contiguous pages, up to
 * max_pages per request).
 */
export function pageCacheRead(k: KernelState, fi: FuseInode, pos: number, len: number, t: Trace, readahead = false): Uint8Array | Errno {
  const end = Math.min(pos + len, fi.iSize);
  if (end <= pos) return new Uint8Array(0);
  const first = Math.floor(pos / PAGE_SIZE);
  const last = Math.floor((end - 1) / PAGE_SIZE);
  let stop = end;
  const fh = pageCacheFh(k, fi, false);
  for (let p = first; p <= last; p++) {
    if (fi.pages.has(p)) continue;
    // A page present but not uptodate: readahead leaves it, a read reads it alone.
    const stale = fi.notUptodate?.has(p) === true;
    if (stale && readahead) continue;
    let n = 1;
    while (!stale && p + n <= last && n < FUSE_MAX_PAGES && !pagePresent(fi, p + n)) n++;
    const got = fuseSendRead(k, { inode: fi, fh }, p * PAGE_SIZE, n * PAGE_SIZE, t);
    // fuse_readpages_end runs for a failed READ too, invalidating atime.
    fi.atimeInvalid = true;
    if (typeof got === 'string') return got;
    for (let i = 0; i < n; i++) {
      const page = new Uint8Array(PAGE_SIZE);
      page.set(got.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
      fi.pages.set(p + i, page);
      fi.notUptodate?.delete(p + i);
    }
    // fuse_readpages_end: a short reply means EOF: fuse_short_read shrinks i_size (not with
    // the writeback cache).
    const eof = p * PAGE_SIZE + got.length;
    if (got.length < n * PAGE_SIZE && eof < fi.iSize && !k.conn!.writebackCache) {
      fi.iSize = eof;
      stop = Math.min(stop, eof);
    }
    p += n - 1;
  }
  const end2 = Math.max(pos, stop);
  if (readahead) return new Uint8Array(0); // the window is in the cache; the caller reads from it
  const out = new Uint8Array(end2 - pos);
  for (let off = pos; off < end2; ) {
    const p = Math.floor(off / PAGE_SIZE);
    const inPage = off - p * PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - inPage, end2 - off);
    out.set(fi.pages.get(p)!.subarray(inPage, inPage + n), off - pos);
    off += n;
  }
  return out;
}


/**
 * fuse_write_begin (writeback cache): a partial write to a page not in the cache reads it first
 * (READ), unless the page starts at or past EOF.
 */
export function fuseWriteBegin(k: KernelState, fi: FuseInode, pos: number, len: number, t: Trace): Errno | null {
  const end = pos + len;
  for (let p = Math.floor(pos / PAGE_SIZE); p * PAGE_SIZE < end; p++) {
    const start = p * PAGE_SIZE;
    const whole = pos <= start && end >= start + PAGE_SIZE;
    if (fi.pages.has(p) || whole || fi.iSize <= start) continue;
    const got = fuseSendRead(k, { inode: fi, fh: pageCacheFh(k, fi, true) }, start, PAGE_SIZE, t);
    if (typeof got === 'string') return got;
    const page = new Uint8Array(PAGE_SIZE);
    page.set(got);
    fi.pages.set(p, page);
  }
  return null;
}

/**
 * Store written bytes in the page cache: dirty (the writeback cache) or written through. A write
 * through fills the pages it grabbed (fuse_fill_write_pages): a page it covers whole becomes
 * uptodate, a page it covers in part stays in the cache not uptodate unless it was uptodate.
 */
export function pageCacheStore(fi: FuseInode, pos: number, data: Uint8Array, dirty: boolean): void {
  for (let off = 0; off < data.length; ) {
    const at = pos + off;
    const p = Math.floor(at / PAGE_SIZE);
    const inPage = at - p * PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - inPage, data.length - off);
    let page = fi.pages.get(p);
    if (page === undefined) {
      if (!dirty && n < PAGE_SIZE) {
        (fi.notUptodate ??= new Set()).add(p);
        off += n;
        continue;
      }
      page = new Uint8Array(PAGE_SIZE);
      fi.pages.set(p, page);
      fi.notUptodate?.delete(p);
    }
    page.set(data.subarray(off, off + n), inPage);
    if (dirty) fi.dirty.add(p);
    off += n;
  }
}

/**
 * write_inode_now(inode, 1) (fuse_vma_close, fsync, flush, release) = writeback_single_inode:
 * a clean inode is skipped; else dirty pages as WRITE, then filemap_fdatawait, whose
 * filemap_check_errors reports (and clears) an earlier AS_EIO as EIO, then with the writeback
 * cache fuse_write_inode flushes the locally updated times as SETATTR. The first error wins
 * (6.18: abort, fallocate, write, close gave EIO although the times' SETATTR failed too).
 */
export function writeDirtyPages(k: KernelState, fi: FuseInode, t: Trace): Errno | null {
  if (fi.dirty.size === 0 && !fi.timesDirty) return null;
  let ret = writePages(k, fi, t);
  ret ??= filemapCheckErrors(fi, t);
  if (fi.timesDirty) {
    fi.timesDirty = false;
    t.fn('fuse_flush_times');
    const e = replyErrno(k.send(t, { op: 'SETATTR', nodeid: fi.nodeid }));
    ret ??= e;
  }
  return ret;
}

/** filemap_check_errors: AS_EIO reported once as EIO, then cleared. */
export function filemapCheckErrors(fi: FuseInode, t: Trace): Errno | null {
  if (fi.asEio !== true) return null;
  fi.asEio = false;
  return t.vfs('EIO', 'filemap_check_errors', 'an earlier writeback of this file failed (AS_EIO on the mapping)');
}

/** mapping_set_error: AS_EIO for the next filemap_check_errors, and the errseq for fsync. */
export function mappingSetError(fi: FuseInode, e: Errno): void {
  fi.asEio = true; // AS_ENOSPC for ENOSPC; both read back as the same one-shot error here
  fi.wbErr = { errno: e, seq: (fi.wbErr?.seq ?? 0) + 1, seen: false };
}

/**
 * fuse_flush_time_update: sync_inode_metadata writes the dirty times (SETATTR); its error is left
 * on the mapping, for the next fsync or close.
 */
export function fuseFlushTimeUpdate(k: KernelState, fi: FuseInode, t: Trace): void {
  t.fn('fuse_flush_time_update');
  // sync_inode_metadata writes the inode: its dirty times go with this SETATTR (fuzz --target
  // both seed 2045478810: after an unlink's ctime update, a close sent no second SETATTR).
  fi.timesDirty = false;
  const e = replyErrno(k.send(t, { op: 'SETATTR', nodeid: fi.nodeid }));
  if (e !== null) mappingSetError(fi, e);
}

/** filemap_sample_wb_err at open: an error nobody has seen yet is still reported to this file. */
export function filemapSampleWbErr(fi: FuseInode): number {
  return fi.wbErr?.seen === true ? fi.wbErr.seq : 0;
}

/**
 * file_check_and_advance_wb_err (fsync): the mapping's error if it changed since this file
 * last looked; AS_EIO is cleared whatever the answer (6.18: abort, fallocate, fsync, close gave
 * fsync ENOTCONN and the close the FLUSH's ENOTCONN, not EIO).
 */
export function fileCheckAndAdvanceWbErr(file: FuseOpenFile, t: Trace): Errno | null {
  const fi = file.ff.inode;
  let e: Errno | null = null;
  if (fi.wbErr !== undefined && fi.wbErr.seq !== (file.wbErrSeen ?? 0)) {
    e = t.vfs(fi.wbErr.errno, 'file_check_and_advance_wb_err', 'an earlier write-back of this file failed (a WRITE or the SETATTR of its times); each open file is told once');
    fi.wbErr.seen = true;
    file.wbErrSeen = fi.wbErr.seq;
  }
  fi.asEio = false;
  return e;
}

export function writePages(k: KernelState, fi: FuseInode, t: Trace): Errno | null {
  if (fi.dirty.size === 0) return null;
  // fuse_send_writepage: a WRITE the connection cannot queue (aborted, failed INIT) is freed
  // without an error on the mapping: the page is clean and its data lost (6.18: after an
  // abort, write then fallocate then close gave the fallocate's EIO, not the WRITE's ENOTCONN).
  fuseWritepages(k, fi, [...fi.dirty], t);
  return null;
}

/**
 * fuse_writepages: dirty pages go as one WRITE per run of consecutive pages, at most max_pages
 * (32) long (fuse_writepage_need_send; 6.18: two dirty pages 0 and 1 went as one WRITE at
 * close, fuzz --target both seed 530530946). The pages are clean afterwards, sent or not.
 */
function fuseWritepages(k: KernelState, fi: FuseInode, pages: number[], t: Trace): void {
  const fh = pageCacheFh(k, fi, true);
  const sorted = pages.sort((x, y) => x - y);
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && sorted[j] === sorted[j - 1]! + 1 && j - i < FUSE_MAX_PAGES) j++;
    const first = sorted[i]!;
    const start = first * PAGE_SIZE;
    const n = Math.max(0, Math.min((j - i) * PAGE_SIZE, fi.iSize - start));
    const data = new Uint8Array(n);
    for (let q = i; q < j; q++) {
      const off = (sorted[q]! - first) * PAGE_SIZE;
      if (off < n) data.set(fi.pages.get(sorted[q]!)!.subarray(0, Math.min(PAGE_SIZE, n - off)), off);
      fi.dirty.delete(sorted[q]!);
    }
    fuseWritebackWrite(k, fi, fh, start, data, t);
    i = j;
  }
}

/** The page indices of [pos, pos + len). */
function pageRange(pos: number, len: number): { from: number; to: number } {
  return { from: Math.floor(pos / PAGE_SIZE), to: Math.floor((pos + Math.max(len, 1) - 1) / PAGE_SIZE) };
}

/**
 * A writeback WRITE of dirty pages, then fuse_writepage_end: without the writeback cache the
 * daemon's mtime and ctime may have moved, so FUSE_STATX_MODIFY is invalidated and the next stat
 * asks (6.18: an inner FUSE file's fstat after its dirty page was laundered sent GETATTR).
 */
function fuseWritebackWrite(k: KernelState, fi: FuseInode, fh: number, pos: number, data: Uint8Array, t: Trace): number | Errno {
  const w = fuseSendWrite(k, fi, fh, pos, data, t);
  if (typeof w === 'number' && k.conn?.writebackCache !== true) fi.ctimeInvalid = true;
  return w;
}

/** Write dirty page `p` to the daemon: one WRITE (fuse_writepages / fuse_launder_folio). */
function writeOnePage(k: KernelState, fi: FuseInode, p: number, t: Trace): Errno | null {
  const start = p * PAGE_SIZE;
  const n = Math.max(0, Math.min(PAGE_SIZE, fi.iSize - start));
  const w = fuseWritebackWrite(k, fi, pageCacheFh(k, fi, true), start, fi.pages.get(p)!.subarray(0, n), t);
  fi.dirty.delete(p);
  return typeof w === 'string' ? w : null;
}

/**
 * filemap_write_and_wait_range: the dirty pages of [pos, pos + len) go to the daemon as WRITE
 * before a direct read or write of that range (kiocb_write_and_wait, kiocb_invalidate_pages,
 * fuse_direct_io of a FOPEN_DIRECT_IO file).
 */
export function writeRange(k: KernelState, fi: FuseInode, pos: number, len: number, t: Trace): Errno | null {
  if (fi.dirty.size === 0) return null;
  const { from, to } = pageRange(pos, len);
  const pages = [...fi.dirty].filter((p) => p >= from && p <= to);
  if (pages.length === 0) return null;
  t.fn('filemap_write_and_wait_range');
  // do_writepages -> fuse_writepages; a WRITE that cannot be queued is dropped silently.
  fuseWritepages(k, fi, pages, t);
  return null;
}

/**
 * invalidate_inode_pages2_range: each dirty page of the range is laundered first
 * (fuse_launder_folio: one WRITE, waited for), then the range is dropped. A failed WRITE still
 * drops its page: the error goes to the mapping, not to the caller.
 */
export function invalidateRange(k: KernelState, fi: FuseInode, pos: number, len: number, t: Trace): void {
  if (fi.pages.size === 0 && (fi.notUptodate?.size ?? 0) === 0) return; // the common case: nothing cached
  const { from, to } = pageRange(pos, len);
  for (const p of [...(fi.notUptodate ?? [])]) if (p >= from && p <= to) fi.notUptodate!.delete(p);
  for (const p of [...fi.dirty].sort((x, y) => x - y)) {
    if (p < from || p > to) continue;
    t.fn('fuse_launder_folio');
    writeOnePage(k, fi, p, t);
  }
  for (const p of [...fi.pages.keys()]) if (p >= from && p <= to) fi.pages.delete(p);
}

/**
 * ClearPageUptodate on the pages a failed WRITE carried (fuse_send_write_pages): they are no
 * longer served from the cache, so the next read of them asks the daemon (6.18: read, abort,
 * write, read gave ENOTCONN, not the cached byte; fuzz --target both seed 1498200536).
 */
export function clearPagesUptodate(fi: FuseInode, pos: number, len: number): void {
  if (len === 0) return;
  const { from, to } = pageRange(pos, len);
  for (let p = from; p <= to; p++) {
    if (fi.dirty.has(p)) continue;
    fi.pages.delete(p);
    (fi.notUptodate ??= new Set()).add(p);
  }
}

/**
 * invalidate_inode_pages2 (fuse_open without FOPEN_KEEP_CACHE): the whole cache, dirty pages
 * laundered first. Found by fuzz --target both, seed 23: after a writeback-cache write, the next
 * open sent [OPEN, WRITE].
 */
export function invalidateInodePages2(k: KernelState, fi: FuseInode, t: Trace): void {
  invalidateRange(k, fi, 0, Number.MAX_SAFE_INTEGER, t);
}

/** Bytes as observations summarise them (spec/observation.ts summarizeBytes). */
export function summarize(data: Uint8Array): string {
  return summarizeBytes(data);
}
