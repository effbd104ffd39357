// The fuzz loop: fast-check generates programs (generate.ts), each becomes a case (materialize.ts)
// and is checked:
// - mode `sim`: the model's invariants after every step and after teardown (sim/invariants.ts);
// - mode `both`: the same, plus the case played on the sim target and on the reference target
//   (the kernel; in tests possibly a correct sim), compared step by step with the runner's
//   comparison; divergences listed in known-divergences.json are not failures.
// A failure is shrunk by fast-check to a minimal program; its case is returned with the seed and
// path that replay it.
import fc from 'fast-check';
import type { Case } from '../../spec/case.ts';
import type { CheckId } from '../../spec/check-ids.ts';
import type { Observation } from '../../spec/observation.ts';
import type { Target } from '../../spec/target.ts';
import { showField } from '../compare.ts';
import { matchKnown, type KnownDivergence } from '../known-divergences.ts';
import type { Divergence, TargetRun } from '../results.ts';
import { divergencesOf, playCase, prepareTarget, type RunTarget } from '../runner.ts';
import { programArb, type FuzzProgram, type GenOptions } from './generate.ts';
import { materialize, type Materialized } from './materialize.ts';
import { minimizeProgram } from './minimize.ts';

export type FuzzMode = 'sim' | 'both';

export interface FuzzProgress {
  runs: number;
  steps: number;
  /** Planned runs, or null when the run is bounded by time. */
  total: number | null;
  elapsedMs: number;
  failures: number;
  /** Shrink attempts so far, while a failure is being minimised. */
  shrinking: number | null;
}

export interface FuzzConfig {
  mode: FuzzMode;
  /** Number of generated cases (default 100), or a time budget in ms (batches until it runs out). */
  runs?: number;
  timeMs?: number;
  seed: number;
  /** fast-check's counterexample path: replays one failure (with the seed that found it). */
  path?: string;
  gen?: GenOptions;
  /** mode both: the sim target under test (default: created by the caller) and the judge. */
  sim?: Target;
  reference?: Target;
  known?: readonly KnownDivergence[];
  /** Per-step watchdog for the targets (runner's watchdogMs). */
  watchdogMs?: number;
  onProgress?: (p: FuzzProgress) => void;
  /** Cases per fast-check batch in time-bounded runs. */
  batch?: number;
  /** Asked before each case: true ends the fuzzing there (SIGINT/SIGTERM), with what it found. */
  shouldStop?: () => boolean;
}

/** Thrown inside the property when asked to stop: not a failure of the case. */
class Interrupted extends Error {}

/** What went wrong in one case, in the terms of the case's steps. */
export interface FailureDetail {
  /** Step index (steps.length = teardown), or null for a whole-case problem. */
  step: number | null;
  messages: string[];
  /** mode both: the diverging observations at `step`. */
  sim?: Observation;
  reference?: Observation;
  divergences?: Divergence[];
}

export interface FuzzFailure {
  /** Replays it: `fusepass fuzz --seed <seed> --path <path>` (same mode). */
  seed: number;
  path: string;
  program: FuzzProgram;
  kase: Case;
  detail: FailureDetail;
  /** Programs tried while shrinking. */
  shrinks: number;
}

export interface FuzzSummary {
  mode: FuzzMode;
  seed: number;
  runs: number;
  steps: number;
  elapsedMs: number;
  reached: Set<CheckId>;
  failures: FuzzFailure[];
  /** Known divergences met, mode both. */
  knownSeen: number;
  /** Cases where the reference answered differently on a replay and one answer matched the sim. */
  racy: number;
}

interface Checked {
  ok: boolean;
  m: Materialized;
  detail: FailureDetail | null;
  knownSeen: number;
  /** The reference answered differently when the case was played again, once matching the sim. */
  racy?: boolean;
}

/** Replays of the reference before a divergence counts: a racy kernel is no stable judge. */
const REFERENCE_REPLAYS = 2;

function invariantDetail(m: Materialized): FailureDetail | null {
  const v = m.violations[0];
  if (v === undefined) return null;
  return { step: v.step, messages: v.messages.map((x) => `invariant: ${x}`) };
}

/** Check one program in sim mode (synchronous, fast). */
export function checkSim(p: FuzzProgram): Checked {
  const m = materialize(p);
  const detail = invariantDetail(m);
  return { ok: detail === null, m, detail, knownSeen: 0 };
}

