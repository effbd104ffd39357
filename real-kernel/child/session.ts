// One case on the kernel: the world, the fds and maps it names, and the step executor. Runs on
// the child's main thread inside the case's own mount namespace; every syscall that can wait on
// FUSE is issued here while the daemon workers answer on their own threads.
import type { Case, InitReplySpec, Step } from '../../spec/case.ts';
import { DEFAULT_INIT_REPLY } from '../../spec/case.ts';
import type { BackingEvent, Observation } from '../../spec/observation.ts';
import { runWorldStep, umountOverlayOnFuse, WORLD_STEP_OPS, type WorldStep } from './world-steps.ts';
import { canonicalEvents, canonicalAllRequests, canonicalRequests } from '../../spec/observation.ts';
import { FUSE_DEV_IOC, type FuseOpcodeName } from '../../spec/uapi.ts';
import type { FuseNodeSpec } from '../../fixtures/world.ts';
import { sys } from '../ffi/libc.ts';
import { MNT_DETACH, O } from '../ffi/consts.ts';
import type { DaemonHandle } from '../daemon/handle.ts';
import { LOG_CAP } from '../daemon/shared.ts';
import { buildWorld, fileBytes, mountNestedFuse, type BuiltWorld } from './world.ts';
import { Inotify, settle } from './observers.ts';
import { initOfferTexts, observeKernel } from './kernel-observables.ts';
import { connIdentity, connOf, withConnDir, type ConnId } from './fusectl.ts';
import { mountInUserns } from './userns-mount.ts';
import koffi from 'koffi';
import type { ChildProcess } from 'node:child_process';
import { entryPath } from './scratch-path.ts';
import { ClientSteps, res, type Outcome } from './client-steps.ts';
import { NamedMounts, type ServeSpec } from './named-mounts.ts';
import { DevFds } from './dev-fds.ts';
import { DaemonFds } from './daemon-fds.ts';
import { isBackingStep, runBackingStep, type BackingContext } from './backing-steps.ts';






export class CaseSession {
  private readonly world: BuiltWorld;
  private readonly inotify = new Inotify();
  private readonly devs: DevFds;
  private readonly backingContext: BackingContext;
  private readonly daemonFds: DaemonFds;
  private readonly ids = new Map<string, number>();
  /** The client's fds and mappings, and the executor of client steps (client-steps.ts). */
  private readonly client: ClientSteps;
  private mountDev: string | null = null;
  /** What the initOffer observable shows (kernel-observables.ts). */
  private initOffer = '';
  private mounted = false;
  private conn: number | null = null;
  /** The mount's connection with its fusectl identity (fusectl.ts): numbers are reused. */
  private connId: ConnId | null = null;
  private readonly innerIds: ConnId[];
  /** Further mounts by name (MountStep.as), in the order they were mounted. */
  private readonly named: NamedMounts;
  /** Client fd numbers opened on a named mount, with its name. */
  private readonly fdMount = new Map<number, string>();
  private readonly spare: () => DaemonHandle;
  private readonly nodes: Record<string, FuseNodeSpec>;
  private readonly pendingEvents: BackingEvent[] = [];
  private readonly helpers: ChildProcess[] = [];
  /** `self` world files watched so far (see watchSelf). */
  private readonly selfWatched = new Set<string>();

  constructor(
    private readonly kase: Case,
    work: string,
    disk: string,
    private readonly daemon: DaemonHandle,
    spare: () => DaemonHandle,
  ) {
    this.spare = spare;
    this.devs = new DevFds(daemon);
    this.backingContext = {
      defaultCred: kase.world.daemonInUserns ? 'userns' : 'root',
      alarm: daemon,
      dev: (name) => this.dev(name),
      daemonFd: (name) => this.daemonFds.find(name),
      isSelfFd: (name) => this.daemonFds.isSelf(name),
      filePath: (name) => this.filePath(name),
      ids: this.ids,
      // Every mount's daemon resolves the names in its open replies (one daemon, several mounts).
      registered: () => {
        for (const d of [this.daemon, ...this.named.daemons()]) d.send({ t: 'ids', backingIds: Object.fromEntries(this.ids) }, true);
      },
    };
    this.named = new NamedMounts(work, spare);
    this.world = buildWorld(kase.world, work, disk, spare);
    this.daemonFds = new DaemonFds(this.world);
    this.client = new ClientSteps({
      path: (node, mount) => this.path(node, mount),
      // A named mount's lookups are its own: the mount under test's `self` files are not watched then.
      beforeLookup: (node, mount) => (mount === undefined ? this.watchSelf(node) : undefined),
      opened: (fd, mount) => (mount === undefined ? this.fdMount.delete(fd) : this.fdMount.set(fd, mount)),
      closeFile: (fd) => this.closeFuseFile(fd),
      worldFilePath: (name) => this.filePath(name),
    });
    this.innerIds = this.world.inner.map((c) => connIdentity(connOf(c.mnt))).filter((c): c is ConnId => c !== null);
    this.nodes = { ...(kase.world.nodes ?? {}) };
    // `self` files are files of the mount under test: the daemon serves them as nodes.
    for (const f of this.world.files.values()) {
      if (f.spec.on === 'self' && !this.nodes[f.name]) this.nodes[f.name] = { content: new TextDecoder().decode(fileBytes(f.spec)) };
    }
    this.inotify.io = kase.world.watchIo === true;
    for (const f of this.world.files.values()) {
      // `self` files are watched when first looked up, `nestedFuse` ones once mounted.
      if (f.spec.on !== 'self' && f.spec.on !== 'nestedFuse') this.inotify.watch(f.name, f.path, f.spec.type === 'symlink');
    }
    this.inotify.drain();
  }

