// fs/fuse/backing.c (6.18; passthrough.c in 6.9-6.17): FUSE_DEV_IOC_BACKING_OPEN / _CLOSE
// checks in kernel order (BOPEN-4..13, BCLOSE-4..9), the per-connection cyclic id allocator
// (BID-1..9) and the fuse_backing reference count (LIFE-1, LIFE-3, LIFE-6).
import type { Errno } from '../spec/errno.ts';
import { INT_MAX } from '../spec/uapi.ts';
import type { Trace } from './explain.ts';
import type { KernelState } from './state.ts';
import type { FuseBacking, FuseConn } from './types.ts';
import { capableSysAdmin, type Cred, type WFile } from './world/vfs.ts';

/** The BACKING_OPEN argument as copied from userspace. */
export interface BackingMap {
  /** The struct file fget_raw(map.fd) found in the caller's table, or null (EBADF). */
  file: WFile | null;
  flags: number;
  padding: number;
}

/**
 * Ids the sim marked used without a file (simIdCursor fillToMax, BID-6): every id >= `from`
 * except the holes later closed.
 */
interface PhantomRange {
  from: number;
  holes: Set<number>;
}
const phantoms = new WeakMap<FuseConn, PhantomRange>();

export function idInUse(fc: FuseConn, id: number): boolean {
  if (fc.idr.has(id)) return true;
  const p = phantoms.get(fc);
  return p !== undefined && id >= p.from && !p.holes.has(id);
}

/** Sim-only: move the cursor (BID-5) and optionally occupy every id from it to INT_MAX (BID-6). */
export function simSetIdCursor(fc: FuseConn, next: number, fillToMax: boolean): void {
  fc.idrNext = next;
  if (fillToMax) {
    // As if every id from `next` to INT_MAX had been allocated in turn: the cursor is past the end.
    phantoms.set(fc, { from: next, holes: new Set() });
    fc.idrNext = INT_MAX + 1;
  }
}

/** Lowest free id in [lo, INT_MAX], or 0. */
function lowestFree(fc: FuseConn, lo: number): number {
  const p = phantoms.get(fc);
  let id = Math.max(1, lo);
  while (id <= INT_MAX) {
    if (p !== undefined && id >= p.from && !p.holes.has(id)) {
      // Jump to the smallest hole at or after id, if any.
      let best = 0;
      for (const h of p.holes) if (h >= id && !fc.idr.has(h) && (best === 0 || h < best)) best = h;
      return best;
    }
    if (!fc.idr.has(id)) return id;
    id++;
  }
  return 0;
}

/**
 * Whether an id in [1, id) is free (lowestFree(fc, 1) < id): without phantom ids, by counting
 * the registered ids below `id` (ids are distinct integers >= 1) instead of probing each one,
 * which made a loop of registrations quadratic in Map lookups.
 */
function freeIdBelow(fc: FuseConn, id: number): boolean {
  if (phantoms.has(fc)) return lowestFree(fc, 1) < id;
  if (fc.idr.size < id - 1) return true;
  let below = 0;
  for (const used of fc.idr.keys()) if (used < id) below++;
  return below < id - 1;
}

/**
 * idr_alloc_cyclic(&fc->backing_files_map, fb, 1, 0): from the cursor up to INT_MAX, then
 * wrap to the lowest free id >= 1 (BID-3, BID-4, BID-5); ENOSPC when full (BID-6).
 */
function fuseBackingIdAlloc(fc: FuseConn, t: Trace): number | Errno {
  t.fn('fuse_backing_id_alloc');
  if (fc.failNextAlloc === 'idr') {
    fc.failNextAlloc = null;
    return t.fail('ENOMEM', 'BOPEN-12');
  }
  let id = lowestFree(fc, fc.idrNext);
  if (id === 0) {
    id = lowestFree(fc, 1);
    if (id !== 0) t.pass('BID-5');
  }
  if (id === 0) {
    t.pass('BID-6');
    return t.fail('ENOSPC', 'BOPEN-12', 'every id in [1, INT_MAX] is registered: close some with BACKING_CLOSE');
  }
  if (id === 1 && fc.idrNext === 1) t.pass('BID-2');
  else t.pass('BID-3');
  if (freeIdBelow(fc, id)) t.pass('BID-4');
  fc.idrNext = id + 1;
  return id;
}

