// The directory the FUSE filesystem is mounted on, while nothing is mounted there (before the
// mount step, after umount): open(O_CREAT) makes plain files on the disk filesystem, other names
// are ENOENT. No FUSE request is involved; found by `fusepass fuzz --target both`.
import type { OpenFlagName } from '../spec/case.ts';
import type { Trace } from './explain.ts';
import { err, ok, type Outcome } from './outcome.ts';
import { summarize } from './pagecache.ts';
import type { KernelState } from './state.ts';
import { isWriteMode, type WFile, type WInode } from './world/vfs.ts';

export interface PlainFile {
  readonly file: WFile;
  pos: number;
}

interface MountpointDir {
  readonly names: Map<string, WInode>;
  readonly files: Map<string, PlainFile>;
}

const dirs = new WeakMap<KernelState, MountpointDir>();

function dir(k: KernelState): MountpointDir {
  let d = dirs.get(k);
  if (d === undefined) {
    d = { names: new Map(), files: new Map() };
    dirs.set(k, d);
  }
  return d;
}

/** Nothing is mounted on the mountpoint: path lookups see the plain directory. */
export function mountpointUncovered(k: KernelState): boolean {
  return k.conn === null || !k.conn.mounted;
}

export function plainFile(k: KernelState, fdName: string): PlainFile | undefined {
  return dirs.get(k)?.files.get(fdName);
}

export function plainFileNames(k: KernelState): string[] {
  return [...(dirs.get(k)?.files.keys() ?? [])];
}

/** open(2) in the plain directory. */
export function plainOpen(k: KernelState, name: string, flags: readonly OpenFlagName[], as: string, t: Trace, nobody = false): Outcome {
  const d = dir(k);
  let inode = d.names.get(name);
  const mode = flags.includes('O_RDWR') ? 'rw' : flags.includes('O_WRONLY') ? 'w' : 'r';
  // The mountpoint directory (0755) and the files root made in it (0644) are root's: another
  // user may read, not create or write (6.18: O_CREAT as uid 65534 after umount gave EACCES).
  if (inode === undefined) {
    if (!flags.includes('O_CREAT')) return err(t.vfs('ENOENT', 'path_openat', 'nothing is mounted: the mountpoint directory has no such name'));
    if (nobody) return err(t.vfs('EACCES', 'may_o_create', "nothing is mounted: the mountpoint directory is root's (0755)"));
    inode = k.vfs.newInode('file', '', k.backing.mounts.disk);
    d.names.set(name, inode);
  } else if (flags.includes('O_CREAT') && flags.includes('O_EXCL')) {
    return err(t.vfs('EEXIST', 'do_open', 'O_CREAT|O_EXCL of an existing name'));
  } else if (nobody && (mode !== 'r' || flags.includes('O_TRUNC'))) {
    return err(t.vfs('EACCES', 'may_open', "nothing is mounted: the file in the mountpoint directory is root's (0644)"));
  }
  const file = k.vfs.openFile(inode, mode, new Set(flags), 'user');
  if (flags.includes('O_TRUNC') && mode !== 'r') k.vfs.truncate(inode, 0);
  d.files.set(as, { file, pos: 0 });
  return ok();
}

export function plainStatNode(k: KernelState, name: string, t: Trace): Outcome {
  const inode = dirs.get(k)?.names.get(name);
  if (inode === undefined) return err(t.vfs('ENOENT', 'path_lookupat', 'nothing is mounted: the mountpoint directory has no such name'));
  return ok(k.vfs.size(inode));
}

export type PlainOp =
  | { op: 'read'; length: number; offset?: number }
  | { op: 'write'; data: Uint8Array; offset?: number }
  | { op: 'stat' }
  | { op: 'lseek'; whence: 'SET' | 'CUR' | 'END' | 'DATA' | 'HOLE'; offset: number }
  | { op: 'ftruncate'; size: number }
  | { op: 'fsync' }
  | { op: 'fallocate' }
  | { op: 'ioctl' }
  | { op: 'getxattr' }
  | { op: 'close'; fdName: string };

/** A syscall on a plain file of the mountpoint directory (disk filesystem semantics). */
export function plainSyscall(k: KernelState, p: PlainFile, o: PlainOp, t: Trace): Outcome {
  const f = p.file;
  const size = k.vfs.fileSize(f);
  switch (o.op) {
    case 'read': {
      if (f.mode === 'w') return err(t.vfs('EBADF', 'vfs_read', 'the fd was opened write-only'));
      const at = o.offset ?? p.pos;
      const data = k.vfs.pread(f, at, o.length);
      if (data.length > 0) k.vfs.notifyAccess(f.inode); // vfs_read
      if (o.offset === undefined) p.pos = at + data.length;
      return ok(summarize(data));
    }
    case 'write': {
      if (!isWriteMode(f.mode)) return err(t.vfs('EBADF', 'vfs_write', 'the fd was opened read-only'));
      const at = f.flags.has('O_APPEND') ? size : (o.offset ?? p.pos);
      k.vfs.pwrite(f, at, o.data);
      if (o.data.length > 0) k.vfs.notifyModify(f.inode); // vfs_write
      if (o.offset === undefined) p.pos = at + o.data.length; // pwrite(2) never moves f_pos
      return ok(o.data.length);
    }
    case 'stat':
      return ok(size);
    case 'lseek': {
      const base = o.whence === 'SET' ? 0 : o.whence === 'CUR' ? p.pos : o.whence === 'END' ? size : o.offset;
      if ((o.whence === 'DATA' || o.whence === 'HOLE') && o.offset >= size) return err(t.vfs('ENXIO', 'generic_file_llseek_size', 'SEEK_DATA/SEEK_HOLE at or past the end of the file'));
      const pos = o.whence === 'DATA' ? o.offset : o.whence === 'HOLE' ? size : base + o.offset;
      if (pos < 0) return err(t.vfs('EINVAL', 'vfs_setpos', 'negative file position'));
      p.pos = pos;
      return ok(pos);
    }
    case 'ftruncate':
      if (!isWriteMode(f.mode)) return err(t.vfs('EINVAL', 'do_ftruncate', 'ftruncate needs a file opened for writing'));
      k.vfs.truncate(f.inode, o.size);
      k.vfs.notifyModify(f.inode); // notify_change with ATTR_SIZE
      return ok();
    case 'fsync':
      return ok();
    case 'fallocate':
      if (!isWriteMode(f.mode)) return err(t.vfs('EBADF', 'vfs_fallocate', 'the fd was opened read-only'));
      k.vfs.notifyModify(f.inode);
      return ok();
    case 'ioctl':
      return err(t.vfs('ENOTTY', 'vfs_ioctl', 'the disk filesystem does not know this ioctl'));
    case 'getxattr':
      return err(t.vfs('ENODATA', 'vfs_getxattr', 'no such attribute'));
    case 'close':
      dir(k).files.delete(o.fdName);
      k.vfs.fput(f);
      return ok();
  }
}
