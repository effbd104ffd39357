// fs/fuse/passthrough.c and fs/backing-file.c: the per-open backing file (PTF-1..11) and the
// data path to it (IO-1, IO-2, IO-4..7, IO-9, IO-11, IO-12, IO-24..26).
import type { Errno } from '../spec/errno.ts';
import { fuseBackingLookup, fuseBackingPut } from './backing.ts';
import type { Trace } from './explain.ts';
import type { KernelState } from './state.ts';
import type { FuseBacking, FuseFile, FuseInode, FuseOpenFile } from './types.ts';
import { isWriteMode, type WFile } from './world/vfs.ts';

/**
 * fuse_passthrough_open: OPEN-11, OPEN-12 (lookup takes +1, LIFE-3), then backing_file_open of
 * the registered path with the FUSE file's flags and fb->cred (OPEN-13, PTF-2..9).
 */
export function fusePassthroughOpen(k: KernelState, file: FuseOpenFile, backingId: number, t: Trace): FuseBacking | Errno {
  t.fn('fuse_passthrough_open');
  const fc = k.conn!;
  if (backingId <= 0) {
    t.hide('EINVAL');
    return t.fail('EINVAL', 'OPEN-11', 'backing_id must be an id BACKING_OPEN returned (> 0)');
  }
  const fb = fuseBackingLookup(fc, backingId);
  if (fb === null) {
    t.hide('ENOENT');
    return t.fail('ENOENT', 'OPEN-12', `backing id ${backingId} is not registered on this connection (never opened, or closed)`);
  }
  t.pass('LIFE-3');
  const pf = backingFileOpen(k, fb, file, t);
  if (typeof pf === 'string') {
    t.hide(pf);
    t.pass('OPEN-13');
    fuseBackingPut(k, fb, t);
    return pf;
  }
  file.ff.passthrough = pf;
  file.ff.cred = fb.cred;
  file.ff.openedWith = fb;
  if (file.flags.has('O_TRUNC')) inodeOf(fb).notes.add('PTF-3');
  t.pass('LIFE-4');
  return fb;
}

/** backing_file_open -> vfs_open (do_dentry_open order): PTF-3..9. */
function backingFileOpen(k: KernelState, fb: FuseBacking, file: FuseOpenFile, t: Trace): WFile | Errno {
  t.fn('backing_file_open');
  const inode = fb.file.inode.target ?? fb.file.inode;
  t.pass('PTF-2');
  t.pass('PTF-11');
  if (file.flags.has('O_CREAT') || file.flags.has('O_EXCL') || file.flags.has('O_TRUNC')) t.pass('PTF-3');
  if (isWriteMode(file.mode)) {
    if (inode.denyWrite) return t.fail('ETXTBSY', 'PTF-4', 'the backing file is denying writes (e.g. being executed)');
    if (inode.mount.readOnly) return t.fail('EROFS', 'PTF-5', 'a write-mode PT open needs the backing file on a writable mount');
  }
  if (inode.lsmDenyOpen) return t.fail('EACCES', 'PTF-6');
  // vfs_open without may_open: only a refusal in the file's own ->open applies (PTF-2).
  if (isWriteMode(file.mode) && inode.mount.sb.refusesWriteOpen === 'open') {
    return t.fail('EACCES', 'PTF-2', `the backing file's ->open refuses write opens (a read-only ${inode.mount.sb.kind} file): open it read-only`);
  }
  if (inode.leased) {
    inode.leased = false;
    t.pass('PTF-7');
  }
  if (file.flags.has('O_DIRECT') && !inode.mount.sb.directIo) {
    k.vfs.openFileFailedAfterOpen(inode, file.mode, file.flags);
    return t.fail('EINVAL', 'PTF-8');
  }
  const pf = k.vfs.openFile(inode, file.mode, file.flags, 'perOpen');
  t.pass('PTF-1');
  t.pass('PTF-9');
  return pf;
}

/** fuse_passthrough_release: put the per-open file and ff->cred (LIFE-4). */
export function fusePassthroughRelease(k: KernelState, ff: FuseFile, t: Trace): void {
  if (ff.passthrough === null) return;
  t.fn('fuse_passthrough_release');
  t.pass('LIFE-4');
  if (ff.passthrough.count === 1) t.pass('PTF-9');
  else t.pass('LIFE-16');
  k.vfs.fput(ff.passthrough);
  ff.passthrough = null;
  ff.cred = null;
}

