// The engine of `fusepass explain`: play a case (from the library, or built from a symptom given
// on the command line) on the sim, and turn the sim's explanation of one step into an answer a
// daemon author can act on: the chain of kernel checks with their statements, the check that
// decided the errno, the hidden cause behind an EIO (OBS-11), the kernel functions, the earlier
// step that switched passthrough off when that is the reason, and what to change.
// Everything here comes from playing the sim; nothing is a canned answer.
import type { OpenReplySpec, World, BackingFs, BackingFileType } from '../fixtures/world.ts';
import type { Case, Cred, DaemonOpenMode, InitReplySpec, OpenFlagName, ProfileName, Step } from '../spec/case.ts';
import type { CheckId } from '../spec/check-ids.ts';
import { CHECKS } from '../spec/check-ids.ts';
import type { Errno } from '../spec/errno.ts';
import type { FopenFlagName, InitFlagName } from '../spec/uapi.ts';
import { createKernel, type HiddenState, type SimResult } from '../sim/index.ts';
import { playStep } from '../conformance/targets/sim-target.ts';
import { checkSection, describeStep, resultText } from '../reports/view.ts';
import { decidingCheck } from '../spec/deciding-check.ts';

export { decidingCheck };

export interface PlayedStep {
  index: number;
  step: Step;
  result: SimResult;
}

export interface Played {
  kase: Case;
  profile: ProfileName;
  steps: PlayedStep[];
  /** Hidden kernel state after each step (OBS-11), same indices as steps. */
  hidden: HiddenState[];
}

/** Play a case's steps on a fresh sim kernel, stopping after `upTo` (inclusive) when given. */
export function playOnSim(kase: Case, profile: ProfileName, upTo?: number): Played {
  const k = createKernel({ profile, world: kase.world });
  const steps: PlayedStep[] = [];
  const hidden: HiddenState[] = [];
  const last = upTo ?? kase.steps.length - 1;
  for (let i = 0; i <= last && i < kase.steps.length; i++) {
    const step = kase.steps[i]!;
    steps.push({ index: i, step, result: playStep(k, step) });
    hidden.push(k.hidden());
  }
  k.teardown();
  return { kase, profile, steps, hidden };
}

// ---- building a case from a symptom ---------------------------------------------------------

export const SYMPTOM_OPS = ['mount', 'backing-open', 'backing-close', 'open', 'read', 'write', 'mmap', 'ftruncate', 'stat'] as const;
export type SymptomOp = (typeof SYMPTOM_OPS)[number];

export interface Symptom {
  op: SymptomOp;
  /** The daemon's INIT reply (default: INIT_EXT, PASSTHROUGH with max_stack_depth 1). */
  init: InitReplySpec;
  /** Where the backing file lives (default disk) and what it is (default a regular file). */
  on: BackingFs;
  type: BackingFileType;
  /** How the daemon opened the file it registers (default rdonly). */
  mode: DaemonOpenMode;
  /** Credentials of the backing ioctl under question (default root). */
  cred: Cred;
  /** The daemon runs in a user namespace (rootless). */
  userns: boolean;
  /** The daemon's OPEN reply (default FOPEN_PASSTHROUGH with backing id 1). */
  reply: OpenReplySpec;
  openFlags: OpenFlagName[];
  /** Another open of the same file, still open when the questioned open happens. */
  firstOpen?: OpenReplySpec;
  /** For backing-close: the id to close (default the registered one). */
  closeId?: number;
  /** What the user saw, to compare with the sim's answer. */
  errno?: Errno | 'success';
}

export const DEFAULT_SYMPTOM: Omit<Symptom, 'op'> = {
  init: { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1 },
  on: 'disk',
  type: 'file',
  mode: 'rdonly',
  cred: 'root',
  userns: false,
  reply: { flags: ['PASSTHROUGH'], backing: 1 },
  openFlags: ['O_RDWR'],
};