/** Check one program in differential mode: invariants, then sim vs. reference step by step. */
export async function checkBoth(p: FuzzProgram, sim: RunTarget, ref: RunTarget, known: readonly KnownDivergence[], watchdogMs?: number): Promise<Checked> {
  const m = materialize(p);
  const inv = invariantDetail(m);
  if (inv !== null) return { ok: false, m, detail: inv, knownSeen: 0 };
  const opts = watchdogMs === undefined ? {} : { watchdogMs };
  const a = await playCase(m.kase, sim, opts);
  const compare = (b: TargetRun) => {
    let knownSeen = 0;
    const unexplained: Divergence[] = [];
    for (const d of divergencesOf(a, b)) {
      if (matchKnown(known, m.kase.id, m.kase.steps.length, d)) knownSeen++;
      else unexplained.push(d);
    }
    return { knownSeen, unexplained };
  };
  const b = await playCase(m.kase, ref, opts);
  const { knownSeen, unexplained } = compare(b);
  if (unexplained.length === 0) return { ok: true, m, detail: null, knownSeen };
  // Some kernel answers are races (e.g. a background RELEASE against the teardown of a lazily
  // unmounted superblock). If a replay of the reference agrees with the sim, the sim matches
  // one real answer: the case is racy, not a failure.
  for (let i = 0; i < REFERENCE_REPLAYS; i++) {
    const again = compare(await playCase(m.kase, ref, opts));
    if (again.unexplained.length === 0) return { ok: true, m, detail: null, knownSeen: again.knownSeen, racy: true };
  }
  const first = unexplained[0]!;
  const at = first.step;
  const here = unexplained.filter((d) => d.step === at);
  const detail: FailureDetail = {
    step: at,
    messages: here.map((d) => `step ${at === m.kase.steps.length ? 'finish' : at} (${d.op}): ${d.field} differs: sim ${showField(d.field, d.sim)}, ${ref.target.name === 'kernel' ? 'kernel' : 'reference'} ${showField(d.field, d.kernel)}`),
    divergences: unexplained,
  };
  const so = a.steps.find((s) => s.index === at)?.observation;
  const ro = b.steps.find((s) => s.index === at)?.observation;
  if (so) detail.sim = so;
  if (ro) detail.reference = ro;
  return { ok: false, m, detail, knownSeen };
}

class Tally {
  runs = 0;
  steps = 0;
  knownSeen = 0;
  racy = 0;
  shrinking: number | null = null;
  readonly reached = new Set<CheckId>();
  readonly started = performance.now();
  lastReport = 0;

  constructor(
    private readonly cfg: FuzzConfig,
    private readonly failures: () => number,
  ) {}

  count(c: Checked): void {
    if (this.shrinking !== null) {
      this.shrinking++;
    } else {
      this.runs++;
      this.steps += c.m.kase.steps.length;
      this.knownSeen += c.knownSeen;
      if (c.racy === true) this.racy++;
      c.m.addReachedTo(this.reached);
      if (!c.ok) this.shrinking = 0;
    }
    const now = performance.now();
    if (this.cfg.onProgress && now - this.lastReport >= 100) {
      this.lastReport = now;
      this.cfg.onProgress(this.progress());
    }
  }

  progress(): FuzzProgress {
    return {
      runs: this.runs,
      steps: this.steps,
      total: this.cfg.timeMs === undefined ? (this.cfg.runs ?? 100) : null,
      elapsedMs: performance.now() - this.started,
      failures: this.failures() + (this.shrinking !== null ? 1 : 0),
      shrinking: this.shrinking,
    };
  }
}