  /** Every FUSE connection this case made, as recorded when it was made (for the guardian). */
  connections(): ConnId[] {
    return [...(this.connId === null ? [] : [this.connId]), ...this.named.connIds(), ...this.innerIds];
  }

  /** Wait for quiescence of every daemon and connection of the case (observers.ts). */
  private settle(): BackingEvent[] {
    return settle(this.inotify, this.daemons(), this.connections());
  }

  private daemons(): DaemonHandle[] {
    return [this.daemon, ...this.named.daemons(), ...this.world.inner.map((c) => c.daemon)];
  }

  /** The inner daemon whose requests each step observes (World.observeInnerDaemon), once mounted. */
  private observedInner(): DaemonHandle | null {
    const kind = this.kase.world.observeInnerDaemon;
    return kind === undefined ? null : (this.world.inner.find((c) => c.kind === kind)?.daemon ?? null);
  }

  private observe(run: () => Outcome): Observation {
    this.daemon.takeLog();
    // What the inner daemon received before the step (its mount's own lookups) is not the step's.
    this.observedInner()?.takeLog();
    this.named.skipLogs();
    let out: Outcome;
    try {
      out = run();
    } catch (e) {
      out = { fault: { kind: 'crash', message: e instanceof Error ? e.message : String(e) } };
    }
    const events = [...this.pendingEvents.splice(0), ...this.settle()];
    const reqs = this.mountDev === null ? [] : this.daemon.takeLog();
    // Same shape as the sim's observations: value null when the step has none.
    const obs: Observation = {
      errno: out.errno ?? null,
      value: out.value ?? null,
      requests: canonicalRequests(reqs as FuseOpcodeName[]),
      allRequests: canonicalAllRequests(reqs as FuseOpcodeName[]),
      events: out.quiet ? [] : canonicalEvents(events as BackingEvent[]),
    };
    if (this.named.size > 0) obs.mountRequests = this.named.takeRequests();
    if (this.kase.world.observeInnerDaemon !== undefined) obs.innerRequests = canonicalAllRequests((this.observedInner()?.takeLog() ?? []) as FuseOpcodeName[]);
    // Each log read this step (the named mounts' and the inner daemon's too) must be whole.
    const lost = [this.daemon, ...this.named.daemons(), ...(this.kase.world.observeInnerDaemon === undefined ? [] : [this.observedInner()])].reduce((n, d) => n + (d?.lostFromLog ?? 0), 0);
    if (out.fault) obs.fault = out.fault;
    else if (lost > 0) {
      obs.fault = { kind: 'unsupported', message: `the step sent more requests than a daemon's log holds (${LOG_CAP}); the first ${lost} are not observed` };
    }
    return obs;
  }

  apply(step: Step): Observation {
    if (this.writebackCache && TIME_UPDATING.has(step.op)) this.awaitNextClockTick();
    const obs = this.observe(() => this.run(step));
    this.lastStepTick = sys.coarseNowNs();
    return obs;
  }

  /** A mount of the case negotiated FUSE_WRITEBACK_CACHE: the kernel keeps its times locally. */
  private writebackCache = false;
  private lastStepTick = 0n;

  /**
   * With the writeback cache a write dirties the times only if the coarse clock moved since the
   * times were last set (file_update_time, inode_needs_update_time): an O_TRUNC open or an
   * ftruncate and a write a millisecond later in the same 4 ms tick left nothing for the close
   * to send (fuzz seeds 1895264651, 611002636). The model takes steps as far apart as a person
   * typing them would be, so this target starts such a step on a fresh tick (at most one tick).
   */
  private awaitNextClockTick(): void {
    const deadline = Date.now() + 100;
    while (sys.coarseNowNs() === this.lastStepTick && Date.now() < deadline) Atomics.wait(TICK_WAIT, 0, 0, 0.25);
  }

