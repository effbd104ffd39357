// fs/fuse/ioctl.c: ioctls go to the daemon (IO-22); fileattr ioctls open their own fuse_file
// (OPEN-21). ENOSYS becomes ENOTTY (fuse_send_ioctl).
import type { Trace } from './explain.ts';
import { err, ok, type Outcome } from './outcome.ts';
import type { KernelState } from './state.ts';
import type { FuseOpenFile } from './types.ts';
import type { Errno } from '../spec/errno.ts';
import { replyErrno } from './daemon-port.ts';
import { fuseFileOpen, releaseRequest } from './file.ts';

const FS_IOC_FILEATTR = new Set([0x80086601, 0x40086602, 0x801c581f, 0x401c5820, 0x80046601, 0x40046602]);

/**
 * Commands fs/ioctl.c do_vfs_ioctl() answers itself, before vfs_ioctl() would reach
 * fuse_file_ioctl: no request reaches the daemon (observed on 6.18 for FIOCLEX, FIONBIO,
 * FIONREAD, FIGETBSZ). FIONREAD is the VFS's only for regular files.
 */
const VFS_IOCTL = new Map<number, 'any' | 'regular'>([
  [0x5451, 'any'], // FIOCLEX
  [0x5450, 'any'], // FIONCLEX
  [0x5421, 'any'], // FIONBIO
  [0x5452, 'any'], // FIOASYNC
  [0x5460, 'any'], // FIOQSIZE (regular files and dirs, the only FUSE inodes here)
  [0x0002, 'any'], // FIGETBSZ
  [0x541b, 'regular'], // FIONREAD
]);

export function fuseFileIoctl(k: KernelState, file: FuseOpenFile, cmd: number, t: Trace): Outcome {
  const vfs = VFS_IOCTL.get(cmd >>> 0);
  if (vfs === 'any' || (vfs === 'regular' && !file.ff.isDir)) {
    t.fn('do_vfs_ioctl');
    return ok();
  }
  t.pass('IO-22');
  if (FS_IOC_FILEATTR.has(cmd >>> 0)) {
    t.fn('fuse_fileattr_get');
    t.pass('OPEN-21');
    const opened = fuseFileOpen(k, file.ff.inode, file.ff.isDir, t);
    if (typeof opened === 'string') return err(opened);
    const e = replyErrno(k.send(t, { op: 'IOCTL', nodeid: opened.ff.inode.nodeid, fh: opened.ff.fh }));
    if (opened.ff.hasArgs) k.sendAsync(t, releaseRequest(opened.ff));
    return ioctlResult(e);
  }
  t.fn('fuse_file_ioctl');
  return ioctlResult(replyErrno(k.send(t, { op: 'IOCTL', nodeid: file.ff.inode.nodeid, fh: file.ff.fh })));
}

/** fuse_do_ioctl: ENOSYS becomes ENOTTY (the daemon does not implement ioctl). */
function ioctlResult(e: Errno | null): Outcome {
  return e === 'ENOSYS' ? err('ENOTTY') : e === null ? ok() : err(e);
}

/**
 * copy_file_range: COPY_FILE_RANGE to the daemon (ENOSYS -> no_copy_file_range), then the VFS
 * splice fallback through both FUSE files: never passed through to backing files (IO-21).
 */
