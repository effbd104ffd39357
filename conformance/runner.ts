// Plays cases on targets. One target: step by step, `expect` checked on every target, step
// `checks` against the sim's explanation, `finish` always. Two targets (sim and kernel):
// both runs, then a step-by-step comparison; a difference not listed in
// known-divergences.json is an unexplained divergence and fails the case.
import type { Case, ProfileName, Step } from '../spec/case.ts';
import type { Observation, TargetFault } from '../spec/observation.ts';
import type { Target, TargetInfo } from '../spec/target.ts';
import { checkExpectation, diffObservations, missingChecks, show, showField } from './compare.ts';
import { knownLabel, matchKnown, type KnownDivergence } from './known-divergences.ts';
import type { LoadedCase } from './load.ts';
import type { CaseResult, CaseStatus, Divergence, StepResult, TargetRun } from './results.ts';

/** Profiles a case without `profiles` applies to: all that have passthrough. */
export const DEFAULT_CASE_PROFILES: readonly ProfileName[] = ['6.18', '6.12', '6.9'];

export function caseProfiles(kase: Case): ProfileName[] {
  return [...(kase.profiles ?? DEFAULT_CASE_PROFILES)];
}

/** A target with its info, asked once per run. */
export interface RunTarget {
  target: Target;
  info: TargetInfo;
}

export async function prepareTarget(target: Target): Promise<RunTarget> {
  return { target, info: await target.info() };
}

