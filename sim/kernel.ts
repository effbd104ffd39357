// The public, step-shaped API of the model: a daemon author drives a modelled Linux kernel
// in-process. Every call returns what the syscall returned plus what it caused: the FUSE
// requests the daemon received, the inotify events on world files, and the explanation.
import type { World } from '../fixtures/world.ts';
import type { ObserveStep, ProfileName } from '../spec/case.ts';
import type { Errno } from '../spec/errno.ts';
import type { BackingEvent, Explanation, Observation, TargetFault } from '../spec/observation.ts';
import { canonicalAllRequests, canonicalEvents, canonicalMountRequests, collapseRepeats, summarizeBytes } from '../spec/observation.ts';
import type { ObservedOpcode } from '../spec/uapi.ts';
import { simSetIdCursor } from './backing.ts';
import { Trace } from './explain.ts';
import { err, ok, setupFault, type Outcome } from './outcome.ts';
import { fuseInodeUncachedIoEnd, fuseInodeUncachedIoStart } from './iomode.ts';
import { getProfile, type Profile } from './profiles.ts';
import { KernelState, type KernelOptions, type SimMutation } from './state.ts';
import type { DaemonPort } from './daemon-port.ts';
import type { FuseOpenFile, Mapping } from './types.ts';
import type { WFile } from './world/vfs.ts';
import { DaemonApi } from './daemon-api.ts';
import { ClientApi } from './client-api.ts';
import { observeKernel, type ObserveRef } from './observe.ts';
import { plainFile } from './mountpoint.ts';
import { kernelTeardown } from './teardown.ts';
import { InnerFuse } from './inner-fuse.ts';

/** What every call returns: an Observation (spec/observation.ts) whose explain is always set. */
export interface SimResult extends Observation {
  explain: Explanation;
}

export interface CreateKernelOptions {
  profile?: ProfileName;
  world?: World;
  /** RLIMIT_NOFILE of the daemon task (BID-9). Default 1024. */
  rlimitNofile?: number;
  /** Tests only: a planted bug for the fuzzer to find (sim/state.ts SimMutation). */
  mutation?: SimMutation;
  /** The daemon the kernel talks to (sim/daemon-port.ts); default: the world's scripted daemon. */
  port?: DaemonPort;
}




/** Hidden kernel state a stock kernel does not expose (OBS-11). */
export interface HiddenState {
  passthrough: boolean;
  maxStackDepth: number;
  fuseStackDepth: number;
  connected: boolean;
  connectionFreed: boolean;
  /** The id the next successful BACKING_OPEN gets if free (BID-3). */
  idCursor: number;
  /** Registered ids with their fb->count. */
  backings: { id: number; count: number }[];
  /** Per looked-up node: iocachectr and the id of the bound fb. */
  inodes: Record<string, { iocachectr: number; boundId: number | null }>;
  /** Registered fbs whose file is in no fd table of the daemon (OBS-9, BID-9). */
  pinnedInvisible: number;
  daemonOpenFds: number;
  bugs: string[];
}

export class Kernel {
  /** The mount under test's state, and the machine's (VFS, daemon task, world). */
  readonly state: KernelState;
  readonly daemon: DaemonApi;
  readonly client: ClientApi;
  private depth = 0;
  /** Further FUSE mounts by name (MountStep.as): a connection, inodes and client fds each. */
  readonly mounts = new Map<string, KernelState>();
  private activeState: KernelState;

  constructor(opts: CreateKernelOptions = {}) {
    const stateOpts: KernelOptions = {};
    if (opts.rlimitNofile !== undefined) stateOpts.rlimitNofile = opts.rlimitNofile;
    if (opts.mutation !== undefined) stateOpts.mutation = opts.mutation;
    if (opts.port !== undefined) stateOpts.port = opts.port;
    this.state = new KernelState(getProfile(opts.profile ?? '6.18'), opts.world ?? {}, stateOpts);
    this.activeState = this.state;
    this.daemon = new DaemonApi(this);
    this.client = new ClientApi(this);
  }

  get profile(): Profile {
    return this.state.profile;
  }

  /** The mount the daemon and client calls go to (Kernel.use). */
  get active(): KernelState {
    return this.activeState;
  }

