// The conformance case format: the source of truth for conformance/case.schema.json
// (generated with typescript-json-schema). A case is a script of steps played by the daemon and
// the client against one kernel (DESIGN.md "The one idea"). References are by name: a /dev/fuse
// fd `dev`, a daemon file `bf1`, a registration `b1`, a client fd `f1`, a mapping `m1`.
import type { World, OpenReplySpec } from '../fixtures/world.ts';
import type { CheckId } from './check-ids.ts';
import type { Errno } from './errno.ts';
import type { InitFlagName } from './uapi.ts';
import type { ExpectedObservation } from './observation.ts';

// ---- number ranges: every number a case gives is bounded here, with a clear loader message,
// or passed to the kernel as the syscall gets it and modelled by the sim (issue 11).

/**
 * A byte count or an offset into a file whose bytes the sim holds in memory: 0 to 16 MiB.
 * @minimum 0
 * @maximum 16777216
 * @TJS-type integer
 */
export type IoBytes = number;
/**
 * A file position lseek may be asked for, relative to SET, CUR or END: within ±1 TiB.
 * @minimum -1099511627776
 * @maximum 1099511627776
 * @TJS-type integer
 */
export type SeekOffset = number;
/**
 * A size a daemon reports (attributes only, never held in memory): 0 to 2^53 − 1.
 * @minimum 0
 * @maximum 9007199254740991
 * @TJS-type integer
 */
export type ReportedSize = number;
/**
 * A 32-bit unsigned word as the kernel reads it (ioctl command, flags, INIT fields).
 * @minimum 0
 * @maximum 4294967295
 * @TJS-type integer
 */
export type U32 = number;
/**
 * A signed 32-bit number as the kernel reads it (a raw fd or backing id).
 * @minimum -2147483648
 * @maximum 2147483647
 * @TJS-type integer
 */
export type S32 = number;
/**
 * Data a step writes, as text: at most 16 MiB.
 * @maxLength 16777216
 */
export type IoText = string;

/**
 * Kernel-version profiles (sim/profiles). `nopt`: 6.18 with CONFIG_FUSE_PASSTHROUGH=n; `6.1`: a
 * kernel before passthrough (Debian 12's, booted by npm run matrix; Ubuntu 22.04's 5.15 and
 * RHEL 9's 5.14 have no backing ioctls either, but were not booted here).
 */
export type ProfileName = '6.18' | '6.12' | '6.9' | 'nopt' | '6.1';
/** Every profile, newest first (nopt beside the 6.18 it is built from). */
export const PROFILE_NAMES: readonly ProfileName[] = ['6.18', '6.12', '6.9', 'nopt', '6.1'];

/** The daemon's FUSE_INIT reply (kernel-spec.md §1.2, §2). */
export interface InitReplySpec {
  /** Reply with this error instead (INIT-3). */
  error?: Errno;
  /** Default 7 (INIT-3). */
  major?: U32;
  /** Default: the kernel's minor. */
  minor?: U32;
  /**
   * 64-bit INIT flags by name; bits 32..63 travel in flags2, which the kernel reads only when
   * INIT_EXT is present (INIT-6).
   */
  flags?: InitFlagName[];
  /** Default 0 (INIT-4, INIT-8). Values outside 1..2 leave passthrough off. */
  maxStackDepth?: U32;
  /**
   * fuse_init_out.max_background and .congestion_threshold (16-bit); default 16 and 12, what the
   * scripted daemon always sends. 0 leaves the kernel's 12 and 9; so does a minor below 13
   * (process_init_limits). fusectl shows the values (observe `fusectlValues`).
   * @minimum 0
   * @maximum 65535
   * @TJS-type integer
   */
  maxBackground?: number;
  /**
   * @minimum 0
   * @maximum 65535
   * @TJS-type integer
   */
  congestionThreshold?: number;
  /**
   * Send only this many bytes of fuse_init_out (INIT-4); default the full 64.
   * @minimum 0
   * @maximum 64
   * @TJS-type integer
   */
  length?: number;
}

