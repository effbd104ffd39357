// The daemon's sessions as the relay holds them: the socket it was given (or its mount(2) got)
// and one more per FUSE_DEV_IOC_CLONE (libfuse's --clone-fd gives each worker thread its own),
// each a SOCK_SEQPACKET pair whose far end sits in the daemon where its /dev/fuse fd would be.
// The daemon's reads of them are trapped (seccomp.ts): a read goes ahead only when a request is
// queued for its socket, otherwise it waits here, so requests go to threads that are waiting,
// and once the connection ends no thread sits in a socket read: each is let through onto the
// dead /dev/fuse put in the session's place, and fails with ENODEV as on the kernel.
import * as fs from 'node:fs';
import { sys } from '../real-kernel/ffi/libc.ts';
import { ERRNO } from '../spec/errno.ts';
import { checkSys } from './ffi.ts';
import { concat } from '../wire/bytes.ts';
import { decodeOutHeader } from '../wire/structs.ts';

/** How long requests wait for a first read before the relay takes the daemon for a poller. */
const POLLER_GRACE_MS = 200;

export interface Session {
  /** Our end. */
  fd: number;
  /** `socket:[<ino>]` of the daemon's end, as /proc/<pid>/fd shows it. */
  link: string;
  open: boolean;
  /** Requests written to it and not yet taken by a read let through. */
  queued: number;
  /** A reply that arrived in pieces (a spliced reply over SEQPACKET): the bytes so far. */
  partial: { want: number; parts: Uint8Array[]; have: number } | null;
}

export interface HeldRead {
  id: bigint;
  /** The reading process and the fd number it reads the session by. */
  tgid: number;
  fd: number;
  session: Session;
}

export class Sessions {
  readonly all: Session[] = [];
  private readonly held: HeldRead[] = [];
  /** Requests no waiting read has taken yet, and when the oldest came. */
  private readonly backlog: Uint8Array[] = [];
  private backlogSince = 0;
  /** Whether the daemon has read a session yet (a daemon that polls first never does). */
  private sawRead = false;
  /** `tgid:fd` of session fds already replaced by the dead /dev/fuse. */
  private readonly swapped = new Set<string>();

  constructor(
    private readonly listener: number,
    first: { fd: number; link: string },
  ) {
    this.add(first.fd, first.link);
  }

  add(fd: number, link: string): Session {
    const s: Session = { fd, link, open: true, queued: 0, partial: null };
    this.all.push(s);
    return s;
  }

  /** The session the daemon's fd `fd` (in thread `tid`) is, if it is one. */
  sessionOf(tid: number, fd: number): Session | undefined {
    let link: string;
    try {
      link = fs.readlinkSync(`/proc/${tid}/fd/${fd}`);
    } catch {
      return undefined;
    }
    return this.all.find((s) => s.link === link);
  }

  /**
   * Hand a request to the daemon: to the socket of a thread waiting in a read, which then goes
   * ahead; with none waiting, to the next read of any session (a clone's thread reads only its
   * own socket, so a request written ahead to another could wait forever).
   */
  dispatch(msg: Uint8Array, now: number): number {
    for (let r = this.held.shift(); r !== undefined; r = this.held.shift()) {
      if (!r.session.open) continue;
      const w = sys.write(r.session.fd, msg);
      if (w < 0) return w;
      r.session.queued++;
      // A held read may be stale (its thread was interrupted, Go preempts with SIGURG, and comes
      // back as a new notification): let the next read held on the same socket take it then.
      const session = r.session;
      let next: HeldRead | undefined = r;
      while (next !== undefined && !this.letRead(next, true)) {
        const i = this.held.findIndex((h) => h.session === session);
        next = i < 0 ? undefined : this.held.splice(i, 1)[0];
      }
      return w;
    }
    if (this.backlog.length === 0) this.backlogSince = now;
    this.backlog.push(msg.slice());
    return msg.length;
  }

