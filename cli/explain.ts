// `fusepass explain`: why the kernel answers what it answers, from the sim. Either a step of a
// case (`explain <case-id-or-file> [--step N]`) or a symptom described on the command line
// (`explain --op open --reply-flags PASSTHROUGH,KEEP_CACHE`), which is built into a small case,
// played on the sim and explained step by step (cli/explain-engine.ts).
import { parseArgs } from 'node:util';
import type { BackingFileType, BackingFs, OpenReplySpec } from '../fixtures/world.ts';
import type { Cred, DaemonOpenMode, OpenFlagName, ProfileName } from '../spec/case.ts';
import { ERRNO, isErrno, type Errno } from '../spec/errno.ts';
import { FOPEN_BITS, INIT_FLAG_BITS, type FopenFlagName, type InitFlagName } from '../spec/uapi.ts';
import { formatLoadError, loadCases } from '../conformance/load.ts';
import { describeStep, expectText } from '../reports/view.ts';
import { checkExpectation } from '../conformance/compare.ts';
import { ALL_PROFILES } from '../conformance/coverage.ts';
import { argsErrorText } from './args.ts';
import type { CliIo } from './io.ts';
import { resultText } from '../reports/view.ts';
import { answerFor, caseFromSymptom, decidingCheck, DEFAULT_SYMPTOM, formatAnswer, interestingSteps, playOnSim, SYMPTOM_OPS, type Symptom, type SymptomOp } from './explain-engine.ts';

export const EXPLAIN_USAGE = `usage: fusepass explain <case-id-or-file> [--step N] [--profile P]
       fusepass explain --op OP [symptom options] [--errno E] [--profile P]

  Plays the case (or a small case built from the symptom) on the sim and prints, for the step,
  the chain of kernel checks with their spec ids, the check that decided the result, the hidden
  cause behind an EIO, the kernel functions, and what a daemon author should change.

  --step N          the step of the case to explain (default: the steps the case is about)
  --profile P       6.18 (default), 6.12, 6.9 or nopt
  --op OP           ${SYMPTOM_OPS.join(', ')}
  --init-flags L    the daemon's INIT reply flags, comma-separated (default INIT_EXT,PASSTHROUGH)
  --msd N           max_stack_depth in the INIT reply (default 1)
  --minor N         minor version in the INIT reply (default: the kernel's)
  --on FS           filesystem of the backing file: disk, tmpfs, overlay, overlayOverFuse, fuse,
                    fusePt1, fusePt2, roBind, self (default disk)
  --type T          file, dir, fifo, socket, chardev, symlink (default file)
  --mode M          how the daemon opened it: rdonly, wronly, rdwr, path, pathNofollow (default rdonly)
  --cred C          root, noCapSysAdmin, userns: who issues the backing ioctl (default root)
  --userns          the daemon runs in a user namespace (rootless)
  --reply-flags L   FOPEN_* flags of the OPEN reply (default PASSTHROUGH); 'none' for no flags
  --backing N       backing id in the OPEN reply (default 1, the id the first registration gets)
  --open-flags L    the client's open(2) flags (default O_RDWR)
  --first-open L    FOPEN_* flags of another open of the same file still open (e.g. none, DIRECT_IO)
  --close-id N      for backing-close: the id to close (default 1)
  --errno E         what you saw (EPERM, EIO, ELOOP, ... or success): compared with the sim's answer
  Exit status: 0 explained (and the sim agrees with --errno when given); 1 the sim answers
  differently from --errno; 2 bad usage.`;

const FS: readonly BackingFs[] = ['disk', 'tmpfs', 'overlay', 'overlayOverFuse', 'fuse', 'fusePt1', 'fusePt2', 'roBind', 'self'];
const TYPES: readonly BackingFileType[] = ['file', 'dir', 'fifo', 'socket', 'chardev', 'symlink'];
const MODES: readonly DaemonOpenMode[] = ['rdonly', 'wronly', 'rdwr', 'path', 'pathNofollow'];
const CREDS: readonly Cred[] = ['root', 'noCapSysAdmin', 'userns'];
const OPEN_FLAGS: readonly OpenFlagName[] = ['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_CREAT', 'O_EXCL', 'O_TRUNC', 'O_APPEND', 'O_DIRECT', 'O_SYNC', 'O_NOATIME', 'O_NONBLOCK'];

class UsageError extends Error {}