/** fuse_backing_open, checks in kernel order (called after BOPEN-1..3 in dev.ts). */
export function fuseBackingOpen(k: KernelState, fc: FuseConn, map: BackingMap, cred: Cred, t: Trace): number | Errno {
  t.fn('fuse_backing_open');
  if (!fc.passthrough) {
    return t.fail('EPERM', 'BOPEN-4', 'passthrough is not on: reply to INIT with INIT_EXT|PASSTHROUGH, max_stack_depth 1..2 and no WRITEBACK_CACHE');
  }
  if (!capableSysAdmin(cred)) {
    if (map.flags !== 0 || map.padding !== 0) t.pass('BOPEN-14');
    return t.fail('EPERM', 'BOPEN-5', 'BACKING_OPEN needs CAP_SYS_ADMIN in the initial user namespace on the calling thread');
  }
  if (map.flags !== 0 || (k.profile.checkPadding && map.padding !== 0)) {
    if (map.file === null) t.pass('BOPEN-15');
    return t.fail('EINVAL', 'BOPEN-6', 'fuse_backing_map.flags and .padding must be 0');
  }
  const file = map.file;
  if (file === null) return t.fail('EBADF', 'BOPEN-7', 'map.fd must be open in the calling process');
  if (file.mode === 'path' && !k.profile.fgetRaw) {
    t.pass('BOPEN-16');
    return t.fail('EBADF', 'BOPEN-7', 'before 6.12 BACKING_OPEN used fget: O_PATH fds give EBADF');
  }
  t.fn(k.profile.fgetRaw ? 'fget_raw' : 'fget');
  const inode = file.inode;
  if (k.profile.rejectNonRegular && inode.type !== 'file') {
    if (inode.type === 'dir') return t.fail('EISDIR', 'BOPEN-8');
    return t.fail('EINVAL', 'BOPEN-9', 'only regular files can back a FUSE file');
  }
  if (k.profile.requireReadWriteIter && (inode.type === 'dir' || inode.type === 'symlink')) {
    // 6.9: !file->f_op->read_iter || !file->f_op->write_iter (directories have neither).
    return t.fail('EOPNOTSUPP', 'BOPEN-17');
  }
  if (file.mode === 'path') t.pass('BOPEN-16');
  if (inode.mount.sb.stackDepth >= fc.maxStackDepth) {
    noteStack(inode.mount.sb.kind, fc.maxStackDepth, t);
    const why = inode.mount.sb.kind === 'procfs' ? ' (procfs sets the maximum so that nothing stacks on it: serve /proc files without passthrough)' : '';
    return t.fail('ELOOP', 'BOPEN-10', `the backing file's filesystem has stack depth ${inode.mount.sb.stackDepth}${why}; it must be below max_stack_depth ${fc.maxStackDepth}`);
  }
  noteStack(inode.mount.sb.kind, fc.maxStackDepth, t);
  if (fc.failNextAlloc === 'fuseBacking') {
    fc.failNextAlloc = null;
    return t.fail('ENOMEM', 'BOPEN-11');
  }
  // fb takes the fget_raw reference on the daemon's own struct file (LIFE-6).
  k.vfs.get(file);
  const id = fuseBackingIdAlloc(fc, t);
  if (typeof id === 'string') {
    t.pass('BID-7');
    k.vfs.fput(file); // fuse_backing_free: the cursor did not move (BID-7)
    return id;
  }
  const fb: FuseBacking = { id, file, cred, count: 1, freed: false, everBound: false, mapped: 0 };
  // One match is enough: passing BID-8 again right after changes nothing (Trace.pass).
  for (const other of fc.idr.values()) {
    if (other.file.inode === inode) {
      t.pass('BID-8');
      break;
    }
  }
  fc.idr.set(id, fb);
  t.pass('LIFE-1');
  t.pass('LIFE-6');
  t.pass('BID-1');
  t.pass('BID-9');
  t.pass('BOPEN-16');
  if (!k.profile.requireReadWriteIter) t.pass('BOPEN-17');
  t.pass('BOPEN-13');
  return id;
}

