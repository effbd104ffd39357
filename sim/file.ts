// fs/fuse/file.c (and the dir.c / ioctl.c parts the client touches): open and create
// (OPEN-1..21), the data path per operation (IO-1..23), close ordering (LIFE-14), mmap
// (IOM-11..17, IO-11, IO-12, LIFE-5, LIFE-16..18) and the page cache of non-PT files.
import type { OpenFlagName } from '../spec/case.ts';
import type { Errno } from '../spec/errno.ts';
import { FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FOPEN_NOFLUSH, FOPEN_PARALLEL_DIRECT_WRITES, FOPEN_PASSTHROUGH } from '../spec/uapi.ts';
import type { DaemonNode } from './daemon.ts';
import type { Trace } from './explain.ts';
import { fuseFileCachedIoOpen, fuseFileIoOpen, fuseFileIoRelease, fuseInodeUncachedIoEnd, fuseInodeUncachedIoStart } from './iomode.ts';
import { err, ok, type Outcome } from './outcome.ts';
import { fusePassthroughMmap, fusePassthroughRead, fusePassthroughRelease, fusePassthroughWrite, ptContext } from './passthrough.ts';
import { fuseSuperPutIfIdle } from './mount.ts';
import { summarizeBytes } from '../spec/observation.ts';
import type { KernelState } from './state.ts';
import type { FuseFile, FuseInode, FuseOpenFile, Mapping } from './types.ts';

export const PAGE_SIZE = 4096;
/** DIRECT_IO non-PT files counted in FuseInode.dioFiles. */
const dioCounted = new WeakSet<FuseFile>();
/** Known FOPEN bits: DIRECT_IO..PASSTHROUGH (bits 0..7). */
const KNOWN_FOPEN = 0xff;
const FS_IOC_FILEATTR = new Set([0x80086601, 0x40086602, 0x801c581f, 0x401c5820, 0x80046601, 0x40046602]);

// ---- lookup and attributes ------------------------------------------------------------------

function daemonNode(k: KernelState, fi: FuseInode): DaemonNode | undefined {
  return k.daemon.nodes.get(fi.name);
}

/** fuse_lookup: LOOKUP (noise in observations) gives attributes valid for 3600 s. */
export function fuseLookup(k: KernelState, name: string, t: Trace): FuseInode | Errno {
  const cached = k.fuseInodes.get(name);
  if (cached !== undefined) return cached;
  const e = k.send(t, 'LOOKUP');
  if (e !== null) return e;
  const node = k.daemon.nodes.get(name);
  if (node === undefined) return t.vfs('ENOENT', 'fuse_lookup', `the daemon has no node "${name}"`);
  return addInode(k, node);
}

function addInode(k: KernelState, node: DaemonNode): FuseInode {
  const fi: FuseInode = {
    nodeid: node.nodeid,
    name: node.name,
    isDir: node.isDir,
    iSize: node.size,
    attrValid: true,
    atimeInvalid: false,
    iocachectr: 0,
    fb: null,
    cacheIoModeBit: false,
    pages: new Map(),
    dirty: new Set(),
    nosec: false,
    timesDirty: false,
    users: 0,
    dioFiles: 0,
    wasBound: false,
    staleByPtWrite: false,
    sizeExtendedLocally: false,
    ptMaps: 0,
  };
  k.fuseInodes.set(node.name, fi);
  return fi;
}

export function rootInode(k: KernelState): FuseInode {
  let fi = k.fuseInodes.get('');
  if (fi === undefined) {
    // fill_super builds the root from a mode only, with attr_valid 0: the first stat asks.
    fi = { nodeid: 1, name: '', isDir: true, iSize: 0, attrValid: false, atimeInvalid: false, iocachectr: 0, fb: null, cacheIoModeBit: false, pages: new Map(), dirty: new Set(), nosec: false, timesDirty: false, users: 0, dioFiles: 0, wasBound: false, staleByPtWrite: false, sizeExtendedLocally: false, ptMaps: 0 };
    k.fuseInodes.set('', fi);
  }
  return fi;
}

