// The model's port to a real daemon (`fusepass check --target sim`): the kernel model's requests
// go to the daemon's session socket as wire bytes (sim-wire.ts), and the port blocks in poll(2)
// on the sockets and the daemon's seccomp listener until the reply comes. While it waits it
// answers the daemon's trapped calls (supervisor.ts): reads of the session go ahead onto the
// request, and BACKING_OPEN/CLOSE are answered by the model itself (ModelBacking below), in the
// middle of the client step that sent the OPEN, as the kernel would.
import * as fs from 'node:fs';
import { sys } from '../real-kernel/ffi/libc.ts';
import type { DaemonPort, DaemonReply, FuseRequest, Kernel, SimResult } from '../sim/index.ts';
import type { ExternalBytes, InodeType, Mount } from '../sim/index.ts';
import { ERRNO } from '../spec/errno.ts';
import { FUSE_OPCODES } from '../spec/uapi.ts';
import { decodeOutHeader } from '../wire/structs.ts';
import { decodeReply, decodeRequest, type RelayEvent } from './relay-messages.ts';
import type { Sessions } from './sessions.ts';
import { BadReply, decodeSimReply, encodeSimRequest, type Caller } from './sim-wire.ts';
import type { ModelAnswer, ModelBacking } from './supervisor.ts';
import { decidingCheck } from '../spec/deciding-check.ts';

/** The daemon did not answer a request before the deadline. */
export class DaemonHung extends Error {}
/** The daemon closed its session (it exited or crashed). */
export class DaemonGone extends Error {}

const POLLIN = 1;
/** FUSE_REQ_ID_STEP: the kernel's uniques advance by 2 (the low bit marks interrupts). */
const REQ_ID_STEP = 2n;

export interface ExternalPortOptions {
  listener: number;
  sessions: Sessions;
  supervise(): boolean;
  post(e: RelayEvent): void;
  caller: Caller;
}

export class ExternalDaemonPort implements DaemonPort {
  /** When the current wait gives up (ms since the epoch); set per scenario by the runner. */
  deadline = Number.POSITIVE_INFINITY;
  private unique = 0n;
  private buf = new Uint8Array(8 << 20);
  private listenerOpen = true;

  constructor(private readonly o: ExternalPortOptions) {}

  request(req: FuseRequest): DaemonReply {
    this.unique += REQ_ID_STEP;
    const unique = this.unique;
    const msg = encodeSimRequest(req, unique, this.o.caller);
    const d = decodeRequest(msg);
    if (d) this.o.post(d.event);
    const w = this.o.sessions.dispatch(msg, Date.now());
    if (w < 0) throw new DaemonGone(`writing ${req.op} to the daemon's session failed (errno ${-w})`);
    return this.waitReply(req, unique);
  }

  /**
   * Serve the daemon's trapped calls until none has come for `quietMs`, for at most `boundMs`:
   * what the daemon does after its last reply of a step (a BACKING_CLOSE right after replying)
   * belongs to that step, as the kernel would have run it at once.
   */
  settle(quietMs = 10, boundMs = 2000): void {
    const end = Date.now() + boundMs;
    while (Date.now() < end && this.listenerOpen) {
      const rev = sys.pollIn([this.o.listener], Math.min(quietMs, Math.max(0, end - Date.now())));
      if (typeof rev === 'number') continue;
      if (rev[0] === 0) return;
      if (rev[0]! & POLLIN) this.listenerOpen = this.o.supervise();
      else this.listenerOpen = false;
    }
  }