/** STACK-3..11 as named scenarios of BOPEN-10. */
function noteStack(kind: string, msd: number, t: Trace): void {
  if (kind === 'disk' || kind === 'tmpfs' || kind === 'memfd' || kind === 'sysfs') t.pass('STACK-3');
  else if (kind === 'overlay' || kind === 'overlayOverFuse') {
    if (kind === 'overlayOverFuse') t.pass('STACK-7');
    t.pass(msd === 1 ? 'STACK-4' : 'STACK-5');
  } else if (kind === 'fuse' || kind === 'nestedFuse') t.pass('STACK-8');
  else if (kind === 'fusePt1') t.pass(msd === 1 ? 'STACK-9' : 'STACK-10');
  else if (kind === 'fusePt2') t.pass('STACK-11');
  else if (kind === 'fuseUnderTest') t.pass('STACK-6');
}

/** fuse_backing_close: BCLOSE-4 -> BCLOSE-8. */
export function fuseBackingClose(k: KernelState, fc: FuseConn, id: number, cred: Cred, t: Trace): Errno | null {
  t.fn('fuse_backing_close');
  if (!fc.passthrough) return t.fail('EPERM', 'BCLOSE-4');
  if (!capableSysAdmin(cred)) return t.fail('EPERM', 'BCLOSE-5', 'BACKING_CLOSE needs CAP_SYS_ADMIN in the initial user namespace');
  if ((id | 0) <= 0) return t.fail('EINVAL', 'BCLOSE-6');
  const fb = fc.idr.get(id);
  if (fb === undefined) {
    const p = phantoms.get(fc);
    if (p !== undefined && id >= p.from && !p.holes.has(id)) {
      p.holes.add(id);
      t.pass('BCLOSE-8');
      return null;
    }
    if (k.mutation === 'bclose-no-enoent') return null; // planted bug, tests only (SimMutation)
    return t.fail('ENOENT', 'BCLOSE-7', 'the id is not registered (never allocated, or already closed)');
  }
  fc.idr.delete(id);
  t.pass('BCLOSE-8');
  if (fb.count > 1) {
    // Inodes or PT opens still hold it: no EBUSY, they keep working (BCLOSE-9, BCLOSE-11).
    t.pass('BCLOSE-9');
    t.pass('BCLOSE-11');
    t.pass('LIFE-12');
  } else {
    t.pass('LIFE-11');
    if (fb.everBound) t.pass('LIFE-15');
  }
  if (fb.mapped > 0) t.pass('LIFE-18');
  if (![...k.daemonTask.fds.values()].some((tf) => tf.kind === 'world' && tf.file === fb.file)) t.pass('LIFE-27');
  fuseBackingPut(k, fb, t);
  return null;
}

/** fuse_backing_lookup: +1 on success (LIFE-3); ids of another connection are not found. */
export function fuseBackingLookup(fc: FuseConn, id: number): FuseBacking | null {
  const fb = fc.idr.get(id);
  if (fb === undefined) return null;
  fb.count++;
  return fb;
}

export function fuseBackingGet(fb: FuseBacking): FuseBacking {
  fb.count++;
  return fb;
}

/** fuse_backing_put: at 0, fuse_backing_free puts fb->file (deferred fput, LIFE-6, LIFE-7). */
export function fuseBackingPut(k: KernelState, fb: FuseBacking | null, t: Trace): void {
  if (fb === null) return;
  fb.count--;
  if (fb.count < 0) k.vfs.bugs.push(`fuse_backing ${fb.id} count went negative`);
  if (fb.count === 0) fuseBackingFree(k, fb, t);
}

function fuseBackingFree(k: KernelState, fb: FuseBacking, t: Trace): void {
  t.fn('fuse_backing_free');
  if (fb.freed) k.vfs.bugs.push(`fuse_backing ${fb.id} freed twice`);
  fb.freed = true;
  t.pass('LIFE-7');
  if (fb.file.mode === 'path') t.pass('LIFE-8');
  k.vfs.fput(fb.file);
}

/** fuse_backing_files_free at the final fuse_conn_put: frees every remaining fb (LIFE-23). */
export function fuseBackingFilesFree(k: KernelState, fc: FuseConn, t: Trace): void {
  t.fn('fuse_backing_files_free');
  t.pass('LIFE-23');
  for (const fb of fc.idr.values()) {
    // WARN_ON_ONCE(refcount != 1): inodes are gone by now, so this "cannot happen".
    if (fb.count !== 1) k.vfs.bugs.push(`fuse_backing ${fb.id} has count ${fb.count} at connection free`);
    fuseBackingFree(k, fb, t);
  }
  fc.idr.clear();
  phantoms.delete(fc);
}
