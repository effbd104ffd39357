// The small VFS the model runs in: superblocks with a stack depth, mounts (read-only too),
// inodes whose bytes live in memory (FileBytes), struct file objects with reference counts (f_count), tasks
// with credentials, an fd table and RLIMIT_NOFILE, and inotify-like events on world files.
import type { BackingEvent, BackingEventKind } from '../../spec/observation.ts';
import type { CheckId } from '../../spec/check-ids.ts';
import type { BackingFs } from '../../fixtures/world.ts';
import type { Cred as CredName } from '../../spec/case.ts';
import { locksRemoveFile, type LockTable } from '../locks.ts';

/**
 * Superblock kinds: the world's filesystems (a read-only bind and `self` are mounts of the disk
 * and of the FUSE mount under test, not superblocks of their own), /dev and the mount under test.
 */
export type SbKind = Exclude<BackingFs, 'roBind' | 'self'> | 'devtmpfs' | 'fuseUnderTest';

export interface Superblock {
  readonly kind: SbKind;
  /** s_stack_depth (STACK-1, STACK-2). */
  stackDepth: number;
  /** The filesystem's file_operations provide ->mmap (IO-12). */
  hasMmap: boolean;
  /** Its ->mmap refuses with ENODEV (kernfs_fop_mmap for an attribute without one). */
  mmapEnodev?: boolean | undefined;
  /** The filesystem supports O_DIRECT (PTF-8). */
  directIo: boolean;
  /**
   * Its files refuse write opens with EACCES, even for root, and where: `permission` in the path
   * walk's may_open (procfs sysctl test_perm on a 0444 entry), which backing_file_open does not
   * call; `open` in the file's ->open (kernfs_fop_open on a read-only attribute), which it does.
   */
  refusesWriteOpen?: 'permission' | 'open' | undefined;
  /**
   * The file_operations of an inner FUSE mount the model serves through a connection of its own
   * (sim/inner-fuse.ts); absent for filesystems whose bytes the model reads in memory.
   */
  fops?: InnerFileOps | undefined;
}

/**
 * What the VFS asks of an inner FUSE mount's files: ->open, ->read_iter, ->write_iter, i_size,
 * ->flush and ->release, each a FUSE request or the connection's page cache.
 */
export interface InnerFileOps {
  /** do_dentry_open's ->open (never for O_PATH). */
  open(f: WFile): void;
  /** vfs_iter_read (`splice`: the splice path, filemap_splice_read). */
  read(f: WFile, pos: number, len: number, splice: boolean): Uint8Array;
  /** vfs_iter_write. */
  write(f: WFile, pos: number, data: Uint8Array): void;
  /** i_size as the file's FUSE inode caches it. */
  size(f: WFile): number;
  /** filp_close: ->flush. */
  flush(f: WFile): void;
  /** __fput: ->release. */
  release(f: WFile): void;
}

export interface Mount {
  readonly sb: Superblock;
  readonly readOnly: boolean;
}

export type InodeType = 'file' | 'dir' | 'fifo' | 'socket' | 'chardev' | 'symlink';

/**
 * The bytes of a regular file: in memory for the model's own files (FileBytes), or a file
 * outside the model, a real daemon's backing file under `fusepass check --target sim`, read and
 * written through an fd the host holds. Synchronous, as the data path of the model is.
 */
export interface ExternalBytes {
  /**
   * The bytes of [pos, pos + len) up to the size. May be a view of the file's own buffer, valid
   * until its next pwrite or truncate: a caller that keeps them copies them (the page cache does).
   */
  pread(pos: number, len: number): Uint8Array;
  pwrite(pos: number, data: Uint8Array): void;
  size(): number;
  truncate?(size: number): void;
}

/** A model file's bytes: a buffer that grows by doubling; what lies past the size is zero. */
export class FileBytes implements ExternalBytes {
  private buf: Uint8Array;
  private len: number;
  /** `buf` is shared (a default content): copied before the first change. */
  private shared: boolean;

  /**
   * Takes `init` as its own buffer, or with `shared` as a read-only one it copies before the
   * first write (every world file starts as the same 4096 'B's).
   */
  constructor(init: Uint8Array, shared = false) {
    this.buf = init;
    this.len = init.length;
    this.shared = shared;
  }

