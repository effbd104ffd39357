// The backing ioctl steps (backingOpen, registerMany, backingClose) on the kernel: with the
// step's credentials (another process for some, spec/daemon-steps.ts Cred), interruptible where
// the ioctl may sleep (DEV-5, DEV-13). Split from session.ts.
import type { Cred, Step } from '../../spec/case.ts';
import { FUSE_DEV_IOC } from '../../spec/uapi.ts';
import { encodeBackingMap, encodeI32 } from '../../wire/structs.ts';
import { sys } from '../ffi/libc.ts';
import { withoutSysAdmin } from '../ffi/caps.ts';
import { O } from '../ffi/consts.ts';
import type { DaemonHandle } from '../daemon/handle.ts';
import { serverIoctl } from './ioctl-servers.ts';
import { res, type Outcome } from './client-steps.ts';

export type BackingStep = Extract<Step, { op: 'backingOpen' | 'registerMany' | 'backingClose' }>;

const BACKING_STEP_OPS: ReadonlySet<Step['op']> = new Set(['backingOpen', 'registerMany', 'backingClose']);

export function isBackingStep(s: Step): s is BackingStep {
  return BACKING_STEP_OPS.has(s.op);
}

/** What the steps need of the session. */
export interface BackingContext {
  /** The credentials of a step that names none (`userns` for a rootless daemon). */
  readonly defaultCred: Cred;
  /** The worker that interrupts a sleeping ioctl (the mount under test's). */
  readonly alarm: DaemonHandle;
  dev(name: string): number;
  /** A daemon fd by name, or undefined. */
  daemonFd(name: string): number | undefined;
  /** The daemon fd is open on a file of the mount under test (`self`). */
  isSelfFd(name: string): boolean;
  filePath(name: string): string;
  /** Registration names -> ids; `registered` tells every mount's daemon after a change. */
  readonly ids: Map<string, number>;
  registered(): void;
}

export function runBackingStep(s: BackingStep, c: BackingContext): Outcome {
  switch (s.op) {
    case 'backingOpen': {
      const fd = typeof s.fd === 'number' ? s.fd : c.daemonFd(s.fd);
      if (fd === undefined) throw new Error(`no daemon fd named ${String(s.fd)}`);
      const arg = s.nullArg ? null : encodeBackingMap({ fd, flags: s.flags ?? 0, padding: BigInt(s.padding ?? 0) });
      const r = interruptible(c, s.interruptAfterMs, () =>
        ioctlAs(c, s.cred, c.dev(s.dev), FUSE_DEV_IOC.BACKING_OPEN, arg, typeof s.fd === 'number' ? undefined : fd, typeof s.fd === 'number' || c.isSelfFd(s.fd)),
      );
      if (r > 0 && s.as) {
        c.ids.set(s.as, r);
        c.registered();
      }
      return res(r, r);
    }
    case 'registerMany': {
      const path = c.filePath(s.file);
      const dev = c.dev(s.dev);
      for (let n = 0; n < s.count; n++) {
        const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
        if (fd < 0) return n === 0 ? res(fd) : { ...res(fd), value: n };
        const id = sys.ioctl(dev, FUSE_DEV_IOC.BACKING_OPEN, encodeBackingMap({ fd, flags: 0, padding: 0n }));
        sys.close(fd);
        if (id < 0) return n === 0 ? res(id) : { ...res(id), value: n };
      }
      return { errno: null, value: s.count };
    }
    case 'backingClose': {
      const id = typeof s.id === 'number' ? s.id : c.ids.get(s.id);
      if (id === undefined) throw new Error(`no registration named ${String(s.id)}`);
      // Like backingOpen: on a SYNC_INIT fd not yet attached the ioctl sleeps (DEV-5, DEV-13).
      return res(interruptible(c, s.interruptAfterMs, () => ioctlAs(c, s.cred, c.dev(s.dev), FUSE_DEV_IOC.BACKING_CLOSE, s.nullArg ? null : encodeI32(id))));
    }
  }
}

/**
 * A backing ioctl with the step's credentials. `passFd`: the daemon fd a BACKING_OPEN registers.
 * A server process gets that fd itself, so that the registration holds the daemon's file, as
 * the sim has it (its close of its copy is then never the last: no close event). A file of the
 * mount under test (`self`) goes as an O_PATH reopen instead (its copy's close would send our
 * daemon a FLUSH; BACKING_OPEN refuses such a file anyway, ELOOP); so does every `userns` one,
 * whose ioctls fail at the capability check before they look at the fd.
 */
function ioctlAs(c: BackingContext, cred: Cred | undefined, devFd: number, cmd: number, arg: Uint8Array | null, passFd?: number, onMountUnderTest = true): number {
  const who = cred ?? c.defaultCred;
  if (who === 'noCapSysAdmin') return withoutSysAdmin(() => sys.ioctl(devFd, cmd, arg));
  if (who === 'root') return sys.ioctl(devFd, cmd, arg);
  return serverIoctl(who, devFd, cmd, arg, passFd, who === 'userns' || onMountUnderTest);
}

/**
 * Run a syscall that may sleep (DEV-5, DEV-13); if it is still running after `ms`, a daemon
 * worker signals this thread (a handler without SA_RESTART), so it fails with EINTR.
 */
function interruptible(c: BackingContext, ms: number | undefined, call: () => number): number {
  if (ms === undefined) return call();
  c.alarm.armAlarm(ms);
  try {
    return call();
  } finally {
    c.alarm.disarmAlarm();
  }
}