  private waitReply(req: FuseRequest, unique: bigint): DaemonReply {
    const { sessions, listener } = this.o;
    for (;;) {
      const left = this.deadline - Date.now();
      if (left <= 0) throw new DaemonHung(`the daemon did not answer ${req.op} (unique ${unique}) before the deadline`);
      const open = sessions.all.filter((s) => s.open);
      if (open.length === 0) throw new DaemonGone(`the daemon closed its session while fusepass waited for the ${req.op} reply`);
      const fds = [...(this.listenerOpen ? [listener] : []), ...open.map((s) => s.fd)];
      const timeout = sessions.pollTimeout < 0 ? left : Math.min(left, sessions.pollTimeout);
      const rev = sys.pollIn(fds, Math.ceil(timeout));
      sessions.pollerFallback(Date.now());
      if (typeof rev === 'number') continue;
      const listenerRev = this.listenerOpen ? rev[0]! : 0;
      // The sessions first: a reply the daemon wrote before its next trapped call (a BACKING_CLOSE
      // right after replying to OPEN) reached the kernel before that call did.
      let k = this.listenerOpen ? 1 : 0;
      for (const session of open) {
        const r = rev[k++]!;
        if (!r) continue;
        const msg = sessions.receive(session, this.buf);
        if (msg === 'closed') {
          sys.close(session.fd);
          session.open = false;
          continue;
        }
        if (msg === null || msg === 'again') continue;
        const h = decodeOutHeader(msg);
        const mine = h !== null && h.unique === unique;
        const ev = decodeReply(msg, mine ? FUSE_OPCODES[req.op] : null);
        if (!mine) {
          if (ev) this.o.post(ev);
          this.o.post({ t: 'relayError', message: `a reply with unique ${h?.unique ?? '?'} answers no waiting request (fusepass waited for ${req.op} ${unique})` });
          continue;
        }
        try {
          const reply = decodeSimReply(req, msg);
          if (ev) this.o.post(ev);
          return reply;
        } catch (e) {
          if (!(e instanceof BadReply)) throw e;
          // fuse_dev_do_write refuses it (EINVAL to the daemon's write) and the request ends with EIO.
          if (ev) this.o.post({ ...ev, rejected: ERRNO.EINVAL });
          this.o.post({ t: 'relayError', message: `the ${req.op} reply is malformed: ${e.message}` });
          return { error: 'EIO' };
        }
      }
      if (listenerRev & POLLIN) this.listenerOpen = this.o.supervise();
      else if (listenerRev) this.listenerOpen = false;
    }
  }
}

// ---- the daemon's backing files, as the model sees them ---------------------------------------

const O_ACCMODE = 0o3;
const O_PATH = 0o10000000;

/** Filesystem types whose superblocks stack (s_stack_depth 1 over plain filesystems). */
const STACKING = new Set(['overlay']);

/** The mount a daemon fd is on, from its fdinfo mnt_id and the daemon's mountinfo. */
function fdMount(tid: number, fd: number): { fstype: string; readOnly: boolean; flags: number } {
  let fdinfo = '';
  try {
    fdinfo = fs.readFileSync(`/proc/${tid}/fdinfo/${fd}`, 'utf8');
  } catch {
    /* gone */
  }
  const flags = parseInt(/^flags:\s+([0-7]+)$/m.exec(fdinfo)?.[1] ?? '0', 8);
  const mntId = /^mnt_id:\s+(\d+)$/m.exec(fdinfo)?.[1];
  let fstype = 'unknown';
  let readOnly = false;
  try {
    for (const line of fs.readFileSync(`/proc/${tid}/mountinfo`, 'utf8').split('\n')) {
      const f = line.split(' ');
      if (f[0] !== mntId) continue;
      const dash = f.indexOf('-');
      fstype = f[dash + 1] ?? 'unknown';
      readOnly = (f[5] ?? '').split(',').includes('ro');
    }
  } catch {
    /* gone */
  }
  return { fstype, readOnly, flags };
}

function inodeType(st: fs.Stats): InodeType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isSymbolicLink()) return 'symlink';
  return 'chardev';
}

/** Bytes of a real file, through an fd fusepass opened on it (read-write when it may). */
function realBytes(copy: number): { bytes: ExternalBytes; fd: number } | null {
  let fd = -1;
  for (const mode of ['r+', 'r'] as const) {
    try {
      fd = fs.openSync(`/proc/self/fd/${copy}`, mode);
      break;
    } catch {
      /* try read-only */
    }
  }
  if (fd < 0) return null;
  const bytes: ExternalBytes = {
    pread(pos, len) {
      const b = new Uint8Array(len);
      const n = fs.readSync(fd, b, 0, len, pos);
      return b.subarray(0, n);
    },
    pwrite(pos, data) {
      fs.writeSync(fd, data, 0, data.length, pos);
    },
    size: () => fs.fstatSync(fd).size,
  };
  return { bytes, fd };
}

