// The relay: a worker thread between the real /dev/fuse (fusepass holds it and the mount) and
// the daemon under test (which holds one end of a SOCK_SEQPACKET pair as its session fd), and
// the supervisor of the daemon's seccomp listener. It blocks in poll(2) on all three, so client
// syscalls on the battery's thread never deadlock against it, forwards every message both ways,
// performs the daemon's trapped backing ioctls on the real /dev/fuse (judging privilege on the
// daemon, BOPEN-5/BCLOSE-5), and posts every decoded event to the battery.
import * as fs from 'node:fs';
import { workerData, type MessagePort } from 'node:worker_threads';
import { sys } from '../real-kernel/ffi/libc.ts';
import { connIdentity, withConnDir, type ConnId } from '../real-kernel/child/fusectl.ts';
import { ERRNO } from '../spec/errno.ts';
import { FUSE_DEV_IOC } from '../spec/uapi.ts';
import { SIZE } from '../wire/layout.ts';
import { decodeOutHeader, encodeBackingMap, encodeI32 } from '../wire/structs.ts';
import { checkSys, hasInitNsSysAdmin, readProcessMemory, tgidOf } from './ffi.ts';
import { decodeReply, decodeRequest, NO_REPLY, type RelayEvent } from './relay-messages.ts';
import { NR, SESSION_READS, type Notif } from './seccomp.ts';
import { Sessions, type Session } from './sessions.ts';
import type { Injection } from './inject.ts';

export interface RelayInit {
  /** The mounted /dev/fuse, or −1 until the daemon's own mount(2) is trapped (mount mode). */
  devFd: number;
  sockFd: number;
  /** Mount mode: our copy of the daemon's end of the socket, put in place of its /dev/fuse fd. */
  daemonEnd: number;
  listener: number;
  /** `socket:[<ino>]`: what /proc/<pid>/fd shows for the daemon's session fd. */
  sessionLink: string;
  wakeFd: number;
  port: MessagePort;
  inject: Injection[];
  /** The mount's connection (fusectl identity), aborted when the daemon's session ends. */
  conn: ConnId | null;
}

const init = workerData as RelayInit;
const { sockFd, daemonEnd, listener, sessionLink, wakeFd, port, inject } = init;
let { devFd, conn } = init;
/**
 * /dev/fuse refuses a read into a buffer smaller than a whole WRITE request (EINVAL below
 * header + fuse_write_in + max_write), so the buffers grow to the daemon's max_write once its
 * INIT reply says what that is.
 */
const SLACK = 64 << 10;
const BUF_MAX = 64 << 20;
const O_RDWR_CLOEXEC = 0o2 | 0o2000000;
let fromDev = new Uint8Array(1 << 20);
let fromDaemon = new Uint8Array(1 << 20);
const eight = new Uint8Array(8);
/** unique → opcode of requests the daemon has not answered yet. */
const pending = new Map<bigint, number>();
/** The FUSE connection: not mounted yet (mount mode), up, or gone (unmounted or aborted). */
let connState: 'waiting' | 'up' | 'gone' = devFd >= 0 ? 'up' : 'waiting';
let listenerOpen = true;
let backingOpens = 0;
let backingCloses = 0;
const sessions = new Sessions(listener, { fd: sockFd, link: sessionLink });
const note = (message: string) => post({ t: 'relayError', message });

function post(e: RelayEvent): void {
  port.postMessage(e);
}

function relayRequest(): void {
  const n = sys.read(devFd, fromDev);
  if (n < 0) {
    if (n === -ERRNO.EINTR || n === -ERRNO.EAGAIN) return;
    connState = 'gone';
    // ENODEV: unmounted or aborted; the daemon's waiting reads now fail the same way.
    if (n === -ERRNO.ENODEV) post({ t: 'devGone', errno: -n });
    else post({ t: 'relayError', message: `reading /dev/fuse failed: errno ${-n} with a ${fromDev.length}-byte buffer; the relay stops` });
    sessions.endAll(devFd, note);
    return;
  }
  const d = decodeRequest(fromDev.subarray(0, n));
  if (!d) {
    post({ t: 'relayError', message: `a request of ${n} bytes is shorter than fuse_in_header` });
    return;
  }
  if (!NO_REPLY.has(d.event.opcode)) pending.set(d.event.unique, d.event.opcode);
  post(d.event);
  const w = sessions.dispatch(d.forward, Date.now());
  if (w < 0) post({ t: 'relayError', message: `forwarding ${d.event.op} to the daemon failed: errno ${-w}` });
}

/**
 * The daemon closed its session (it exited or crashed). On the kernel, the last close of a
 * connection's /dev/fuse fd aborts the connection (fuse_dev_release → fuse_abort_conn), so
 * waiting requests fail at once instead of hanging: do the same through fusectl.
 */
function sessionClosed(session: Session): void {
  if (session.open) sys.close(session.fd);
  session.open = false;
  if (!sessions.anyOpen) daemonClosed();
}

function daemonClosed(): void {
  post({ t: 'daemonClosed' });
  if (connState !== 'up') return;
  const r = withConnDir(conn, (dir) => {
    try {
      fs.writeFileSync(`${dir}/abort`, '1');
      return 0;
    } catch {
      return -1;
    }
  });
  post({ t: 'relayError', message: r === 0 ? 'the daemon closed its session while the connection was up: fusepass aborted the connection, as the kernel does when the last /dev/fuse fd closes' : 'the daemon closed its session and the connection could not be aborted' });
}