/** fuse_passthrough_read_iter: backing read, bounded by the backing size (IO-1, IO-2, IO-26). */
export function fusePassthroughRead(k: KernelState, file: FuseOpenFile, pos: number, len: number, t: Trace, splice = false): Uint8Array {
  t.fn('fuse_passthrough_read_iter');
  t.fn('backing_file_read_iter');
  t.pass('IO-1');
  t.pass('IO-27');
  ptContext(k, file, t);
  const pf = file.ff.passthrough!;
  const data = k.vfs.pread(pf, pos, len, splice);
  // vfs_iter_read reports IN_ACCESS for any result >= 0, a read at or past EOF too; the
  // splice path's vfs_splice_read reports nothing (6.18).
  if (len > 0 && !splice) k.vfs.notifyAccess(pf.inode);
  if (pos + len > file.ff.inode.iSize) t.pass('IO-2');
  fuseFileAccessed(file.ff.inode, t);
  return data;
}

/**
 * fuse_passthrough_write_iter: backing write at the FUSE file position, or at the backing EOF
 * with O_APPEND (IO-4, IO-6); then fuse_write_update_attr (IO-24, IO-25). Returns the new end.
 */
export function fusePassthroughWrite(k: KernelState, file: FuseOpenFile, pos: number, data: Uint8Array, t: Trace, splice = false): { written: number; end: number } {
  t.fn('fuse_passthrough_write_iter');
  t.fn('backing_file_write_iter');
  t.pass('IO-4');
  ptContext(k, file, t);
  const pf = file.ff.passthrough!;
  pf.inode.notes.add('IO-28');
  let at = pos;
  if (file.flags.has('O_APPEND')) {
    at = k.vfs.fileSize(pf);
    t.pass('IO-6');
  }
  k.vfs.pwrite(pf, at, data);
  // vfs_iter_write reports IN_MODIFY when it wrote; backing_file_splice_write never (6.18).
  if (data.length > 0 && !splice) k.vfs.notifyModify(pf.inode);
  const end = at + data.length;
  fusePassthroughEndWrite(k, file.ff.inode, end, data.length, t);
  return { written: data.length, end };
}

/**
 * fuse_passthrough_end_write -> fuse_write_update_attr (IO-24, IO-25, IO-28). backing_file_write_iter
 * calls it with a failed write's error too: the attributes go stale whatever the result.
 */
export function fusePassthroughEndWrite(k: KernelState, fi: FuseInode, end: number, written: number, t: Trace): void {
  if (written > 0 && end > fi.iSize) {
    if (k.profile.extendSizeAfterPtWrite) {
      fi.iSize = end;
      fi.sizeExtendedLocally = true;
      t.pass('IO-24');
    }
  }
  fi.attrValid = false;
  fi.staleByPtWrite = true;
  t.pass('IO-25');
  t.pass('IO-28');
}

/** fuse_file_accessed -> fuse_invalidate_atime (IO-26). */
export function fuseFileAccessed(fi: FuseInode, t: Trace): void {
  fi.atimeInvalid = true;
  t.pass('IO-26');
}

/**
 * backing_file_mmap (IO-11, IO-12): ENODEV without ->mmap; vfs_mmap of the per-open file, whose
 * own ->mmap decides what the VMA holds. A plain backing file: the VMA takes the per-open file
 * (LIFE-5). A backing file that is itself a backing-file user, a passthrough file of an inner
 * FUSE mount (fusePt1/2) or an overlayfs file: its ->mmap (fuse_file_mmap, ovl_mmap) calls
 * backing_file_mmap again and puts its own real file in the VMA (vma_set_file), so the VMA holds
 * no reference to the per-open file and its release follows the FUSE file's (found by fuzz
 * --target both on 6.18: closing such a file with a live mapping closed the inner file; seed
 * 565063993 the overlay file).
 */