/**
 * Which credentials issue a backing ioctl:
 * - `root`: the daemon thread as it is (CAP_SYS_ADMIN in the initial user namespace)
 * - `noCapSysAdmin`: a thread that dropped CAP_SYS_ADMIN from its effective set (capset)
 * - `userns`: root of a new user namespace (all caps there, none in the initial one)
 * - `capDroppedProcess`: another process, root but started without CAP_SYS_ADMIN in its
 *   bounding set (a service with CapabilityBoundingSet=~CAP_SYS_ADMIN), given the /dev/fuse fd
 * - `nonRootCapSysAdmin`: another process, uid and gid 1000, holding CAP_SYS_ADMIN as an ambient
 *   capability (a service with User= and AmbientCapabilities=CAP_SYS_ADMIN): the check is the
 *   capability, not the uid (BOPEN-5)
 */
export type Cred = 'root' | 'noCapSysAdmin' | 'userns' | 'capDroppedProcess' | 'nonRootCapSysAdmin';

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

/** How the daemon opens a file it means to register (BOPEN-16). */
export type DaemonOpenMode = 'rdonly' | 'wronly' | 'rdwr' | 'path' | 'pathNofollow';

// ---- daemon steps -------------------------------------------------------------------------

/** open("/dev/fuse"), naming the fd. */
export interface DevOpenStep { op: 'devOpen'; as: string }
/** FUSE_DEV_IOC_SYNC_INIT on a /dev/fuse fd (DEV-10..12, INIT-14). */
export interface SyncInitStep { op: 'syncInit'; dev: string }
/**
 * mount(2) of the FUSE filesystem under test with this fd; the daemon answers INIT with `init`
 * and the step waits until the kernel processed the reply (INIT-13), unless `deferInit`.
 * Its value describes the INIT request the daemon received (INIT-1, INIT-2):
 * `"<major>.<minor> offers:<names>"` where names are those of INIT_EXT and PASSTHROUGH that the
 * request carried, comma-separated in that order, e.g. `"7.45 offers:INIT_EXT,PASSTHROUGH"`.
 */
export interface MountStep {
  op: 'mount';
  dev: string;
  /** Default when absent: `{ flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1 }`. */
  init?: InitReplySpec;
  deferInit?: boolean;
}

/** The INIT reply a mount step sends when the case gives none: passthrough with msd 1. */
export const DEFAULT_INIT_REPLY: InitReplySpec = { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1 };
/** Answer a deferred INIT (DEV-6). */
export interface ReplyInitStep { op: 'replyInit'; init?: InitReplySpec }
/** FUSE_DEV_IOC_CLONE: a new /dev/fuse fd attached to the same connection (DEV-9). */
export interface DevCloneStep { op: 'devClone'; dev: string; as: string }
/** read(2) on a /dev/fuse fd outside the daemon loop (DEV-3). */
export interface DevReadStep { op: 'devRead'; dev: string }
/** A raw ioctl word on a /dev/fuse fd, with a zeroed 64-byte argument or NULL (DEV-1). */
export interface DevIoctlStep {
  op: 'devIoctl';
  dev: string;
  cmd: U32;
  nullArg?: boolean;
  /**
   * Sim only: issue the syscall from a 32-bit (compat) task (DEV-2; for open, no forced
   * O_LARGEFILE, OPEN-1). Cases using it set `simOnly`.
   */
  compat32?: boolean;
}
/** close(2) of a /dev/fuse fd (LIFE-23..26). */
export interface DevCloseStep { op: 'devClose'; dev: string }
/** The daemon opens a world file (or an fd of a special kind) it may register. */
export interface DaemonOpenStep {
  op: 'daemonOpen';
  /** A world file name, or `devfuse:<dev>` for that /dev/fuse fd itself (BOPEN-9). */
  file: string;
  mode: DaemonOpenMode;
  as: string;
}
export interface DaemonCloseStep { op: 'daemonClose'; fd: string }
/**
 * pwrite(2) through a daemon fd on a world file: the daemon (or any process) writes the backing
 * file behind the FUSE kernel's back. A PT file sees the bytes at once; the FUSE inode's size and
 * page cache do not change (IO-28). Only fds of files on disk, tmpfs, overlay or roBind.
 */
