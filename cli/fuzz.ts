// `fusepass fuzz`: property-based fuzzing of whole cases (conformance/fuzz/). Mode `sim` checks
// the model's invariants; mode `both` plays each case on the sim and on the kernel and compares
// them step by step. A failure is shrunk, written as a case file and printed with the seed and
// path that replay it. Progress on stderr (a bar on a TTY, plain lines otherwise), summary on
// stdout.
import { parseArgs } from 'node:util';
import { CHECK_IDS } from '../spec/check-ids.ts';
import type { Target } from '../spec/target.ts';
import { KNOWN_DIVERGENCES_FILE, loadKnownDivergences } from '../conformance/known-divergences.ts';
import { formatLoadError } from '../conformance/load.ts';
import { loadKernelTarget, loadSimTarget, type Loaded } from '../conformance/target-loader.ts';
import { counterexampleCase, DEFAULT_FUZZ_OUT, formatCase, replayCommand, writeCounterexample } from '../conformance/fuzz/counterexample.ts';
import { ensureDir } from '../conformance/ensure-dir.ts';
import { onInterrupt } from './interrupt.ts';
import { accessSync, constants } from 'node:fs';
import { fuzz, type FuzzFailure, type FuzzMode, type FuzzProgress, type FuzzSummary } from '../conformance/fuzz/driver.ts';
import { argsErrorText } from './args.ts';
import type { CliIo } from './io.ts';

export const FUZZ_USAGE = `usage: fusepass fuzz [--target sim|both] [--runs N | --time DURATION] [--seed S] [--path P] [--out DIR]

  Generates whole cases with fast-check and checks them; a failure is shrunk to a minimal case,
  written as a case file and printed with the seed and path that replay it.
  --target  sim: the model alone, checking its invariants (default)
            both: each case on the sim and on the kernel, compared step by step; divergences
            listed in conformance/known-divergences.json are not failures
  --runs    number of generated cases (default 1000 for sim, 100 for both)
  --time    run for this long instead (e.g. 30s, 5m, 1h, 500ms)
  --seed    fast-check seed (default: random, printed)
  --path    replay one failure: the counterexample path printed with its seed
  --out     where counterexample case files go (default ${DEFAULT_FUZZ_OUT}/)
  Exit status: 0 no failure; 1 a failure (or the kernel is unavailable for --target both); 2 bad usage.`;

/** Replaceable pieces, for tests. */
export interface FuzzDeps {
  loadSim?: () => Promise<Loaded>;
  loadKernel?: () => Promise<Loaded>;
  knownFile?: string;
  /** Whether stderr is a terminal (progress bar) or not (plain lines). Default: process.stderr.isTTY. */
  isTTY?: boolean;
  /** The seed when none is given (default: random). */
  randomSeed?: () => number;
}

interface FuzzArgs {
  mode: FuzzMode;
  runs?: number;
  timeMs?: number;
  seed?: number;
  path?: string;
  out: string;
}

/** `30s`, `5m`, `1h`, `500ms`, or a bare number of seconds -> ms; null when malformed. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
  return ms > 0 ? ms : null;
}

function parseFuzzArgs(argv: string[]): FuzzArgs | { error: string } | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        target: { type: 'string', short: 't' },
        runs: { type: 'string', short: 'n' },
        time: { type: 'string' },
        seed: { type: 'string', short: 's' },
        path: { type: 'string' },
        out: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    return { error: argsErrorText(e) };
  }
  if (values.help) return 'help';
  const target = values.target ?? 'sim';
  if (target !== 'sim' && target !== 'both') return { error: `--target ${JSON.stringify(target)}: expected sim or both` };
  const out: FuzzArgs = { mode: target, out: values.out ?? DEFAULT_FUZZ_OUT };
  if (values.runs !== undefined && values.time !== undefined) return { error: '--runs and --time: expected one of them, not both' };
  if (values.runs !== undefined) {
    const n = Number(values.runs);
    if (!/^\d+$/.test(values.runs) || n < 1) return { error: `--runs ${JSON.stringify(values.runs)}: expected a positive whole number` };
    out.runs = n;
  }
  if (values.time !== undefined) {
    const ms = parseDuration(values.time);
    if (ms === null) return { error: `--time ${JSON.stringify(values.time)}: expected a duration such as 30s, 5m, 1h or 500ms` };
    out.timeMs = ms;
  }
  if (values.seed !== undefined) {
    if (!/^-?\d+$/.test(values.seed) || !Number.isSafeInteger(Number(values.seed))) return { error: `--seed ${JSON.stringify(values.seed)}: expected a whole number` };
    out.seed = Number(values.seed);
  }
  if (values.path !== undefined) {
    if (!/^\d+(:\d+)*$/.test(values.path)) return { error: `--path ${JSON.stringify(values.path)}: expected a fast-check path such as 6:4:7 (printed with a failure)` };
    if (out.seed === undefined) return { error: '--path replays a failure of one seed: expected --seed as well' };
    out.path = values.path;
  }
  return out;
}

function bar(fraction: number, width = 24): string {
  const full = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

/** One progress line: a bar when the total is known (runs) or the time budget (time). */
export function progressText(p: FuzzProgress, timeMs: number | undefined): string {
  const fraction = p.total !== null ? p.runs / p.total : timeMs !== undefined ? p.elapsedMs / timeMs : 0;
  const count = p.total !== null ? `${p.runs}/${p.total} cases` : `${p.runs} cases, ${(p.elapsedMs / 1000).toFixed(0)}/${((timeMs ?? 0) / 1000).toFixed(0)} s`;
  const shrink = p.shrinking !== null ? `, shrinking a failure (${p.shrinking} tried)` : '';
  return `${bar(fraction)} ${count}, ${p.steps} steps, ${p.failures} failure${p.failures === 1 ? '' : 's'}${shrink}`;
}