  /** Its name (MountStep.as), or undefined for the mount under test. */
  get activeMount(): string | undefined {
    if (this.activeState === this.state) return undefined;
    for (const [name, st] of this.mounts) if (st === this.activeState) return name;
    return undefined;
  }

  /**
   * Direct the next calls at the named mount (MountStep.as; undefined: the mount under test). A
   * name not seen before gets a state of its own, for the mount step that mounts it. The same
   * daemon serves every mount (the world's nodes).
   */
  use(mount: string | undefined): this {
    if (mount === undefined) {
      this.activeState = this.state;
      return this;
    }
    let st = this.mounts.get(mount);
    if (st === undefined) {
      st = new KernelState(this.state.profile, this.state.world, { machine: this.state });
      this.mounts.set(mount, st);
    }
    this.activeState = st;
    return this;
  }

  /**
   * The named mount a client fd, a mapping or a /dev/fuse fd belongs to: undefined for the
   * mount under test's (and for names nothing has).
   */
  mountOf(ref: { fd?: string | undefined; map?: string | undefined; dev?: string | undefined }): string | undefined {
    if (this.mounts.size === 0) return undefined;
    const conn = ref.dev === undefined ? undefined : this.state.devFiles.get(ref.dev)?.conn;
    for (const [name, st] of this.mounts) {
      if (ref.fd !== undefined && (st.clientFiles.has(ref.fd) || plainFile(st, ref.fd) !== undefined)) return name;
      if (ref.map !== undefined && st.maps.has(ref.map)) return name;
      if (conn !== undefined && conn !== null && st.conn === conn) return name;
    }
    return undefined;
  }

  /** When each client fd and mapping name was last made, across mounts (the teardown's order). */
  private readonly opened = new Map<string, number>();

  private openSeq = 0;

  /**
   * A client fd or mapping made under this name. A name made again keeps its place, as the
   * kernel target's map of names does (Map.set of an existing key).
   */
  noteOpened(name: string): void {
    if (!this.opened.has(name)) this.opened.set(name, this.openSeq++);
  }

  /** A client fd closed or a mapping unmapped: the name is free (a new one goes last). */
  noteClosed(name: string): void {
    this.opened.delete(name);
  }

  /**
   * Names with the state each is in, in the order they were made: the kernel target's teardown
   * releases client mappings and fds in that order, whatever mount they are on.
   */
  inOpenOrder(names: readonly [string, string | undefined][]): [string, string | undefined][] {
    const seq = (n: string) => this.opened.get(n) ?? -1;
    return [...names].sort((a, b) => seq(a[0]) - seq(b[0]));
  }

  /** The mount under test and the named mounts' states. */
  allStates(): KernelState[] {
    return this.mounts.size === 0 ? [this.state] : [this.state, ...this.mounts.values()];
  }

  /** Run one modelled syscall and settle it (deferred fput, async RELEASE). */
  run(fn: (t: Trace) => Outcome): SimResult {
    const t = new Trace();
    if (this.depth > 0) {
      // A sim interleaving inside another call: its requests and events belong to the outer call.
      const inner = fn(t);
      return this.observation(inner, t, [], []);
    }
    this.depth++;
    let o: Outcome;
    try {
      o = fn(t);
    } finally {
      this.depth--;
    }
    this.state.vfs.settle();
    // The daemon reads the background requests (async RELEASE) before the step is observed,
    // unless the same syscall aborted the connection (e.g. the close that kills a lazily
    // unmounted superblock).
    this.state.deliverBackground();
    if (this.mounts.size > 0) for (const st of this.mounts.values()) st.deliverBackground();
    this.state.inner?.deliverBackground();
    const raw = this.state.vfs.takeEvents();
    const evs = canonicalEvents(raw);
    // inotify merges identical consecutive events (OBS-8).
    if (evs.length < raw.length) t.pass('OBS-8');
    const r = this.observation(o, t, this.state.takeRequestLog(), evs);
    const observed = this.state.observeInner;
    if (observed !== undefined) r.innerRequests = canonicalAllRequests(this.state.inner?.takeRequests() ?? []);
    if (this.mounts.size > 0) {
      const byMount = new Map<string, ObservedOpcode[]>();
      for (const [name, st] of this.mounts) byMount.set(name, st.takeRequestLog());
      r.mountRequests = canonicalMountRequests(byMount);
    }
    return r;
  }

