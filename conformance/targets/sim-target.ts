// The sim target: plays every step op of spec/case.ts on the model (sim/) and returns its
// canonical observations, explanation included. A thin adapter over the sim's public API.
import type { Case, ProfileName, Step } from '../../spec/case.ts';
import { DEFAULT_INIT_REPLY } from '../../spec/case.ts';
import type { Observation } from '../../spec/observation.ts';
import type { CaseSession, Target, TargetInfo } from '../../spec/target.ts';
import { createKernel, type Kernel, type SimMutation, type SimResult } from '../../sim/index.ts';

function compat(step: Step): boolean {
  return (step as { compat32?: boolean }).compat32 === true;
}

/** Steps whose `dev` names the /dev/fuse fd they act on (its connection decides the mount). */
const DEV_STEPS: ReadonlySet<Step['op']> = new Set(['syncInit', 'devClone', 'devRead', 'devIoctl', 'devClose', 'backingOpen', 'backingClose', 'registerMany']);
/** Daemon steps whose `fd` is a daemon fd, not a client one: the machine's, no mount's. */
const DAEMON_FD_STEPS: ReadonlySet<Step['op']> = new Set(['daemonOpen', 'daemonClose', 'daemonWrite', 'daemonIoctl']);
/** Steps whose `from` and `to` are client fds (a rename's are node names). */
const COPY_STEPS: ReadonlySet<Step['op']> = new Set(['copyRange', 'sendfile']);

function named(x: unknown): string | undefined {
  return typeof x === 'string' ? x : undefined;
}

/**
 * The named mount (MountStep.as) a step addresses: a mount step's own name, a `mount` field, or
 * the mount its client fd, mapping or /dev/fuse fd belongs to; undefined for the mount under test.
 */
function mountOfStep(k: Kernel, step: Step): string | undefined {
  if (step.op === 'mount') return step.as;
  // No named mount yet: no step can name one (the loader checks that `mount` names an earlier one).
  if (k.mounts.size === 0) return undefined;
  const s = step as { mount?: unknown; fd?: unknown; map?: unknown; dev?: unknown; from?: unknown; to?: unknown };
  if (typeof s.mount === 'string') return s.mount;
  if (DEV_STEPS.has(step.op)) return k.mountOf({ dev: named(s.dev) });
  if (DAEMON_FD_STEPS.has(step.op) || (step.op === 'lock' && step.daemonFd !== undefined)) return undefined;
  const copy = COPY_STEPS.has(step.op);
  return k.mountOf({ fd: named(s.fd) ?? (copy ? (named(s.from) ?? named(s.to)) : undefined), map: named(s.map) });
}

/** Play one step on the kernel model, on the mount it addresses (then back to the one before). */
export function playStep(k: Kernel, step: Step): SimResult {
  const before = k.activeMount;
  k.use(mountOfStep(k, step));
  try {
    return playOn(k, step);
  } finally {
    k.use(before);
  }
}

