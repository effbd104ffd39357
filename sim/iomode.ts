// fs/fuse/iomode.c: the inode io-mode state machine (IOM-1..24). iocachectr > 0 counts cached
// users, < 0 counts PT files and in-flight parallel DIO writes; fi->fb is bound exactly while
// iocachectr < 0 because of PT opens (IOM-21).
import type { Errno } from '../spec/errno.ts';
import { FOPEN_DIRECT_IO, FOPEN_PARALLEL_DIRECT_WRITES, FOPEN_PASSTHROUGH, FOPEN_PASSTHROUGH_MASK } from '../spec/uapi.ts';
import { fuseBackingPut } from './backing.ts';
import type { Trace } from './explain.ts';
import { fusePassthroughOpen, fusePassthroughRelease } from './passthrough.ts';
import type { KernelState } from './state.ts';
import type { FuseBacking, FuseFile, FuseInode, FuseOpenFile } from './types.ts';

/**
 * fuse_file_cached_io_open: cached open, or the first MAP_SHARED mmap of an ALLOW_MMAP DIO file
 * (IOM-14). Returns the raw errno (ETXTBSY, IOM-6 / IOM-15).
 */
export function fuseFileCachedIoOpen(k: KernelState, fi: FuseInode, ff: FuseFile, t: Trace): Errno | null | 'WAIT' {
  t.fn('fuse_file_cached_io_open');
  if (!ff.hasArgs) return null;
  while (fi.iocachectr < 0 && fi.fb === null) {
    // IOM-5: set FUSE_I_CACHE_IO_MODE and sleep until the parallel DIO writes end or an fb
    // appears. Writes are synchronous in the model, so only a sim interleaving can be in flight.
    fi.cacheIoModeBit = true;
    t.pass('IOM-5');
    if (!k.runInterleaved('cachedIoWait')) return 'WAIT';
  }
  if (fi.fb !== null) {
    fi.cacheIoModeBit = false;
    t.pass('IOM-6');
    t.advice ??= 'a passthrough open bound the inode while this cached open waited for parallel direct writes: answer every open of an inode the same way';
    return 'ETXTBSY';
  }
  if (ff.iomode === 'none') {
    ff.iomode = 'cached';
    if (fi.iocachectr === 0) fi.cacheIoModeBit = true;
    fi.iocachectr++;
    t.pass('IOM-4');
  }
  return null;
}

function fuseFileCachedIoRelease(k: KernelState, ff: FuseFile, fi: FuseInode, t: Trace): void {
  if (fi.iocachectr <= 0) k.vfs.bugs.push(`cached release with iocachectr ${fi.iocachectr}`);
  ff.iomode = 'none';
  fi.iocachectr--;
  if (fi.iocachectr === 0) fi.cacheIoModeBit = false;
  t.pass('IOM-19');
}

/**
 * fuse_inode_uncached_io_start: a PT open (fb given) or a parallel DIO write (fb NULL, IOM-18).
 * Consumes the caller's fb reference: kept by an unbound inode, dropped by a bound one (IOM-9).
 */
export function fuseInodeUncachedIoStart(k: KernelState, fi: FuseInode, fb: FuseBacking | null, t: Trace): Errno | null {
  t.fn('fuse_inode_uncached_io_start');
  const oldfb = fi.fb;
  if (fb !== null && oldfb !== null && oldfb !== fb) {
    t.pass('IOM-7');
    t.advice ??= 'use one backing id per inode: every passthrough open of an inode must name the backing file already bound to it';
    return 'EBUSY';
  }
  if (fi.iocachectr > 0) {
    if (fb !== null) {
      t.pass('IOM-8');
      t.advice ??= 'the inode is open without passthrough (cached I/O); a passthrough open must wait until those files close: answer every open of an inode the same way';
    }
    return 'ETXTBSY';
  }
  fi.iocachectr--;
  if (fb !== null && oldfb === null) {
    fi.fb = fb; // takes over the lookup reference (LIFE-2, LIFE-3)
    fb.everBound = true;
    fi.wasBound = true;
    t.pass('LIFE-2');
    for (const other of k.fuseInodes.values()) if (other !== fi && other.fb === fb) t.pass('IOM-22');
  } else if (fb !== null) {
    fuseBackingPut(k, fb, t); // the inode already holds one (LIFE-3)
    t.pass('LIFE-3');
  }
  return null;
}