/** The steps a daemon and a client take to reach the questioned operation; it is the last step. */
export function caseFromSymptom(s: Symptom): Case {
  const world: World = { files: { data: { on: s.on, type: s.type } }, nodes: { file: {} } };
  if (s.userns) world.daemonInUserns = true;
  const steps: Step[] = [{ op: 'devOpen', as: 'dev' }, { op: 'mount', dev: 'dev', init: s.init }];
  if (s.op === 'mount') return symptomCase(s, world, steps);
  // The registration under question runs with the given credentials; a registration that only
  // sets the stage for a later step runs as the daemon normally would.
  const questioned = s.op === 'backing-open';
  steps.push({ op: 'daemonOpen', file: 'data', mode: s.mode, as: 'bf' });
  steps.push({ op: 'backingOpen', dev: 'dev', fd: 'bf', as: 'b1', ...(questioned || s.cred !== 'root' ? { cred: s.cred } : {}) });
  if (s.op === 'backing-open') return symptomCase(s, world, steps);
  if (s.op === 'backing-close') {
    steps.push({ op: 'backingClose', dev: 'dev', id: s.closeId ?? 1, cred: s.cred });
    return symptomCase(s, world, steps);
  }
  if (s.firstOpen) {
    steps.push({ op: 'setOpenReply', node: 'file', reply: s.firstOpen });
    steps.push({ op: 'open', node: 'file', flags: ['O_RDONLY'], as: 'first' });
  }
  steps.push({ op: 'setOpenReply', node: 'file', reply: s.reply });
  steps.push({ op: 'open', node: 'file', flags: s.openFlags, as: 'f' });
  switch (s.op) {
    case 'open':
      break;
    case 'read':
      steps.push({ op: 'read', fd: 'f', length: 4096 });
      break;
    case 'write':
      steps.push({ op: 'write', fd: 'f', data: 'hello' });
      break;
    case 'mmap':
      steps.push({ op: 'mmap', fd: 'f', shared: true, as: 'm' });
      break;
    case 'ftruncate':
      steps.push({ op: 'ftruncate', fd: 'f', size: 100 });
      break;
    case 'stat':
      steps.push({ op: 'stat', fd: 'f' });
      break;
  }
  return symptomCase(s, world, steps);
}

function symptomCase(s: Symptom, world: World, steps: Step[]): Case {
  return { id: `symptom-${s.op}`, title: `${s.op} as given on the command line`, checks: [], world, steps };
}

// ---- the answer -------------------------------------------------------------------------------

export interface CheckLine {
  id: CheckId;
  statement: string;
  result: string;
}

export interface Answer {
  /** The step explained and how it was played. */
  index: number;
  /** Set when the step could not be played at all (a name an earlier failure never defined). */
  fault?: string;
  label: string;
  result: string;
  errno: Errno | null;
  requests: string[];
  events: string[];
  /** The checks the kernel passed through for this step, in order. */
  chain: CheckLine[];
  /** The check that decided the errno (whose result names it), when the step failed. */
  decidedBy?: CheckId;
  /** The internal errno the kernel hid behind EIO (OBS-11). */
  cause?: Errno;
  functions: string[];
  advice?: string;
  /** Why passthrough was off, when that decided the step: an earlier INIT check. */
  rootCause?: { step: number; label: string; check: CheckLine; advice?: string };
  /** Earlier steps that failed (the setup the answer depends on). */
  earlierFailures: { step: number; label: string; result: string; decidedBy?: CheckId }[];
  hidden: HiddenState;
  /** The spec sections to read. */
  sections: string[];
}

function line(id: CheckId): CheckLine {
  return { id, statement: CHECKS[id].statement, result: CHECKS[id].result };
}

/** Checks whose result is "passthrough is off" (or a dead connection): what INIT decided. */
function switchesPassthroughOff(id: CheckId): boolean {
  const r = CHECKS[id].result;
  return /PT off|conn_error/.test(r);
}

/** Checks that fail a step because the connection has no passthrough. */
const PASSTHROUGH_NOT_ON: ReadonlySet<string> = new Set(['BOPEN-4', 'BCLOSE-4', 'DEV-8', 'OPEN-8', 'BOPEN-2', 'BCLOSE-2']);

export function answerFor(played: Played, index: number): Answer {
  const p = played.steps[index];
  if (!p) throw new RangeError(`step ${index} was not played`);
  const r = p.result;
  const e = r.explain;
  const chain = e.checks.map(line);
  const decidedBy = decidingCheck(e.checks, r.errno, e.cause);
  const a: Answer = {
    index,
    label: describeStep(p.step),
    result: resultText(r),
    errno: r.errno,
    requests: r.requests,
    events: r.events,
    chain,
    functions: e.functions ?? [],
    earlierFailures: [],
    hidden: played.hidden[index]!,
    sections: [...new Set(e.checks.map(checkSection))],
  };
  if (decidedBy) a.decidedBy = decidedBy;
  if (r.fault) a.fault = `${r.fault.kind}: ${r.fault.message}`;
  if (e.cause !== undefined) a.cause = e.cause;
  if (e.advice !== undefined) a.advice = e.advice;
  for (const q of played.steps.slice(0, index)) {
    if (q.result.errno === null && !q.result.fault) continue;
    const d = decidingCheck(q.result.explain.checks, q.result.errno, q.result.explain.cause);
    a.earlierFailures.push({ step: q.index, label: describeStep(q.step), result: resultText(q.result), ...(d ? { decidedBy: d } : {}) });
  }
  const needsPt = chain.some((c) => PASSTHROUGH_NOT_ON.has(c.id)) && r.errno !== null;
  if (needsPt) {
    for (const q of [...played.steps.slice(0, index)].reverse()) {
      if (q.step.op !== 'mount' && q.step.op !== 'replyInit') continue;
      const off = q.result.explain.checks.find(switchesPassthroughOff);
      if (off) {
        a.rootCause = { step: q.index, label: describeStep(q.step), check: line(off), ...(q.result.explain.advice ? { advice: q.result.explain.advice } : {}) };
        if (!a.sections.includes(checkSection(off))) a.sections.unshift(checkSection(off));
      }
      break;
    }
  }
  return a;
}