/**
 * The model's answers to the daemon's /dev/fuse ioctls: the daemon's fd becomes a struct file of
 * the model's daemon task at the same number (type, access mode and O_PATH from fdinfo, the
 * filesystem from mountinfo, the bytes through the real file), then the model's
 * fuse_dev_ioctl_backing_open runs with the daemon's credentials taken as root's: a daemon checked
 * here is judged as it runs when deployed (the real kernel demands CAP_SYS_ADMIN, BOPEN-5).
 */
export function modelBacking(k: Kernel, devName: string, opened: number[]): ModelBacking {
  const s = k.state;
  const mounts = new Map<string, Mount>();
  const mountOf = (m: { fstype: string; readOnly: boolean }, dev: number): Mount => {
    const key = `${dev}:${m.readOnly}`;
    let mount = mounts.get(key);
    if (mount === undefined) {
      const fuse = m.fstype === 'fuse' || m.fstype.startsWith('fuse.');
      const kind = STACKING.has(m.fstype) ? 'overlay' : fuse ? 'fuse' : m.fstype === 'tmpfs' ? 'tmpfs' : 'disk';
      mount = { sb: { kind, stackDepth: kind === 'overlay' ? 1 : 0, hasMmap: true, directIo: true }, readOnly: m.readOnly };
      mounts.set(key, mount);
    }
    return mount;
  };
  const errnoOf = (r: SimResult) => (r.errno === null ? (typeof r.value === 'number' ? r.value : 0) : -(ERRNO[r.errno] ?? ERRNO.EIO));
  const answer = (r: SimResult): ModelAnswer => {
    if (r.errno === null) return { result: errnoOf(r) };
    const decided = decidingCheck(r.explain.checks, r.errno, r.explain.cause);
    const checks = decided ? [decided, ...r.explain.checks.filter((c) => c !== decided)] : r.explain.checks;
    return { result: errnoOf(r), checks, ...(r.explain.advice ? { why: r.explain.advice } : {}) };
  };
  return {
    backingOpen({ tid, fd, copy, flags, padding }) {
      // The session itself (the daemon's /dev/fuse, as far as it knows): the model answers as for
      // /dev/fuse registered as a backing file. A number that is no open file: fdget fails.
      if (s.daemonTask.fds.get(fd)?.kind === 'dev' || copy < 0) {
        if (copy < 0) s.daemonTask.fds.delete(fd);
        return answer(k.daemon.backingOpen({ dev: devName, fd, flags, padding: Number(padding), cred: 'root' }));
      }
      const st = fs.fstatSync(copy);
      const m = fdMount(tid, fd);
      const isPath = (m.flags & O_PATH) !== 0;
      const acc = m.flags & O_ACCMODE;
      const type = inodeType(st);
      const data = type === 'file' ? realBytes(copy) : null;
      if (data) opened.push(data.fd);
      const inode = s.vfs.newExternalInode(type, mountOf(m, Number(st.dev)), data?.bytes ?? { pread: () => new Uint8Array(0), pwrite: () => {}, size: () => 0 });
      // The /dev/fuse character device (10:229) registered as a backing file (BOPEN-9).
      if (type === 'chardev' && st.rdev === (10 << 8) + 229) inode.devFuse = true;
      const file = s.vfs.openFile(inode, isPath ? 'path' : acc === 2 ? 'rw' : acc === 1 ? 'w' : 'r', new Set(), 'user');
      s.daemonTask.fds.set(fd, { kind: 'world', file });
      const r = k.daemon.backingOpen({ dev: devName, fd, flags, padding: Number(padding), cred: 'root' });
      // The daemon's own reference goes with the call; the registration holds its own (LIFE-6).
      s.daemonTask.fds.delete(fd);
      s.vfs.fput(file);
      return answer(r);
    },
    backingClose({ id }) {
      return answer(k.daemon.backingClose({ dev: devName, id, cred: 'root' }));
    },
    devIoctl({ cmd }) {
      return errnoOf(k.daemon.devIoctl(devName, cmd));
    },
  };
}
