// The daemon's steps of the case format (spec/case.ts): /dev/fuse, mount and INIT, the backing
// ioctls, the daemon's own files and replies.
import type { OpenReplySpec } from '../fixtures/world.ts';
import type { Errno } from './errno.ts';
import type { InitFlagName } from './uapi.ts';
import type { IoBytes, IoText, ReportedSize, S32, U32 } from './ranges.ts';

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

/** How the daemon opens a file it means to register (BOPEN-16). */
export type DaemonOpenMode = 'rdonly' | 'wronly' | 'rdwr' | 'path' | 'pathNofollow';

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
  /**
   * Mount a further FUSE mount instead of the mount under test, under this name, as a daemon
   * serving several mounts does: the scripted daemon serves World.nodes there too, through this
   * fd (which must be fresh), with a node table of its own (a CREATE, UNLINK or RENAME there, a
   * setOpenReply or setDaemonSize with its `mount`, stays there) and the same registration names. It is a
   * connection of its own: its own backing ids, INIT, abort and umount. Steps address it with
   * `mount`; client fds opened there belong to it. Each step observes the requests of every
   * named mount (Observation.mountRequests).
   */
  as?: string;
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
 * mount(2) of an overlayfs whose lower layer is the FUSE mount under test's root, with its upper
 * and work directories on the disk, as a container runtime stacks an image layer served by a
 * FUSE daemon. overlayfs asks the lower layer's statfs for its name length (STATFS to the daemon)
 * and takes depth = FUSE's s_stack_depth + 1: with passthrough that depth is the negotiated
 * max_stack_depth (STACK-1), so max_stack_depth 2 makes the mount fail with EINVAL (STACK-2).
 * Once mounted, the overlay holds a private clone of the FUSE mount: a plain umount of the FUSE
 * mount succeeds, but the superblock and its connection live on until the overlay goes (LIFE-23).
 * The kernel target unmounts the overlay first in its teardown. At most one per case.
 */
export interface MountOverlayOnFuseStep { op: 'mountOverlayOnFuse' }
/**
 * mount(2) of the `nestedFuse` world files' FUSE filesystem (no passthrough, its own daemon) on
 * the directory node World.nestedFuseAt of the FUSE mount under test: the path walk looks the
 * node up there (LOOKUP). Mounted, it keeps the outer mount busy (a plain umount is EBUSY), a
 * lazy umount of the outer mount takes it along, and a failed revalidation of the node's dentry
 * (d_invalidate) detaches it. At most one per case.
 */
export interface MountNestedFuseStep { op: 'mountNestedFuse' }
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
export interface SetOpenReplyStep {
  op: 'setOpenReply';
  node: string;
  reply: OpenReplySpec;
  /** On the named mount (MountStep.as) only; default: the mount under test. */
  mount?: string;
}
/** Change the size the daemon reports for a node (IO-25, IO-28). */
export interface SetDaemonSizeStep {
  op: 'setDaemonSize';
  node: string;
  size: ReportedSize;
  /** On the named mount (MountStep.as) only; default: the mount under test. */
  mount?: string;
}
/** Abort the connection through fusectl (LIFE-19..21); `mount`: a named mount's (MountStep.as). */
export interface AbortStep { op: 'abort'; mount?: string }
/**
 * umount2 of the FUSE mount under test (LIFE-22..26), or of a named mount (MountStep.as); EBUSY
 * when files are open and not lazy.
 */
export interface UmountStep { op: 'umount'; lazy?: boolean; mount?: string }

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
  | MountOverlayOnFuseStep
  | MountNestedFuseStep
  | DaemonIoctlStep
  | BackingOpenStep
  | RegisterManyStep
  | BackingCloseStep
  | SetOpenReplyStep
  | SetDaemonSizeStep
  | AbortStep
  | UmountStep;