  pread(pos: number, len: number): Uint8Array {
    const end = Math.min(this.len, pos + len);
    // A view, not a copy: a PT read of a page per operation made the copy a quarter of the
    // model's time (npm run bench sim).
    return end <= pos ? new Uint8Array(0) : this.buf.subarray(pos, end);
  }

  pwrite(pos: number, data: Uint8Array): void {
    if (data.length === 0) return;
    const end = pos + data.length;
    this.own();
    this.reserve(end);
    this.buf.set(data, pos);
    if (end > this.len) this.len = end;
  }

  size(): number {
    return this.len;
  }

  truncate(size: number): void {
    this.own();
    if (size < this.len) this.buf.fill(0, size, this.len);
    else this.reserve(size);
    this.len = size;
  }

  private own(): void {
    if (!this.shared) return;
    this.buf = this.buf.slice();
    this.shared = false;
  }

  private reserve(n: number): void {
    if (n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(n, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
}

export interface WInode {
  readonly ino: number;
  /** flock and OFD locks taken through daemon fds, created at the first lock. */
  locks?: LockTable;
  readonly type: InodeType;
  /** The world file name inotify reports it under ('' for anonymous inodes). */
  /** The name its events carry: a world file's, a watchFuseFile step's on a plain file, or '' (none). */
  watchName: string;
  readonly mount: Mount;
  /** i_writecount < 0: write opens fail with ETXTBSY (PTF-4). */
  denyWrite: boolean;
  /** security_file_open denies with EACCES (PTF-6). */
  lsmDenyOpen: boolean;
  /** A lease another task holds; broken at the next open (PTF-7). */
  leased: boolean;
  /** For a symlink: the regular file it points to. */
  target?: WInode;
  /** This inode is the /dev/fuse character device. */
  devFuse?: boolean;
  /** A regular file's bytes (FileBytes, or a real file's under check --target sim). */
  bytes?: ExternalBytes;
  /** Check ids of things done to this file through FUSE (explains inspectBacking). */
  notes: Set<CheckId>;
}

export type AccessMode = 'r' | 'w' | 'rw' | 'path';

let nextFileSerial = 1;

/** A struct file. `count` is f_count; the object is released when it reaches 0 (fput). */
export interface WFile {
  readonly serial: number;
  readonly inode: WInode;
  readonly mode: AccessMode;
  /** O_APPEND, O_DIRECT, ... as given to the open. */
  readonly flags: ReadonlySet<string>;
  /** What the file is, for reports: a task's open, a per-open backing file (PTF-1). */
  readonly role: 'user' | 'perOpen';
  count: number;
  /** Times it was released: must end at exactly 1 (property tests). */
  releases: number;
}

export function isWriteMode(m: AccessMode): boolean {
  return m === 'w' || m === 'rw';
}

/** Credentials of a task at a moment (captured into fb->cred, LIFE-6). */
export interface Cred {
  readonly capSysAdmin: boolean;
  readonly initUserNs: boolean;
  readonly label: CredName;
}

export const CRED_ROOT: Cred = { capSysAdmin: true, initUserNs: true, label: 'root' };
export const CRED_NOCAP: Cred = { capSysAdmin: false, initUserNs: true, label: 'noCapSysAdmin' };
export const CRED_USERNS: Cred = { capSysAdmin: true, initUserNs: false, label: 'userns' };
/** Another process without CAP_SYS_ADMIN: for capable() the same as a thread that dropped it. */
export const CRED_CAP_DROPPED_PROCESS: Cred = { capSysAdmin: false, initUserNs: true, label: 'capDroppedProcess' };
/** uid 1000 with CAP_SYS_ADMIN: capable() looks at the capability, not the uid (BOPEN-5). */
export const CRED_NONROOT_CAP_SYS_ADMIN: Cred = { capSysAdmin: true, initUserNs: true, label: 'nonRootCapSysAdmin' };

/** capable(CAP_SYS_ADMIN): the effective cap in the initial user namespace (BOPEN-5). */
export function capableSysAdmin(c: Cred): boolean {
  return c.capSysAdmin && c.initUserNs;
}

export class Vfs {
  private nextIno = 100;
  private events: BackingEvent[] = [];
  private readonly deferredFput: WFile[] = [];
  /** Every struct file ever created, for the teardown property. */
  readonly allFiles: WFile[] = [];
  /** Invariant violations found while running (must stay empty). */
  readonly bugs: string[] = [];
  /** Switched off by the benchmark, which creates many files. */
  trackFiles = true;

  /** `sharedBytes`: `bytes` is a shared default content (FileBytes copies it before a change). */
  newInode(type: InodeType, watchName: string, mount: Mount, bytes?: Uint8Array, sharedBytes = false): WInode {
    const ino = this.nextIno++;
    // Every optional field present (undefined until set), so that all inodes share one shape.
    const inode: WInode = { ino, type, watchName, mount, denyWrite: false, lsmDenyOpen: false, leased: false, notes: new Set(), locks: undefined, target: undefined, devFuse: undefined, bytes: undefined };
    if (type === 'file') inode.bytes = new FileBytes(bytes ?? new Uint8Array(0), sharedBytes);
    return inode;
  }

  /** An inode whose bytes live outside the model (a real daemon's backing file). */
  newExternalInode(type: InodeType, mount: Mount, bytes: ExternalBytes): WInode {
    return { ...this.newInode(type === 'file' ? 'dir' : type, '', mount), type, bytes };
  }

  /** Create a struct file (do_dentry_open): IN_OPEN unless O_PATH (FMODE_NONOTIFY, LIFE-8). */
  openFile(inode: WInode, mode: AccessMode, flags: ReadonlySet<string>, role: WFile['role']): WFile {
    const f: WFile = { serial: nextFileSerial++, inode, mode, flags, role, count: 1, releases: 0 };
    if (this.trackFiles) this.allFiles.push(f);
    if (mode !== 'path') {
      inode.mount.sb.fops?.open(f);
      this.notify(inode, 'open');
    }
    return f;
  }

  /** filp_close: ->flush for every close(2) of an fd (not for O_PATH), then fput. */
  close(f: WFile): void {
    this.flush(f);
    this.fput(f);
  }

  /** ->flush alone: another process closes its copy of the fd (the reference is not ours). */
  flush(f: WFile): void {
    if (f.mode !== 'path') f.inode.mount.sb.fops?.flush(f);
  }

  /**
   * A file the world opens before the case's watches exist and closes after its teardown (the
   * kernel target's dispose): no event anyone sees, and not among the files the teardown
   * invariant expects released.
   */
  openFileUnwatched(inode: WInode, mode: AccessMode): WFile {
    return { serial: nextFileSerial++, inode, mode, flags: new Set(), role: 'user', count: 1, releases: 0 };
  }

  /**
   * A struct file whose ->open ran but whose do_dentry_open failed after it (O_DIRECT without
   * FMODE_CAN_ODIRECT): FMODE_OPENED is set, so fput's __fput reports a close event without any
   * IN_OPEN before it (6.18, a PT O_DIRECT open of a sysfs file).
   */
  openFileFailedAfterOpen(inode: WInode, mode: AccessMode, flags: ReadonlySet<string>): void {
    const f: WFile = { serial: nextFileSerial++, inode, mode, flags, role: 'perOpen', count: 1, releases: 0 };
    if (this.trackFiles) this.allFiles.push(f);
    this.fput(f);
  }

  get(f: WFile): WFile {
    if (f.count <= 0) this.bugs.push(`get of released file #${f.serial}`);
    f.count++;
    return f;
  }

  /** fput: the release is deferred to the return to userspace (LIFE-7, OBS-7); see settle(). */
  fput(f: WFile): void {
    f.count--;
    if (f.count < 0) this.bugs.push(`f_count of file #${f.serial} went negative`);
    if (f.count === 0) this.deferredFput.push(f);
  }

  /**
   * Run deferred fputs (task_work at syscall exit): close events fire now. task_work runs its
   * list last-queued first (no FIFO guarantee since 5.x), so a per-open file put before its
   * registered file is released after it.
   */
  settle(): void {
    while (this.deferredFput.length > 0) {
      const f = this.deferredFput.pop()!;
      f.releases++;
      if (f.releases > 1) this.bugs.push(`file #${f.serial} released twice`);
      locksRemoveFile(f.inode.locks, f);
      // O_PATH files are FMODE_NONOTIFY: no close event (LIFE-8); __fput reports it before ->release.
      if (f.mode !== 'path') {
        this.notify(f.inode, isWriteMode(f.mode) ? 'close_write' : 'close_nowrite');
        f.inode.mount.sb.fops?.release(f);
      }
    }
  }

  notify(inode: WInode, kind: BackingEventKind): void {
    this.notifyWatch(inode.watchName, kind);
  }

  /** An event of the watch named `watch` ('' for an inode nobody watches). */
  notifyWatch(watch: string, kind: BackingEventKind): void {
    if (watch === '') return;
    if ((kind === 'access' || kind === 'modify') && !this.ioEvents) return;
    this.events.push(`${watch}:${kind}`);
  }

  /**
   * The watches also report IN_ACCESS and IN_MODIFY (World.watchIo); off, fsnotify_access and
   * fsnotify_modify report nothing a case observes.
   */
  ioEvents = false;

  /** fsnotify_access (vfs_read etc.): IN_ACCESS, seen only with World.watchIo. */
  notifyAccess(inode: WInode): void {
    this.notify(inode, 'access');
  }

  /** fsnotify_modify (vfs_write etc.): IN_MODIFY, seen only with World.watchIo. */
  notifyModify(inode: WInode): void {
    this.notify(inode, 'modify');
  }

  takeEvents(): BackingEvent[] {
    // Hand over the list and start a new one (a splice copied it, every step).
    const evs = this.events;
    this.events = [];
    return evs;
  }

  // ---- bytes --------------------------------------------------------------------------------

  /** A regular file's bytes (an empty store for any other inode). */
  private bytesOf(inode: WInode): ExternalBytes {
    return inode.bytes ?? EMPTY;
  }

  size(inode: WInode): number {
    return this.bytesOf(inode).size();
  }

  readBytes(inode: WInode, pos: number, len: number): Uint8Array {
    return this.bytesOf(inode).pread(pos, len);
  }

  /** pread on the file's bytes: at most `len`, fewer at EOF (`splice`: through the splice path). */
  pread(f: WFile, pos: number, len: number, splice = false): Uint8Array {
    if (len <= 0) return new Uint8Array(0);
    const fops = f.inode.mount.sb.fops;
    return fops !== undefined ? fops.read(f, pos, len, splice) : this.bytesOf(f.inode).pread(pos, len);
  }

  pwrite(f: WFile, pos: number, data: Uint8Array): void {
    const fops = f.inode.mount.sb.fops;
    if (fops !== undefined) fops.write(f, pos, data);
    else this.bytesOf(f.inode).pwrite(pos, data);
  }

  fileSize(f: WFile): number {
    const fops = f.inode.mount.sb.fops;
    return fops !== undefined ? fops.size(f) : this.bytesOf(f.inode).size();
  }

  truncate(inode: WInode, size: number): void {
    this.bytesOf(inode).truncate?.(size);
  }
}

const EMPTY: ExternalBytes = { pread: () => new Uint8Array(0), pwrite: () => {}, size: () => 0 };

/** A task: credentials, an fd table and RLIMIT_NOFILE (BID-9, OBS-9). */
export class Task {
  readonly fds = new Map<number, TaskFile>();
  constructor(
    public cred: Cred,
    public rlimitNofile: number,
  ) {}

  /** Lowest free fd >= 3 (0..2 are the standard streams), or EMFILE at RLIMIT_NOFILE. */
  install(file: TaskFile): number | 'EMFILE' {
    if (this.fds.size + 3 >= this.rlimitNofile) return 'EMFILE';
    let fd = 3;
    while (this.fds.has(fd)) fd++;
    this.fds.set(fd, file);
    return fd;
  }
}

/** What an fd refers to: a world file, or a /dev/fuse file (held as an opaque object). */
export type TaskFile = { kind: 'world'; file: WFile } | { kind: 'dev'; devName: string };
