// glibc's posix_fallocate(3) as a client program runs it on a FUSE file (2.36:
// sysdeps/unix/sysv/linux/posix_fallocate.c and its fallback sysdeps/posix/posix_fallocate.c):
// fallocate(2), and on EOPNOTSUPP a zero byte written into every block of the range that reads
// as zero or lies past EOF, spaced by the filesystem's f_bsize capped at 4096, or 512 when it
// reports 0, as a FUSE daemon's empty STATFS reply does. Each of those syscalls is the kernel's.
import type { Trace } from './explain.ts';
import { fuseGetattr } from './dir.ts';
import { fuseFallocate } from './file-ops.ts';
import { fuseStatfs } from './inode.ts';
import { err, ok, type Outcome } from './outcome.ts';
import { fuseReadData, fuseWriteSyscall } from './rw.ts';
import { fsnotifyAccess } from './fsnotify.ts';
import type { KernelState } from './state.ts';
import type { FuseOpenFile } from './types.ts';

export function posixFallocate(k: KernelState, file: FuseOpenFile, offset: number, len: number, t: Trace): Outcome {
  t.fn('posix_fallocate');
  // With the writeback cache a fallocate that reaches the daemon sets and writes the times
  // (file_modified, fuse_flush_time_update); one the connection knows to be unsupported does not.
  const timesJustSet = k.conn!.writebackCache && !k.conn!.noFallocate && file.mode !== 'r' && len > 0;
  const r = fuseFallocate(k, file, t, len);
  if (r.errno !== 'EOPNOTSUPP') return r;
  // The emulation: pwrite is wrong in O_APPEND mode (F_GETFL), then fstat for the size.
  if (file.flags.has('O_APPEND')) return err('EBADF');
  const st = fuseGetattr(k, file.ff.inode, false, t);
  if (st.errno !== null) return err('EBADF');
  const size = typeof st.value === 'number' ? st.value : 0;
  const bsize = fuseStatfs(k, file.ff.inode, t);
  if (typeof bsize === 'string') return err(bsize);
  const increment = bsize === 0 ? 512 : Math.min(bsize, 4096);
  for (let at = offset + ((len - 1) % increment), left = len; left > 0; at += increment) {
    left -= increment;
    if (at < size) {
      const byte = fuseReadData(k, file, 1, at, t);
      if (typeof byte === 'string') return err(byte);
      if (byte.length > 0) fsnotifyAccess(k, file.ff.inode); // the pread's vfs_read
      if (byte.length === 1 && byte[0] !== 0) continue; // a non-zero byte: allocated already
    }
    const w = fuseWriteSyscall(k, file, new Uint8Array(1), at, t);
    if (w.errno !== null) return w;
    // The pwrites follow the fallocate that just set the times within the same coarse clock
    // tick: file_update_time finds them current and dirties nothing (fuzz --target both seed
    // 421541554: the close sent no SETATTR), as in copy_file_range's fallback (file-ops.ts).
    if (timesJustSet) file.ff.inode.timesDirty = false;
  }
  return ok();
}
