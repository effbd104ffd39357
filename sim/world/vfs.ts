// The small VFS the model runs in: superblocks with a stack depth, mounts (read-only too),
// inodes whose bytes live in memfs, struct file objects with reference counts (f_count), tasks
// with credentials, an fd table and RLIMIT_NOFILE, and inotify-like events on world files.
import { Volume } from 'memfs';
import type { BackingEvent, BackingEventKind } from '../../spec/observation.ts';
import type { CheckId } from '../../spec/check-ids.ts';
import type { BackingFs } from '../../fixtures/world.ts';

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
  /** The filesystem supports O_DIRECT (PTF-8). */
  directIo: boolean;
}

export interface Mount {
  readonly sb: Superblock;
  readonly readOnly: boolean;
}

export type InodeType = 'file' | 'dir' | 'fifo' | 'socket' | 'chardev' | 'symlink';

/**
 * The bytes of a file that lives outside the model: a real daemon's backing file under
 * `fusepass check --target sim`, read and written through an fd the host holds. Synchronous,
 * as the data path of the model is.
 */
export interface ExternalBytes {
  pread(pos: number, len: number): Uint8Array;
  pwrite(pos: number, data: Uint8Array): void;
  size(): number;
}

export interface WInode {
  readonly ino: number;
  readonly type: InodeType;
  /** The world file name inotify reports it under ('' for anonymous inodes). */
  readonly watchName: string;
  readonly mount: Mount;
  /** memfs path holding the bytes of a regular file. */
  readonly dataPath: string;
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
  /** Bytes kept outside the model (a real file); memfs holds them otherwise. */
  external?: ExternalBytes;
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
  /** Whether the file may touch the bytes (not O_PATH, a regular file). */
  memFd: number | null;
}

export function isWriteMode(m: AccessMode): boolean {
  return m === 'w' || m === 'rw';
}

/** Credentials of a task at a moment (captured into fb->cred, LIFE-6). */
export interface Cred {
  readonly capSysAdmin: boolean;
  readonly initUserNs: boolean;
  readonly label: 'root' | 'noCapSysAdmin' | 'userns';
}

export const CRED_ROOT: Cred = { capSysAdmin: true, initUserNs: true, label: 'root' };
export const CRED_NOCAP: Cred = { capSysAdmin: false, initUserNs: true, label: 'noCapSysAdmin' };
export const CRED_USERNS: Cred = { capSysAdmin: true, initUserNs: false, label: 'userns' };

/** capable(CAP_SYS_ADMIN): the effective cap in the initial user namespace (BOPEN-5). */
export function capableSysAdmin(c: Cred): boolean {
  return c.capSysAdmin && c.initUserNs;
}

export class Vfs {
  /** @internal The bytes' storage (memfs): not part of the package's API, whose types need no memfs. */
  readonly vol = new Volume();
  private nextIno = 100;
  private readonly events: BackingEvent[] = [];
  private readonly deferredFput: WFile[] = [];
  /** Every struct file ever created, for the teardown property. */
  readonly allFiles: WFile[] = [];
  /** Invariant violations found while running (must stay empty). */
  readonly bugs: string[] = [];
  /** Switched off by the benchmark, which creates many files. */
  trackFiles = true;

  newInode(type: InodeType, watchName: string, mount: Mount, bytes?: Uint8Array): WInode {
    const ino = this.nextIno++;
    const dataPath = `/i${ino}`;
    if (type === 'file') this.vol.writeFileSync(dataPath, bytes ?? new Uint8Array(0));
    return { ino, type, watchName, mount, dataPath, denyWrite: false, lsmDenyOpen: false, leased: false, notes: new Set() };
  }

  /** An inode whose bytes live outside the model (a real daemon's backing file). */
  newExternalInode(type: InodeType, mount: Mount, bytes: ExternalBytes): WInode {
    return { ...this.newInode(type === 'file' ? 'dir' : type, '', mount), type, external: bytes };
  }

  /** Create a struct file (do_dentry_open): IN_OPEN unless O_PATH (FMODE_NONOTIFY, LIFE-8). */
  openFile(inode: WInode, mode: AccessMode, flags: ReadonlySet<string>, role: WFile['role']): WFile {
    const f: WFile = { serial: nextFileSerial++, inode, mode, flags, role, count: 1, releases: 0, memFd: null };
    if (this.trackFiles) this.allFiles.push(f);
    if (inode.type === 'file' && mode !== 'path' && inode.external === undefined) f.memFd = this.inodeFd(inode);
    if (mode !== 'path') this.notify(inode, 'open');
    return f;
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
      f.memFd = null;
      // O_PATH files are FMODE_NONOTIFY: no close event (LIFE-8).
      if (f.mode !== 'path') this.notify(f.inode, isWriteMode(f.mode) ? 'close_write' : 'close_nowrite');
    }
  }

  notify(inode: WInode, kind: BackingEventKind): void {
    if (inode.watchName !== '') this.events.push(`${inode.watchName}:${kind}`);
  }

  takeEvents(): BackingEvent[] {
    return this.events.splice(0, this.events.length);
  }

  // ---- bytes --------------------------------------------------------------------------------

  size(inode: WInode): number {
    if (inode.external !== undefined) return inode.external.size();
    return this.vol.statSync(inode.dataPath).size as number;
  }

  readBytes(inode: WInode, pos: number, len: number): Uint8Array {
    if (inode.external !== undefined) return inode.external.pread(pos, len);
    const size = this.size(inode);
    const n = Math.max(0, Math.min(len, size - pos));
    const buf = new Uint8Array(n);
    if (n > 0) {
      const fd = this.vol.openSync(inode.dataPath, 'r');
      this.vol.readSync(fd, buf, 0, n, pos);
      this.vol.closeSync(fd);
    }
    return buf;
  }

  /**
   * One memfs descriptor per inode, opened on first use and kept: the model's struct files share
   * it (memfs opens cost a permission check each).
   */
  private readonly inodeFds = new Map<WInode, number>();

  private inodeFd(inode: WInode): number {
    let fd = this.inodeFds.get(inode);
    if (fd === undefined) {
      fd = this.vol.openSync(inode.dataPath, 'r+');
      this.inodeFds.set(inode, fd);
    }
    return fd;
  }

  /** pread on the file's bytes: at most `len`, fewer at EOF. */
  pread(f: WFile, pos: number, len: number): Uint8Array {
    if (len <= 0) return new Uint8Array(0);
    if (f.inode.external !== undefined) return f.inode.external.pread(pos, len);
    const buf = new Uint8Array(len);
    const n = this.vol.readSync(this.inodeFd(f.inode), buf, 0, len, pos);
    return n === len ? buf : buf.subarray(0, n);
  }

  pwrite(f: WFile, pos: number, data: Uint8Array): void {
    if (f.inode.external !== undefined) f.inode.external.pwrite(pos, data);
    else if (data.length > 0) this.vol.writeSync(this.inodeFd(f.inode), data, 0, data.length, pos);
  }

  fileSize(f: WFile): number {
    if (f.inode.external !== undefined) return f.inode.external.size();
    return this.vol.fstatSync(this.inodeFd(f.inode)).size as number;
  }
}

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
