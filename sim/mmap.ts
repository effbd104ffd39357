// fs/fuse/file.c fuse_file_mmap (IOM-11..17, IO-11, IO-12) and loads, stores and munmap of the
// mappings it makes (LIFE-5, LIFE-16..18, IOM-24).
import { InnerFuse } from './inner-fuse.ts';
import type { Errno } from '../spec/errno.ts';
import { SIGBUS_LOAD, SIGBUS_STORE } from '../spec/observation.ts';
import type { Trace } from './explain.ts';
import { fuseFileCachedIoOpen } from './iomode.ts';
import { fuseSuperPutIfIdle } from './mount.ts';
import { err, ok, type Outcome } from './outcome.ts';
import { fusePassthroughMmap, ptContext } from './passthrough.ts';
import type { KernelState } from './state.ts';
import type { FuseOpenFile, Mapping } from './types.ts';
import { fusePutFile } from './file.ts';
import { PAGE_SIZE, invalidateInodePages2, pageCacheRead, pageCacheStore, mappingSetError, summarize, writeDirtyPages } from './pagecache.ts';
import { filemapFault } from './readahead.ts';
import { isDio, isPt } from './rw.ts';

// ---- mmap -----------------------------------------------------------------------------------

export interface MmapArgs {
  shared: boolean;
  write: boolean;
  length: number;
}

/** fuse_file_mmap. */
export function fuseFileMmap(k: KernelState, file: FuseOpenFile, a: MmapArgs, t: Trace): Outcome & { map?: Mapping } {
  t.fn('fuse_file_mmap');
  const ff = file.ff;
  const fi = ff.inode;
  if (ff.isDir) return err(t.vfs('ENODEV', 'do_mmap', 'directories cannot be mapped'));
  if (file.mode === 'w' || (a.shared && a.write && file.mode === 'r')) return err(t.vfs('EACCES', 'do_mmap', 'the mapping needs an fd opened for reading (and writing for a shared writable map)'));
  if (isPt(ff)) {
    const r = fusePassthroughMmap(k, file, t);
    if (typeof r === 'string') return err(r);
    const pf = r.file;
    fi.users++;
    fi.ptMaps++;
    const fb = ff.openedWith;
    if (fb !== null) fb.mapped++;
    const map: Mapping = { shared: a.shared, writable: a.write, length: a.length, backing: pf, holdsBacking: r.held, fuseFile: file, inode: fi, fb };
    // vfs_mmap of a backing file on an inner FUSE mount: its own fuse_file_mmap.
    innerOf(map)?.mmap(pf, map, a);
    return { errno: null, map };
  }
  if (fi.fb !== null) return err(t.fail('ENODEV', 'IOM-11', 'this inode is in passthrough mode: only its PT files can be mapped'));
  if (isDio(ff)) {
    if (a.shared && !k.conn!.directIoAllowMmap) return err(t.fail('ENODEV', 'IOM-12', 'MAP_SHARED of a FOPEN_DIRECT_IO file needs FUSE_DIRECT_IO_ALLOW_MMAP'));
    // fuse_file_mmap of a FOPEN_DIRECT_IO file: the whole cache is invalidated, dirty pages
    // laundered first (invalidate_inode_pages2).
    invalidateInodePages2(k, fi, t);
    if (!a.shared) {
      t.pass('IOM-13');
    } else {
      // Between the IOM-11 check and the cached-io open another task may bind an fb (IOM-15).
      k.runInterleaved('mmapBeforeCachedIo');
      const e = fuseFileCachedIoOpen(k, fi, ff, t);
      if (e === 'WAIT') return { errno: null, fault: { kind: 'timeout', message: 'mmap sleeps until the parallel DIO writes end (IOM-5)' } };
      if (e !== null) return err(t.fail(e, 'IOM-15', 'the inode entered passthrough mode during the mmap'));
      t.pass('IOM-14');
    }
  } else {
    t.pass('IOM-17');
  }
  file.count++;
  fi.users++;
  return { errno: null, map: { shared: a.shared, writable: a.write, length: a.length, backing: null, fuseFile: file, inode: fi, fb: null } };
}

/** The inner FUSE mount a PT mapping's backing file lives on (its faults go through it), if any. */
function innerOf(m: Mapping): InnerFuse | undefined {
  const fops = m.backing?.inode.mount.sb.fops;
  return fops instanceof InnerFuse ? fops : undefined;
}

