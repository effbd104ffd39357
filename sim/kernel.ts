// The public, step-shaped API of the model: a daemon author drives a modelled Linux kernel
// in-process. Every call returns what the syscall returned plus what it caused: the FUSE
// requests the daemon received, the inotify events on world files, and the explanation.
import type { OpenReplySpec, World } from '../fixtures/world.ts';
import type { Cred as CredName, DaemonOpenMode, InitReplySpec, OpenFlagName, ProfileName } from '../spec/case.ts';
import { DEFAULT_INIT_REPLY } from '../spec/case.ts';
import type { Errno } from '../spec/errno.ts';
import type { BackingEvent, Explanation, Observation, TargetFault } from '../spec/observation.ts';
import { canonicalEvents, canonicalRequests, summarizeBytes } from '../spec/observation.ts';
import type { FuseOpcodeName } from '../spec/uapi.ts';
import { simSetIdCursor } from './backing.ts';
import { textBytes } from './daemon.ts';
import { fdToFile, fuseDevIoctl, fuseDevIoctlBackingClose, fuseDevIoctlBackingOpen, fuseDevIoctlClone, fuseDevOpen, fuseDevRead, fuseDevRelease } from './dev.ts';
import { Trace } from './explain.ts';
import * as dirOps from './dir.ts';
import * as fileOps from './file.ts';
import * as ioctlOps from './ioctl.ts';
import * as mmapOps from './mmap.ts';
import * as rwOps from './rw.ts';
import { fuseMount, fuseReplyInit, fusectlAbort, fuseSuperPutIfIdle, fuseUmount } from './mount.ts';
import { err, ok, type Outcome } from './outcome.ts';
import { fuseInodeUncachedIoEnd, fuseInodeUncachedIoStart } from './iomode.ts';
import { getProfile, type Profile } from './profiles.ts';
import { KernelState, type KernelOptions, type SimMutation } from './state.ts';
import type { FuseOpenFile, Mapping } from './types.ts';
import { CRED_NOCAP, CRED_ROOT, CRED_USERNS, type Cred, type WFile } from './world/vfs.ts';

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
}

/** The client-side kernel functions, by their model names. */
const F = { ...dirOps, ...fileOps, ...rwOps, ...mmapOps, ...ioctlOps };

const CREDS: Record<CredName, Cred> = { root: CRED_ROOT, noCapSysAdmin: CRED_NOCAP, userns: CRED_USERNS };