  private dev(name: string): number {
    return this.devs.fd(name);
  }

  private fd(name: string): number {
    return this.client.fd(name);
  }

  private path(node: string | undefined, mount?: string): string {
    const mnt = mount === undefined ? this.world.mnt : this.named.get(mount).mnt;
    return node === undefined || node === '' ? mnt : entryPath(mnt, node);
  }

  private filePath(name: string): string {
    const f = this.world.files.get(name);
    if (!f) throw new Error(`no world file named ${name}`);
    return f.path;
  }

  private daemonFd(name: string): number {
    return this.daemonFds.fd(name);
  }

  private run(s: Step): Outcome {
    if (isWorldStep(s)) return runWorldStep(s, this.world, (name) => this.daemonFd(name));
    if (isBackingStep(s)) return runBackingStep(s, this.backingContext);
    switch (s.op) {
      case 'devOpen':
        return this.devs.open(s.as);
      case 'syncInit':
        return res(sys.ioctl(this.dev(s.dev), FUSE_DEV_IOC.SYNC_INIT, null));
      case 'mount':
        if (s.as !== undefined) return this.mountNamed(s.dev, s.as, s.init ?? DEFAULT_INIT_REPLY);
        return this.mount(s.dev, s.deferInit ? null : (s.init ?? DEFAULT_INIT_REPLY));
      case 'replyInit': {
        this.writebackCache = (s.init ?? DEFAULT_INIT_REPLY).flags?.includes('WRITEBACK_CACHE') === true;
        this.daemon.send({ t: 'replyInit', init: s.init ?? DEFAULT_INIT_REPLY }, true);
        this.daemon.waitInit(2, 2000);
        return { errno: null };
      }
      case 'devClone':
        return this.devs.clone(s.dev, s.as);
      case 'devRead':
        return this.devs.read(s.dev);
      case 'devIoctl':
        return res(sys.ioctl(this.dev(s.dev), s.cmd, s.nullArg ? null : new Uint8Array(64)));
      case 'devClose':
        return this.devClose(s.dev);
      case 'daemonOpen':
        if (s.file.startsWith('devfuse:')) return this.daemonFds.alias(s.as, this.dev(s.file.slice('devfuse:'.length)));
        this.watchSelf(s.file);
        return this.daemonFds.open(s.file, s.mode, s.as);
      case 'daemonClose': {
        const self = this.daemonFds.isSelf(s.fd);
        const d = this.daemonFds.take(s.fd);
        return res(d.owned ? (self ? this.closeFuseFile(d.fd) : sys.close(d.fd)) : 0);
      }
      case 'setOpenReply':
        (s.mount === undefined ? this.daemon : this.named.get(s.mount).daemon).send({ t: 'setOpen', node: s.node, reply: s.reply }, true);
        return { errno: null };
      case 'setDaemonSize':
        (s.mount === undefined ? this.daemon : this.named.get(s.mount).daemon).send({ t: 'setSize', node: s.node, size: s.size }, true);
        return { errno: null };
      case 'abort': {
        if (s.mount === undefined && this.conn === null) return { fault: { kind: 'setup', message: 'abort before mount' } };
        // Only while the number is still our connection (fusectl.ts); else ENOENT as fusectl.
        const r = withConnDir(s.mount === undefined ? this.connId : this.named.get(s.mount).connId, (dir) => {
          const fd = sys.open(`${dir}/abort`, O.WRONLY | O.CLOEXEC);
          if (fd < 0) return fd;
          const w = sys.write(fd, new TextEncoder().encode('1'));
          sys.close(fd);
          return w;
        });
        return typeof r === 'number' ? res(r) : r;
      }
      case 'umount': {
        const named = s.mount === undefined ? null : this.named.get(s.mount);
        const r = sys.umount2(named?.mnt ?? this.world.mnt, s.lazy ? MNT_DETACH : 0);
        if (r === 0 && named !== null) named.mounted = false;
        else if (r === 0) this.mounted = false;
        return res(r);
      }
      case 'lock':
        if (s.daemonFd === undefined) return this.client.run(s);
        return res(sys.lock(this.daemonFd(s.daemonFd), s.kind, s.type));
      case 'observe':
        return { ...this.observeKernel(s), quiet: true };
      case 'mountNestedFuse': {
        const c = mountNestedFuse(this.world, this.kase.world.nestedFuseAt ?? '', this.spare());
        if (typeof c === 'number') return res(c);
        this.world.inner.push(c);
        const id = connIdentity(connOf(c.mnt));
        if (id !== null) this.innerIds.push(id);
        for (const f of this.world.nestedFiles) this.inotify.watch(f.name, f.path, false);
        return { errno: null };
      }
      case 'watchFuseFile': {
        // Through the fd's /proc link: the magic link jumps to the open file's dentry, so
        // nothing is looked up on FUSE (no request), and the watch is on that very inode.
        const wd = this.inotify.watch(s.as, `/proc/self/fd/${this.fd(s.fd)}`, false);
        return wd >= 0 ? { errno: null } : res(wd);
      }
      case 'simIdCursor':
      case 'simFailAlloc':
      case 'simParallelDioWrite':
      case 'simInterleave':
        return { fault: { kind: 'unsupported', message: `${s.op} is sim-only: the kernel cannot reach that state in a bounded run` } };
      default:
        return this.client.run(s);
    }
  }