/**
 * A /dev/fuse ioctl sent to the wrong fd: a daemon fd on a world file (the backing file itself,
 * a common slip) instead of /dev/fuse, with a zeroed 64-byte argument. Files on disk, tmpfs,
 * overlay or roBind: their filesystems know no such command (ENOTTY); an O_PATH fd is EBADF.
 */
export interface DaemonIoctlStep { op: 'daemonIoctl'; fd: string; cmd: 'CLONE' | 'BACKING_OPEN' | 'BACKING_CLOSE' | 'SYNC_INIT' }
/**
 * umount2(2) of the overlayfs the `overlay` world files live on (the one world filesystem with a
 * mount of its own). An open or registered file on it keeps it busy: EBUSY, unless `lazy`
 * (MNT_DETACH); after it the files' names are gone, the open ones keep working.
 */
export interface UmountWorldFsStep { op: 'umountWorldFs'; on: 'overlay'; lazy?: boolean }
/**
 * unlink(2) of a world file's name, as a daemon does with a temporary backing file: fds and
 * registrations keep the file alive, a later daemonOpen or inspectBacking of the name fails with
 * ENOENT. Files on disk, tmpfs or overlay (roBind: EROFS).
 */
export interface UnlinkWorldFileStep { op: 'unlinkWorldFile'; file: string }
export interface DaemonWriteStep { op: 'daemonWrite'; fd: string; data: IoText; offset?: IoBytes }
/** FUSE_DEV_IOC_BACKING_OPEN (§4). On success the returned id is named `as`. */
export interface BackingOpenStep {
  op: 'backingOpen';
  dev: string;
  /** A daemon fd name, or a raw fd number (−1, a closed number) for BOPEN-7. */
  fd: string | S32;
  flags?: U32;
  /**
   * @minimum 0
   * @maximum 9007199254740991
   * @TJS-type integer
   */
  padding?: number;
  /** Pass a NULL argument (BOPEN-3, DEV-4). */
  nullArg?: boolean;
  cred?: Cred;
  /**
   * If the ioctl is still blocked after this many ms (SYNC_INIT fd not attached, DEV-5, DEV-13),
   * interrupt it with a signal; it then fails with EINTR. Without it such a step times out.
   */
  /**
   * @minimum 1
   * @maximum 10000
   * @TJS-type integer
   */
  interruptAfterMs?: number;
  as?: string;
  /**
   * Sim only: issue the syscall from a 32-bit (compat) task (DEV-2; for open, no forced
   * O_LARGEFILE, OPEN-1). Cases using it set `simOnly`.
   */
  compat32?: boolean;
}
/**
 * A loop of registrations, as a daemon that registers a file at every open and never closes the
 * ids: `count` times open world file `file` read-only, BACKING_OPEN it (as root) and close the fd.
 * Each id keeps the file open with no fd left (LIFE-1, LIFE-9, OBS-9), so RLIMIT_NOFILE (1024 by
 * default) does not bound them. Value: the ids obtained; errno: the failure that stopped the
 * loop, if one did. Files on disk, tmpfs, overlay, roBind or memfd.
 */