const setupFault = (message: string): Outcome => ({ errno: null, fault: { kind: 'setup', message } });

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
  readonly state: KernelState;
  readonly daemon: DaemonApi;
  readonly client: ClientApi;
  private depth = 0;

  constructor(opts: CreateKernelOptions = {}) {
    const stateOpts: KernelOptions = {};
    if (opts.rlimitNofile !== undefined) stateOpts.rlimitNofile = opts.rlimitNofile;
    if (opts.mutation !== undefined) stateOpts.mutation = opts.mutation;
    this.state = new KernelState(getProfile(opts.profile ?? '6.18'), opts.world ?? {}, stateOpts);
    this.daemon = new DaemonApi(this);
    this.client = new ClientApi(this);
  }

  get profile(): Profile {
    return this.state.profile;
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
    const evs = this.state.vfs.takeEvents();
    // inotify merges identical consecutive events (OBS-8).
    if (canonicalEvents(evs).length < evs.length) t.pass('OBS-8');
    return this.observation(o, t, this.state.daemon.takeLog(), evs);
  }

  private observation(o: Outcome, t: Trace, reqs: FuseOpcodeName[], evs: BackingEvent[]): SimResult {
    const r: SimResult = {
      errno: o.errno,
      value: o.value ?? null,
      requests: canonicalRequests(reqs),
      events: canonicalEvents(evs),
      explain: t.toExplanation(),
    };
    if (o.fault !== undefined) r.fault = o.fault as TargetFault;
    return r;
  }

  /** Read a world file's bytes outside FUSE (did data reach the backing file?). */
  inspectBacking(file: string, length?: number, offset = 0): SimResult {
    return this.run((t) => {
      const f = this.state.backing.files.get(file);
      if (f === undefined) return setupFault(`no world file named "${file}"`);
      const inode = f.inode.target ?? f.inode;
      if (inode.type !== 'file') return err('EISDIR');
      for (const id of inode.notes) t.pass(id);
      const size = this.state.vfs.size(inode);
      return ok(summarizeBytes(this.state.vfs.readBytes(inode, offset, length ?? size)));
    });
  }

  /** Kernel observables of spec §13 as canonical values (see spec/case.ts ObserveStep). */
  observe(what: 'devFdinfoKeys' | 'fileFdinfoKeys' | 'mapsPath' | 'fusectlEntries' | 'fusectlWaiting' | 'fdTableHasFile' | 'fuseTracepoints', ref: { dev?: string; fd?: string; map?: string; file?: string } = {}): SimResult {
    return this.run((t) => {
      const s = this.state;
      switch (what) {
        case 'devFdinfoKeys': {
          const d = s.devFiles.get(ref.dev ?? '');
          if (d === undefined) return setupFault(`no /dev/fuse fd named "${ref.dev}"`);
          t.pass('OBS-1');
          t.pass('OBS-2');
          return ok(d.conn !== null && s.profile.fdinfoConnection ? 'flags,fuse_connection,ino,mnt_id,pos' : 'flags,ino,mnt_id,pos');
        }
        case 'fileFdinfoKeys':
          t.pass('OBS-3');
          return ok('flags,ino,mnt_id,pos');
        case 'mapsPath':
          t.pass('OBS-4');
          return s.maps.has(ref.map ?? '') ? ok('fuse') : setupFault(`no mapping named "${ref.map}"`);
        case 'fusectlEntries':
          t.pass('OBS-5');
          return s.conn?.sbAlive === true ? ok('abort,congestion_threshold,max_background,waiting') : err('ENOENT');
        case 'fusectlWaiting':
          t.pass('OBS-6');
          return s.conn?.sbAlive === true ? ok(0) : err('ENOENT');
        case 'fdTableHasFile': {
          t.pass('OBS-9');
          const f = s.backing.files.get(ref.file ?? '');
          if (f === undefined) return setupFault(`no world file named "${ref.file}"`);
          const inode = f.inode.target ?? f.inode;
          if (s.vfs.allFiles.some((w) => w.role === 'perOpen' && w.count > 0 && w.inode === inode)) t.pass('PTF-1');
          for (const tf of s.daemonTask.fds.values()) {
            if (tf.kind === 'world' && (tf.file.inode === f.inode || tf.file.inode === f.inode.target)) return ok('yes');
          }
          return ok('no');
        }
        case 'fuseTracepoints':
          t.pass('OBS-10');
          return ok(s.profile.requestTracepoints ? 'fuse_request_end,fuse_request_send' : '');
      }
    });
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
      const f = this.state.clientFiles.get(fd);
      if (f === undefined) return setupFault(`no client fd named "${fd}"`);
      const e = fuseInodeUncachedIoStart(this.state, f.ff.inode, null, t);
      if (e !== null) return err(e);
      t.pass('IOM-18');
      return ok();
    });
  }

  simEndParallelDioWrite(fd: string): SimResult {
    return this.run((t) => {
      const f = this.state.clientFiles.get(fd);
      if (f === undefined) return setupFault(`no client fd named "${fd}"`);
      fuseInodeUncachedIoEnd(this.state, f.ff.inode, t);
      return ok();
    });
  }

  /**
   * Sim only: run `action` (calls on this kernel) at a point where the kernel sleeps or sits
   * between two checks: 'cachedIoWait' (IOM-5, IOM-6), 'mmapBeforeCachedIo' (IOM-15).
   * Its own results are collected into the interrupted call's observation.
   */
  simInterleave(point: 'cachedIoWait' | 'mmapBeforeCachedIo', action: (k: Kernel) => void): void {
    this.state.interleave.set(point, () => action(this));
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
    const t = new Trace();
    const reqs: FuseOpcodeName[] = [];
    const evs: BackingEvent[] = [];
    const s = this.state;
    const collect = (o: SimResult): void => {
      reqs.push(...o.requests);
      evs.push(...o.events);
      for (const c of o.explain.checks) t.pass(c);
      for (const f of o.explain.functions ?? []) t.fn(f);
    };
    // Maps before fds, as a process exit does (exit_mm before exit_files) and as the kernel target.
    for (const name of [...s.maps.keys()]) collect(this.client.munmap(name));
    for (const name of [...s.clientFiles.keys()]) collect(this.client.close(name));
    if (s.conn?.mounted === true) collect(this.daemon.umount({ lazy: true }));
    for (const [name, fd] of [...s.daemonFds]) if (s.daemonTask.fds.get(fd)?.kind !== 'dev') collect(this.daemon.close(name));
    for (const name of [...s.devFiles.keys()]) collect(this.daemon.devClose(name));
    return this.observation(ok(), t, reqs, evs);
  }

  /** The hidden state (OBS-11): what the kernel knows and userspace cannot read. */
  hidden(): HiddenState {
    const s = this.state;
    const fc = s.conn;
    const inodes: HiddenState['inodes'] = {};
    for (const [name, fi] of s.fuseInodes) if (name !== '') inodes[name] = { iocachectr: fi.iocachectr, boundId: fi.fb?.id ?? null };
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
    return this.state.clientFiles.get(name);
  }
  mapping(name: string): Mapping | undefined {
    return this.state.maps.get(name);
  }
}