  /** An observation of calls made and settled already (`evs` canonical): the teardown's. */
  observation(o: Outcome, t: Trace, reqs: readonly ObservedOpcode[], evs: BackingEvent[]): SimResult {
    // canonicalRequests(reqs) from the noise-free list, without filtering reqs a second time.
    const all = canonicalAllRequests(reqs);
    const r: SimResult = {
      errno: o.errno,
      value: o.value ?? null,
      requests: collapseRepeats(all),
      allRequests: all,
      events: evs,
      explain: t.toExplanation(),
    };
    if (o.fault !== undefined) r.fault = o.fault as TargetFault;
    return r;
  }

  /** unlink(2) of a world file's name by another process (spec/case.ts UnlinkWorldFileStep). */
  unlinkWorldFile(file: string): SimResult {
    return this.run((t) => {
      const f = this.state.backing.files.get(file);
      if (f === undefined) return setupFault(`no world file named "${file}"`);
      if (f.unlinked === true) return err(t.vfs('ENOENT', 'do_unlinkat', `the world file "${file}" was unlinked already`));
      if (f.inode.mount.readOnly) return err(t.vfs('EROFS', 'mnt_want_write', 'the file is on a read-only mount'));
      if (f.inode.type === 'dir') return err(t.vfs('EISDIR', 'do_unlinkat', 'unlink(2) removes no directory (rmdir does)'));
      f.unlinked = true;
      return ok();
    });
  }

  /**
   * umount2(2) of the world's overlayfs (spec/case.ts UmountWorldFsStep): busy while any struct
   * file on it is held (a daemon fd, a registration, a per-open backing file: each holds a
   * reference on the mount), unless lazy; then the files' names are gone.
   */
  umountWorldFs(on: 'overlay', lazy: boolean): SimResult {
    return this.run((t) => {
      const s = this.state;
      const sb = s.backing.mounts[on].sb;
      if (s.backing.unmounted.has(on)) return err(t.vfs('EINVAL', 'path_umount', 'the overlayfs is unmounted already'));
      const busy = s.vfs.allFiles.some((f) => f.count > 0 && f.inode.mount.sb === sb);
      if (busy && !lazy) return err(t.vfs('EBUSY', 'do_umount', 'a file on this filesystem is open or registered as a backing file (BACKING_CLOSE and close it first, or umount lazily)'));
      s.backing.unmounted.add(on);
      for (const f of s.backing.files.values()) if (f.spec.on === on) f.unlinked = true;
      return ok();
    });
  }

  /** Read a world file's bytes outside FUSE (did data reach the backing file?). */
  inspectBacking(file: string, length?: number, offset = 0): SimResult {
    return this.run((t) => {
      const f = this.state.backing.files.get(file);
      if (f === undefined) return setupFault(`no world file named "${file}"`);
      if (f.unlinked === true) return err(t.vfs('ENOENT', 'path_openat', `the world file "${file}" was unlinked`));
      const inode = f.inode.target ?? f.inode;
      if (inode.type !== 'file') return err(t.vfs('EISDIR', 'path_openat', `the world file "${file}" is not a regular file`));
      for (const id of inode.notes) t.pass(id);
      // A file of an inner FUSE mount is read through it (open, fstat, read, close).
      const fops = inode.mount.sb.fops;
      const inner = fops instanceof InnerFuse ? fops : undefined;
      const bytes = inner !== undefined ? inner.inspect(inode) : this.state.vfs.readBytes(inode, 0, this.state.vfs.size(inode));
      return ok(summarizeBytes(bytes.subarray(offset, length === undefined ? undefined : offset + length)));
    });
  }

  /** Kernel observables of spec §13 as canonical values (see spec/case.ts ObserveStep). */
  observe(what: ObserveStep['what'], ref: ObserveRef = {}): SimResult {
    return this.run((t) => observeKernel(this.activeState, what, ref, t, this.allStates()));
  }

  /** Sim only: move the id cursor (BID-5) or fill the id space from it (BID-6). */
  simIdCursor(next: number, fillToMax = false): SimResult {
    return this.run((t) => {
      const fc = this.state.conn;
      if (fc === null) return setupFault('no connection: mount first');
      simSetIdCursor(fc, next, fillToMax);
      t.pass(fillToMax ? 'BID-6' : 'BID-5');
      return ok();
    });
  }