function playOn(k: Kernel, step: Step): SimResult {
  const d = k.daemon;
  const c = k.client;
  switch (step.op) {
    case 'devOpen':
      return d.devOpen(step.as);
    case 'syncInit':
      return d.syncInit(step.dev);
    case 'mount':
      return d.mount(step.dev, step.init ?? DEFAULT_INIT_REPLY, { deferInit: step.deferInit === true });
    case 'replyInit':
      return d.replyInit(step.init ?? DEFAULT_INIT_REPLY);
    case 'devClone':
      return d.devClone(step.dev, step.as);
    case 'devRead':
      return d.devRead(step.dev);
    case 'devIoctl':
      return d.devIoctl(step.dev, step.cmd, { nullArg: step.nullArg === true, compat32: compat(step) });
    case 'devClose':
      return d.devClose(step.dev);
    case 'daemonOpen':
      return d.open(step.file, step.mode, step.as);
    case 'daemonClose':
      return d.close(step.fd);
    case 'unlink':
      return c.unlink(step.node);
    case 'rename':
      return c.rename(step.from, step.to);
    case 'daemonIoctl':
      return d.ioctl(step.fd, step.cmd);
    case 'unlinkWorldFile':
      return k.unlinkWorldFile(step.file);
    case 'umountWorldFs':
      return k.umountWorldFs(step.on, step.lazy === true);
    case 'mountOverlayOnFuse':
      return d.mountOverlayOnFuse();
    case 'mountNestedFuse':
      return d.mountNestedFuse();
    case 'watchFuseFile':
      return c.watchFuseFile(step.fd, step.as);
    case 'daemonWrite':
      return d.write(step.fd, step.data, step.offset ?? 0);
    case 'registerMany':
      return d.registerMany(step.dev, step.file, step.count);
    // Every argument present (undefined when the step leaves it out): one shape of argument
    // object, where keys added one by one made a new hidden class per combination.
    case 'backingOpen':
      return d.backingOpen({ dev: step.dev, fd: step.fd, flags: step.flags, padding: step.padding, nullArg: step.nullArg, cred: step.cred, interruptAfterMs: step.interruptAfterMs, as: step.as, compat32: compat(step) });
    case 'backingClose':
      return d.backingClose({ dev: step.dev, id: step.id, nullArg: step.nullArg, cred: step.cred, interruptAfterMs: step.interruptAfterMs, compat32: compat(step) });
    case 'setOpenReply':
      return d.setOpenReply(step.node, step.reply);
    case 'setDaemonSize':
      return d.setDaemonSize(step.node, step.size);
    case 'abort':
      return d.abort();
    case 'umount':
      return d.umount({ lazy: step.lazy === true });
    case 'open':
      return c.open(step.node, step.flags ?? [], step.as, { compat32: compat(step), nobody: step.user === 'nobody' });
    case 'opendir':
      return c.opendir(step.node, step.as);
    case 'readdir':
      return c.readdir(step.fd);
    case 'read':
      return c.read(step.fd, step.length, step.offset);
    case 'write':
      return c.write(step.fd, step.data, step.offset);
    case 'spliceRead':
      return c.spliceRead(step.fd, step.length, step.offset);
    case 'spliceWrite':
      return c.spliceWrite(step.fd, step.data, step.offset);
    case 'mmap': {
      const o: { shared: boolean; length?: number; write?: boolean } = { shared: step.shared };
      if (step.length !== undefined) o.length = step.length;
      if (step.write !== undefined) o.write = step.write;
      return c.mmap(step.fd, o, step.as);
    }
    case 'mapRead':
      return c.mapRead(step.map, step.length, step.offset);
    case 'mapWrite':
      return c.mapWrite(step.map, step.data, step.offset);
    case 'munmap':
      return c.munmap(step.map);
    case 'stat': {
      const r: { fd?: string; node?: string; dontSync?: boolean } = {};
      if (step.fd !== undefined) r.fd = step.fd;
      if (step.node !== undefined) r.node = step.node;
      if (step.dontSync !== undefined) r.dontSync = step.dontSync;
      return c.stat(r);
    }
    case 'lseek':
      return c.lseek(step.fd, step.whence, step.offset);
    case 'ftruncate':
      return c.ftruncate(step.fd, step.size);
    case 'fsync':
      return c.fsync(step.fd);
    case 'fallocate':
      return c.fallocate(step.fd, step.length);
    case 'posixFallocate':
      return c.posixFallocate(step.fd, step.offset, step.length);
    case 'fileIoctl':
      return c.ioctl(step.fd, step.cmd);
    case 'copyRange':
      return c.copyRange(step);
    case 'sendfile':
      return c.sendfile(step);
    case 'lock':
      return step.daemonFd !== undefined ? d.lock(step.daemonFd, step.kind, step.type) : c.lock(step.fd ?? '', step.kind, step.type);
    case 'getxattr':
      return c.getxattr(step.fd, step.name);
    case 'close':
      return c.close(step.fd);
    case 'inspectBacking':
      return k.inspectBacking(step.file, step.length, step.offset);
    case 'observe': {
      const ref: { dev?: string; fd?: string; map?: string; file?: string } = {};
      if (step.dev !== undefined) ref.dev = step.dev;
      if (step.fd !== undefined) ref.fd = step.fd;
      if (step.map !== undefined) ref.map = step.map;
      if (step.file !== undefined) ref.file = step.file;
      return k.observe(step.what, ref);
    }
    case 'simIdCursor':
      return k.simIdCursor(step.next, step.fillToMax === true);
    case 'simFailAlloc':
      return k.simFailAlloc(step.what);
    case 'simParallelDioWrite':
      return step.phase === 'begin' ? k.simBeginParallelDioWrite(step.fd) : k.simEndParallelDioWrite(step.fd);
    case 'simInterleave': {
      const actions = step.actions;
      k.simInterleave(step.at, (kk) => {
        for (const a of actions) playStep(kk, a);
      });
      return { errno: null, value: null, requests: [], events: [], explain: { checks: [] } };
    }
    default: {
      const op = (step as { op: string }).op;
      return { errno: null, value: null, requests: [], events: [], explain: { checks: [] }, fault: { kind: 'unsupported', message: `the sim target has no step op "${op}"` } };
    }
  }
}

class SimSession implements CaseSession {
  constructor(private readonly k: Kernel) {}

  async apply(step: Step): Promise<Observation> {
    return playStep(this.k, step);
  }

  async finish(): Promise<Observation> {
    return this.k.teardown();
  }
}

export interface SimTargetOptions {
  profile?: ProfileName;
  /** Tests only (the fuzzer's planted-bug test): a deliberately wrong check, see SimMutation. */
  mutation?: SimMutation;
}

export function createSimTarget(opts: SimTargetOptions = {}): Target {
  const profile = opts.profile ?? '6.18';
  const mutation = opts.mutation;
  return {
    name: 'sim',
    async unavailable(): Promise<string | null> {
      return null;
    },
    async info(): Promise<TargetInfo> {
      return { name: 'sim', profile, kernelRelease: null };
    },
    async start(kase: Case): Promise<CaseSession> {
      return new SimSession(createKernel({ profile, world: kase.world, ...(mutation === undefined ? {} : { mutation }) }));
    },
  };
}