export interface BackingOpenArgs {
  dev: string;
  /** A daemon fd name, or a raw fd number (−1, a closed number) for BOPEN-7. */
  fd: string | number;
  flags?: number;
  padding?: number;
  nullArg?: boolean;
  cred?: CredName;
  /** A signal ends a DEV-5 sleep (EINTR). */
  interruptAfterMs?: number;
  as?: string;
  /** Issued by a 32-bit task (DEV-2): same numbers, same checks. */
  compat32?: boolean;
}

export interface BackingCloseArgs {
  dev: string;
  id: string | number;
  nullArg?: boolean;
  cred?: CredName;
  compat32?: boolean;
}

/** The daemon's side: /dev/fuse, mount, backing ioctls, its own files, its replies. */
export class DaemonApi {
  constructor(private readonly k: Kernel) {}

  private get s(): KernelState {
    return this.k.state;
  }

  private dev(name: string): ReturnType<KernelState['devFiles']['get']> {
    return this.s.devFiles.get(name);
  }

  private defaultCred(c: CredName | undefined): Cred {
    if (c !== undefined) return CREDS[c];
    return this.s.daemonInUserns ? CRED_USERNS : CRED_ROOT;
  }

  devOpen(as: string): SimResult {
    return this.k.run((t) => fuseDevOpen(this.s, as, t));
  }