/** fuse_update_get_attr: GETATTR only when the cache is stale (IO-16, IO-18, IO-25, IO-26). */
function fuseUpdateAttributes(k: KernelState, fi: FuseInode, t: Trace): Errno | null {
  if (fi.attrValid && !fi.atimeInvalid) return null;
  t.fn('fuse_do_getattr');
  if (fi.staleByPtWrite) t.pass('IO-25');
  if (fi.atimeInvalid) t.pass('IO-26');
  const e = k.send(t, 'GETATTR');
  if (e !== null) return e;
  fi.staleByPtWrite = false;
  fi.sizeExtendedLocally = false;
  const node = daemonNode(k, fi);
  const size = node?.size ?? 0;
  if (size !== fi.iSize) dropPagesFrom(fi, size);
  fi.iSize = size;
  fi.attrValid = true;
  fi.atimeInvalid = false;
  return null;
}

function dropPagesFrom(fi: FuseInode, size: number): void {
  for (const p of [...fi.pages.keys()]) if ((p + 1) * PAGE_SIZE > size) { fi.pages.delete(p); fi.dirty.delete(p); }
}

/** fuse_write_update_attr: extend i_size, invalidate size and times. */
function fuseWriteUpdateAttr(fi: FuseInode, end: number, written: number): void {
  if (written > 0 && end > fi.iSize) fi.iSize = end;
  fi.attrValid = false;
}

// ---- open / create / close ------------------------------------------------------------------

function accessMode(flags: readonly OpenFlagName[]): 'r' | 'w' | 'rw' {
  if (flags.includes('O_RDWR')) return 'rw';
  if (flags.includes('O_WRONLY')) return 'w';
  return 'r';
}

