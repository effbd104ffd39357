// The client's steps of the case format (spec/case.ts): syscalls on the FUSE mount under test.
import type { IoBytes, IoText, SeekOffset, U32 } from './ranges.ts';

/** Client open(2) flags by name. */
export type OpenFlagName =
  | 'O_RDONLY'
  | 'O_WRONLY'
  | 'O_RDWR'
  | 'O_CREAT'
  | 'O_EXCL'
  | 'O_TRUNC'
  | 'O_APPEND'
  | 'O_DIRECT'
  | 'O_SYNC'
  | 'O_NOATIME'
  | 'O_NONBLOCK';

/** open(2) of a FUSE node; O_CREAT on a name not in the world sends CREATE (OPEN-17). */
export interface OpenStep {
  op: 'open';
  node: string;
  flags?: OpenFlagName[];
  as: string;
  /** The node of a named mount (MountStep.as); default: the mount under test. */
  mount?: string;
  /**
   * Open as an unprivileged user (uid and gid 65534) instead of root. The mount has allow_other
   * and no default_permissions, so the kernel leaves permission checks to the daemon; a PT open
   * then opens the backing file with the daemon's credentials (PTF-2, PTF-11).
   */
  user?: 'nobody';
  /**
   * Sim only: issue the syscall from a 32-bit (compat) task (DEV-2; for open, no forced
   * O_LARGEFILE, OPEN-1). Cases using it set `simOnly`.
   */
  compat32?: boolean;
}
/** opendir of a directory node, or of the root without `node`; `mount`: on that named mount (MountStep.as). */
export interface OpendirStep { op: 'opendir'; node?: string; as: string; mount?: string }
export interface ReaddirStep { op: 'readdir'; fd: string }
/** read(2), or pread(2) with `offset`. The value is the data read, summarised (observation.ts). */
export interface ReadStep { op: 'read'; fd: string; length: IoBytes; offset?: IoBytes }
/** write(2), or pwrite(2) with `offset`. The value is the number of bytes written. */
export interface WriteStep { op: 'write'; fd: string; data: IoText; offset?: IoBytes }
/** splice from the file into a pipe (IO-7, IO-8). */
export interface SpliceReadStep { op: 'spliceRead'; fd: string; length: IoBytes; offset?: IoBytes }
/** splice from a pipe into the file (IO-9, IO-10). */
export interface SpliceWriteStep { op: 'spliceWrite'; fd: string; data: IoText; offset?: IoBytes }
export interface MmapStep { op: 'mmap'; fd: string; shared: boolean; length?: IoBytes; write?: boolean; as: string }
export interface MapReadStep { op: 'mapRead'; map: string; length: IoBytes; offset?: IoBytes }
export interface MapWriteStep { op: 'mapWrite'; map: string; data: IoText; offset?: IoBytes }
export interface MunmapStep { op: 'munmap'; map: string }
/**
 * fstat of an fd or stat of a node (of the named mount `mount`, MountStep.as, when given); value =
 * size. `dontSync`: statx AT_STATX_DONT_SYNC (OBS-12).
 */
export interface StatStep { op: 'stat'; fd?: string; node?: string; dontSync?: boolean; mount?: string }
export interface LseekStep { op: 'lseek'; fd: string; whence: 'SET' | 'CUR' | 'END' | 'DATA' | 'HOLE'; offset: SeekOffset }
export interface FtruncateStep { op: 'ftruncate'; fd: string; size: IoBytes }
export interface FsyncStep { op: 'fsync'; fd: string; dataOnly?: boolean }
export interface FallocateStep { op: 'fallocate'; fd: string; offset: IoBytes; length: IoBytes }
/**
 * glibc's posix_fallocate(3): fallocate(2), and where the daemon has no FALLOCATE (EOPNOTSUPP,
 * IO-20) glibc's emulation: fstat, fstatfs (STATFS), then a 1-byte pread of every block of the
 * range below EOF and a 1-byte pwrite of a zero into each that read as zero or lies past EOF,
 * blocks of f_bsize (512 when the daemon reports 0, at most 4096). The requests are those of all
 * these syscalls. No value; the errno is the one posix_fallocate returns.
 */