export interface RegisterManyStep {
  op: 'registerMany';
  dev: string;
  file: string;
  /**
   * @minimum 1
   * @maximum 10000
   * @TJS-type integer
   */
  count: number;
}
/** FUSE_DEV_IOC_BACKING_CLOSE (§6). */
export interface BackingCloseStep {
  op: 'backingClose';
  dev: string;
  /** A registration name, or a raw id (0, −1, 999) for BCLOSE-6/7. */
  id: string | S32;
  nullArg?: boolean;
  cred?: Cred;
  /**
   * If the ioctl is still blocked after this many ms (SYNC_INIT fd not attached, DEV-5, DEV-13),
   * interrupt it with a signal; it then fails with EINTR. Without it such a step times out.
   */
  /**
   * @minimum 1
   * @maximum 10000
   * @TJS-type integer
   */
  interruptAfterMs?: number;
  /**
   * Sim only: issue the syscall from a 32-bit (compat) task (DEV-2; for open, no forced
   * O_LARGEFILE, OPEN-1). Cases using it set `simOnly`.
   */
  compat32?: boolean;
}
/** Change how the daemon answers OPEN/CREATE/OPENDIR for a node from now on. */
export interface SetOpenReplyStep { op: 'setOpenReply'; node: string; reply: OpenReplySpec }
/** Change the size the daemon reports for a node (IO-25, IO-28). */
export interface SetDaemonSizeStep { op: 'setDaemonSize'; node: string; size: ReportedSize }
/** Abort the connection through fusectl (LIFE-19..21). */
export interface AbortStep { op: 'abort' }
/** umount2 of the FUSE mount under test (LIFE-22..26); EBUSY when files are open and not lazy. */
export interface UmountStep { op: 'umount'; lazy?: boolean }

// ---- client steps -------------------------------------------------------------------------