  syncInit(dev: string): SimResult {
    return this.k.run((t) => {
      const d = this.dev(dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${dev}"`);
      return fuseDevIoctl(this.s, d, 0xe503, false, CRED_ROOT, t);
    });
  }

  mount(dev: string, init: InitReplySpec = DEFAULT_INIT_REPLY, opts: { deferInit?: boolean } = {}): SimResult {
    return this.k.run((t) => {
      const d = this.dev(dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${dev}"`);
      return fuseMount(this.s, d, init, opts.deferInit === true, t);
    });
  }

  replyInit(init: InitReplySpec = DEFAULT_INIT_REPLY): SimResult {
    return this.k.run((t) => fuseReplyInit(this.s, init, t));
  }

  devClone(dev: string, as: string): SimResult {
    return this.k.run((t) => {
      const d = this.dev(dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${dev}"`);
      return fuseDevIoctlClone(this.s, d, as, t);
    });
  }

  devRead(dev: string): SimResult {
    return this.k.run((t) => {
      const d = this.dev(dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${dev}"`);
      return fuseDevRead(this.s, d, t);
    });
  }

  devIoctl(dev: string, cmd: number, opts: { nullArg?: boolean; compat32?: boolean } = {}): SimResult {
    return this.k.run((t) => {
      const d = this.dev(dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${dev}"`);
      return fuseDevIoctl(this.s, d, cmd, opts.nullArg === true, this.defaultCred(undefined), t, opts.compat32 === true);
    });
  }

  devClose(dev: string): SimResult {
    return this.k.run((t) => {
      const d = this.dev(dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${dev}"`);
      return fuseDevRelease(this.s, d, t);
    });
  }

  /** The daemon opens a world file, or `devfuse:<dev>` names that /dev/fuse fd (BOPEN-9). */
  open(file: string, mode: DaemonOpenMode, as: string): SimResult {
    return this.k.run((t) => {
      const s = this.s;
      if (file.startsWith('devfuse:')) {
        const d = this.dev(file.slice('devfuse:'.length));
        if (d === undefined || d.fd === null) return setupFault(`no /dev/fuse fd for "${file}"`);
        s.daemonFds.set(as, d.fd);
        return ok();
      }
      const entry = s.backing.files.get(file);
      if (entry === undefined) return setupFault(`no world file named "${file}"`);
      let inode = entry.inode;
      if (inode.type === 'symlink' && mode !== 'pathNofollow') inode = inode.target!;
      const access = mode === 'rdonly' ? 'r' : mode === 'wronly' ? 'w' : mode === 'rdwr' ? 'rw' : 'path';
      const writes = access === 'w' || access === 'rw';
      if (access !== 'path') {
        if (inode.type === 'dir' && writes) return err(t.vfs('EISDIR', 'may_open', 'a directory opens only read-only'));
        if (inode.type === 'socket') return err(t.vfs('ENXIO', 'do_dentry_open', 'a socket can be opened only with O_PATH'));
        if (writes && inode.mount.readOnly) return err(t.vfs('EROFS', 'mnt_want_write', 'the file is on a read-only mount'));
        if (writes && inode.denyWrite) return err(t.vfs('ETXTBSY', 'get_write_access', 'the file denies writers'));
      }
      if (entry.spec.on === 'self') {
        if (s.conn === null || !s.conn.mounted) return err(t.vfs('ENOENT', 'path_openat', 'the FUSE mount under test is not mounted'));
        const e = s.send(t, 'OPEN');
        if (e !== null) return err(e);
        s.selfFileUsers++;
      }
      const f = s.vfs.openFile(inode, access, new Set(), 'user');
      const fd = s.daemonTask.install({ kind: 'world', file: f });
      if (fd === 'EMFILE') {
        s.vfs.fput(f);
        return err(t.vfs('EMFILE', 'alloc_fd', 'the daemon reached its RLIMIT_NOFILE'));
      }
      s.daemonFds.set(as, fd);
      return ok();
    });
  }

  /** close(2) of a daemon fd: no event while BACKING_OPEN still holds the file (LIFE-9). */
  close(fdName: string): SimResult {
    return this.k.run((t) => {
      const s = this.s;
      const fd = s.daemonFds.get(fdName);
      if (fd === undefined) return setupFault(`no daemon fd named "${fdName}"`);
      s.daemonFds.delete(fdName);
      const tf = s.daemonTask.fds.get(fd);
      if (tf === undefined) return err('EBADF');
      if (tf.kind === 'dev') {
        const d = s.devFiles.get(tf.devName);
        return d === undefined ? err('EBADF') : fuseDevRelease(s, d, t);
      }
      s.daemonTask.fds.delete(fd);
      if (tf.file.count > 1) t.pass('LIFE-9');
      const onSelf = tf.file.inode.mount.sb.kind === 'fuseUnderTest' && s.conn !== null;
      if (onSelf) {
        s.send(t, 'FLUSH');
        s.sendAsync(t, 'RELEASE');
        s.selfFileUsers--;
      }
      s.vfs.fput(tf.file);
      if (onSelf) fuseSuperPutIfIdle(s, t);
      return ok();
    });
  }

  backingOpen(a: BackingOpenArgs): SimResult {
    return this.k.run((t) => {
      const s = this.s;
      const d = this.dev(a.dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${a.dev}"`);
      let fdNum: number;
      if (typeof a.fd === 'number') fdNum = a.fd;
      else {
        const n = s.daemonFds.get(a.fd);
        if (n === undefined) return setupFault(`no daemon fd named "${a.fd}"`);
        fdNum = n;
      }
      const map = { file: fdToFile(s, fdNum), flags: (a.flags ?? 0) >>> 0, padding: a.padding ?? 0 };
      if (a.compat32 === true) t.pass('DEV-2');
      const o = fuseDevIoctlBackingOpen(s, d, map, { nullArg: a.nullArg === true, cred: this.defaultCred(a.cred), interruptible: a.interruptAfterMs !== undefined }, t);
      if (o.errno === null && typeof o.value === 'number' && a.as !== undefined) s.regs.set(a.as, o.value);
      return o;
    });
  }

  backingClose(a: BackingCloseArgs): SimResult {
    return this.k.run((t) => {
      const s = this.s;
      const d = this.dev(a.dev);
      if (d === undefined) return setupFault(`no /dev/fuse fd named "${a.dev}"`);
      let id: number;
      if (typeof a.id === 'number') id = a.id | 0;
      else {
        const n = s.regs.get(a.id);
        if (n === undefined) return setupFault(`no registration named "${a.id}"`);
        id = n;
      }
      if (a.compat32 === true) t.pass('DEV-2');
      return fuseDevIoctlBackingClose(s, d, id, { nullArg: a.nullArg === true, cred: this.defaultCred(a.cred), interruptible: false }, t);
    });
  }

  setOpenReply(node: string, reply: OpenReplySpec): SimResult {
    return this.k.run(() => {
      if (node === '') {
        this.s.daemon.rootOpen = reply;
        return ok();
      }
      const n = this.s.daemon.nodes.get(node);
      if (n === undefined) return setupFault(`no node named "${node}"`);
      n.open = reply;
      return ok();
    });
  }

  setDaemonSize(node: string, size: number): SimResult {
    return this.k.run(() => {
      const n = this.s.daemon.nodes.get(node);
      if (n === undefined) return setupFault(`no node named "${node}"`);
      n.size = size;
      return ok();
    });
  }

  abort(): SimResult {
    return this.k.run((t) => fusectlAbort(this.s, t));
  }

  umount(opts: { lazy?: boolean } = {}): SimResult {
    return this.k.run((t) => fuseUmount(this.s, opts.lazy === true, t));
  }
}

/** The client's side: syscalls on the FUSE mount. */
export class ClientApi {
  constructor(private readonly k: Kernel) {}

  private get s(): KernelState {
    return this.k.state;
  }

  private withFile(fd: string, fn: (f: FuseOpenFile, t: Trace) => Outcome): SimResult {
    return this.k.run((t) => {
      const f = this.s.clientFiles.get(fd);
      if (f === undefined) return setupFault(`no client fd named "${fd}"`);
      return fn(f, t);
    });
  }

  /** open(2); O_CREAT on a name the daemon lacks sends CREATE (OPEN-17). */
  open(node: string, flags: readonly OpenFlagName[], as: string, opts: { compat32?: boolean } = {}): SimResult {
    return this.k.run((t) => {
      const o = F.fuseOpen(this.s, { node, flags, compat32: opts.compat32 === true }, t);
      if (o.file !== undefined) this.s.clientFiles.set(as, o.file);
      return o.errno === null && o.fault === undefined ? ok() : o;
    });
  }

  opendir(node: string | undefined, as: string): SimResult {
    return this.k.run((t) => {
      const s = this.s;
      if (s.conn === null || !s.conn.mounted) return err(t.vfs('ENOENT', 'path_openat', 'the FUSE mount under test is not mounted'));
      const fi = node === undefined || node === '' ? F.rootInode(s) : F.fuseLookup(s, node, t);
      if (typeof fi === 'string') return err(fi);
      if (!fi.isDir) return err(t.vfs('ENOTDIR', 'path_openat', 'opendir of a regular file'));
      const o = F.fuseDirOpen(s, fi, t);
      if (o.file !== undefined) s.clientFiles.set(as, o.file);
      return o.errno === null && o.fault === undefined ? ok() : o;
    });
  }

  readdir(fd: string): SimResult {
    return this.withFile(fd, (f, t) => F.fuseReaddir(this.s, f, t));
  }

  read(fd: string, length: number, offset?: number): SimResult {
    return this.withFile(fd, (f, t) => F.fuseRead(this.s, f, length, offset, t));
  }

  write(fd: string, data: string, offset?: number): SimResult {
    return this.withFile(fd, (f, t) => F.fuseWrite(this.s, f, textBytes(data), offset, t));
  }

  spliceRead(fd: string, length: number, offset?: number): SimResult {
    return this.withFile(fd, (f, t) => F.fuseRead(this.s, f, length, offset, t, true));
  }

  spliceWrite(fd: string, data: string, offset?: number): SimResult {
    return this.withFile(fd, (f, t) => F.fuseWrite(this.s, f, textBytes(data), offset, t, true));
  }

  mmap(fd: string, opts: { shared: boolean; length?: number; write?: boolean }, as: string): SimResult {
    return this.withFile(fd, (f, t) => {
      const o = F.fuseFileMmap(this.s, f, { shared: opts.shared, write: opts.write === true, length: opts.length ?? 4096 }, t);
      if (o.map !== undefined) this.s.maps.set(as, o.map);
      return o.errno === null ? ok() : o;
    });
  }

  mapRead(map: string, length: number, offset = 0): SimResult {
    return this.k.run((t) => {
      const m = this.s.maps.get(map);
      return m === undefined ? setupFault(`no mapping named "${map}"`) : F.mapRead(this.s, m, length, offset, t);
    });
  }

  mapWrite(map: string, data: string, offset = 0): SimResult {
    return this.k.run((t) => {
      const m = this.s.maps.get(map);
      return m === undefined ? setupFault(`no mapping named "${map}"`) : F.mapWrite(this.s, m, textBytes(data), offset, t);
    });
  }

  munmap(map: string): SimResult {
    return this.k.run((t) => {
      const m = this.s.maps.get(map);
      if (m === undefined) return setupFault(`no mapping named "${map}"`);
      this.s.maps.delete(map);
      return F.munmap(this.s, m, t);
    });
  }

  /** fstat of an fd, or stat of a node; value = size. */
  stat(ref: { fd?: string; node?: string; dontSync?: boolean }): SimResult {
    if (ref.fd !== undefined) return this.withFile(ref.fd, (f, t) => F.fuseGetattr(this.s, f.ff.inode, ref.dontSync === true, t));
    return this.k.run((t) => F.statNode(this.s, ref.node ?? '', ref.dontSync === true, t));
  }

  lseek(fd: string, whence: 'SET' | 'CUR' | 'END' | 'DATA' | 'HOLE', offset: number): SimResult {
    return this.withFile(fd, (f, t) => F.fuseLseek(this.s, f, whence, offset, t));
  }

  ftruncate(fd: string, size: number): SimResult {
    return this.withFile(fd, (f, t) => F.fuseFtruncate(this.s, f, size, t));
  }

  fsync(fd: string): SimResult {
    return this.withFile(fd, (f, t) => F.fuseFsync(this.s, f, t));
  }

  fallocate(fd: string): SimResult {
    return this.withFile(fd, (f, t) => F.fuseFallocate(this.s, f, t));
  }

  ioctl(fd: string, cmd: number): SimResult {
    return this.withFile(fd, (f, t) => F.fuseFileIoctl(this.s, f, cmd, t));
  }

  /** fgetxattr(2) (IO-23). */
  getxattr(fd: string, _name: string): SimResult {
    return this.withFile(fd, (f, t) => F.fuseGetxattr(this.s, f, t));
  }

  copyRange(from: string, to: string, length: number): SimResult {
    return this.k.run((t) => {
      const a = this.s.clientFiles.get(from);
      const b = this.s.clientFiles.get(to);
      if (a === undefined || b === undefined) return setupFault(`no client fd named "${a === undefined ? from : to}"`);
      return F.fuseCopyRange(this.s, a, b, length, t);
    });
  }

  close(fd: string): SimResult {
    return this.k.run((t) => {
      const f = this.s.clientFiles.get(fd);
      if (f === undefined) return setupFault(`no client fd named "${fd}"`);
      this.s.clientFiles.delete(fd);
      return F.fuseClose(this.s, f, t);
    });
  }
}

/** Create a modelled kernel with a world: `createKernel({ profile: '6.18', world })`. */
export function createKernel(opts: CreateKernelOptions = {}): Kernel {
  return new Kernel(opts);
}

export type { Errno };