/** What a PT mapping's access passes through (the backing file's pages, LIFE-17, LIFE-18). */
function ptMapAccess(k: KernelState, m: Mapping, t: Trace): void {
  t.pass('IO-11');
  ptContext(k, null, t, m.fb);
  if (m.fb?.freed === true) t.pass('LIFE-18');
  if (m.fuseFile?.ff.released === true) t.pass(m.inode.fb === null ? 'IOM-24' : 'LIFE-17');
}

/** The file's bytes under [offset, offset + n) as the mapping sees them, before MAP_PRIVATE copies. */
function fileView(k: KernelState, m: Mapping, offset: number, n: number, t: Trace): { bytes: Uint8Array; size: number } | Errno {
  if (m.backing !== null) {
    ptMapAccess(k, m, t);
    return { bytes: k.vfs.pread(m.backing, offset, n), size: k.vfs.fileSize(m.backing) };
  }
  const fe = faultIn(k, m, offset, n, t);
  if (fe !== null) return fe;
  const data = pageCacheRead(k, m.inode, offset, n, t);
  return typeof data === 'string' ? data : { bytes: data, size: m.inode.iSize };
}

/**
 * Touch [offset, offset + n) of a mapping of the cached file: each page the file has (up to the
 * page of its last byte) is faulted as filemap_fault does (sim/readahead.ts filemapFault). A
 * fault reads the whole page, even when the bytes touched lie past EOF in the file's last page
 * (6.18: a store at offset 100 of an 8-byte file sent READ).
 */
function faultIn(k: KernelState, m: Mapping, offset: number, n: number, t: Trace): Errno | null {
  const fi = m.inode;
  for (let p = Math.floor(offset / PAGE_SIZE); p * PAGE_SIZE < offset + n && p * PAGE_SIZE < fi.iSize; p++) {
    const e = filemapFault(k, fi, m.fuseFile!, p, t);
    if (e !== null) return e;
  }
  return null;
}

/** Overlay a private mapping's copied pages on `bytes` (which start at `offset`). */
function overlayCow(m: Mapping, bytes: Uint8Array, offset: number, n: number): Uint8Array {
  if (m.cow === undefined || m.cow.size === 0) return bytes;
  const out = new Uint8Array(n);
  out.set(bytes.subarray(0, Math.min(n, bytes.length)));
  for (const [p, page] of m.cow) {
    const start = Math.max(offset, p * PAGE_SIZE);
    const end = Math.min(offset + n, (p + 1) * PAGE_SIZE);
    if (start < end) out.set(page.subarray(start - p * PAGE_SIZE, end - p * PAGE_SIZE), start - offset);
  }
  return out;
}

/** Load from a mapping: PT -> backing bytes (LIFE-17); else page faults through the cache. */
export function mapRead(k: KernelState, m: Mapping, len: number, offset: number, t: Trace): Outcome {
  const inner = innerOf(m);
  if (inner !== undefined) {
    ptMapAccess(k, m, t);
    const r = inner.mapRead(m, len, offset, t);
    if (r !== null) return r;
  }
  const n = Math.max(0, Math.min(len, m.length - offset));
  const v = fileView(k, m, offset, n, t);
  // filemap_fault: a page whose read failed is VM_FAULT_SIGBUS (fuzz --target both seed
  // 54419514: a load after the daemon's /dev/fuse closed).
  if (typeof v === 'string') return { errno: null, fault: SIGBUS_LOAD };
  const bytes = overlayCow(m, v.bytes, offset, n);
  return mappedBytes(bytes, v.size, offset, n);
}

/**
 * What a load from a mapping sees: the file's bytes, zeros past EOF up to the end of its last
 * page, and SIGBUS for a page wholly past EOF.
 */
export function mappedBytes(fileBytes: Uint8Array, size: number, offset: number, n: number): Outcome {
  const lastPageEnd = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
  if (n > 0 && offset + n > lastPageEnd) return { errno: null, fault: SIGBUS_LOAD };
  const out = new Uint8Array(n);
  out.set(fileBytes.subarray(0, Math.min(n, fileBytes.length)));
  return ok(summarize(out));
}

