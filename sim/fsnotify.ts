// include/linux/fsnotify.h for the FUSE file itself: the events a watchFuseFile step's watch
// reports (spec/case.ts WatchFuseFileStep). World files report theirs through world/vfs.ts
// Vfs.notify; a FUSE inode reports nothing until a step watches it. Callers sit where the VFS
// calls fsnotify: do_dentry_open, __fput, vfs_read / vfs_write and their splice, sendfile,
// copy_file_range, do_truncate and vfs_fallocate counterparts. mmap I/O calls none.
import type { KernelState } from './state.ts';
import type { FuseInode } from './types.ts';

/** fsnotify_open: IN_OPEN (never for O_PATH, which is FMODE_NONOTIFY). */
export function fsnotifyOpen(k: KernelState, fi: FuseInode): void {
  if (fi.watch !== undefined) k.vfs.notifyWatch(fi.watch, 'open');
}

/** fsnotify_close, first thing in __fput: IN_CLOSE_WRITE or IN_CLOSE_NOWRITE by the file's mode. */
export function fsnotifyClose(k: KernelState, fi: FuseInode, wrote: boolean): void {
  if (fi.watch !== undefined) k.vfs.notifyWatch(fi.watch, wrote ? 'close_write' : 'close_nowrite');
}

/** fsnotify_access: IN_ACCESS, reported with World.watchIo. */
export function fsnotifyAccess(k: KernelState, fi: FuseInode): void {
  if (fi.watch !== undefined) k.vfs.notifyWatch(fi.watch, 'access');
}

/** fsnotify_modify, and fsnotify_change with ATTR_SIZE: IN_MODIFY, reported with World.watchIo. */
export function fsnotifyModify(k: KernelState, fi: FuseInode): void {
  if (fi.watch !== undefined) k.vfs.notifyWatch(fi.watch, 'modify');
}