  /** How long the relay may block before `pollerFallback` must run, in ms (−1: no limit). */
  get pollTimeout(): number {
    return !this.sawRead && this.backlog.length > 0 ? POLLER_GRACE_MS : -1;
  }

  /**
   * A daemon that polls its session before reading never shows a read until data is there:
   * when no read has come at all for a while, the waiting requests are written to the first
   * session, where its poll finds them.
   */
  pollerFallback(now: number): void {
    const first = this.all[0]!;
    if (this.sawRead || this.backlog.length === 0 || now - this.backlogSince < POLLER_GRACE_MS || !first.open) return;
    for (const msg of this.backlog.splice(0)) if (sys.write(first.fd, msg) >= 0) first.queued++;
  }

  /** A trapped read of a session: let it go ahead onto a queued request, or hold it. */
  read(r: HeldRead, connectionUp: boolean, devFd: number, post: (message: string) => void): void {
    this.sawRead = true;
    if (!connectionUp) return void this.letRead(r, false, devFd, post);
    if (r.session.queued === 0) {
      const msg = this.backlog.shift();
      if (msg === undefined) return void this.held.push(r);
      if (sys.write(r.session.fd, msg) >= 0) r.session.queued++;
    }
    this.letRead(r, true);
  }

  /** The connection ended: every held read goes ahead, onto the dead /dev/fuse. */
  endAll(devFd: number, post: (message: string) => void): void {
    for (const r of this.held.splice(0)) this.letRead(r, false, devFd, post);
  }

  /**
   * Let a trapped read run: onto its socket's queued request (`up`), or onto the dead /dev/fuse
   * put in the session's place in the reading process, once (its fd number there: a session fd
   * handed over by fusermount has another number than where it was mounted).
   */
  private letRead(r: HeldRead, up: boolean, devFd = -1, post?: (message: string) => void): boolean {
    // No /dev/fuse at all (--target sim): the read itself fails with ENODEV, as the kernel's
    // fuse_dev_do_read does once the connection is gone.
    if (!up && devFd < 0) return checkSys.notifSend(this.listener, r.id, { errno: ERRNO.ENODEV }) >= 0;
    if (!up && !this.swapped.has(`${r.tgid}:${r.fd}`)) {
      const added = checkSys.notifAddFd(this.listener, r.id, devFd, r.fd);
      if (added >= 0) this.swapped.add(`${r.tgid}:${r.fd}`);
      else if (added !== -ERRNO.ENOENT) post?.(`cannot end the daemon's session with ENODEV (SECCOMP_IOCTL_NOTIF_ADDFD: errno ${-added})`);
    }
    // ENOENT: the notification is gone (its thread was interrupted); nothing was consumed.
    const sent = checkSys.notifSend(this.listener, r.id, { continue: true }) >= 0;
    if (sent && up) r.session.queued = Math.max(0, r.session.queued - 1);
    return sent;
  }

  /**
   * Read one message the daemon wrote to `session` into `buf`: the whole reply, `null` while a
   * reply spliced into the SEQPACKET socket arrives in page-sized pieces (the header says how
   * long the whole is), 'again' when interrupted, 'closed' when the daemon closed its end.
   */
  receive(session: Session, buf: Uint8Array): Uint8Array | null | 'again' | 'closed' {
    const n = sys.read(session.fd, buf);
    if (n <= 0) return n === -ERRNO.EINTR || n === -ERRNO.EAGAIN ? 'again' : 'closed';
    const msg = buf.slice(0, n);
    const partial = session.partial;
    if (partial) {
      partial.parts.push(msg);
      partial.have += n;
      if (partial.have < partial.want) return null;
      session.partial = null;
      return concat(partial.parts);
    }
    const h = decodeOutHeader(msg);
    if (h && h.len > n && h.len <= buf.length) {
      session.partial = { want: h.len, parts: [msg], have: n };
      return null;
    }
    return msg;
  }

  get anyOpen(): boolean {
    return this.all.some((s) => s.open);
  }

  closeAll(): void {
    for (const s of this.all) {
      if (s.open) sys.close(s.fd);
      s.open = false;
    }
  }
}