export interface PosixFallocateStep { op: 'posixFallocate'; fd: string; offset: IoBytes; length: IoBytes }
/** A raw ioctl on a FUSE file (IO-22), e.g. FS_IOC_GETFLAGS for OPEN-21. */
export interface FileIoctlStep { op: 'fileIoctl'; fd: string; cmd: U32 }
/**
 * copy_file_range(2) from one client fd into another (IO-21). `fromOffset` / `toOffset` pass
 * explicit offsets (the fds' positions do not move; a FOPEN_STREAM or FOPEN_NONSEEKABLE file then
 * gives ESPIPE). `fromFile` / `toFile` name a world file the step opens itself, read-only as the
 * source or write-only as the destination, instead of a client fd: a copy between FUSE and
 * another filesystem, which the VFS refuses with EXDEV (generic_copy_file_checks) before any
 * request. Each side is exactly one of the fd and the file, and at least one side is a FUSE fd.
 */
export interface CopyRangeStep {
  op: 'copyRange';
  from?: string;
  to?: string;
  fromFile?: string;
  toFile?: string;
  fromOffset?: IoBytes;
  toOffset?: IoBytes;
  length: IoBytes;
}
/**
 * sendfile(2) from `from` to `to`, the file-to-file copy of a web server: do_splice_direct reads
 * the source with its ->splice_read (a PT file's backing file, IO-7) into an internal pipe and
 * writes the pipe with the destination's ->splice_write (IO-9), 64 KiB at a time. Each side is a
 * client fd, or a world file (`fromFile`, `toFile`) the step opens itself, read-only as the
 * source or write-only as the destination, at offset 0; at least one side is a FUSE fd.
 * `offset`: sendfile's offset argument, where the source is read (its fd's position then does
 * not move). Value: the bytes sent. Two ends that share their data (a file into itself, a PT
 * file and its backing file) at overlapping ranges copy between references to the same pages:
 * the bytes then depend on the CPU's copy routine, which neither target can promise.
 */
export interface SendfileStep {
  op: 'sendfile';
  from?: string;
  to?: string;
  fromFile?: string;
  toFile?: string;
  offset?: IoBytes;
  length: IoBytes;
}
/**
 * A non-blocking lock over a whole file: flock(2) with LOCK_NB (`flock`), or an open file
 * description lock (fcntl F_OFD_SETLK, `ofd`). `fd` is a client fd on a FUSE file, `daemonFd` a
 * daemon fd on a host world file (the backing file's own locks). Locks are not passed through
 * (IO-23): a FUSE file's lock is the VFS's own on the FUSE inode, unless the daemon answered INIT
 * with POSIX_LOCKS (for OFD) or FLOCK_LOCKS (for flock): then it is a SETLK request and the
 * daemon's answer is the result. A conflict is EAGAIN; an OFD write lock needs an fd open for
 * writing, a read lock one open for reading (EBADF). A file's locks go with its last close.
 */
export interface LockStep {
  op: 'lock';
  fd?: string;
  daemonFd?: string;
  kind: 'flock' | 'ofd';
  type: 'shared' | 'exclusive' | 'unlock';
}
/** fgetxattr(2) on a FUSE file (IO-23: xattrs go to the daemon, unchanged by PT). Value: the size read. */
export interface GetxattrStep { op: 'getxattr'; fd: string; name: string }
export interface CloseStep { op: 'close'; fd: string }
/**
 * unlink(2) of a node of the FUSE mount: LOOKUP, then UNLINK. Files open on it keep working (a
 * PT file keeps its backing file); the name is gone for later lookups.
 */
export interface UnlinkStep { op: 'unlink'; node: string; /** On that named mount (MountStep.as). */ mount?: string }
/**
 * rename(2) of a node of the FUSE mount onto another name in the same directory, replacing a node
 * of that name: RENAME. `to` may be a new name; later steps use it as a node name.
 */
export interface RenameStep { op: 'rename'; from: string; to: string; /** On that named mount (MountStep.as). */ mount?: string }

export type ClientStep =
  | OpenStep
  | OpendirStep
  | ReaddirStep
  | ReadStep
  | WriteStep
  | SpliceReadStep
  | SpliceWriteStep
  | MmapStep
  | MapReadStep
  | MapWriteStep
  | MunmapStep
  | StatStep
  | LseekStep
  | FtruncateStep
  | FsyncStep
  | FallocateStep
  | PosixFallocateStep
  | FileIoctlStep
  | CopyRangeStep
  | SendfileStep
  | LockStep
  | GetxattrStep
  | CloseStep
  | UnlinkStep
  | RenameStep;
