// Relay events (bigints, raw numbers) as the JSON-safe traffic of one step (protocol.ts).
import { errnoName } from '../spec/errno.ts';
import { FOPEN_BITS, type FopenFlagName } from '../spec/uapi.ts';
import type { RelayEvent } from './relay-messages.ts';
import type { Traffic } from './protocol.ts';

/** FOPEN_* names of `bits`, and the bits no name covers. */
export function fopenNames(bits: number): { names: FopenFlagName[]; extra: number } {
  const names: FopenFlagName[] = [];
  let rest = bits >>> 0;
  for (const [name, bit] of Object.entries(FOPEN_BITS) as [FopenFlagName, number][]) {
    if (rest & (1 << bit)) {
      names.push(name);
      rest &= ~(1 << bit);
    }
  }
  return { names, extra: rest >>> 0 };
}

export function toTraffic(events: readonly RelayEvent[]): Traffic {
  const t: Traffic = { requests: [], replies: [], backing: [], notes: [] };
  events.forEach((e, at) => {
    switch (e.t) {
      case 'request': {
        const { t: _t, unique, nodeid, fh, ...rest } = e;
        t.requests.push({ ...rest, at, unique: String(unique), nodeid: String(nodeid), ...(fh !== undefined ? { fh: String(fh) } : {}) });
        break;
      }
      case 'reply': {
        const r: Traffic['replies'][number] = { at, op: e.op, unique: String(e.unique), error: e.error };
        if (e.nodeid !== undefined) r.nodeid = String(e.nodeid);
        if (e.open) {
          const f = fopenNames(e.open.openFlags);
          r.open = { fh: String(e.open.fh), openFlags: f.names, extraBits: f.extra, backingId: e.open.backingId };
        }
        if (e.init) r.init = e.init;
        if (e.size !== undefined) r.size = e.size;
        if (e.rejected !== undefined) r.rejected = errnoName(e.rejected);
        t.replies.push(r);
        break;
      }
      case 'backingOpen':
        t.backing.push({ at, op: 'open', seq: e.seq, tid: e.tid, fd: e.fd, target: e.target, flags: e.flags, result: e.result < 0 ? errnoName(e.result) : e.result, ...(e.answeredBy ? { answeredBy: e.answeredBy } : {}), ...(e.checks ? { checks: e.checks } : {}), ...(e.why ? { why: e.why } : {}) });
        break;
      case 'backingClose':
        t.backing.push({ at, op: 'close', seq: e.seq, tid: e.tid, id: e.id, result: e.result < 0 ? errnoName(e.result) : e.result, ...(e.answeredBy ? { answeredBy: e.answeredBy } : {}), ...(e.checks ? { checks: e.checks } : {}), ...(e.why ? { why: e.why } : {}) });
        break;
      case 'trapped':
        t.notes.push(`trapped ${e.what}: ${e.result < 0 ? errnoName(e.result) : 'let through'}`);
        break;
      case 'mounted':
        t.notes.push(`the daemon's mount(2) of ${e.target}: performed by fusepass on its own /dev/fuse, the session relayed`);
        break;
      case 'devGone':
        t.notes.push(`/dev/fuse: ${errnoName(-e.errno)} (the connection ended)`);
        break;
      case 'daemonClosed':
        t.notes.push('the daemon closed its session');
        break;
      case 'relayError':
        t.notes.push(`relay: ${e.message}`);
        break;
      case 'note':
        t.notes.push(`note: ${e.message}`);
        break;
    }
  });
  return t;
}

/**
 * "LOOKUP×2 OPEN": how many requests of each opcode reached the daemon, in the order they first
 * came (or by opcode name, to compare runs); '' when none did.
 */
export function requestCounts(traffic: readonly Traffic[], byName = false): string {
  const n = new Map<string, number>();
  for (const t of traffic) for (const q of t.requests) n.set(q.op, (n.get(q.op) ?? 0) + 1);
  const entries = [...n.entries()];
  if (byName) entries.sort(([a], [b]) => a.localeCompare(b));
  return entries.map(([op, c]) => (c === 1 ? op : `${op}×${c}`)).join(' ');
}
