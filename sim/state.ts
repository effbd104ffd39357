// The whole modelled machine: one FUSE mount under test with its connection, the daemon task
// and its /dev/fuse fds, the client task's open files and mappings, and the backing world.
import type { World } from '../fixtures/world.ts';
import type { FuseOpcodeName } from '../spec/uapi.ts';
import { ModelDaemon } from './daemon.ts';
import type { DaemonPort, FuseRequest, Sent } from './daemon-port.ts';
import { newFuseConn } from './inode.ts';
import type { Trace } from './explain.ts';
import type { Profile } from './profiles.ts';
import type { FuseConn, FuseInode, FuseOpenFile, Mapping } from './types.ts';
import { buildBackingWorld, type BackingWorld } from './world/build.ts';
import { InnerFuse, type InnerFuseKind } from './inner-fuse.ts';
import { CRED_ROOT, CRED_USERNS, Task, Vfs, type Mount, type Superblock, type WFile, type WInode } from './world/vfs.ts';

/** An open /dev/fuse struct file (private_data: NULL, the SYNC_INIT marker, or a fuse_dev). */
export interface DevFile {
  readonly name: string;
  fd: number | null;
  /** The attached fuse_dev's connection, or null. */
  conn: FuseConn | null;
  /** FUSE_DEV_SYNC_INIT marker in private_data (DEV-10, DEV-13). */
  syncInitMarker: boolean;
  closed: boolean;
  /** The /dev/fuse struct file itself (what fget_raw finds for this fd, BOPEN-9). */
  readonly file: WFile;
}

/**
 * Deliberately wrong variants of one check, for testing the differential fuzzer only (a planted
 * bug it must find and shrink). Never reachable from the CLI or from case files.
 * - `bclose-no-enoent`: BACKING_CLOSE of an id that is not registered returns 0 instead of
 *   ENOENT (breaks BCLOSE-7).
 */
export type SimMutation = 'bclose-no-enoent';

export interface KernelOptions {
  /** RLIMIT_NOFILE of the daemon task (BID-9). Default 1024. */
  rlimitNofile?: number;
  /** Tests only: a planted bug (see SimMutation). */
  mutation?: SimMutation;
  /**
   * The daemon the kernel talks to; default: the scripted daemon of the world. A real daemon's
   * port (check/sim-port.ts) answers with what the program replied.
   */
  port?: DaemonPort;
  /**
   * The machine's VFS, for the kernel state of an inner FUSE mount (sim/inner-fuse.ts) that
   * shares it with the mount under test; default: a VFS of its own.
   */
  vfs?: Vfs;
  /**
   * The mount under test's state, for a further mount of the case (MountStep.as): the new state
   * is that mount's connection, inodes, client files and daemon requests, on the same machine
   * (VFS, daemon task and its fds, /dev/fuse fds, registration names, world files).
   */
  machine?: KernelState;
}

let nextConnMinor = 40;

/** A world file's regular inode; a sizeFrom file the daemon can no longer stat (unlinked) has none and reports 0, as on the kernel target. */
function worldInode(backing: BackingWorld, file: string): WInode | undefined {
  const f = backing.files.get(file);
  return f === undefined || f.unlinked === true ? undefined : (f.inode.target ?? f.inode);
}

export class KernelState {
  readonly vfs: Vfs;
  readonly daemonTask: Task;
  /** The scripted daemon's nodes and replies (what the daemon steps of a case change). */
  readonly daemon: ModelDaemon;
  /** Who answers the kernel's requests: the scripted daemon, or a real one. */
  readonly port: DaemonPort;
  /** Requests sent during the current step, in order (the observation's request list). */
  private requestLog: FuseOpcodeName[] = [];
  readonly fuseSb: Superblock = { kind: 'fuseUnderTest', stackDepth: 0, hasMmap: true, directIo: true, mmapEnodev: undefined, refusesWriteOpen: undefined, fops: undefined };
  readonly fuseMount: Mount = { sb: this.fuseSb, readOnly: false };
  readonly backing: BackingWorld;
  conn: FuseConn | null = null;
  readonly devFiles: Map<string, DevFile>;
  /** Daemon fd names -> fd numbers in daemonTask. */
  readonly daemonFds: Map<string, number>;
  /** Registration names -> ids (backingOpen `as`). */
  readonly regs: Map<string, number>;
  readonly fuseInodes = new Map<string, FuseInode>();
  readonly clientFiles = new Map<string, FuseOpenFile>();
  readonly maps = new Map<string, Mapping>();
  /**
   * Sim-only interleavings: actions another task performs while this one sleeps or sits between
   * two checks (IOM-5, IOM-6, IOM-15). One-shot, keyed by the kernel point.
   */
  readonly interleave = new Map<'cachedIoWait' | 'mmapBeforeCachedIo', () => void>();