export function fusePassthroughMmap(k: KernelState, file: FuseOpenFile, t: Trace): { file: WFile; held: boolean } | Errno {
  t.fn('fuse_passthrough_mmap');
  t.fn('backing_file_mmap');
  ptContext(k, file, t);
  const pf = file.ff.passthrough!;
  if (!pf.inode.mount.sb.hasMmap) return t.fail('ENODEV', 'IO-12', 'the backing filesystem has no ->mmap');
  if (pf.inode.mount.sb.mmapEnodev === true) {
    // vma_set_file, then call_mmap fails; ctx->accessed runs whatever it returned, so the atime
    // is invalid (6.18: a stat after a sysfs backing file's failed mmap sent GETATTR, IO-26).
    t.fn('vma_set_file');
    fuseFileAccessed(file.ff.inode, t);
    return t.fail('ENODEV', 'IO-12', "the backing file's ->mmap refuses (a sysfs attribute maps nothing)");
  }
  t.pass('IO-11');
  t.pass('IOM-16');
  fuseFileAccessed(file.ff.inode, t);
  const kind = pf.inode.mount.sb.kind;
  if (kind === 'fusePt1' || kind === 'fusePt2' || kind === 'overlay' || kind === 'overlayOverFuse') {
    t.fn('vma_set_file');
    return { file: pf, held: false };
  }
  t.pass('LIFE-5');
  return { file: k.vfs.get(pf), held: true };
}

function inodeOf(fb: FuseBacking): WFile['inode'] {
  return fb.file.inode.target ?? fb.file.inode;
}

/**
 * Why PT I/O still works here: its registration was closed (BCLOSE-11), the connection was
 * aborted (LIFE-19) or lazily unmounted (LIFE-21, LIFE-22); it runs under fb->cred (PTF-11);
 * and through which stack (STACK-5, STACK-8).
 */
export function ptContext(k: KernelState, file: FuseOpenFile | null, t: Trace, fb: FuseBacking | null = file?.ff.openedWith ?? null): void {
  t.pass('PTF-11');
  if (fb !== null && fb.freed) t.pass('BCLOSE-11');
  else if (fb !== null && !k.conn?.idr.has(fb.id)) t.pass('BCLOSE-11');
  const fc = k.conn;
  if (fc !== null && !fc.connected) t.pass('LIFE-19');
  if (fc !== null && !fc.mounted) t.pass(fc.connected ? 'LIFE-22' : 'LIFE-21');
  const kind = fb === null ? '' : inodeOf(fb).mount.sb.kind;
  if (kind === 'overlay') t.pass('STACK-5');
  else if (kind === 'fuse' || kind === 'nestedFuse') t.pass('STACK-8');
  else if (kind === 'fusePt1') t.pass('STACK-10');
}

/** Logical block size of the modelled disk: O_DIRECT I/O must be aligned to it. */
const DISK_BLOCK = 512;

/**
 * An O_DIRECT PT read or write reaches the backing file with O_DIRECT (PTF-2): a disk
 * filesystem refuses offsets and lengths not aligned to its block size with EINVAL (found by
 * fusepass fuzz on 6.18), as do files whose data is on it through overlayfs or an inner PT file;
 * tmpfs and a non-PT FUSE backing file take any alignment.
 */
export function backingDirectIoMisaligned(k: KernelState, file: FuseOpenFile, pos: number, len: number, read = false): boolean {
  const pf = file.ff.passthrough;
  if (pf === null || !pf.flags.has('O_DIRECT')) return false;
  // The data lies on the disk for an overlayfs file and for a passthrough file of an inner FUSE
  // mount, whose own per-open file passes O_DIRECT on to its disk backing file (fuzz --target
  // both seed 231037540: a 1-byte O_DIRECT write through a fusePt1 backing file was EINVAL).
  const kind = pf.inode.mount.sb.kind;
  if (kind !== 'disk' && kind !== 'overlay' && kind !== 'fusePt1' && kind !== 'fusePt2') return false;
  // __iomap_dio_rw: a read at or past EOF returns 0 before any block is mapped, so before the
  // alignment check (6.18: a 1-byte O_DIRECT PT read at offset 4096 of a 4096-byte file gave "").
  if (read && pos >= k.vfs.fileSize(pf)) return false;
  return pos % DISK_BLOCK !== 0 || len % DISK_BLOCK !== 0;
}
