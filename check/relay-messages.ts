// What the relay sees between the kernel and the daemon under test, decoded with the wire codec
// into events the battery attributes to steps and the findings read. Pure: the relay worker
// (relay-worker.ts) does the I/O. Every opcode is kept by number; names come from spec/uapi.ts
// where they exist, so nothing the daemon receives is dropped for lack of a name.
import type { CheckId } from '../spec/check-ids.ts';
import { FUSE_OPCODES, INIT_FLAG_BITS, type FuseOpcodeName, type InitFlagName } from '../spec/uapi.ts';
import { SIZE } from '../wire/layout.ts';
import { Reader } from '../wire/bytes.ts';
import { decodeCreateIn, decodeEntryOut, decodeInHeader, decodeInitIn, decodeInitOut, decodeOpenOut, decodeOutHeader, decodeReadIn, decodeReleaseIn, decodeWriteOut, initFlagWord } from '../wire/structs.ts';
import type { InitOfferRewrite } from './profile-emulation.ts';

const NAMES = new Map<number, FuseOpcodeName>(Object.entries(FUSE_OPCODES).map(([k, v]) => [v, k as FuseOpcodeName]));

/** An opcode's name, or `OP_<n>` for one spec/uapi.ts does not name. */
export function opName(opcode: number): string {
  return NAMES.get(opcode) ?? `OP_${opcode}`;
}

/** Requests the kernel sends without waiting for a reply. */
export const NO_REPLY: ReadonlySet<number> = new Set([FUSE_OPCODES.FORGET, FUSE_OPCODES.BATCH_FORGET]);

/** Names of the set bits of a 64-bit INIT flag word, lowest first; unnamed bits as `bit<n>`. */
export function initFlagNames(word: bigint): string[] {
  const byBit = new Map<number, InitFlagName>(Object.entries(INIT_FLAG_BITS).map(([k, v]) => [v, k as InitFlagName]));
  const out: string[] = [];
  for (let b = 0; b < 64; b++) if ((word >> BigInt(b)) & 1n) out.push(byBit.get(b) ?? `bit${b}`);
  return out;
}

export interface RequestEvent {
  t: 'request';
  unique: bigint;
  opcode: number;
  op: string;
  nodeid: bigint;
  pid: number;
  /** OPEN/CREATE open(2) flags. */
  flags?: number;
  /** LOOKUP, CREATE and other name-carrying requests. */
  name?: string;
  /** READ/WRITE/RELEASE file handle. */
  fh?: bigint;
  offset?: number;
  size?: number;
  /** INIT: what the kernel offered (after the relay stripped what it cannot relay). */
  init?: { major: number; minor: number; flags: string[] };
}

export interface ReplyEvent {
  t: 'reply';
  unique: bigint;
  /** The request's opcode, null when the unique matched no request (a notification or a stray). */
  opcode: number | null;
  op: string;
  /** 0 or a negative errno, as in fuse_out_header. */
  error: number;
  /** OPEN/CREATE. */
  open?: { fh: bigint; openFlags: number; backingId: number };
  /** LOOKUP/CREATE. */
  nodeid?: bigint;
  /** INIT: the daemon's answer. */
  init?: { major: number; minor: number; flags: string[]; maxStackDepth: number; maxWrite: number };
  /** READ: bytes returned; WRITE: bytes written. */
  size?: number;
  /** The errno /dev/fuse gave the relayed reply (the kernel refused it), when it did. */
  rejected?: number;
}

export interface BackingEventOpen {
  t: 'backingOpen';
  /** 1 for the daemon's first BACKING_OPEN, and so on (what --inject counts). */
  seq: number;
  tid: number;
  fd: number;
  /** What the daemon's fd refers to, as /proc/<pid>/fd shows it. */
  target: string;
  flags: number;
  /** The id the kernel gave, or −errno. */
  result: number;
  /** Why fusepass answered instead of the kernel (injection, privilege judged on the daemon). */
  answeredBy?: 'inject' | 'privilege' | 'fault' | 'profile';
  /** --target sim: the model's explanation, the deciding check first, and its words. */
  checks?: CheckId[];
  why?: string;
}

export interface BackingEventClose {
  t: 'backingClose';
  seq: number;
  tid: number;
  id: number;
  result: number;
  answeredBy?: 'inject' | 'privilege' | 'fault' | 'profile';
  checks?: CheckId[];
  why?: string;
}

export interface TrapEvent {
  t: 'trapped';
  /** mount, clone, syncInit, or an ioctl on a fd that is not the session. */
  what: string;
  tid: number;
  result: number;
}

export type RelayEvent =
  | RequestEvent
  | ReplyEvent
  | BackingEventOpen
  | BackingEventClose
  | TrapEvent
  | { t: 'devGone'; errno: number }
  | { t: 'mounted'; target: string; devFd: number; conn: { n: number; ino: number } | null }
  | { t: 'daemonClosed' }
  | { t: 'relayError'; message: string }
  | { t: 'note'; message: string };