function progressReporter(io: CliIo, tty: boolean, timeMs: number | undefined): { update(p: FuzzProgress): void; done(): void } {
  let lastPlain = performance.now();
  let drawn = false;
  return {
    update(p) {
      if (tty) {
        process.stderr.write(`\r${progressText(p, timeMs)}\x1b[K`);
        drawn = true;
      } else if (performance.now() - lastPlain >= 5000) {
        lastPlain = performance.now();
        io.err(`fuzz: ${progressText(p, timeMs)}`);
      }
    },
    done() {
      if (drawn) process.stderr.write('\r\x1b[K');
    },
  };
}

function wrapList(items: readonly string[], width = 96, indent = '    '): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const it of items) {
    const next = cur === '' ? it : `${cur}, ${it}`;
    if (next.length > width && cur !== '') {
      lines.push(`${indent}${cur},`);
      cur = it;
    } else cur = next;
  }
  if (cur !== '') lines.push(`${indent}${cur}`);
  return lines;
}

/** The summary printed on stdout. */
export function fuzzSummaryLines(s: FuzzSummary, targets: string): string[] {
  const secs = s.elapsedMs / 1000;
  const never = CHECK_IDS.filter((id) => !s.reached.has(id));
  const rate = (n: number) => (secs > 0 ? Math.round(n / secs).toLocaleString('en-US') : '-');
  const rows: [string, string][] = [
    ['runs', `${s.runs} cases (${rate(s.runs)}/s)`],
    ['steps', `${s.steps} (${rate(s.steps)}/s)`],
    ['failures', String(s.failures.length)],
    ...(s.mode === 'both'
      ? [
          ['known divergences', `${s.knownSeen} met (not failures)`] as [string, string],
          ['racy on the kernel', `${s.racy} cases (a replay of the kernel answered otherwise, once as the sim)`] as [string, string],
        ]
      : []),
    ['check ids reached', `${s.reached.size}/${CHECK_IDS.length} (from the sim's explanations)`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return [
    `fusepass fuzz: ${targets}, seed ${s.seed}, ${secs.toFixed(2)} s`,
    ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`),
    ...(never.length > 0 ? [`  never reached (${never.length}):`, ...wrapList(never)] : []),
  ];
}

/** Why counterexamples cannot be written to `dir` (created if missing), or null. */
function outDirProblem(dir: string): string | null {
  try {
    ensureDir(dir);
    accessSync(dir, constants.W_OK);
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

function describeFailure(mode: FuzzMode, f: FuzzFailure): string[] {
  const lines = [`FAIL ${f.detail.messages[0] ?? 'failure'}`, ...f.detail.messages.slice(1).map((m) => `     ${m}`)];
  const show = (o: NonNullable<typeof f.detail.sim>) => JSON.stringify({ errno: o.errno, value: o.value ?? null, requests: o.requests, events: o.events, ...(o.fault ? { fault: o.fault } : {}) });
  if (f.detail.sim) lines.push(`  sim:    ${show(f.detail.sim)}${f.detail.sim.explain ? ` (checks ${f.detail.sim.explain.checks.join(', ') || 'none'})` : ''}`);
  if (f.detail.reference) lines.push(`  kernel: ${show(f.detail.reference)}`);
  lines.push(`  replay: ${replayCommand(mode, f)}`);
  return lines;
}

export async function fuzzCommand(argv: string[], io: CliIo, deps: FuzzDeps = {}): Promise<number> {
  const args = parseFuzzArgs(argv);
  if (args === 'help') {
    io.out(FUZZ_USAGE);
    return 0;
  }
  if ('error' in args) {
    io.err(`fusepass fuzz: ${args.error}. See fusepass fuzz --help.`);
    return 2;
  }
  // An unwritable --out is found now, not when a failure is found (and then lost).
  const unwritable = outDirProblem(args.out);
  if (unwritable) {
    io.err(`fusepass fuzz: cannot write counterexamples to ${args.out}: ${unwritable} (expected a writable directory for --out)`);
    return 2;
  }
  const seed = args.seed ?? (deps.randomSeed ?? (() => Math.floor(Math.random() * 0x7fffffff)))();
  const runs = args.timeMs === undefined ? (args.runs ?? (args.mode === 'sim' ? 1000 : 100)) : undefined;

  let sim: Target | undefined;
  let kernel: Target | undefined;
  const disposeAll = async () => {
    for (const t of [sim, kernel]) await t?.dispose?.().catch(() => undefined);
  };
  let targetsText = 'sim (invariants)';
  if (args.mode === 'both') {
    const k = await (deps.loadKernel ?? loadKernelTarget)();
    if (!k.target) {
      io.err(`fusepass fuzz: --target both needs the kernel target, which is unavailable here: ${k.reason} (use --target sim)`);
      return 1;
    }
    kernel = k.target;
    const s = await (deps.loadSim ?? (() => loadSimTarget('6.18')))();
    if (!s.target) {
      io.err(`fusepass fuzz: ${s.reason}`);
      await disposeAll();
      return 1;
    }
    sim = s.target;
    targetsText = 'sim+kernel';
  }
  const known = loadKnownDivergences(deps.knownFile ?? KNOWN_DIVERGENCES_FILE);
  for (const e of known.errors) io.err(`BROKEN ${formatLoadError(e)}`);

  io.err(
    `fusepass fuzz: ${targetsText}, seed ${seed}${args.path !== undefined ? `, replaying path ${args.path}` : runs !== undefined ? `, ${runs} runs` : `, for ${((args.timeMs ?? 0) / 1000).toFixed(0)} s`}`,
  );
  const progress = progressReporter(io, deps.isTTY ?? process.stderr.isTTY === true, args.timeMs);
  const interrupt = onInterrupt((l) => io.err(l));
  let summary: FuzzSummary;
  try {
    summary = await fuzz({
      mode: args.mode,
      seed,
      ...(runs !== undefined ? { runs } : {}),
      ...(args.timeMs !== undefined ? { timeMs: args.timeMs } : {}),
      ...(args.path !== undefined ? { path: args.path } : {}),
      ...(sim ? { sim } : {}),
      ...(kernel ? { reference: kernel, watchdogMs: 120_000 } : {}),
      known: known.entries,
      // The sim alone can also play the sim-only steps (allocation failures, id cursor moves).
      ...(args.mode === 'sim' ? { gen: { simOnly: true } } : {}),
      onProgress: (p) => progress.update(p),
      shouldStop: () => interrupt.signal !== null,
    });
  } finally {
    progress.done();
    interrupt.dispose();
    await disposeAll();
  }
  for (const line of fuzzSummaryLines(summary, targetsText)) io.out(line);
  for (const f of summary.failures) {
    // What failed and how to replay it are printed before anything is written: a write that
    // fails loses nothing, and then the case itself is printed too.
    for (const line of describeFailure(args.mode, f)) io.out(line);
    const what = `  minimal case (${f.kase.steps.length} steps, ${f.shrinks} shrink attempts)`;
    try {
      const w = writeCounterexample(args.mode, f, args.out);
      io.out(`${what}: ${w.file}`);
      for (const p of w.problems) io.out(`  warning: the written case does not load: ${p}`);
    } catch (e) {
      io.out(`${what}: not written (${(e as NodeJS.ErrnoException).code ?? String(e)}); it follows`);
      io.out(formatCase(counterexampleCase(args.mode, f)));
    }
  }
  if (interrupt.signal !== null) {
    io.out(`interrupted by ${interrupt.signal} after ${summary.runs} cases: the statistics above are for those`);
    return interrupt.exitCode();
  }
  return summary.failures.length > 0 || known.errors.length > 0 ? 1 : 0;
}
