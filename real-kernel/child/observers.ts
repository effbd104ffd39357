// Observers of one case: inotify on every world file (open and close events become
// `<file>:open|close_write|close_nowrite`) and quiescence: a step is settled when no daemon is
// handling a request, the connection has no request waiting (fusectl `waiting`), and the inotify
// queue stayed empty for a short interval (asynchronous RELEASE, deferred fput: OBS-7).
import * as fs from 'node:fs';
import type { BackingEvent } from '../../spec/observation.ts';
import { sys } from '../ffi/libc.ts';
import { IN } from '../ffi/consts.ts';
import type { DaemonHandle } from '../daemon/handle.ts';
import { withConnDir, type ConnId } from './fusectl.ts';

const MASK = IN.OPEN | IN.CLOSE_WRITE | IN.CLOSE_NOWRITE;
/** With World.watchIo: reads and writes too (`<file>:access|modify`). */
const IO_MASK = IN.ACCESS | IN.MODIFY;

export class Inotify {
  readonly fd: number;
  private readonly names = new Map<number, string>();
  private readonly buf = new Uint8Array(65536);
  /** Watches added from now on also report IN_ACCESS and IN_MODIFY (World.watchIo). */
  io = false;

  constructor() {
    this.fd = sys.inotifyInit(IN.NONBLOCK | IN.CLOEXEC);
    if (this.fd < 0) throw new Error(`inotify_init1: errno ${-this.fd}`);
  }

  /** Watch `path` as `name`: the watch descriptor, or −errno when it could not be added. */
  watch(name: string, path: string, noFollow: boolean): number {
    const wd = sys.inotifyAddWatch(this.fd, path, MASK | (this.io ? IO_MASK : 0) | (noFollow ? IN.DONT_FOLLOW : 0));
    if (wd >= 0) this.names.set(wd, name);
    return wd;
  }

  /** Events queued so far, in order. */
  drain(): BackingEvent[] {
    const out: BackingEvent[] = [];
    for (;;) {
      const n = sys.read(this.fd, this.buf);
      if (n <= 0) return out;
      const dv = new DataView(this.buf.buffer);
      for (let off = 0; off < n; ) {
        const wd = dv.getInt32(off, true);
        const mask = dv.getUint32(off + 4, true);
        const len = dv.getUint32(off + 12, true);
        off += 16 + len;
        const name = this.names.get(wd);
        if (!name) continue;
        if (mask & IN.ACCESS) out.push(`${name}:access`);
        if (mask & IN.MODIFY) out.push(`${name}:modify`);
        if (mask & IN.OPEN) out.push(`${name}:open`);
        if (mask & IN.CLOSE_WRITE) out.push(`${name}:close_write`);
        if (mask & IN.CLOSE_NOWRITE) out.push(`${name}:close_nowrite`);
      }
    }
  }

  close(): void {
    sys.close(this.fd);
  }
}

const tick = new Int32Array(new SharedArrayBuffer(4));

/**
 * Polling interval of the quiescence check. Releases are queued before the releasing syscall
 * returns and `waiting`/busy cover requests in flight, so two quiet polls this far apart suffice.
 */
const QUIET_INTERVAL_MS = 0.5;

export function sleepMs(ms: number): void {
  Atomics.wait(tick, 0, 0, ms);
}

/** Requests waiting on a connection of ours; 0 once the number is no longer ours (fusectl.ts). */
export function waitingCount(conn: ConnId): number {
  const r = withConnDir(conn, (dir) => {
    try {
      return Number(fs.readFileSync(`${dir}/waiting`, 'utf8').trim()) || 0;
    } catch {
      return 0;
    }
  });
  return typeof r === 'number' ? r : 0;
}

/**
 * Wait for quiescence, collecting inotify events meanwhile. Bounded: after `boundMs` it returns
 * what it has (a daemon that never answers is the deadline's business, not ours). The bound is
 * generous because on a loaded machine a daemon thread can wait long for a CPU; it is reached
 * only when a request stays unanswered.
 */
export function settle(inotify: Inotify, daemons: readonly DaemonHandle[], conns: readonly ConnId[], boundMs = 1500): BackingEvent[] {
  const events: BackingEvent[] = [];
  const end = Date.now() + boundMs;
  let quietRounds = 0;
  let lastLog = daemons.map((d) => d.logCount);
  while (Date.now() < end) {
    const got = inotify.drain();
    events.push(...got);
    // A held INIT (deferInit) waits on purpose: it must not count as unsettled.
    const held = daemons.filter((d) => d.initHeld).length;
    const busy = daemons.some((d) => d.busy) || conns.reduce((n, c) => n + waitingCount(c), 0) > held;
    const logs = daemons.map((d) => d.logCount);
    const moved = logs.some((n, i) => n !== lastLog[i]);
    lastLog = logs;
    quietRounds = busy || moved || got.length > 0 ? 0 : quietRounds + 1;
    if (quietRounds >= 2) break;
    sleepMs(QUIET_INTERVAL_MS);
  }
  events.push(...inotify.drain());
  return events;
}