function relayReply(session: Session): void {
  const n = sys.read(session.fd, fromDaemon);
  if (n <= 0) {
    if (n === -ERRNO.EINTR || n === -ERRNO.EAGAIN) return;
    sessionClosed(session);
    return;
  }
  let msg = fromDaemon.slice(0, n);
  // A reply spliced into a SEQPACKET socket arrives in page-sized pieces; the header says how
  // long the whole is.
  const partial = session.partial;
  if (partial) {
    partial.parts.push(msg);
    partial.have += n;
    if (partial.have < partial.want) return;
    const whole = new Uint8Array(partial.have);
    let off = 0;
    for (const p of partial.parts) {
      whole.set(p, off);
      off += p.length;
    }
    msg = whole;
    session.partial = null;
  } else {
    const h = decodeOutHeader(msg);
    if (h && h.len > n && h.len <= fromDaemon.length) {
      session.partial = { want: h.len, parts: [msg], have: n };
      return;
    }
  }
  const h = decodeOutHeader(msg);
  const opcode = h ? (pending.get(h.unique) ?? null) : null;
  if (h) pending.delete(h.unique);
  const ev = decodeReply(msg, opcode);
  if (ev?.init) growBuffers(ev.init.maxWrite);
  const w = sys.write(devFd, msg);
  if (ev) {
    if (w < 0) ev.rejected = -w;
    post(ev);
  } else post({ t: 'relayError', message: `a reply of ${msg.length} bytes is shorter than fuse_out_header` });
}

function growBuffers(maxWrite: number): void {
  const want = Math.min(BUF_MAX, Math.max(fromDev.length, maxWrite + SLACK));
  if (want > fromDev.length) {
    fromDev = new Uint8Array(want);
    fromDaemon = new Uint8Array(want);
  }
}

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

type Answer = { val: number } | { errno: number } | { continue: true };

function backingOpen(n: Notif): Answer {
  const seq = ++backingOpens;
  const tid = n.pid;
  const map = readProcessMemory(tid, n.args[2]!, SIZE.backingMap);
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
  if (!hasInitNsSysAdmin(tid)) {
    post({ ...base, result: -ERRNO.EPERM, answeredBy: 'privilege' });
    return { errno: ERRNO.EPERM };
  }
  const tgid = tgidOf(tid);
  const copy = tgid === null || fd < 0 ? -ERRNO.EBADF : sys.takeFd(tgid, fd);
  let r: number;
  // The kernel's fdget fails with EBADF for a number that is no open file (BOPEN-7).
  if (copy < 0) r = -ERRNO.EBADF;
  else {
    r = sys.ioctl(devFd, FUSE_DEV_IOC.BACKING_OPEN, encodeBackingMap({ fd: copy, flags, padding }));
    sys.close(copy);
  }
  post({ ...base, result: r });
  return r < 0 ? { errno: -r } : { val: r };
}

function backingClose(n: Notif): Answer {
  const seq = ++backingCloses;
  const tid = n.pid;
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
  if (!hasInitNsSysAdmin(tid)) {
    post({ t: 'backingClose', seq, tid, id, result: -ERRNO.EPERM, answeredBy: 'privilege' });
    return { errno: ERRNO.EPERM };
  }
  const r = sys.ioctl(devFd, FUSE_DEV_IOC.BACKING_CLOSE, encodeI32(id));
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
  if (daemonEnd < 0 || connState !== 'waiting') return refuse(ERRNO.EBUSY, 'fusepass relays one FUSE mount per check');
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
  devFd = dev;
  conn = connIdentity(mountConnection(where));
  connState = 'up';
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
    sessions.read({ id: n.id, tgid: tgidOf(n.pid) ?? n.pid, fd, session }, connState === 'up', devFd, note);
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

function supervise(): void {
  const n = checkSys.notifRecv(listener);
  if (typeof n === 'number') {
    if (n !== -ERRNO.EINTR && n !== -ERRNO.ENOENT) listenerOpen = false;
    return;
  }
  const a = answer(n);
  if (a === 'answered') return; // a session read: held, or let through already
  // ENOENT: the calling thread was interrupted or died meanwhile; nothing to answer.
  checkSys.notifSend(listener, n.id, 'continue' in a ? { continue: true } : 'val' in a ? { val: a.val } : { errno: a.errno });
}

const POLLIN = 1;
const EOF_GRACE_MS = 2000;
/** Read through a call: the handlers change the state between polls. */
function connectionEnded(): boolean {
  return connState === 'gone';
}
port.postMessage({ t: 'ready' });
for (;;) {
  // Each polled fd with what to do when it is readable, and when it hung up without data.
  const watch: [number, () => void, () => void][] = [];
  if (connState === 'up') watch.push([devFd, relayRequest, relayRequest]);
  for (const session of sessions.all) if (session.open) watch.push([session.fd, () => relayReply(session), () => sessionClosed(session)]);
  if (listenerOpen) watch.push([listener, supervise, () => (listenerOpen = false)]);
  // Once the connection has ended, a daemon that is still in a read we could not end with
  // ENODEV (one it made before its session was recognised) gets EOF after a grace period.
  const lingering = connectionEnded() && sessions.anyOpen;
  const rev = sys.pollIn([wakeFd, ...watch.map((w) => w[0])], lingering ? EOF_GRACE_MS : sessions.pollTimeout);
  sessions.pollerFallback(Date.now());
  if (typeof rev === 'number') continue;
  if (rev[0]) break; // the battery asked the relay to stop
  if (lingering && rev.every((r) => r === 0)) {
    sessions.closeAll();
    post({ t: 'relayError', message: `the connection ended but the daemon kept its session open for ${EOF_GRACE_MS} ms: fusepass closed the session (the daemon sees EOF where the kernel gives ENODEV)` });
    continue;
  }
  watch.forEach(([, readable, hungUp], k) => {
    const r = rev[k + 1]!;
    if (r & POLLIN) readable();
    else if (r) hungUp();
  });
}
sys.read(wakeFd, eight);
port.postMessage({ t: 'stopped' });
