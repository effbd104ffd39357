// The supervisor of the daemon's seccomp listener (seccomp.ts): what fusepass answers for each
// trapped call. Backing ioctls are performed on the real /dev/fuse with privilege judged on the
// daemon (BOPEN-5, BCLOSE-5) or answered from --inject; the daemon's mount(2) of FUSE is
// performed in the private namespace with the relay's socket put in place of its /dev/fuse fd;
// a clone of the session gets a socket of its own; reads of a session go to sessions.ts.
import type { CheckId } from '../spec/check-ids.ts';
import * as fs from 'node:fs';
import { sys } from '../real-kernel/ffi/libc.ts';
import { connIdentity, type ConnId } from '../real-kernel/child/fusectl.ts';
import { ERRNO } from '../spec/errno.ts';
import { FUSE_DEV_IOC } from '../spec/uapi.ts';
import { SIZE } from '../wire/layout.ts';
import { encodeBackingMap, encodeI32 } from '../wire/structs.ts';
import { checkSys, hasInitNsSysAdmin, readProcessMemory, tgidOf } from './ffi.ts';
import type { RelayEvent } from './relay-messages.ts';
import { NR, SESSION_READS, type Notif } from './seccomp.ts';
import type { Sessions } from './sessions.ts';
import type { Injection } from './inject.ts';
import type { Profile } from '../sim/index.ts';

/**
 * --target sim: the kernel model answers the backing ioctls (check/sim-port.ts). `copy` is
 * fusepass's duplicate of the daemon's fd (pidfd_getfd), or −1 when the number is no open file.
 */
export interface ModelBacking {
  /** The id or −errno, and the check that decided it. */
  backingOpen(a: { tid: number; fd: number; copy: number; flags: number; padding: bigint }): ModelAnswer;
  backingClose(a: { tid: number; id: number }): ModelAnswer;
  /** Any other ioctl on the session: the model's fuse_dev_ioctl answer (0 or −errno). */
  devIoctl(a: { tid: number; cmd: number }): number;
}

export interface ModelAnswer {
  result: number;
  /** The model's explanation, the deciding check first, and its words. */
  checks?: CheckId[];
  why?: string;
}

export interface SupervisorContext {
  /** --target sim: the model in the kernel's place; absent: the real /dev/fuse. */
  model?: ModelBacking;
  listener: number;
  sessions: Sessions;
  inject: readonly Injection[];
  /** --profile: answer the backing and SYNC_INIT ioctls as that kernel would (profile-emulation.ts). */
  profile: Profile | null;
  /** Mount mode: our copy of the daemon's end of the first socket; −1 with {fd}. */
  daemonEnd: number;
  post(e: RelayEvent): void;
  devFd(): number;
  state(): 'waiting' | 'up' | 'gone';
  /** The daemon's own mount(2) was performed: the relay serves `devFd` from now on. */
  mounted(devFd: number, conn: ConnId | null): void;
}

const O_RDWR_CLOEXEC = 0o2 | 0o2000000;
const O_PATH = 0o10000000;