/** The steps of a case worth explaining when none is named: those the case is about. */
export function interestingSteps(played: Played): number[] {
  const picked = played.steps.filter((p) => (p.step.checks?.length ?? 0) > 0 || p.result.errno !== null).map((p) => p.index);
  return picked.length > 0 ? picked : [played.steps.length - 1];
}

// ---- text -------------------------------------------------------------------------------------

function hiddenSummary(h: HiddenState): string {
  const ids = h.backings.map((b) => `${b.id} (refs ${b.count})`).join(', ') || 'none';
  const inodes = Object.entries(h.inodes)
    .map(([n, v]) => `${n}: iocachectr ${v.iocachectr}${v.boundId !== null ? `, bound to id ${v.boundId}` : ''}`)
    .join('; ');
  return [
    `passthrough ${h.passthrough ? 'on' : 'off'}, max_stack_depth ${h.maxStackDepth}, FUSE sb stack depth ${h.fuseStackDepth}, connection ${h.connected ? 'up' : 'down'}`,
    `backing ids: ${ids}; next id ${h.idCursor}; registered files invisible to lsof: ${h.pinnedInvisible}`,
    ...(inodes ? [`inodes: ${inodes}`] : []),
  ].join('\n    ');
}

export function formatAnswer(a: Answer, heading: string): string[] {
  const out: string[] = [`${heading}, step ${a.index}: ${a.label}`];
  out.push(`  result: ${a.result}${a.requests.length > 0 ? `  (the daemon received ${a.requests.join(', ')})` : ''}${a.events.length > 0 ? `  (backing file events ${a.events.join(', ')})` : ''}`);
  if (a.decidedBy) out.push(`  decided by: ${a.decidedBy}: ${CHECKS[a.decidedBy].statement} → ${CHECKS[a.decidedBy].result}`);
  if (a.cause) out.push(`  hidden cause: ${a.cause}: open(2) returned ${a.errno ?? 'success'}, the kernel's internal error was ${a.cause} (OBS-11: no tool shows it; the daemon only sees the synchronous RELEASE)`);
  if (a.rootCause) {
    out.push(`  root cause: passthrough was switched off at step ${a.rootCause.step} (${a.rootCause.label}) by ${a.rootCause.check.id}: ${a.rootCause.check.statement} → ${a.rootCause.check.result}; INIT-10: the kernel says nothing, the mount succeeds`);
  }
  if (a.chain.length > 0) {
    out.push('  kernel checks, in order:');
    const w = Math.max(...a.chain.map((c) => c.id.length));
    for (const c of a.chain) out.push(`    ${c.id.padEnd(w)}  ${c.statement} → ${c.result}${c.id === a.decidedBy ? '   ◀ decides' : ''}`);
  } else {
    out.push('  kernel checks: none of the spec\'s checks is involved (a generic VFS path)');
  }
  if (a.functions.length > 0) out.push(`  kernel functions: ${a.functions.join(' › ')}`);
  for (const f of a.earlierFailures) out.push(`  earlier: step ${f.step} (${f.label}) gave ${f.result}${f.decidedBy ? ` (${f.decidedBy})` : ''}`);
  const advice = a.rootCause?.advice ?? a.advice;
  if (a.fault !== undefined) {
    const before = a.earlierFailures[a.earlierFailures.length - 1];
    out.push(`  what to change: this step could not be played (${a.fault})${before ? `: it needs what step ${before.step} did not give (${before.result}, the earlier failure above)` : ''}`);
  } else if (advice) out.push(`  what to change: ${advice}`);
  else if (a.errno !== null && a.decidedBy) {
    out.push(`  what to change: the daemon's answers meet ${a.decidedBy} (${CHECKS[a.decidedBy].statement}); see ${checkSection(a.decidedBy)} of kernel-spec.md`);
  } else if (a.errno === null) {
    const off = a.chain.find((c) => switchesPassthroughOff(c.id));
    out.push(
      off
        ? `  what to change: the step succeeds, but ${off.id} leaves passthrough off (${off.statement} → ${off.result}); later BACKING_OPENs fail with EPERM (BOPEN-4) and FOPEN_PASSTHROUGH opens with EIO (OPEN-8)`
        : '  what to change: nothing, this step works',
    );
  }
  out.push(`  hidden state after the step (OBS-11):\n    ${hiddenSummary(a.hidden)}`);
  if (a.sections.length > 0) out.push(`  spec: shared/kernel-spec.md ${a.sections.join('; ')}`);
  return out;
}

export type { InitFlagName, FopenFlagName };