/** fuse_inode_uncached_io_end: at 0 wake waiters and unbind fb, putting its reference (IOM-20). */
export function fuseInodeUncachedIoEnd(k: KernelState, fi: FuseInode, t: Trace): void {
  t.fn('fuse_inode_uncached_io_end');
  if (fi.iocachectr >= 0) k.vfs.bugs.push(`uncached end with iocachectr ${fi.iocachectr}`);
  fi.iocachectr++;
  if (fi.iocachectr === 0) {
    const oldfb = fi.fb;
    fi.fb = null;
    if (oldfb !== null) {
      t.pass('IOM-23');
      t.pass('LIFE-2');
      fuseBackingPut(k, oldfb, t);
    }
  }
}

/** fuse_file_passthrough_open: OPEN-8, OPEN-9, then fuse_passthrough_open and IOM-7..9. */
function fuseFilePassthroughOpen(k: KernelState, file: FuseOpenFile, backingId: number, t: Trace): Errno | null {
  t.fn('fuse_file_passthrough_open');
  const ff = file.ff;
  const fc = k.conn!;
  if (!k.profile.passthroughConfigured || !fc.passthrough) {
    t.hide('EINVAL');
    return t.fail('EINVAL', 'OPEN-8', 'FOPEN_PASSTHROUGH on a connection where INIT did not enable passthrough');
  }
  if (ff.openFlags & ~FOPEN_PASSTHROUGH_MASK) {
    t.hide('EINVAL');
    return t.fail('EINVAL', 'OPEN-9', 'with FOPEN_PASSTHROUGH only DIRECT_IO, PARALLEL_DIRECT_WRITES and NOFLUSH are allowed');
  }
  const fb = fusePassthroughOpen(k, file, backingId, t);
  if (typeof fb === 'string') return fb;
  const err = fuseInodeUncachedIoStart(k, ff.inode, fb, t);
  if (err === null) {
    ff.iomode = 'uncached';
    t.pass('IOM-9');
    if (ff.inode.dioFiles > 0) t.pass('IOM-10');
    return null;
  }
  t.hide(err);
  // The per-open file was already opened: fput it (IN_OPEN + IN_CLOSE, PTF-10).
  t.pass('PTF-10');
  fusePassthroughRelease(k, ff, t);
  fuseBackingPut(k, fb, t);
  return err;
}

/** fuse_file_io_open: IOM-1 -> IOM-2 -> OPEN-7 -> IOM-3 -> PT / cached. EIO on any failure. */
export function fuseFileIoOpen(k: KernelState, file: FuseOpenFile, backingId: number, t: Trace): Errno | null | 'WAIT' {
  t.fn('fuse_file_io_open');
  const ff = file.ff;
  const fi = ff.inode;
  if (!ff.hasArgs) {
    t.pass('IOM-1');
    return null;
  }
  if (fi.fb !== null && !(ff.openFlags & FOPEN_PASSTHROUGH)) {
    t.hide('EINVAL');
    t.fail('EINVAL', 'IOM-2', 'once an inode is open in passthrough mode, every open of it must reply FOPEN_PASSTHROUGH');
    return 'EIO';
  }
  if (!(ff.openFlags & FOPEN_DIRECT_IO) && ff.openFlags & FOPEN_PARALLEL_DIRECT_WRITES) {
    ff.openFlags &= ~FOPEN_PARALLEL_DIRECT_WRITES;
    t.pass('OPEN-7');
  }
  if (fi.wasBound && fi.fb === null) t.pass('IOM-23');
  if (fi.ptMaps > 0 && fi.fb === null) t.pass('IOM-24');
  if (ff.openFlags & FOPEN_DIRECT_IO && !(ff.openFlags & FOPEN_PASSTHROUGH)) {
    t.pass('IOM-3');
    return null;
  }
  let err: Errno | null;
  if (ff.openFlags & FOPEN_PASSTHROUGH) {
    err = fuseFilePassthroughOpen(k, file, backingId, t);
  } else {
    const r = fuseFileCachedIoOpen(k, fi, ff, t);
    if (r === 'WAIT') return 'WAIT';
    err = r;
    if (err !== null) t.hide(err);
  }
  return err === null ? null : 'EIO';
}

/** fuse_file_io_release (from fuse_file_put, the last fuse_file reference). */
export function fuseFileIoRelease(k: KernelState, ff: FuseFile, t: Trace): void {
  t.fn('fuse_file_io_release');
  if (ff.iomode === 'uncached') {
    ff.iomode = 'none';
    t.pass('IOM-20');
    fuseInodeUncachedIoEnd(k, ff.inode, t);
  } else if (ff.iomode === 'cached') {
    fuseFileCachedIoRelease(k, ff, ff.inode, t);
  }
}