  /**
   * Watch a `self` world file (a name on the mount under test) just before a step looks that name
   * up anyway. inotify_add_watch looks the name up: done at mount time for every self file, it
   * left cached dentries the case never asked for, so after an abort an O_PATH open of the name
   * succeeded without a request where the case's own first lookup fails with ENOTCONN (LIFE-20).
   */
  private watchSelf(name: string | undefined): void {
    if (name === undefined || this.selfWatched.has(name)) return;
    const f = this.world.files.get(name);
    if (f?.spec.on !== 'self') return;
    if (this.inotify.watch(f.name, f.path, false) >= 0) this.selfWatched.add(name);
  }



  /**
   * close(2) of a file of the mount under test. When the mount is detached and this is its last
   * open file, the superblock dies inside this close and aborts the connection, racing with the
   * daemon reading the asynchronous RELEASE; the daemon holds (SLOT.hold) so the abort always
   * wins in a close step, the usual outcome on an idle machine (finish pins the mount instead).
   */
  private closeFuseFile(fd: number): number {
    // The last FUSE file of a lazily unmounted mount: its daemon is held (below). A named mount
    // counts its own client fds; the mount under test its client fds and `self` daemon fds.
    const named = this.fdMount.get(fd);
    this.fdMount.delete(fd);
    const onNamed = (n: string | undefined) => [...this.client.fds.values()].filter((f) => this.fdMount.get(f) === n).length;
    let last: boolean;
    let daemon: DaemonHandle;
    if (named !== undefined) {
      const m = this.named.get(named);
      last = !m.mounted && m.connId !== null && onNamed(named) === 1;
      daemon = m.daemon;
    } else {
      last = !this.mounted && this.conn !== null && onNamed(undefined) + this.daemonFds.selfCount() === 1;
      daemon = this.daemon;
    }
    if (!last) return sys.close(fd);
    daemon.setHold(true);
    try {
      return sys.close(fd);
    } finally {
      daemon.setHold(false);
    }
  }

  /** What a mount's worker serves: the world's nodes, answers and registration names. */
  private serveSpec<I extends InitReplySpec | null>(init: I): ServeSpec & { init: I } {
    return {
      nodes: this.nodes,
      createReply: this.kase.world.create ?? {},
      init,
      backingIds: Object.fromEntries(this.ids),
      ...(this.kase.world.daemon === undefined ? {} : { settings: this.kase.world.daemon }),
      filePaths: Object.fromEntries([...this.world.files.values()].map((f) => [f.name, f.path])),
    };
  }

  private mount(devName: string, init: InitReplySpec | null): Outcome {
    this.writebackCache = init?.flags?.includes('WRITEBACK_CACHE') === true;
    const fd = this.dev(devName);
    this.daemon.serve({ t: 'serve', devFd: fd, ...this.serveSpec(init) });
    const d = this.devs.get(devName);
    d.served = true;
    this.mountDev = devName;
    const r = this.kase.world.daemonInUserns
      ? mountInUserns(this.world, this.helpers, (taken) => {
          // The daemon's /dev/fuse fd is the helper's (opened in its user namespace): take it over.
          this.daemon.send({ t: 'fd', devFd: taken }, true);
          sys.close(d.fd);
          d.fd = taken;
        })
      : sys.mount('fusepass', this.world.mnt, 'fuse.fusepass', 0, `fd=${fd},rootmode=40000,user_id=0,group_id=0,allow_other`);
    if (r < 0) {
      // The daemon may have seen INIT (SYNC_INIT answered with an error): keep its log.
      this.daemon.send({ t: 'fd', devFd: -1 }, true);
      d.served = false;
      return res(r);
    }
    this.mounted = true;
    d.attached = true;
    this.conn = connOf(this.world.mnt);
    this.connId = connIdentity(this.conn);
    if (!this.daemon.waitInit(init === null ? 1 : 2, 3000)) return { fault: { kind: 'timeout', message: 'the kernel sent no INIT' } };
    this.inotify.drain();
    const offer = initOfferTexts(this.daemon.initRequest());
    this.initOffer = offer.whole;
    return { errno: null, value: offer.step };
  }