/** INIT flag bits the relay must not offer: FUSE-over-io_uring bypasses /dev/fuse reads. */
const STRIP_FLAGS2 = 1 << (INIT_FLAG_BITS.OVER_IO_URING - 32);

/**
 * Decode a request from /dev/fuse; for INIT, return the bytes to forward with the flags the
 * relay cannot carry removed from the offer.
 */
export function decodeRequest(msg: Uint8Array, offer?: InitOfferRewrite): { event: RequestEvent; forward: Uint8Array } | null {
  const h = decodeInHeader(msg);
  if (!h) return null;
  const body = msg.subarray(SIZE.inHeader);
  const event: RequestEvent = { t: 'request', unique: h.unique, opcode: h.opcode, op: opName(h.opcode), nodeid: h.nodeid, pid: h.pid };
  let forward = msg;
  switch (h.opcode) {
    case FUSE_OPCODES.INIT: {
      const i = decodeInitIn(body);
      if (i.flags2 & STRIP_FLAGS2 && body.length >= 20) {
        forward = msg.slice();
        new DataView(forward.buffer).setUint32(SIZE.inHeader + 16, (i.flags2 & ~STRIP_FLAGS2) >>> 0, true);
        i.flags2 &= ~STRIP_FLAGS2;
      }
      // --profile: the emulated kernel's minor, and only the flags it offers too.
      if (offer && body.length >= 20) {
        if (forward === msg) forward = msg.slice();
        const dv = new DataView(forward.buffer, forward.byteOffset);
        i.minor = Math.min(i.minor, offer.minor);
        i.flags = Number(BigInt(i.flags) & offer.mask & 0xffffffffn);
        i.flags2 = Number(BigInt(i.flags2) & (offer.mask >> 32n));
        dv.setUint32(SIZE.inHeader + 4, i.minor, true);
        dv.setUint32(SIZE.inHeader + 12, i.flags >>> 0, true);
        dv.setUint32(SIZE.inHeader + 16, i.flags2 >>> 0, true);
      }
      event.init = { major: i.major, minor: i.minor, flags: initFlagNames(initFlagWord(i.flags, i.flags2)) };
      break;
    }
    case FUSE_OPCODES.OPEN:
    case FUSE_OPCODES.OPENDIR:
      event.flags = new Reader(body).u32(0);
      break;
    case FUSE_OPCODES.CREATE: {
      const c = decodeCreateIn(body);
      event.flags = c.flags;
      event.name = c.name;
      break;
    }
    case FUSE_OPCODES.LOOKUP:
    case FUSE_OPCODES.UNLINK:
    case FUSE_OPCODES.RMDIR:
      event.name = new Reader(body).cstring(0);
      break;
    case FUSE_OPCODES.READ:
    case FUSE_OPCODES.WRITE: {
      const r = decodeReadIn(body); // fuse_write_in starts like fuse_read_in: fh, offset, size
      event.fh = r.fh;
      event.offset = r.offset;
      event.size = r.size;
      break;
    }
    case FUSE_OPCODES.RELEASE:
    case FUSE_OPCODES.RELEASEDIR:
      event.fh = decodeReleaseIn(body).fh;
      break;
    default:
      break;
  }
  return { event, forward };
}

/** Decode a daemon's reply for a request with `opcode` (null: no such pending request). */
export function decodeReply(msg: Uint8Array, opcode: number | null): ReplyEvent | null {
  const h = decodeOutHeader(msg);
  if (!h) return null;
  const body = msg.subarray(SIZE.outHeader);
  const event: ReplyEvent = { t: 'reply', unique: h.unique, opcode, op: opcode === null ? (h.unique === 0n ? 'NOTIFY' : 'UNKNOWN') : opName(opcode), error: h.error };
  if (h.error !== 0 || opcode === null) return event;
  switch (opcode) {
    case FUSE_OPCODES.INIT: {
      const o = decodeInitOut(body);
      event.init = { major: o.major, minor: o.minor, flags: initFlagNames(initFlagWord(o.flags, o.flags2)), maxStackDepth: o.maxStackDepth, maxWrite: o.maxWrite };
      break;
    }
    case FUSE_OPCODES.OPEN:
    case FUSE_OPCODES.OPENDIR:
      if (body.length >= SIZE.openOut) event.open = decodeOpenOut(body);
      break;
    case FUSE_OPCODES.CREATE:
      if (body.length >= SIZE.entryOut + SIZE.openOut) {
        event.nodeid = decodeEntryOut(body).nodeid;
        event.open = decodeOpenOut(body.subarray(SIZE.entryOut));
      }
      break;
    case FUSE_OPCODES.LOOKUP:
      if (body.length >= SIZE.entryOut) event.nodeid = decodeEntryOut(body).nodeid;
      break;
    case FUSE_OPCODES.READ:
      event.size = body.length;
      break;
    case FUSE_OPCODES.WRITE:
      if (body.length >= SIZE.writeOut) event.size = decodeWriteOut(body);
      break;
    default:
      break;
  }
  return event;
}