/** Run fast-check once (seed, numRuns or path) and turn its verdict into a FuzzFailure. */
async function oneCheck(cfg: FuzzConfig, seed: number, numRuns: number, tally: Tally, targets: { sim: RunTarget; ref: RunTarget } | null): Promise<FuzzFailure | null> {
  const arb = programArb(cfg.gen);
  const params: fc.Parameters<[FuzzProgram]> = { seed, numRuns, verbose: 0, ...(cfg.path === undefined ? {} : { path: cfg.path }) };
  tally.shrinking = null;
  let details: fc.RunDetails<[FuzzProgram]>;
  let recheck: (p: FuzzProgram) => Promise<Checked>;
  /** The last failing check fast-check saw: its counterexample's, kept in case a replay differs. */
  let lastFail: Checked | null = null;
  if (targets === null) {
    const prop = fc.property(arb, (p) => {
      if (cfg.shouldStop?.()) throw new Interrupted('interrupted');
      const c = checkSim(p);
      tally.count(c);
      if (!c.ok) lastFail = c;
      return c.ok;
    });
    details = fc.check(prop, params);
    recheck = async (p) => checkSim(p);
  } else {
    const known = cfg.known ?? [];
    const prop = fc.asyncProperty(arb, async (p) => {
      if (cfg.shouldStop?.()) throw new Interrupted('interrupted');
      const c = await checkBoth(p, targets.sim, targets.ref, known, cfg.watchdogMs);
      tally.count(c);
      if (!c.ok) lastFail = c;
      return c.ok;
    });
    details = await fc.check(prop, params);
    recheck = (p) => checkBoth(p, targets.sim, targets.ref, known, cfg.watchdogMs);
  }
  const shrinks = tally.shrinking ?? 0;
  tally.shrinking = null;
  if (!details.failed || details.errorInstance instanceof Interrupted) return null;
  const program = details.counterexample?.[0];
  if (program === undefined) {
    // The property threw instead of returning false: report it as it is.
    const msg = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance ?? 'unknown error');
    const m = materialize({ files: [], init: undefined, intents: [] });
    return { seed, path: details.counterexamplePath ?? '', program: { files: [], init: undefined, intents: [] }, kase: m.kase, detail: { step: null, messages: [`the check threw: ${msg}`] }, shrinks };
  }
  const first = await recheck(program);
  if (first.ok) {
    // A flaky target: report what fast-check saw, and say that a replay passed.
    const seen = lastFail as Checked | null;
    const detail: FailureDetail = seen?.detail ? { ...seen.detail, messages: [...seen.detail.messages, 'note: the minimal case passed when played again (a flaky target?)'] } : { step: null, messages: ['the failure did not reproduce when the minimal case was played again (a flaky target?)'] };
    return { seed: details.seed, path: details.counterexamplePath ?? '', program, kase: seen?.m.kase ?? first.m.kase, detail, shrinks };
  }
  // fast-check shrinks each intent and the list, but cannot split a macro or drop a step whose
  // removal changes what later positions resolve to; finish with a greedy pass of our own.
  const min = await minimizeProgram(program, async (p) => !(await recheck(p)).ok);
  const again = min.program === program ? first : await recheck(min.program);
  const detail = again.detail ?? { step: null, messages: ['the failure did not reproduce when the minimal case was played again (flaky target?)'] };
  return { seed: details.seed, path: details.counterexamplePath ?? '', program: min.program, kase: again.m.kase, detail, shrinks: shrinks + min.tries };
}

/**
 * Fuzz: generate, check, shrink. Stops at the first failure (fast-check shrinks it). With
 * `timeMs`, runs batches with seeds seed, seed+1, ... until the time is up; a failure reports
 * the seed of its batch.
 */
export async function fuzz(cfg: FuzzConfig): Promise<FuzzSummary> {
  const failures: FuzzFailure[] = [];
  const tally = new Tally(cfg, () => failures.length);
  let targets: { sim: RunTarget; ref: RunTarget } | null = null;
  if (cfg.mode === 'both') {
    if (!cfg.sim || !cfg.reference) throw new Error('mode both needs a sim target and a reference target');
    targets = { sim: await prepareTarget(cfg.sim), ref: await prepareTarget(cfg.reference) };
  }
  if (cfg.path !== undefined || cfg.timeMs === undefined) {
    const f = await oneCheck(cfg, cfg.seed, cfg.runs ?? 100, tally, targets);
    if (f) failures.push(f);
  } else {
    const batch = cfg.batch ?? (cfg.mode === 'sim' ? 500 : 20);
    const deadline = performance.now() + cfg.timeMs;
    for (let i = 0; performance.now() < deadline; i++) {
      // Let the event loop run between batches (a sim batch is synchronous): a signal handler
      // can then ask to stop.
      await new Promise((r) => setImmediate(r));
      if (cfg.shouldStop?.()) break;
      const f = await oneCheck(cfg, cfg.seed + i, batch, tally, targets);
      if (f) {
        failures.push(f);
        break;
      }
    }
  }
  cfg.onProgress?.(tally.progress());
  return {
    mode: cfg.mode,
    seed: cfg.seed,
    runs: tally.runs,
    steps: tally.steps,
    elapsedMs: performance.now() - tally.started,
    reached: tally.reached,
    failures,
    knownSeen: tally.knownSeen,
    racy: tally.racy,
  };
}