/** open(2) of a FUSE node; O_CREAT on a name not in the world sends CREATE (OPEN-17). */
export interface OpenStep {
  op: 'open';
  node: string;
  flags?: OpenFlagName[];
  as: string;
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
export interface OpendirStep { op: 'opendir'; node?: string; as: string }
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
/** fstat of an fd or stat of a node; value = size. `dontSync`: statx AT_STATX_DONT_SYNC (OBS-12). */
export interface StatStep { op: 'stat'; fd?: string; node?: string; dontSync?: boolean }
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
export interface UnlinkStep { op: 'unlink'; node: string }
/**
 * rename(2) of a node of the FUSE mount onto another name in the same directory, replacing a node
 * of that name: RENAME. `to` may be a new name; later steps use it as a node name.
 */
export interface RenameStep { op: 'rename'; from: string; to: string }

// ---- observer steps -----------------------------------------------------------------------

/** Read a world file's bytes directly, outside FUSE: did data reach the backing file? */
export interface InspectBackingStep { op: 'inspectBacking'; file: string; length?: IoBytes; offset?: IoBytes }

/**
 * Read a kernel observable (kernel-spec.md §13) as a canonical value:
 * - `devFdinfoKeys` / `fileFdinfoKeys`: sorted field names of /proc/self/fdinfo of `dev` / `fd`,
 *   comma-separated (OBS-1, OBS-2, OBS-3)
 * - `mapsPath`: `fuse` when /proc/self/maps names the mapping `map` by its FUSE path, else `backing` (OBS-4)
 * - `fusectlEntries`: sorted names in /sys/fs/fuse/connections/<N>/ of the mount under test (OBS-5)
 * - `fusectlWaiting`: the number in its `waiting` file (OBS-6)
 * - `fusectlValues`: its `max_background` and `congestion_threshold` files, as
 *   `max_background:<n>,congestion_threshold:<n>` (OBS-5)
 * - `fdTableHasFile`: `yes` when any fd of the daemon's process refers to world file `file`,
 *   as lsof would show it, else `no` (OBS-9)
 * - `lsofHasFile`: `yes` when any process on the machine has world file `file` open by an fd or
 *   mapped, found as lsof finds it: by mount and inode in /proc/PID/fdinfo, by device and inode in
 *   /proc/PID/maps. A registration (LIFE-1) or a PT open's backing file (PTF-1) is in no table,
 *   and a PT mapping shows as the FUSE file (maps shows file_user_inode); over an overlayfs file
 *   its real file is mapped, and that shows as the backing file. Files on disk, tmpfs, overlay
 *   or roBind (OBS-9)
 * - `fuseTracepoints`: sorted names under tracefs events/fuse/ (OBS-10)
 * - `initOffer`: the whole INIT request the kernel sent at the last mount, `<major>.<minor>
 *   <FLAG,FLAG,...>` in bit order (INIT-1, INIT-2); empty before the first mount
 */
export interface ObserveStep {
  op: 'observe';
  what: 'devFdinfoKeys' | 'fileFdinfoKeys' | 'mapsPath' | 'fusectlEntries' | 'fusectlWaiting' | 'fusectlValues' | 'fdTableHasFile' | 'lsofHasFile' | 'fuseTracepoints' | 'initOffer';
  dev?: string;
  fd?: string;
  map?: string;
  file?: string;
}

// ---- sim-only steps (states the kernel cannot reach in a bounded run) -----------------------

/** Move the connection's id cursor (BID-5 wrap) or fill the id space (BID-6). */
export interface SimIdCursorStep { op: 'simIdCursor'; next: S32; fillToMax?: boolean }
/** Make the next allocation fail (BOPEN-11 fuse_backing, BOPEN-12 idr). */
export interface SimFailAllocStep { op: 'simFailAlloc'; what: 'fuseBacking' | 'idr' }
/**
 * Start (`begin`) a parallel DIO write on a DIRECT_IO|PARALLEL_DIRECT_WRITES client fd and leave
 * it in flight (IOM-18: iocachectr--, no fb), or finish it (`end`). Sim only (IOM-5, IOM-6).
 */
export interface SimParallelDioWriteStep { op: 'simParallelDioWrite'; fd: string; phase: 'begin' | 'end' }
/**
 * Another task's actions, run when the next step reaches `at` and is about to sleep or sits
 * between two checks: `cachedIoWait` = a cached open (or ALLOW_MMAP shared mmap) waiting for
 * parallel DIO writes (IOM-5, IOM-6); `mmapBeforeCachedIo` = a DIO shared mmap between the IOM-11
 * check and its cached-io open (IOM-15). Their requests and events count as the next step's.
 * Sim only.
 */
export interface SimInterleaveStep { op: 'simInterleave'; at: 'cachedIoWait' | 'mmapBeforeCachedIo'; actions: Action[] }

export type DaemonStep =
  | DevOpenStep
  | SyncInitStep
  | MountStep
  | ReplyInitStep
  | DevCloneStep
  | DevReadStep
  | DevIoctlStep
  | DevCloseStep
  | DaemonOpenStep
  | DaemonCloseStep
  | DaemonWriteStep
  | UnlinkWorldFileStep
  | UmountWorldFsStep
  | DaemonIoctlStep
  | BackingOpenStep
  | RegisterManyStep
  | BackingCloseStep
  | SetOpenReplyStep
  | SetDaemonSizeStep
  | AbortStep
  | UmountStep;

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

export type Action =
  | DaemonStep
  | ClientStep
  | InspectBackingStep
  | ObserveStep
  | SimIdCursorStep
  | SimFailAllocStep
  | SimParallelDioWriteStep
  | SimInterleaveStep;
export type StepOp = Action['op'];

/** One step of a case: an action, the check ids it exercises, and optionally what must be seen. */
export type Step = Action & {
  /**
   * Check ids this step exercises, each once; the sim's explanation of the step must pass through them.
   * @uniqueItems true
   */
  checks?: CheckId[];
  /** Expected observation, checked on every target. */
  expect?: ExpectedObservation;
  note?: string;
};

export interface Case {
  /** Unique, kebab-case; the file name without .json. */
  id: string;
  title: string;
  /** What a daemon author learns from this case. */
  description?: string;
  /**
   * Spec check ids the case covers, each once.
   * @uniqueItems true
   */
  checks: CheckId[];
  /**
   * Profiles the case applies to; default all profiles that have passthrough. A case that can
   * run nowhere is broken: at least one, each once.
   * @minItems 1
   * @uniqueItems true
   */
  profiles?: ProfileName[];
  /** Why the case runs on the sim only (a state the kernel cannot reach in a bounded run). */
  simOnly?: string;
  world: World;
  steps: Step[];
}