function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${option} ${JSON.stringify(value)}: expected one of ${allowed.join(', ')}`);
}

/** A comma-separated list of names, each one of `allowed` (an optional prefix like FOPEN_ is dropped). */
function names<T extends string>(option: string, value: string, allowed: readonly T[], prefix: string): T[] {
  if (value === '' || value === 'none') return [];
  return value.split(',').map((raw) => {
    const n = raw.trim().replace(new RegExp(`^${prefix}`), '');
    if ((allowed as readonly string[]).includes(n)) return n as T;
    throw new UsageError(`${option}: unknown name ${JSON.stringify(raw.trim())}; expected names from: ${allowed.join(', ')}`);
  });
}

function int(option: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`${option} ${JSON.stringify(value)}: expected an integer`);
  return n;
}

const OPTIONS = {
  step: { type: 'string' },
  profile: { type: 'string', short: 'p' },
  op: { type: 'string' },
  'init-flags': { type: 'string' },
  msd: { type: 'string' },
  minor: { type: 'string' },
  on: { type: 'string' },
  type: { type: 'string' },
  mode: { type: 'string' },
  cred: { type: 'string' },
  userns: { type: 'boolean' },
  'reply-flags': { type: 'string' },
  backing: { type: 'string' },
  'open-flags': { type: 'string' },
  'first-open': { type: 'string' },
  'close-id': { type: 'string' },
  errno: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function symptomFrom(v: Values): Symptom {
  const op = oneOf<SymptomOp>('--op', v.op ?? '', SYMPTOM_OPS);
  const s: Symptom = { op, ...structuredClone(DEFAULT_SYMPTOM) };
  if (v['init-flags'] !== undefined) s.init.flags = names<InitFlagName>('--init-flags', v['init-flags'], Object.keys(INIT_FLAG_BITS) as InitFlagName[], 'FUSE_');
  if (v.msd !== undefined) s.init.maxStackDepth = int('--msd', v.msd);
  if (v.minor !== undefined) s.init.minor = int('--minor', v.minor);
  if (v.on !== undefined) s.on = oneOf('--on', v.on, FS);
  if (v.type !== undefined) s.type = oneOf('--type', v.type, TYPES);
  if (v.mode !== undefined) s.mode = oneOf('--mode', v.mode, MODES);
  if (v.cred !== undefined) s.cred = oneOf('--cred', v.cred, CREDS);
  if (v.userns) {
    s.userns = true;
    if (v.cred === undefined) s.cred = 'userns';
  }
  const fopen = Object.keys(FOPEN_BITS) as FopenFlagName[];
  const reply: OpenReplySpec = { flags: v['reply-flags'] !== undefined ? names('--reply-flags', v['reply-flags'], fopen, 'FOPEN_') : ['PASSTHROUGH'] };
  const backing = v.backing !== undefined ? int('--backing', v.backing) : reply.flags?.includes('PASSTHROUGH') ? 1 : undefined;
  if (backing !== undefined) reply.backing = backing;
  s.reply = reply;
  if (v['open-flags'] !== undefined) s.openFlags = names('--open-flags', v['open-flags'], OPEN_FLAGS, '');
  if (v['first-open'] !== undefined) {
    const flags = names('--first-open', v['first-open'], fopen, 'FOPEN_');
    s.firstOpen = flags.includes('PASSTHROUGH') ? { flags, backing: 1 } : { flags };
  }
  if (v['close-id'] !== undefined) s.closeId = int('--close-id', v['close-id']);
  if (v.errno !== undefined) s.errno = parseErrno(v.errno);
  return s;
}

function parseErrno(v: string): Errno | 'success' {
  const e = v.toUpperCase();
  if (e === 'SUCCESS' || e === '0' || e === 'OK') return 'success';
  if (isErrno(e)) return e;
  throw new UsageError(`--errno ${JSON.stringify(v)}: expected an errno name (${Object.keys(ERRNO).slice(0, 12).join(', ')}, ...) or success`);
}

/** Library cases whose step of the same operation gives `errno` on the sim, with the deciding check. */
function libraryCasesWith(op: string, errno: Errno, profile: ProfileName): string[] {
  const stepOp: Record<string, string> = { 'backing-open': 'backingOpen', 'backing-close': 'backingClose' };
  const want = stepOp[op] ?? op;
  const out: string[] = [];
  // The problems daemon authors hit first: they are named after the symptom.
  const all = loadCases([]).cases.map((l) => l.case);
  const ordered = [...all.filter((c) => c.id.startsWith('problem-')), ...all.filter((c) => !c.id.startsWith('problem-'))];
  for (const c of ordered) {
    if (c.profiles && !c.profiles.includes(profile)) continue;
    const played = playOnSim(c, profile);
    const hit = played.steps.find((p) => p.step.op === want && p.result.errno === errno);
    if (!hit) continue;
    const d = decidingCheck(hit.result.explain.checks, errno, hit.result.explain.cause);
    out.push(`${c.id} (step ${hit.index}${d ? `, ${d}` : ''}${hit.result.explain.cause ? `, hidden cause ${hit.result.explain.cause}` : ''})`);
  }
  return out;
}

export async function explainCommand(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    io.err(`fusepass explain: ${argsErrorText(e)}. See fusepass explain --help.`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    io.out(EXPLAIN_USAGE);
    return 0;
  }
  try {
    const profile = v.profile !== undefined ? oneOf('--profile', v.profile, ALL_PROFILES) : '6.18';
    if (positionals.length > 1) throw new UsageError(`one case at a time (got ${positionals.join(', ')})`);
    if (positionals.length === 1 && v.op !== undefined) throw new UsageError('give either a case or --op, not both');
    if (positionals.length === 0 && v.op === undefined) throw new UsageError('nothing to explain: give a case id or file, or --op with the symptom');
    if (positionals.length === 1) return explainCase(positionals[0]!, v.step, profile, io);
    if (v.step !== undefined) throw new UsageError('--step goes with a case, not with --op');
    return explainSymptom(symptomFrom(v), profile, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`fusepass explain: ${e.message}. See fusepass explain --help.`);
      return 2;
    }
    throw e;
  }
}

function explainCase(selector: string, step: string | undefined, profile: ProfileName, io: CliIo): number {
  const loaded = loadCases([selector]);
  if (loaded.errors.length > 0 || loaded.cases.length !== 1) {
    for (const e of loaded.errors) io.err(`fusepass explain: ${formatLoadError(e)}`);
    if (loaded.errors.length === 0) io.err(`fusepass explain: ${selector} holds ${loaded.cases.length} cases; name one case`);
    return 2;
  }
  const { case: kase, file } = loaded.cases[0]!;
  if (kase.profiles && !kase.profiles.includes(profile)) {
    io.err(`fusepass explain: ${kase.id} applies to ${kase.profiles.join(', ')}, not ${profile}; use --profile ${kase.profiles[0]}`);
    return 2;
  }
  let indices: number[];
  if (step !== undefined) {
    const n = int('--step', step);
    if (n < 0 || n >= kase.steps.length) throw new UsageError(`--step ${n}: ${kase.id} has steps 0..${kase.steps.length - 1}`);
    indices = [n];
  } else indices = interestingSteps(playOnSim(kase, profile));
  const played = playOnSim(kase, profile, Math.max(...indices));
  io.out(`${kase.id}: ${kase.title}`);
  io.out(`  ${file} · sim profile ${profile}`);
  if (kase.description) io.out(`  ${kase.description}`);
  for (const i of indices) {
    io.out('');
    const lines = formatAnswer(answerFor(played, i), kase.id);
    // Right after the result line: what the case expects (from the spec) and whether the sim agrees.
    const p = played.steps[i]!;
    if (p.step.expect) {
      const misses = checkExpectation(p.step.expect, p.result, 'sim');
      lines.splice(2, 0, `  case expects: ${expectText(p.step)}${misses.length === 0 ? ' (the sim agrees)' : ` (the sim differs: ${misses.join('; ')})`}`);
    }
    for (const l of lines) io.out(l);
  }
  return 0;
}

function explainSymptom(s: Symptom, profile: ProfileName, io: CliIo): number {
  const kase = caseFromSymptom(s);
  const played = playOnSim(kase, profile);
  const last = played.steps.length - 1;
  io.out(`symptom: ${s.op} · sim profile ${profile}`);
  io.out('  steps played on the sim:');
  for (const p of played.steps) io.out(`    ${p.index}  ${describeStep(p.step)}  → ${resultText(p.result)}`);
  io.out('');
  const answer = answerFor(played, last);
  for (const l of formatAnswer(answer, `symptom ${s.op}`)) io.out(l);
  // A step the sim could not play answers nothing: not a success.
  if (answer.fault !== undefined) return 1;
  if (s.errno === undefined) return 0;
  const got = answer.errno ?? 'success';
  if (got === s.errno) {
    io.out('');
    io.out(`the sim agrees: this setup gives ${got}.`);
    return 0;
  }
  io.out('');
  io.out(`the sim answers ${got}, not ${s.errno}, for this setup: the daemon's real INIT or OPEN reply, credentials or backing filesystem differ from what was given.`);
  if (s.errno !== 'success') {
    const cases = libraryCasesWith(s.op, s.errno, profile);
    if (cases.length > 0) {
      io.out(`library cases where ${s.op} gives ${s.errno} on the sim (explain them with fusepass explain <id>):`);
      for (const c of cases.slice(0, 12)) io.out(`  ${c}`);
      if (cases.length > 12) io.out(`  ... ${cases.length - 12} more`);
    }
  }
  return 1;
}