/** fuse_file_open: send OPEN/OPENDIR/CREATE reply handling (OPEN-2..5, OPEN-19). */
function fuseFileOpen(k: KernelState, fi: FuseInode, isDir: boolean, t: Trace, opcode: 'OPEN' | 'OPENDIR' | 'CREATE' = isDir ? 'OPENDIR' : 'OPEN'): { ff: FuseFile; backingId: number } | Errno {
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

function newFf(inode: FuseInode, fh: number, openFlags: number, hasArgs: boolean, isDir: boolean): FuseFile {
  return { inode, fh, openFlags: openFlags >>> 0, hasArgs, iomode: 'none', passthrough: null, cred: null, openedWith: null, isDir, released: false };
}

/** The connection is usable for client syscalls, or the outcome to return. */
function clientGate(k: KernelState, t: Trace): Outcome | null {
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
  const file: FuseOpenFile = { ff: opened.ff, mode, flags, count: 1, pos: 0 };
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
  if (!(file.ff.openFlags & FOPEN_KEEP_CACHE)) {
    fi.pages.clear();
    fi.dirty.clear();
  }
  if (flags.has('O_TRUNC') && mode !== 'r' && !created) {
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
function fuseFinishOpen(k: KernelState, file: FuseOpenFile, backingId: number, t: Trace): Errno | null | 'WAIT' {
  t.fn('fuse_finish_open');
  return fuseFileIoOpen(k, file, backingId, t);
}

/** fuse_sync_release: synchronous RELEASE of a failed open (OPEN-6). */
function fuseSyncRelease(k: KernelState, ff: FuseFile, t: Trace): void {
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
function fuseFlush(k: KernelState, file: FuseOpenFile, t: Trace): Errno | null {
  t.fn('fuse_flush');
  const fc = k.conn!;
  const ff = file.ff;
  if (ff.openFlags & FOPEN_NOFLUSH && !fc.writebackCache) {
    t.pass('IO-14');
    return null;
  }
  const we = writeDirtyPages(k, ff.inode, t);
  if (we !== null) return we;
  if (fc.noFlush) return null;
  t.pass('IO-14');
  const e = k.send(t, 'FLUSH');
  return e;
}

/** Drop one reference of the FUSE struct file; the last runs fuse_release. */
export function fusePutFile(k: KernelState, file: FuseOpenFile, t: Trace): void {
  file.count--;
  if (file.count < 0) k.vfs.bugs.push(`FUSE file f_count went negative`);
  if (file.count === 0) fuseRelease(k, file, t);
}

/** fuse_release -> fuse_prepare_release -> fuse_file_put (LIFE-14). */
function fuseRelease(k: KernelState, file: FuseOpenFile, t: Trace): void {
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

// ---- the page cache of non-PT files ---------------------------------------------------------

/** Read through the page cache: READ for pages not cached, bounded by i_size. */
function pageCacheRead(k: KernelState, fi: FuseInode, pos: number, len: number, t: Trace): Uint8Array | Errno {
  const end = Math.min(pos + len, fi.iSize);
  if (end <= pos) return new Uint8Array(0);
  const first = Math.floor(pos / PAGE_SIZE);
  const last = Math.floor((end - 1) / PAGE_SIZE);
  const node = daemonNode(k, fi);
  for (let p = first; p <= last; p++) {
    if (fi.pages.has(p)) continue;
    const e = k.send(t, 'READ');
    if (e !== null) return e;
    const page = new Uint8Array(PAGE_SIZE);
    if (node !== undefined) page.set(k.daemon.read(node, p * PAGE_SIZE, PAGE_SIZE));
    fi.pages.set(p, page);
  }
  const out = new Uint8Array(end - pos);
  for (let off = pos; off < end; ) {
    const p = Math.floor(off / PAGE_SIZE);
    const inPage = off - p * PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - inPage, end - off);
    out.set(fi.pages.get(p)!.subarray(inPage, inPage + n), off - pos);
    off += n;
  }
  return out;
}

/**
 * fuse_write_begin (writeback cache): a partial write to a page not in the cache reads it first
 * (READ), unless the page starts at or past EOF.
 */
function fuseWriteBegin(k: KernelState, fi: FuseInode, pos: number, len: number, t: Trace): Errno | null {
  const end = pos + len;
  for (let p = Math.floor(pos / PAGE_SIZE); p * PAGE_SIZE < end; p++) {
    const start = p * PAGE_SIZE;
    const whole = pos <= start && end >= start + PAGE_SIZE;
    if (fi.pages.has(p) || whole || fi.iSize <= start) continue;
    const e = k.send(t, 'READ');
    if (e !== null) return e;
    const page = new Uint8Array(PAGE_SIZE);
    const node = daemonNode(k, fi);
    if (node !== undefined) page.set(k.daemon.read(node, start, PAGE_SIZE));
    fi.pages.set(p, page);
  }
  return null;
}

function pageCacheStore(fi: FuseInode, pos: number, data: Uint8Array, dirty: boolean): void {
  for (let off = 0; off < data.length; ) {
    const at = pos + off;
    const p = Math.floor(at / PAGE_SIZE);
    const inPage = at - p * PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - inPage, data.length - off);
    let page = fi.pages.get(p);
    if (page === undefined) {
      if (!dirty) { off += n; continue; }
      page = new Uint8Array(PAGE_SIZE);
      fi.pages.set(p, page);
    }
    page.set(data.subarray(off, off + n), inPage);
    if (dirty) fi.dirty.add(p);
    off += n;
  }
}

/**
 * write_inode_now (fuse_vma_close, fsync, flush): dirty pages as WRITE, then with the writeback
 * cache fuse_write_inode flushes the locally updated times as SETATTR.
 */
function writeDirtyPages(k: KernelState, fi: FuseInode, t: Trace): Errno | null {
  const e = writePages(k, fi, t);
  if (e !== null) return e;
  if (fi.timesDirty) {
    fi.timesDirty = false;
    t.fn('fuse_flush_times');
    return k.send(t, 'SETATTR');
  }
  return null;
}

function writePages(k: KernelState, fi: FuseInode, t: Trace): Errno | null {
  if (fi.dirty.size === 0) return null;
  const node = daemonNode(k, fi);
  for (const p of [...fi.dirty].sort((x, y) => x - y)) {
    const e = k.send(t, 'WRITE');
    if (e !== null) return e;
    const start = p * PAGE_SIZE;
    const n = Math.max(0, Math.min(PAGE_SIZE, fi.iSize - start));
    if (node !== undefined) k.daemon.write(node, start, fi.pages.get(p)!.subarray(0, n));
    fi.dirty.delete(p);
  }
  return null;
}

// ---- read / write / splice ------------------------------------------------------------------

const isDio = (ff: FuseFile): boolean => (ff.openFlags & FOPEN_DIRECT_IO) !== 0;
const isPt = (ff: FuseFile): boolean => ff.passthrough !== null;

/** fuse_file_read_iter: DIRECT_IO overrides PT (IO-3), then PT (IO-1), else cached. */
export function fuseRead(k: KernelState, file: FuseOpenFile, len: number, offset: number | undefined, t: Trace, splice = false): Outcome {
  const ff = file.ff;
  if (ff.isDir) return err(t.vfs('EISDIR', 'vfs_read', 'read(2) of a directory'));
  if (file.mode === 'w') return err(t.vfs('EBADF', 'vfs_read', 'the fd was opened write-only'));
  const pos = offset ?? file.pos;
  let data: Uint8Array | Errno;
  if (splice) {
    t.fn('fuse_splice_read');
    if (isPt(ff) && !isDio(ff)) {
      t.pass('IO-7');
      data = fusePassthroughRead(k, file, pos, len, t);
    } else {
      if (isPt(ff)) t.pass('IO-8');
      data = pageCacheRead(k, ff.inode, pos, len, t);
    }
  } else if (isDio(ff)) {
    t.fn('fuse_direct_read_iter');
    if (isPt(ff)) t.pass('IO-3');
    const e = k.send(t, 'READ');
    if (e !== null) return err(e);
    const node = daemonNode(k, ff.inode);
    data = node === undefined ? new Uint8Array(0) : k.daemon.read(node, pos, len);
  } else if (isPt(ff)) {
    data = fusePassthroughRead(k, file, pos, len, t);
  } else {
    t.fn('fuse_cache_read_iter');
    if (pos + len > ff.inode.iSize) {
      const e = fuseUpdateAttributes(k, ff.inode, t);
      if (e !== null) return err(e);
    }
    data = pageCacheRead(k, ff.inode, pos, len, t);
  }
  if (typeof data === 'string') return err(data);
  if (offset === undefined) file.pos = pos + data.length;
  return { errno: null, value: summarize(data) };
}

/**
 * file_remove_privs before a PT or cached write (IO-5): security_inode_need_killpriv reads
 * security.capability, a GETXATTR to the daemon. FUSE clears SB_NOSEC unless the daemon
 * negotiated HANDLE_KILLPRIV_V2, so without it every write asks again; with it the inode turns
 * S_NOSEC after the first check finds nothing.
 */
function fileRemovePrivs(k: KernelState, fi: FuseInode, t: Trace): void {
  t.fn('file_remove_privs');
  if (fi.nosec) return;
  const fc = k.conn!;
  if (!fc.noGetxattr) {
    const e = k.send(t, 'GETXATTR');
    // The daemon answers ENODATA (ENOSYS would set no_getxattr); errors mean "nothing to kill".
    if (e === null) t.pass('IO-5');
  }
  if (fc.handleKillprivV2) fi.nosec = true;
}

/** fuse_file_write_iter: DIRECT_IO overrides PT (IO-3), then PT (IO-4), else cached. */
export function fuseWrite(k: KernelState, file: FuseOpenFile, data: Uint8Array, offset: number | undefined, t: Trace, splice = false): Outcome {
  const ff = file.ff;
  const fi = ff.inode;
  if (ff.isDir) return err(t.vfs('EISDIR', 'vfs_write', 'write(2) of a directory'));
  if (file.mode === 'r') return err(t.vfs('EBADF', 'vfs_write', 'the fd was opened read-only'));
  const append = file.flags.has('O_APPEND');
  let pos = offset ?? file.pos;
  let written = 0;
  if (isDio(ff)) {
    t.fn('fuse_direct_write_iter');
    if (isPt(ff)) t.pass(splice ? 'IO-10' : 'IO-3');
    if (append) pos = fi.iSize;
    // IOM-18: parallel DIO write under the shared lock takes an uncached count, never an fb.
    const parallel = (ff.openFlags & FOPEN_PARALLEL_DIRECT_WRITES) !== 0 && !append && pos + data.length <= fi.iSize && !fi.cacheIoModeBit;
    const started = parallel && fuseInodeUncachedIoStart(k, fi, null, t) === null;
    if (started) t.pass('IOM-18');
    const e = k.send(t, 'WRITE');
    if (e === null) {
      const node = daemonNode(k, fi);
      if (node !== undefined) k.daemon.write(node, pos, data);
      written = data.length;
      for (const p of [...fi.pages.keys()]) if (p * PAGE_SIZE < pos + data.length && (p + 1) * PAGE_SIZE > pos) fi.pages.delete(p);
      fuseWriteUpdateAttr(fi, pos + written, written);
    }
    if (started) fuseInodeUncachedIoEnd(k, fi, t);
    if (e !== null) return err(e);
    if (offset === undefined || append) file.pos = pos + written;
  } else if (isPt(ff)) {
    if (splice) t.pass('IO-9');
    fileRemovePrivs(k, fi, t);
    const r = fusePassthroughWrite(k, file, pos, data, t);
    written = r.written;
    if (offset === undefined || append) file.pos = r.end;
  } else {
    t.fn('fuse_cache_write_iter');
    const fc = k.conn!;
    if (fc.writebackCache) {
      const e = fuseUpdateAttributes(k, fi, t);
      if (e !== null) return err(e);
      if (append) pos = fi.iSize;
      // generic_file_write_iter: file_remove_privs, then file_update_time (times kept locally).
      fileRemovePrivs(k, fi, t);
      fi.timesDirty = true;
      const re = fuseWriteBegin(k, fi, pos, data.length, t);
      if (re !== null) return err(re);
      pageCacheStore(fi, pos, data, true);
      if (pos + data.length > fi.iSize) fi.iSize = pos + data.length;
      written = data.length;
    } else {
      if (append) pos = fi.iSize;
      fileRemovePrivs(k, fi, t);
      const e = k.send(t, 'WRITE');
      if (e !== null) return err(e);
      const node = daemonNode(k, fi);
      if (node !== undefined) k.daemon.write(node, pos, data);
      pageCacheStore(fi, pos, data, false);
      written = data.length;
      fuseWriteUpdateAttr(fi, pos + written, written);
    }
    if (offset === undefined || append) file.pos = pos + written;
  }
  return ok(written);
}

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
    const pf = fusePassthroughMmap(k, file, t);
    if (typeof pf === 'string') return err(pf);
    fi.users++;
    fi.ptMaps++;
    const fb = ff.openedWith;
    if (fb !== null) fb.mapped++;
    return { errno: null, map: { shared: a.shared, writable: a.write, length: a.length, backing: pf, fuseFile: file, inode: fi, fb } };
  }
  if (fi.fb !== null) return err(t.fail('ENODEV', 'IOM-11', 'this inode is in passthrough mode: only its PT files can be mapped'));
  if (isDio(ff)) {
    if (a.shared && !k.conn!.directIoAllowMmap) return err(t.fail('ENODEV', 'IOM-12', 'MAP_SHARED of a FOPEN_DIRECT_IO file needs FUSE_DIRECT_IO_ALLOW_MMAP'));
    fi.pages.clear();
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

/** Load from a mapping: PT -> backing bytes (LIFE-17); else page faults through the cache. */
export function mapRead(k: KernelState, m: Mapping, len: number, offset: number, t: Trace): Outcome {
  const n = Math.max(0, Math.min(len, m.length - offset));
  if (m.backing !== null) {
    t.pass('IO-11');
    ptContext(k, null, t, m.fb);
    if (m.fb?.freed === true) t.pass('LIFE-18');
    if (m.fuseFile?.ff.released === true) t.pass(m.inode.fb === null ? 'IOM-24' : 'LIFE-17');
    return mappedBytes(k.vfs.pread(m.backing, offset, n), k.vfs.fileSize(m.backing), offset, n);
  }
  const data = pageCacheRead(k, m.inode, offset, n, t);
  return typeof data === 'string' ? err(data) : mappedBytes(data, m.inode.iSize, offset, n);
}

/**
 * What a load from a mapping sees: the file's bytes, zeros past EOF up to the end of its last
 * page, and SIGBUS for a page wholly past EOF.
 */
function mappedBytes(fileBytes: Uint8Array, size: number, offset: number, n: number): Outcome {
  const lastPageEnd = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
  if (n > 0 && offset + n > lastPageEnd) return { errno: null, fault: { kind: 'crash', message: 'SIGBUS: the load touches a page past the end of the file' } };
  const out = new Uint8Array(n);
  out.set(fileBytes.subarray(0, Math.min(n, fileBytes.length)));
  return ok(summarize(out));
}

/** Store to a mapping: PT -> backing file (LIFE-17); shared -> dirty pages; private -> COW. */
export function mapWrite(k: KernelState, m: Mapping, data: Uint8Array, offset: number, t: Trace): Outcome {
  if (!m.writable) return { errno: null, fault: { kind: 'crash', message: 'store to a read-only mapping (SIGSEGV)' } };
  const n = Math.max(0, Math.min(data.length, m.length - offset));
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
    const r = pageCacheRead(k, m.inode, offset, n, t); // fault the pages in first
    if (typeof r === 'string') return err(r);
    pageCacheStore(m.inode, offset, data.subarray(0, Math.min(n, r.length)), true);
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
    k.vfs.fput(m.backing);
    fuseSuperPutIfIdle(k, t);
    return ok();
  }
  if (m.shared) writeDirtyPages(k, m.inode, t);
  fusePutFile(k, m.fuseFile!, t);
  fuseSuperPutIfIdle(k, t);
  return ok();
}

// ---- attributes, seek, sync, truncate, fallocate, ioctl, copy_file_range --------------------

/** fstat / stat / statx (IO-16; OBS-12 with AT_STATX_DONT_SYNC). Value: the size. */
export function fuseGetattr(k: KernelState, fi: FuseInode, dontSync: boolean, t: Trace): Outcome {
  t.fn('fuse_getattr');
  if (dontSync) {
    t.pass('OBS-12');
    if (fi.sizeExtendedLocally) t.pass('IO-24');
    return ok(fi.iSize);
  }
  if (!fi.attrValid || fi.atimeInvalid) t.pass('IO-16');
  const e = fuseUpdateAttributes(k, fi, t);
  if (e !== null) return err(e);
  return ok(fi.iSize);
}

export function statNode(k: KernelState, name: string, dontSync: boolean, t: Trace): Outcome {
  const gate = clientGate(k, t);
  if (gate !== null) return gate;
  const fi = name === '' ? rootInode(k) : fuseLookup(k, name, t);
  if (typeof fi === 'string') return err(fi);
  return fuseGetattr(k, fi, dontSync, t);
}

/** fuse_file_llseek (IO-17..19). */
export function fuseLseek(k: KernelState, file: FuseOpenFile, whence: 'SET' | 'CUR' | 'END' | 'DATA' | 'HOLE', offset: number, t: Trace): Outcome {
  const fi = file.ff.inode;
  let pos: number;
  if (whence === 'SET' || whence === 'CUR') {
    t.pass('IO-17');
    pos = whence === 'SET' ? offset : file.pos + offset;
  } else if (whence === 'END') {
    t.pass('IO-18');
    const e = fuseUpdateAttributes(k, fi, t);
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
    const e = fuseUpdateAttributes(k, fi, t);
    if (e !== null) return err(e);
    if (offset >= fi.iSize) return err(t.vfs('ENXIO', 'generic_file_llseek_size', 'SEEK_DATA/SEEK_HOLE at or past the end of the file'));
    pos = whence === 'DATA' ? offset : fi.iSize;
  }
  if (pos < 0) return err(t.vfs('EINVAL', 'vfs_setpos', 'negative file position'));
  file.pos = pos;
  return ok(pos);
}

/**
 * do_truncate -> notify_change -> fuse_do_setattr (IO-15): dentry_needs_remove_privs first
 * (GETXATTR, as IO-5), then SETATTR; the daemon truncates; the backing file is not touched.
 */
function fuseSetattrSize(k: KernelState, fi: FuseInode, size: number, t: Trace, removePrivs = true): Errno | null {
  t.fn('do_truncate');
  if (removePrivs) fileRemovePrivs(k, fi, t);
  t.fn('fuse_do_setattr');
  const e = k.send(t, 'SETATTR');
  if (e !== null) return e;
  const node = daemonNode(k, fi);
  if (node !== undefined) k.daemon.truncate(node, size);
  if (fi.fb !== null) {
    const bi = fi.fb.file.inode.target ?? fi.fb.file.inode;
    bi.notes.add('IO-15');
    bi.notes.add('IO-28');
  }
  fi.iSize = size;
  fi.attrValid = true;
  dropPagesFrom(fi, size);
  t.pass('IO-15');
  return null;
}

export function fuseFtruncate(k: KernelState, file: FuseOpenFile, size: number, t: Trace): Outcome {
  if (file.ff.isDir || file.mode === 'r') return err(t.vfs('EINVAL', 'do_ftruncate', 'ftruncate needs a regular file opened for writing'));
  const e = fuseSetattrSize(k, file.ff.inode, size, t);
  return e === null ? ok() : err(e);
}

/** fuse_fsync: write back, then FSYNC to the daemon; the backing file is not synced (IO-13). */
export function fuseFsync(k: KernelState, file: FuseOpenFile, t: Trace): Outcome {
  t.fn('fuse_fsync');
  const we = writeDirtyPages(k, file.ff.inode, t);
  if (we !== null) return err(we);
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
  // file_modified: remove privileges first (GETXATTR, as IO-5).
  fileRemovePrivs(k, file.ff.inode, t);
  const e = k.send(t, 'FALLOCATE');
  if (e !== null) return err(e);
  fc.noFallocate = true;
  return err('EOPNOTSUPP');
}

/**
 * ioctl on a FUSE file: fileattr ioctls open their own fuse_file (OPEN, IOCTL, RELEASE; PT in
 * that reply ignored, OPEN-21); others send IOCTL on the file (IO-22). ENOSYS -> ENOTTY.
 */
export function fuseFileIoctl(k: KernelState, file: FuseOpenFile, cmd: number, t: Trace): Outcome {
  t.pass('IO-22');
  if (FS_IOC_FILEATTR.has(cmd >>> 0)) {
    t.fn('fuse_fileattr_get');
    t.pass('OPEN-21');
    const opened = fuseFileOpen(k, file.ff.inode, file.ff.isDir, t);
    if (typeof opened === 'string') return err(opened);
    const e = k.send(t, 'IOCTL');
    if (opened.ff.hasArgs) k.sendAsync(t, file.ff.isDir ? 'RELEASEDIR' : 'RELEASE');
    return err(e ?? 'ENOTTY');
  }
  t.fn('fuse_file_ioctl');
  const e = k.send(t, 'IOCTL');
  return err(e ?? 'ENOTTY');
}

/**
 * copy_file_range: COPY_FILE_RANGE to the daemon (ENOSYS -> no_copy_file_range), then the VFS
 * splice fallback through both FUSE files: never passed through to backing files (IO-21).
 */
export function fuseCopyRange(k: KernelState, from: FuseOpenFile, to: FuseOpenFile, len: number, t: Trace): Outcome {
  t.fn('fuse_copy_file_range');
  t.pass('IO-21');
  if (from.mode === 'w' || to.mode === 'r') return err(t.vfs('EBADF', 'vfs_copy_file_range', 'copy_file_range needs a readable source and a writable destination'));
  const fc = k.conn!;
  if (!fc.noCopyFileRange) {
    // __fuse_copy_file_range: file_modified(file_out) first (GETXATTR, as IO-5).
    fileRemovePrivs(k, to.ff.inode, t);
    const e = k.send(t, 'COPY_FILE_RANGE');
    if (e !== null) return err(e);
    fc.noCopyFileRange = true;
  }
  const r = fuseReadBytes(k, from, len, t);
  if (typeof r === 'string') return err(r);
  const w = fuseWrite(k, to, r, undefined, t, true);
  return w.errno !== null ? w : ok(r.length);
}

function fuseReadBytes(k: KernelState, file: FuseOpenFile, len: number, t: Trace): Uint8Array | Errno {
  const ff = file.ff;
  const pos = file.pos;
  let data: Uint8Array | Errno;
  if (isPt(ff) && !isDio(ff)) data = fusePassthroughRead(k, file, pos, len, t);
  else data = pageCacheRead(k, ff.inode, pos, len, t);
  if (typeof data !== 'string') file.pos = pos + data.length;
  return data;
}

export function summarize(data: Uint8Array): string {
  return summarizeBytes(data);
}

/** fgetxattr: GETXATTR to the daemon, unchanged by passthrough (IO-23); the daemon: ENODATA. */
export function fuseGetxattr(k: KernelState, file: FuseOpenFile, t: Trace): Outcome {
  t.fn('fuse_getxattr');
  t.pass('IO-23');
  if (k.conn!.noGetxattr) return err('EOPNOTSUPP');
  const e = k.send(t, 'GETXATTR');
  return err(e ?? 'ENODATA');
}