export interface RunOptions {
  /**
   * Safety net for targets that hang: a step (or start/finish) that has not settled after this
   * many ms becomes a `timeout` fault. The kernel target keeps its own, shorter deadlines.
   */
  watchdogMs?: number;
  /** Entries of known-divergences.json; matched entries are added to `usedKnown`. */
  known?: readonly KnownDivergence[];
  usedKnown?: Set<string>;
  /** Called after each case. */
  onCase?: (result: CaseResult, index: number, total: number) => void;
  /** Asked between cases: true stops the run there (SIGINT/SIGTERM), with the results so far. */
  shouldStop?: () => boolean;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function faulted(kind: TargetFault['kind'], message: string): Observation {
  return { errno: null, requests: [], events: [], fault: { kind, message } };
}

function stepLabel(index: number, op: string): string {
  return op === 'finish' || op === 'start' ? op : `step ${index} (${op})`;
}

class WatchdogExpired extends Error {}

/** `p`, or a WatchdogExpired rejection after `ms` (no limit when undefined). */
async function within<T>(p: Promise<T>, ms: number | undefined, what: string): Promise<T> {
  if (ms === undefined) return p;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WatchdogExpired(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function thrown(e: unknown, prefix: string): Observation {
  return e instanceof WatchdogExpired ? faulted('timeout', e.message) : faulted('crash', `${prefix}: ${errorMessage(e)}`);
}

/** Play one case on one target. Never throws: target exceptions become `crash` faults. */
export async function playCase(kase: Case, rt: RunTarget, opts: Pick<RunOptions, 'watchdogMs'> = {}): Promise<TargetRun> {
  const limit = opts.watchdogMs;
  const { target, info } = rt;
  const base = { target: target.name, profile: info.profile };
  const profiles = caseProfiles(kase);
  if (!profiles.includes(info.profile)) {
    return { ...base, status: 'notApplicable', reason: `the case applies to profiles ${profiles.join(', ')}; the ${target.name} target is ${info.profile}`, steps: [] };
  }
  if (kase.simOnly !== undefined && target.name !== 'sim') {
    return { ...base, status: 'skipped', reason: `sim only: ${kase.simOnly}`, steps: [] };
  }

  let session;
  const starting = Promise.resolve().then(() => target.start(kase)); // a synchronous throw too
  try {
    session = await within(starting, limit, 'start');
  } catch (e) {
    // A start that settles after the watchdog gave up still gets its teardown.
    if (e instanceof WatchdogExpired) starting.then((late) => late.finish()).catch(() => undefined);
    const obs = e instanceof WatchdogExpired ? faulted('timeout', e.message) : faulted('setup', errorMessage(e));
    return { ...base, status: 'failed', steps: [{ index: -1, op: 'start', observation: obs, failures: [`setup failed: ${errorMessage(e)}`] }] };
  }

  const steps: StepResult[] = [];
  try {
    for (const [index, step] of kase.steps.entries()) {
      let obs: Observation;
      try {
        const s = session;
        obs = await within(Promise.resolve().then(() => s.apply(step, index)), limit, `step ${index}`);
      } catch (e) {
        obs = thrown(e, 'the target threw');
      }
      steps.push({ index, op: step.op, observation: obs, failures: stepFailures(step, obs, target.name) });
      if (obs.fault) break; // the session may be in any state now; only `finish` is safe
    }
  } finally {
    let obs: Observation;
    try {
      const s = session;
      obs = await within(Promise.resolve().then(() => s.finish()), limit, 'finish');
    } catch (e) {
      obs = thrown(e, 'finish threw');
    }
    steps.push({ index: kase.steps.length, op: 'finish', observation: obs, failures: obs.fault ? [`fault ${obs.fault.kind}: ${obs.fault.message}`] : [] });
  }
  const failed = steps.some((s) => s.failures.length > 0);
  return { ...base, status: failed ? 'failed' : 'passed', steps };
}

function stepFailures(step: Step, obs: Observation, targetName: Target['name']): string[] {
  if (obs.fault) return [`fault ${obs.fault.kind}: ${obs.fault.message}`];
  const out = step.expect ? checkExpectation(step.expect, obs, targetName) : [];
  if (targetName === 'sim') {
    const missing = missingChecks(step.checks, obs);
    if (missing.length > 0) {
      out.push(`checks: the sim's explanation does not pass through ${missing.join(', ')} (it went through ${show(obs.explain?.checks ?? [])})`);
    }
  }
  return out;
}

/** Step-by-step differences of two runs, up to the first fault of either. */
export function divergencesOf(sim: TargetRun, kernel: TargetRun): Divergence[] {
  const out: Divergence[] = [];
  const n = Math.min(sim.steps.length, kernel.steps.length);
  for (let i = 0; i < n; i++) {
    const a = sim.steps[i]!;
    const b = kernel.steps[i]!;
    if (a.index !== b.index) break; // one run stopped at a fault and jumped to finish
    for (const d of diffObservations(a.observation, b.observation)) out.push({ step: a.index, op: a.op, ...d });
    if (a.observation.fault || b.observation.fault) break;
  }
  return out;
}

function played(run: TargetRun): boolean {
  return run.status === 'passed' || run.status === 'failed';
}

/** Play one loaded case on each target (in order) and compare sim with kernel when both ran. */
export async function runCase(loaded: LoadedCase, targets: readonly RunTarget[], opts: RunOptions = {}): Promise<CaseResult> {
  const kase = loaded.case;
  const started = performance.now();
  const runs: TargetRun[] = [];
  for (const rt of targets) runs.push(await playCase(kase, rt, opts));

  const failures: string[] = [];
  for (const run of runs) {
    for (const s of run.steps) for (const f of s.failures) failures.push(`[${run.target}] ${stepLabel(s.index, s.op)}: ${f}`);
  }

  let divergences: Divergence[] = [];
  const sim = runs.find((r) => r.target === 'sim');
  const kernel = runs.find((r) => r.target === 'kernel');
  if (sim && kernel && played(sim) && played(kernel)) {
    divergences = divergencesOf(sim, kernel).map((d) => {
      const k = matchKnown(opts.known ?? [], kase.id, kase.steps.length, d);
      if (!k) return d;
      opts.usedKnown?.add(knownLabel(k));
      return { ...d, known: { reason: k.reason, kind: k.kind } };
    });
    for (const d of divergences) {
      if (!d.known) failures.push(`[diff] ${stepLabel(d.step, d.op)}: ${d.field} differs: sim ${showField(d.field, d.sim)}, kernel ${showField(d.field, d.kernel)}`);
    }
  }

  let status: CaseStatus;
  if (runs.every((r) => r.status === 'notApplicable')) status = 'notApplicable';
  else if (runs.every((r) => !played(r))) status = 'skipped';
  else status = failures.length > 0 ? 'failed' : 'passed';

  const result: CaseResult = {
    id: kase.id,
    file: loaded.file,
    title: kase.title,
    checks: [...kase.checks],
    steps: kase.steps,
    profiles: caseProfiles(kase),
    status,
    failures,
    runs,
    divergences,
    durationMs: Math.round((performance.now() - started) * 1000) / 1000,
  };
  if (kase.simOnly !== undefined) result.simOnly = kase.simOnly;
  if (kase.description !== undefined) result.description = kase.description;
  return result;
}

/** Run the cases one after another (targets are not assumed re-entrant). */
export async function runCases(cases: readonly LoadedCase[], targets: readonly RunTarget[], opts: RunOptions = {}): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const [i, loaded] of cases.entries()) {
    // Let the event loop run (the sim settles in microtasks only): a signal handler can then
    // ask the run to stop between two cases.
    if (opts.shouldStop) await new Promise((r) => setImmediate(r));
    if (opts.shouldStop?.()) break;
    const r = await runCase(loaded, targets, opts);
    results.push(r);
    opts.onCase?.(r, i, cases.length);
  }
  return results;
}
