// The canonical observation: what one step did, as both targets report it (DESIGN.md).
// Canonical rules, applied by `canonicalRequests` / `canonicalEvents`:
// - `requests` lists the FUSE requests the daemon received while the step ran and settled, in
//   order, without LOOKUP/FORGET/BATCH_FORGET/INTERRUPT (dcache and reclaim noise), and with
//   consecutive repeats collapsed (the kernel may split one read into several READs).
// - `allRequests` lists the same requests with every repeat kept: how many GETATTRs, READs or
//   WRITEs a step cost (`canonicalAllRequests`).
// - `events` lists inotify events on world files as `<file>:open|close_write|close_nowrite` (and
//   `access|modify` with World.watchIo), in
//   order, consecutive repeats collapsed (inotify merges identical events itself, OBS-8).
// - `innerRequests` (World.observeInnerDaemon) lists the requests the inner FUSE mount's daemon
//   received, as `allRequests` does: every repeat kept, the same noise left out.
// - `mountRequests` (named mounts, MountStep.as) lists the requests of each further mount as
//   `<mount>:<OPCODE>`, the same way.
import type { CheckId } from './check-ids.ts';
import type { Errno } from './errno.ts';
import type { ObservedOpcode } from './uapi.ts';

export type BackingEventKind = 'open' | 'close_write' | 'close_nowrite' | 'access' | 'modify';
/** `<world file name>:<kind>` */
export type BackingEvent = `${string}:${BackingEventKind}`;
/** `<mount name>:<opcode>`: a request the daemon received on a named mount (MountStep.as). */
export type MountRequest = `${string}:${ObservedOpcode}`;

/** Why the sim answered as it did: the checks passed through, in order, and the hidden cause. */
export interface Explanation {
  checks: CheckId[];
  /** The internal errno behind an EIO at open (OBS-11), or the backing open's errno. */
  cause?: Errno;
  /** Kernel functions involved, outermost first (e.g. fuse_dev_ioctl, fuse_backing_open). */
  functions?: string[];
  /** Free text for people: what a daemon author should change. */
  advice?: string;
}

/** A step the target could not carry out (not a kernel answer). */
export interface TargetFault {
  kind: 'timeout' | 'unsupported' | 'crash' | 'setup';
  message: string;
}

export interface Observation {
  /** null when the syscall succeeded. */
  errno: Errno | null;
  /** The success value: an id, a byte count, a size, an offset, or data read (summarised). */
  value?: number | string | null;
  requests: ObservedOpcode[];
  /** The requests with repeats kept (counts); absent in observations made before it existed. */
  allRequests?: ObservedOpcode[];
  events: BackingEvent[];
  /** The inner FUSE daemon's requests (World.observeInnerDaemon); absent without one. */
  innerRequests?: ObservedOpcode[];
  /**
   * The requests the daemon received on the named mounts (MountStep.as), as `<mount>:<OPCODE>`:
   * each mount's in order, every repeat kept, the noise left out; the mounts in the order they
   * were mounted. Absent in a case without named mounts.
   */
  mountRequests?: MountRequest[];
  /** Sim only; never compared. */
  explain?: Explanation;
  fault?: TargetFault;
}

/** What a case may assert about a step; every field given must equal the observation's. */
export interface ExpectedObservation {
  errno?: Errno | null;
  value?: number | string | null;
  requests?: ObservedOpcode[];
  /** Every request in order, repeats kept (so each opcode's count), noise left out as in `requests`. */
  allRequests?: ObservedOpcode[];
  events?: BackingEvent[];
  /** The inner FUSE daemon's requests, every repeat kept (World.observeInnerDaemon). */
  innerRequests?: ObservedOpcode[];
  /** The named mounts' requests (MountStep.as), as `<mount>:<OPCODE>`. */
  mountRequests?: MountRequest[];
  /** Sim only: the internal cause behind an EIO (OBS-11). */
  cause?: Errno;
}

const NOISE: ReadonlySet<ObservedOpcode> = new Set(['LOOKUP', 'FORGET', 'BATCH_FORGET', 'INTERRUPT']);

/** Consecutive repeats collapsed: canonicalRequests(raw) is collapseRepeats(canonicalAllRequests(raw)). */
export function collapseRepeats<T>(xs: readonly T[]): T[] {
  return xs.filter((x, i) => i === 0 || xs[i - 1] !== x);
}