  runInterleaved(point: 'cachedIoWait' | 'mmapBeforeCachedIo'): boolean {
    const fn = this.interleave.get(point);
    if (fn === undefined) return false;
    this.interleave.delete(point);
    fn();
    return true;
  }

  /** The inner mount whose daemon each step observes (World.observeInnerDaemon), read once. */
  readonly observeInner: InnerFuseKind | undefined;

  /** Names the world marks as living in a user namespace (rootless FUSE). */
  readonly daemonInUserns: boolean;
  /** Tests only: the planted bug this kernel carries, if any. */
  readonly mutation: SimMutation | null;

  constructor(
    readonly profile: Profile,
    readonly world: World,
    opts: KernelOptions = {},
  ) {
    const m = opts.machine;
    this.machine = m ?? null;
    this.vfs = m?.vfs ?? opts.vfs ?? new Vfs();
    this.daemonInUserns = world.daemonInUserns === true;
    this.observeInner = world.observeInnerDaemon;
    this.mutation = opts.mutation ?? null;
    this.daemonTask = m?.daemonTask ?? new Task(this.daemonInUserns ? CRED_USERNS : CRED_ROOT, opts.rlimitNofile ?? 1024);
    this.devFiles = m?.devFiles ?? new Map();
    this.daemonFds = m?.daemonFds ?? new Map();
    this.regs = m?.regs ?? new Map();
    this.backing = m?.backing ?? buildBackingWorld(this.vfs, world, this.fuseMount, profile);
    if (opts.vfs === undefined && m === undefined) this.vfs.ioEvents = world.watchIo === true;
    this.inner = m !== undefined ? m.inner : observedInnerMount(this);
    // Methods, not arrow properties: tsx (keepNames) names each arrow bound to a name when it
    // is made, and a kernel is made per fuzz case.
    const { backing, vfs } = this;
    this.daemon = new ModelDaemon(world, (name) => this.regs.get(name) ?? 0, {
      size(file) {
        const i = worldInode(backing, file);
        return i === undefined ? 0 : vfs.size(i);
      },
      truncate(file, size) {
        // truncate(2) by path: EROFS on a read-only mount, EINVAL for anything but a regular
        // file; otherwise notify_change reports IN_MODIFY, even for an unchanged size.
        const i = worldInode(backing, file);
        if (i === undefined || i.type !== 'file' || i.mount.readOnly) return;
        vfs.truncate(i, size);
        vfs.notifyModify(i);
      },
    });
    this.port = opts.port ?? this.daemon;
  }

  private stdio: WFile | null = null;
  /** The mount under test's state when this one is a further mount (KernelOptions.machine). */
  private readonly machine: KernelState | null;

  /**
   * The daemon's fds 0..2: /dev/null open read-write for the whole run (not one of the run's own
   * files, so the teardown's release accounting leaves it out).
   */
  daemonStdio(): WFile {
    if (this.machine !== null) return this.machine.daemonStdio();
    if (this.stdio === null) {
      const track = this.vfs.trackFiles;
      this.vfs.trackFiles = false;
      this.stdio = this.vfs.openFile(this.backing.devNull, 'rw', new Set(), 'user');
      this.vfs.trackFiles = track;
    }
    return this.stdio;
  }

  /** The /dev/fuse struct file of a dev fd name. */
  devFuseFile(name: string): WFile | null {
    return this.devFiles.get(name)?.file ?? null;
  }

  newConn(): FuseConn {
    return newFuseConn(this.fuseSb, nextConnMinor++);
  }

  /** Requests sent since the last call, in order. */
  takeRequestLog(): FuseOpcodeName[] {
    // Hand over the list and start a new one (a splice copied it, every step).
    const log = this.requestLog;
    this.requestLog = [];
    return log;
  }