/** Store to a mapping: PT -> backing file (LIFE-17); shared -> dirty pages; private -> COW. */
export function mapWrite(k: KernelState, m: Mapping, data: Uint8Array, offset: number, t: Trace): Outcome {
  if (!m.writable) return { errno: null, fault: { kind: 'crash', message: 'store to a read-only mapping (SIGSEGV)' } };
  const inner = innerOf(m);
  if (inner !== undefined) {
    ptMapAccess(k, m, t);
    const r = inner.mapWrite(m, data, offset, t);
    if (r !== null) return r;
  }
  const n = Math.max(0, Math.min(data.length, m.length - offset));
  // A store to a page wholly past EOF is SIGBUS, as a load is (mappedBytes).
  const size = m.backing !== null ? k.vfs.fileSize(m.backing) : m.inode.iSize;
  if (n > 0 && offset + n > Math.ceil(size / PAGE_SIZE) * PAGE_SIZE) return { errno: null, fault: SIGBUS_STORE };
  if (!m.shared) {
    // MAP_PRIVATE: the write fault copies the page (faulting it in first, READ if not cached)
    // and the store lands in the copy; the file and the page cache are untouched (6.18: the
    // store was visible through the same private mapping, and only there).
    m.cow ??= new Map();
    for (let p = Math.floor(offset / PAGE_SIZE); p * PAGE_SIZE < offset + n; p++) {
      let page = m.cow.get(p);
      if (page === undefined) {
        const v = fileView(k, m, p * PAGE_SIZE, PAGE_SIZE, t);
        if (typeof v === 'string') return { errno: null, fault: SIGBUS_STORE };
        page = new Uint8Array(PAGE_SIZE);
        page.set(v.bytes.subarray(0, PAGE_SIZE));
        m.cow.set(p, page);
      }
      const start = Math.max(offset, p * PAGE_SIZE);
      const end = Math.min(offset + n, (p + 1) * PAGE_SIZE);
      page.set(data.subarray(start - offset, end - offset), start - p * PAGE_SIZE);
    }
    return ok();
  }
  if (m.backing !== null) {
    const size = k.vfs.fileSize(m.backing);
    const inFile = Math.max(0, Math.min(n, size - offset));
    k.vfs.pwrite(m.backing, offset, data.subarray(0, inFile));
    t.pass('IO-11');
    ptContext(k, null, t, m.fb);
    if (m.fb?.freed === true) t.pass('LIFE-18');
    if (m.fuseFile?.ff.released === true) t.pass('LIFE-17');
    return ok();
  }
  if (m.shared) {
    const fe = faultIn(k, m, offset, n, t); // fault the pages in first
    if (fe !== null) return { errno: null, fault: SIGBUS_STORE };
    const len = n;
    // fuse_page_mkwrite on the first store to a clean page: file_update_time. With the writeback
    // cache (no S_NOCMTIME) the times are kept locally and the next write_inode_now sends SETATTR
    // (kernel 6.18: munmap after a store sent [WRITE, SETATTR]).
    if (k.conn?.writebackCache === true && len > 0) {
      for (let p = Math.floor(offset / PAGE_SIZE); p * PAGE_SIZE < offset + len; p++) {
        if (!m.inode.dirty.has(p)) m.inode.timesDirty = true;
      }
    }
    pageCacheStore(m.inode, offset, data.subarray(0, len), true);
    return ok();
  }
  return ok();
}

/** munmap: a PT VMA puts the per-open file (LIFE-5, LIFE-17); fuse_vma_close writes back. */
export function munmap(k: KernelState, m: Mapping, t: Trace): Outcome {
  m.inode.users--;
  if (m.backing !== null) {
    t.pass('LIFE-5');
    m.inode.ptMaps--;
    if (m.fb !== null) m.fb.mapped--;
    if (m.fuseFile?.ff.released === true) t.pass('LIFE-17');
    innerOf(m)?.munmap(m, t);
    if (m.holdsBacking !== false) k.vfs.fput(m.backing);
    fuseSuperPutIfIdle(k, t);
    return ok();
  }
  // fuse_vma_close, for private mappings too: write_inode_now (dirty pages, and with the
  // writeback cache the dirty times as SETATTR; 6.18: munmap of a private mapping sent SETATTR);
  // a failure goes to the mapping (mapping_set_error).
  const we = writeDirtyPages(k, m.inode, t);
  if (we !== null) mappingSetError(m.inode, we);
  fusePutFile(k, m.fuseFile!, t);
  fuseSuperPutIfIdle(k, t);
  return ok();
}