  /**
   * Sim only: start a parallel DIO write on a DIRECT_IO|PARALLEL_DIRECT_WRITES file and leave it
   * in flight (IOM-18: iocachectr--, no fb) until simEndParallelDioWrite.
   */
  simBeginParallelDioWrite(fd: string): SimResult {
    return this.run((t) => {
      const f = this.activeState.clientFiles.get(fd);
      if (f === undefined) return setupFault(`no client fd named "${fd}"`);
      const e = fuseInodeUncachedIoStart(this.activeState, f.ff.inode, null, t);
      if (e !== null) return err(e);
      t.pass('IOM-18');
      return ok();
    });
  }

  simEndParallelDioWrite(fd: string): SimResult {
    return this.run((t) => {
      const f = this.activeState.clientFiles.get(fd);
      if (f === undefined) return setupFault(`no client fd named "${fd}"`);
      fuseInodeUncachedIoEnd(this.activeState, f.ff.inode, t);
      return ok();
    });
  }

  /**
   * Sim only: run `action` (calls on this kernel) at a point where the kernel sleeps or sits
   * between two checks: 'cachedIoWait' (IOM-5, IOM-6), 'mmapBeforeCachedIo' (IOM-15).
   * Its own results are collected into the interrupted call's observation.
   */
  simInterleave(point: 'cachedIoWait' | 'mmapBeforeCachedIo', action: (k: Kernel) => void): void {
    this.activeState.interleave.set(point, () => action(this));
  }

  /** Sim only: the next fuse_backing allocation (BOPEN-11) or idr allocation (BOPEN-12) fails. */
  simFailAlloc(what: 'fuseBacking' | 'idr'): SimResult {
    return this.run((t) => {
      const fc = this.state.conn;
      if (fc === null) return setupFault('no connection: mount first');
      fc.failNextAlloc = what;
      t.pass(what === 'fuseBacking' ? 'BOPEN-11' : 'BOPEN-12');
      return ok();
    });
  }

  /**
   * Tear everything down in the fixed order of spec/target.ts: client maps, client fds, (lazy)
   * umount, daemon fds, /dev/fuse fds; one observation of what that released (LIFE-23).
   */
  teardown(): SimResult {
    return kernelTeardown(this);
  }

  /** The hidden state (OBS-11): what the kernel knows and userspace cannot read. */
  hidden(): HiddenState {
    const s = this.state;
    const fc = s.conn;
    const inodes: HiddenState['inodes'] = {};
    // Unlinked inodes (keys starting with NUL, dir.ts dropDentry) have no name to report.
    for (const [name, fi] of s.fuseInodes) if (name !== '' && !name.startsWith('\0')) inodes[name] = { iocachectr: fi.iocachectr, boundId: fi.fb?.id ?? null };
    const visible = new Set<WFile>();
    for (const tf of s.daemonTask.fds.values()) if (tf.kind === 'world') visible.add(tf.file);
    const backings = fc === null || fc.freed ? [] : [...fc.idr.values()];
    return {
      passthrough: fc?.passthrough ?? false,
      maxStackDepth: fc?.maxStackDepth ?? 0,
      fuseStackDepth: s.fuseSb.stackDepth,
      connected: fc?.connected ?? false,
      connectionFreed: fc?.freed ?? false,
      idCursor: fc?.idrNext ?? 1,
      backings: backings.map((b) => ({ id: b.id, count: b.count })),
      inodes,
      pinnedInvisible: backings.filter((b) => !visible.has(b.file)).length,
      daemonOpenFds: s.daemonTask.fds.size,
      bugs: [...s.vfs.bugs],
    };
  }

  // helpers for the sub-APIs
  fuseFile(name: string): FuseOpenFile | undefined {
    return this.activeState.clientFiles.get(name);
  }
  mapping(name: string): Mapping | undefined {
    return this.activeState.maps.get(name);
  }
}

/** Create a modelled kernel with a world: `createKernel({ profile: '6.18', world })`. */
export function createKernel(opts: CreateKernelOptions = {}): Kernel {
  return new Kernel(opts);
}

export type { Errno };

export { DaemonApi, ClientApi };
export type { BackingOpenArgs, BackingCloseArgs } from './daemon-api.ts';
