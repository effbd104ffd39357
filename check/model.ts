// The model's reading of what a checked daemon answered: an open the kernel failed is replayed
// on the sim (sim/, Linux 6.18) as a small case built from the daemon's own answers (its INIT
// reply, the backing ids it had registered, the replies to the opens of the same inode still
// open, then the reply in question), and the sim's explanation names the deciding check, the
// errno the kernel hid and what to change, exactly as `fusepass explain` does. When the model
// predicts something else than the kernel did, that is a divergence: the kernel is the judge.
import type { OpenReplySpec } from '../fixtures/world.ts';
import type { Case, InitReplySpec, OpenFlagName, Step } from '../spec/case.ts';
import type { CheckId } from '../spec/check-ids.ts';
import { decidingCheck } from '../spec/deciding-check.ts';
import type { Errno } from '../spec/errno.ts';
import { INIT_FLAG_BITS, FOPEN_BITS, type FopenFlagName, type InitFlagName } from '../spec/uapi.ts';
import { createKernel } from '../sim/index.ts';
import { playStep } from '../conformance/targets/sim-target.ts';

/** An OPEN reply as the relay decoded it (protocol.ts TracedReply.open). */
export interface ReplySeen {
  openFlags: string[];
  extraBits: number;
  backingId: number;
}

export interface OpenQuestion {
  /** The daemon's INIT reply: flag names and max_stack_depth. */
  init: { flags: string[]; maxStackDepth: number };
  /** Replies to the opens of the same inode still open when the questioned open came. */
  earlier: ReplySeen[];
  /** The reply in question, and the client's open(2) flags. */
  reply: ReplySeen;
  openFlags: OpenFlagName[];
  /** Backing ids registered when the reply arrived. */
  registered: ReadonlySet<number>;
}

export interface ModelAnswer {
  errno: Errno | null;
  decidedBy?: CheckId;
  cause?: Errno;
  checks: CheckId[];
  functions: string[];
  advice?: string;
}

const isInitFlag = (f: string): f is InitFlagName => f in INIT_FLAG_BITS;
const isFopenFlag = (f: string): f is FopenFlagName => f in FOPEN_BITS;

/** Play the questioned open on the model and return its explanation. */
export function modelOpen(q: OpenQuestion): ModelAnswer {
  const ids = [...new Set([...q.earlier, q.reply].map((r) => r.backingId).filter((id) => id > 0 && q.registered.has(id)))];
  const files: Record<string, { on: 'disk' }> = {};
  for (const id of ids) files[`backing${id}`] = { on: 'disk' };
  const init: InitReplySpec = { flags: q.init.flags.filter(isInitFlag), maxStackDepth: q.init.maxStackDepth };
  const steps: Step[] = [{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev', init }];
  for (const id of ids) {
    steps.push({ op: 'daemonOpen', file: `backing${id}`, mode: 'rdwr', as: `fd${id}` });
    steps.push({ op: 'backingOpen', dev: 'dev', fd: `fd${id}`, as: `id${id}` });
  }
  // A raw number the model never registered stands for an id the kernel did not know.
  const spec = (r: ReplySeen): OpenReplySpec => ({
    flags: r.openFlags.filter(isFopenFlag),
    ...(r.extraBits !== 0 ? { extraBits: r.extraBits } : {}),
    ...(r.openFlags.includes('PASSTHROUGH') ? { backing: ids.includes(r.backingId) ? `id${r.backingId}` : r.backingId > 0 ? 0x7fff0000 : r.backingId } : {}),
  });
  q.earlier.forEach((r, i) => {
    steps.push({ op: 'setOpenReply', node: 'file', reply: spec(r) });
    steps.push({ op: 'open', node: 'file', flags: ['O_RDONLY'], as: `earlier${i}` });
  });
  steps.push({ op: 'setOpenReply', node: 'file', reply: spec(q.reply) });
  steps.push({ op: 'open', node: 'file', flags: q.openFlags, as: 'questioned' });
  const kase: Case = { id: 'check-open', title: 'an open the daemon answered', checks: [], world: { files, nodes: { file: {} } }, steps };
  const k = createKernel({ profile: '6.18', world: kase.world });
  let last = null;
  for (const step of kase.steps) last = playStep(k, step);
  k.teardown();
  const r = last!;
  const decidedBy = decidingCheck(r.explain.checks, r.errno, r.explain.cause);
  return {
    errno: r.errno,
    ...(decidedBy ? { decidedBy } : {}),
    ...(r.explain.cause ? { cause: r.explain.cause } : {}),
    checks: r.explain.checks,
    functions: r.explain.functions ?? [],
    ...(r.explain.advice ? { advice: r.explain.advice } : {}),
  };
}