/** The supervisor over `ctx`: `supervise()` answers one notification (false: listener gone). */
export function createSupervisor(ctx: SupervisorContext): { supervise(): boolean } {
  const { listener, sessions, inject, daemonEnd, post, profile } = ctx;
  /**
   * fuse_dev_ioctl_backing_open/close without CONFIG_FUSE_PASSTHROUGH (EOPNOTSUPP, before
   * copy_from_user), or a kernel before 6.9 that has no such ioctl (ENOTTY, DEV-1).
   */
  const noPassthrough = profile !== null && !profile.passthroughConfigured;
  const refusal = profile !== null && !profile.backingIoctls ? ERRNO.ENOTTY : ERRNO.EOPNOTSUPP;
  let backingOpens = 0;
  let backingCloses = 0;

  /** The errno an --inject rule gives the `seq`-th call of `op`, if any. */
  function injected(op: Injection['op'], seq: number): number | undefined {
    return inject.find((r) => r.op === op && (r.seq === null || r.seq === seq))?.errno;
  }


  function fdTarget(tid: number, fd: number): string {
    try {
      return fs.readlinkSync(`/proc/${tid}/fd/${fd}`);
    } catch {
      return '(not open)';
    }
  }

  /** Whether the daemon's fd was opened O_PATH (the octal flags line of /proc/<tid>/fdinfo). */
  function isOPath(tid: number, fd: number): boolean {
    try {
      const m = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/${tid}/fdinfo/${fd}`, 'utf8'));
      return m !== null && (parseInt(m[1]!, 8) & O_PATH) !== 0;
    } catch {
      return false;
    }
  }

  type Answer = { val: number } | { errno: number } | { continue: true };

  function backingOpen(n: Notif): Answer {
    const seq = ++backingOpens;
    const tid = n.pid;
    const map = readProcessMemory(tid, n.args[2]!, SIZE.backingMap);
    if (noPassthrough) {
      // Before copy_from_user: EOPNOTSUPP even for an unreadable argument (BOPEN-2).
      const fd = map ? new DataView(map.buffer).getInt32(0, true) : -1;
      post({ t: 'backingOpen', seq, tid, fd, target: map ? fdTarget(tid, fd) : '(unreadable argument)', flags: 0, result: -refusal, answeredBy: 'profile' });
      return { errno: refusal };
    }
    if (!map) {
      post({ t: 'backingOpen', seq, tid, fd: -1, target: '(unreadable argument)', flags: 0, result: -ERRNO.EFAULT, answeredBy: 'fault' });
      return { errno: ERRNO.EFAULT };
    }
    const dv = new DataView(map.buffer);
    const fd = dv.getInt32(0, true);
    const flags = dv.getUint32(4, true);
    const padding = dv.getBigUint64(8, true);
    const target = fdTarget(tid, fd);
    const base = { t: 'backingOpen' as const, seq, tid, fd, target, flags };
    const inj = injected('backing-open', seq);
    if (inj !== undefined) {
      post({ ...base, result: -inj, answeredBy: 'inject' });
      return { errno: inj };
    }
    if (ctx.model !== undefined) {
      const tgid = tgidOf(tid);
      const copy = tgid === null || fd < 0 ? -ERRNO.EBADF : sys.takeFd(tgid, fd);
      const a = ctx.model.backingOpen({ tid, fd, copy, flags, padding });
      if (copy >= 0) sys.close(copy);
      post({ ...base, result: a.result, ...(a.checks ? { checks: a.checks } : {}), ...(a.why ? { why: a.why } : {}) });
      return a.result < 0 ? { errno: -a.result } : { val: a.result };
    }
    if (!hasInitNsSysAdmin(tid)) {
      post({ ...base, result: -ERRNO.EPERM, answeredBy: 'privilege' });
      return { errno: ERRNO.EPERM };
    }
    // 6.9's fget(map->fd) finds no file for an O_PATH fd (6.12 efad7153bf93 took fget_raw).
    if (profile !== null && !profile.fgetRaw && flags === 0 && padding === 0n && isOPath(tid, fd)) {
      post({ ...base, result: -ERRNO.EBADF, answeredBy: 'profile' });
      return { errno: ERRNO.EBADF };
    }
    const tgid = tgidOf(tid);
    const copy = tgid === null || fd < 0 ? -ERRNO.EBADF : sys.takeFd(tgid, fd);
    let r: number;
    // The kernel's fdget fails with EBADF for a number that is no open file (BOPEN-7).
    if (copy < 0) r = -ERRNO.EBADF;
    else {
      r = sys.ioctl(ctx.devFd(), FUSE_DEV_IOC.BACKING_OPEN, encodeBackingMap({ fd: copy, flags, padding }));
      sys.close(copy);
    }
    post({ ...base, result: r });
    return r < 0 ? { errno: -r } : { val: r };
  }

  function backingClose(n: Notif): Answer {
    const seq = ++backingCloses;
    const tid = n.pid;
    if (noPassthrough) {
      post({ t: 'backingClose', seq, tid, id: 0, result: -refusal, answeredBy: 'profile' });
      return { errno: refusal };
    }
    const arg = readProcessMemory(tid, n.args[2]!, 4);
    if (!arg) {
      post({ t: 'backingClose', seq, tid, id: 0, result: -ERRNO.EFAULT, answeredBy: 'fault' });
      return { errno: ERRNO.EFAULT };
    }
    const id = new DataView(arg.buffer).getInt32(0, true);
    const inj = injected('backing-close', seq);
    if (inj !== undefined) {
      post({ t: 'backingClose', seq, tid, id, result: -inj, answeredBy: 'inject' });
      return { errno: inj };
    }
    if (ctx.model !== undefined) {
      const a = ctx.model.backingClose({ tid, id });
      post({ t: 'backingClose', seq, tid, id, result: a.result, ...(a.checks ? { checks: a.checks } : {}), ...(a.why ? { why: a.why } : {}) });
      return a.result < 0 ? { errno: -a.result } : { val: a.result };
    }
    if (!hasInitNsSysAdmin(tid)) {
      post({ t: 'backingClose', seq, tid, id, result: -ERRNO.EPERM, answeredBy: 'privilege' });
      return { errno: ERRNO.EPERM };
    }
    const r = sys.ioctl(ctx.devFd(), FUSE_DEV_IOC.BACKING_CLOSE, encodeI32(id));
    post({ t: 'backingClose', seq, tid, id, result: r });
    return r < 0 ? { errno: -r } : { val: r };
  }

  function cString(tid: number, addr: bigint): string | null {
    if (addr === 0n) return null;
    const b = readProcessMemory(tid, addr, 4096) ?? readProcessMemory(tid, addr, 256);
    if (!b) return null;
    const end = b.indexOf(0);
    return new TextDecoder().decode(b.subarray(0, end < 0 ? b.length : end));
  }

  /**
   * The daemon's own mount(2) of FUSE (mount mode: no {fd} on its command line). fusepass
   * mounts its own /dev/fuse with the daemon's source, target, type, flags and options (in this
   * private mount namespace, never the host's), puts its end of the relay socket at the fd number
   * the options name (replacing the /dev/fuse fd the daemon opened), and answers 0. Other mounts
   * run as made.
   */
  function mountFuse(n: Notif): Answer {
    const tid = n.pid;
    const type = cString(tid, n.args[2]!);
    if (type === null || !/^fuse(blk|\.|$)/.test(type)) return { continue: true };
    const source = cString(tid, n.args[0]!);
    const target = cString(tid, n.args[1]!);
    const data = cString(tid, n.args[4]!) ?? '';
    const flags = Number(n.args[3]! & 0xffffffffn);
    const fdOpt = /(?:^|,)fd=(\d+)(?:,|$)/.exec(data);
    const refuse = (errno: number, why: string): Answer => {
      post({ t: 'trapped', what: `mount ${type} on ${target}: ${why}`, tid, result: -errno });
      return { errno };
    };
    if (ctx.model !== undefined) return refuse(ERRNO.EPERM, 'with --target sim the daemon is given its session with {fd}; fusepass does not mount');
    if (daemonEnd < 0 || ctx.state() !== 'waiting') return refuse(ERRNO.EBUSY, 'fusepass relays one FUSE mount per check');
    if (target === null || !fdOpt) return refuse(ERRNO.EINVAL, 'no target or no fd= option');
    let where: string;
    try {
      where = fs.realpathSync(target.startsWith('/') ? target : `/proc/${tid}/cwd/${target}`);
    } catch {
      return refuse(ERRNO.ENOENT, 'the mountpoint does not exist');
    }
    const dev = sys.open('/dev/fuse', O_RDWR_CLOEXEC);
    if (dev < 0) return refuse(-dev, 'cannot open /dev/fuse');
    const r = sys.mount(source, where, type, flags, data.replace(/(^|,)fd=\d+/, `$1fd=${dev}`));
    if (r < 0) {
      sys.close(dev);
      return refuse(-r, `mount(2) failed`);
    }
    const slot = Number(fdOpt[1]);
    const placed = checkSys.notifAddFd(listener, n.id, daemonEnd, slot);
    if (placed < 0) {
      sys.umount2(where, 2);
      sys.close(dev);
      return refuse(ERRNO.EIO, `cannot put the session at fd ${slot} (errno ${-placed})`);
    }
    sys.close(daemonEnd);
    const conn = connIdentity(mountConnection(where));
    ctx.mounted(dev, conn);
    post({ t: 'mounted', target: where, devFd: dev, conn });
    return { val: 0 };
  }

  /** The FUSE connection number (st_dev minor) of the mount at `where`, from mountinfo. */
  function mountConnection(where: string): number | null {
    for (const l of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
      const f = l.split(' ');
      if (f[4] === where && / - fuse/.test(l)) return Number(f[2]!.split(':')[1]);
    }
    return null;
  }

  function answer(n: Notif): Answer | 'answered' {
    if (SESSION_READS.includes(n.nr)) {
      // Every read-like call is trapped; a session is recognised by what the fd is (its number
      // depends on the process, and clones come and go).
      const fd = Number(BigInt.asIntN(32, n.args[0]!));
      const session = sessions.sessionOf(n.pid, fd);
      if (!session) return { continue: true };
      sessions.read({ id: n.id, tgid: tgidOf(n.pid) ?? n.pid, fd, session }, ctx.state() === 'up', ctx.devFd(), (message) => post({ t: 'relayError', message }));
      return 'answered';
    }
    if (n.nr === NR.mount) return mountFuse(n);
    const fd = Number(BigInt.asIntN(32, n.args[0]!));
    const cmd = Number(n.args[1]! & 0xffffffffn);
    if (cmd === FUSE_DEV_IOC.CLONE >>> 0) return cloneSession(n, fd);
    if (!sessions.sessionOf(n.pid, fd)) {
      // Not our session: let it run; the kernel answers as it would for that fd.
      post({ t: 'trapped', what: `ioctl 0x${cmd.toString(16)} on fd ${fd} (${fdTarget(n.pid, fd)})`, tid: n.pid, result: 0 });
      return { continue: true };
    }
    if (cmd === FUSE_DEV_IOC.BACKING_OPEN >>> 0) return backingOpen(n);
    if (cmd === FUSE_DEV_IOC.BACKING_CLOSE >>> 0) return backingClose(n);
    if (ctx.model !== undefined) {
      const r = ctx.model.devIoctl({ tid: n.pid, cmd });
      post({ t: 'trapped', what: `ioctl 0x${cmd.toString(16)} on the session`, tid: n.pid, result: r });
      return r < 0 ? { errno: -r } : { val: r };
    }
    // DEV-12: before 6.18 fuse_dev_ioctl has no SYNC_INIT and answers ENOTTY.
    if (profile !== null && !profile.syncInit) {
      post({ t: 'trapped', what: 'syncInit', tid: n.pid, result: -ERRNO.ENOTTY });
      return { errno: ERRNO.ENOTTY };
    }
    // SYNC_INIT on the session: the relay's connection is initialised by the kernel already.
    post({ t: 'trapped', what: 'syncInit', tid: n.pid, result: -ERRNO.EINVAL });
    return { errno: ERRNO.EINVAL };
  }

  /**
   * FUSE_DEV_IOC_CLONE(fd, &session): the daemon opened /dev/fuse (`fd`) to serve the connection
   * from another thread. The clone gets a socketpair of its own, whose far end replaces `fd` in
   * the daemon; the relay serves it like the first session. Any other clone runs as made.
   */
  const CLONED = 'the daemon cloned its session (FUSE_DEV_IOC_CLONE, e.g. libfuse --clone-fd): each clone got a socket of its own';

  function cloneSession(n: Notif, fd: number): Answer {
    const arg = readProcessMemory(n.pid, n.args[2]!, 4);
    const old = arg ? new DataView(arg.buffer).getUint32(0, true) : -1;
    if (old < 0 || !sessions.sessionOf(n.pid, old)) return { continue: true };
    if (ctx.model !== undefined) {
      // The model has one session; the daemon serves the connection from it (libfuse falls back).
      post({ t: 'note', message: 'the daemon cloned its session (FUSE_DEV_IOC_CLONE): --target sim does not model clones yet and answered EINVAL' });
      return { errno: ERRNO.EINVAL };
    }
    const pair = sys.seqpacketPair();
    if (typeof pair === 'number') return { errno: -pair };
    const [ours, theirs] = pair;
    checkSys.forceBuffers(ours, 8 << 20);
    checkSys.forceBuffers(theirs, 8 << 20);
    const link = fs.readlinkSync(`/proc/self/fd/${theirs}`);
    const placed = checkSys.notifAddFd(listener, n.id, theirs, fd);
    sys.close(theirs);
    if (placed < 0) {
      sys.close(ours);
      return { errno: ERRNO.EINVAL };
    }
    sessions.add(ours, link);
    post({ t: 'note', message: CLONED });
    return { val: 0 };
  }

  /** Answer the next notification; false once the listener is gone (the daemon exited). */
  function supervise(): boolean {
    const n = checkSys.notifRecv(listener);
    if (typeof n === 'number') return n === -ERRNO.EINTR || n === -ERRNO.ENOENT;
    const a = answer(n);
    if (a === 'answered') return true; // a session read: held, or let through already
    // ENOENT: the calling thread was interrupted or died meanwhile; nothing to answer.
    checkSys.notifSend(listener, n.id, 'continue' in a ? { continue: true } : 'val' in a ? { val: a.val } : { errno: a.errno });
    return true;
  }

  return { supervise };
}