export function canonicalRequests(raw: readonly ObservedOpcode[]): ObservedOpcode[] {
  return collapseRepeats(canonicalAllRequests(raw));
}

/** The requests without the noise, every repeat kept. */
export function canonicalAllRequests(raw: readonly ObservedOpcode[]): ObservedOpcode[] {
  return raw.filter((op) => !NOISE.has(op));
}

export function canonicalEvents(raw: readonly BackingEvent[]): BackingEvent[] {
  return collapseRepeats(raw);
}

const PATTERNS = new Float64Array(256);
const PATTERN_BYTES = new Uint8Array(PATTERNS.buffer);
for (let b = 0; b < 256; b++) PATTERN_BYTES.fill(b, b * 8, b * 8 + 8);

/** Eight bytes of `b` read as a double. */
function doublePattern(b: number): number {
  return PATTERNS[b]!;
}

/**
 * Summarise bytes as runs: "B*4096", "X*5+B*4091", "" for none. Bytes outside printable ASCII
 * are written as \xNN. Both targets summarise reads this way, so traces stay short and readable.
 */
export function summarizeBytes(bytes: Uint8Array): string {
  const runs: string[] = [];
  // Runs of one byte are the common case (pages of one letter): compare 4 bytes at a time, and
  // 8 at a time as doubles (npm run bench sim: this function was a sixth of the model's time).
  // Two doubles are equal only when their bits are (NaN patterns, bytes 0x7f and 0xff, compare
  // unequal and fall back below), except +0 and -0, so a run of zero bytes does not take that
  // path. The views cover the whole buffer and are made once per buffer (making two per call
  // was most of a 4 KiB read's cost): positions below are the buffer's, aligned there.
  const off = bytes.byteOffset;
  const n = bytes.length;
  const { words, doubles } = wordViews(bytes.buffer);
  const wordEnd = (off + n) >>> 2;
  const doubleEnd = (off + n) >>> 3;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    let j = i + 1;
    while (j < n && ((off + j) & 3) !== 0 && bytes[j] === b) j++;
    if (j < n && ((off + j) & 3) === 0) {
      const w = (b * 0x01010101) >>> 0;
      let wi = (off + j) >>> 2;
      if (b !== 0) {
        if ((wi & 1) !== 0 && wi < wordEnd && words[wi] === w) wi++;
        if ((wi & 1) === 0) {
          const d = doublePattern(b);
          let di = wi >>> 1;
          while (di < doubleEnd && doubles[di] === d) di++;
          wi = di << 1;
        }
      }
      while (wi < wordEnd && words[wi] === w) wi++;
      j = (wi << 2) - off;
    }
    while (j < n && bytes[j] === b) j++;
    const ch = b >= 0x21 && b <= 0x7e && b !== 0x2a && b !== 0x2b ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
    runs.push(`${ch}*${j - i}`);
    i = j;
  }
  return runs.join('+');
}

/** Uint32 and Float64 views of a whole buffer (its tail past the last full word left out). */
interface WordViews {
  words: Uint32Array;
  doubles: Float64Array;
}

const WORD_VIEWS = new WeakMap<ArrayBufferLike, WordViews>();

function wordViews(buffer: ArrayBufferLike): WordViews {
  let v = WORD_VIEWS.get(buffer);
  if (v === undefined) {
    v = { words: new Uint32Array(buffer, 0, buffer.byteLength >>> 2), doubles: new Float64Array(buffer, 0, buffer.byteLength >>> 3) };
    WORD_VIEWS.set(buffer, v);
  }
  return v;
}

/**
 * A load or store the kernel answers with SIGBUS: a page wholly past EOF, or one whose read
 * failed. The kernel target cannot tell which (MADV_POPULATE_* says EFAULT for both).
 */
export const SIGBUS_LOAD: TargetFault = { kind: 'crash', message: 'SIGBUS: the load touches a page past the end of the file or one that could not be read' };
export const SIGBUS_STORE: TargetFault = { kind: 'crash', message: 'SIGBUS: the store touches a page past the end of the file or one that could not be read' };

/** The requests of named mounts as `mountRequests` lists them: `raw` by mount name, in mount order. */
export function canonicalMountRequests(raw: ReadonlyMap<string, readonly ObservedOpcode[]>): MountRequest[] {
  const out: MountRequest[] = [];
  for (const [mount, ops] of raw) for (const op of canonicalAllRequests(ops)) out.push(`${mount}:${op}`);
  return out;
}
