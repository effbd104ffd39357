// The relay: a worker thread between the real /dev/fuse (fusepass holds it and the mount) and
// the daemon under test (which holds one end of a SOCK_SEQPACKET pair as its session fd, and
// one more per clone, sessions.ts), running the supervisor of the daemon's seccomp listener
// (supervisor.ts). It blocks in poll(2) on /dev/fuse, the sockets and the listener, so client
// syscalls on the battery's thread never deadlock against it, forwards every message both ways
// and posts every decoded event to the battery.
import * as fs from 'node:fs';
import { workerData, type MessagePort } from 'node:worker_threads';
import { sys } from '../real-kernel/ffi/libc.ts';
import { withConnDir, type ConnId } from '../real-kernel/child/fusectl.ts';
import { ERRNO } from '../spec/errno.ts';
import { decodeOutHeader } from '../wire/structs.ts';
import { decodeReply, decodeRequest, NO_REPLY, type RelayEvent } from './relay-messages.ts';
import { Sessions, type Session } from './sessions.ts';
import { createSupervisor } from './supervisor.ts';
import type { Injection } from './inject.ts';
import { initOfferRewrite } from './profile-emulation.ts';
import { getProfile } from '../sim/index.ts';
import type { ProfileName } from '../spec/case.ts';

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
  /** --profile: the kernel the relay shows the daemon, or null for the running one. */
  profile: ProfileName | null;
  /** The mount's connection (fusectl identity), aborted when the daemon's session ends. */
  conn: ConnId | null;
}

const init = workerData as RelayInit;
const { sockFd, daemonEnd, listener, sessionLink, wakeFd, port, inject } = init;
const emulated = init.profile === null ? null : getProfile(init.profile);
const offer = emulated === null ? undefined : initOfferRewrite(emulated);
let { devFd, conn } = init;
/**
 * /dev/fuse refuses a read into a buffer smaller than a whole WRITE request (EINVAL below
 * header + fuse_write_in + max_write), so the buffers grow to the daemon's max_write once its
 * INIT reply says what that is.
 */
const SLACK = 64 << 10;
const BUF_MAX = 64 << 20;
let fromDev = new Uint8Array(1 << 20);
let fromDaemon = new Uint8Array(1 << 20);
const eight = new Uint8Array(8);
/** unique → opcode of requests the daemon has not answered yet. */
const pending = new Map<bigint, number>();
/** The FUSE connection: not mounted yet (mount mode), up, or gone (unmounted or aborted). */
let connState: 'waiting' | 'up' | 'gone' = devFd >= 0 ? 'up' : 'waiting';
let listenerOpen = true;
const sessions = new Sessions(listener, { fd: sockFd, link: sessionLink });
const note = (message: string) => post({ t: 'relayError', message });
const supervisor = createSupervisor({
  listener,
  sessions,
  inject,
  profile: emulated,
  daemonEnd,
  post,
  devFd: () => devFd,
  state: () => connState,
  mounted: (fd, c) => {
    devFd = fd;
    conn = c;
    connState = 'up';
  },
});

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
  const d = decodeRequest(fromDev.subarray(0, n), offer);
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
  const msg = sessions.receive(session, fromDaemon);
  if (msg === 'closed') return sessionClosed(session);
  if (msg === null || msg === 'again') return;
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
  if (listenerOpen) watch.push([listener, () => (listenerOpen = supervisor.supervise()), () => (listenerOpen = false)]);
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