  /**
   * mount(2) of a further FUSE mount (MountStep.as) at `<work>/mnt<n>`, served by a worker of its
   * own with the same nodes and registration names (one daemon serving several mounts).
   */
  private mountNamed(devName: string, name: string, init: InitReplySpec): Outcome {
    const d = this.devs.get(devName);
    if (init.flags?.includes('WRITEBACK_CACHE') === true) this.writebackCache = true;
    const { outcome, mount } = this.named.mount(name, d.fd, this.serveSpec(init));
    d.named = mount;
    d.served = mount.mounted;
    d.attached = mount.mounted;
    return outcome;
  }

  private devClose(name: string): Outcome {
    const { outcome, fd } = this.devs.close(name);
    this.daemonFds.forgetAliasesOf(fd);
    return outcome;
  }


  private observeKernel(s: Extract<Step, { op: 'observe' }>): Outcome {
    return observeKernel(s, {
      devFd: (n) => this.dev(n),
      clientFd: (n) => this.fd(n),
      mapStart: (n) => koffi.address(this.client.mapOf(n).p),
      mnt: this.world.mnt,
      connDir: (use) => withConnDir(this.connId, use),
      mounted: this.mounted,
      fuseMinor: this.conn,
      initOffer: this.initOffer,
      filePath: (n) => this.filePath(n),
      namedMounts: this.named.places(),
    });
  }


  /**
   * Tear down in the fixed order (client maps and fds, umount, daemon fds, /dev/fuse fds) and
   * observe what that released (LIFE-23).
   */
  finish(): Observation {
    return this.observe(() => {
      // Pin the mount (O_PATH reopens of the open files: no request, no inotify event). After
      // a lazy umount the last close would kill the superblock and abort the connection while
      // its asynchronous RELEASE may or may not have been read, a race inside the kernel;
      // pinned, teardown always lets the RELEASE reach the daemon first (the sim's teardown
      // models that outcome; a close step models the other, see closeFuseFile). The pins are
      // dropped after the daemon fds are closed, so the superblock and the connection's
      // registrations outlive the daemon's own fds (sim/kernel.ts teardown models this order).
      const pins = [...this.client.fds.values(), ...this.daemonFds.ownedFds()]
        .map((fd) => sys.open(`/proc/self/fd/${fd}`, O.PATH | O.CLOEXEC))
        .filter((fd) => fd >= 0);
      this.client.releaseAll();
      umountOverlayOnFuse(this.world);
      // Let asynchronous RELEASEs reach the daemon before it stops reading (LIFE-14).
      this.pendingEvents.push(...this.settle());
      if (this.mounted) sys.umount2(this.world.mnt, MNT_DETACH);
      this.mounted = false;
      this.named.umountAll();
      this.daemonFds.closeAll();
      this.pendingEvents.push(...this.settle());
      for (const fd of pins) sys.close(fd);
      for (const name of this.devs.names()) this.devClose(name);
      return { errno: null };
    });
  }

  /** Release fixture resources (inner mounts' fds, sockets, inotify); the namespace goes next. */
  dispose(): void {
    umountOverlayOnFuse(this.world);
    this.daemon.stop();
    this.named.dispose();
    for (const c of this.world.inner) {
      c.daemon.stop();
      for (const fd of c.held) sys.close(fd);
      sys.umount2(c.mnt, MNT_DETACH);
      sys.close(c.devFd);
    }
    for (const fd of this.world.held) sys.close(fd);
    for (const h of this.helpers) h.kill('SIGKILL');
    this.inotify.close();
    this.client.close();
  }
}




/** Steps whose syscall may update a file's times (file_update_time, file_modified). */
const TIME_UPDATING: ReadonlySet<Step['op']> = new Set(['write', 'spliceWrite', 'mapWrite', 'copyRange', 'sendfile', 'fallocate', 'posixFallocate']);
const TICK_WAIT = new Int32Array(new SharedArrayBuffer(4));

function isWorldStep(s: Step): s is WorldStep {
  return WORLD_STEP_OPS.has(s.op);
}