  /** Background requests (async RELEASE) queued but not yet read by the daemon. */
  readonly background: FuseRequest[] = [];

  /**
   * fuse_simple_background: queue a request the caller does not wait for (RELEASE at close,
   * LIFE-14). The daemon reads it when the step settles; an abort before that ends it unread.
   */
  sendAsync(t: Trace, req: FuseRequest): void {
    const c = this.conn;
    if (c === null || c.freed || c.connError || !c.connected) return;
    t.fn('fuse_simple_background');
    this.background.push(req);
  }

  /** The daemon reads the queued background requests, unless the connection was aborted. */
  deliverBackground(): void {
    if (this.background.length === 0) return; // most steps queue nothing
    const reqs = this.background.splice(0, this.background.length);
    const c = this.conn;
    if (c === null || c.freed || !c.connected) return;
    for (const req of reqs) {
      this.requestLog.push(req.op);
      this.port.request(req);
    }
  }

  /**
   * Whether the daemon reads a just-queued RELEASE before an abort in the same syscall ends it
   * (a race on the real kernel; see fuseSuperPutIfIdle). Set during teardown.
   */
  daemonWinsReleaseRace = false;

  /** The INIT request of the last mount as the initOffer observable shows it, or null. */
  lastInitOffer: string | null = null;

  /** Daemon-held files on the FUSE mount under test (a world file `on: 'self'`). */
  selfFileUsers = 0;

  /**
   * An overlayfs has the FUSE mount's root as its lower layer (mountOverlayOnFuse): its private
   * clone of the mount keeps the superblock alive after the FUSE mount's umount, but does not
   * make that umount EBUSY (observed on 6.18).
   */
  overlayOnFuse = false;

  /**
   * The `nestedFuse` files' FUSE mount on World.nestedFuseAt (mountNestedFuse): not yet, there,
   * or gone (taken along by a lazy umount of the mount under test, or detached by d_invalidate
   * of its mountpoint's dentry).
   */
  nestedFuse: 'unmounted' | 'mounted' | 'gone' = 'unmounted';

  /**
   * The inner FUSE mount whose daemon the steps observe (World.observeInnerDaemon), served
   * through a connection of its own (sim/inner-fuse.ts); null without one.
   */
  readonly inner: InnerFuse | null;

  /** The nested FUSE mount leaves the namespace: gone, and its world filesystem with it. */
  detachNestedFuse(): void {
    if (this.nestedFuse !== 'mounted') return;
    this.nestedFuse = 'gone';
    this.backing.unmounted.add('nestedFuse');
    if (this.inner?.kind === 'nestedFuse') this.inner.detach();
  }

  /**
   * fuse_simple_request: the daemon's reply, or the errno the caller sees when the request is
   * never sent. An aborted connection answers ENOTCONN without reaching the daemon (LIFE-20);
   * after a failed INIT every request fails with ECONNREFUSED (INIT-3).
   */
  send(t: Trace, req: FuseRequest): Sent {
    const c = this.conn;
    if (c === null || c.freed) return 'ENOTCONN';
    // fuse_get_req tests fc->connected before fc->conn_error: an aborted connection answers
    // ENOTCONN even after a failed INIT (found by fusepass fuzz on 6.18).
    if (!c.connected) {
      t.pass('LIFE-20');
      return 'ENOTCONN';
    }
    if (c.connError) {
      t.pass('INIT-3');
      return 'ECONNREFUSED';
    }
    this.requestLog.push(req.op);
    return this.port.request(req);
  }
}

/**
 * The inner FUSE mount whose daemon the steps observe (World.observeInnerDaemon), set as its
 * superblock's file operations. Unobserved, an inner mount's files are read in memory: the same
 * bytes (its daemon's are the world file's, and nothing but the mount writes them) without the
 * cost of a second connection in every fuzz case that opens one.
 */
function observedInnerMount(k: KernelState): InnerFuse | null {
  const kind = k.observeInner;
  if (kind === undefined) return null;
  const inner = new InnerFuse(k, kind);
  k.backing.mounts[kind].sb.fops = inner;
  // The `fuse` mount exists before the first step; the model makes it at its first use.
  return inner;
}
